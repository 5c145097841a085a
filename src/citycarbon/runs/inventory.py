"""Run the city energy balance and GHG inventory: read lake and catalog, compute, write results.

The domain work is in :mod:`citycarbon.accounting.balance`, :mod:`~citycarbon.accounting.inventory`
and :mod:`~citycarbon.accounting.uncertainty`; this module only gathers their inputs (lake
tables ``energy_balance``, ``energy_monthly``, ``city_statistics``, ``industrial_output`` (IPPU,
:mod:`~citycarbon.accounting.ippu`), ``green_electricity``; the enterprise, park and
region registries; the city's factor profile), calls them and writes the results with
``run_id``, ``factor_profile`` and ``method`` to ``<lake>/results/<name>/run_id=<id>/``.

Results (columns: see ``RESULTS``): ``energy_balance``, ``city_inventory``, ``city_indicators``,
``inventory_uncertainty``, ``inventory_reconciliation``, ``city_scope2`` (the scope-2 basis:
declared grid region and factor year, the sensitivity to the other grid regions, market-based),
``gpc_inventory`` (:mod:`~citycarbon.accounting.gpc`), ``city_sinks`` and ``city_transport``
(transport by mode, trip and flight phase, memo items flagged:
:mod:`~citycarbon.accounting.transport`).

Every scope-2 figure uses the one declared basis: the city config's ``factors.grid_region``, the
factor published for the latest year up to the data year
(:func:`citycarbon.accounting.electricity.grid_factors`); the rows' ``method`` names the factor
year, so data of a year later than the latest published factor say which year's factor they use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from citycarbon import units
from citycarbon.accounting import agriculture as agriculture_
from citycarbon.accounting import balance as bal
from citycarbon.accounting import electricity as elec
from citycarbon.accounting import fugitive as fugitive_
from citycarbon.accounting import gpc
from citycarbon.accounting import inventory as inv
from citycarbon.accounting import ippu as ippu_
from citycarbon.accounting import sinks as sinks_
from citycarbon.accounting import transport as transport_
from citycarbon.accounting import uncertainty as unc
from citycarbon.accounting import waste as waste_
from citycarbon.accounting.energy import energy_consumption_tce
from citycarbon.accounting.gwp import gwp_values
from citycarbon.config import as_city
from citycarbon.config.settings import get_settings
from citycarbon.contract.results import ENTERPRISE_MONTH_GASES
from citycarbon.contract.results import result as declared
from citycarbon.errors import InputError
from citycarbon.factors import fuels, resolve_fuels
from citycarbon.records import PART_SEP, join_records, message_record
from citycarbon.store import catalog, lake, results

RESULTS = (
    "energy_balance",
    "city_inventory",
    "city_indicators",
    "inventory_uncertainty",
    "inventory_reconciliation",
    "city_scope2",
    "gpc_inventory",
    "city_sinks",
    "city_transport",
)
#: The method records of the inventory's rows (:mod:`citycarbon.contract.records`; said by the
#: faces' catalogs, ``run_method.<key>``).
METHOD_CITY = message_record("city_top_down")
METHOD_MONTHLY = message_record("monthly_spread")
METHOD_ENTITY = message_record("entity_bottom_up")
METHOD_NO_BALANCE = message_record("no_balance")
METHOD_IPPU_OTHER = message_record("ippu_other_ne")


def compute_inventory(
    years=None,
    *,
    run_id: str | None = None,
    base_year: int | None = None,
    city=None,
    settings=None,
    write: bool = True,
    mc_iterations: int = 10_000,
) -> dict[str, pd.DataFrame]:
    """Compute the energy balance, inventory, indicators, uncertainty and reconciliation.

    Parameters
    ----------
    years : iterable of int, optional
        Data years (default: every year of the city's energy balance in the lake).
    run_id : str, optional
        Run id recorded with the results (default: a new one).
    base_year : int, optional
        Base year of the intensity declines (default: the first year of the city's energy
        balance in the lake, whichever years are computed).
    city : str, Path or CityConfig, optional
        City (default: ``$CITYCARBON_CITY`` or xiamen).
    write : bool
        Write the results through the results store: the partitions of ``years`` (every year
        computed when None) are replaced, other years keep their current rows.
    mc_iterations : int
        Monte Carlo draws of Approach 2.

    Returns
    -------
    dict of str to pandas.DataFrame
        Result name -> table (see the module docstring).

    Raises
    ------
    InputError
        No energy balance of the city in the lake, or no comparable-price GDP for a year.
    """
    settings = settings or get_settings()
    cfg = as_city(city)
    profile = cfg.factor_profile("inventory")
    run_id = results.run_id_here(run_id)
    version = profile.version
    url = settings.database_url
    requested = sorted({int(y) for y in years}) if years is not None else None
    if base_year is None:  # the same base year whichever years are recomputed
        have = lake.read_current(
            "energy_balance", None, columns=["region_code", "year"], lake=settings.lake, url=url
        )
        have = have.loc[have["region_code"] == cfg.adcode, "year"]
        base_year = int(have.min()) if len(have) else None
    if requested is not None and base_year is not None:
        years = sorted({*requested, int(base_year)})  # the base year is needed too
    filt = {"year": [int(y) for y in years]} if years is not None else None
    entries = lake.read_current("energy_balance", filt, lake=settings.lake, url=url)
    entries = entries[entries["region_code"] == cfg.adcode]
    if entries.empty:
        raise InputError(
            f"no energy balance (能源平衡表) of {cfg.name.zh} ({cfg.adcode}) in the lake"
            + (f" for {sorted(filt['year'])}" if filt else "")
            + ": ingest one first (citycarbon ingest energy_balance FILE)",
            source="lake table energy_balance",
        )
    year_list = sorted(int(y) for y in entries["year"].unique())
    base_year = int(base_year or year_list[0])
    # years with enterprise accounts but no balance yet (the current year, say): bottom-up only
    have_ents = results.current(
        ENTERPRISE_MONTH_GASES, partitions=requested, columns=["year"], lake=settings.lake
    )["year"]
    open_years = sorted({int(y) for y in have_ents.unique()} - set(year_list))
    if requested is not None:
        open_years = [y for y in open_years if y in requested]
    ent_years = sorted({*year_list, *open_years})

    # ---- energy balance
    completed = bal.complete_balance(entries)
    coefs = _coefficients(completed, profile)
    btce = bal.balance_tce(completed, coefs)
    energy_balance = _label_balance(btce).assign(
        run_id=run_id, factor_profile=version, method=_balance_method(btce["year"], profile)
    )
    energy = bal.energy_indicators(btce, fuels())

    # ---- city, top-down
    stat_units = fuels()["stat_unit"]
    act = inv.combustion_activity(completed)
    fuel_rows = inv.combustion_gases(act, profile, stat_units)
    basis = declared_grid_factors(cfg, profile, ent_years)  # open years: enterprise rows
    grid = basis.set_index("year")["ef_tco2_per_mwh"]
    keys = ["region_code", "year", "sector", "gas", "scope"]
    # transport by mode (transport_fuel) replaces the balance's one 1.A.3 of its years
    transport = _transport_city(cfg, year_list, profile, settings)
    by_mode = fuel_rows["sector"].eq("1.A.3") & fuel_rows["year"].isin(set(transport["year"]))
    fuel_rows = fuel_rows[~by_mode]
    domestic = transport[~transport["memo"]]
    scope1 = _sum_with_notation(pd.concat([fuel_rows, domestic.assign(scope=1)]), keys)
    # waste (4.A-4.D), agriculture (3.A, 3.C) and fugitive (1.B.1, 1.B.2) are always reported
    # by category, estimated, NE or NO with the reason
    missing = [s for s in inv.NOT_ESTIMATED if s not in {*scope1["sector"], "1.B", "3", "4"}]
    waste_city = _waste_city(cfg, year_list, profile, settings)
    other_city = _other_city(cfg, year_list, profile, settings)
    ippu_rows, ippu_prov = _ippu_rows(ent_years, profile, settings)
    ippu_city = _ippu_city(
        ippu_rows[ippu_rows["year"].isin(year_list)], ippu_prov, cfg.adcode, year_list
    )
    scope1 = pd.concat(
        [
            scope1,
            ippu_city,
            waste_city.drop(columns="method"),
            other_city.drop(columns="method"),
            inv.not_estimated_rows(cfg.adcode, year_list, missing),
        ],
        ignore_index=True,
    )
    scope2 = inv.net_imported_electricity_rows(completed, grid)
    city_year = inv.with_bases(scope1, scope2.drop(columns="net_imported_mwh"))
    city_year = city_year.assign(
        level="city", entity_code=cfg.adcode, entity_name=cfg.name.zh, month=np.nan
    )
    no_balance = inv.with_bases(
        inv.not_estimated_rows(cfg.adcode, open_years, sorted(set(city_year["sector"]))),
        pd.DataFrame(columns=["region_code", "year", "sector", "gas", "scope"]),
    ).assign(level="city", entity_code=cfg.adcode, entity_name=cfg.name.zh, month=np.nan)

    # ---- enterprises, bottom-up
    ent_rows = _enterprise_rows(ent_years, settings)
    ent_energy = _enterprise_energy(year_list, settings)
    ent_rows = pd.concat([ent_rows, ippu_rows], ignore_index=True)
    reg = catalog.registry_frame("enterprises", url=url).set_index("credit_code")
    ent_rows = ent_rows.join(
        reg[["industry_code", "district_code", "park_code"]], on="enterprise_code"
    )
    ent_rows = inv.with_bases(ent_rows[ent_rows["scope"] == 1], ent_rows[ent_rows["scope"] == 2])
    yearly_keys = ["enterprise_code", "industry_code", "district_code", "park_code", "year"]
    rk = ["sector", "gas", "scope", "basis"]
    ent_year = ent_rows.groupby(yearly_keys + rk, as_index=False, dropna=False)[
        ["emissions_t", "emissions_tco2e"]
    ].sum(min_count=1)
    regions = catalog.registry_frame("regions", url=url).set_index("code")["name_zh"]
    parks = catalog.registry_frame("parks", url=url).set_index("code")["name_zh"]
    # the enterprise accounts know transport as one 1.A.3: close them on the modes' sum
    city_one = city_year.assign(sector=transport_.one_category(city_year["sector"]))
    levels = [
        inv.roll_up(ent_year, city_one, "district_code", level="district", names=regions),
        inv.roll_up(ent_year, city_one, "park_code", level="park", names=parks),
        inv.roll_up(ent_year, city_one, "industry_code", level="industry"),
        inv.roll_up(ent_year, city_one, "enterprise_code", level="enterprise", names=reg["name"]),
    ]
    sub = pd.concat(levels, ignore_index=True).assign(region_code=cfg.adcode, month=np.nan)
    sub.loc[sub["emissions_t"].isna(), "notation_key"] = "NE"
    months = inv.spread_over_months(
        city_year,
        ent_rows.groupby(["year", "month", *rk], as_index=False)[
            ["emissions_t", "emissions_tco2e"]
        ].sum(min_count=1),
    ).assign(level="city", entity_code=cfg.adcode, entity_name=cfg.name.zh, region_code=cfg.adcode)
    months["notation_key"] = np.where(months["emissions_t"].isna(), "NE", "")
    city_inventory = pd.concat(
        [
            city_year.assign(method=METHOD_CITY),
            no_balance.assign(method=METHOD_NO_BALANCE),
            months.assign(method=join_records(METHOD_CITY, METHOD_MONTHLY)),
            sub.assign(method=METHOD_ENTITY),
        ],
        ignore_index=True,
    )
    city_inventory["method"] = _ippu_methods(city_inventory, ippu_prov)
    city_inventory["method"] = _own_methods(city_inventory, waste_city)
    city_inventory["method"] = _own_methods(city_inventory, other_city)
    city_inventory["method"] = _own_methods(city_inventory, _transport_methods(domestic))
    city_inventory["method"] = _scope2_methods(city_inventory, basis)
    city_inventory = inv.label_sectors(city_inventory)
    city_inventory["month"] = city_inventory["month"].astype("Int64")
    city_inventory["scope"] = city_inventory["scope"].astype("int64")
    city_inventory = city_inventory[[*inv.INVENTORY_COLUMNS, "method"]].assign(
        run_id=run_id, factor_profile=version
    )

    # ---- GPC reporting framework and the scope-2 basis (sensitivity, market-based)
    gpc_activity = gpc.energy_activity(completed)
    city_sinks = _city_sinks(cfg, year_list, settings)
    gpc_rows = _gpc_rows(gpc_activity, city_year, profile, basis, city_sinks, transport)
    city_scope2 = _city_scope2(
        cfg, profile, gpc_activity, city_year, scope2, year_list, settings
    ).assign(run_id=run_id, factor_profile=version)

    # ---- indicators, uncertainty, reconciliation
    stats = lake.read_current("city_statistics", {"year": year_list}, lake=settings.lake, url=url)
    indicators = _indicators(
        cfg,
        city_inventory[city_inventory["year"].isin(year_list)],
        energy,
        gpc.totals(gpc_rows),
        stats,
        year_list,
        base_year,
    ).assign(run_id=run_id, factor_profile=version)
    indicators = pd.concat(
        [
            indicators,
            _net_indicators(indicators, city_sinks, cfg.adcode).assign(
                run_id=run_id, factor_profile=version
            ),
        ],
        ignore_index=True,
    )
    mobile = domestic.assign(ch4_n2o_context="mobile_" + domestic["mode"])
    uncertainty = _uncertainty(
        pd.concat([fuel_rows, mobile], ignore_index=True),
        scope2,
        cfg.adcode,
        year_list,
        mc_iterations,
        ippu=ippu_city,
        own=pd.concat(
            [
                waste_city.assign(kind="waste"),
                other_city.assign(
                    kind=np.where(
                        other_city["sector"].str.startswith("3"), "agriculture", "fugitive"
                    )
                ),
            ],
            ignore_index=True,
        ),
    )
    reconciliation = pd.concat(
        [
            _reconciliation(city_one, ent_year[ent_year["year"].isin(year_list)], cfg.adcode),
            _energy_reconciliation(completed, ent_energy, coefs, cfg.adcode),
        ],
        ignore_index=True,
    ).assign(run_id=run_id, factor_profile=version)
    out = {
        "energy_balance": energy_balance,
        "city_inventory": city_inventory,
        "city_indicators": indicators,
        "inventory_uncertainty": uncertainty.assign(run_id=run_id, factor_profile=version),
        "inventory_reconciliation": reconciliation,
        "city_scope2": city_scope2,
        "gpc_inventory": gpc_rows.assign(run_id=run_id, factor_profile=version),
        "city_sinks": city_sinks.assign(run_id=run_id, factor_profile=version),
        "city_transport": transport.assign(run_id=run_id, factor_profile=version),
    }
    if write:
        parts = requested if requested is not None else ent_years
        with results.transaction(run_id, lake=settings.lake, factor_profile=version):
            for name, frame in out.items():
                results.write(declared(name), frame, partitions=parts)
    return out


# ------------------------------------------------------------------------------------ pieces
def declared_grid_factors(cfg, profile, years) -> pd.DataFrame:
    """The grid factor of the city's declared region (``factors.grid_region``) for each data
    year, with the year it was published for and its source
    (:func:`citycarbon.accounting.electricity.grid_factors`): the one scope-2 basis of the
    inventory, the enterprise accounts and the emission-flow module."""
    return elec.grid_factors(profile, [cfg.factors.grid_region], years)


def basis_label(factors: pd.DataFrame) -> pd.Series:
    """Per factor row: ``grid_ef[<region>] published for <factor year> (data year <year>)``."""
    ctx = np.where(factors["context"] != "", ", " + factors["context"], "")
    return (
        "grid_ef["
        + factors["grid_region"]
        + ctx
        + "] published for "
        + factors["factor_year"].astype(str)
        + " (data year "
        + factors["year"].astype(str)
        + ")"
    )


def grid_factor_records(factors: pd.DataFrame) -> pd.Series:
    """Per factor row, the method record of :func:`basis_label`: ``grid_factor`` with the grid
    region, context, the year the factor was published for and the data year."""
    return pd.Series(
        [
            message_record("grid_factor", grid_region=g, context=c or None, factor_year=fy, year=y)
            for g, c, fy, y in zip(  # a handful of regions and years
                factors["grid_region"],
                factors["context"],
                factors["factor_year"],
                factors["year"],
                strict=True,
            )
        ],
        index=factors.index,
        dtype=object,
    )


def _scope2_methods(inventory: pd.DataFrame, basis: pd.DataFrame) -> pd.Series:
    """The ``method`` of scope-2 rows with the grid factor they used and its year."""
    record = pd.Series(grid_factor_records(basis).to_numpy(), index=basis["year"].to_numpy())
    s2 = (inventory["sector"] == inv.NET_IMPORT_SECTOR).to_numpy()
    used = record.reindex(inventory["year"].to_numpy()).fillna("").to_numpy()
    with_factor = inventory["method"].astype(str) + PART_SEP + used
    return pd.Series(
        np.where(s2 & (used != ""), with_factor, inventory["method"]), index=inventory.index
    )


def _gpc_rows(activity, city_year, profile, basis, city_sinks, transport) -> pd.DataFrame:
    """The GPC reporting table of the city years: energy from the balance
    (:mod:`citycarbon.accounting.gpc`, scope 2 on the declared grid factor and, where heat is
    consumed, the profile's heat factor), other sectors from the territorial inventory rows.
    Years with transport by mode take its fuel rows (II.x.1, II.x.3, memo M.II.x) instead of
    the balance's transport and bunker fuel (electricity of transport stays from the balance)."""
    mode_years = activity["year"].isin(set(transport["year"]))
    fuel_of_trips = activity["item"].isin(["transport", "bunker_home"]) & ~activity["fuel"].isin(
        gpc.CARRIERS
    )
    activity = activity[~(mode_years & fuel_of_trips)]
    grid = basis.set_index("year")["ef_tco2_per_mwh"]
    heat_years = sorted(int(y) for y in activity.loc[activity["fuel"] == "heat", "year"].unique())
    heat = {y: profile.provenance("heat_ef", "heat", year=y) for y in heat_years}  # a few years
    heat_ef = pd.Series(
        {y: profile.lookup("heat_ef", "heat", "tCO2/GJ", year=y) for y in heat_years},
        dtype="float64",
    )
    energy = gpc.energy_emissions(activity, profile, fuels()["stat_unit"], grid, heat_ef)
    # AFOLU land (V.2) from the sinks outside the memo items: removals negative, as GPC reports
    land = city_sinks[city_sinks["sector"] != "memo"]
    land = land[["region_code", "year", "sector"]].assign(
        gas="CO2", emissions_t=land["co2_t"], emissions_tco2e=land["co2_t"]
    )
    other = gpc.inventory_rows(
        pd.concat([city_year[city_year["basis"] == "territorial"], land], ignore_index=True)
    )
    # fuel of trips and the T&D losses of their electricity may share a reference (II.2.3)
    rows = pd.concat([energy, transport[gpc.ROW_COLUMNS], other], ignore_index=True)
    rows = rows.groupby(gpc.ROW_COLUMNS[:4], as_index=False)[gpc.ROW_COLUMNS[4:]].sum(min_count=1)
    table = gpc.reporting_table(rows, city_year)
    # with transport by mode a transport reference without rows has no such fuel (NO), not
    # fuel included elsewhere (IE: the balance's unsplit transport)
    no_fuel = (
        table["year"].isin(set(transport["year"]))
        & table["gpc_ref"].str.match(r"II\.\d\.[13]$")
        & table["notation_key"].eq("IE")
    )
    table.loc[no_fuel, "notation_key"] = "NO"
    table.loc[no_fuel, ["note_zh", "note_en"]] = (
        gpc.gpc_notes().loc["no_transport_fuel", ["note_zh", "note_en"]].to_numpy()
    )
    # a reference whose inventory rows are all NO (no coal mines, say) is NO, not NE
    not_occurring = city_year[city_year["notation_key"].eq("NO")]
    refs = gpc.inventory_rows(not_occurring.assign(emissions_t=0.0, emissions_tco2e=0.0))
    other = city_year[~city_year["notation_key"].eq("NO")]
    other = gpc.inventory_rows(other.assign(emissions_t=0.0, emissions_tco2e=0.0))
    keys = gpc.ROW_COLUMNS[:4]
    refs = refs[keys].merge(other[keys], how="left", indicator=True)
    refs = refs[refs.pop("_merge") == "left_only"]
    hit = table.merge(refs.assign(no=True), on=keys, how="left").pop("no").eq(True).to_numpy()
    table.loc[hit, "notation_key"] = "NO"
    table.loc[hit, ["note_zh", "note_en"]] = (
        gpc.gpc_notes().loc["not_occurring", ["note_zh", "note_en"]].to_numpy()
    )
    record = pd.Series(grid_factor_records(basis).to_numpy(), index=basis["year"].to_numpy())
    heat_record = {y: message_record("heat_factor", factor_year=p["year"]) for y, p in heat.items()}
    method = (
        message_record("gpc_framework")
        + PART_SEP
        + table["year"].map(record)
        + table["year"].map(heat_record).radd(PART_SEP).fillna("")
    )
    return table.assign(method=method)


def _city_scope2(cfg, profile, activity, city_year, scope2, year_list, settings) -> pd.DataFrame:
    """The ``city_scope2`` rows: location-based under the declared grid region and the regions
    of ``factors.grid_sensitivity``; market-based (green certificates and contracts of the
    enterprises, the residual factor) for years with a published residual factor."""
    levels = cfg.factors.grid_sensitivity
    regions = [cfg.factors.grid_region, *levels.values()]
    factors = elec.grid_factors(profile, regions, year_list)
    factors["level"] = factors["grid_region"].map({r: lv for lv, r in levels.items()}).fillna("")
    consumed = gpc.electricity_consumed_mwh(activity)
    territorial = city_year[city_year["basis"] == "territorial"]
    location = elec.location_sensitivity(
        factors,
        scope2.groupby("year")["net_imported_mwh"].sum(),
        consumed,
        territorial.groupby("year")["emissions_tco2e"].sum(min_count=1),
        cfg.factors.grid_region,
    ).assign(approach="location_based")
    location["method"] = message_record("location_based") + PART_SEP + grid_factor_records(location)
    key, context = elec.RESIDUAL_FACTOR
    residual = elec.grid_factors(profile, [key], year_list, context=context, skip_unpublished=True)
    parts = [location]
    if len(residual):
        url = settings.database_url
        years = residual["year"].tolist()
        instruments = lake.read_current(
            "green_electricity",
            {"year": years},
            columns=["enterprise_code", "mwh", "instrument", "certificate_id", "year"],
            lake=settings.lake,
            url=url,
        )
        use = lake.read_current(
            "energy_monthly",
            {"year": years, "fuel": "electricity"},
            columns=["enterprise_code", "consumed_total", "year"],
            lake=settings.lake,
            url=url,
        )
        consumers = use.assign(
            mwh=units.convert(
                use["consumed_total"].to_numpy(), fuels().at["electricity", "stat_unit"], "MWh"
            )
        )
        market = elec.market_based_city(
            consumed.reindex(years),
            consumers,
            instruments,
            residual.set_index("year")["ef_tco2_per_mwh"],
        )
        market = residual.merge(market, on="year").assign(
            approach="market_based", level="", declared=False
        )
        market["method"] = message_record("market_based") + PART_SEP + grid_factor_records(market)
        parts.append(market)
    return pd.concat(parts, ignore_index=True).assign(region_code=cfg.adcode)


def _coefficients(completed: pd.DataFrame, profile) -> pd.DataFrame:
    """tce per statistical unit of each fuel and year, on both bases."""
    pairs = completed[["year", "fuel"]].drop_duplicates().reset_index(drop=True)
    stat = fuels()["stat_unit"].reindex(pairs["fuel"]).to_numpy()
    parts = []
    for basis, name in (("calorific", "calorific"), ("equivalent", "coal_equivalent")):
        values = np.empty(len(pairs))
        for y in pairs["year"].unique():  # a handful of years
            rows = (pairs["year"] == y).to_numpy()
            values[rows] = energy_consumption_tce(
                np.ones(rows.sum()),
                stat[rows],
                pairs["fuel"][rows].to_numpy(),
                profile,
                basis=basis,
                year=int(y),
                source="energy balance",
            ).to_numpy()
        parts.append(pairs.assign(tce_basis=name, tce_per_unit=values))
    return pd.concat(parts, ignore_index=True)


def _balance_method(year: pd.Series, profile) -> np.ndarray:
    """The method record of the energy balance (``energy_balance``) with, per year, the coal
    rate its electricity 等价值 used, cited: factor set and version, value, unit, the year of the
    value, and ``assumed_value`` where the value is an assumption."""
    records = {}
    for y in pd.unique(year):  # a handful of years
        row = profile.chosen("coal_equivalent_primary", year=int(y)).loc["electricity"]
        records[y] = join_records(
            message_record(
                "energy_balance",
                set_id=row["set_id"],
                version=row["set_version"],
                rate=f"{row['value']:g}",
                unit=row["unit"],
                rate_year=int(row["year"]),
            ),
            message_record("assumed_value") if row["status"] == "assumption" else "",
        )
    return year.map(records).to_numpy()


def _label_balance(btce: pd.DataFrame) -> pd.DataFrame:
    items = bal.balance_items()
    f = fuels()
    out = btce.copy()
    out["item_zh"] = items["zh"].reindex(out["item"]).to_numpy()
    out["item_en"] = items["en"].reindex(out["item"]).to_numpy()
    out["fuel_zh"] = f["name_zh"].reindex(out["fuel"]).fillna("合计").to_numpy()
    out["fuel_en"] = f["name_en"].reindex(out["fuel"]).fillna("total").to_numpy()
    out["unit"] = f["stat_unit"].reindex(out["fuel"]).fillna("").to_numpy()
    out["order"] = items["order"].reindex(out["item"]).to_numpy()
    cols = [
        "region_code",
        "year",
        "item",
        "item_zh",
        "item_en",
        "order",
        "fuel",
        "fuel_zh",
        "fuel_en",
        "quantity",
        "unit",
        "tce",
        "tce_basis",
        "given",
        "flag",
    ]
    return out[cols]


def _sum_with_notation(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sum over fuels; NE where every fuel of the group is NE."""
    g = rows.groupby(keys, as_index=False)
    out = g[["emissions_t", "emissions_tco2e"]].sum(min_count=1)
    out["notation_key"] = np.where(out["emissions_t"].isna(), "NE", "")
    return out


def _enterprise_rows(year_list, settings) -> pd.DataFrame:
    """Scope-1 and scope-2 rows per enterprise, month, sector and gas: the enterprise accounts
    (result ``enterprise_month_sector_gas_emissions`` of the pipeline's enterprise step, the same
    CO2 as the 企业 pages and the map), never recomputed here."""
    rows = results.current(  # the shape of the IPPU rows they are joined with
        ENTERPRISE_MONTH_GASES, partitions=year_list, columns=ippu_.ROW_COLUMNS, lake=settings.lake
    )
    return rows.astype({"year": "int64", "month": "int64", "scope": "int64"}).assign(
        enterprise_code=rows["enterprise_code"].astype(str)
    )


def _enterprise_energy(year_list, settings) -> pd.DataFrame:
    """The enterprises' energy use per year, balance item and fuel (statistical units), from
    the 205-1 returns: the bottom-up side of the energy reconciliation."""
    url = settings.database_url
    cols = ["enterprise_code", "fuel", "consumed_total", "year"]
    em = lake.read_current(
        "energy_monthly", {"year": list(year_list)}, columns=cols, lake=settings.lake, url=url
    )
    reg = catalog.registry_frame("enterprises", url=url).set_index("credit_code")
    industry = reg["industry_code"].reindex(em["enterprise_code"]).fillna("")
    booked_use = bal.book_enterprise_use(industry.to_numpy(), em["fuel"], em["consumed_total"])
    return (
        booked_use.assign(year=em["year"].to_numpy(), fuel=em["fuel"].to_numpy())
        .groupby(["year", "item", "fuel"], as_index=False)["quantity"]
        .sum()
    )


def _ippu_rows(year_list, profile, settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """IPPU rows per enterprise and month from ``industrial_output`` (:mod:`accounting.ippu`),
    and per (category, gas) the method and factors used or the reason it is NE."""
    cols = ["enterprise_code", "product", "quantity", "unit", "year", "month"]
    out = lake.read_current(
        "industrial_output",
        {"year": list(year_list)},
        columns=cols,
        lake=settings.lake,
        url=settings.database_url,
    )
    rows, prov = ippu_.ippu_emissions(out, profile, source="lake table industrial_output")
    rows["enterprise_code"] = rows["enterprise_code"].astype(str)
    return rows, prov


def _ippu_city(rows: pd.DataFrame, prov: pd.DataFrame, region: str, year_list) -> pd.DataFrame:
    """City IPPU rows per year, category and gas: the sum of the enterprises (bottom-up is the
    only source, so nothing is unattributed), plus NE rows for categories that cannot be
    estimated."""
    vals = ["emissions_t", "emissions_tco2e"]
    city = rows.groupby(["year", "sector", "gas", "scope"], as_index=False)[vals].sum()
    ne = prov.loc[prov["notation_key"] == "NE", ["sector", "gas"]]
    ne = ne.merge(pd.DataFrame({"year": list(year_list)}), how="cross")
    ne = ne.assign(scope=1, emissions_t=np.nan, emissions_tco2e=np.nan)
    parts = [p for p in (city.assign(notation_key=""), ne.assign(notation_key="NE")) if len(p)]
    if not parts:
        return pd.DataFrame(columns=["region_code", "year", "sector", "gas", "scope", *vals])
    out = pd.concat(parts, ignore_index=True).assign(region_code=region)
    out["year"] = out["year"].astype("int64")
    return out


def _ippu_methods(inventory: pd.DataFrame, prov: pd.DataFrame) -> pd.Series:
    """The ``method`` column with the IPPU rows' own method, factors and NE reasons."""
    method = inventory["method"].astype(object)
    by = prov.set_index(["sector", "gas"])["method"]
    key = pd.MultiIndex.from_frame(inventory[["sector", "gas"]].astype(str))
    own = by.reindex(key).to_numpy() if len(by) else np.full(len(inventory), np.nan)
    method = pd.Series(np.where(pd.notna(own), own, method), index=inventory.index)
    method[inventory["sector"] == "2"] = METHOD_IPPU_OTHER
    return method


def _read_all_years(table: str, last_year: int, settings) -> pd.DataFrame:
    """Every year up to ``last_year`` of a yearly lake table (history-dependent methods)."""
    t = lake.read_current(table, lake=settings.lake, url=settings.database_url)
    return t[t["year"] <= last_year].reset_index(drop=True)


def _waste_city(cfg, year_list, profile, settings) -> pd.DataFrame:
    """City waste rows (4.A-4.D) per year and gas from ``waste_disposal`` (every year on record:
    landfill first-order decay needs the deposit history) and ``wastewater``
    (:mod:`citycarbon.accounting.waste`), in tCO2e by the profile's GWP set (CH4 of waste is
    biogenic: ``CH4_non_fossil``)."""
    last = max(year_list)
    rows = waste_.waste_emissions(
        _read_all_years("waste_disposal", last, settings),
        _read_all_years("wastewater", last, settings),
        region_code=cfg.adcode,
        years=year_list,
        climate_zone=cfg.factors.waste_climate_zone,
    )
    gwp = dict(
        zip(
            ["CO2", "CH4", "N2O"],
            gwp_values(["CO2", "CH4_non_fossil", "N2O"], profile),
            strict=True,
        )
    )
    return rows.assign(emissions_tco2e=rows["emissions_t"] * rows["gas"].map(gwp))


def _other_city(cfg, year_list, profile, settings) -> pd.DataFrame:
    """City agriculture rows (3.A.1, 3.A.2, 3.C.4, 3.C.5, 3.C.7) from ``agriculture``
    (:mod:`citycarbon.accounting.agriculture`) and fugitive rows (1.B.1, 1.B.2) from
    ``fugitive_activity`` (:mod:`citycarbon.accounting.fugitive`) of the years, in tCO2e by the
    profile's GWP set (agricultural CH4 is biogenic: ``CH4_non_fossil``; fugitive CH4 is
    fossil)."""
    read = {"lake": settings.lake, "url": settings.database_url}
    filt = {"year": list(year_list)}
    agri = agriculture_.agriculture_emissions(
        lake.read_current("agriculture", filt, **read),
        region_code=cfg.adcode,
        years=year_list,
        temperature_c=cfg.factors.livestock_temperature_c,
    )
    fug = fugitive_.fugitive_emissions(
        lake.read_current("fugitive_activity", filt, **read),
        region_code=cfg.adcode,
        years=year_list,
    )
    names = ["CO2", "CH4", "CH4_non_fossil", "N2O"]
    gwp = dict(zip(names, gwp_values(names, profile), strict=True))
    biogenic = agri["gas"].replace({"CH4": "CH4_non_fossil"})
    agri = agri.assign(emissions_tco2e=agri["emissions_t"] * biogenic.map(gwp))
    fug = fug.assign(emissions_tco2e=fug["emissions_t"] * fug["gas"].map(gwp))
    return pd.concat([agri, fug], ignore_index=True)


def _own_methods(inventory: pd.DataFrame, own: pd.DataFrame) -> pd.Series:
    """The ``method`` of the city's yearly rows of a sector computed on its own (waste,
    transport by mode): equations and defaults, or why NE (``own``: year, sector, gas, method)."""
    keys = ["year", "sector", "gas"]
    by = own.set_index(keys)["method"]
    own = by.reindex(pd.MultiIndex.from_frame(inventory[keys])).to_numpy()
    city = ((inventory["level"] == "city") & inventory["month"].isna()).to_numpy()
    use = city & pd.notna(own)
    return pd.Series(np.where(use, own, inventory["method"]), index=inventory.index)


def _transport_city(cfg, year_list, profile, settings) -> pd.DataFrame:
    """The city's ``transport_fuel`` rows of the years by facility, mode, trip and gas
    (:func:`citycarbon.accounting.transport.transport_emissions`; international trips flagged
    ``memo``)."""
    read = {"lake": settings.lake, "url": settings.database_url}
    fuel = lake.read_current("transport_fuel", {"year": list(year_list)}, **read)
    fuel = fuel[fuel["region_code"] == cfg.adcode]
    out = transport_.transport_emissions(fuel, profile)
    return out.astype({"year": "int64"})


def _transport_methods(domestic: pd.DataFrame) -> pd.DataFrame:
    """One ``method`` per year, mode category and gas of the domestic transport rows: the
    equations, the factors used (unique per category) and any NE part."""
    keys = ["year", "sector", "gas"]
    if domestic.empty:
        return pd.DataFrame(columns=[*keys, "method"])
    used = domestic.groupby(keys)["method"].agg(lambda m: join_records(*sorted(set(m))))
    return (message_record("transport_by_mode") + PART_SEP + used).rename("method").reset_index()


def _city_sinks(cfg, year_list, settings) -> pd.DataFrame:
    """The ``city_sinks`` rows of the years: land by stock difference (``land_carbon``, every
    year on record: the previous stock), blue-carbon sites and the mariculture memo
    (:mod:`citycarbon.accounting.sinks`)."""
    filt = {"year": list(year_list)}
    land = _read_all_years("land_carbon", max(year_list), settings)
    land = land[land["region_code"] == cfg.adcode]
    read = {"lake": settings.lake, "url": settings.database_url}
    sites = lake.read_current("blue_carbon_sites", filt, **read)
    sites = sites[sites["region_code"] == cfg.adcode]
    harvest = lake.read_current("mariculture", filt, **read)
    harvest = harvest[harvest["region_code"] == cfg.adcode]
    cols = [*declared("city_sinks").key, *declared("city_sinks").columns, "method"]
    parts = [
        sinks_.land_stock_difference(land),
        sinks_.blue_carbon_sites(sites, climate_zone=cfg.factors.sink_climate_zone),
        sinks_.mariculture_removals(harvest),
    ]
    out = pd.concat([p.reindex(columns=cols) for p in parts], ignore_index=True)
    out = out[out["year"].isin(year_list)].astype({"year": "int64"})
    return out.reset_index(drop=True)


def _net_indicators(indicators: pd.DataFrame, city_sinks: pd.DataFrame, region) -> pd.DataFrame:
    """Gross emissions, removals and net emissions per year on both bases (city_indicators
    ``removals_tco2e``, ``net_ghg_tco2e``): net = total_ghg_tco2e + removals, the removals of
    ``city_sinks`` outside the memo items, counted once (:func:`sinks.net_emissions`)."""
    parts = []
    for basis, suffix in (("incl_net_imported_electricity", ""), ("territorial", "_territorial")):
        gross = indicators[indicators["indicator"] == f"total_ghg_tco2e{suffix}"]
        gross = gross[gross["period_type"] == "year"].set_index("year")["value"]
        net = sinks_.net_emissions(gross, city_sinks)
        net = net[net["year"].isin(gross.index)]
        for name, column in (("removals_tco2e", "removals_tco2e"), ("net_ghg_tco2e", "net_tco2e")):
            parts.append(
                pd.DataFrame(
                    {
                        "period_type": "year",
                        "year": net["year"].to_numpy(),
                        "period": net["year"].to_numpy(),
                        "indicator": name + suffix,
                        "value": net[column].to_numpy(dtype="float64"),
                        "unit": "tCO2e",
                        "basis": basis,
                    }
                )
            )
    cols = ["region_code", "period_type", "year", "period", "indicator", "value", "unit", "basis"]
    return pd.concat(parts, ignore_index=True).assign(region_code=region)[cols]


def _gdp_comparable_10k_cny(stats: pd.DataFrame, region: str, year_list) -> pd.Series:
    gdp = stats[
        (stats["region_code"] == region)
        & (stats["indicator"] == "gdp")
        & stats["price_basis"].fillna("").str.startswith("comparable_")
    ]
    if gdp.empty:
        raise InputError(
            "no comparable-price GDP (city_statistics gdp, price_basis comparable_YYYY) of "
            f"{region}: intensities need it",
            source="lake table city_statistics",
        )
    bases = sorted(gdp["price_basis"].unique())
    gdp = gdp[gdp["price_basis"] == bases[0]]
    value = units.convert(gdp["value"].to_numpy(), gdp["unit"].iloc[0], "10^4 CNY")
    return pd.Series(value, index=gdp["year"].to_numpy()).reindex(year_list).rename(bases[0])


def _indicators(cfg, inventory, energy, gpc_totals, stats, year_list, base_year):
    region = cfg.adcode
    city = inventory[(inventory["level"] == "city")]
    yearly = city[city["month"].isna()]
    monthly = city[city["month"].notna()]
    rows = []

    def add(period_type, year, period, name, value, unit, basis=""):
        rows.append((period_type, year, period, name, value, unit, basis))

    gdp = _gdp_comparable_10k_cny(stats, region, year_list)
    pop = stats[(stats["region_code"] == region) & (stats["indicator"] == "population")]
    # population is stored in 10^4 persons (INDICATORS); units has no count unit, hence x 1e4
    pop = pop.set_index("year")["value"].reindex(year_list) * 1e4
    totals = {}
    for basis, suffix in (("incl_net_imported_electricity", ""), ("territorial", "_territorial")):
        b = yearly[yearly["basis"] == basis]
        ghg = b.groupby("year")["emissions_tco2e"].sum().reindex(year_list)
        co2 = b[b["gas"] == "CO2"].groupby("year")["emissions_t"].sum().reindex(year_list)
        totals[basis] = ghg
        inten = inv.intensity_per_10k_cny(ghg, gdp)
        co2_inten = inv.intensity_per_10k_cny(co2, gdp)
        for y in year_list:
            add("year", y, y, f"total_ghg_tco2e{suffix}", ghg[y], "tCO2e", basis)
            add("year", y, y, f"co2_t{suffix}", co2[y], "tCO2", basis)
            add(
                "year",
                y,
                y,
                f"intensity_tco2e_per_10k_cny{suffix}",
                inten[y],
                f"tCO2e/10^4 CNY ({gdp.name})",
                basis,
            )
            add(
                "year",
                y,
                y,
                f"co2_intensity_t_per_10k_cny{suffix}",
                co2_inten[y],
                f"tCO2/10^4 CNY ({gdp.name})",
                basis,
            )
            add(
                "year",
                y,
                y,
                f"intensity_decline_pct_vs_base{suffix}",
                inv.decline_pct_vs_base(inten[y], inten.get(base_year, np.nan)),
                f"% vs {base_year}",
                basis,
            )
            add(
                "year",
                y,
                y,
                f"co2_intensity_decline_pct_vs_base{suffix}",
                inv.decline_pct_vs_base(co2_inten[y], co2_inten.get(base_year, np.nan)),
                f"% vs {base_year}",
                basis,
            )
            add("year", y, y, f"per_capita_tco2e{suffix}", ghg[y] / pop[y], "tCO2e/person", basis)
        m = monthly[monthly["basis"] == basis]
        by_m = m.groupby(["year", "month"])["emissions_tco2e"].sum()
        by_m_co2 = m[m["gas"] == "CO2"].groupby(["year", "month"])["emissions_t"].sum()
        for (y, mo), v in by_m.items():
            add("month", y, int(mo), f"total_ghg_tco2e{suffix}", v, "tCO2e", basis)
            add("month", y, int(mo), f"co2_t{suffix}", by_m_co2.get((y, mo), np.nan), "tCO2", basis)
        q = by_m.groupby(
            [by_m.index.get_level_values(0), (by_m.index.get_level_values(1) - 1) // 3 + 1]
        ).sum()
        q_co2 = by_m_co2.groupby(
            [by_m_co2.index.get_level_values(0), (by_m_co2.index.get_level_values(1) - 1) // 3 + 1]
        ).sum()
        for (y, qu), v in q.items():
            add("quarter", y, int(qu), f"total_ghg_tco2e{suffix}", v, "tCO2e", basis)
            add("quarter", y, int(qu), f"co2_t{suffix}", q_co2.get((y, qu), np.nan), "tCO2", basis)
    for basis_name, suffix in (("coal_equivalent", ""), ("calorific", "_calorific")):
        e = energy[(energy["region_code"] == region) & (energy["tce_basis"] == basis_name)]
        e = e.set_index("year").reindex(year_list)
        ei = inv.intensity_per_10k_cny(e["energy_consumption_tce"], gdp)
        for y in year_list:
            add(
                "year",
                y,
                y,
                f"energy_consumption_tce{suffix}",
                e.at[y, "energy_consumption_tce"],
                f"tce ({basis_name})",
                basis_name,
            )
            add(
                "year",
                y,
                y,
                f"energy_intensity_tce_per_10k_cny{suffix}",
                ei[y],
                f"tce/10^4 CNY ({gdp.name})",
                basis_name,
            )
            add(
                "year",
                y,
                y,
                f"energy_intensity_decline_pct_vs_base{suffix}",
                inv.decline_pct_vs_base(ei[y], ei.get(base_year, np.nan)),
                f"% vs {base_year}",
                basis_name,
            )
            add(
                "year",
                y,
                y,
                f"nonfossil_share{suffix}",
                e.at[y, "nonfossil_share"],
                "1 (local production)",
                basis_name,
            )
            add("year", y, y, f"coal_share{suffix}", e.at[y, "coal_share"], "1", basis_name)
    # GPC BASIC / BASIC+ (accounting/gpc.py) and the memo items outside them
    g = gpc_totals.set_index("year")
    for y in year_list:
        if y in g.index:
            note = f"GPC v1.1; NE: {g.at[y, 'not_estimated']}"
            for name, column in (
                ("gpc_basic_tco2e", "basic_tco2e"),
                ("gpc_basic_plus_tco2e", "basic_plus_tco2e"),
                ("gpc_memo_international_bunkers_tco2e", "memo_tco2e"),
            ):
                add("year", y, y, name, g.at[y, column], "tCO2e", note)
    ent = inventory[(inventory["level"] == "enterprise") & inventory["month"].isna()]
    for basis in ("incl_net_imported_electricity", "territorial"):
        e = ent[ent["basis"] == basis]
        covered = e[e["entity_code"] != inv.UNATTRIBUTED].groupby("year")["emissions_tco2e"].sum()
        for y in year_list:
            add(
                "year",
                y,
                y,
                "enterprise_coverage_share" + ("" if basis.startswith("incl") else "_territorial"),
                covered.get(y, 0.0) / totals[basis][y],
                "1",
                basis,
            )
    out = pd.DataFrame(
        rows, columns=["period_type", "year", "period", "indicator", "value", "unit", "basis"]
    )
    out.insert(0, "region_code", region)
    out["value"] = out["value"].astype("float64")
    return out


def _uncertainty(
    fuel_rows, scope2, region, year_list, iterations, ippu=None, own=None
) -> pd.DataFrame:
    """Approaches 1 and 2 per year and basis over the fuel rows, IPPU, the sectors computed on
    their own (``own``: waste, agriculture, fugitive rows with ``kind``; activity range
    ``activity|<kind>``, factor range ``ef|<kind>_<category>``) and scope 2."""
    ranges = unc.uncertainty_ranges()["uncertainty_pct"]
    rows = []
    cats = fuel_rows[fuel_rows["emissions_tco2e"].notna()]
    s2 = scope2.assign(fuel="electricity", ch4_n2o_context="grid")
    ip = ippu[ippu["emissions_tco2e"].notna()] if ippu is not None else pd.DataFrame()
    ws = own[own["emissions_tco2e"].notna()] if own is not None else pd.DataFrame()
    for basis in ("territorial", "incl_net_imported_electricity"):
        for y in year_list:  # a handful of years
            c = cats[cats["year"] == y]
            x = c["emissions_tco2e"].to_numpy()
            ua = np.full(len(c), ranges[("activity", "fuel_combustion")])
            uf = ranges.reindex(pd.MultiIndex.from_arrays([["ef"] * len(c), c["gas"]])).to_numpy()
            group = (c["gas"] + "|" + c["fuel"] + "|" + c["ch4_n2o_context"].astype(str)).to_numpy()
            if len(ip):
                p = ip[ip["year"] == y]
                # electronics F-gases (2.E) vs mineral CO2 (2.A): ranges ef|ippu_electronics ...
                elec = p["sector"].str.startswith("2.E")
                kind = np.where(elec, "ippu_electronics", "ippu_mineral")
                x = np.concatenate([x, p["emissions_tco2e"].to_numpy()])
                ua = np.concatenate([ua, [ranges[("activity", "ippu_production")]] * len(p)])
                uf = np.concatenate(
                    [uf, ranges.reindex(pd.MultiIndex.from_arrays([["ef"] * len(p), kind]))]
                )
                group = np.concatenate([group, ("ippu|" + p["sector"] + "|" + p["gas"]).to_numpy()])
            if len(ws):
                w = ws[ws["year"] == y]
                # one factor range per category (ef|waste_4.A, ef|agriculture_3.A.1 ...), one
                # activity range per kind (activity|waste ...)
                x = np.concatenate([x, w["emissions_tco2e"].to_numpy()])
                act = pd.MultiIndex.from_arrays([["activity"] * len(w), w["kind"]])
                ua = np.concatenate([ua, ranges.reindex(act).to_numpy()])
                kind = (w["kind"] + "_" + w["sector"]).to_numpy()
                uf = np.concatenate(
                    [uf, ranges.reindex(pd.MultiIndex.from_arrays([["ef"] * len(w), kind]))]
                )
                group = np.concatenate(
                    [group, (w["kind"] + "|" + w["sector"] + "|" + w["gas"]).to_numpy()]
                )
            if basis != "territorial":
                e = s2[s2["year"] == y]
                x = np.concatenate([x, e["emissions_tco2e"].to_numpy()])
                ua = np.concatenate(
                    [ua, [ranges[("activity", "net_imported_electricity")]] * len(e)]
                )
                uf = np.concatenate([uf, [ranges[("ef", "grid_electricity")]] * len(e)])
                group = np.concatenate([group, ["grid"] * len(e)])
            a1 = unc.approach1(x, ua, uf)
            a2 = unc.approach2(x, ua, uf, factor_group=group, iterations=iterations, seed=y)
            for approach, r in ((1, a1), (2, a2)):
                rows.append(
                    {"region_code": region, "year": y, "approach": approach, "basis": basis, **r}
                )
    cols = [
        "region_code",
        "year",
        "approach",
        "basis",
        "total_tco2e",
        "lower_95",
        "upper_95",
        "uncertainty_pct",
    ]
    return pd.DataFrame(rows)[cols]


def _reconciliation(city_year, ent_year, region) -> pd.DataFrame:
    """Top-down city vs bottom-up enterprises per year, sector and basis (tCO2e)."""
    keys = ["year", "sector", "basis"]
    top = city_year.groupby(keys)["emissions_tco2e"].sum(min_count=1).rename("city_tco2e")
    bottom = ent_year.groupby(keys)["emissions_tco2e"].sum(min_count=1).rename("enterprises_tco2e")
    out = pd.concat([top, bottom], axis=1).reset_index()
    out["enterprises_tco2e"] = out["enterprises_tco2e"].fillna(0.0)
    out["unattributed_tco2e"] = out["city_tco2e"] - out["enterprises_tco2e"]
    out["coverage_share"] = out["enterprises_tco2e"] / out["city_tco2e"].where(
        out["city_tco2e"] != 0
    )
    out["flag"] = np.where(
        out["unattributed_tco2e"] < -1e-6 * out["city_tco2e"].abs().fillna(0) - 1e-9,
        "enterprises exceed the city total",
        "",
    )
    out = out.rename(
        columns={
            "city_tco2e": "city",
            "enterprises_tco2e": "enterprises",
            "unattributed_tco2e": "unattributed",
        }
    )
    out.insert(0, "region_code", region)
    out.insert(2, "measure", "emissions_tco2e")
    return out


def _energy_reconciliation(completed, ent_energy, coefs, region) -> pd.DataFrame:
    """Energy balance (top-down) vs the enterprises' 205-1 use (bottom-up) per year and item,
    tce (当量值): final-consumption items and transformation inputs."""
    k = coefs[coefs["tce_basis"] == "calorific"].set_index(["year", "fuel"])["tce_per_unit"]
    items = bal.balance_items()
    final = [*items.index[items["group"] == "final"], "final"]
    top = completed[completed["item"].isin(final)].copy()
    inputs = completed[
        completed["item"].isin(items.index[items["group"] == "transformation"])
    ].copy()
    inputs = inputs.assign(item="transformation", quantity=inputs["quantity"].clip(upper=0))
    top = pd.concat([top, inputs], ignore_index=True)
    top["tce"] = (
        top["quantity"] * k.reindex(pd.MultiIndex.from_frame(top[["year", "fuel"]])).to_numpy()
    )
    ent = ent_energy.copy()
    ent["tce"] = (
        ent["quantity"] * k.reindex(pd.MultiIndex.from_frame(ent[["year", "fuel"]])).to_numpy()
    )
    city = top.groupby(["year", "item"])["tce"].sum().rename("city")
    parent = items["parent"].reindex(ent["item"]).to_numpy()
    rolled = ent[np.isin(parent, ["industry", "residential"])]
    rolled = rolled.assign(item=items["parent"].reindex(rolled["item"]).to_numpy())
    ent = pd.concat([ent, rolled], ignore_index=True)  # parents = sum of their children
    top_level = ent[items["parent"].reindex(ent["item"]).to_numpy() == "final"]
    ent = pd.concat([ent, top_level.assign(item="final")], ignore_index=True)
    bottom = ent.groupby(["year", "item"])["tce"].sum().rename("enterprises")
    out = pd.concat([city, bottom], axis=1).fillna(0.0).reset_index()
    out = out[(out["city"] != 0) | (out["enterprises"] != 0)]
    sign = np.where(out["item"] == "transformation", -1.0, 1.0)  # inputs are negative
    unattributed = (out["city"] - out["enterprises"]) * sign
    return pd.DataFrame(
        {
            "region_code": region,
            "year": out["year"].to_numpy(),
            "measure": "energy_tce_calorific",
            "sector": out["item"].to_numpy(),
            "basis": "calorific",
            "city": out["city"].to_numpy() * sign,
            "enterprises": out["enterprises"].to_numpy() * sign,
            "unattributed": unattributed.to_numpy(),
            "coverage_share": (out["enterprises"] / out["city"].where(out["city"] != 0)).to_numpy(),
            "flag": np.where(
                unattributed < -1e-6 * np.abs(out["city"]) - 1e-9,
                "enterprises exceed the city total",
                "",
            ),
        }
    )


# ------------------------------------------------------------------------------- read / export
def latest_result(name: str, *, settings=None) -> pd.DataFrame:
    """The current rows of an inventory result (every year's newest run)."""
    lake = settings.lake if settings is not None else None
    return results.current(declared(name), lake=lake, hint="citycarbon inventory compute")


def balance_from_wide(
    table: pd.DataFrame, *, region_code: str, year: int, source: str | None = None
) -> pd.DataFrame:
    """Long ``energy_balance`` rows from a table in the yearbook layout (实物量 sheet).

    The first column holds the items (项目: names, codes or aliases of the balance items), the
    other headers are fuels with their unit in brackets, e.g. ``原煤（万吨）``, ``电力（亿千瓦时）``
    (the layout :func:`write_balance_xlsx` writes). Derived items (可供本地区消费的能源量, 终端
    消费量 ...) are kept: the balance compares them with the computed ones. Blank cells are
    skipped; a 合计 column is ignored.

    Returns
    -------
    pandas.DataFrame
        region_code, year, item, fuel, quantity, unit: ready for ``ingest energy_balance``.
    """
    import re

    where = source or "balance table"
    headers = [str(c) for c in table.columns[1:]]
    parsed = [re.match(r"^\s*([^（(]+?)\s*[（(]([^）)]*)[）)]\s*$", h) for h in headers]
    keep = [i for i, m in enumerate(parsed) if not headers[i].startswith("合计")]
    bad = [headers[i] for i in keep if parsed[i] is None]
    if bad:
        raise InputError(
            "fuel headers must name the unit in brackets, e.g. 原煤（万吨）",
            source=where,
            field="header",
            value=bad[0],
        )
    names = [parsed[i].group(1) for i in keep]
    fuel = resolve_fuels(pd.Series(names), source=where, field="header")
    units_ = [parsed[i].group(2) for i in keep]
    items = bal.resolve_items(table.iloc[:, 0], source=where)
    block = table.iloc[:, [i + 1 for i in keep]].apply(pd.to_numeric, errors="coerce")
    block.index = items.to_numpy()
    block.columns = pd.MultiIndex.from_arrays([fuel.to_numpy(), units_], names=["fuel", "unit"])
    long = block.stack(["fuel", "unit"], future_stack=True).dropna().rename("quantity")
    long = long.rename_axis(["item", "fuel", "unit"]).reset_index()
    return long.assign(region_code=region_code, year=int(year))[
        ["region_code", "year", "item", "fuel", "quantity", "unit"]
    ]


#: The labels of the balance workbook in Chinese (the bureaus' own) and English.
_BALANCE_LABELS = {
    "zh": {
        "sheets": ("实物量", "标准量（当量值）", "标准量（等价值）", "检查"),
        "title": "{region} 能源平衡表 {year} 年 — {sheet}",
        "item": "项目",
        "total": "合计（万吨标准煤）",
        "unit": "{name}（{unit}）",
        "checks": ("项目", "能源品种", "标准量口径", "问题"),
        "no_issue": "平衡差额在容差内，未发现不一致",
        "about": "说明",
    },
    "en": {
        "sheets": (
            "Physical quantities",
            "Standard coal (calorific)",
            "Standard coal (coal-equiv.)",
            "Checks",
        ),
        "title": "{region} energy balance {year} — {sheet}",
        "item": "Item",
        "total": "Total (10^4 tce)",
        "unit": "{name} ({unit})",
        "checks": ("Item", "Fuel", "Standard coal basis", "Issue"),
        "no_issue": "balance differences within tolerance: no inconsistency found",
        "about": "About",
    },
}


def write_balance_xlsx(
    balance: pd.DataFrame,
    path: str | Path,
    *,
    year: int | None = None,
    lang: str = "zh",
    about: pd.DataFrame | None = None,
) -> Path:
    """The energy balance in the bureaus' layout: rows = 项目 in 统计年鉴 order, columns = fuels.

    Sheets: 实物量 (physical units), 标准量（当量值）, 标准量（等价值） with a 合计 column, and
    检查 (the cells flagged as inconsistent); with ``about`` (the 口径 as a two-column table)
    a 说明 sheet. One year per workbook (default: the latest). ``lang`` ``en`` labels items,
    fuels and sheets in English (the Chinese workbook is the one that reads back in,
    :func:`balance_from_wide`).
    """
    import xlsxwriter

    text = _BALANCE_LABELS[lang if lang in _BALANCE_LABELS else "zh"]
    en = text is _BALANCE_LABELS["en"]
    b = balance if year is None else balance[balance["year"] == year]
    if year is None:
        year = int(b["year"].max())
        b = b[b["year"] == year]
    if b.empty:
        raise InputError(f"no energy balance rows for {year}", field="year", value=year)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    items = bal.balance_items()
    fuel_ref = fuels()
    fuel_order = [f for f in fuel_ref.index if f in set(b["fuel"])]
    item_name = items["en" if en else "zh"]
    fuel_name = fuel_ref["name_en" if en else "name_zh"]
    wb = xlsxwriter.Workbook(str(path))
    head = wb.add_format({"bold": True, "text_wrap": True, "align": "center", "border": 1})
    num = wb.add_format({"num_format": "#,##0.00", "border": 1})
    label = wb.add_format({"border": 1})
    flagged = wb.add_format({"num_format": "#,##0.00", "border": 1, "bg_color": "#FFC7CE"})
    region = str(b["region_code"].iloc[0])
    sheets = (
        (text["sheets"][0], "calorific", "quantity", False),
        (text["sheets"][1], "calorific", "tce", True),
        (text["sheets"][2], "coal_equivalent", "tce", True),
    )
    for title, basis, column, with_total in sheets:
        ws = wb.add_worksheet(title)
        part = b[b["tce_basis"] == basis]
        cols = fuel_order + ([bal.TOTAL_FUEL] if with_total else [])
        ws.write(0, 0, text["title"].format(region=region, year=year, sheet=title), head)
        ws.write(1, 0, text["item"], head)
        for j, f in enumerate(cols, start=1):
            if f == bal.TOTAL_FUEL:
                name = text["total"]
            else:
                unit = fuel_ref.at[f, "stat_unit"] if column == "quantity" else "tce"
                name = text["unit"].format(name=fuel_name[f], unit=unit)
            ws.write(1, j, name, head)
        grid = part.pivot_table(index="item", columns="fuel", values=column, aggfunc="sum")
        flags = part.pivot_table(index="item", columns="fuel", values="flag", aggfunc="first")
        for i, code in enumerate(items.index, start=2):
            ws.write(i, 0, item_name[code], label)
            for j, f in enumerate(cols, start=1):
                v = grid.at[code, f] if code in grid.index and f in grid.columns else np.nan
                if f == bal.TOTAL_FUEL and pd.notna(v):
                    v = units.convert(v, "tce", "10^4 tce")
                fl = flags.at[code, f] if code in flags.index and f in flags.columns else ""
                fmt = flagged if isinstance(fl, str) and fl else num
                empty = items.at[code, "group"] not in ("derived",) and v == 0
                if pd.isna(v) or empty:  # an empty cell of the table, as the yearbook prints it
                    ws.write_blank(i, j, None, fmt)
                else:
                    ws.write_number(i, j, float(v), fmt)
        ws.set_column(0, 0, 34)
        ws.set_column(1, len(cols), 14)
        ws.freeze_panes(2, 1)
    ws = wb.add_worksheet(text["sheets"][3])
    for j, h in enumerate(text["checks"]):
        ws.write(0, j, h, head)
    issues = b[(b["flag"] != "") & (b["fuel"] != bal.TOTAL_FUEL)]
    for i, r in enumerate(issues.itertuples(), start=1):
        ws.write_row(
            i,
            0,
            [item_name.get(r.item, r.item), fuel_name.get(r.fuel, r.fuel), r.tce_basis, r.flag],
        )
    if issues.empty:
        ws.write(1, 0, text["no_issue"])
    if about is not None:
        ws = wb.add_worksheet(text["about"])
        rows = [list(about.columns), *about.astype(str).to_numpy().tolist()]
        for i, row in enumerate(rows):  # as text: no cell becomes a formula
            for j, value in enumerate(row):
                ws.write_string(i, j, str(value), head if i == 0 else label)
        ws.set_column(0, 0, 16)
        ws.set_column(1, 1, 90)
    wb.close()
    return path
