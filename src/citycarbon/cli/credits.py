"""CLI of 碳普惠 operations: ``citycarbon credits
reconcile|purge|held|release|refuse|rotate-key|revoke-key`` (registered in
:mod:`citycarbon.cli`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from citycarbon.cli.common import fail, operator
from citycarbon.config import load_city
from citycarbon.errors import CitycarbonError
from citycarbon.read import access
from citycarbon.read import credits as read_credits
from citycarbon.read.access import SYSTEM
from citycarbon.runs import credits as credit_runs
from citycarbon.runs import partners

console = Console()
credits_app = typer.Typer(
    help="碳普惠 ledger and partners: daily reconciliation, retention, partner keys.",
    no_args_is_help=True,
)


@credits_app.command("reconcile")
def reconcile(
    days: Annotated[int, typer.Option(min=1, max=366, help="Days to show, newest first.")] = 1,
) -> None:
    """Daily reconciliation of the ledger: issued - redeemed - expired = outstanding [points]
    at the end of each day (city timezone). Exits 1 when a day does not balance."""
    table_ = read_credits.daily_reconciliation(SYSTEM, days)
    table = Table("day", *read_credits.RECONCILIATION_COLUMNS[1:], "balanced")
    for r in table_.itertuples(index=False):
        table.add_row(
            r.day,
            *(f"{getattr(r, c):,}" for c in read_credits.RECONCILIATION_COLUMNS[1:]),
            "yes" if r.balanced else "[red]NO[/]",
        )
    console.print(table)
    if not table_["balanced"].all():
        raise typer.Exit(1)


@credits_app.command("purge")
def purge() -> None:
    """Apply the retention policy to raw partner events: those older than its months are
    aggregated into monthly counts and deleted (run daily, e.g. from cron)."""
    gone, cutoff, rule = credit_runs.purge_raw_events()
    console.print(
        f"{gone} raw events received before {cutoff:%Y-%m-%d %H:%M} UTC aggregated and deleted "
        f"(retention {rule.label}: {rule.raw_event_months} months — {rule.rationale})"
    )


@credits_app.command("rotate-key")
def rotate_key(partner: Annotated[str, typer.Argument(help="Partner id.")]) -> None:
    """A new HMAC key of a partner; its previous key stays live until `revoke-key` (two live
    keys at most). The secret is printed once and stored encrypted."""
    key_id, secret = partners.rotate_key(partner)
    console.print(f"key id: {key_id}\nsecret: {secret}\n(shown once: give it to the partner)")


@credits_app.command("revoke-key")
def revoke_key(key_id: Annotated[str, typer.Argument(help="Key id (pk_...).")]) -> None:
    """Stop accepting a partner key (after the partner has switched to its new key)."""
    partners.revoke_key(key_id)
    console.print(f"{key_id} revoked")


@credits_app.command("held")
def held(limit: Annotated[int, typer.Option(help="Events to show, oldest first.")] = 50) -> None:
    """The review queue: partner events held by the anti-fraud rules (no resident id shown)."""
    queue = read_credits.held_for_review(SYSTEM)
    table = Table("id", "partner", "event", "method", "at", "reason", "received")
    for r in queue.head(limit).itertuples(index=False):
        table.add_row(
            str(r.id),
            r.partner,
            str(r.event_id),
            str(r.method),
            str(r.at),
            r.reason,
            str(r.received_at),
        )
    console.print(table)
    console.print(f"{len(queue)} held")


RowArg = Annotated[int, typer.Argument(min=1, help="The held event's id (first column of `held`).")]
AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="The reviewing platform user (a city analyst or admin), recorded in the audit log; "
        "default: your OS account, recorded as cli:<name>.",
    ),
]


def _reviewer(as_user: str | None) -> str:
    if as_user is None:
        return operator()
    principal = access.principal_named(as_user)
    access.require(principal, "review_credits")
    return principal.username


@credits_app.command("release")
def release(row_id: RowArg, as_user: AsOption = None) -> None:
    """Release a held event after review: credited by the same method, grid factor and caps as
    any accepted event, issued once (audited)."""
    try:
        out = credit_runs.release_held(row_id, actor=_reviewer(as_user), city=load_city())
    except CitycarbonError as err:
        fail(err)
    console.print(
        f"{out['partner']} event {out['event_id']} released: {out['credited_kg']:.3f} kgCO2e, "
        f"{out['points']:,} points" + ("" if out["issued"] else " (issued before: nothing new)")
    )


@credits_app.command("refuse")
def refuse(
    row_id: RowArg,
    reason: Annotated[str, typer.Option("--reason", help="Why the event is refused (required).")],
    as_user: AsOption = None,
) -> None:
    """Refuse a held event after review, with a reason (audited; the hold reason is kept in the
    audit entry)."""
    try:
        credit_runs.refuse_held(row_id, reason[:80], actor=_reviewer(as_user))
    except CitycarbonError as err:
        fail(err)
    console.print(f"held event {row_id} refused")
