"""Scenarios in the catalog, and the city's inputs to the pathways model.

Catalog: table ``scenarios`` (migration ``0004_scenarios``). Each save adds a version; the
newest version of a name is current and older ones are its history. Saves are audited.

Inputs: :func:`city_history` builds the city emissions history ``(year, sector,
emissions_tco2e)`` and the base-year carrier mix the domain functions take, plus the drivers:
gdp (with price_basis) and population from ``city_statistics``, energy consumption from the
inventory's indicators (result ``city_indicators``, :data:`ENERGY_INDICATOR`: the energy
balance's total on the coal-equivalent basis, the figure the 清单 page shows; the yearbook's
``energy_consumption`` statistic is not used, so there is one source of energy).

The history IS the city inventory (results ``city_inventory`` and ``energy_balance`` of
``citycarbon inventory compute``) on the basis including net imported electricity, so the
scenario pages and the 清单 page show the same totals: each energy sector's scope-1 emissions
(IPCC 1.A.2/1.A.3/1.A.4.x) go to the balance's final-consumption items of that sector in
proportion to their fossil energy (tce), the electricity and heat emissions (scope 2 of net
imports and local 1.A.1 generation) in proportion to their electricity and heat use; items and
non-energy sectors map onto the model's sectors by ``inventory_mapping`` in
``pathways/data/baseline.yaml``; the carrier mix is the balance's final consumption by sector
and carrier.

The baseline follows activity (LEAP style, :mod:`citycarbon.pathways.activity`): each sector's
activity driver (``activity`` in ``baseline.yaml``: industrial and construction value added at
comparable prices, vehicle fleet, floor area — ``city_statistics`` indicators) times its energy
intensity calibrated on the history. The grid factor to 2060 is the trajectory the city config
declares (``pathways.grid_ef_trajectory``). Both reach every run through
:meth:`CityHistory.model_inputs`, so scenarios, MACCs and the least-cost pathway share them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import sqlalchemy as sa

from citycarbon.accounting.balance import balance_items
from citycarbon.config import load_city
from citycarbon.contract.results import CITY_SINKS
from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.factors import fuels
from citycarbon.pathways import activity as act
from citycarbon.pathways import catalogue as cat
from citycarbon.pathways import cobenefits as cb
from citycarbon.pathways import economics as ec
from citycarbon.pathways import macc as mc
from citycarbon.pathways import optimize as opt
from citycarbon.pathways import scenario as sc
from citycarbon.pathways.decomposition import decompose_panel, kaya_factors
from citycarbon.pathways.forecast import backtest, forecast_series, growth_from_forecast
from citycarbon.pathways.history import SERIES_COLUMNS, series_drivers, splice_history
from citycarbon.pathways.stirpat import collinearity_diagnostics, stirpat_ridge
from citycarbon.records import message_record
from citycarbon.runs.inventory import latest_result
from citycarbon.store import catalog, lake, results
from citycarbon.store.models import Scenario

#: How the inputs are built (a method record, :mod:`citycarbon.contract.records`): the city
#: inventory (basis incl_net_imported_electricity) allocated to the model's sectors by the energy
#: balance's final consumption (fossil tce for scope 1, electricity and heat for scope 2 and
#: 1.A.1); carrier mix from the energy balance.
METHOD_INVENTORY = message_record("scenario_inputs_inventory")
#: fuels.csv category -> carrier of the pathways model.
FUEL_CARRIER = {"coal": "coal", "coal_gas": "coal", "oil": "oil", "gas": "gas"}
#: The energy of the history: the inventory's indicator of total energy consumption (energy
#: balance, coal-equivalent basis 等价值), as the 清单 page shows it.
ENERGY_INDICATOR = "energy_consumption_tce"


@dataclass
class CityHistory:
    """Inputs of the pathways model for one city."""

    emissions: pd.DataFrame  # year, sector, emissions_tco2e
    drivers: pd.DataFrame  # year, population, gdp, gdp_price_basis, energy_tce, emissions_tco2e
    mix: pd.DataFrame  # sector, carrier, share (base year)
    grid_ef: pd.Series  # year -> tCO2/MWh
    base_year: int
    method: str = METHOD_INVENTORY
    #: year, sector, indicator, activity (real where declared) — None: no activity baseline
    activity: pd.DataFrame | None = None
    #: the declared grid factor trajectory (year -> tCO2/MWh); None: the assumed decline
    grid_ef_points: dict | None = None
    #: name of the declared trajectory (as the page shows it)
    grid_ef_trajectory: str | None = None
    #: city_statistics by year (wide: one column an indicator, GDP at comparable prices)
    statistics: pd.DataFrame | None = None
    #: accounted removals of the latest sink year [tCO2e/yr, positive] (``city_sinks``, memo
    #: items left out) and that year; None: no sinks accounted (the assumed baseline sink)
    sinks_tco2e: float | None = None
    sinks_year: int | None = None
    #: the city's yearbook series (``yearbook_series``) by year in the model's units
    #: (:data:`citycarbon.pathways.history.SERIES_COLUMNS`); None: the city supplied none
    series: pd.DataFrame | None = None

    def model_inputs(self, baseline: str = "activity") -> dict:
        """Keyword arguments of :func:`citycarbon.pathways.scenario.simulate` for the base year:
        the base energy, the declared grid trajectory and, for ``baseline="activity"`` (with
        activity data), the sector growth of the activity baseline."""
        b = self.base_year
        ef = float(self.grid_ef[b])
        em = self.emissions[self.emissions["year"] == b][["sector", "emissions_tco2e"]]
        d = self.drivers.set_index("year").loc[b]
        out = {
            "base_energy": sc.base_energy_from_emissions(em, self.mix, grid_ef_tco2_per_mwh=ef),
            "base_year": b,
            "grid_ef_tco2_per_mwh": ef,
            "gdp": float(d["gdp"]),
            "population": float(d["population"]),
            "grid_ef_points": self.grid_ef_points,
            "sink_base_tco2e": self.sinks_tco2e,
        }
        if baseline == "activity" and self.activity is not None:
            growth = activity_baseline(self)["projection"]
            out["growth_override"] = growth[["year", "sector", "growth"]]
        return out


def _statistics(region_code: str) -> pd.DataFrame:
    """GDP (comparable prices where given) and population by year from ``city_statistics``."""

    s = lake.read_current("city_statistics")
    s = s[s["region_code"] == region_code]
    if s.empty:
        raise InputError(f"no city_statistics rows for region {region_code}", source="lake")
    pop = s[s["indicator"] == "population"]
    if pop.empty:
        raise InputError(
            "city_statistics has no population", source="city_statistics", field="population"
        )
    gdp = s[s["indicator"] == "gdp"]
    comparable = gdp[gdp["price_basis"].str.startswith("comparable")]
    gdp = comparable if not comparable.empty else gdp
    if gdp.empty:
        raise InputError("city_statistics has no gdp", source="city_statistics", field="gdp")
    gdp = gdp.sort_values("price_basis").drop_duplicates("year")
    frame = pd.DataFrame(
        {
            "population": pd.Series(pop["value"].to_numpy(), index=pop["year"]),
            "gdp": pd.Series(gdp["value"].to_numpy(), index=gdp["year"]),
            "gdp_price_basis": pd.Series(gdp["price_basis"].to_numpy(), index=gdp["year"]),
        }
    )
    return frame.dropna(subset=["population", "gdp"]).rename_axis("year").reset_index()


def _statistics_wide(region_code: str) -> pd.DataFrame:
    """``city_statistics`` of the city by year, one column an indicator: GDP at comparable
    prices as ``gdp`` and at current prices as ``gdp_current``, other indicators as given."""

    s = lake.read_current("city_statistics")
    s = s[s["region_code"] == region_code]
    gdp = s["indicator"] == "gdp"
    comparable = gdp & s["price_basis"].str.startswith("comparable")
    s = s.assign(column=np.where(comparable, "gdp", np.where(gdp, "gdp_current", s["indicator"])))
    return s.pivot_table(index="year", columns="column", values="value", aggfunc="first")


def _activity(wide: pd.DataFrame, spec: dict) -> pd.DataFrame | None:
    """``year, sector, indicator, activity`` of each model sector's driver (value added
    deflated to comparable prices by the GDP deflator where ``real``); None when the statistics
    lack a driver."""

    missing = [v["indicator"] for v in spec.values() if v["indicator"] not in wide.columns]
    if missing:
        return None
    deflator = wide["gdp"] / wide["gdp_current"] if "gdp_current" in wide else 1.0
    frames = [
        pd.DataFrame(
            {
                "year": wide.index.astype(int),
                "sector": sector,
                "indicator": v["indicator"],
                "activity": (
                    wide[v["indicator"]] * (deflator if v.get("real") else 1.0)
                ).to_numpy(),
            }
        )
        for sector, v in spec.items()  # four sectors
    ]
    return pd.concat(frames, ignore_index=True).dropna(subset=["activity"])


def _yearbook_series(region_code: str) -> pd.DataFrame | None:
    """The city's ``yearbook_series`` in the model's units; None when it has no rows."""

    rows = lake.read_current("yearbook_series", {"region_code": region_code})
    return series_drivers(rows) if len(rows) else None


def _energy(indicators: pd.DataFrame, region_code: str) -> pd.DataFrame:
    """``year, energy_tce``: the inventory's :data:`ENERGY_INDICATOR` by year."""

    e = indicators[
        (indicators["region_code"] == region_code)
        & (indicators["period_type"] == "year")
        & (indicators["indicator"] == ENERGY_INDICATOR)
    ]
    return e[["year", "value"]].dropna().rename(columns={"value": "energy_tce"})


