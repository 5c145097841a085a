"""Runs of the electricity-to-carbon nowcast and the 电-碳-能 indicators over the lake and catalog.

This is the only module of the feature that reads the lake, the catalog and the city config; the
methods are in :mod:`citycarbon.power.nowcast`, :mod:`citycarbon.power.indicators` and
:mod:`citycarbon.power.meters`.

Data flow::

    current_meter_readings ──DuckDB: per meter and local day (sum, count)──► meter-days
        └─ incomplete meter-days only: readings fetched, declared gap rule applied (meters.py)
    meter-days ─► enterprise-days ─► level-days (city, district, park, industry, key enterprise)
    enterprise_month_fuel_emissions (named query, recomputed) + 205-1 electricity ─► statistics
    statistics + metered months ─► monthly panel ─► calibrate, nowcast, backtest
    reporters' months + city inventory (result) + city electricity ─► city-wide nowcast
    results: <lake>/results/nowcast/run_id=<id>/part.parquet         (one vintage per run)
             <lake>/results/nowcast_backtest/run_id=<id>/part.parquet
             <lake>/results/nowcast_city_backtest/run_id=<id>/part.parquet
             <lake>/results/meter_quality/run_id=<id>/part.parquet
             <lake>/results/power_indicators/run_id=<id>/part.parquet
             <lake>/results/load_anomalies/run_id=<id>/part.parquet

Vintages are never overwritten: every run writes a new ``run_id`` with its ``as_of`` date and the
last statistics month it was calibrated on (``calibrated_through``); :func:`nowcast_history`
shows how the estimate of a period moved from vintage to vintage and, once they are in, how far
it was from the statistics.

Configuration (city YAML, section ``power``; defaults below when absent)::

    power:
      meters: {interval: 1h, max_fill_intervals: 0}
      nowcast: {model: auto, confidence: 0.9, window_months: 12, horizon: 1}
      anomalies: {threshold: 3.5, window_weeks: 8, min_weeks: 4, min_change: 0.2}
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from citycarbon import units
from citycarbon.accounting.combustion import fuel_combustion_emissions
from citycarbon.accounting.energy import energy_consumption_tce
from citycarbon.accounting.inventory import enterprise_sectors
from citycarbon.config import CityConfig, PowerSection, as_city
from citycarbon.config.settings import get_settings
from citycarbon.contract.results import CITY_INVENTORY, ENTERPRISE_MONTH_FUEL
from citycarbon.contract.results import NOWCAST as NOWCAST_R
from citycarbon.contract.results import result as declared
from citycarbon.errors import InputError
from citycarbon.power import indicators as ind
from citycarbon.power import meters as mt
from citycarbon.power import nowcast as nc
from citycarbon.records import message_record, parse_record
from citycarbon.store import catalog, lake, query, results

LEVEL_COLUMN = {
    "district": "district_code",
    "park": "park_code",
    "industry": "industry_code",
    "enterprise": "enterprise_code",
}
NOWCAST = NOWCAST_R.name
#: Forecast origins whose errors calibrate a vintage's intervals (two years: recent errors, and
#: a bounded backtest per vintage).
CALIBRATION_ORIGINS = 24
log = logging.getLogger("citycarbon.power")


def power_config(city: CityConfig) -> PowerSection:
    """The ``power`` section of a city config (typed; its defaults where the YAML is silent)."""
    return city.power


# ------------------------------------------------------------------------------ lake reads
@dataclass
class PowerData:
    """Everything the nowcast needs, read once."""

    city: object
    config: PowerSection
    enterprises: pd.DataFrame
    meters: pd.DataFrame
    stats: pd.DataFrame  # enterprise_code, period, co2_t, electricity_co2_t, energy_tce, kwh
    grid_ef: pd.Series  # tCO2/kWh by year
    meter_days: pd.DataFrame  # meter_id, day, kwh, readings, expected, filled_kwh, complete
    quality: pd.DataFrame = field(default_factory=pd.DataFrame)
    factor_profile: str = ""


def _open(settings, city):

    eng = query.open_engine("duckdb")
    eng.con.execute("SET enable_progress_bar = false")
    query.register_city(eng, settings=settings, city=city)
    return eng


def read_power_data(*, settings=None, city=None, engine=None) -> PowerData:
    """Statistics, grid factors and per-meter daily electricity from the lake and catalog."""

    settings = settings or get_settings()
    city = as_city(city)
    cfg = power_config(city)
    url = settings.database_url
    eng = engine or _open(settings, city)
    try:
        if "current_energy_monthly" not in eng.views():
            raise InputError(
                "no energy statistics in the lake: ingest energy_monthly first",
                field="energy_monthly",
            )
        if "current_meter_readings" not in eng.views():
            raise InputError(
                "no meter readings in the lake: ingest meter_readings first", field="meter_readings"
            )
        fuel = results.current(  # one computation of enterprise emissions: the pipeline's
            ENTERPRISE_MONTH_FUEL, lake=settings.lake, hint="citycarbon pipeline run"
        )
        elec = eng.sql(
            "SELECT enterprise_code, year, month, unit, SUM(consumed_total) AS q "
            "FROM current_energy_monthly WHERE fuel = 'electricity' "
            "GROUP BY enterprise_code, year, month, unit"
        )
        elec["kwh"] = elec["q"] * elec["unit"].map(lambda u: units.factor(u, "kWh"))
        elec = elec.groupby(["enterprise_code", "year", "month"], as_index=False)["kwh"].sum()
        stats = fuel[
            ["enterprise_code", "year", "month", "co2_t", "electricity_co2_t", "energy_tce"]
        ].merge(elec, on=["enterprise_code", "year", "month"], how="left")
        stats["kwh"] = stats["kwh"].fillna(0.0)
        stats["period"] = pd.to_datetime(dict(year=stats["year"], month=stats["month"], day=1))
        ef = eng.sql(
            "SELECT f.year, f.value_base FROM factor_values f JOIN factor_choice c "
            "ON f.key = c.grid_region WHERE f.parameter = 'grid_ef' AND f.context = ''"
        )
        grid_ef = pd.Series(
            ef["value_base"].to_numpy() * units.factor("kWh", "GJ"),
            index=ef["year"].astype(int).to_numpy(),
            name="grid_ef_tco2_per_kwh",
        )
        profile = str(eng.sql("SELECT profile_version FROM factor_choice").iat[0, 0])
        meter_days, quality = daily_meter_energy(
            eng,
            city.timezone,
            interval=cfg.meters.interval,
            max_fill_intervals=cfg.meters.max_fill_intervals,
        )
    finally:
        if engine is None:
            eng.close()
    ents = catalog.registry_frame("enterprises", url=url)
    meters = catalog.registry_frame("meters", url=url)
    return PowerData(
        city=city,
        config=cfg,
        enterprises=ents,
        meters=meters,
        stats=stats,
        grid_ef=grid_ef.sort_index(),
        meter_days=meter_days,
        quality=quality,
        factor_profile=profile,
    )


def daily_meter_energy(
    engine,
    timezone: str,
    *,
    view: str = "current_meter_readings",
    interval: str = "1h",
    max_fill_intervals: int = 0,
    where: str = "",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Electricity per meter and local calendar day, with the declared gap rule applied.

    DuckDB sums the readings per meter and local day (one hash aggregation over all readings,
    no sort). Only meter-days with another number of readings than the day has intervals, or
    with readings off the interval grid, are looked at reading by reading (negative readings
    never reach the lake: ingest enforces kwh >= 0 and quarantines them):
    :func:`citycarbon.power.meters.fill_gaps` fills runs of at most ``max_fill_intervals``
    missing readings, the rest stays missing.

    Returns
    -------
    (days, report)
        ``days``: ``meter_id, day, kwh, readings, expected, filled_kwh, complete`` (unordered);
        ``report``: :func:`citycarbon.power.meters.meter_quality_report` rows of the meters with
        incomplete days (gaps are only looked for between a meter's first and last reading).
    """
    step_us = int(pd.Timedelta(interval).total_seconds() * 1e6)
    # (year(ts) on a TIMESTAMPTZ goes through ICU on every row: take the extremes instead)
    span = engine.sql(f"SELECT MIN(ts) AS t0, MAX(ts) AS t1 FROM {view} {where}")
    if span.empty or pd.isna(span.iat[0, 0]):
        raise InputError("no meter readings", field=view)
    y0, y1 = pd.Timestamp(span.iat[0, 0]).year, pd.Timestamp(span.iat[0, 1]).year
    offset = _offset_sql("epoch_us(ts)", timezone, y0 - 1, y1 + 1)
    # integer arithmetic on epoch microseconds: 3x faster than timezone() on every row
    days = engine.sql(
        f"SELECT meter_id, CAST((epoch_us(ts) + {offset}) // 86400000000 AS BIGINT) AS day, "
        f"SUM(kwh) AS kwh, COUNT(*) AS readings, "
        # off the interval grid when any reading's remainder is not 0 (a MAX, not a CASE per row)
        f"MAX(ABS(epoch_us(ts) % {step_us})) AS misaligned "
        f"FROM {view} {where} GROUP BY 1, 2"
    )
    day_no = days["day"].to_numpy().astype("int64")
    day_codes, day_uniq = pd.factorize(day_no)
    uniq = pd.to_datetime(day_uniq, unit="D")
    days["day"] = uniq[day_codes]
    days["expected"] = mt.expected_intervals_per_day(uniq, timezone, interval)[day_codes]
    # first/last day and day count per meter on integer codes (no string group-by)
    m_codes = pd.factorize(days["meter_id"])[0]
    by_meter = pd.Series(day_no).groupby(m_codes)
    first, last = by_meter.transform("min").to_numpy(), by_meter.transform("max").to_numpy()
    size = by_meter.transform("size").to_numpy()
    edge = (day_no == first) | (day_no == last)
    bad = ((days["readings"].to_numpy() != days["expected"].to_numpy()) & ~edge) | (
        days["misaligned"].to_numpy() > 0
    )
    holes = last - first + 1 > size  # whole days without a row between first and last
    days["filled_kwh"] = 0.0
    report = mt.meter_quality_report(pd.DataFrame(columns=["meter_id", "ts", "kwh"]))
    if bad.any() or holes.any():
        ids = sorted(set(days.loc[bad | holes, "meter_id"]))
        sel = pd.DataFrame({"meter_id": ids})
        engine.register_frame("_power_bad_meters", sel)
        raw = engine.sql(
            f"SELECT r.meter_id, r.ts, r.kwh FROM {view} r "
            f"JOIN _power_bad_meters b ON r.meter_id = b.meter_id {where.replace('WHERE', 'AND')}"
        )
        report = mt.meter_quality_report(
            raw, interval=interval, timezone="UTC", max_fill_intervals=max_fill_intervals
        )
        filled = mt.fill_gaps(raw, interval=interval, max_fill_intervals=max_fill_intervals)
        filled["day"] = filled["ts"].dt.tz_convert(timezone).dt.tz_localize(None).dt.normalize()
        filled["filled_kwh"] = np.where(filled["filled"], filled["kwh"], 0.0)
        per = (
            filled.groupby(["meter_id", "day"])
            .agg(kwh=("kwh", "sum"), readings=("kwh", "size"), filled_kwh=("filled_kwh", "sum"))
            .reset_index()
        )
        keep = days[~days["meter_id"].isin(ids)]
        redo = per.assign(
            expected=mt.expected_intervals_per_day(pd.DatetimeIndex(per["day"]), timezone, interval)
        )
        days = pd.concat([keep, redo], ignore_index=True)
    days = days.reset_index(drop=True)
    m_codes = pd.factorize(days["meter_id"])[0]
    day_no = days["day"].to_numpy().astype("datetime64[D]").astype("int64")
    by_meter = pd.Series(day_no).groupby(m_codes)
    edge = (day_no == by_meter.transform("min").to_numpy()) | (
        day_no == by_meter.transform("max").to_numpy()
    )
    # a meter's first/last day may be partial (commissioning, the data's edges)
    days["complete"] = (days["readings"].to_numpy() >= days["expected"].to_numpy()) | edge
    cols = ["meter_id", "day", "kwh", "readings", "expected", "filled_kwh", "complete"]
    days["expected"] = days["expected"].astype("int64")
    return days[cols], report


