"""The inputs of carbon dual control, read from the newest results and the lake.

- The city's assessed indicators (:mod:`citycarbon.targets.indicators`): CO2 of energy activity
  from the city inventory (``city_inventory``) on the city's basis, process CO2 beside it, GDP at
  comparable prices (``city_statistics``), energy from the energy balance (``energy_balance``) on
  the city's standard-coal basis, renewable electricity from the green certificates and contracts
  (``green_electricity``), the grid's generation mix for the non-fossil share.
- Districts (区): their own statistics where ingested (``city_statistics`` rows of the district:
  ``co2_emissions``, ``energy_consumption``, ``gdp``); otherwise only what the reporting
  enterprises cover, as a share of the city, and no intensity: the reporters' emissions over the
  whole district's GDP is not the district's intensity.
- Parks, industries and enterprises: the reporters' own CO2 (bottom-up).
- Values entered in the targets file (``base_years``: base-year CO2, GDP, energy ... with their
  source and status) stand beside the computed ones and win over them.

Every indicator row says where it comes from (``origin``: computed, statistics, entered), its
basis, coverage and a note; nothing is re-based and nothing missing becomes zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from citycarbon import units
from citycarbon.config import CityConfig, as_city
from citycarbon.config.settings import get_settings
from citycarbon.contract.results import CITY_INVENTORY, DUAL_CONTROL, ENERGY_BALANCE
from citycarbon.contract.results import result as declared
from citycarbon.errors import InputError
from citycarbon.factors import fuels
from citycarbon.records import PART_SEP, message_record
from citycarbon.store import catalog, results
from citycarbon.store import lake as lk
from citycarbon.targets import indicators as di

FUEL_RESULT = "enterprise_month_fuel_emissions"
OBSERVATION_COLUMNS = [
    "level",
    "entity_code",
    "entity_name",
    "indicator",
    "year",
    "months",
    "value",
]
#: Columns of an indicator row (the declared ``dual_control_indicators`` without provenance).
INDICATOR_COLUMNS = ["level", "entity_code", "year", "indicator", *DUAL_CONTROL.columns, "method"]
#: The city_statistics indicator of each district statistic used, and its unit here.
DISTRICT_STATISTICS = {
    "co2_t": ("co2_emissions", "t"),
    "energy_tce": ("energy_consumption", "tce"),
}


def latest_result(name: str, lake: str | Path | None = None) -> tuple[pd.DataFrame, str] | None:
    """The current rows of a result table and the run id(s) they come from ("r1+r2" where
    years come from different runs), or None when nothing was computed yet."""

    decl = declared(name)
    if not results.has(decl, lake=lake):
        return None
    return results.current(decl, lake=lake), "+".join(results.current_runs(decl, lake=lake))


@dataclass
class Actuals:
    """What dual control is measured on.

    ``indicators``: rows of the declared ``dual_control_indicators`` (city and districts, by
    year, with origin, basis, coverage and note). ``observations``: ``level, entity_code,
    entity_name, indicator, year, months, value`` of every entity (partial years of totals
    included). ``monthly``: ``level, entity_code, indicator, year, month, value`` of the totals
    that have months (seasonal shares). ``enterprise_monthly``: monthly CO2 of enterprises.
    """

    indicators: pd.DataFrame
    observations: pd.DataFrame
    monthly: pd.DataFrame
    enterprise_monthly: pd.DataFrame
    source: str  # 'city_inventory', 'enterprise_fallback' or 'none'
    provenance: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------- pieces
def _statistics(lake: Path, url: str | None) -> pd.DataFrame:
    return lk.read_current("city_statistics", lake=lake, url=url)


def _gdp(stats: pd.DataFrame) -> pd.DataFrame:
    """GDP at comparable prices [10^4 CNY] by region and year, on the earliest comparable price
    basis present (one basis, so that years compare), with that basis."""
    g = stats[(stats["indicator"] == "gdp") & stats["price_basis"].str.startswith("comparable_")]
    if len(g):
        g = g[g["price_basis"] == sorted(g["price_basis"].unique())[0]]
    value = units.convert(g["value"].to_numpy(dtype="float64"), _unit(g, "10^4 CNY"), "10^4 CNY")
    return pd.DataFrame(
        {
            "region_code": g["region_code"].astype(str).to_numpy(dtype=object),
            "year": g["year"].astype("int64").to_numpy(),
            "gdp_10k_cny": value,
            "price_basis": g["price_basis"].to_numpy(dtype=object),
        }
    )


def _rows(frame: pd.DataFrame, level: str, indicators: Sequence[str], **meta: Any) -> pd.DataFrame:
    """Long indicator rows of ``frame`` (``entity_code, entity_name, year`` and one column per
    indicator), with the indicator's unit and role and the ``meta`` columns."""
    long = frame.melt(
        id_vars=["entity_code", "entity_name", "year"],
        value_vars=list(indicators),
        var_name="indicator",
    )
    info = di.indicator_table()
    long = long.join(info[["unit", "role"]], on="indicator").assign(level=level)
    defaults = {"origin": "computed", "status": "", "basis": "", "coverage": np.nan, "note": ""}
    for col, value in {**defaults, **meta}.items():
        long[col] = value
    if "method" not in long:
        long["method"] = long["indicator"].map(info["definition"])
    return long


