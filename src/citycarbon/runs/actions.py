"""技术图谱 and action-plan tracking use cases: the technology catalogue with the scenario
measures that deploy it, the roadmap by stage, the task board (status, overdue days, linked
indicator values), status reports by the responsible units, overdue warnings through the
warning log and channels of the targets module, and the progress report per action or unit."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from citycarbon.config import as_city
from citycarbon.config.settings import get_settings
from citycarbon.contract.results import result
from citycarbon.pathways.catalogue import measure_catalogue
from citycarbon.runs import targets as targets_run
from citycarbon.runs.reports import ReportData
from citycarbon.store import actions as actions_store
from citycarbon.store import results
from citycarbon.store import targets as targets_store
from citycarbon.targets import warnings as wn
from citycarbon.techmap import catalogue as tc
from citycarbon.techmap import tracking

OVERDUE_RULE = "action_task_overdue"


def technology_table() -> pd.DataFrame:
    """The technology catalogue; ``measure_names`` lists {id, zh, en} of the linked measures."""
    techs = tc.technologies()
    names = measure_catalogue().drop_duplicates("id").set_index("id")[["zh", "en"]]
    techs["measure_names"] = [
        [{"id": m, "zh": names.at[m, "zh"], "en": names.at[m, "en"]} for m in ms]
        for ms in techs["measures"]
    ]
    return techs


def filter_technologies(
    techs: pd.DataFrame,
    *,
    field: str | None = None,
    category: str | None = None,
    stage: int | None = None,
    column: int | None = None,
    q: str | None = None,
) -> pd.DataFrame:
    """Rows of ``techs`` matching every given filter (``q``: text in a name or the quote)."""
    keep = pd.Series(True, index=techs.index)
    for col, value in (("field", field), ("category", category), ("stage", stage)):
        if value not in (None, ""):
            keep &= techs[col] == value
    if column:
        keep &= techs["column"] == column
    if q:
        text = techs["name_zh"] + " " + techs["name_en"] + " " + techs["quote"]
        keep &= text.str.contains(q, case=False, regex=False)
    return techs[keep]


def _indicator_value(spec: dict[str, Any] | None, lake: Any) -> dict[str, Any] | None:
    """The latest-year value of a task's linked result column (sum over the filtered rows)."""
    if not spec:
        return None
    frame = results.current(result(spec["result"]), lake=lake)
    for col, value in (spec.get("where") or {}).items():
        frame = frame[frame[col] == value]
    out = {**spec, "value": None, "year": None}
    if len(frame) and "year" in frame:
        year = int(frame["year"].max())
        out["year"] = year
        out["value"] = float(frame.loc[frame["year"] == year, spec["column"]].sum())
    return out


def task_board(today: date | None = None) -> pd.DataFrame:
    """Every task with its action, units, current status, progress, planned date, days overdue
    and linked indicator (value of the latest year)."""
    today_ts = pd.Timestamp(today or date.today())
    tasks = tc.tasks()
    latest = tracking.latest_status(actions_store.updates_frame())
    cols = ["task_id", "status", "progress_pct", "planned_date", "note", "actor", "at"]
    board = tasks.merge(latest[cols], on="task_id", how="left")
    board["status"] = board["status"].fillna("not_started")
    board["progress_pct"] = pd.to_numeric(board["progress_pct"]).fillna(0.0)
    board["days_overdue"] = tracking.days_overdue(board, today_ts)
    board["due_date"] = tracking.due_date(board["due_year"], board["planned_date"])
    lake = get_settings().lake
    board["indicator"] = [_indicator_value(s, lake) for s in board["indicator"]]
    return board


def task_units(task_id: str) -> list[str] | None:
    """The 责任单位 of a task (the lead first); None for an unknown task."""
    tasks = tc.tasks().set_index("task_id")
    return list(tasks.at[task_id, "units"]) if task_id in tasks.index else None


def report_status(
    task_id: str,
    status: str,
    progress_pct: float,
    *,
    actor: str,
    unit: str,
    planned_date: date | None = None,
    note: str | None = None,
) -> int:
    """Record a status report of a task by its responsible unit ``unit`` (audited; the
    caller has checked that ``actor`` may report for it)."""
    return actions_store.add_update(
        task_id,
        status,
        progress_pct,
        actor=actor,
        unit=unit,
        planned_date=planned_date,
        note=note,
    )


def overdue_warnings(cfg: Any = None, *, today: date | None = None, notify: bool = True) -> int:
    """Log (and send through the configured warning channels) a red warning for every task
    that became overdue and a green one for a task that is no longer; returns how many were
    logged."""
    cfg = as_city(cfg)
    url = get_settings().database_url
    board = task_board(today)
    board = board[board["due_date"].notna()]
    units = tc.units()
    status = pd.DataFrame(
        {
            "rule_id": OVERDUE_RULE,
            "subject": board["task_id"].astype(str),
            "target_id": None,
            "level": board["days_overdue"].gt(0).map({True: "red", False: "green"}),
            "entity_level": "unit",
            "entity_code": board["lead_unit"],
            "entity_name": board["lead_unit"].map(lambda u: units[u]["zh"]),
            "period": board["due_date"].dt.strftime("%Y-%m-%d"),
            "metric": "days_overdue",
            "value": board["days_overdue"].astype(float),
            "threshold": 0.0,
        }
    )
    status["message"] = [
        f"[{'逾期' if r.level == 'red' else '解除'}] 行动{a} {n}: {r.entity_name}, "
        f"到期 {r.period}, 逾期 {int(r.value)} 天"
        for r, a, n in zip(
            status.itertuples(index=False), board["action"], board["name_zh"], strict=True
        )
    ]
    logged = wn.changes(status, targets_store.last_levels(url=url))
    if not len(logged):
        return 0
    logged["run_id"] = results.new_run_id()
    logged["ids"] = targets_store.log_warnings(logged, url=url)
    if notify:
        targets_run.send_notifications(logged, cfg, url=url)
    return len(logged)


