"""Scoped reads of the 电碳监测 (power-carbon) page and its API: nowcast vintages, backtests, meter
quality, load anomalies, 电-碳-能 indicators and hourly scope 2 — selections of computed results
only (no formulas: the vintages with their errors and the backtest summary are computed on
request by :func:`citycarbon.runs.power.nowcast_history` and
:func:`citycarbon.runs.power.backtest_table`, which the faces call).

Scope (rules of :mod:`citycarbon.read.access`): city-wide roles read every level (city-wide,
city = the 205-1 reporters' sum, district, industry, enterprise) and the city-wide backtest
against the inventory; a district manager the rows of their district and of their district's
enterprises; park managers and enterprise users the rows of the enterprises they see.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from citycarbon.read import access
from citycarbon.read import pages as pq
from citycarbon.read.access import Principal
from citycarbon.store import catalog

LEVELS = ("city_wide", "city", "district", "park", "industry", "enterprise")
HINT = "citycarbon demo (or citycarbon power nowcast)"
#: The inventory rows the city-wide nowcast is compared with (its CO2 basis).
CITY_WIDE_BASIS = "incl_net_imported_electricity"


def _visible(principal: Principal, level: pd.Series, entity: pd.Series) -> np.ndarray:
    """Mask of (level, entity) rows the principal may see."""
    if principal.city_wide:
        return np.ones(len(level), dtype=bool)
    lv, code = level.astype(str).to_numpy(), entity.astype(str).to_numpy()
    districts = frozenset()
    if principal.role == "district_manager":
        districts = access.visible_district_codes(principal) or frozenset()
    parks = frozenset()
    if principal.role in ("district_manager", "park_manager"):
        parks = access.visible_park_codes(principal) or frozenset()
    ents = access.visible_enterprise_codes(principal) or frozenset()
    return (
        ((lv == "district") & np.isin(code, list(districts)))
        | ((lv == "park") & np.isin(code, list(parks)))
        | ((lv == "enterprise") & np.isin(code, list(ents)))
    )


def _by_enterprise(principal: Principal, frame: pd.DataFrame | None, col: str) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame()
    visible = access.visible_enterprise_codes(principal)
    if visible is None:
        return frame
    return frame[frame[col].isin(visible).to_numpy()].reset_index(drop=True)


def levels(principal: Principal) -> list[str]:
    """Levels the principal may select."""
    if principal.city_wide:
        return list(LEVELS)
    return {
        "district_manager": ["district", "park", "enterprise"],
        "park_manager": ["park", "enterprise"],
    }.get(principal.role, ["enterprise"])


def nowcast(principal: Principal, frequency: str = "month") -> pd.DataFrame:
    """The newest nowcast vintage (rows of one frequency) the principal may see."""
    access.require(principal, "read")
    f = pq.result("nowcast")
    if f is None:
        return pd.DataFrame()
    f = f[f["frequency"] == frequency]
    return f[_visible(principal, f["level"], f["entity"])].reset_index(drop=True)


def entities(principal: Principal, level: str) -> list[str]:
    """Entities of a level in the newest vintage the principal may see."""
    f = nowcast(principal)
    return sorted(f.loc[f["level"] == level, "entity"].unique()) if len(f) else []


def statistics(principal: Principal, level: str, entity: str) -> pd.DataFrame:
    """Monthly CO2 of one level/entity from the statistics (the 205-1 fuel returns' latest run;
    for ``city_wide`` the city inventory's months): period, actual_tco2. Empty when out of
    scope."""
    res = access.results()
    if res is None or not _visible(principal, pd.Series([level]), pd.Series([entity]))[0]:
        return pd.DataFrame(columns=["period", "actual_tco2"])
    if level == "city_wide":
        return _inventory_months(entity)
    m = res.monthly
    if level != "city":
        col = {"district": "district_code", "park": "park_code", "industry": "industry_code"}.get(
            level
        )
        if col:
            reg = access.registry().enterprises[col]
            m = m[reg.reindex(m["enterprise_code"]).to_numpy() == entity]
        else:
            m = m[m["enterprise_code"] == entity]
    g = m.groupby(["year", "month"], as_index=False)["co2_t"].sum()
    g["period"] = pd.to_datetime(dict(year=g["year"], month=g["month"], day=1))
    return g[["period", "co2_t"]].rename(columns={"co2_t": "actual_tco2"})


def _inventory_months(region_code: str) -> pd.DataFrame:
    """The city inventory's monthly CO2 (basis incl. net imported electricity): the covered
    enterprises' own months plus the rest spread by days (the inventory's rule)."""
    inv = pq.result("city_inventory")
    if inv is None:
        return pd.DataFrame(columns=["period", "actual_tco2"])
    m = inv[
        (inv["region_code"] == region_code)
        & (inv["level"] == "city")
        & inv["month"].notna()
        & (inv["basis"] == CITY_WIDE_BASIS)
        & (inv["gas"] == "CO2")
    ]
    g = m.groupby(["year", "month"], as_index=False)["emissions_t"].sum()
    g["period"] = pd.to_datetime(dict(year=g["year"], month=g["month"], day=1))
    return g[["period", "emissions_t"]].rename(columns={"emissions_t": "actual_tco2"})


def city_backtest(principal: Principal) -> pd.DataFrame:
    """The city-wide nowcast of each inventory year against the inventory (result
    ``nowcast_city_backtest``): city-wide roles only."""
    access.require(principal, "read")
    f = pq.result("nowcast_city_backtest")
    if f is None or not principal.city_wide:
        return pd.DataFrame()
    return f.drop(columns=["factor_profile", "source_batches"], errors="ignore").reset_index(
        drop=True
    )


def visible(principal: Principal, level: str, entity: str) -> bool:
    """Whether the principal may see one level/entity."""
    access.require(principal, "read")
    return bool(_visible(principal, pd.Series([level]), pd.Series([entity]))[0])


def backtest_rows(principal: Principal) -> pd.DataFrame:
    """The stored backtest rows (result ``nowcast_backtest``) the principal may see; their
    summary is computed by :func:`citycarbon.runs.power.backtest_table`."""
    access.require(principal, "read")
    e = pq.result("nowcast_backtest")
    if e is None:
        return pd.DataFrame()
    return e[_visible(principal, e["level"], e["entity"])].reset_index(drop=True)


def meter_quality(principal: Principal) -> pd.DataFrame:
    """The meter-quality report (gaps, fills) of the meters of visible enterprises."""
    access.require(principal, "read")
    f = pq.result("meter_quality")
    if f is None or f.empty:
        return pd.DataFrame()
    meters = catalog.registry_frame("meters").set_index("meter_id")["enterprise_code"]
    f = f.assign(enterprise_code=meters.reindex(f["meter_id"]).to_numpy())
    return _by_enterprise(principal, f, "enterprise_code")


def anomalies(principal: Principal) -> pd.DataFrame:
    """Daily load anomalies of visible enterprises, newest first."""
    access.require(principal, "read")
    f = _by_enterprise(principal, pq.result("load_anomalies"), "enterprise_code")
    return f.sort_values("day", ascending=False).reset_index(drop=True) if len(f) else f


#: GB/T 4754-2017 industries whose CO2 per kWh *consumed* means nothing: 电力、热力生产和供应业
#: (section D, division 44) emit to generate the electricity others consume, so the ratio of
#: their emissions to their own use (and its rank) is not shown for them.
KWH_INTENSITY_NOT_APPLICABLE = ("D44",)


def kwh_intensity_applies(industry_codes: pd.Series) -> np.ndarray:
    """Whether kgCO2/kWh (emissions per electricity consumed) applies to each industry code."""
    codes = pd.Series(industry_codes, dtype="string").fillna("")
    return ~codes.str.startswith(KWH_INTENSITY_NOT_APPLICABLE).to_numpy(dtype=bool)


def anomaly_episodes(principal: Principal) -> pd.DataFrame:
    """The daily load anomalies of visible enterprises grouped into episodes: consecutive days
    of one enterprise in one direction are one row (first and last day, days, largest |z|,
    mean kWh and trailing median over the days), newest first."""
    a = anomalies(principal)
    cols = ["enterprise_code", "direction", "first_day", "last_day", "days", "z_max"]
    cols += ["kwh", "trailing_median_kwh"]
    if a.empty:
        return pd.DataFrame(columns=cols)
    a = a.sort_values(["enterprise_code", "direction", "day"])
    same = (a["enterprise_code"] == a["enterprise_code"].shift()) & (
        a["direction"] == a["direction"].shift()
    )
    new = ~same | (a["day"] - a["day"].shift() > pd.Timedelta(days=1))
    g = a.assign(episode=new.cumsum(), absz=a["z"].abs()).groupby("episode")
    out = g.agg(
        enterprise_code=("enterprise_code", "first"),
        direction=("direction", "first"),
        first_day=("day", "min"),
        last_day=("day", "max"),
        days=("day", "size"),
        z_max=("absz", "max"),
        kwh=("kwh", "mean"),
        trailing_median_kwh=("trailing_median_kwh", "mean"),
    )
    return out.sort_values("last_day", ascending=False)[cols].reset_index(drop=True)


def indicators(principal: Principal, level: str = "enterprise") -> pd.DataFrame:
    """电-碳-能 indicators per enterprise (visible ones) or industry (city-wide roles), with
    ``kwh_intensity_applies`` (False for power and heat producers, see
    :data:`KWH_INTENSITY_NOT_APPLICABLE`)."""
    access.require(principal, "read")
    f = pq.result("power_indicators")
    if f is None:
        return pd.DataFrame()
    f = f[f["level"] == level]
    f = f.assign(kwh_intensity_applies=kwh_intensity_applies(f["industry_code"]))
    if level == "industry":
        return f.reset_index(drop=True) if principal.city_wide else f.head(0)
    return _by_enterprise(principal, f, "enterprise_code")


def scope2(principal: Principal) -> pd.DataFrame:
    """Hourly nodal vs annual-factor scope 2 of visible enterprises, largest |difference| first,
    with ``synthetic`` True where the flow ran on the synthetic demo grid (whose tables name
    their grid ``synthetic ...``, :mod:`citycarbon.power.demo_grid`)."""
    access.require(principal, "read")
    f = _by_enterprise(principal, pq.result("hourly_scope2"), "enterprise_code")
    if f.empty:
        return f
    names = access.registry().enterprises["name"]
    f = f.assign(
        name=names.reindex(f["enterprise_code"]).to_numpy(),
        synthetic=f["grid"].astype("string").str.startswith("synthetic").fillna(False),
    )
    order = f["difference_co2_t"].abs().sort_values(ascending=False).index
    return f.loc[order].reset_index(drop=True)


def latest_path(name: str) -> Path | None:
    return pq._latest_path(name)
