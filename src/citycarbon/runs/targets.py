"""Running carbon dual control: targets from the city config, progress over the newest results,
warnings logged and sent, recomputed on a schedule and after each ingest.

This is the service layer of ``targets/`` (it reads and writes through :mod:`citycarbon.data`);
the formulas are in the pure modules :mod:`.targets` and :mod:`.warnings`.

City config (``targets:`` section of the city YAML)::

    targets:
      file: xiamen_targets.yaml  # target definitions and base-year values: citycarbon/targets/data/
                                 # or beside the YAML
      rules: rules.yaml        # warning rules (same lookup)
      basis: incl_net_imported_electricity   # CO2 of energy activity incl. net imported power
      include_process_co2: false             # process CO2 shown separately, not in the total
      energy_basis: coal_equivalent          # 等价值 (or calorific, 当量值)
      grid_mix: fujian                       # targets/data/grid_mix.yaml region
      schedule: "30 6 * * *"   # cron, city time zone
      notify:
        min_level: yellow
        webhook: https://...   # HTTP POST of JSON
        email: {host: smtp.example, port: 25, from: a@b, to: [c@d], starttls: false}
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from citycarbon.config import TargetsSection, as_city
from citycarbon.config.settings import get_settings
from citycarbon.contract.results import DUAL_CONTROL, TARGET_PROGRESS, TARGET_STATUS
from citycarbon.errors import InputError
from citycarbon.records import message_record
from citycarbon.runs import notify as nt
from citycarbon.runs.targets_inputs import Actuals, load_actuals, months_label
from citycarbon.store import results
from citycarbon.store import targets as targets_store
from citycarbon.targets import targets as tg
from citycarbon.targets import warnings as wn

#: The method records of progress and status by where the actual values come from
#: (:attr:`Actuals.source`).
ACTUALS_METHODS = {
    "city_inventory": message_record("targets_from_inventory"),
    "enterprise_fallback": message_record("targets_from_enterprises"),
    "none": message_record("targets_no_actuals"),
}

log = logging.getLogger(__name__)
DATA_DIR = Path(__file__).parents[1] / "targets" / "data"
RULES_FILE = DATA_DIR / "rules.yaml"
GRID_MIX_FILE = DATA_DIR / "grid_mix.yaml"
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


def target_specs(cfg: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """Target definitions of the city, its entered base-year values and the file they come
    from."""
    section = targets_config(cfg)
    if not section.file:
        return [], [], ""
    path = _data_file(section.file, cfg)
    raw = load_yaml(path)
    return list(raw.get("targets") or []), list(raw.get("base_years") or []), str(path)


@dataclass(frozen=True)
class Rules:
    """The warning rules (validated), their file's version and the months compared as one."""

    frame: pd.DataFrame
    version: str
    merge_months: tuple[int, ...]


def load_rules(cfg: Any = None) -> Rules:
    """The warning rules of the city (``targets.rules``, else the packaged defaults)."""
    name = targets_config(cfg).rules
    path = _data_file(name, cfg) if name else RULES_FILE
    raw = load_yaml(path)
    return Rules(
        wn.rules_frame(raw.get("rules") or [], source=str(path)),
        str(raw.get("version", "")),
        tuple(int(m) for m in raw.get("merge_months") or ()),
    )


def load_grid_mix() -> tuple[pd.DataFrame, str]:
    """The grids' generation mix (non-fossil share by region and year) and the file's version."""
    raw = load_yaml(GRID_MIX_FILE)
    cols = ["region", "year", "nonfossil_share", "status", "source"]
    rows = pd.DataFrame(raw.get("rows") or [], columns=cols)
    return rows.astype({"year": "int64", "nonfossil_share": "float64"}), str(raw.get("version"))


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


