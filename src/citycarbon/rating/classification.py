"""Low-, zero- and negative-carbon enterprises: classification after green electricity, own
sinks and certified offsets, the evidence behind it, and the publishable list.

The rules (set ``citycarbon-2026`` of ``rating/data/carbon_classification.yaml``):

1. net after removals = net CO2 (after green electricity, :func:`~citycarbon.rating.efficiency.
   net_co2_t`) - the enterprise's own sinks [tCO2];
2. net after offsets = net after removals - certified offsets retired for the period [tCO2];
3. class = the first that applies: 负碳 (negative) when the net after removals < 0; 零碳 (zero)
   when the net after offsets <= 0; 低碳 (low) when the carbon-efficiency level is ``low``;
   else none ('').

Only offsets of an accepted type (``accepted_offsets``: CCER) count. The zero-carbon test follows
the zero-carbon factory definition of 《零碳工厂评价规范》 (read in a secondary source; see the
rule set's ``source_status``); the negative and low tests are this platform's assumptions.

References
----------
[1] 《零碳工厂评价规范》, 中国节能协会 — definition of a zero-carbon factory (not consulted;
    secondary summary only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from citycarbon.errors import InputError, UnknownCodeError

RULES_FILE = Path(__file__).parent / "data" / "carbon_classification.yaml"
DEFAULT_RULES = "citycarbon-2026"
CLASSES = ("negative", "zero", "low")
EVIDENCE_COLUMNS = ["enterprise_code", "kind", "reference", "instrument", "quantity", "unit"]


@dataclass(frozen=True)
class ClassificationRules:
    """One versioned rule set of ``carbon_classification.yaml``."""

    set_id: str
    version: str
    source_status: str
    accepted_offsets: tuple[str, ...]
    decimals: int
    raw: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.set_id}@{self.version}"


@cache
def classification_rules(
    set_id: str = DEFAULT_RULES, path: Path = RULES_FILE
) -> ClassificationRules:
    """The rule set ``set_id`` of the classification rules file, validated."""
    with open(path, encoding="utf-8") as f:
        sets = yaml.safe_load(f)["sets"]
    if set_id not in sets:
        raise UnknownCodeError("carbon classification rule set", set_id, sets)
    raw = sets[set_id]
    if tuple(c["code"] for c in raw["classes"]) != CLASSES:
        raise InputError(
            f"classes must be {', '.join(CLASSES)} in this order (the tests are code)",
            source=str(path),
            field=f"{set_id}.classes",
        )
    return ClassificationRules(
        set_id=set_id,
        version=str(raw["version"]),
        source_status=str(raw.get("source_status", "published")),
        accepted_offsets=tuple(o["code"] for o in raw["accepted_offsets"]),
        decimals=int(raw["decimals"]),
        raw=raw,
    )


def net_after_removals_t(net_co2_t, sinks_t):
    """Rule 1: net CO2 after green electricity less the enterprise's own sinks [tCO2]."""
    return net_co2_t - sinks_t


def net_after_offsets_t(net_after_removals, offsets_t):
    """Rule 2: the net after removals less certified offsets retired for the period [tCO2]."""
    return net_after_removals - offsets_t


def accepted_offsets_t(offsets: pd.DataFrame, rules: ClassificationRules) -> pd.Series:
    """Retired offsets of an accepted type per enterprise [tCO2] (``enterprise_code``,
    ``instrument``, ``tco2``)."""
    ok = offsets[offsets["instrument"].isin(rules.accepted_offsets).to_numpy()]
    return ok.groupby("enterprise_code")["tco2"].sum()


def classify(
    graded: pd.DataFrame,
    sinks_t: pd.Series,
    offsets_t: pd.Series,
    rules: ClassificationRules,
) -> pd.DataFrame:
    """Rule 3 on rows of one period with ``enterprise_code``, ``net_co2_t`` and ``level``
    (carbon-efficiency rows); ``sinks_t`` and ``offsets_t`` by enterprise code (missing: 0).

    Adds ``sinks_t``, ``offsets_t``, ``net_after_removals_t``, ``net_after_offsets_t`` and
    ``carbon_class`` (negative | zero | low | '') and ``rules``.
    """
    codes = graded["enterprise_code"]
    sinks = sinks_t.reindex(codes).fillna(0.0).to_numpy(dtype=float)
    offsets = offsets_t.reindex(codes).fillna(0.0).to_numpy(dtype=float)
    removals = net_after_removals_t(graded["net_co2_t"].to_numpy(dtype=float), sinks)
    after = net_after_offsets_t(removals, offsets)
    r, a = np.round(removals, rules.decimals), np.round(after, rules.decimals)
    cls = np.select([r < 0, a <= 0, graded["level"].to_numpy() == "low"], list(CLASSES), default="")
    return graded.assign(
        sinks_t=sinks,
        offsets_t=offsets,
        net_after_removals_t=removals,
        net_after_offsets_t=after,
        carbon_class=cls,
        rules=rules.label,
    )


def evidence(
    green: pd.DataFrame, offsets: pd.DataFrame, sinks: pd.DataFrame, rules: ClassificationRules
) -> pd.DataFrame:
    """What a classification rests on, one row per instrument: green-electricity certificates
    (``certificate_id``, ``instrument``, ``mwh``), offsets retired (``serial``, ``instrument``,
    ``tco2``; only accepted types) and own sinks (``site``, ``kind``, ``tco2``), each with its
    ``enterprise_code``."""
    ok = offsets[offsets["instrument"].isin(rules.accepted_offsets).to_numpy()]
    parts = [
        pd.DataFrame(
            {
                "enterprise_code": green["enterprise_code"],
                "kind": "green_electricity",
                "reference": green["certificate_id"],
                "instrument": green["instrument"],
                "quantity": green["mwh"],
                "unit": "MWh",
            }
        ),
        pd.DataFrame(
            {
                "enterprise_code": ok["enterprise_code"],
                "kind": "offset",
                "reference": ok["serial"],
                "instrument": ok["instrument"],
                "quantity": ok["tco2"],
                "unit": "tCO2",
            }
        ),
        pd.DataFrame(
            {
                "enterprise_code": sinks["enterprise_code"],
                "kind": "sink",
                "reference": sinks["site"],
                "instrument": sinks["kind"],
                "quantity": sinks["tco2"],
                "unit": "tCO2",
            }
        ),
    ]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=EVIDENCE_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["enterprise_code", "kind", "reference"]).reset_index(drop=True)[
        EVIDENCE_COLUMNS
    ]


def publishable(classified: pd.DataFrame, consenting: Iterable[str]) -> pd.DataFrame:
    """The rows of classified enterprises (a class other than '') that consented to the
    publication of their class, by class (negative, zero, low) then code."""
    keep = (classified["carbon_class"].to_numpy() != "") & classified["enterprise_code"].isin(
        set(consenting)
    ).to_numpy()
    out = classified[keep]
    order = out["carbon_class"].map({c: i for i, c in enumerate(CLASSES)})
    return out.assign(_o=order).sort_values(["_o", "enterprise_code"]).drop(columns="_o")
