"""The pathways data files (package data): baseline assumptions, measure catalogue, default
scenarios, pollutant factors, pollution equivalents and input-output multipliers.

Files in ``citycarbon/pathways/data`` carry unit, source and year per value; this module only
reads and checks them and returns plain tables and :class:`Measure` records. A value made for
the model or not checked against its document has the source (or status) ``assumption``; the
numbers computed from such a value say so (an ``assumption`` flag the pages show as 假设值).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from citycarbon.errors import InputError, UnknownCodeError

DATA_DIR = Path(__file__).parent / "data"
KINDS = ("efficiency", "fuel_switch", "clean_power", "ccus", "sink")
CARRIERS = ("coal", "oil", "gas", "electricity")
#: Source (measures, baseline) or status (factor tables) of a value that is an assumption.
ASSUMPTION = "assumption"
#: The measure parameters a cost depends on (besides the discount rate and carrier prices).
COST_PARAMS = ("investment", "opex", "lifetime", "value_cny_per_mwh")
#: The parameter a scenario's ``scale`` multiplies, per kind.
MAIN_PARAM = {
    "efficiency": "share",
    "fuel_switch": "share",
    "clean_power": "capacity_mw",
    "ccus": "capture_tco2",
    "sink": "removal_tco2",
}


@dataclass(frozen=True)
class Param:
    """One measure parameter: central value and optional triangular range."""

    value: float
    low: float | None = None
    high: float | None = None
    unit: str = ""
    source: str = ""


@dataclass
class Measure:
    """A measure resolved for a scenario (catalogue entry + scenario timing and overrides)."""

    id: str
    kind: str
    sector: str | None
    start_year: int
    full_year: int
    params: dict[str, Param]
    from_carrier: str | None = None
    to_carrier: str | None = None
    zh: str = ""
    en: str = ""
    io_sector: str = "equipment"
    capacity_unit: str = ""
    #: ``physical`` (local generation, both bases) or ``market`` (purchased green power:
    #: market-based figures only, GHG Protocol Scope 2 Guidance ch. 6)
    instrument: str = "physical"
    meta: dict[str, Any] = field(default_factory=dict)

    def p(self, name: str, default: float | None = None) -> Param:
        if name in self.params:
            return self.params[name]
        if default is not None:
            return Param(default)
        raise InputError(f"measure {self.id}: parameter {name!r} missing", field=name)


def _yaml(name: str) -> Any:
    with open(DATA_DIR / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@cache
def baseline_assumptions() -> dict:
    """``baseline.yaml`` as a dict (carriers, sectors, drivers, grid, sinks, targets)."""
    data = _yaml("baseline.yaml")
    for s, spec in data["sectors"].items():
        total = sum(spec["mix"].values())
        if abs(total - 1) > 1e-9:
            raise InputError(
                f"sector {s}: mix shares sum to {total}, not 1", source="baseline.yaml"
            )
    return data


@cache
def _measures_raw() -> dict:
    data = _yaml("measures.yaml")
    ids = [m["id"] for m in data["measures"]]
    if len(ids) != len(set(ids)):
        raise InputError("duplicate measure ids", source="measures.yaml", value=ids)
    for m in data["measures"]:
        if m["kind"] not in KINDS:
            raise UnknownCodeError("measure kind", m["kind"], KINDS, source="measures.yaml")
        for name, spec in m["params"].items():
            for key in ("value", "unit", "source", "year"):
                if key not in spec:
                    raise InputError(
                        f"measure {m['id']} parameter {name}: {key} missing",
                        source="measures.yaml",
                        field=key,
                    )
    return data


def discount_rate() -> float:
    return float(_measures_raw()["discount_rate"]["value"])


def cost_is_assumption(m: Measure) -> bool:
    """Whether a measure's cost rests on an assumption: one of its :data:`COST_PARAMS` or the
    discount rate has the source ``assumption``."""
    own = any(m.params[k].source == ASSUMPTION for k in COST_PARAMS if k in m.params)
    return own or _measures_raw()["discount_rate"]["source"] == ASSUMPTION


def prices_are_assumption() -> bool:
    """Whether any carrier price of the baseline assumptions (the energy bill) is an
    assumption."""
    carriers = baseline_assumptions()["carriers"].values()
    return any(c["price"]["source"] == ASSUMPTION for c in carriers)


def measure_catalogue() -> pd.DataFrame:
    """One row per measure parameter: ``id, kind, sector, zh, en, start_year, full_year, param,
    value, low, high, unit, source, year, note``."""
    rows = []
    for m in _measures_raw()["measures"]:
        for name, spec in m["params"].items():
            rows.append(
                {
                    "id": m["id"],
                    "kind": m["kind"],
                    "sector": m.get("sector"),
                    "zh": m["zh"],
                    "en": m["en"],
                    "start_year": m["start_year"],
                    "full_year": m["full_year"],
                    "param": name,
                    "value": spec["value"],
                    "low": spec.get("low"),
                    "high": spec.get("high"),
                    "unit": spec["unit"],
                    "source": spec["source"],
                    "year": spec["year"],
                    "note": spec.get("note", ""),
                }
            )
    return pd.DataFrame(rows)


def resolve_measures(specs: list[dict]) -> list[Measure]:
    """Measures of a scenario: catalogue entries with the scenario's timing, scale and overrides.

    Each spec: ``{id, start_year?, full_year?, scale?, params?: {name: value}}``.
    """
    catalogue = {m["id"]: m for m in _measures_raw()["measures"]}
    out = []
    for n, spec in enumerate(specs):
        mid = spec.get("id")
        if mid not in catalogue:
            raise UnknownCodeError("measure", mid, catalogue, row=n, field="id")
        m = copy.deepcopy(catalogue[mid])
        params = {
            k: Param(
                float(v["value"]),
                None if v.get("low") is None else float(v["low"]),
                None if v.get("high") is None else float(v["high"]),
                v["unit"],
                v["source"],
            )
            for k, v in m["params"].items()
        }
        for k, v in (spec.get("params") or {}).items():
            if k not in params:
                raise UnknownCodeError(f"parameter of {mid}", k, params, row=n, field="params")
            params[k] = Param(float(v), None, None, params[k].unit, "scenario override")
        scale = float(spec.get("scale", 1.0))
        if scale != 1.0:
            key = MAIN_PARAM[m["kind"]]
            if key not in params and m["kind"] == "clean_power":
                key = "energy_mwh"
            if key not in params and m["kind"] == "sink":
                key = "growth"
            p = params[key]
            params[key] = Param(
                p.value * scale,
                None if p.low is None else p.low * scale,
                None if p.high is None else p.high * scale,
                p.unit,
                p.source,
            )
        start = int(spec.get("start_year", m["start_year"]))
        full = int(spec.get("full_year", m["full_year"]))
        if full < start:
            raise InputError(
                f"measure {mid}: full_year {full} before start_year {start}", row=n, value=full
            )
        out.append(
            Measure(
                id=mid,
                kind=m["kind"],
                sector=m.get("sector"),
                start_year=start,
                full_year=full,
                params=params,
                from_carrier=m.get("from"),
                to_carrier=m.get("to"),
                zh=m["zh"],
                en=m["en"],
                io_sector=m.get("io_sector", "equipment"),
                capacity_unit=m.get("capacity_unit", ""),
                instrument=m.get("instrument", "physical"),
                meta={"scale": scale},
            )
        )
    return out


@cache
def default_scenarios() -> list[dict]:
    """The default scenarios of ``scenarios.yaml`` (name, zh, description, measures)."""
    data = _yaml("scenarios.yaml")
    for s in data:
        resolve_measures(s["measures"])  # fail early on a bad default
    return data


@cache
def grid_ef_trajectories() -> dict:
    """``grid_ef_trajectories.yaml``: name -> trajectory (zh, en, unit, source, year, note,
    points year -> tCO2/MWh)."""
    data = _yaml("grid_ef_trajectories.yaml")["trajectories"]
    for name, t in data.items():
        for key in ("unit", "source", "year", "points"):
            if key not in t:
                raise InputError(
                    f"grid trajectory {name}: {key} missing",
                    source="grid_ef_trajectories.yaml",
                    field=key,
                )
    return data


def grid_ef_trajectory(name: str) -> dict:
    """One declared grid factor trajectory (see :func:`grid_ef_trajectories`)."""
    known = grid_ef_trajectories()
    if name not in known:
        raise UnknownCodeError("grid factor trajectory", name, known, field="grid_ef_trajectory")
    return known[name]


@cache
def pollutant_factors() -> pd.DataFrame:
    """``pollutant_factors.csv``: sector, carrier, pollutant, value, unit, source, year, status."""
    return pd.read_csv(DATA_DIR / "pollutant_factors.csv", dtype={"year": "Int64"})


@cache
def pollution_equivalents() -> pd.DataFrame:
    """``pollution_equivalents.csv``: pollutant, pollution_equivalent_kg, source, year."""
    return pd.read_csv(DATA_DIR / "pollution_equivalents.csv")


@cache
def io_multipliers() -> pd.DataFrame:
    """``io_multipliers.csv``: io_sector, va_multiplier, jobs_per_10k_cny, source (estimates)."""
    return pd.read_csv(DATA_DIR / "io_multipliers.csv")