def _inventory_history(
    inventory: pd.DataFrame, balance: pd.DataFrame, region_code: str, mapping: dict
) -> tuple[pd.DataFrame, dict[int, pd.DataFrame]]:
    """Sector emissions ``(year, sector, emissions_tco2e, energy_tce)`` and the carrier mix per
    year from the inventory and energy balance results (see the module docstring)."""

    items = balance_items()
    item_sector = pd.Series(mapping["balance_items"], dtype=str)
    inv = inventory[
        (inventory["level"] == "city")
        & (inventory["region_code"] == region_code)
        & inventory["month"].isna()
        & (inventory["basis"] == "incl_net_imported_electricity")
    ]
    bal = balance[
        (balance["region_code"] == region_code)
        & (balance["tce_basis"] == "calorific")
        & balance["item"].isin(item_sector.index)
        & (balance["fuel"] != "total")
    ]
    category = bal["fuel"].map(fuels()["category"])
    carrier = category.map(FUEL_CARRIER)
    carrier = carrier.fillna(bal["fuel"].map({"electricity": "electricity"}))
    carrier = carrier.fillna(bal["fuel"].map({"heat": mapping["heat_carrier"]}))
    if carrier.isna().any():
        raise InputError(
            "fuel without a pathways carrier",
            source="energy_balance",
            field="fuel",
            value=bal.loc[carrier.isna(), "fuel"].iat[0],
        )
    bal = bal.assign(
        carrier=carrier,
        fossil_tce=bal["tce"].where(category.isin(list(FUEL_CARRIER)), 0.0),
        power_tce=bal["tce"].where(bal["fuel"].isin(["electricity", "heat"]), 0.0),
        ipcc=bal["item"].map(items["ipcc_sector"]),
        sector=bal["item"].map(item_sector),
    )
    by_item = bal.groupby(["year", "item", "ipcc", "sector"], as_index=False)[
        ["tce", "fossil_tce", "power_tce"]
    ].sum()
    # scope 1 of each energy sector -> its items by fossil energy; a subcategory (transport by
    # mode, 1.A.3.a-d) counts in the balance item's category (1.A.3)
    energy_sectors = set(by_item["ipcc"])
    sector = inv["sector"].astype(str)
    parent = sector.str.rsplit(".", n=1).str[0]
    booked = sector.where(sector.isin(energy_sectors), parent.where(parent.isin(energy_sectors)))
    direct = inv.assign(sector=booked)[(inv["scope"] == 1) & booked.notna()]
    direct = direct.groupby(["year", "sector"])["emissions_tco2e"].sum()
    fossil_share = by_item["fossil_tce"] / by_item.groupby(["year", "ipcc"])[
        "fossil_tce"
    ].transform("sum").replace(0.0, np.nan)
    keys = pd.MultiIndex.from_frame(by_item[["year", "ipcc"]])
    by_item["direct"] = (
        fossil_share.fillna(0.0).to_numpy() * direct.reindex(keys).fillna(0.0).to_numpy()
    )
    # electricity and heat: scope 2 and local generation (1.A.1) -> items by their use
    power_rows = (inv["scope"] == 2) | inv["sector"].astype(str).str.startswith("1.A.1")
    power = inv[power_rows].groupby("year")["emissions_tco2e"].sum()
    power_share = by_item["power_tce"] / by_item.groupby("year")["power_tce"].transform(
        "sum"
    ).replace(0.0, np.nan)
    by_item["power"] = (
        power_share.fillna(0.0).to_numpy() * power.reindex(by_item["year"]).fillna(0.0).to_numpy()
    )
    sector_em = by_item.groupby(["year", "sector"])[["direct", "power", "tce"]].sum()
    # non-energy sectors (IPPU, AFOLU, waste) by the mapping
    # (and fugitive 1.B): a two-level key of the mapping before its category's first level
    keys = {str(k): v for k, v in mapping["ipcc_sectors"].items()}
    parts = inv["sector"].astype(str).str.split(".")
    two, top = parts.str[:2].str.join("."), parts.str[0]
    key = two.where(two.isin(list(keys)), top)
    other = inv[key.isin(list(keys)) & (inv["scope"] == 1)]
    other = (
        other.assign(model_sector=key[other.index].map(keys))
        .groupby(["year", "model_sector"])["emissions_tco2e"]
        .sum()
    )
    other.index.names = ["year", "sector"]
    emissions = (sector_em["direct"] + sector_em["power"]).add(other, fill_value=0.0)
    allocated = emissions.groupby(level="year").sum()
    total = inv.groupby("year")["emissions_tco2e"].sum()
    lost = (total.reindex(allocated.index) - allocated).abs()
    if (lost > 1e-6 * total.reindex(allocated.index).abs() + 1e-6).any():
        year = int(lost.idxmax())
        raise InputError(
            f"{year}: {float(lost.max()):,.1f} tCO2e of the inventory have no energy use to be "
            "allocated to (an inventory sector with emissions but no final consumption in the "
            "energy balance)",
            source="city_inventory",
            field="sector",
        )
    out = pd.DataFrame({"emissions_tco2e": emissions}).join(sector_em["tce"].rename("energy_tce"))
    out = out.reset_index().fillna({"energy_tce": 0.0})
    mix_tce = bal.groupby(["year", "sector", "carrier"])["tce"].sum()
    mixes = {}
    for year, m in mix_tce.groupby(level="year"):  # a handful of years
        wide = m.droplevel("year").unstack("carrier").reindex(columns=list(cat.CARRIERS)).fillna(0)
        mixes[int(year)] = wide.div(wide.sum(axis=1).replace(0.0, np.nan), axis=0).fillna(0.0)
    return out, mixes


