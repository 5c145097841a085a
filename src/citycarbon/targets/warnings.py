"""Early warning (预警) of carbon dual control: green / yellow / red levels by configurable rules.

Pure functions over tables; the rules are data (``targets/data/rules.yaml``, loaded by the caller).
A rule names a metric (a column of the progress tables of :mod:`citycarbon.targets.targets`),
a direction (``above``: warn when the value exceeds the threshold; ``below``: when it falls under
it) and the thresholds of ``yellow`` and ``red``; red is checked first. A rule may set
``min_previous`` (month-on-month rules: ignore entities whose previous month was below it, so that
a small emitter doubling from 1 t does not raise a red warning).

References
----------
[1] 中共中央办公厅 国务院办公厅《关于加快构建碳排放双控制度体系的意见》(2024), 三(九):
    碳排放预警管控 — warnings on regions and key units whose emissions rise too fast or whose
    targets are at risk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from citycarbon.errors import InputError

LEVELS = ("green", "yellow", "red")
DIRECTIONS = ("above", "below")
RULE_FIELDS = ("id", "metric", "direction", "yellow", "red")


def rules_frame(rules: Sequence[Mapping[str, Any]], *, source: str = "rules") -> pd.DataFrame:
    """Validate rules (as loaded from YAML) into a table.

    Parameters
    ----------
    rules : sequence of mappings
        Each with ``id, metric, direction, yellow, red`` and optionally ``applies_to`` (a target
        kind, ``key_enterprise`` ...; empty = any), ``min_previous``, ``zh``, ``en``, ``unit``.
    source : str
        Named in errors (the rules file).

    Returns
    -------
    DataFrame
        One row per rule.

    Raises
    ------
    InputError
        A missing field, an unknown direction, a duplicate id, or thresholds in the wrong order
        (red must be at least as severe as yellow).
    """
    frame = pd.DataFrame(list(rules))
    for i, r in enumerate(rules):
        missing = [f for f in RULE_FIELDS if r.get(f) is None]
        if missing:
            raise InputError(f"rule lacks {missing}", source=source, row=i + 1, field=missing[0])
        if r["direction"] not in DIRECTIONS:
            raise InputError(
                f"direction must be one of {list(DIRECTIONS)}",
                source=source,
                row=i + 1,
                field="direction",
                value=r["direction"],
            )
        yellow, red = float(r["yellow"]), float(r["red"])
        if (r["direction"] == "above" and red < yellow) or (
            r["direction"] == "below" and red > yellow
        ):
            raise InputError(
                "the red threshold must be at least as severe as the yellow one",
                source=source,
                row=i + 1,
                field="red",
                value=red,
            )
    dup = frame["id"].duplicated()
    if dup.any():
        raise InputError("rule id appears twice", source=source, value=frame["id"][dup].iloc[0])
    for col, default in (("applies_to", ""), ("min_previous", np.nan), ("zh", ""), ("en", "")):
        if col not in frame:
            frame[col] = default
    frame["applies_to"] = frame["applies_to"].fillna("")
    frame[["yellow", "red"]] = frame[["yellow", "red"]].astype("float64")
    return frame


def evaluate(metrics: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Level of every metric value under every rule that applies to it.

    Parameters
    ----------
    metrics : DataFrame
        Long form: ``subject`` (target id or entity), ``applies`` (target kind or
        ``key_enterprise``), ``period``, ``metric``, ``value`` and optionally ``previous``; other
        columns are carried through.
    rules : DataFrame
        From :func:`rules_frame`.

    Returns
    -------
    DataFrame
        The metric rows joined with their rule (``rule_id``), with ``level`` (green, yellow,
        red; rows whose value is NaN or below ``min_previous`` are dropped) and ``threshold``
        (the threshold crossed, or the yellow one for green).
    """
    r = rules.rename(columns={"id": "rule_id"})
    m = metrics.merge(r, on="metric", how="inner")
    applies = (m["applies_to"] == "") | (m["applies_to"] == m["applies"])
    m = m[applies & m["value"].notna()].copy()
    if "previous" in m:
        small = m["min_previous"].notna() & ~(m["previous"] >= m["min_previous"])
        m = m[~small]
    v = m["value"].to_numpy(dtype="float64")
    above = (m["direction"] == "above").to_numpy()
    yellow, red = m["yellow"].to_numpy(), m["red"].to_numpy()
    is_red = np.where(above, v > red, v < red)
    is_yellow = np.where(above, v > yellow, v < yellow)
    m["level"] = np.select([is_red, is_yellow], ["red", "yellow"], "green")
    m["threshold"] = np.where(is_red, red, yellow)
    return m.drop(columns=["yellow", "red", "min_previous"]).reset_index(drop=True)


def worst_level(levels: pd.Series) -> str:
    """The most severe of some levels (green if none)."""
    rank = levels.map({lv: i for i, lv in enumerate(LEVELS)})
    return LEVELS[int(rank.max())] if len(rank.dropna()) else "green"


def changes(current: pd.DataFrame, last_logged: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``current`` whose level differs from the last logged level of the same key.

    A warning is logged (and notified) when it first turns yellow or red, when its level
    changes, and once when it returns to green; an unchanged level is not logged again.

    Parameters
    ----------
    current : DataFrame
        From :func:`evaluate`, with ``rule_id, subject, period, level``.
    last_logged : DataFrame
        ``rule_id, subject, period, level`` of the newest log entry per key (may be empty).

    Returns
    -------
    DataFrame
        The rows to log.
    """
    key = ["rule_id", "subject", "period"]
    last = last_logged[[*key, "level"]].rename(columns={"level": "_last"})
    m = current.merge(last.astype({"subject": str, "period": str}), on=key, how="left")
    new = m["_last"].isna() & (m["level"] != "green")
    changed = m["_last"].notna() & (m["level"] != m["_last"])
    return m[new | changed].drop(columns="_last").reset_index(drop=True)