def _figure(value) -> str:
    """A linked indicator's value for people: four significant digits, thousands separated."""
    try:
        return f"{float(value):,.4g}"
    except (TypeError, ValueError):
        return str(value)


_REPORT_TEXT = {
    "zh": {
        "cols": (
            "行动",
            "任务",
            "责任单位",
            "状态",
            "进度（%）",
            "到期日",
            "逾期天数",
            "指标",
            "说明",
        ),
        "title": "科技支撑碳达峰碳中和行动进展报告 — {scope}",
        "action": "行动{n} {name}",
        "all": "全部行动",
        "sep": "、",
        "summary": "任务 {n} 项，已完成 {done} 项，逾期 {late} 项。",
        "status": {
            "not_started": "未开始",
            "in_progress": "进行中",
            "done": "已完成",
            "delayed": "滞后",
        },
    },
    "en": {
        "cols": (
            "Action",
            "Task",
            "Responsible units",
            "Status",
            "Progress (%)",
            "Due",
            "Days overdue",
            "Indicator",
            "Note",
        ),
        "title": "Progress of the science-and-technology carbon actions — {scope}",
        "action": "Action {n} {name}",
        "all": "all actions",
        "sep": ", ",
        "summary": "{n} tasks, {done} done, {late} overdue.",
        "status": {
            "not_started": "not started",
            "in_progress": "in progress",
            "done": "done",
            "delayed": "delayed",
        },
    },
}


def progress_report(
    *,
    action: int | None = None,
    unit: str | None = None,
    today: date | None = None,
    lang: str = "zh",
) -> ReportData:
    """The action plan's progress report for one action, one responsible unit or all tasks, in
    ``lang`` (zh or en) throughout."""
    text = _REPORT_TEXT["en" if lang == "en" else "zh"]
    lang = "en" if lang == "en" else "zh"
    board = task_board(today)
    if action is not None:
        board = board[board["action"] == action]
    if unit is not None:
        board = board[board["units"].map(lambda us: unit in us)]
    units = tc.units()
    cols = text["cols"]
    table = pd.DataFrame(
        {
            cols[0]: board["action"],
            cols[1]: board[f"name_{lang}"] if f"name_{lang}" in board else board["name_zh"],
            cols[2]: board["units"].map(lambda us: text["sep"].join(units[u][lang] for u in us)),
            cols[3]: board["status"].map(text["status"]).fillna(board["status"]),
            cols[4]: board["progress_pct"],
            cols[5]: board["due_date"].dt.strftime("%Y-%m-%d"),
            cols[6]: board["days_overdue"],
            cols[7]: board["indicator"].map(
                lambda i: (
                    "" if not i else f"{i[lang]}: {_figure(i['value'])} {i['unit']} ({i['year']})"
                )
            ),
            cols[8]: board["note"],
        }
    )
    acts = tc.actions().set_index("action")
    name_col = f"name_{lang}" if f"name_{lang}" in acts else "name_zh"
    scope = (
        text["action"].format(n=action, name=acts.at[action, name_col])
        if action is not None
        else (units[unit][lang] if unit is not None else text["all"])
    )
    cfg = as_city(None)
    return ReportData(
        kind="actions",
        title=text["title"].format(scope=scope),
        city=getattr(cfg.name, lang),
        period=str(pd.Timestamp(today or date.today()).date()),
        source=tc.action_data()["source"]["document"],
        tables={"tasks": table},
        notes=[
            text["summary"].format(
                n=len(board),
                done=int((board["status"] == "done").sum()),
                late=int((board["days_overdue"] > 0).sum()),
            )
        ],
    )


def tc_labels() -> dict[str, dict[str, dict[str, str]]]:
    """Labels of the catalogue's codes: fields, categories, readiness levels, stage goals."""
    kinds = ("fields", "categories", "readiness_levels", "stage_goals")
    return {k: tc.labels(k) for k in kinds}


def action_table() -> pd.DataFrame:
    """The ten actions (:func:`citycarbon.techmap.catalogue.actions`)."""
    return tc.actions()


def unit_labels() -> dict[str, dict[str, str]]:
    """Responsible units: code → {zh, en}."""
    return tc.units()


def milestone_labels() -> dict[str, dict[str, str]]:
    """The programme's 2025/2030/2060 milestones."""
    return tc.milestones()


def task_action(task_id: str) -> int:
    """The action number of a task."""
    tasks = tc.tasks().set_index("task_id")
    return int(tasks.at[task_id, "action"])