def target_bases(targets: pd.DataFrame, indicators: pd.DataFrame) -> pd.DataFrame:
    """The base-year value of each target's indicator and where it comes from.

    A value entered on the target itself (``base_value``) first; else the indicator of the
    target's entity in the base year (entered in ``base_years`` or computed from the base year's
    data); else none, and the note says what to do. Never a later year's value.

    Returns
    -------
    DataFrame
        ``target_id, base_value, base_source, base_status, base_note``.
    """
    have = indicators[indicators["value"].notna()].rename(
        columns={"year": "base_year", "value": "_value"}
    )
    b = targets[["target_id", "level", "entity_code", "indicator", "base_year", "base_value"]]
    b = b.assign(base_value=pd.to_numeric(b["base_value"], errors="coerce"))
    b = b.merge(
        have[
            ["level", "entity_code", "indicator", "base_year", "_value", "origin", "status", "note"]
        ],
        on=["level", "entity_code", "indicator", "base_year"],
        how="left",
    )
    own = b["base_value"].notna()
    found = own | b["_value"].notna()
    # a message key with its parameters, shown in the page's language
    missing = (
        "no_base?indicator="
        + b["indicator"]
        + "&entity="
        + b["entity_code"]
        + "&year="
        + b["base_year"].astype(str)
    )
    return pd.DataFrame(
        {
            "target_id": b["target_id"],
            "base_value": b["base_value"].where(own, b["_value"]).astype("float64"),
            "base_source": np.where(own, "entered", b["origin"].fillna("missing")),
            "base_status": np.where(own, "", b["status"].fillna("")),
            "base_note": np.where(own, "entered_on_target", np.where(found, b["note"], missing)),
        }
    )


def compute_progress(targets: pd.DataFrame, actuals: Actuals) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Progress rows of every target (long table) and the annual decomposition."""
    actual = _target_actuals(targets, actuals.observations)
    bases = target_bases(targets, actuals.indicators)
    resolved = tg.resolve_base(targets.drop(columns="base_value"), bases)
    parts = []
    full = actual[actual["months"] >= 12]
    intensity = resolved[resolved["kind"] == "intensity"]
    if len(intensity):
        p = tg.intensity_progress(intensity, full[["target_id", "year", "value"]])
        parts.append(p.assign(months=12))
    total = resolved[resolved["kind"] == "total"]
    if len(total):
        monthly = targets[["target_id", "level", "entity_code", "indicator"]].merge(
            actuals.monthly, on=["level", "entity_code", "indicator"]
        )
        shares = tg.seasonal_shares(monthly[["target_id", "year", "month", "value"]])
        t_actual = actual[["target_id", "year", "months", "value"]].merge(
            shares, on=["target_id", "year", "months"], how="left"
        )
        parts.append(tg.total_progress(total, t_actual))
    progress = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["target_id", "year", "months", "value"])
    )
    names = actual.drop_duplicates("target_id").set_index("target_id")["entity_name"]
    info = resolved.set_index("target_id")
    progress = progress.drop(columns=["base_value", "base_source"], errors="ignore").join(
        info[
            [
                "code",
                "name",
                "level",
                "entity_code",
                "kind",
                "indicator",
                "period_label",
                "base_year",
                "end_year",
                "target_value",
                "target_unit",
                "status",
                "base_value",
                "base_source",
                "base_status",
                "base_note",
            ]
        ],
        on="target_id",
    )
    progress["entity_name"] = progress["target_id"].map(names)
    return progress, tg.annual_targets(resolved)


METRICS = {
    "intensity": ("decline_gap_pts", "forecast_decline_gap_pts"),
    "total": ("budget_use_ratio", "forecast_cap_ratio"),
}


#: Metrics of key enterprises (:func:`citycarbon.targets.targets.year_on_year`) and the column
#: holding the value they compare with (a rule's ``min_previous`` applies to it).
ENTERPRISE_METRICS = {"yoy_change_pct": "previous", "ytd_yoy_change_pct": "ytd_previous"}


def status_metrics(
    progress: pd.DataFrame, monthly: pd.DataFrame, merge_months: tuple[int, ...] = (1, 2)
) -> pd.DataFrame:
    """Metric values of the latest period of every target and of key enterprises' latest period
    (same period last year and year to date; ``merge_months`` count as one period)."""
    rows = []
    if len(progress):
        # the base year itself has nothing to judge
        after_base = progress[progress["year"] > progress["base_year"]]
        latest = after_base.sort_values(["target_id", "year"]).groupby("target_id").tail(1)
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
                    previous=np.nan,
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
        yoy = tg.year_on_year(key[["entity_code", "year", "month", "value"]], merge_months)
        last_k = (yoy["year"] * 12 + yoy["month"]).max()
        yoy = yoy[(yoy["year"] * 12 + yoy["month"]) == last_k]
        names = key.drop_duplicates("entity_code").set_index("entity_code")["entity_name"]
        for metric, previous in ENTERPRISE_METRICS.items():
            rows.append(
                pd.DataFrame(
                    {
                        "target_id": np.nan,
                        "code": "",
                        "name": "",
                        "level": "enterprise",
                        "entity_code": yoy["entity_code"],
                        "entity_name": yoy["entity_code"].map(names),
                        "year": yoy["year"],
                        "months": yoy["month"],
                        "metric": metric,
                        "value": yoy[metric],
                        "previous": yoy[previous],
                        "subject": yoy["entity_code"],
                        "applies": "key_enterprise",
                        "period": yoy["period"],
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
    ``dual_control_indicators``, ``target_progress`` and ``target_status`` results with a run
    id."""
    settings = settings or get_settings()
    cfg = as_city(cfg)
    url = settings.database_url
    with _run_lock:
        specs, base_years, spec_file = target_specs(cfg)
        if specs:
            targets_store.sync_targets(specs, actor=actor, source=spec_file, url=url)
        targets = targets_store.targets_frame(url=url)
        mix, mix_version = load_grid_mix()
        actuals = load_actuals(
            settings=settings,
            cfg=cfg,
            base_years=base_years,
            base_years_source=spec_file,
            grid_mix=mix,
        )
        run_id = results.run_id_here()
        progress, annual = compute_progress(targets, actuals)
        if len(annual):
            targets_store.save_annual(annual[["target_id", "year", "target_value"]], url=url)
        rules = load_rules(cfg)
        metrics = status_metrics(progress, actuals.enterprise_monthly, rules.merge_months)
        status = wn.evaluate(metrics, rules.frame)
        status["run_id"] = run_id
        logged = wn.changes(status, targets_store.last_levels(url=url))
        if len(logged):
            logged["message"] = [_message(r) for r in logged.itertuples(index=False)]
            logged["subject"] = logged["subject"].astype(str)
            logged["ids"] = targets_store.log_warnings(logged, url=url)
        provenance = {
            **actuals.provenance,
            "source": actuals.source,
            "rules_version": rules.version,
            "grid_mix_version": mix_version,
            "targets_file": spec_file,
        }
        tag = {
            "run_id": run_id,
            "factor_profile": _profile(actuals.provenance, actuals.source),
            "method": ACTUALS_METHODS[actuals.source],
        }
        with results.transaction(run_id, lake=settings.lake):
            if len(actuals.indicators):
                results.write(
                    DUAL_CONTROL,
                    actuals.indicators.assign(run_id=run_id, factor_profile=tag["factor_profile"]),
                )
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