def _green_mwh(lake: Path, url: str | None) -> pd.Series:
    """Renewable electricity consumed per year [MWh]: the certificates and green-power
    contracts of the city's users (1258号 二: 绿证 as the basis of the count)."""
    g = lk.read_current("green_electricity", columns=["mwh", "year"], lake=lake, url=url)
    return g.groupby(g["year"].astype("int64"))["mwh"].sum()


def _grid_mix(grid_mix: pd.DataFrame, region: str | None, years) -> pd.DataFrame:
    if region is None:
        return pd.DataFrame({"year": list(years), "nonfossil_share": np.nan, "mix_year": np.nan})
    return di.grid_share_for_years(grid_mix, region, years)


def city_indicators(
    inv: pd.DataFrame,
    balance: pd.DataFrame | None,
    gdp: pd.DataFrame,
    green_mwh: pd.Series,
    grid_mix: pd.DataFrame,
    cfg: CityConfig,
    renewable_base_mwh: float = np.nan,
) -> pd.DataFrame:
    """The city's dual-control indicators of every complete year of the inventory.

    Parameters
    ----------
    inv : yearly city rows of ``city_inventory`` (one basis: the city's)
    balance : rows of ``energy_balance`` (None when not computed)
    gdp : from :func:`_gdp`
    green_mwh : renewable electricity per year [MWh]
    grid_mix : the grid mix data (``region, year, nonfossil_share, status, source``)
    cfg : the city (its ``targets`` section declares the bases)
    renewable_base_mwh : renewable electricity of the base year (2020) entered in the targets
        file; else the year's own data, if any
    """
    section = cfg.targets
    years = sorted(int(y) for y in inv["year"].unique())
    co2 = di.co2_by_origin(inv, ["year"]).set_index("year").reindex(years)
    g = gdp[gdp["region_code"] == cfg.adcode].set_index("year").reindex(years)
    city = pd.DataFrame({"year": years, "entity_code": cfg.adcode, "entity_name": cfg.name.zh})
    city["energy_co2_t"] = co2["energy_co2_t"].to_numpy()
    city["process_co2_t"] = co2["process_co2_t"].to_numpy()
    city["total_ghg_tco2e"] = co2["total_ghg_tco2e"].to_numpy()
    city["co2_t"] = di.assessed_co2_t(
        city["energy_co2_t"], city["process_co2_t"], section.include_process_co2
    )
    city["gdp_10k_cny"] = g["gdp_10k_cny"].to_numpy()
    city["co2_intensity_t_per_10k_cny"] = di.per_10k_cny(city["co2_t"], city["gdp_10k_cny"])
    basis = section.basis
    process = "process_included" if section.include_process_co2 else "process_excluded"
    parts = [
        _rows(city, "city", ["co2_t", "co2_intensity_t_per_10k_cny"], basis=basis).assign(
            note=process
        ),
        _rows(city, "city", ["energy_co2_t", "process_co2_t", "total_ghg_tco2e"], basis=basis),
        _rows(city, "city", ["gdp_10k_cny"], origin="statistics", basis=_price_basis(g)),
    ]
    if balance is not None and len(balance):
        if np.isnan(renewable_base_mwh):
            renewable_base_mwh = green_mwh.get(section.renewable_base_year, np.nan)
        parts.append(_energy_rows(city, balance, green_mwh, renewable_base_mwh, grid_mix, cfg))
    return pd.concat(parts, ignore_index=True)


