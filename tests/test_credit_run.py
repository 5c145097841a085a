"""The 碳普惠 use case (citycarbon.runs.credits): a partner batch screened, credited on the
declared grid factor and issued once, on SQLite and PostgreSQL; only accounts with consent to
the sending partner are credited."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citycarbon.config import load_city
from citycarbon.credits.methodologies import methodology_set
from citycarbon.credits.screening import fraud_rules
from citycarbon.errors import InputError
from citycarbon.runs import credits as run
from citycarbon.runs.inventory import declared_grid_factors
from citycarbon.store import catalog, users
from citycarbon.store import credits as ledger
from citycarbon.store.models import CreditEvent

NOW = pd.Timestamp("2026-03-02T12:00Z")
T0 = pd.Timestamp("2026-03-02T01:00Z")
CITY = load_city()


def _grant(url: str, partner: str, *accounts: str) -> None:
    for account in accounts:
        ledger.record_consent(partner, account, url=url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalog_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty, migrated catalog where metro's residents u1, u2, u3 granted consent."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    catalog.upgrade(url)
    _grant(url, "metro", "u1", "u2", "u3")
    yield url
    catalog.dispose_engines()


def _trip(event_id: str, account: str, minute: int, km: float, minutes: float) -> dict:
    start = T0 + pd.Timedelta(minutes=minute)
    return {
        "event_id": event_id,
        "account": account,
        "method": "travel_metro",
        "at": start,
        "ended_at": start + pd.Timedelta(minutes=minutes),
        "quantity": km,
    }


def test_grid_factor_is_the_declared_one():
    grid = run.grid_factor_per_event(pd.Series([T0]), city=CITY)
    basis = declared_grid_factors(CITY, CITY.factor_profile("inventory"), [2026])
    assert grid[0] == pytest.approx(basis["ef_tco2_per_mwh"].iloc[0])


def test_a_batch_is_credited_once_and_every_event_accounted_for(catalog_url):
    grid = run.grid_factor_per_event(pd.Series([T0]), city=CITY)[0]
    per_km = 0.17 - 0.04 * grid  # travel_metro: car baseline - metro electricity x grid
    events = pd.DataFrame(
        [
            _trip("e1", "u1", 0, 10, 20),  # credited: 10 x per_km
            _trip("e2", "u1", 30, 30, 10),  # 180 km/h: held
            _trip("e3", "", 60, 10, 20),  # no account: refused
        ]
    )
    out = run.credit_partner_events("metro", events, city=CITY, url=catalog_url, now=NOW)
    assert out["status"].tolist() == ["credited", "held", "refused"]
    assert out["credited_kg"].iloc[0] == pytest.approx(10 * per_km)
    points = int(10 * per_km * methodology_set().points_per_kg)
    assert out["points"].tolist() == [points, 0, 0]
    assert out["issued"].tolist() == [True, False, False]
    # the same batch again: nothing new is issued, the balance is unchanged
    again = run.credit_partner_events("metro", events, city=CITY, url=catalog_url, now=NOW)
    assert again["issued"].tolist() == [False, False, False]
    account = ledger.open_account("metro", "u1", url=catalog_url)
    assert ledger.balance(account, url=catalog_url) == points
    rec = ledger.reconciliation(url=catalog_url)
    assert rec["issued"] == points and rec["balanced"] and rec["drifted_accounts"] == 0


def test_caps_span_batches(catalog_url):
    # metro 15 km = about 2.2 kg a trip; the daily cap (5 kg = 5,000 points) is reached in the
    # third batch, the fourth gets nothing
    outs = []
    for i in range(4):
        events = pd.DataFrame([_trip(f"e{i}", "u1", 20 * i, 15, 15)])
        outs.append(run.credit_partner_events("metro", events, city=CITY, url=catalog_url, now=NOW))
    out = pd.concat(outs, ignore_index=True)
    assert out["points"].sum() == 5000
    assert out["points"].iloc[-1] == 0
    assert out["reason"].iloc[-1] == "daily or annual cap reached"
    account = ledger.open_account("metro", "u1", url=catalog_url)
    assert ledger.balance(account, url=catalog_url) == 5000


def test_summary_by_month_method_and_district(catalog_url):
    events = pd.DataFrame(
        [
            {**_trip("e1", "u1", 0, 10, 20), "district_code": "350203"},
            {**_trip("e2", "u2", 0, 10, 20), "district_code": "999999"},  # not a district
            # 23:30 UTC on 31 March is 1 April in Xiamen
            {
                "event_id": "e3",
                "account": "u3",
                "method": "recyclables",
                "at": pd.Timestamp("2026-03-31T23:30Z"),
                "quantity": 2,
            },
        ]
    )
    run.credit_partner_events(
        "metro", events, city=CITY, url=catalog_url, now=pd.Timestamp("2026-04-02T00:00Z")
    )
    summary = ledger.issuance_summary(url=catalog_url).sort_values(["period", "method"])
    assert summary["period"].tolist() == ["2026-03", "2026-03", "2026-04"]
    assert summary["region_code"].tolist()[:2] in (["350203", None], [None, "350203"])
    assert summary["events"].sum() == 3
    assert set(summary.columns) == {"period", "method", "region_code", "points", "events"}


_events = st.lists(
    st.fixed_dictionaries(
        {
            "event_id": st.sampled_from(["a", "b", "c", "d", "", None]),
            "account": st.sampled_from(["u1", "u2", ""]),
            "method": st.sampled_from(["travel_metro", "travel_bike", "recyclables", "taxi"]),
            "minute": st.integers(0, 600),
            "minutes": st.sampled_from([0.5, 5.0, 30.0, -1.0]),
            "quantity": st.sampled_from([0.0, 1.0, 12.5, 80.0, -3.0]),
        }
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(_events)
def test_events_in_equal_credited_held_refused(tmp_path_factory, rows):
    url = f"sqlite:///{tmp_path_factory.mktemp('p') / 'catalog.sqlite'}"
    frame = pd.DataFrame(rows)
    at = T0 + pd.to_timedelta(frame["minute"], unit="min")
    events = frame.drop(columns=["minute", "minutes"]).assign(
        at=at, ended_at=at + pd.to_timedelta(frame["minutes"], unit="min")
    )
    try:
        _grant(url, "metro", "u1")  # u2 never did: its valid events are refused, "no consent"
        out = run.credit_partner_events("metro", events, city=CITY, url=url, now=NOW)
        counts = out["status"].value_counts()
        assert set(counts.index) <= {"credited", "held", "refused"}
        assert counts.sum() == len(events)
        # what the ledger holds is exactly the points of the credited events
        assert ledger.reconciliation(url=url)["outstanding"] == out["points"].sum()
        assert (out.loc[out["status"] != "credited", "points"] == 0).all()
        assert not out["status"].eq("credited")[events["account"].ne("u1")].any()
    finally:
        catalog.dispose_engines()


def _logged_statuses(url: str) -> dict[str, int]:
    with catalog._reading(url) as s:
        rows = s.execute(
            sa.select(CreditEvent.status, sa.func.count()).group_by(CreditEvent.status)
        ).all()
    return dict(rows)


def test_review_releases_through_the_ledger_or_refuses_with_a_reason(catalog_url):
    grid = run.grid_factor_per_event(pd.Series([T0]), city=CITY)[0]
    per_km = 0.17 - 0.04 * grid
    events = pd.DataFrame(
        [
            _trip("e1", "u1", 0, 10, 20),  # credited
            _trip("e2", "u1", 30, 30, 10),  # 180 km/h: held
            _trip("e3", "", 60, 10, 20),  # refused
            _trip("e4", "u2", 90, 30, 10),  # held
        ]
    )
    out = run.credit_partner_events("metro", events, city=CITY, url=catalog_url, now=NOW)
    assert out["status"].tolist() == ["credited", "held", "refused", "held"]
    first = int(out["points"].iloc[0])
    queue = ledger.held_events(url=catalog_url).set_index("event_id")
    assert list(queue.index) == ["e2", "e4"]

    released = run.release_held(int(queue.loc["e2", "id"]), actor="ana", city=CITY, url=catalog_url)
    # the same path: e2 (30 km, about 4.4 kg) meets u1's daily cap of 5 kg after e1
    assert released["issued"] and released["points"] == 5000 - first
    assert released["credited_kg"] == pytest.approx(5 - first / 1000)
    assert 30 * per_km > released["credited_kg"]
    account = ledger.open_account("metro", "u1", url=catalog_url)
    assert ledger.balance(account, url=catalog_url) == 5000
    # released once: a second release, or a refusal after it, changes nothing
    for again in (
        lambda: run.release_held(
            int(queue.loc["e2", "id"]), actor="ana", city=CITY, url=catalog_url
        ),
        lambda: run.refuse_held(int(queue.loc["e2", "id"]), "late", actor="ana", url=catalog_url),
    ):
        with pytest.raises(InputError):
            again()
    assert ledger.balance(account, url=catalog_url) == 5000

    with pytest.raises(InputError):
        run.refuse_held(int(queue.loc["e4", "id"]), "  ", actor="ana", url=catalog_url)
    run.refuse_held(
        int(queue.loc["e4", "id"]), "bike trip sent as metro", actor="ana", url=catalog_url
    )
    assert ledger.held_events(url=catalog_url).empty
    # events in = credited + held + refused, before and after the review
    assert _logged_statuses(catalog_url) == {"credited": 2, "refused": 2}
    rec = ledger.reconciliation(url=catalog_url)
    assert rec["issued"] == 5000 and rec["balanced"] and rec["drifted_accounts"] == 0
    audit, total = users.audit_frame(entity="credit_event", url=catalog_url)
    assert total == 2 and set(audit["actor"]) == {"ana"}
    refusal = audit[audit["entity_id"] == str(queue.loc["e4", "id"])].iloc[0]
    assert (
        refusal["before"]["status"] == "held" and refusal["before"]["reason"] == "implausible speed"
    )
    assert refusal["after"]["reason"] == "refused on review: bike trip sent as metro"


def test_only_accounts_with_consent_to_the_partner_are_credited(catalog_url):
    # u1 granted consent to metro; u4 only to bikes (consent is per partner); u5 to nobody
    _grant(catalog_url, "bikes", "u4")
    events = pd.DataFrame(
        [
            _trip("e1", "u1", 0, 10, 20),
            _trip("e2", "u4", 0, 10, 20),
            _trip("e3", "u5", 0, 10, 20),
            _trip("e4", "u5", 30, 30, 10),  # 180 km/h and no consent: refused, not held
        ]
    )
    out = run.credit_partner_events("metro", events, city=CITY, url=catalog_url, now=NOW)
    assert out["status"].tolist() == ["credited", "refused", "refused", "refused"]
    assert out["reason"].tolist()[1:] == ["no consent"] * 3
    assert out["points"].iloc[1:].eq(0).all() and not out["issued"].iloc[1:].any()
    # once u5 grants consent, the same event sent again is credited
    ledger.record_consent("metro", "u5", url=catalog_url)
    again = run.credit_partner_events(
        "metro", events.iloc[[2]], city=CITY, url=catalog_url, now=NOW
    )
    assert again["status"].tolist() == ["credited"] and again["issued"].tolist() == [True]
    assert _logged_statuses(catalog_url) == {"credited": 2, "refused": 3}
    rec = ledger.reconciliation(url=catalog_url)
    assert rec["issued"] == out["points"].sum() + again["points"].sum() and rec["balanced"]


def test_no_consent_held_by_the_rules_is_released_only_after_consent(catalog_url):
    rules = dataclasses.replace(fraud_rules(), no_consent="held")
    events = pd.DataFrame([_trip("e1", "u7", 0, 10, 20), _trip("e2", "u7", 30, 30, 10)])
    out = run.credit_partner_events(
        "metro", events, city=CITY, url=catalog_url, now=NOW, rules=rules
    )
    # held for "no consent" only what would be credited; a fraud hold keeps its reason
    assert out["status"].tolist() == ["held", "held"]
    assert out["reason"].tolist() == ["no consent", "implausible speed"]
    row = int(ledger.held_events(url=catalog_url).set_index("event_id").loc["e1", "id"])
    with pytest.raises(InputError, match="consent"):
        run.release_held(row, actor="ana", city=CITY, url=catalog_url)
    assert ledger.reconciliation(url=catalog_url)["issued"] == 0
    ledger.record_consent("metro", "u7", url=catalog_url)
    released = run.release_held(row, actor="ana", city=CITY, url=catalog_url)
    assert released["issued"] and released["points"] > 0
    account = ledger.open_account("metro", "u7", url=catalog_url)
    assert ledger.balance(account, url=catalog_url) == released["points"]
