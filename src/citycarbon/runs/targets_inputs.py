"""Actual values for carbon dual control and reports, read from the newest results in the lake.

Preferred source: the city inventory results (``city_inventory``, ``city_indicators``) of
:mod:`citycarbon.runs.inventory`. Until they exist in a lake, a fallback derives totals from
``enterprise_month_fuel_emissions`` (the covered enterprises only: scope 1 + scope 2 CO2) and
GDP at comparable prices from ``city_statistics``; every table says which source it used
(``source`` column and :attr:`Actuals.provenance`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from citycarbon import units
from citycarbon.config import CityConfig, as_city
from citycarbon.config.settings import get_settings
from citycarbon.contract.results import result as declared
from citycarbon.store import catalog, results
from citycarbon.store import lake as lk

FUEL_RESULT = "enterprise_month_fuel_emissions"
INTENSITY = "intensity_tco2e_per_10k_cny"
ENERGY_INTENSITY = "energy_intensity_tce_per_10k_cny"
TOTAL = "total_ghg_tco2e"


def latest_result(name: str, lake: str | Path | None = None) -> tuple[pd.DataFrame, str] | None:
    """The current rows of a result table and the run id(s) they come from ("r1+r2" where
    years come from different runs), or None when nothing was computed yet."""

    decl = declared(name)
    if not results.has(decl, lake=lake):
        return None
    return results.current(decl, lake=lake), "+".join(results.current_runs(decl, lake=lake))


@dataclass
class Actuals:
    """Observations ``level, entity_code, entity_name, indicator, year, months, value`` and the
    monthly emissions of enterprises (``entity_code, year, month, value``)."""

    observations: pd.DataFrame
    enterprise_monthly: pd.DataFrame
    source: str  # 'city_inventory' or 'enterprise_fallback'
    provenance: dict[str, Any] = field(default_factory=dict)


def _gdp(lake: Path | None) -> pd.DataFrame:
    """GDP at comparable prices [10^4 CNY] by region and year from ``city_statistics``."""

    stats = lk.read_current("city_statistics")
    g = stats[(stats["indicator"] == "gdp") & stats["price_basis"].str.startswith("comparable")]
    g = (
        g.assign(
            gdp_10k_cny=[
                units.convert(v, u, "10^4 CNY") for v, u in zip(g["value"], g["unit"], strict=True)
            ]
        )
        if len(g)
        else g.assign(gdp_10k_cny=[])
    )
    return g[["region_code", "year", "gdp_10k_cny"]].astype({"year": "int64"})


def _with_intensity(obs: pd.DataFrame, gdp: pd.DataFrame) -> pd.DataFrame:
    """Add intensity observations (complete years of city/district totals over GDP)."""
    tot = obs[(obs["indicator"] == TOTAL) & obs["level"].isin(["city", "district"])]
    tot = tot[tot["months"] >= 12].merge(
        gdp, left_on=["entity_code", "year"], right_on=["region_code", "year"]
    )
    inten = tot.assign(indicator=INTENSITY, value=tot["value"] / tot["gdp_10k_cny"])
    return pd.concat([obs, inten[obs.columns]], ignore_index=True)


def _fallback(lake: Path, url: str | None, cfg: CityConfig) -> Actuals:

    got = latest_result(FUEL_RESULT, lake)
    if got is None:  # nothing computed yet: typed empty tables (progress of no observation)
        text, ints = pd.Series(dtype=object), pd.Series(dtype="int64")
        empty = pd.DataFrame(
            {
                "level": text,
                "entity_code": text,
                "entity_name": text,
                "indicator": text,
                "year": ints,
                "months": ints,
                "value": pd.Series(dtype="float64"),
            }
        )
        monthly = pd.DataFrame(
            {"entity_code": text, "year": ints, "month": ints, "value": pd.Series(dtype="float64")}
        )
        return Actuals(empty, monthly, "none", {})
    fuel, run_id = got
    ents = catalog.registry_frame("enterprises", url=url)
    regions = catalog.registry_frame("regions", url=url).set_index("code")["name_zh"]
    parks = catalog.registry_frame("parks", url=url).set_index("code")["name_zh"]
    f = fuel.groupby(["enterprise_code", "year", "month"], as_index=False)[
        ["co2_t", "energy_tce"]
    ].sum()
    f = f.merge(
        ents[["credit_code", "name", "industry_code", "district_code", "park_code", "is_key"]],
        left_on="enterprise_code",
        right_on="credit_code",
        how="left",
    )
    ind = f["industry_code"].fillna("").str.replace(r"^[A-Z]", "", regex=True).str[:2]
    f["industry"] = ind
    months = f.groupby("year")["month"].nunique()
    parts = []
    for level, code, name in (
        ("city", pd.Series(cfg.adcode, index=f.index), pd.Series(cfg.name.zh, index=f.index)),
        ("district", f["district_code"], f["district_code"].map(regions)),
        ("park", f["park_code"], f["park_code"].map(parks)),
        ("industry", f["industry"], "GB/T 4754 " + f["industry"]),
        ("enterprise", f["enterprise_code"], f["name"]),
    ):
        g = pd.DataFrame(
            {
                "level": level,
                "entity_code": code,
                "entity_name": name,
                "year": f["year"],
                "month": f["month"],
                "co2_t": f["co2_t"],
            }
        )
        g = g[g["entity_code"].notna() & (g["entity_code"] != "")]
        y = g.groupby(["level", "entity_code", "year"], as_index=False).agg(
            entity_name=("entity_name", "first"),
            value=("co2_t", "sum"),
            months=("month", "nunique"),
        )
        if level != "enterprise":  # an aggregate covers the months the whole city has data for
            y["months"] = y["year"].map(months)
        parts.append(y.assign(indicator=TOTAL))
    obs = pd.concat(parts, ignore_index=True)
    gdp = _gdp(lake)
    obs = _with_intensity(obs, gdp)
    monthly = f.assign(value=f["co2_t"], is_key=f["is_key"].fillna(False).astype(bool))[
        ["enterprise_code", "name", "is_key", "year", "month", "value"]
    ].rename(columns={"enterprise_code": "entity_code", "name": "entity_name"})
    prov = {
        FUEL_RESULT: {
            "run_id": run_id,
            "factor_profile": str(fuel["factor_profile"].iloc[0]) if len(fuel) else "",
            "method": str(fuel["method"].iloc[0]) if "method" in fuel and len(fuel) else "",
        },
        "city_statistics": {"note": "GDP at comparable prices (current rows of the lake)"},
        "scope": "fallback: covered enterprises only (scope 1 + scope 2 CO2), not the full "
        "city inventory",
    }
    return Actuals(
        obs[["level", "entity_code", "entity_name", "indicator", "year", "months", "value"]],
        monthly,
        "enterprise_fallback",
        prov,
    )


def _from_inventory(
    lake: Path, url: str | None, inv: pd.DataFrame, inv_run: str, basis: str, cfg: CityConfig
) -> Actuals:
    fallback = _fallback(lake, url, cfg)
    if "basis" in inv and (inv["basis"] == basis).any():
        inv = inv[inv["basis"] == basis]
    value = "emissions_tco2e"
    yearly = inv[inv["month"].isna()]
    monthly = inv[inv["month"].notna()]
    y = yearly.groupby(["level", "entity_code", "year"], as_index=False).agg(
        entity_name=("entity_name", "first"), value=(value, "sum")
    )
    y["months"] = 12
    m = monthly.groupby(["level", "entity_code", "year"], as_index=False).agg(
        entity_name=("entity_name", "first"), value=(value, "sum"), months=("month", "nunique")
    )
    m = m[m["months"] < 12]  # partial years: the sum of their months
    m = m.merge(y[["level", "entity_code", "year"]], how="left", indicator=True)
    m = m[m["_merge"] == "left_only"].drop(columns="_merge")
    obs = pd.concat([y, m], ignore_index=True).assign(indicator=TOTAL)
    # industry classes (C3974) also add up to their GB/T 4754 division (39), the level of targets
    ind_rows = obs[obs["level"] == "industry"]
    division = ind_rows["entity_code"].astype(str).str.replace(r"^[A-Z]", "", regex=True).str[:2]
    ind_rows = ind_rows.assign(entity_code=division, entity_name="GB/T 4754 " + division)
    ind_rows = ind_rows[
        division.str.fullmatch(r"\d{2}")
        & ~ind_rows["entity_code"].isin(obs.loc[obs["level"] == "industry", "entity_code"])
    ]
    divisions = ind_rows.groupby(["level", "entity_code", "year"], as_index=False).agg(
        entity_name=("entity_name", "first"),
        value=("value", "sum"),
        months=("months", "min"),
        indicator=("indicator", "first"),
    )
    obs = pd.concat([obs, divisions], ignore_index=True)
    obs = obs.astype({"year": "int64", "months": "int64"})
    ind = latest_result("city_indicators", lake)
    prov = {
        "city_inventory": {
            "run_id": inv_run,
            "factor_profile": str(inv["factor_profile"].iloc[0]) if len(inv) else "",
            "method": str(inv["method"].iloc[0]) if len(inv) else "",
            "basis": basis,
        }
    }
    gdp = _gdp(lake)
    obs = _with_intensity(obs, gdp)
    if ind is not None:
        frame, run = ind
        yr = frame[
            (frame["period_type"] == "year")
            & frame["indicator"].isin([INTENSITY, ENERGY_INTENSITY])
        ]
        city = obs[obs["level"] == "city"]
        code = city["entity_code"].iloc[0] if len(city) else str(frame["region_code"].iloc[0])
        name = city["entity_name"].iloc[0] if len(city) else ""
        city_ind = pd.DataFrame(
            {
                "level": "city",
                "entity_code": yr["region_code"].astype(str),
                "entity_name": name,
                "indicator": yr["indicator"],
                "year": yr["year"].astype("int64"),
                "months": 12,
                "value": yr["value"].astype("float64"),
            }
        )
        city_ind = city_ind[city_ind["entity_code"] == code]
        drop = (obs["level"] == "city") & obs["indicator"].isin(city_ind["indicator"].unique())
        obs = pd.concat([obs[~drop], city_ind], ignore_index=True)
        prov["city_indicators"] = {
            "run_id": run,
            "factor_profile": str(frame["factor_profile"].iloc[0]) if len(frame) else "",
        }
    prov.update({k: v for k, v in fallback.provenance.items() if k == FUEL_RESULT})
    cols = ["level", "entity_code", "entity_name", "indicator", "year", "months", "value"]
    return Actuals(obs[cols], fallback.enterprise_monthly, "city_inventory", prov)


def load_actuals(
    *, basis: str = "incl_net_imported_electricity", settings: Any = None, cfg: Any = None
) -> Actuals:
    """Actual totals and intensities of the city, districts, parks, industries and enterprises.

    Parameters
    ----------
    basis : str
        Inventory basis used for totals when the inventory results exist (``territorial`` or
        ``incl_net_imported_electricity``, the form the 双控 assessment counts electricity in).
    cfg : CityConfig, str or Path, optional
        The city (default ``$CITYCARBON_CITY``): its code and name label the city rows.
    """
    settings = settings or get_settings()
    cfg = as_city(cfg)
    lake, url = Path(settings.lake), settings.database_url
    inv = latest_result("city_inventory", lake)
    if inv is not None and len(inv[0]):
        return _from_inventory(lake, url, inv[0], inv[1], basis, cfg)
    return _fallback(lake, url, cfg)


def months_label(year: int, months: int) -> str:
    """``2024`` for a complete year, ``2024-01..06`` for part of one."""
    return str(year) if months >= 12 else f"{year}-01..{months:02d}"