def accounted_sinks(sinks: pd.DataFrame | None) -> tuple[float | None, int | None]:
    """Removals of the latest year of ``city_sinks`` [tCO2e/yr, positive] and that year:
    the sum of the counted rows (memo items, mariculture, left out); (None, None) without
    sink rows."""
    if sinks is None or sinks.empty:
        return None, None
    counted = sinks[sinks["sector"] != "memo"]
    if counted.empty:
        return None, None
    year = int(counted["year"].max())
    return float(-counted.loc[counted["year"] == year, "co2_t"].sum()), year


def city_history(city=None) -> CityHistory:
    """The city's emissions history and drivers from the lake (see the module docstring)."""

    cfg = load_city(city)
    profile = cfg.factor_profile("inventory")
    a = cat.baseline_assumptions()
    drivers = _statistics(cfg.adcode)
    years = drivers["year"].astype(int).tolist()
    grid = pd.Series(
        [profile.lookup("grid_ef", cfg.factors.grid_region, "tCO2/MWh", year=y) for y in years],
        index=years,
    )
    sectors = list(a["sectors"])
    inventory = latest_result("city_inventory")
    balance = latest_result("energy_balance")
    emissions, mixes = _inventory_history(inventory, balance, cfg.adcode, a["inventory_mapping"])
    emissions = emissions[emissions["year"].isin(years)]
    drivers = drivers.merge(_energy(latest_result("city_indicators"), cfg.adcode), on="year")
    drivers = drivers[drivers["year"].isin(emissions["year"].unique())]
    if drivers.empty:
        raise InputError(
            "the city inventory (with its energy indicator) and city_statistics have no year "
            "in common",
            source="city_inventory",
            field="year",
        )
    drivers = drivers.merge(
        emissions.groupby("year", as_index=False)["emissions_tco2e"].sum(), on="year"
    )
    base = int(drivers["year"].max())
    mix = mixes[base].reindex(sectors).fillna(0.0).stack().rename("share").reset_index()
    mix.columns = ["sector", "carrier", "share"]
    wide = _statistics_wide(cfg.adcode)
    trajectory = cfg.pathways.grid_ef_trajectory
    sink_rows = latest_result("city_sinks") if results.has(CITY_SINKS) else None
    sinks_tco2e, sinks_year = accounted_sinks(sink_rows)
    return CityHistory(
        emissions,
        drivers,
        mix,
        grid,
        base,
        activity=_activity(wide, a["activity"]),
        grid_ef_points=cat.grid_ef_trajectory(trajectory)["points"],
        grid_ef_trajectory=trajectory,
        statistics=wide,
        sinks_tco2e=sinks_tco2e,
        sinks_year=sinks_year,
        series=_yearbook_series(cfg.adcode),
    )


