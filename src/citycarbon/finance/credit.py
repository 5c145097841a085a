"""Green credit score of an enterprise: a weighted sum of points for its carbon-efficiency
grade, the grade's movement, its low/zero/negative-carbon class and the completeness of its
data, with the weights and points as rule data (``finance/data/green_credit.yaml``) — no black
box: every component's points and weighted contribution are returned beside the score.

score = sum_c w_c x points_c,  sum_c w_c = 1,  points in 0..100

A platform rule (``assumption: true``): no official green credit scoring method was adopted.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from citycarbon.errors import InputError, UnknownCodeError

RULES_FILE = Path(__file__).parent / "data" / "green_credit.yaml"
DEFAULT_RULES = "citycarbon-2026"
COMPONENTS = ("grade", "trend", "classification", "data_quality")


@cache
def credit_rules(set_id: str = DEFAULT_RULES, path: Path = RULES_FILE) -> Mapping[str, Any]:
    """The rule set ``set_id`` of the green credit rules, validated (weights sum to 1)."""
    with open(path, encoding="utf-8") as f:
        sets = yaml.safe_load(f)["sets"]
    if set_id not in sets:
        raise UnknownCodeError("green credit rule set", set_id, sets)
    raw = sets[set_id]
    weights = raw["weights"]
    if set(weights) != set(COMPONENTS) or abs(sum(weights.values()) - 1.0) > 1e-9:
        raise InputError(
            f"weights must cover {', '.join(COMPONENTS)} and sum to 1",
            source=str(path),
            field=f"{set_id}.weights",
            value=weights,
        )
    return raw


def green_credit_score(frame: pd.DataFrame, rules: Mapping[str, Any]) -> pd.DataFrame:
    """Score rows with ``grade`` (0-5), ``movement``, ``carbon_class`` and ``months``.

    Adds ``points_<c>`` and ``contribution_<c>`` (= weight x points) per component and
    ``green_credit_score`` (their sum, 0..100).
    """
    points = rules["points"]
    per = {
        "grade": frame["grade"].fillna(0).astype(int).map(points["grade"]),
        "trend": frame["movement"].fillna("").map(points["trend"]),
        "classification": frame["carbon_class"].fillna("").map(points["classification"]),
        "data_quality": 100.0
        * frame["months"].fillna(0).astype(float).clip(0, rules["months_per_period"])
        / rules["months_per_period"],
    }
    out = frame.copy()
    total = 0.0
    for c in COMPONENTS:  # four components, vectorised over the rows
        out[f"points_{c}"] = per[c].astype(float).to_numpy()
        out[f"contribution_{c}"] = rules["weights"][c] * out[f"points_{c}"]
        total = total + out[f"contribution_{c}"]
    out["green_credit_score"] = total
    return out
