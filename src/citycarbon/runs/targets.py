"""Running carbon dual control: targets from the city config, progress over the newest results,
warnings logged and sent, recomputed on a schedule and after each ingest.

This is the service layer of ``targets/`` (it reads and writes through :mod:`citycarbon.data`);
the formulas are in the pure modules :mod:`.targets` and :mod:`.warnings`.

City config (``targets:`` section of the city YAML)::

    targets:
      file: xiamen_targets.yaml  # target definitions: citycarbon/targets/data/ or beside the YAML
      rules: rules.yaml        # warning rules (same lookup)
      basis: incl_net_imported_electricity
      schedule: "30 6 * * *"   # cron, city time zone
      notify:
        min_level: yellow
        webhook: https://...   # HTTP POST of JSON
        email: {host: smtp.example, port: 25, from: a@b, to: [c@d], starttls: false}
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from citycarbon.config import TargetsSection, as_city
from citycarbon.config.settings import get_settings
from citycarbon.contract.results import TARGET_PROGRESS, TARGET_STATUS
from citycarbon.errors import InputError
from citycarbon.runs import notify as nt
from citycarbon.runs.targets_inputs import load_actuals, months_label
from citycarbon.store import results
from citycarbon.store import targets as targets_store
from citycarbon.targets import targets as tg
from citycarbon.targets import warnings as wn

log = logging.getLogger(__name__)
DATA_DIR = Path(__file__).parents[1] / "targets" / "data"
RULES_FILE = DATA_DIR / "rules.yaml"
JOB_ID = "citycarbon-targets-recompute"
_run_lock = threading.Lock()


# ------------------------------------------------------------------------------- config
def targets_config(cfg: Any) -> TargetsSection:
    """The ``targets:`` section of a city config (typed; defaults when absent)."""
    return cfg.targets if cfg is not None else TargetsSection()


def _data_file(name: str, cfg: Any) -> Path:
    path = Path(name)
    for candidate in (path, (Path(cfg.path).parent / path) if cfg.path else None, DATA_DIR / path):
        if candidate is not None and candidate.is_file():
            return candidate
    raise InputError("file not found", source=str(cfg.path), field="targets", value=name)


def load_yaml(path: Path) -> dict[str, Any]:
    try:
        return yaml.safe_load(path.read_text("utf-8")) or {}
    except yaml.YAMLError as err:
        raise InputError(f"not valid YAML: {err}", source=str(path)) from None


def target_specs(cfg: Any) -> tuple[list[dict[str, Any]], str]:
    """Target definitions of the city and the file they come from."""
    section = targets_config(cfg)
    if not section.file:
        return [], ""
    path = _data_file(section.file, cfg)
    return list(load_yaml(path).get("targets") or []), str(path)


def load_rules(cfg: Any = None) -> tuple[pd.DataFrame, str]:
    """The warning rules (validated) and their file's version."""
    name = targets_config(cfg).rules
    path = _data_file(name, cfg) if name else RULES_FILE
    raw = load_yaml(path)
    return wn.rules_frame(raw.get("rules") or [], source=str(path)), str(raw.get("version", ""))


# ------------------------------------------------------------------------------- compute
@dataclass
class RecomputeResult:
    run_id: str
    source: str
    progress: pd.DataFrame  # every target and year
    status: pd.DataFrame  # latest period: metric values and levels under every rule
    logged: pd.DataFrame  # warnings appended to the log in this run
    notified: dict[str, str] = field(default_factory=dict)  # channel -> 'ok' or error
    provenance: dict[str, Any] = field(default_factory=dict)