#: Tolerance within which the activity baseline's backcast reproduces the inventory history
#: (mean absolute percentage error per sector): a calibration outside it is flagged.
BACKCAST_TOLERANCE = 0.05


def activity_baseline(history: CityHistory, *, end_year: int = sc.END_YEAR) -> dict:
    """The LEAP-style activity baseline of the city (see :mod:`citycarbon.pathways.activity`).

    Returns
    -------
    dict
        ``calibration`` (per sector: driver, base intensity, trend, fit), ``backcast`` (the
        history years: inventory vs calibrated model, with ``within_tolerance``), ``fit`` (the
        city total against the long history, :func:`calibration_fit`),
        ``projection`` (``year, sector, activity, intensity_tce_per_unit, energy_tce,
        growth`` from the base year to ``end_year``).
    """
    if history.activity is None:
        raise InputError(
            "city_statistics lack an activity driver of the baseline (baseline.yaml activity)",
            source="city_statistics",
            field="indicator",
        )
    a = cat.baseline_assumptions()
    spec, bounds = a["activity"], a["intensity_trend"]
    hist = history.activity.merge(history.emissions, on=["year", "sector"])
    cal, back = act.calibrate_intensity(
        hist,
        base_year=history.base_year,
        trend_low=float(bounds["low"]),
        trend_high=float(bounds["high"]),
    )
    cal["indicator"] = cal["sector"].map({s: v["indicator"] for s, v in spec.items()})
    cal["unit"] = cal["sector"].map({s: v["unit"] for s, v in spec.items()})
    cal["driver_zh"] = cal["sector"].map({s: v["zh"] for s, v in spec.items()})
    cal["driver_en"] = cal["sector"].map({s: v["en"] for s, v in spec.items()})
    cal["within_tolerance"] = cal["mape"] <= BACKCAST_TOLERANCE
    years = np.arange(history.base_year, end_year + 1)
    growth = pd.DataFrame(
        {s: sc.piecewise_rate(v["growth"], years) for s, v in spec.items()}, index=years
    ).T
    base = hist[hist["year"] == history.base_year].set_index("sector")["activity"]
    projection = act.baseline_energy_growth(
        act.project_activity(base, growth, years), cal, base_year=history.base_year
    )
    return {
        "calibration": cal,
        "backcast": back,
        "fit": calibration_fit(history, cal),
        "projection": projection,
    }