def _price_basis(g: pd.DataFrame) -> str:
    basis = g["price_basis"].dropna()
    return str(basis.iloc[0]) if len(basis) else ""


def _energy_rows(
    city: pd.DataFrame,
    balance: pd.DataFrame,
    green_mwh: pd.Series,
    re_base: float,
    grid_mix: pd.DataFrame,
    cfg: CityConfig,
) -> pd.DataFrame:
    """Energy dual control of the city: total, feedstock, new renewables, the controlled total
    and intensity, and the non-fossil share, on the city's standard-coal basis."""
    section = cfg.targets
    basis = section.energy_basis
    bal = balance[balance["region_code"] == cfg.adcode]
    e = di.balance_energy(bal, fuels(), basis).set_index("year").reindex(city["year"])
    out = city[["year", "entity_code", "entity_name", "gdp_10k_cny"]].copy()
    for col in ("energy_tce", "feedstock_tce"):
        out[col] = e[col].to_numpy()
    out["renewable_electricity_mwh"] = green_mwh.reindex(out["year"]).to_numpy()
    new_mwh = di.new_renewable_mwh(out["renewable_electricity_mwh"], re_base)
    coef = e["electricity_tce_per_10k_kwh"].to_numpy()
    out["new_renewable_tce"] = units.convert(new_mwh, "MWh", "10^4 kWh") * coef
    out["energy_control_tce"] = di.energy_control_tce(
        out["energy_tce"], out["feedstock_tce"], out["new_renewable_tce"]
    )
    out["energy_intensity_tce_per_10k_cny"] = di.per_10k_cny(
        di.energy_for_intensity_tce(out["energy_tce"], out["feedstock_tce"]), out["gdp_10k_cny"]
    )
    mix = _grid_mix(grid_mix, section.grid_mix, out["year"]).set_index("year")
    mix = mix.reindex(out["year"])
    out["nonfossil_share"] = di.nonfossil_share(
        e["local_nonfossil_tce"],
        e["net_import_electricity_tce"],
        mix["nonfossil_share"],
        e["energy_tce"],
    )
    re_note = (
        f"renewable_base?year={section.renewable_base_year}&mwh={re_base:.0f}"
        if pd.notna(re_base)
        else f"no_renewable_base?year={section.renewable_base_year}"
    )
    energy = [
        "energy_tce",
        "feedstock_tce",
        "energy_intensity_tce_per_10k_cny",
    ]
    parts = [
        _rows(out, "city", energy, basis=basis),
        _rows(
            out,
            "city",
            ["renewable_electricity_mwh"],
            origin="statistics",
            basis="green_certificates",
        ),
        _rows(out, "city", ["new_renewable_tce", "energy_control_tce"], basis=basis).assign(
            note=re_note
        ),
    ]
    share = _rows(out, "city", ["nonfossil_share"], basis=basis)
    mix_year = mix["mix_year"].to_numpy()
    share["status"] = mix.get("status", pd.Series("", index=mix.index)).fillna("").to_numpy()
    share["note"] = [
        f"grid_mix?grid={section.grid_mix}&year={int(y)}"
        if pd.notna(y)
        else f"no_grid_mix?grid={section.grid_mix}"
        for y in mix_year  # a handful of years
    ]
    parts.append(share)
    return pd.concat(parts, ignore_index=True)