def _offset_sql(epoch_us: str, timezone: str, first_year: int, last_year: int) -> str:
    """SQL giving the UTC offset [µs] of ``timezone`` at ``epoch_us``: a constant, or a CASE over
    the zone's transitions between the years (a few per year in DST zones)."""
    hours = pd.date_range(f"{first_year}-01-01", f"{last_year + 1}-01-01", freq="1h", tz="UTC")
    off = hours.tz_convert(timezone).map(lambda t: t.utcoffset().total_seconds())
    off = (np.asarray(off, dtype="float64") * 1e6).astype("int64")
    change = np.flatnonzero(off[1:] != off[:-1]) + 1
    if not len(change):
        return str(int(off[0]))
    # a transition happens within the hour before the first hour showing the new offset
    cases = " ".join(
        f"WHEN {epoch_us} < {int(_transition_us(hours[i - 1], hours[i], timezone))} "
        f"THEN {int(off[i - 1])}"
        for i in change
    )  # loop over transitions (two a year), not rows
    return f"(CASE {cases} ELSE {int(off[-1])} END)"


def _transition_us(before: pd.Timestamp, after: pd.Timestamp, timezone: str) -> int:
    minutes = pd.date_range(before, after, freq="1min")
    off = minutes.tz_convert(timezone).map(lambda t: t.utcoffset())
    first_new = int(np.flatnonzero(np.asarray(off) == off[-1])[0])
    return int(minutes[first_new].value // 1000)


# ---------------------------------------------------------------------------------- panels
def _entity_frame(data: PowerData) -> pd.DataFrame:
    e = data.enterprises.rename(columns={"credit_code": "enterprise_code"})
    return e[["enterprise_code", "district_code", "park_code", "industry_code", "is_key"]]


def enterprise_days(data: PowerData) -> pd.DataFrame:
    """Metered electricity per enterprise and local day (with completeness)."""
    md = data.meter_days
    row = pd.Index(data.meters["meter_id"]).get_indexer(md["meter_id"])
    if (row < 0).any():
        raise InputError(
            "readings of meters missing from the registry",
            field="meter_id",
            value=sorted(md.loc[row < 0, "meter_id"].unique())[:5],
        )
    # integer keys and bincount: 3.7 M meter-days of 10,000 meters in well under a second
    ent_codes, ents = pd.factorize(data.meters["enterprise_code"])
    e = ent_codes[row]
    day_codes, day_values = pd.factorize(md["day"], sort=True)
    key = e.astype("int64") * len(day_values) + day_codes
    cells, k = np.unique(key, return_inverse=True)
    n = len(cells)
    return pd.DataFrame(
        {
            "enterprise_code": np.asarray(ents, dtype=object)[cells // len(day_values)],
            "day": pd.DatetimeIndex(day_values)[cells % len(day_values)],
            "kwh": np.bincount(k, md["kwh"].to_numpy(dtype="float64"), n),
            "filled_kwh": np.bincount(k, md["filled_kwh"].to_numpy(dtype="float64"), n),
            "complete": np.bincount(k, (~md["complete"].to_numpy(dtype=bool)).astype(float), n)
            == 0,
        }
    )


def _levels(
    frame: pd.DataFrame, city_code: str, value_cols: list[str], time: str, agg: dict | None = None
) -> pd.DataFrame:
    """Sum an enterprise table to city, district, park (enterprises inside a park),
    industry and key-enterprise level."""
    parts = []
    spec = agg
    for level in nc.LEVELS:  # loop over five levels
        f = frame
        if level == "enterprise":
            f = frame[frame["is_key"].astype(bool)]
        elif level == "park":
            f = frame[frame["park_code"].notna().to_numpy()]
        col = LEVEL_COLUMN.get(level)
        keys = f[col].fillna("?") if col else pd.Series(city_code, index=f.index)
        groups = f.groupby([keys.rename("entity"), f[time]], sort=True)
        # sums keep NaN when every member is NaN (no statistics yet)
        g = groups[value_cols].sum(min_count=1) if agg is None else groups.agg(spec)
        parts.append(g.reset_index().assign(level=level))
    return pd.concat(parts, ignore_index=True)


def monthly_panel(data: PowerData, *, days: pd.DataFrame | None = None) -> pd.DataFrame:
    """The nowcast panel: per level, entity and month, metered kWh and the statistics."""
    days = enterprise_days(data) if days is None else days
    days = days.assign(period=days["day"].dt.to_period("M").dt.to_timestamp())
    metered = days.groupby(["enterprise_code", "period"], as_index=False).agg(
        metered_kwh=("kwh", "sum"), metered_complete=("complete", "all")
    )
    s = data.stats.rename(columns={"kwh": "electricity_kwh"})
    s = s.assign(other_co2_t=s["co2_t"] - s["electricity_co2_t"])
    ent = metered.merge(
        s[["enterprise_code", "period", "electricity_kwh", "other_co2_t", "co2_t"]],
        on=["enterprise_code", "period"],
        how="outer",
    )
    ent = ent.merge(_entity_frame(data), on="enterprise_code", how="left")
    ent["metered_kwh"] = ent["metered_kwh"].fillna(0.0)
    ent["metered_complete"] = ent["metered_complete"].astype("float64").fillna(1.0)
    vals = ["metered_kwh", "electricity_kwh", "other_co2_t", "co2_t"]
    panel = _levels(ent, data.city.adcode, vals, "period")
    comp = _levels(
        ent, data.city.adcode, ["metered_complete"], "period", agg={"metered_complete": "min"}
    )
    panel = panel.merge(comp, on=["level", "entity", "period"], how="left")
    panel["metered_kwh"] = panel["metered_kwh"].fillna(0.0)
    return panel[["level", "entity", "period", *vals, "metered_complete"]]


def level_days(data: PowerData, days: pd.DataFrame | None = None) -> pd.DataFrame:
    """Metered kWh per level, entity and local day."""
    days = enterprise_days(data) if days is None else days
    d = days.merge(_entity_frame(data), on="enterprise_code", how="left")
    d = d.rename(columns={"kwh": "metered_kwh"})
    d["complete"] = d["complete"].astype(float)
    spec = {"metered_kwh": "sum", "complete": "min"}  # metered kWh has no NaN: a plain sum
    return _levels(d, data.city.adcode, list(spec), "day", agg=spec)


# ------------------------------------------------------------------------ city-wide inputs
#: The inventory basis the nowcast's CO2 is on (205-1 CO2 includes purchased electricity).
CITY_WIDE_BASIS = "incl_net_imported_electricity"


@dataclass
class CityWideInputs:
    """What the city-wide nowcast scales with, besides the reporters' months."""

    inventory: pd.DataFrame  # year, total_tco2, electricity_tco2, transport_tco2 (city CO2)
    electricity_kwh: pd.Series | None  # city electricity consumption (全社会用电量) by year
    electricity_kwh_monthly: pd.Series | None = None  # the same by month (月度统计)
    fuel_sales_tco2_monthly: pd.Series | None = None  # CO2 of gasoline and diesel sales by month

    def proxies(self, grid_ef_tco2_per_kwh: pd.Series) -> dict[str, pd.Series | None]:
        """Keyword arguments of :func:`~citycarbon.power.nowcast.city_wide_tco2`."""
        return {
            "electricity_kwh": self.electricity_kwh,
            "grid_ef_tco2_per_kwh": grid_ef_tco2_per_kwh,
            "electricity_kwh_monthly": self.electricity_kwh_monthly,
            "fuel_sales_tco2_monthly": self.fuel_sales_tco2_monthly,
        }


#: The inventory sector whose in-year proxy is road-fuel sales (IPCC 1.A.3 transport).
TRANSPORT_SECTOR = "1.A.3"
FUEL_SALES = {"gasoline_sales": "gasoline", "diesel_sales": "diesel"}


#: 全社会用电量 by sector: their sum stands for the total where a period has no total row.
ELECTRICITY_SECTORS = (
    "electricity_primary",
    "electricity_secondary",
    "electricity_tertiary",
    "electricity_residential",
)


def _kwh(stats: pd.DataFrame, index: str) -> pd.Series | None:
    """City electricity consumption as kWh by ``index``: the ``electricity_consumption`` rows,
    else (per period) the sum of the four sector rows when all four are given."""
    wanted = ["electricity_consumption", *ELECTRICITY_SECTORS]
    el = stats[stats["indicator"].isin(wanted)] if len(stats) else stats
    if el.empty:
        return None
    factor = el["unit"].map(lambda u: units.factor(u, "kWh"))  # one per unit: a handful
    el = el.assign(kwh=el["value"].to_numpy() * factor.to_numpy())
    total = el[el["indicator"] == "electricity_consumption"].groupby(index)["kwh"].sum()
    sectors = el[el["indicator"] != "electricity_consumption"].groupby(index)
    by_sector = sectors["kwh"].sum()[sectors["indicator"].nunique() == len(ELECTRICITY_SECTORS)]
    out = total.combine_first(by_sector).sort_index()
    return out if len(out) else None


def _fuel_sales_tco2(stats: pd.DataFrame, profile) -> pd.Series | None:
    """CO2 of the month's gasoline and diesel sales (fuel-by-fuel combustion factors of the
    inventory's factor profile), by month; None without sales rows."""
    sales = stats[stats["indicator"].isin(list(FUEL_SALES))] if len(stats) else stats
    if sales.empty:
        return None
    co2 = fuel_combustion_emissions(
        pd.DataFrame(
            {
                "fuel": sales["indicator"].map(FUEL_SALES).to_numpy(),
                "quantity": sales["value"].to_numpy(),
                "unit": sales["unit"].to_numpy(),
            }
        ),
        profile,
        source="city_monthly_statistics",
    )["co2_t"]
    months = sales.assign(co2=co2.to_numpy()).groupby("period")["co2"]
    complete = months.count() == len(FUEL_SALES)  # a month with one fuel only is no proxy
    return months.sum()[complete]


def city_wide_inputs(data: PowerData, *, settings=None) -> CityWideInputs | None:
    """The city inventory's CO2 by year (result ``city_inventory``, basis including net
    imported electricity; its scope-2 and transport parts), the city's electricity consumption
    by year (``city_statistics``) and by month (``city_monthly_statistics``), and the CO2 of the
    city's monthly road-fuel sales (``city_monthly_statistics``); None before an inventory."""
    settings = settings or get_settings()
    if not results.has(CITY_INVENTORY, lake=settings.lake):
        return None
    inv = results.current(
        CITY_INVENTORY,
        lake=settings.lake,
        columns=[
            "region_code",
            "level",
            "month",
            "gas",
            "scope",
            "basis",
            "year",
            "sector",
            "emissions_t",
        ],
    )
    inv = inv[
        (inv["region_code"] == data.city.adcode)
        & (inv["level"] == "city")
        & inv["month"].isna()
        & (inv["basis"] == CITY_WIDE_BASIS)
        & (inv["gas"] == "CO2")
    ]
    if inv.empty:
        return None
    transport = inv["sector"].str.startswith(TRANSPORT_SECTOR) & (inv["scope"] == 1)
    co2 = inv.assign(
        electricity=inv["emissions_t"].where(inv["scope"] == 2, 0.0),
        transport=inv["emissions_t"].where(transport, 0.0),
    )
    yearly = co2.groupby("year").agg(
        total_tco2=("emissions_t", "sum"),
        electricity_tco2=("electricity", "sum"),
        transport_tco2=("transport", "sum"),
    )
    region = {"region_code": data.city.adcode}
    read = dict(lake=settings.lake, url=settings.database_url)
    stats = lake.read_current("city_statistics", region, **read)
    monthly = lake.read_current("city_monthly_statistics", region, **read)
    if len(monthly):
        monthly["period"] = pd.to_datetime(monthly["period"])
    if len(stats):
        stats["year"] = stats["year"].astype(int)
    return CityWideInputs(
        yearly.reset_index(),
        _kwh(stats, "year"),
        _kwh(monthly, "period"),
        _fuel_sales_tco2(monthly, data.city.factor_profile("inventory")),
    )


def reporters_monthly(data: PowerData, through: pd.Timestamp | None = None) -> pd.DataFrame:
    """The 205-1 reporters' CO2 per month from the statistics (``period, reporters_tco2,
    reporters_electricity_tco2, reporters_transport_tco2`` (the direct CO2 of the reporters the
    inventory books in transport, 1.A.3) and ``reporters_kwh`` (their electricity), the months
    up to ``through`` only when given."""
    s = data.stats
    if through is not None:
        s = s[s["period"] <= through]
    industry = data.enterprises.set_index("credit_code")["industry_code"]
    sector = enterprise_sectors(industry.reindex(s["enterprise_code"]).fillna("").to_numpy())
    in_transport = sector["sector"].str.startswith(TRANSPORT_SECTOR).to_numpy()
    s = s.assign(transport_co2_t=(s["co2_t"] - s["electricity_co2_t"]).where(in_transport, 0.0))
    cols = ["co2_t", "electricity_co2_t", "transport_co2_t", "kwh"]
    g = s.groupby("period", as_index=False)[cols].sum(min_count=1)
    return g.rename(
        columns={
            "co2_t": "reporters_tco2",
            "electricity_co2_t": "reporters_electricity_tco2",
            "transport_co2_t": "reporters_transport_tco2",
            "kwh": "reporters_kwh",
        }
    )


def _city_wide_rows(
    data: PowerData, monthly: pd.DataFrame, through: pd.Timestamp, inputs: CityWideInputs
) -> pd.DataFrame:
    """Monthly ``city_wide`` nowcast rows: the reporters' statistics up to ``through`` and their
    monthly nowcast (level ``city``) after it, scaled to the city (:func:`~citycarbon.power.
    nowcast.city_wide_tco2`); no interval (the annual backtest is the accuracy check)."""
    city = monthly[monthly["level"] == "city"]
    recent = city[["period", "estimate_tco2", "metered_kwh"]].rename(
        columns={"estimate_tco2": "reporters_tco2", "metered_kwh": "reporters_kwh"}
    )
    reporters = pd.concat([reporters_monthly(data, through), recent], ignore_index=True)
    wide = nc.city_wide_tco2(reporters, inputs.inventory, **inputs.proxies(data.grid_ef))
    keep = ["period", "metered_kwh", "days", "period_complete", "metered_complete"]
    wide = wide[wide["period"] > through].merge(city[keep], on="period", how="left")
    return wide.assign(
        level="city_wide",
        entity=data.city.adcode,
        lower_tco2=np.nan,
        upper_tco2=np.nan,
        model="scaled_" + wide["proxy"],
        inventory_year=wide["base_year"],
    )


# ------------------------------------------------------------------------------------ runs
def _write(frame: pd.DataFrame, lake: Path, name: str, run_id: str) -> Path:
    """Write a whole-table power result under ``run_id`` (joins the active transaction)."""
    with results.transaction(run_id, lake=lake):
        return results.write(declared(name), frame)


@dataclass
class NowcastRun:
    run_id: str
    as_of: pd.Timestamp
    calibrated_through: pd.Timestamp
    previous_through: pd.Timestamp | None
    table: pd.DataFrame
    path: Path | None
    quality: pd.DataFrame
    models: str | dict = "ratio"
    calibration: pd.DataFrame | None = None  # nc.calibrate_intervals of the vintage

    @property
    def recalibrated(self) -> bool:
        """True when statistics for a new month arrived since the last vintage."""
        return self.previous_through is None or self.calibrated_through > self.previous_through


def run_nowcast(
    *,
    as_of: str | pd.Timestamp | None = None,
    holdout_months: int = 0,
    model: str | dict | None = None,
    settings=None,
    city=None,
    data: PowerData | None = None,
    write: bool = True,
) -> NowcastRun:
    """Nowcast daily, weekly and monthly emissions of every level for the months whose
    statistics are not in yet, calibrated on all statistics up to ``as_of``; write a vintage.

    Parameters
    ----------
    as_of : date, optional
        Vintage date: meters up to this local day, statistics of months ending before it
        (default: the last metered day in the lake).
    holdout_months : int
        Pretend the statistics of the last N months have not arrived (demo, replays).
    model : str or dict, optional
        ``ratio``, ``loglinear``, ``naive``, a dict level -> model, or ``auto`` (the best per
        level in a 12-origin backtest on the calibration data); default ``power.nowcast.model``
        of the city.

    The intervals are calibrated per level on a rolling-origin backtest of the chosen models
    over the calibration months (:func:`~citycarbon.power.nowcast.calibrate_intervals`); each
    row carries the nominal ``confidence`` and the backtest's out-of-sample ``coverage`` of
    its calibrated interval (NaN where the history is too short to check it).
    """

    settings = settings or get_settings()
    data = data or read_power_data(settings=settings, city=city)
    cfg = data.config.nowcast
    days = enterprise_days(data)
    last_day = days["day"].max()
    as_of = pd.Timestamp(as_of).normalize() if as_of is not None else last_day
    days = days[days["day"] <= as_of]
    panel = monthly_panel(data, days=days)
    stat_months = panel.loc[
        panel["co2_t"].notna() & (panel["period"] + pd.offsets.MonthEnd(0) < as_of), "period"
    ]
    if stat_months.empty:
        raise InputError(
            "no statistics month before as_of to calibrate on",
            field="as_of",
            value=str(as_of.date()),
        )
    through = stat_months.max() - pd.DateOffset(months=holdout_months)
    panel.loc[panel["period"] > through, ["electricity_kwh", "other_co2_t", "co2_t"]] = np.nan
    targets = panel[(panel["period"] > through) & (panel["period"] <= as_of)]
    if targets.empty:
        raise InputError(
            "nothing to nowcast: statistics cover every metered month up to "
            "as_of (use holdout_months to replay)",
            field="as_of",
            value=str(as_of.date()),
        )
    chosen = model or cfg.model
    chosen, calibration = _choose_and_calibrate(panel[panel["period"] <= through], chosen, data)
    monthly = nc.estimate(
        panel,
        targets,
        through,
        data.grid_ef,
        model=chosen,
        confidence=cfg.confidence,
        window_months=cfg.window_months,
        multiplier=(
            None
            if calibration is None
            else calibration["multiplier"][np.isfinite(calibration["multiplier"])].to_dict()
        ),
    )
    monthly = monthly.merge(
        targets[["level", "entity", "period", "metered_complete"]],
        on=["level", "entity", "period"],
        how="left",
    )
    ld = level_days(data, days)
    ld = ld[ld["day"] > through + pd.offsets.MonthEnd(0)]
    city_days = ld[ld["level"] == "city"][["day", "metered_kwh"]]
    daily, weekly = nc.disaggregate(monthly, ld, reference=city_days)
    daily = daily.merge(
        ld[["level", "entity", "day", "complete"]].rename(
            columns={"day": "period", "complete": "metered_complete"}
        ),
        on=["level", "entity", "period"],
        how="left",
    )
    month_days = monthly["period"] + pd.offsets.MonthEnd(0)
    monthly["days"] = month_days.where(month_days <= as_of, as_of).dt.day
    monthly["period_complete"] = month_days <= as_of
    daily["days"], daily["period_complete"] = 1, True
    weekly["period_complete"] = weekly["days"] == 7
    frames = []
    for freq, f in (("day", daily), ("week", weekly), ("month", monthly)):
        frames.append(f.assign(frequency=freq))
    table = _interval_coverage(pd.concat(frames, ignore_index=True), calibration)
    table["inventory_year"], table["inventory_share"] = np.nan, np.nan
    inputs = city_wide_inputs(data, settings=settings)
    wide = None if inputs is None else _city_wide_rows(data, monthly, through, inputs)
    if wide is not None and len(wide):
        # the reporters' rows say which share of the city inventory they measure
        city = (table["level"] == "city").to_numpy()
        month = table.loc[city, "period"].dt.to_period("M").dt.to_timestamp()
        share = wide.set_index("period")[["inventory_year", "inventory_share"]]
        table.loc[city, ["inventory_year", "inventory_share"]] = share.reindex(month).to_numpy()
        table = pd.concat([table, wide.assign(frequency="month")], ignore_index=True)
    table["confidence"] = cfg.confidence
    run_id = results.run_id_here()
    table = table.assign(
        run_id=run_id,
        as_of=as_of,
        calibrated_through=through,
        city=data.city.id,
        factor_profile=data.factor_profile,
        method=models_record(chosen),
    )
    cols = [
        "run_id",
        "as_of",
        "calibrated_through",
        "frequency",
        "period",
        "level",
        "entity",
        "estimate_tco2",
        "lower_tco2",
        "upper_tco2",
        "metered_kwh",
        "model",
        "days",
        "period_complete",
        "metered_complete",
        "confidence",
        "interval_coverage",
        "interval_coverage_n",
        "inventory_year",
        "inventory_share",
        "city",
        "factor_profile",
        "method",
    ]
    table = (
        table[cols].sort_values(["frequency", "level", "entity", "period"]).reset_index(drop=True)
    )
    prev = _previous_through(settings.lake)
    path = None
    if write:
        with results.transaction(run_id, lake=settings.lake, factor_profile=data.factor_profile):
            path = _write(table, settings.lake, NOWCAST, run_id)
            if len(data.quality):
                _write(data.quality.assign(run_id=run_id), settings.lake, "meter_quality", run_id)
    return NowcastRun(run_id, as_of, through, prev, table, path, data.quality, chosen, calibration)


def _interval_coverage(table: pd.DataFrame, calibration: pd.DataFrame | None) -> pd.DataFrame:
    """``interval_coverage`` and ``interval_coverage_n`` of each row's (level, model) from the
    calibration (NaN without one)."""
    if calibration is None:
        return table.assign(interval_coverage=np.nan, interval_coverage_n=np.nan)
    cov = calibration[["coverage", "coverage_n"]].rename(
        columns={"coverage": "interval_coverage", "coverage_n": "interval_coverage_n"}
    )
    return table.merge(cov.reset_index(), on=["level", "model"], how="left")


def _choose_and_calibrate(
    hist: pd.DataFrame, chosen: str | dict, data: PowerData
) -> tuple[str | dict, pd.DataFrame | None]:
    """The models per level (``auto``: the best in a backtest over the last 12 origins) and the
    interval calibration of those models over the last :data:`CALIBRATION_ORIGINS` origins
    of the calibration months (None under 13 months of statistics: nothing to choose or
    calibrate on; ``auto`` is then the ratio model)."""
    cfg = data.config.nowcast
    months = sorted(hist["period"].unique())
    # an origin needs a year of history before it (the naive baseline is last year's month)
    first = months[0] + pd.DateOffset(months=12 + cfg.horizon - 1) if months else None
    origins = [m for m in months if first is not None and m >= first][-CALIBRATION_ORIGINS:]
    if not origins:
        return ("ratio" if chosen == "auto" else chosen), None
    tried = (
        nc.MODELS
        if chosen == "auto"
        else tuple(sorted(set(chosen.values()) if isinstance(chosen, dict) else {chosen}))
    )
    errors = nc.backtest(
        hist,
        data.grid_ef,
        origins=origins,
        horizon=cfg.horizon,
        models=tried,
        confidence=cfg.confidence,
        window_months=cfg.window_months,
    )
    if chosen == "auto":
        recent = errors[errors["period"].isin(origins[-12:])]
        chosen = nc.backtest_summary(recent)["best_model"].to_dict()
    per_level = chosen if isinstance(chosen, dict) else dict.fromkeys(nc.LEVELS, chosen)
    return chosen, nc.calibrate_intervals(errors, per_level, cfg.confidence)


def renowcast(*, cfg=None, settings=None, data: PowerData | None = None) -> NowcastRun | None:
    """A new nowcast vintage over the current lake (after statistics or meters arrived),
    keeping the models of the newest vintage (the city's default for the first one); None
    (with a log line) when there are no meter readings. Earlier vintages are kept.

    Where the statistics already cover every metered month (a demo or a replayed lake), the
    newest vintage's cut is kept (the first vintage holds the last month out)."""

    settings = settings or get_settings()
    runs = results.runs(NOWCAST_R, lake=settings.lake)
    last = (
        results.read_run(
            NOWCAST_R, runs[-1], columns=["method", "calibrated_through"], lake=settings.lake
        )
        if runs
        else None
    )
    models = _models_of(str(last["method"].iat[0])) if last is not None else None
    data = data or read_power_data(settings=settings, city=cfg)
    if not len(data.meter_days):
        log.info("nowcast: no meter readings, no vintage")
        return None
    try:
        return run_nowcast(model=models, settings=settings, data=data)
    except InputError as err:
        if "nothing to nowcast" not in str(err):
            raise
    stat_last = data.stats.loc[data.stats["co2_t"].notna(), "period"].max()
    holdout = 1
    if last is not None:
        through = pd.Timestamp(last["calibrated_through"].max())
        holdout = max((stat_last.year - through.year) * 12 + stat_last.month - through.month, 1)
    log.info("nowcast: statistics cover every metered month; replaying with %d held out", holdout)
    return run_nowcast(holdout_months=holdout, model=models, settings=settings, data=data)


def models_record(chosen: str | dict[str, str]) -> str:
    """The method record of a nowcast vintage with the models it used: ``nowcast_model?model=``
    (one for every level) or ``nowcast_models?city=...&district=...`` (per level)."""
    if isinstance(chosen, str):
        return message_record("nowcast_model", model=chosen)
    return message_record("nowcast_models", **chosen)


def _models_of(method: str) -> str | dict[str, str]:
    """The models a vintage used, from its ``method`` record (:func:`models_record`), or the
    text of vintages written before records ('... model per level: city=ratio,
    district=loglinear' or '... model per level: ratio')."""
    parts = dict(parse_record(method) or [])
    if "nowcast_model" in parts or "nowcast_models" in parts:
        return parts.get("nowcast_model", {}).get("model") or parts["nowcast_models"]
    spec = method.rsplit("model per level:", 1)[-1].strip()
    if "=" not in spec:
        return spec or "auto"
    return dict(part.strip().split("=", 1) for part in spec.split(","))


def _previous_through(lake: Path) -> pd.Timestamp | None:
    got = [
        results.read_run(NOWCAST_R, r, columns=["calibrated_through"], lake=lake)[
            "calibrated_through"
        ].max()
        for r in results.runs(NOWCAST_R, lake=lake)
    ]  # one small read per vintage
    return max(got) if got else None


def nowcast_history(
    *,
    level: str | None = None,
    entity: str | None = None,
    frequency: str = "month",
    settings=None,
    data: PowerData | None = None,
    actuals: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every vintage of the nowcasts (how an estimate moved), oldest first.

    With ``frequency="month"`` and the statistics that have arrived since — ``data``
    (:func:`read_power_data`, every level and entity) or ``actuals`` (``period``,
    ``actual_tco2`` of the one ``level`` and ``entity`` asked for, as a read model gives them)
    — these are joined as ``actual_tco2`` and ``error_pct`` (estimate vs actual).
    """

    settings = settings or get_settings()
    runs = results.runs(NOWCAST_R, lake=settings.lake)
    if not runs:
        return pd.DataFrame()
    filters = [("frequency", "=", frequency)]
    if level:
        filters.append(("level", "=", level))
    if entity:
        filters.append(("entity", "=", entity))
    frames = [results.read_run(NOWCAST_R, r, filters=filters, lake=settings.lake) for r in runs]
    out = pd.concat(frames, ignore_index=True)
    if frequency == "month" and (data is not None or actuals is not None):
        if data is not None:
            panel = monthly_panel(data)[["level", "entity", "period", "co2_t"]]
            panel = panel.rename(columns={"co2_t": "actual_tco2"})
            on = ["level", "entity", "period"]
        else:
            panel, on = actuals[["period", "actual_tco2"]], ["period"]
        out = out.merge(panel, on=on, how="left")
        out["error_pct"] = 100 * (out["estimate_tco2"] / out["actual_tco2"] - 1)
    return out.sort_values(["level", "entity", "period", "as_of", "run_id"]).reset_index(drop=True)


def backtest_table(errors: pd.DataFrame) -> pd.DataFrame:
    """MAPE per level and model vs the naive baseline (:func:`~citycarbon.power.nowcast.
    backtest_summary`) of stored backtest rows (result ``nowcast_backtest``), one row a level,
    with the run id of the rows."""
    if errors.empty:
        return pd.DataFrame()
    out = nc.backtest_summary(errors).reset_index()
    out.columns = [str(c) for c in out.columns]
    out["run_id"] = str(errors["run_id"].iat[0])
    return out


def run_backtest(
    *,
    horizon: int | None = None,
    settings=None,
    city=None,
    data: PowerData | None = None,
    write: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, Path | None]:
    """Rolling-origin backtest of every model at every level; returns (summary, errors, path)."""

    settings = settings or get_settings()
    data = data or read_power_data(settings=settings, city=city)
    cfg = data.config.nowcast
    panel = monthly_panel(data)
    panel = panel[panel["co2_t"].notna()]
    errors = nc.backtest(
        panel,
        data.grid_ef,
        horizon=int(horizon or cfg.horizon),
        confidence=cfg.confidence,
    )
    summary = nc.backtest_summary(errors)
    path = None
    if write:
        run_id = results.run_id_here()
        path = _write(errors.assign(run_id=run_id), settings.lake, "nowcast_backtest", run_id)
    return summary, errors, path


def run_city_backtest(
    *, settings=None, city=None, data: PowerData | None = None, write: bool = True
) -> pd.DataFrame | None:
    """The city-wide nowcast of every inventory year against the inventory
    (:func:`~citycarbon.power.nowcast.city_wide_backtest`), written as result
    ``nowcast_city_backtest``; None before a city inventory or without a year to test."""
    settings = settings or get_settings()
    data = data or read_power_data(settings=settings, city=city)
    inputs = city_wide_inputs(data, settings=settings)
    if inputs is None:
        return None
    table = nc.city_wide_backtest(
        reporters_monthly(data), inputs.inventory, **inputs.proxies(data.grid_ef)
    )
    if table.empty:
        return None
    if write:
        run_id = results.run_id_here()
        _write(table.assign(run_id=run_id), settings.lake, "nowcast_city_backtest", run_id)
    return table


# ------------------------------------------------------------------------------ indicators
def run_indicators(
    *,
    year: int | None = None,
    basis: str = "calorific",
    settings=None,
    city=None,
    data: PowerData | None = None,
    write: bool = True,
) -> dict[str, pd.DataFrame]:
    """电-碳-能 indicators per enterprise and industry and year, and daily load anomalies."""

    if basis not in ("calorific", "equivalent"):
        raise InputError(
            "basis must be 'calorific' (当量值) or 'equivalent' (等价值)",
            field="basis",
            value=basis,
        )
    settings = settings or get_settings()
    data = data or read_power_data(settings=settings, city=city)
    profile = data.city.factor_profile("enterprise")
    s = data.stats.merge(_entity_frame(data), on="enterprise_code", how="left")
    out_v = lake.read_current(
        "industrial_output", columns=["enterprise_code", "year", "output_value_10k_cny"]
    )
    value = out_v.groupby(["enterprise_code", "year"], as_index=False)["output_value_10k_cny"].sum(
        min_count=1
    )
    years = sorted(s["year"].unique())
    coef = _electricity_tce_per_kwh(profile, years, basis)
    tables = {}
    for level, key in (("enterprise", "enterprise_code"), ("industry", "industry_code")):
        g = s.groupby([key, "year"], as_index=False).agg(
            energy_tce=("energy_tce", "sum"),
            co2_t=("co2_t", "sum"),
            electricity_kwh=("kwh", "sum"),
            months=("month", "nunique"),
        )
        if level == "enterprise":
            g = g.merge(value, on=["enterprise_code", "year"], how="left").merge(
                _entity_frame(data)[
                    ["enterprise_code", "industry_code", "district_code", "is_key"]
                ],
                on="enterprise_code",
                how="left",
            )
        else:
            v = (
                value.merge(_entity_frame(data), on="enterprise_code")
                .groupby(["industry_code", "year"], as_index=False)["output_value_10k_cny"]
                .sum(min_count=1)
            )
            g = g.merge(v, on=["industry_code", "year"], how="left")
        c = coef.reindex(g["year"]).to_numpy()
        g["electricity_share"] = ind.electricity_share_of_energy(
            g["electricity_kwh"], g["energy_tce"], coef.attrs["calorific"], c
        )
        g["basis"] = basis
        g["kgco2_per_kwh"] = ind.carbon_per_kwh_kg(g["co2_t"], g["electricity_kwh"])
        g["tce_per_10k_cny"] = ind.per_output_value(g["energy_tce"], g["output_value_10k_cny"])
        g["tco2_per_10k_cny"] = ind.per_output_value(g["co2_t"], g["output_value_10k_cny"])
        yoy = ind.yoy_change_pct(
            g,
            [key],
            "year",
            ["energy_tce", "co2_t", "electricity_kwh", "kgco2_per_kwh", "tco2_per_10k_cny"],
        )
        g = pd.concat([g, yoy], axis=1)
        if level == "enterprise":
            grp = g["industry_code"].astype(str) + "|" + g["year"].astype(str)
            g["rank_kgco2_per_kwh_in_industry"] = ind.rank_within(g["kgco2_per_kwh"], grp)
            g["rank_tco2_per_10k_cny_in_industry"] = ind.rank_within(g["tco2_per_10k_cny"], grp)
            g["industry_size"] = g.groupby(grp.to_numpy())["enterprise_code"].transform("size")
        if year is not None:
            g = g[g["year"] == int(year)]
        tables[level] = g.reset_index(drop=True)
    a = data.config.anomalies
    days = enterprise_days(data)
    tables["anomalies"] = ind.load_anomalies(
        days[["enterprise_code", "day", "kwh"]],
        threshold=float(a.threshold),
        window=int(a.window_weeks),
        min_periods=int(a.min_weeks),
        min_change=float(a.min_change),
    )
    if write:
        run_id = results.run_id_here()
        both = pd.concat(
            [
                tables["enterprise"].assign(level="enterprise"),
                tables["industry"].assign(level="industry"),
            ],
            ignore_index=True,
        )
        with results.transaction(run_id, lake=settings.lake, factor_profile=data.factor_profile):
            _write(
                both.assign(run_id=run_id, factor_profile=data.factor_profile),
                settings.lake,
                "power_indicators",
                run_id,
            )
            _write(
                tables["anomalies"].assign(run_id=run_id), settings.lake, "load_anomalies", run_id
            )
    return tables


def _electricity_tce_per_kwh(profile, years, basis: str) -> pd.Series:
    """Standard-coal coefficient of electricity per year [tce/kWh] on the basis, from the profile."""

    ys = [int(y) for y in years]
    cal = energy_consumption_tce([1.0], "kWh", "electricity", profile, basis="calorific")
    vals = [
        float(
            energy_consumption_tce([1.0], "kWh", "electricity", profile, basis=basis, year=y).iat[0]
        )
        for y in ys
    ]  # one per data year
    out = pd.Series(vals, index=ys, dtype="float64")
    out.attrs["calorific"] = float(cal.iat[0])
    return out