def calibration_fit(history: CityHistory, calibration: pd.DataFrame) -> pd.DataFrame:
    """The calibrated baseline against the city's long history, by year.

    ``year, source, history_tco2e`` (the inventory's total, else the yearbook series' CO2),
    ``baseline_tco2e`` (:func:`citycarbon.pathways.activity.city_backcast_tco2e`), ``error``
    (baseline / history - 1) and ``within_tolerance`` (``|error| <=``
    :data:`BACKCAST_TOLERANCE`, the year's flag; the calibration's own criterion is the mean
    absolute error over the years, as per sector): the years with both a history total and
    every sector's activity driver."""
    hist = long_history(history).dropna(subset=["emissions_tco2e"])
    model = act.city_backcast_tco2e(
        history.activity, calibration, history.emissions, base_year=history.base_year
    )
    fit = hist[["year", "source", "emissions_tco2e"]].merge(model, on="year")
    fit = fit.rename(
        columns={"emissions_tco2e": "history_tco2e", "backcast_tco2e": "baseline_tco2e"}
    )
    fit["error"] = fit["baseline_tco2e"] / fit["history_tco2e"] - 1.0
    fit["within_tolerance"] = fit["error"].abs() <= BACKCAST_TOLERANCE
    return fit.reset_index(drop=True)


# --------------------------------------------------------------------------- catalog
def _row(s) -> dict:
    return {
        "name": s.name,
        "version": s.version,
        "title_zh": s.title_zh,
        "description": s.description,
        "base_year": s.base_year,
        "measures": s.measures,
        "settings": s.settings,
        "created_by": s.created_by,
        "created_at": s.created_at,
    }


def save_scenario(
    name: str,
    measures: list[dict],
    *,
    description: str | None = None,
    title_zh: str | None = None,
    base_year: int | None = None,
    settings: dict | None = None,
    created_by: str = "system",
    url: str | None = None,
) -> dict:
    """Save a new version of a scenario (validated against the measure catalogue)."""

    if not name or len(name) > 100:
        raise InputError("scenario name must be 1-100 characters", field="name", value=name)
    cat.resolve_measures(measures)  # raises on unknown measures or parameters
    catalog.ensure_catalog(url)
    with catalog.session_scope(url) as s:
        last = s.scalar(sa.select(sa.func.max(Scenario.version)).where(Scenario.name == name))
        row = Scenario(
            name=name,
            version=(last or 0) + 1,
            title_zh=title_zh,
            description=description,
            base_year=base_year,
            measures=list(measures),
            settings=settings,
            created_by=created_by,
        )
        s.add(row)
        s.flush()
        out = _row(row)
        catalog.record_audit(
            s,
            created_by,
            "save",
            "scenario",
            f"{name}@{row.version}",
            None,
            {k: v for k, v in out.items() if k != "created_at"},
        )
    return out


def ensure_default_scenarios(url: str | None = None) -> int:
    """Seed the default scenarios (``pathways/data/scenarios.yaml``) when none exist; returns
    the number added."""

    catalog.ensure_catalog(url)
    with catalog.session_scope(url) as s:
        if s.scalar(sa.select(sa.func.count(Scenario.id))):
            return 0
    for d in cat.default_scenarios():
        save_scenario(
            d["name"],
            d["measures"],
            description=d.get("description"),
            title_zh=d.get("zh"),
            created_by="system",
            url=url,
        )
    return len(cat.default_scenarios())


def list_scenarios(url: str | None = None) -> pd.DataFrame:
    """The current version of every scenario: name, version, title_zh, description, base_year,
    measures (count), created_by, created_at."""

    catalog.ensure_catalog(url)
    with catalog.session_scope(url) as s:
        rows = [_row(r) for r in s.scalars(sa.select(Scenario).order_by(Scenario.name))]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(
            columns=[
                "name",
                "version",
                "title_zh",
                "description",
                "base_year",
                "measures",
                "created_by",
                "created_at",
            ]
        )
    frame = frame.sort_values(["name", "version"]).drop_duplicates("name", keep="last")
    frame["measures"] = frame["measures"].map(len)
    return frame.drop(columns="settings").reset_index(drop=True)


def load_scenario(name: str, version: int | None = None, url: str | None = None) -> dict:
    """One scenario version (default: the current one)."""

    catalog.ensure_catalog(url)
    with catalog.session_scope(url) as s:
        q = sa.select(Scenario).where(Scenario.name == name)
        q = q.where(Scenario.version == version) if version else q
        row = s.scalars(q.order_by(Scenario.version.desc()).limit(1)).first()
        if row is None:
            names = s.scalars(sa.select(Scenario.name).distinct()).all()
            raise UnknownCodeError("scenario", name if not version else f"{name}@{version}", names)
        return _row(row)


def scenario_versions(name: str, url: str | None = None) -> pd.DataFrame:
    """Every version of a scenario (its history), oldest first."""

    catalog.ensure_catalog(url)
    with catalog.session_scope(url) as s:
        rows = [
            _row(r)
            for r in s.scalars(
                sa.select(Scenario).where(Scenario.name == name).order_by(Scenario.version)
            )
        ]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- runs