def district_indicators(
    district_rows: pd.DataFrame,
    stats: pd.DataFrame,
    gdp: pd.DataFrame,
    city_co2: pd.Series,
    cfg: CityConfig,
) -> pd.DataFrame:
    """Districts: statistics where ingested (CO2, energy) with their intensities over the
    district GDP; the reporting enterprises' CO2 and its share of the city's CO2 (coverage);
    no intensity from the reporters.

    Parameters
    ----------
    district_rows : yearly ``level = district`` rows of ``city_inventory`` (bottom-up, city basis)
    stats : ``city_statistics``
    gdp : from :func:`_gdp`
    city_co2 : the city's assessed CO2 by year (NaN/absent where not known)
    """
    names = {d.code: d.zh for d in cfg.districts}
    codes = list(names)
    rep = di.co2_by_origin(
        district_rows[district_rows["entity_code"].isin(codes)], ["entity_code", "year"]
    )
    rep["reporters_co2_t"] = di.assessed_co2_t(
        rep["energy_co2_t"], rep["process_co2_t"], cfg.targets.include_process_co2
    )
    frame = pd.DataFrame(
        {
            "entity_code": rep["entity_code"].astype(str),
            "year": rep["year"].astype("int64"),
            "reporters_co2_t": rep["reporters_co2_t"],
        }
    )
    for indicator, (stat, unit) in DISTRICT_STATISTICS.items():
        s = stats[(stats["indicator"] == stat) & stats["region_code"].isin(codes)]
        s = pd.DataFrame(
            {
                "entity_code": s["region_code"].astype(str).to_numpy(),
                "year": s["year"].astype("int64").to_numpy(),
                indicator: units.convert(
                    s["value"].to_numpy(dtype="float64"), _unit(s, unit), unit
                ),
            }
        )
        frame = frame.merge(s, on=["entity_code", "year"], how="outer")
    g = gdp[gdp["region_code"].isin(codes)].rename(columns={"region_code": "entity_code"})
    frame = frame.merge(g, on=["entity_code", "year"], how="left")
    frame["entity_name"] = frame["entity_code"].map(names)
    frame["coverage_share"] = di.coverage_share(
        frame["reporters_co2_t"], frame["year"].map(city_co2).to_numpy(dtype="float64")
    )
    frame["co2_intensity_t_per_10k_cny"] = di.per_10k_cny(frame["co2_t"], frame["gdp_10k_cny"])
    frame["energy_intensity_tce_per_10k_cny"] = di.per_10k_cny(
        frame["energy_tce"], frame["gdp_10k_cny"]
    )
    no_stat = frame["co2_t"].isna()
    reporters = _rows(frame, "district", ["reporters_co2_t", "coverage_share"])
    reporters["coverage"] = np.tile(frame["coverage_share"].to_numpy(), 2)
    reporters["note"] = np.tile(np.where(no_stat, "no_district_statistics", "reporters_only"), 2)
    stat = _rows(
        frame,
        "district",
        ["co2_t", "co2_intensity_t_per_10k_cny", "energy_tce", "energy_intensity_tce_per_10k_cny"],
        origin="statistics",
        basis="district_statistics",
    )
    gdp_rows = _rows(frame, "district", ["gdp_10k_cny"], origin="statistics")
    gdp_rows["basis"] = np.asarray(frame["price_basis"].fillna(""))
    out = pd.concat([reporters, stat, gdp_rows], ignore_index=True)
    return out[out["value"].notna() | (out["indicator"] == "coverage_share")]


def _unit(frame: pd.DataFrame, default: str) -> str:
    """The unit of a statistic's rows (one unit per indicator: the ingest stores it so)."""
    return str(frame["unit"].iloc[0]) if len(frame) else default


#: Status of a value, from best to worst; a value derived from several has the worst of theirs.
STATUS_ORDER = ("published", "statistics", "estimate", "assumption", "illustrative")


def _source_note(value: Mapping[str, Any]) -> str:
    """The ``note`` of an entered value: its citation as written, or with ``source_en`` the
    message ``cited`` with the citation in both languages (pages show their language's)."""
    text = str(value["source"]).strip()
    english = str(value.get("source_en") or "").strip()
    return message_record("cited", zh=text, en=english) if english else text