def _target_actuals(targets: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    a = targets[["target_id", "level", "entity_code", "indicator"]].merge(
        obs, on=["level", "entity_code", "indicator"]
    )
    return a[["target_id", "year", "months", "value", "entity_name"]]


def compute_progress(targets: pd.DataFrame, obs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Progress rows of every target (long table) and the annual decomposition."""
    actual = _target_actuals(targets, obs)
    parts, annual = [], []
    intensity = targets[targets["kind"] == "intensity"]
    if len(intensity):
        full = actual[actual["months"] >= 12]
        p = tg.intensity_progress(intensity, full[["target_id", "year", "value"]])
        parts.append(p.assign(months=12))
        annual.append(tg.annual_targets(tg.resolve_base(intensity, full)))
    total = targets[targets["kind"] == "total"]
    if len(total):
        p = tg.total_progress(total, actual[["target_id", "year", "months", "value"]])
        parts.append(p)
        full = actual[actual["months"] >= 12][["target_id", "year", "value"]]
        annual.append(tg.annual_targets(tg.resolve_base(total, full)))
    progress = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["target_id", "year", "months", "value"])
    )
    names = actual.drop_duplicates("target_id").set_index("target_id")["entity_name"]
    info = targets.set_index("target_id")
    progress = progress.join(
        info[
            [
                "code",
                "name",
                "level",
                "entity_code",
                "kind",
                "indicator",
                "period_label",
                "end_year",
                "target_value",
                "target_unit",
                "status",
            ]
        ],
        on="target_id",
        rsuffix="_target",
    )
    progress["entity_name"] = progress["target_id"].map(names)
    annual_frame = (
        pd.concat(annual, ignore_index=True)
        if annual
        else pd.DataFrame(columns=["target_id", "year", "path", "target_value"])
    )
    return progress, annual_frame


METRICS = {
    "intensity": ("decline_gap_pts", "forecast_decline_gap_pts"),
    "total": ("budget_use_ratio", "forecast_cap_ratio"),
}


def status_metrics(progress: pd.DataFrame, monthly: pd.DataFrame) -> pd.DataFrame:
    """Metric values of the latest period of every target and of key enterprises' last month."""
    rows = []
    if len(progress):
        latest = progress.sort_values(["target_id", "year"]).groupby("target_id").tail(1)
        for kind, cols in METRICS.items():
            k = latest[latest["kind"] == kind]
            if not len(k):
                continue
            long = k.drop(columns="value").melt(
                id_vars=[
                    "target_id",
                    "code",
                    "name",
                    "level",
                    "entity_code",
                    "entity_name",
                    "year",
                    "months",
                ],
                value_vars=list(cols),
                var_name="metric",
            )
            rows.append(
                long.assign(
                    subject=long["code"],
                    applies=kind,
                    period=[
                        months_label(y, m)
                        for y, m in zip(long["year"], long["months"], strict=True)
                    ],
                    entity_level=long["level"],
                )
            )
    if len(monthly):
        key = monthly[monthly["is_key"]]
        mom = tg.month_on_month(key[["entity_code", "year", "month", "value"]])
        last_k = (mom["year"] * 12 + mom["month"]).max()
        mom = mom[(mom["year"] * 12 + mom["month"]) == last_k]
        names = key.drop_duplicates("entity_code").set_index("entity_code")["entity_name"]
        rows.append(
            pd.DataFrame(
                {
                    "target_id": np.nan,
                    "code": "",
                    "name": "",
                    "level": "enterprise",
                    "entity_code": mom["entity_code"],
                    "entity_name": mom["entity_code"].map(names),
                    "year": mom["year"],
                    "months": mom["month"],
                    "metric": "mom_change_pct",
                    "value": mom["mom_change_pct"],
                    "previous": mom["previous"],
                    "subject": mom["entity_code"],
                    "applies": "key_enterprise",
                    "period": mom["year"].astype(str) + "-" + mom["month"].astype(str).str.zfill(2),
                    "entity_level": "enterprise",
                }
            )
        )
    if not rows:
        return pd.DataFrame(columns=["subject", "applies", "period", "metric", "value"])
    return pd.concat(rows, ignore_index=True)


def _message(r: Any) -> str:
    what = r.name if r.name else r.entity_name
    unit = f" {r.unit}" if isinstance(getattr(r, "unit", None), str) and r.unit else ""
    return (
        f"[{ {'red': '红色', 'yellow': '黄色', 'green': '解除'}[r.level] }预警] "
        f"{r.entity_name or r.entity_code} | {what}: {r.zh} ({r.period}); "
        f"{r.metric} = {r.value:.2f}{unit}, 阈值 {r.threshold:g}"
    )


def recompute(
    cfg: Any = None,
    *,
    settings: Any = None,
    actor: str = "system",
    notify: bool = True,
) -> RecomputeResult:
    """Sync the city's targets into the catalog, compute progress over the newest results,
    evaluate the warning rules, log new or changed warnings, send them, and write
    ``target_progress`` and ``target_status`` results with a run id."""
    settings = settings or get_settings()
    cfg = as_city(cfg)
    url = settings.database_url
    section = targets_config(cfg)
    with _run_lock:
        specs, spec_file = target_specs(cfg)
        if specs:
            targets_store.sync_targets(specs, actor=actor, source=spec_file, url=url)
        targets = targets_store.targets_frame(url=url)
        actuals = load_actuals(basis=section.basis, settings=settings, cfg=cfg)
        run_id = results.run_id_here()
        progress, annual = compute_progress(targets, actuals.observations)
        if len(annual):
            targets_store.save_annual(annual[["target_id", "year", "target_value"]], url=url)
        rules, rules_version = load_rules(cfg)
        status = wn.evaluate(status_metrics(progress, actuals.enterprise_monthly), rules)
        status["run_id"] = run_id
        logged = wn.changes(status, targets_store.last_levels(url=url))
        if len(logged):
            logged["message"] = [_message(r) for r in logged.itertuples(index=False)]
            logged["subject"] = logged["subject"].astype(str)
            logged["ids"] = targets_store.log_warnings(logged, url=url)
        provenance = {
            **actuals.provenance,
            "source": actuals.source,
            "rules_version": rules_version,
            "targets_file": spec_file,
        }
        tag = {
            "run_id": run_id,
            "factor_profile": _profile(actuals.provenance),
            "method": f"targets:{actuals.source}",
        }
        with results.transaction(run_id, lake=settings.lake):
            if len(progress):
                results.write(TARGET_PROGRESS, progress.assign(**tag))
            if len(status):
                results.write(
                    TARGET_STATUS, status.assign(**tag).drop(columns=["ids"], errors="ignore")
                )
    result = RecomputeResult(
        run_id, actuals.source, progress, status, logged, provenance=provenance
    )
    if notify and len(logged):
        result.notified = send_notifications(logged, cfg, url=url)
    return result


def _profile(prov: dict[str, Any]) -> str:
    for v in prov.values():
        if isinstance(v, dict) and v.get("factor_profile"):
            return str(v["factor_profile"])
    return ""


def send_notifications(logged: pd.DataFrame, cfg: Any, *, url: str | None = None) -> dict[str, str]:
    """Send logged warnings at or above ``notify.min_level`` to the configured channels and
    record the outcome on the log rows. A failing channel is logged, never raised."""
    conf = targets_config(cfg).notify
    min_rank = wn.LEVELS.index(conf.min_level)
    rank = logged["level"].map(wn.LEVELS.index)
    # a return to green is sent when the warning was at or above the minimum before
    send = logged[(rank >= min_rank) | (logged["level"] == "green")]
    if not len(send):
        return {}
    cols = [
        "rule_id",
        "level",
        "entity_level",
        "entity_code",
        "entity_name",
        "period",
        "metric",
        "value",
        "threshold",
        "message",
    ]
    items = [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
        for r in send[cols].to_dict("records")
    ]
    payload = {
        "city": cfg.id,
        "city_name": cfg.name.zh,
        "run_id": str(send["run_id"].iloc[0]),
        "worst_level": wn.worst_level(send["level"]),
        "warnings": items,
    }
    outcome: dict[str, str] = {}
    if conf.webhook:
        try:
            nt.send_webhook(conf.webhook, payload)
            outcome["webhook"] = "ok"
        except Exception as err:
            log.warning("warning webhook failed: %s", err)
            outcome["webhook"] = f"error: {err}"
    email = conf.email
    if email:
        try:
            nt.send_email(
                host=email.host,
                port=email.port,
                sender=email.sender,
                to=email.to,
                subject=f"[citycarbon] {cfg.name.zh} 碳排放双控预警 "
                f"({payload['worst_level']}, {len(items)})",
                body="\n".join(i["message"] for i in items) + f"\n\nrun {payload['run_id']}",
                starttls=email.starttls,
                username=email.username,
                password_env=email.password_env,
            )
            outcome["email"] = "ok"
        except Exception as err:
            log.warning("warning e-mail failed: %s", err)
            outcome["email"] = f"error: {err}"
    ok = ",".join(k for k, v in outcome.items() if v == "ok")
    errors = "; ".join(f"{k}: {v}" for k, v in outcome.items() if v != "ok") or None
    ids = [int(i) for i in send["ids"]] if "ids" in send else []
    targets_store.mark_notified(ids, ok, errors, url=url)
    return outcome


def start_scheduler(cfg: Any = None, *, cron: str | None = None, settings: Any = None) -> Any:
    """Start an APScheduler ``BackgroundScheduler`` recomputing on the city's cron schedule.

    Parameters
    ----------
    cron : str, optional
        Five-field crontab (default ``targets.schedule`` of the city config, else daily 06:30)
        in the city's time zone.

    Returns
    -------
    apscheduler.schedulers.background.BackgroundScheduler
        Running; stop it with ``shutdown()``.
    """
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    cfg = as_city(cfg)
    settings = settings or get_settings()
    cron = cron or targets_config(cfg).schedule
    try:
        trigger = CronTrigger.from_crontab(cron, timezone=cfg.timezone)
    except ValueError as err:
        raise InputError(
            f"not a valid cron schedule: {err}", field="targets.schedule", value=cron
        ) from None
    scheduler = BackgroundScheduler(timezone=cfg.timezone)
    scheduler.add_job(
        _scheduled,
        trigger,
        id=JOB_ID,
        kwargs={"cfg": cfg, "settings": settings},
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    scheduler.start()
    return scheduler


def _scheduled(cfg: Any, settings: Any) -> RecomputeResult | None:
    try:
        return recompute(cfg, settings=settings, actor="scheduler")
    except Exception:
        log.exception("targets: scheduled recompute failed")
        return None