def run_scenarios(
    names: list[str],
    *,
    draws: int = 0,
    seed: int = 0,
    end_year: int = sc.END_YEAR,
    history: CityHistory | None = None,
    baseline: str = "activity",
    url: str | None = None,
) -> tuple[list[sc.ScenarioRun], sc.ScenarioRun, CityHistory]:
    """Run stored scenarios on the city's inputs; returns (runs, central baseline, history).

    ``baseline="activity"`` (default): sector energy follows activity x calibrated intensity
    (:func:`activity_baseline`); ``"assumptions"``: the assumed sector growth rates only;
    ``"forecast"`` replaces the assumed sector growth of the first six years by a damped-trend
    forecast of each sector's energy history (needs six years of history).
    """
    history = history or city_history()
    if baseline not in ("activity", "assumptions", "forecast"):
        raise InputError(
            "baseline must be 'activity', 'assumptions' or 'forecast'",
            field="baseline",
            value=baseline,
        )
    inputs = history.model_inputs(baseline)
    if baseline == "forecast":
        inputs["growth_override"] = forecast_growth(history)
    runs = []
    for name in names:  # a few scenarios
        spec = load_scenario(name, url=url)
        measures = cat.resolve_measures(spec["measures"])
        runs.append(
            sc.simulate(
                **inputs, measures=measures, draws=draws, seed=seed, end_year=end_year, name=name
            )
        )
    base_run = sc.simulate(**inputs, measures=[], end_year=end_year, name="baseline")
    return runs, base_run, history


def history_decomposition(history: CityHistory, *, method: str = "additive") -> pd.DataFrame:
    """Chained LMDI-I Kaya decomposition of the city history (year on year)."""

    d = history.drivers.sort_values("year")
    f = kaya_factors(d["population"], d["gdp"], d["energy_tce"], d["emissions_tco2e"])
    f.insert(0, "year", d["year"].to_numpy())
    return decompose_panel(f, method=method)


__all__ = [
    "CityHistory",
    "activity_baseline",
    "calibration_fit",
    "city_history",
    "driver_series",
    "ensure_default_scenarios",
    "forecast_growth",
    "forecast_history",
    "history_decomposition",
    "history_stirpat",
    "least_cost_pathway",
    "list_scenarios",
    "load_scenario",
    "long_history",
    "measure_potentials",
    "run_scenarios",
    "save_scenario",
    "scenario_results",
    "scenario_versions",
    "stirpat_frame",
]


def forecast_growth(history: CityHistory, *, horizon: int = 6) -> pd.DataFrame:
    """Near-term sector growth from damped-trend forecasts of the sector energy history."""

    return growth_from_forecast(history.emissions, value="energy_tce", horizon=horizon)


#: STIRPAT drivers (not the Kaya identity rearranged): name -> how it is computed from the
#: driver series (:func:`driver_series`).
STIRPAT_DRIVERS = {
    "population": "population [10^4 persons]",
    "affluence": "GDP per capita, comparable prices [10^4 CNY/person]",
    "industrial_share": "secondary-sector value added / GDP (current prices)",
    "urbanisation": "urban population share (yearbook_series urbanisation_rate_pct)",
}


def driver_series(history: CityHistory) -> pd.DataFrame:
    """The drivers by year (:data:`citycarbon.pathways.history.SERIES_COLUMNS`): the city's
    yearbook series where it supplied one, else the inventory years' ``city_statistics``
    (population, GDP at comparable prices, secondary share of current-price GDP)."""
    if history.series is not None:
        return history.series
    d = history.drivers.set_index("year")
    w = history.statistics if history.statistics is not None else pd.DataFrame(index=d.index)
    w = w.reindex(d.index)
    share = (
        w["va_secondary"] / w["gdp_current"]
        if {"va_secondary", "gdp_current"} <= set(w)
        else np.nan
    )
    out = pd.DataFrame(
        {
            "population": d["population"],
            "gdp": d["gdp"],
            "gdp_base_year": d["gdp_price_basis"].str.extract(r"(\d{4})", expand=False)
            if "gdp_price_basis" in d
            else np.nan,
            "urbanisation": np.nan,
            "industrial_share": share,
            "energy_tce": np.nan,
            "emissions_tco2e": np.nan,
            "citation": "",
        }
    )
    return out.rename_axis("year").reset_index()[SERIES_COLUMNS]


def long_history(history: CityHistory) -> pd.DataFrame:
    """The inventory years spliced onto the driver series
    (:func:`citycarbon.pathways.history.splice_history`): emissions and energy of the inventory
    where it has the year, else of the yearbook series, with each year's ``source``."""
    inventory = history.drivers[["year", "emissions_tco2e", "energy_tce"]]
    return splice_history(inventory, driver_series(history))


def stirpat_frame(history: CityHistory) -> pd.DataFrame:
    """``year, source, citation, emissions_tco2e`` and the :data:`STIRPAT_DRIVERS` given in
    every year with emissions (a driver missing in one of them is left out)."""
    h = long_history(history).dropna(subset=["emissions_tco2e", "population", "gdp"])
    frame = pd.DataFrame(
        {
            "year": h["year"],
            "source": h["source"],
            "citation": h["citation"].fillna(""),
            "emissions_tco2e": h["emissions_tco2e"],
            "population": h["population"],
            "affluence": h["gdp"] / h["population"],
            "industrial_share": h["industrial_share"],
            "urbanisation": h["urbanisation"],
        }
    )
    return frame.dropna(axis=1, how="any").reset_index(drop=True)


