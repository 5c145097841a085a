"""The technology catalogue (``data/technologies.yaml``) and the ten actions with their tasks
(``data/actions.yaml``) of 厦门市科学技术局《厦门市科技支撑碳达峰碳中和实施方案》(2023-12-04).

This module reads and checks the files and returns plain tables. Numbers the programme does not
give stay empty; a range that is given carries its unit and a source or ``estimate: expert``.

References
----------
[1] 厦门市科学技术局《厦门市科技支撑碳达峰碳中和实施方案》, 2023-12-04, 三、重点行动 and 专栏 1-10.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from citycarbon.errors import InputError, UnknownCodeError

DATA_DIR = Path(__file__).parent / "data"
TECHNOLOGIES_FILE = "technologies.yaml"
ACTIONS_FILE = "actions.yaml"
RANGE_FIELDS = ("abatement", "cost")
TECH_COLUMNS = (
    "id",
    "name_zh",
    "name_en",
    "field",
    "category",
    "readiness",
    "trl",
    "stage",
    "column",
    "action",
    "quote",
    "measures",
    "demonstrations",
    "co_benefits",
    "abatement",
    "cost",
)
TASK_COLUMNS = ("task_id", "action", "name_zh", "name_en", "units", "lead_unit", "due_year")


def _yaml(name: str) -> dict[str, Any]:
    with open(DATA_DIR / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def check_range(spec: dict[str, Any] | None, where: str) -> None:
    """A quantity range is ``None`` (the programme gives none) or has ``low, high, unit`` and a
    ``source`` or ``estimate: expert`` label; raises :class:`InputError` otherwise."""
    if spec is None:
        return
    missing = [k for k in ("low", "high", "unit") if spec.get(k) is None]
    if missing:
        raise InputError(f"{where}: {missing[0]} missing", source=TECHNOLOGIES_FILE)
    if not spec.get("source") and spec.get("estimate") != "expert":
        raise InputError(
            f"{where}: a range needs a source or the label `estimate: expert`",
            source=TECHNOLOGIES_FILE,
        )
    if spec["low"] > spec["high"]:
        raise InputError(f"{where}: low above high", source=TECHNOLOGIES_FILE)


@cache
def technology_data() -> dict[str, Any]:
    """``technologies.yaml`` checked: unique ids, known field/category/readiness, a 专栏 quote,
    ranges labelled."""
    data = _yaml(TECHNOLOGIES_FILE)
    ids = [t["id"] for t in data["technologies"]]
    if len(ids) != len(set(ids)):
        raise InputError("duplicate technology ids", source=TECHNOLOGIES_FILE, value=ids)
    for t in data["technologies"]:
        for key, allowed in (
            ("field", data["fields"]),
            ("category", data["categories"]),
            ("readiness", data["readiness_levels"]),
        ):
            if t[key] not in allowed:
                raise UnknownCodeError(key, t[key], tuple(allowed), source=TECHNOLOGIES_FILE)
        if not t.get("quote") or not 1 <= int(t["column"]) <= 10:
            raise InputError(
                f"technology {t['id']}: 专栏 and quote needed", source=TECHNOLOGIES_FILE
            )
        for f in RANGE_FIELDS:
            check_range(t.get(f), f"technology {t['id']} {f}")
    return data


def technologies() -> pd.DataFrame:
    """One row per technology (:data:`TECH_COLUMNS`); ``stage`` is the roadmap year of its
    readiness (``stages`` of the data file, after the programme's 2025/2030/2060 goals)."""
    data = technology_data()
    frame = pd.DataFrame(data["technologies"])
    frame["stage"] = frame["readiness"].map(data["stages"]).astype("int64")
    return frame[list(TECH_COLUMNS)]


def labels(kind: str) -> dict[str, dict[str, str]]:
    """``fields``, ``categories``, ``readiness_levels`` or ``stage_goals``: code → {zh, en}."""
    return {str(k): v for k, v in technology_data()[kind].items()}


@cache
def action_data() -> dict[str, Any]:
    """``actions.yaml`` checked: ten actions, known units, unique task ids."""
    data = _yaml(ACTIONS_FILE)
    numbers = [a["number"] for a in data["actions"]]
    if numbers != list(range(1, 11)):
        raise InputError("actions must be numbered 1-10", source=ACTIONS_FILE, value=numbers)
    units = data["units"]
    seen: set[str] = set()
    for a in data["actions"]:
        for t in a["tasks"]:
            if t["id"] in seen:
                raise InputError(f"duplicate task id {t['id']}", source=ACTIONS_FILE)
            seen.add(t["id"])
            for u in (*a["units"], *t.get("units", ())):
                if u not in units:
                    raise UnknownCodeError("unit", u, tuple(units), source=ACTIONS_FILE)
    return data


def actions() -> pd.DataFrame:
    """One row per action: ``action, name_zh, name_en, column, units, lead_unit, due_year,
    milestone_2030_zh, milestone_2030_en``."""
    rows = [
        {
            "action": a["number"],
            "name_zh": a["name_zh"],
            "name_en": a["name_en"],
            "column": a["column"],
            "units": list(a["units"]),
            "lead_unit": a["units"][0],
            "due_year": a["due_year"],
            "milestone_2030_zh": (a["milestone_2030"] or {}).get("zh"),
            "milestone_2030_en": (a["milestone_2030"] or {}).get("en"),
        }
        for a in action_data()["actions"]
    ]
    return pd.DataFrame(rows)


def tasks() -> pd.DataFrame:
    """One row per task (:data:`TASK_COLUMNS` and ``indicator``): its units are its own or its
    action's; the first is the lead."""
    rows = []
    for a in action_data()["actions"]:
        for t in a["tasks"]:
            units = list(t.get("units") or a["units"])
            rows.append(
                {
                    "task_id": t["id"],
                    "action": a["number"],
                    "name_zh": t["name_zh"],
                    "name_en": t["name_en"],
                    "units": units,
                    "lead_unit": units[0],
                    "due_year": a["due_year"],
                    "indicator": t.get("indicator"),
                }
            )
    return pd.DataFrame(rows)


def units() -> dict[str, dict[str, str]]:
    """Responsible units (责任单位): code → {zh, en}."""
    return dict(action_data()["units"])


def milestones() -> dict[str, dict[str, str]]:
    """The programme-wide milestones (二、主要目标): year → {zh, en}."""
    return {str(k): v for k, v in action_data()["milestones"].items()}