def _profile(prov: dict[str, Any], source: str) -> str:
    """The factor profile of the actuals' main source (the city inventory's where the
    indicators come from it), else of the first input that names one."""
    for v in (prov.get(source), *prov.values()):
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


def start_scheduler(
    cfg: Any = None,
    *,
    cron: str | None = None,
    settings: Any = None,
    also: tuple[Callable[[Any], object], ...] = (),
) -> Any:
    """Start an APScheduler ``BackgroundScheduler`` recomputing on the city's cron schedule.

    Parameters
    ----------
    cron : str, optional
        Five-field crontab (default ``targets.schedule`` of the city config, else daily 06:30)
        in the city's time zone.
    also : tuple of callables, optional
        Further warning checks run after the recompute, each called with the city config
        (the action plan's overdue tasks: :func:`citycarbon.runs.actions.overdue_warnings`).

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
        kwargs={"cfg": cfg, "settings": settings, "also": also},
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    scheduler.start()
    return scheduler


def _scheduled(
    cfg: Any, settings: Any, also: tuple[Callable[[Any], object], ...] = ()
) -> RecomputeResult | None:
    try:
        got = recompute(cfg, settings=settings, actor="scheduler")
    except Exception:
        log.exception("targets: scheduled recompute failed")
        got = None
    for check in also:
        try:
            check(cfg)
        except Exception:
            log.exception("scheduled warning check %s failed", getattr(check, "__name__", check))
    return got