def entered_indicators(
    specs: Sequence[Mapping[str, Any]],
    source: str,
    *,
    renewable_base_year: int,
    names: Mapping[tuple[str, str], str] | None = None,
) -> pd.DataFrame:
    """Indicator rows of values entered in the targets file (``base_years``), with the
    intensities and the controlled energy that follow from them where not entered themselves.

    Each entry: ``level, entity_code, year`` (``entity_name`` optional) and ``values``: indicator
    code -> ``{value, unit, status, source}`` (``price_basis`` for GDP, ``basis`` for energy;
    ``source_en``: the citation in English, see :func:`_source_note`).
    The controlled energy of an entry follows from it only in the renewable base year (2020),
    where no renewable electricity is new yet. ``names``: (level, code) -> the name the city
    config gives the entity (wins over the file's ``entity_name``).

    Raises
    ------
    InputError
        An unknown indicator, a value without unit, status or source, a unit of the wrong
        dimension.
    """
    rows = []
    for i, spec in enumerate(specs):
        for code, v in (spec.get("values") or {}).items():
            if code not in di.INDICATORS:
                raise InputError(
                    "unknown indicator in base_years",
                    source=source,
                    row=i + 1,
                    field="values",
                    value=code,
                    suggestions=list(di.INDICATORS),
                )
            missing = [k for k in ("value", "unit", "status", "source") if v.get(k) in (None, "")]
            if missing:
                raise InputError(
                    f"base-year value {code} lacks {missing}",
                    source=source,
                    row=i + 1,
                    field=missing[0],
                )
            if v["status"] not in STATUS_ORDER:
                raise InputError(
                    f"status of {code} must be one of {list(STATUS_ORDER)}",
                    source=source,
                    row=i + 1,
                    field="status",
                    value=v["status"],
                )
            rows.append(
                {
                    "level": str(spec["level"]),
                    "entity_code": str(spec["entity_code"]),
                    "entity_name": (names or {}).get(
                        (str(spec["level"]), str(spec["entity_code"])),
                        str(spec.get("entity_name", "")),
                    ),
                    "year": int(spec["year"]),
                    "indicator": code,
                    "value": float(
                        units.convert(float(v["value"]), str(v["unit"]), di.INDICATORS[code][0])
                    ),
                    "status": str(v["status"]),
                    "basis": str(v.get("price_basis") or v.get("basis") or ""),
                    "note": _source_note(v),
                }
            )
    if not rows:
        return pd.DataFrame(columns=[*INDICATOR_COLUMNS, "entity_name"])
    given = pd.DataFrame(rows)
    keys = ["level", "entity_code", "entity_name", "year"]
    wide = given.pivot_table(index=keys, columns="indicator", values="value")
    rank = given.assign(r=given["status"].map({st: i for i, st in enumerate(STATUS_ORDER)}))
    ranks = rank.pivot_table(index=keys, columns="indicator", values="r")
    bases = given.pivot_table(index=keys, columns="indicator", values="basis", aggfunc="first")
    nan = pd.Series(np.nan, index=wide.index)
    energy = di.energy_for_intensity_tce(
        wide.get("energy_tce", nan), wide.get("feedstock_tce", nan)
    )
    base_year = wide.index.get_level_values("year") == renewable_base_year
    derivable = {
        "co2_intensity_t_per_10k_cny": (
            di.per_10k_cny(wide.get("co2_t", nan), wide.get("gdp_10k_cny", nan)),
            ["co2_t", "gdp_10k_cny"],
        ),
        "energy_intensity_tce_per_10k_cny": (
            di.per_10k_cny(energy, wide.get("gdp_10k_cny", nan)),
            ["energy_tce", "feedstock_tce", "gdp_10k_cny"],
        ),
        "energy_control_tce": (
            np.where(base_year, energy, np.nan),
            ["energy_tce", "feedstock_tce"],
        ),
    }
    derived = [
        pd.DataFrame(
            {
                "indicator": code,
                "value": value,
                "status": ranks.reindex(columns=inputs)
                .max(axis=1)
                .map(dict(enumerate(STATUS_ORDER)))
                .fillna(""),
                "basis": bases.reindex(columns=inputs[:1]).iloc[:, 0].fillna(""),
                "note": "derived?inputs=" + ",".join(inputs),
            },
            index=wide.index,
        ).reset_index()
        for code, (value, inputs) in derivable.items()
        if code not in wide
    ]
    out = pd.concat([given, *derived], ignore_index=True)
    out = out[out["value"].notna()]
    out = out.join(di.indicator_table(), on="indicator")
    return out.assign(
        origin="entered",
        coverage=np.nan,
        method=message_record("entered_in_targets") + PART_SEP + out["definition"],
    ).drop(columns="definition")