def history_stirpat(history: CityHistory, **kw) -> dict:
    """STIRPAT of city emissions on population, affluence, industrial share (and urbanisation
    where given), with its diagnostics: VIF per driver, condition number, sample size.

    Returns
    -------
    dict
        ``drivers`` (used), ``diagnostics`` (per driver: vif, flag), ``summary`` (n_obs,
        n_coefficients, residual_df, condition_number and flags, first_year, last_year and the
        years from the inventory and from the yearbook series), ``sample`` (the regression's
        years: origin, the series row's citation, emissions and drivers), ``elasticities`` (ridge +
        bootstrap, :func:`citycarbon.pathways.stirpat.stirpat_ridge`) or None with ``reason``
        when the history is too short to estimate them (observations < drivers + 2).
    """
    frame = stirpat_frame(history)
    drivers = [d for d in STIRPAT_DRIVERS if d in frame.columns]
    diag, summary = collinearity_diagnostics(frame, "emissions_tco2e", drivers, check_size=False)
    summary["first_year"], summary["last_year"] = int(frame["year"].min()), int(frame["year"].max())
    summary["years_inventory"] = int((frame["source"] == "inventory").sum())
    summary["years_series"] = int((frame["source"] == "series").sum())
    sample = frame[["year", "source", "citation", "emissions_tco2e", *drivers]]
    out = {
        "drivers": drivers,
        "diagnostics": diag,
        "summary": summary,
        "sample": sample,
        "elasticities": None,
    }
    if len(frame) < len(drivers) + 2:
        out["reason"] = (
            f"{len(frame)} years of history for {len(drivers)} drivers: at least "
            f"{len(drivers) + 2} are needed to estimate elasticities"
        )
        return out
    out["elasticities"] = stirpat_ridge(frame, "emissions_tco2e", drivers, **kw)
    return out


def measure_potentials(
    history: CityHistory, measures: list[cat.Measure], *, year: int, basis: str = "location"
) -> dict:
    """Inputs of the least-cost LP from a scenario's measures.

    - order and cost: the netted MACC in ``year`` (:func:`citycarbon.pathways.macc.macc_netted`,
      the scenario's timing), cost per tonne ``c_m``;
    - potential ``a[m, y]``: the netted abatement of each measure at full deployment from the
      year after the base year (the merit-order package run cumulatively), every model year;
    - speed ``1 / (full_year - start_year)`` and earliest year ``start_year`` of the catalogue.

    Returns ``{"macc", "potential" (measures x years; empty without abating measures),
    "cost", "max_step", "earliest",
    "baseline" (year -> net emissions on ``basis``), "gdp" (year -> GDP)}``.
    """
    inputs = history.model_inputs()
    base_run = sc.simulate(measures=[], name="baseline", **inputs)
    curve = mc.macc_netted(base_run, measures, year=year, basis=basis, **inputs)
    if len(curve):
        curve = curve.dropna(subset=["cost_cny_per_tco2e"])
    else:  # no measures: an empty curve with the columns the rest reads
        curve = pd.DataFrame(columns=["id", "cost_cny_per_tco2e"])
    by_id = {m.id: m for m in measures}
    first = history.base_year + 1
    full = [replace(by_id[i], start_year=first, full_year=first) for i in curve["id"]]
    nets = [mc.net_emissions(base_run, basis)[0]]
    for k in range(len(full)):  # one cumulative run per measure (a dozen, vectorised)
        run = sc.simulate(measures=full[: k + 1], name=full[k].id, **inputs)
        nets.append(mc.net_emissions(run, basis)[0])
    years = base_run.years
    potential = pd.DataFrame(
        -np.diff(np.stack(nets), axis=0), index=list(curve["id"]), columns=years
    ).loc[:, years > history.base_year]
    span = np.array([max(by_id[i].full_year - by_id[i].start_year, 1) for i in curve["id"]])
    return {
        "macc": curve,
        "potential": potential,
        "cost": curve.set_index("id")["cost_cny_per_tco2e"],
        "max_step": pd.Series(1.0 / span, index=list(curve["id"])),
        "earliest": pd.Series([by_id[i].start_year for i in curve["id"]], index=curve["id"]),
        "baseline": pd.Series(mc.net_emissions(base_run, basis)[0], index=years),
        "gdp": pd.Series(base_run.gdp[0], index=years),
    }