# ------------------------------------------------------------------------------- reporters
def _reporters(inv: pd.DataFrame, include_process: bool) -> pd.DataFrame:
    """Observations of the reporters' CO2 (bottom-up) of parks, industries (classes and their
    GB/T 4754 divisions) and enterprises from the yearly ``city_inventory`` rows."""
    rows = inv[inv["level"].isin(["park", "industry", "enterprise"])]
    co2 = di.co2_by_origin(rows, ["level", "entity_code", "entity_name", "year"])
    co2["value"] = di.assessed_co2_t(co2["energy_co2_t"], co2["process_co2_t"], include_process)
    ind = co2[co2["level"] == "industry"]
    division = ind["entity_code"].astype(str).str.replace(r"^[A-Z]", "", regex=True).str[:2]
    ind = ind.assign(entity_code=division, entity_name="GB/T 4754 " + division)
    ind = ind[
        division.str.fullmatch(r"\d{2}")
        & ~ind["entity_code"].isin(co2.loc[co2["level"] == "industry", "entity_code"])
    ]
    divisions = ind.groupby(["level", "entity_code", "year"], as_index=False).agg(
        entity_name=("entity_name", "first"), value=("value", "sum")
    )
    out = pd.concat([co2, divisions], ignore_index=True)
    return out.assign(indicator="co2_t", months=12)[OBSERVATION_COLUMNS]


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    """A table without rows, typed: counts int64 (year, month, months), value float64, the
    rest text (so that merges and sums on it work)."""
    types = {"year": "int64", "month": "int64", "months": "int64", "value": "float64"}
    return pd.DataFrame({c: pd.Series(dtype=types.get(c, object)) for c in columns})


def _empty_observations() -> pd.DataFrame:
    return _empty(OBSERVATION_COLUMNS)