def least_cost_pathway(
    history: CityHistory,
    measures: list[cat.Measure],
    *,
    caps: dict[int, float] | None = None,
    intensity_targets: list[dict] | None = None,
    year: int = 2035,
    basis: str = "location",
) -> dict:
    """The least-cost deployment of ``measures`` meeting CO2 caps (year -> tCO2e) and/or
    CO2-intensity targets (``base_year, year, reduction``), by linear programming (HiGHS).

    An intensity target becomes the cap ``(1 - R) x C_base / GDP_base x GDP_year``
    (:func:`citycarbon.pathways.optimize.intensity_cap_tco2e`) with ``C_base`` the inventory's
    emissions when the target's base year is in the history, else the baseline's (a
    simplification: deployment before the target's base year does not move its starting
    point); a target whose base year has no emissions (before the history) or whose year is
    outside the horizon is left out and listed in ``skipped_targets``. Returns the LP result
    (:func:`citycarbon.pathways.optimize.least_cost_deployment`) plus ``macc`` (the netted
    curve whose order and costs it uses), ``caps`` and ``skipped_targets``.
    """
    got = measure_potentials(history, measures, year=year, basis=basis)
    hist = history.drivers.set_index("year")
    years = got["baseline"].index[got["baseline"].index > history.base_year]
    cap = {int(y): float(v) for y, v in (caps or {}).items() if y in years}  # inside the horizon
    skipped = []
    for t in intensity_targets or []:  # a handful of targets
        b = int(t["base_year"])
        known = b in hist.index or b in got["baseline"].index
        if not (years[0] <= t["year"] <= years[-1]) or not known:
            skipped.append(t)  # outside the horizon, or a base year without emissions
            continue
        base_em = (
            float(hist.at[b, "emissions_tco2e"]) if b in hist.index else float(got["baseline"][b])
        )
        gdp_b = float(hist.at[b, "gdp"]) if b in hist.index else float(got["gdp"][b])
        value = float(
            opt.intensity_cap_tco2e(base_em, gdp_b, got["gdp"][t["year"]], t["reduction"])
        )
        cap[int(t["year"])] = min(value, cap.get(int(t["year"]), np.inf))
    status = "no_measures" if got["potential"].empty else "no_constraint" if not cap else None
    if status:  # nothing to optimise: said, not raised (the request itself was valid)
        emissions = pd.DataFrame(
            {
                "year": years,
                "baseline_tco2e": got["baseline"][years].to_numpy(),
                "cap_tco2e": pd.Series(cap, dtype=float).reindex(years).to_numpy(),
            }
        )
        result = opt.unsolved(status, status.replace("_", " "), emissions)
        return {**result, "macc": got["macc"], "caps": cap, "skipped_targets": skipped}
    result = opt.least_cost_deployment(
        got["potential"],
        got["cost"],
        got["baseline"],
        pd.Series(cap).sort_index(),
        base_year=history.base_year,
        rate=cat.discount_rate(),
        max_step=got["max_step"],
        earliest_year=got["earliest"],
    )
    result["macc"] = got["macc"]
    result["caps"] = cap
    result["skipped_targets"] = skipped
    return result


def scenario_results(
    names: list[str],
    *,
    draws: int = 1000,
    seed: int = 0,
    macc_of: str | None = None,
    macc_year: int = 2040,
    cobenefit_year: int = 2030,
) -> dict:
    """Everything a scenario page needs, as DataFrames plus a JSON-ready chart structure.

    Keys: ``summary`` (one row per scenario), ``trajectory`` (year, sector, emissions_tco2e),
    ``sector_peaks``,
    ``fan`` (percentiles of gross emissions), ``intensity`` (targets met/missed),
    ``cobenefits``, ``economics`` (estimates), ``macc`` (when ``macc_of`` is given), ``chart``
    (:func:`citycarbon.pathways.scenario.chart_data`), ``method`` (how the inputs were built).
    """

    ensure_default_scenarios()
    history = city_history()
    runs, baseline, _ = run_scenarios(names, draws=draws, seed=seed, history=history)
    out = {
        "summary": sc.compare(runs).reset_index(),
        "trajectory": pd.concat([sc.trajectory(r) for r in runs], ignore_index=True),
        "fan": pd.concat([sc.fan_chart(r) for r in runs], ignore_index=True),
        "intensity": pd.concat(
            [sc.intensity_check(r).assign(scenario=r.name) for r in runs], ignore_index=True
        ),
        "cobenefits": pd.concat(
            [cb.cobenefits(r, baseline, year=cobenefit_year) for r in runs], ignore_index=True
        ),
        "economics": pd.concat([ec.economics(r, baseline) for r in runs], ignore_index=True),
        "sector_peaks": pd.concat([sc.sector_peaks(r) for r in runs], ignore_index=True),
        "chart": sc.chart_data(runs),
        "method": history.method,
    }
    if macc_of:
        measures = cat.resolve_measures(load_scenario(macc_of)["measures"])
        out["macc"] = mc.macc(baseline, measures, year=macc_year, **history.model_inputs())
        out["chart"]["macc"] = mc.macc_chart(out["macc"])
    return out


def forecast_history(history: CityHistory, *, horizon: int = 6, method: str = "holt_damped"):
    """Statistical forecasts (with backtests) of the city's emissions, GDP and population.

    Needs at least 6 years of history (the demo city has fewer: an :class:`InputError` says so).
    Returns ``(forecasts, backtests)``: long DataFrames with a ``series`` column.
    """

    d = history.drivers.set_index("year").sort_index()
    fcs, bts = [], []
    for col in ("emissions_tco2e", "gdp", "population"):  # three series
        fcs.append(forecast_series(d[col], horizon, method=method).assign(series=col))
        _, summary = backtest(d[col], horizon=min(3, horizon), method=method)
        bts.append(summary.to_frame().T.assign(series=col))
    return pd.concat(fcs, ignore_index=True), pd.concat(bts, ignore_index=True)