def _enterprise_monthly(lake: Path, url: str | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Monthly CO2 (scope 1 + scope 2) of every enterprise with its registry district, park,
    industry and key flag, from ``enterprise_month_fuel_emissions``."""
    got = latest_result(FUEL_RESULT, lake)
    if got is None:
        cols = ["entity_code", "entity_name", "is_key", "district_code", "park_code", "industry"]
        return _empty([*cols, "year", "month", "value"]), {}
    fuel, run_id = got
    ents = catalog.registry_frame("enterprises", url=url)
    f = fuel.groupby(["enterprise_code", "year", "month"], as_index=False)["co2_t"].sum()
    f = f.merge(
        ents[["credit_code", "name", "industry_code", "district_code", "park_code", "is_key"]],
        left_on="enterprise_code",
        right_on="credit_code",
        how="left",
    )
    monthly = pd.DataFrame(
        {
            "entity_code": f["enterprise_code"],
            "entity_name": f["name"],
            "is_key": f["is_key"].fillna(False).astype(bool),
            "district_code": f["district_code"],
            "park_code": f["park_code"],
            "industry": f["industry_code"]
            .fillna("")
            .str.replace(r"^[A-Z]", "", regex=True)
            .str[:2],
            "year": f["year"].astype("int64"),
            "month": f["month"].astype("int64"),
            "value": f["co2_t"],
        }
    )
    prov = {
        FUEL_RESULT: {
            "run_id": run_id,
            "factor_profile": str(fuel["factor_profile"].iloc[0]) if len(fuel) else "",
            "method": str(fuel["method"].iloc[0]) if "method" in fuel and len(fuel) else "",
        }
    }
    return monthly, prov


def _fallback_observations(monthly: pd.DataFrame, url: str | None) -> pd.DataFrame:
    """Without a city inventory: the reporters' own CO2 of districts, parks, industries and
    enterprises (no city total: the reporters are not the city)."""
    if monthly.empty:
        return _empty_observations()
    regions = catalog.registry_frame("regions", url=url).set_index("code")["name_zh"]
    parks = catalog.registry_frame("parks", url=url).set_index("code")["name_zh"]
    months = monthly.groupby("year")["month"].nunique()
    parts = []
    for level, code, name, indicator in (
        ("district", "district_code", monthly["district_code"].map(regions), "reporters_co2_t"),
        ("park", "park_code", monthly["park_code"].map(parks), "co2_t"),
        ("industry", "industry", "GB/T 4754 " + monthly["industry"], "co2_t"),
        ("enterprise", "entity_code", monthly["entity_name"], "co2_t"),
    ):
        g = monthly.assign(entity_code=monthly[code], entity_name=name, level=level)
        g = g[g["entity_code"].notna() & (g["entity_code"] != "")]
        y = g.groupby(["level", "entity_code", "year"], as_index=False).agg(
            entity_name=("entity_name", "first"),
            value=("value", "sum"),
            months=("month", "nunique"),
        )
        if level != "enterprise":  # an aggregate covers the months the whole city has data for
            y["months"] = y["year"].map(months)
        parts.append(y.assign(indicator=indicator))
    return pd.concat(parts, ignore_index=True)[OBSERVATION_COLUMNS]


# ------------------------------------------------------------------------------- all of it
def load_actuals(
    *,
    settings: Any = None,
    cfg: Any = None,
    base_years: Sequence[Mapping[str, Any]] = (),
    base_years_source: str = "targets",
    grid_mix: pd.DataFrame | None = None,
) -> Actuals:
    """Dual-control indicators of the city and districts and the observations of every entity.

    Parameters
    ----------
    cfg : CityConfig, str or Path, optional
        The city (default ``$CITYCARBON_CITY``); its ``targets`` section declares the bases
        (inventory basis, 当量/等价, process CO2 in or out, grid mix).
    base_years : sequence of mappings
        The ``base_years`` entries of the targets file (see :func:`entered_indicators`).
    grid_mix : DataFrame, optional
        The grid generation mix (``region, year, nonfossil_share, status, source``).
    """
    settings = settings or get_settings()
    cfg = as_city(cfg)
    section = cfg.targets
    lake, url = Path(settings.lake), settings.database_url
    mix = (
        grid_mix
        if grid_mix is not None
        else pd.DataFrame(columns=["region", "year", "nonfossil_share", "status", "source"])
    )
    monthly_ent, prov = _enterprise_monthly(lake, url)
    stats = _statistics(lake, url)
    gdp = _gdp(stats)
    names = {
        ("city", cfg.adcode): cfg.name.zh,
        **{("district", d.code): d.zh for d in cfg.districts},
    }
    entered = entered_indicators(
        base_years,
        base_years_source,
        renewable_base_year=section.renewable_base_year,
        names=names,
    )
    _check_bases(entered, gdp, section.energy_basis, base_years_source)
    inv_got = latest_result(CITY_INVENTORY.name, lake)
    inv = inv_got[0] if inv_got is not None else pd.DataFrame()
    if len(inv) and "basis" in inv and (inv["basis"] == section.basis).any():
        inv = inv[inv["basis"] == section.basis]
    parts: list[pd.DataFrame] = []
    monthly = _empty(["level", "entity_code", "indicator", "year", "month", "value"])
    if len(inv):
        assert inv_got is not None
        yearly = inv[inv["month"].isna()]
        city_rows = yearly[(yearly["level"] == "city") & yearly["emissions_t"].notna()]
        bal = latest_result(ENERGY_BALANCE.name, lake)
        re_base = entered[
            (entered["level"] == "city")
            & (entered["entity_code"] == cfg.adcode)
            & (entered["year"] == section.renewable_base_year)
            & (entered["indicator"] == "renewable_electricity_mwh")
        ]["value"]
        city = city_indicators(
            city_rows,
            None if bal is None else bal[0],
            gdp,
            _green_mwh(lake, url),
            mix,
            cfg,
            float(re_base.iloc[0]) if len(re_base) else np.nan,
        )
        parts.append(city)
        city_co2 = city[city["indicator"] == "co2_t"].set_index("year")["value"]
        parts.append(
            district_indicators(yearly[yearly["level"] == "district"], stats, gdp, city_co2, cfg)
        )
        reporters = _reporters(yearly, section.include_process_co2)
        monthly, partial = _city_months(inv, cfg)
        source = "city_inventory"
        prov["city_inventory"] = {
            "run_id": inv_got[1],
            "factor_profile": str(inv["factor_profile"].iloc[0]),
            "method": str(inv["method"].iloc[0]),
            "basis": section.basis,
        }
    else:
        no_inv = _empty(["level", "entity_code", "year", "sector", "gas"]).assign(
            emissions_t=pd.Series(dtype="float64"), emissions_tco2e=pd.Series(dtype="float64")
        )
        parts.append(district_indicators(no_inv, stats, gdp, pd.Series(dtype="float64"), cfg))
        reporters = _fallback_observations(monthly_ent, url)
        partial = _empty_observations()
        source = "enterprise_fallback" if len(monthly_ent) else "none"
    # nothing to go on (no inventory, statistics or entered values): the declared empty table
    indicators = pd.concat([p for p in (*parts, entered) if len(p)] or [entered], ignore_index=True)
    # a value entered in the targets file wins over the computed one of the same key
    key = ["level", "entity_code", "year", "indicator"]
    indicators = indicators.assign(_e=indicators["origin"] == "entered").sort_values("_e")
    indicators = indicators.drop_duplicates(key, keep="last").drop(columns="_e")
    indicators = indicators.astype({"year": "int64", "value": "float64", "coverage": "float64"})
    obs = indicators[indicators["value"].notna()].assign(months=12)[OBSERVATION_COLUMNS]
    obs = pd.concat(
        [p for p in (obs, partial, reporters) if len(p)] or [_empty_observations()],
        ignore_index=True,
    ).astype({"year": "int64", "months": "int64"})
    indicators = indicators.sort_values(key).reset_index(drop=True)
    return Actuals(indicators, obs, monthly, monthly_ent, source, prov)


def _check_bases(entered: pd.DataFrame, gdp: pd.DataFrame, energy_basis: str, source: str) -> None:
    """An entered GDP must be on the price basis of the GDP statistics, and entered energy on
    the city's standard-coal basis, or no later year compares with the base year."""
    gdp_rows = entered[entered["indicator"] == "gdp_10k_cny"]
    prices = set(gdp["price_basis"])
    energy = entered[entered["indicator"].isin(["energy_tce", "feedstock_tce"])]
    for rows, allowed, what in (
        (gdp_rows, prices, "price_basis"),
        (energy, {energy_basis}, "basis"),
    ):
        bad = rows[(rows["basis"] != "") & ~rows["basis"].isin(allowed)] if allowed else rows[:0]
        if len(bad):
            raise InputError(
                f"{bad['indicator'].iloc[0]} is entered on the basis {bad['basis'].iloc[0]}, the "
                f"computed values are on {sorted(allowed)[0]}: enter it on that basis",
                source=source,
                field=f"base_years.{bad['indicator'].iloc[0]}.{what}",
                value=bad["basis"].iloc[0],
            )


def _city_months(inv: pd.DataFrame, cfg: CityConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The city's CO2 by month (for seasonal shares) and, for years without a yearly total, the
    year-to-date total with its number of months."""
    rows = inv[(inv["level"] == "city") & inv["month"].notna() & inv["emissions_t"].notna()]
    co2 = di.co2_by_origin(rows, ["year", "month"])
    co2["value"] = di.assessed_co2_t(
        co2["energy_co2_t"], co2["process_co2_t"], cfg.targets.include_process_co2
    )
    monthly = co2.assign(
        level="city", entity_code=cfg.adcode, indicator="co2_t", month=co2["month"].astype("int64")
    )[["level", "entity_code", "indicator", "year", "month", "value"]]
    complete = set(inv.loc[(inv["level"] == "city") & inv["month"].isna(), "year"].astype(int))
    open_ = monthly[~monthly["year"].astype(int).isin(complete)]
    partial = open_.groupby("year", as_index=False).agg(
        value=("value", "sum"), months=("month", "nunique")
    )
    partial = partial[partial["months"] < 12].assign(
        level="city", entity_code=cfg.adcode, entity_name=cfg.name.zh, indicator="co2_t"
    )
    return monthly, partial[OBSERVATION_COLUMNS]


def months_label(year: int, months: int) -> str:
    """``2024`` for a complete year, ``2024-01..06`` for part of one."""
    return str(year) if months >= 12 else f"{year}-01..{months:02d}"
