"""Scoped reads of the 清单 (inventory) and 目标与预警 (targets) pages and their API: every
function takes the :class:`~citycarbon.read.access.Principal` and returns only
what its role may see (rules of :mod:`citycarbon.read.access`).

- City-wide roles (admin, city_analyst, viewer) read the city inventory (top-down), indicators,
  uncertainty, the energy balance, reconciliation, every target and warning. The scenarios are
  computed on request by :mod:`citycarbon.runs.scenario_analysis` (the face checks
  ``read_city`` first).
- Scoped roles (district, park, enterprise) read the bottom-up inventory of the enterprises they
  see (``level = enterprise`` rows of ``city_inventory``, summed over their registry district,
  park and industry), the targets and warnings of their own entities, and nothing city-wide: the
  city total, the unattributed residual (city - covered, which would reveal the city total),
  indicators, balance and uncertainty need ``read_city``.

No formulas here: selections and sums of computed results only. A result that was not computed
yet gives an empty table or None; the pages then say which command computes it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from citycarbon.contract.results import result as declared
from citycarbon.errors import InputError
from citycarbon.read import access
from citycarbon.read.access import Principal
from citycarbon.read.presentation import Basis, catalog, with_unit
from citycarbon.store import results
from citycarbon.store import targets as targets_store

BASES = ("incl_net_imported_electricity", "territorial")
UNATTRIBUTED = "unattributed"
NO_PARK = "-"
DRILL_LEVELS = ("district", "park", "industry", "enterprise")
COMPUTE_HINT = {
    "inventory": "citycarbon inventory compute",
    "targets": "citycarbon targets recompute",
    "scenarios": "citycarbon scenario list",
}


# --------------------------------------------------------------------------- results
def result(name: str) -> pd.DataFrame | None:
    """The current rows of a declared result (the store caches them), or None when none was
    computed."""
    decl = declared(name)
    return results.current(decl) if results.has(decl) else None


def provenance(name: str) -> dict[str, Any] | None:
    """run_id, factor profile and method of the newest run of a result (None when absent)."""
    f = result(name)
    if f is None or not len(f):
        return None
    row = f.iloc[0]
    return {
        "result": name,
        "run_id": str(row.get("run_id", "")),
        "factor_profile": str(row.get("factor_profile", "")),
        "method": str(row.get("method", "")) if "method" in f else "",
    }


def _check_basis(basis: str) -> str:
    if basis not in BASES:
        raise InputError(f"basis must be one of {list(BASES)}", field="basis", value=basis)
    return basis


# --------------------------------------------------------------------------- inventory
def inventory_years(principal: Principal) -> list[int]:
    """Years of the city inventory (empty when not computed)."""
    access.require(principal, "read")
    inv = result("city_inventory")
    return [] if inv is None else sorted(int(y) for y in inv["year"].unique())


def _enterprise_rows(principal: Principal, inv: pd.DataFrame) -> pd.DataFrame:
    """Yearly ``level = enterprise`` rows of visible enterprises with their registry district,
    park and industry (the unattributed residual excluded)."""
    ent = inv[(inv["level"] == "enterprise") & inv["month"].isna()]
    ent = ent[ent["entity_code"] != UNATTRIBUTED]
    visible = access.visible_enterprise_codes(principal)
    if visible is not None:
        ent = ent[ent["entity_code"].isin(visible).to_numpy()]
    reg = access.registry().enterprises
    codes = ent["entity_code"]
    return ent.assign(
        district_code=reg["district_code"].reindex(codes).to_numpy(),
        park_code=reg["park_code"].reindex(codes).fillna(NO_PARK).to_numpy(),
        industry_code=reg["industry_code"].reindex(codes).fillna("").to_numpy(),
    )


def inventory_rows(
    principal: Principal, year: int | None = None, basis: str | None = None
) -> pd.DataFrame:
    """Yearly inventory rows (sector, gas, scope, basis, emissions) of the principal's scope:
    the city (top-down) for city-wide roles, else the sum of the visible enterprises."""
    access.require(principal, "read")
    inv = result("city_inventory")
    cols = [
        "year",
        "sector",
        "sector_name_zh",
        "sector_name_en",
        "gas",
        "scope",
        "basis",
        "emissions_t",
        "emissions_tco2e",
        "notation_key",
    ]
    if inv is None:
        return pd.DataFrame(columns=cols)
    if "sector_name_en" not in inv:  # results of a run before the English names
        inv = inv.assign(sector_name_en="")
    if principal.can("read_city"):
        rows = inv[(inv["level"] == "city") & inv["month"].isna()]
    else:
        rows = _enterprise_rows(principal, inv)
        keys = ["year", "sector", "sector_name_zh", "sector_name_en", "gas", "scope", "basis"]
        rows = rows.groupby(keys, as_index=False)[["emissions_t", "emissions_tco2e"]].sum(
            min_count=1
        )
        rows["notation_key"] = np.where(rows["emissions_tco2e"].isna(), "NE", "")
    if year is not None:
        rows = rows[rows["year"].to_numpy() == int(year)]
    if basis is not None:
        rows = rows[rows["basis"].to_numpy() == _check_basis(basis)]
    return rows[cols].sort_values(["year", "basis", "sector", "gas"]).reset_index(drop=True)


def with_notation(out: pd.DataFrame, rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``out`` (one row per group of ``keys``, with its summed ``emissions_tco2e``) with the
    GPC notation keys of its gas rows: ``notation_key`` only where no gas of the group has a
    value (a group with a value is never NE), and ``notation_gases`` saying which gases carry
    which key (``CH4 NE, N2O NE``; shown on hover)."""
    marked = rows[rows["notation_key"].fillna("").astype(str) != ""]
    by = [marked[k] for k in keys]
    pairs = marked["gas"].fillna("").astype(str) + " " + marked["notation_key"].astype(str)
    gases = pairs.str.strip().groupby(by, dropna=False)
    codes = marked.groupby(keys, dropna=False)["notation_key"]
    notes = pd.DataFrame(
        {
            "notation_key": codes.agg(lambda k: ",".join(sorted(set(k)))),
            "notation_gases": gases.agg(lambda g: ", ".join(sorted(set(g)))),
        }
    ).reset_index()
    out = out.drop(columns=["notation_key"], errors="ignore").merge(notes, on=keys, how="left")
    out["notation_gases"] = out["notation_gases"].fillna("")
    out["notation_key"] = out["notation_key"].where(out["emissions_tco2e"].isna()).fillna("")
    return out


def _grouped(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = rows.groupby(keys, as_index=False, dropna=False)["emissions_tco2e"].sum(min_count=1)
    out = with_notation(out, rows, keys)
    total = out["emissions_tco2e"].sum()
    out["share"] = out["emissions_tco2e"] / total if total else np.nan
    return out


def inventory_summary(
    principal: Principal, year: int, basis: str
) -> dict[str, pd.DataFrame | float]:
    """By sector (with scope), by gas and by scope for one year and basis, and the total."""
    rows = inventory_rows(principal, year, basis)
    return {
        "by_sector": _grouped(
            rows.assign(sector_name_en=rows["sector_name_en"].fillna("")),
            ["sector", "sector_name_zh", "sector_name_en", "scope"],
        ).sort_values("sector"),
        "by_gas": _grouped(rows, ["gas"]).sort_values("gas"),
        "by_scope": _grouped(rows, ["scope"]).sort_values("scope"),
        "total_tco2e": float(rows["emissions_tco2e"].sum(min_count=1)),  # NaN: all NE
    }


def sector_label(rows: pd.DataFrame, lang: str) -> pd.Series:
    """The sector's name in ``lang``: Chinese, or English (the code where a category has no
    English name, so that an English page stays English)."""
    if lang != "en":
        return rows["sector_name_zh"]
    en = rows["sector_name_en"].fillna("").astype(str)
    return en.where(en != "", rows["sector"])


def inventory_trend(principal: Principal, basis: str, lang: str = "zh") -> pd.DataFrame:
    """Emissions [tCO2e] by year and sector of the principal's scope (wide: one column a
    sector named in ``lang``, plus ``total``)."""
    rows = inventory_rows(principal, None, basis)
    rows = rows.assign(sector_label=sector_label(rows, lang))
    estimated = rows.groupby("year")["emissions_tco2e"].sum(min_count=1).dropna().index
    rows = rows[rows["year"].isin(estimated)]  # a year without a city total (NE) is no zero
    if rows.empty:
        return pd.DataFrame({"year": pd.Series(dtype="int64"), "total": pd.Series(dtype="float64")})
    wide = (
        rows.pivot_table(
            index="year",
            columns="sector_label",
            values="emissions_tco2e",
            aggfunc="sum",
            dropna=False,
        )
        .astype("float64")
        .fillna(0.0)
    )
    wide = wide.reindex(sorted(rows["year"].unique()), fill_value=0.0)
    wide = wide.loc[:, wide.sum() != 0]
    wide["total"] = wide.sum(axis=1).astype("float64")
    return wide.reset_index().rename_axis(columns=None)


def pseudo_entity_name(code: str, lang: str) -> str:
    """The name in ``lang`` of a drill-down row that is no registry entity: ``-`` (the
    enterprises outside any park) or ``unattributed`` (``pseudo_entities`` of
    ``read/data/presentation.yaml``)."""
    return catalog()["pseudo_entities"][code]["en" if lang == "en" else "zh"]


def drilldown(
    principal: Principal,
    year: int,
    basis: str,
    *,
    district: str | None = None,
    park: str | None = None,
    industry: str | None = None,
    lang: str = "zh",
) -> dict[str, Any]:
    """One step of the drill-down city → district → park → industry → enterprise.

    The next level below the given filters is listed: each entity with its emissions [tCO2e]
    (sum of its enterprises' bottom-up rows) and share. At the city level city-wide roles also
    get the ``unattributed`` row (city total - all enterprises), so the rows add up to the city.
    Rows that are no registry entity (no park, unattributed) are named in ``lang``
    (:func:`pseudo_entity_name`).

    Returns
    -------
    dict
        ``level`` (the listed level), ``rows`` (DataFrame: entity_code, entity_name,
        emissions_tco2e, share, enterprises), ``total_tco2e`` (of the filtered scope) and
        ``filters``.
    """
    access.require(principal, "read")
    _check_basis(basis)
    inv = result("city_inventory")
    cols = ["entity_code", "entity_name", "emissions_tco2e", "share", "enterprises"]
    filters = {"district": district, "park": park, "industry": industry}
    if principal.role == "district_manager" and not district:
        filters["district"] = principal.scope_code
    if principal.role == "park_manager" and not park:
        filters["park"] = principal.scope_code
    level = next((lv for lv in DRILL_LEVELS[:-1] if not filters[lv]), "enterprise")
    if principal.role == "enterprise_user":
        level = "enterprise"
    if inv is None:
        return {
            "level": level,
            "rows": pd.DataFrame(columns=cols),
            "total_tco2e": None,
            "filters": filters,
        }
    ent = _enterprise_rows(principal, inv)
    ent = ent[(ent["year"].to_numpy() == int(year)) & (ent["basis"].to_numpy() == basis)]
    for key, col in (
        ("district", "district_code"),
        ("park", "park_code"),
        ("industry", "industry_code"),
    ):
        if filters[key]:
            ent = ent[ent[col].to_numpy() == filters[key]]
    col = {
        "district": "district_code",
        "park": "park_code",
        "industry": "industry_code",
        "enterprise": "entity_code",
    }[level]
    g = ent.groupby(col)
    out = (
        pd.DataFrame(
            {
                "emissions_tco2e": g["emissions_tco2e"].sum(min_count=1),
                "enterprises": g["entity_code"].nunique(),
            }
        )
        .reset_index()
        .rename(columns={col: "entity_code"})
    )
    reg = access.registry()
    if level == "district":
        names = reg.regions["name_zh"]
    elif level == "park":
        names = reg.parks["name_zh"]
    elif level == "enterprise":
        names = reg.enterprises["name"]
    else:
        names = pd.Series(dtype=object)
    out["entity_name"] = out["entity_code"].map(names).fillna(out["entity_code"])
    out.loc[out["entity_code"] == NO_PARK, "entity_name"] = pseudo_entity_name(NO_PARK, lang)
    total = float(out["emissions_tco2e"].sum())
    city = (
        inventory_rows(principal, year, basis)["emissions_tco2e"].sum(min_count=1)
        if level == "district" and principal.can("read_city")
        else np.nan
    )
    if not np.isnan(city):  # no residual where the city total is not estimated (no balance)
        rest = pd.DataFrame(
            [
                {
                    "entity_code": UNATTRIBUTED,
                    "entity_name": pseudo_entity_name(UNATTRIBUTED, lang),
                    "emissions_tco2e": float(city) - total,
                    "enterprises": 0,
                }
            ]
        )
        out = pd.concat([out, rest], ignore_index=True)
        total = float(city)
    out["share"] = out["emissions_tco2e"] / total if total else np.nan
    out = out.assign(_rest=out["entity_code"] == UNATTRIBUTED).sort_values(
        ["_rest", "emissions_tco2e"], ascending=[True, False], na_position="last"
    )  # the residual last
    return {
        "level": level,
        "rows": out[cols].reset_index(drop=True),
        "total_tco2e": total,
        "filters": filters,
    }


def _sector_names() -> pd.DataFrame:
    """Chinese and English names (``sector_name_zh``, ``sector_name_en``) by sector code: the
    inventory's sectors (``city_inventory``) and the energy balance's items
    (``energy_balance``), as the runs wrote them."""
    inv, bal = result("city_inventory"), result("energy_balance")
    names = ["sector_name_zh", "sector_name_en"]
    frames = [pd.DataFrame(columns=["sector", *names])]
    if inv is not None:
        frames.append(inv.reindex(columns=["sector", *names]).drop_duplicates("sector"))
    if bal is not None:
        items = bal[["item", "item_zh", "item_en"]].drop_duplicates("item")
        frames.append(items.set_axis(["sector", *names], axis=1))
    return pd.concat(frames, ignore_index=True).drop_duplicates("sector").set_index("sector")


def reconciliation(principal: Principal, year: int | None = None) -> pd.DataFrame:
    """Top-down city vs bottom-up enterprises (coverage and unattributed residual) by sector,
    basis and measure (emissions tCO2e, energy tce), each sector with its Chinese and English
    name: city-wide roles only."""
    access.require(principal, "read_city")
    r = result("inventory_reconciliation")
    if r is None:
        return pd.DataFrame()
    if year is not None:
        r = r[r["year"].to_numpy() == int(year)]
    names = _sector_names().reindex(r["sector"]).fillna("").set_axis(r.index)
    at = r.columns.get_loc("sector") + 1
    r = pd.concat([r.iloc[:, :at], names, r.iloc[:, at:]], axis=1)
    return r.drop(columns=["run_id", "factor_profile"], errors="ignore").reset_index(drop=True)


INDICATOR_ORDER = (
    "total_ghg_tco2e",
    "co2_t",
    "intensity_tco2e_per_10k_cny",
    "intensity_decline_pct_vs_base",
    "co2_intensity_t_per_10k_cny",
    "co2_intensity_decline_pct_vs_base",
    "per_capita_tco2e",
    "energy_consumption_tce",
    "energy_intensity_tce_per_10k_cny",
    "energy_intensity_decline_pct_vs_base",
    "nonfossil_share",
    "coal_share",
    "enterprise_coverage_share",
    "gpc_basic_tco2e",
    "gpc_basic_plus_tco2e",
    "gpc_memo_international_bunkers_tco2e",
)


def indicators(principal: Principal, period_type: str = "year") -> pd.DataFrame:
    """City indicators (``city_indicators``) of a period type (year, quarter, month), long form
    with unit and basis: city-wide roles only."""
    access.require(principal, "read_city")
    if period_type not in ("year", "quarter", "month"):
        raise InputError("period must be year, quarter or month", field="period", value=period_type)
    f = result("city_indicators")
    if f is None:
        return pd.DataFrame(columns=["year", "period", "indicator", "value", "unit", "basis"])
    f = f[f["period_type"] == period_type]
    rank = {k: i for i, k in enumerate(INDICATOR_ORDER)}
    f = f.assign(_o=f["indicator"].map(lambda k: rank.get(k, rank.get(k.rsplit("_", 1)[0], 99))))
    f = f.sort_values(["year", "period", "_o", "indicator"])
    return f[["year", "period", "indicator", "value", "unit", "basis"]].reset_index(drop=True)


SCOPE2_FACTOR_COLUMNS = [
    "year",
    "approach",
    "grid_region",
    "level",
    "declared",
    "context",
    "factor_year",
    "ef_tco2_per_mwh",
    "factor_source",
]


def scope2_basis(principal: Principal, year: int | None = None) -> pd.DataFrame:
    """The scope-2 basis (``city_scope2``) of a year or every year: location-based under the
    declared grid region and the compared regions, and market-based. City-wide roles get the
    sensitivity of the city total; other roles the declared factor only (region, factor year,
    value, source: no city figure)."""
    access.require(principal, "read")
    f = result("city_scope2")
    if f is None:
        return pd.DataFrame(columns=SCOPE2_FACTOR_COLUMNS)
    if year is not None:
        f = f[f["year"].to_numpy() == int(year)]
    if not principal.can("read_city"):
        f = f.loc[f["declared"].astype(bool), SCOPE2_FACTOR_COLUMNS]
    order = f["approach"].ne("location_based").astype(int) * 10 + (~f["declared"].astype(bool))
    return (
        f.assign(_o=order)
        .sort_values(["year", "_o", "grid_region"])
        .drop(columns=["_o", "run_id", "factor_profile", "source_batches"], errors="ignore")
        .reset_index(drop=True)
    )


def gpc_table(principal: Principal, year: int) -> pd.DataFrame:
    """The GPC reporting table of a year (``gpc_inventory``), one row per reference number:
    scope, names, tCO2e (sum of the gases; empty when none is estimated), notation keys, BASIC,
    BASIC+ and memo flags, note. City-wide roles only."""
    access.require(principal, "read_city")
    f = result("gpc_inventory")
    cols = ["gpc_ref", "scope", "name_zh", "name_en", "emissions_tco2e", "notation_key"]
    cols += ["notation_gases", "basic", "basic_plus", "memo", "note_zh", "note_en"]
    if f is None:
        return pd.DataFrame(columns=cols)
    f = f[f["year"].to_numpy() == int(year)]
    firsts = ["scope", "name_zh", "name_en", "basic", "basic_plus", "memo", "note_zh", "note_en"]
    out = f.groupby("gpc_ref", sort=False).agg(
        emissions_tco2e=("emissions_tco2e", lambda v: v.sum(min_count=1)),
        **{c: (c, "first") for c in firsts},
    )
    return with_notation(out.reset_index(), f, ["gpc_ref"])[cols]


GPC_TOTALS = (
    "gpc_basic_tco2e",
    "gpc_basic_plus_tco2e",
    "gpc_memo_international_bunkers_tco2e",
)


def gpc_totals(principal: Principal, year: int) -> dict[str, float]:
    """BASIC, BASIC+ and the memo items (international bunkers) of a year [tCO2e], from
    ``city_indicators``: city-wide roles only."""
    ind = indicators(principal, "year")
    ind = ind[(ind["year"] == int(year)) & ind["indicator"].isin(GPC_TOTALS)]
    return dict(zip(ind["indicator"], ind["value"].astype(float), strict=True))


def sinks(principal: Principal, year: int) -> pd.DataFrame:
    """The carbon sinks of a year (``city_sinks``): sector, pool, source, site name,
    ecosystem, area, tCO2 (negative = removal), tier and method; memo rows (mariculture) last.
    City-wide roles only."""
    access.require(principal, "read_city")
    f = result("city_sinks")
    if f is None:
        return pd.DataFrame(columns=[*declared("city_sinks").key, "co2_t"])
    f = f[f["year"].to_numpy() == int(year)].assign(memo=lambda t: t["sector"] == "memo")
    f = f.sort_values(["memo", "sector", "pool", "source"], kind="stable")
    return f.drop(columns=["run_id", "factor_profile"], errors="ignore").reset_index(drop=True)


TRANSPORT_KEYS = ["mode", "navigation_type", "trip", "phase", "sector", "gpc_ref", "memo"]
#: The entity report of an airport or port: its rows by mode, trip, phase and fuel.
FACILITY_KEYS = [
    "facility",
    "mode",
    "navigation_type",
    "trip",
    "phase",
    "fuel",
    "fuel_zh",
    "fuel_en",
    "sector",
    "gpc_ref",
    "memo",
]
TRANSPORT_GASES = {"CO2": "co2_t", "CH4": "ch4_t", "N2O": "n2o_t"}
TRANSPORT_FIGURES = ["energy_tj", "lto_cycles", *TRANSPORT_GASES.values(), "emissions_tco2e"]


def _city_transport(year: int) -> pd.DataFrame:
    """``city_transport`` rows of a year; facility, navigation type and fuel names blank where
    a run before those columns left them empty."""
    f = result("city_transport")
    if f is None:
        return pd.DataFrame(columns=[*declared("city_transport").all_columns])
    f = f[f["year"].to_numpy() == int(year)]
    texts = ["facility", "navigation_type", "fuel_zh", "fuel_en"]
    return f.assign(**{c: f[c].fillna("").astype(str) for c in texts})


def transport_table(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``city_transport`` rows summed by ``keys``: energy [TJ] and LTO cycles of the CO2 rows
    (one per fuel row), CO2, CH4 and N2O [t] (NaN where NE) and tCO2e; per group the counted
    rows first, memo rows last."""
    if rows.empty:
        return pd.DataFrame(columns=[*keys, *TRANSPORT_FIGURES])
    by = rows.groupby(keys, dropna=False)
    co2 = rows[rows["gas"] == "CO2"].groupby(keys, dropna=False)
    gases = rows.groupby([*keys, "gas"], dropna=False)["emissions_t"].sum(min_count=1)
    out = pd.concat(
        [
            co2[["energy_tj", "lto_cycles"]].sum(min_count=1),
            gases.unstack("gas")
            .reindex(columns=list(TRANSPORT_GASES))
            .rename(columns=TRANSPORT_GASES),
            by["emissions_tco2e"].sum(min_count=1),
        ],
        axis=1,
    ).reset_index()
    head = keys[: keys.index("mode") + 1]
    out = out.sort_values([*head, "memo", "navigation_type", "trip", "phase"], kind="stable")
    return out[[*keys, *TRANSPORT_FIGURES]].reset_index(drop=True)


def transport(principal: Principal, year: int) -> pd.DataFrame:
    """Transport of a year by mode, kind of navigation, trip and flight phase
    (``city_transport``): IPCC category, GPC reference, memo flag (international trips, outside
    every total), energy [TJ], LTO cycles, CO2, CH4 and N2O [t] and tCO2e; per mode the counted
    rows first, memo rows last. City-wide roles only."""
    access.require(principal, "read_city")
    return transport_table(_city_transport(year), TRANSPORT_KEYS)


def transport_facilities(
    principal: Principal, year: int, facility: str | None = None
) -> pd.DataFrame:
    """The entity reports of the airports and ports (``city_transport`` rows that name a
    facility), or of one ``facility``: per facility, mode, kind of navigation, trip, flight
    phase and fuel, energy, LTO cycles, CO2, CH4, N2O and tCO2e, international trips memo
    rows. Rows without a facility (fuel the city reports for no airport or port) are in
    :func:`transport` only. City-wide roles only."""
    access.require(principal, "read_city")
    rows = _city_transport(year)
    named = rows["facility"] != ""
    if facility is not None:
        named &= rows["facility"] == facility
    return transport_table(rows[named.to_numpy()], FACILITY_KEYS)


def transport_totals(table: pd.DataFrame, by: str = "mode") -> pd.DataFrame:
    """Per ``by`` (mode, facility) of :func:`transport` or :func:`transport_facilities`:
    counted (domestic) and memo (international) tCO2e."""
    sums = table.groupby([by, "memo"])["emissions_tco2e"].sum(min_count=1).unstack("memo")
    sums = sums.reindex(columns=[False, True])
    return pd.DataFrame(
        {
            by: sums.index.to_numpy(),
            "counted_tco2e": sums[False].to_numpy(),
            "memo_tco2e": sums[True].to_numpy(),
        }
    )


NET_TOTALS = ("total_ghg_tco2e", "removals_tco2e", "net_ghg_tco2e")


def net_totals(principal: Principal, year: int, basis: str) -> dict[str, float]:
    """Gross emissions, removals and net emissions of a year on a basis [tCO2e], from
    ``city_indicators`` (the net is the neutrality gap left): city-wide roles only."""
    suffix = "" if _check_basis(basis) != "territorial" else "_territorial"
    ind = indicators(principal, "year")
    ind = ind[(ind["year"] == int(year)) & ind["indicator"].isin([n + suffix for n in NET_TOTALS])]
    by = dict(zip(ind["indicator"], ind["value"].astype(float), strict=True))
    return {n: by.get(n + suffix, float("nan")) for n in NET_TOTALS}


def uncertainty(principal: Principal, year: int | None = None) -> pd.DataFrame:
    """95 % ranges of the city total by approach (1 = error propagation, 2 = Monte Carlo) and
    basis: city-wide roles only."""
    access.require(principal, "read_city")
    u = result("inventory_uncertainty")
    if u is None:
        return pd.DataFrame()
    if year is not None:
        u = u[u["year"].to_numpy() == int(year)]
    return u.drop(columns=["run_id", "factor_profile"], errors="ignore").reset_index(drop=True)


#: The smallest 平衡差额 reported [tce]: what shows as 0.1 at the page's one decimal.
RESIDUAL_SHOWN_TCE = 0.05


def energy_balance(
    principal: Principal, year: int, tce_basis: str = "calorific", lang: str = "zh"
) -> dict[str, Any]:
    """The 能源平衡表 of a year: long rows and two wide tables (items × fuels) in physical
    units and in tce, with the flagged cells and the 平衡差额 (statistical difference) row:
    city-wide roles only. The wide tables, flags and residual name items and fuels in
    ``lang`` (``item``/``fuel`` with ``_zh`` or ``_en``: columns ``item_name``, ``fuel_name``)."""
    access.require(principal, "read_city")
    b = result("energy_balance")
    if b is None:
        return {
            "long": pd.DataFrame(),
            "physical": pd.DataFrame(),
            "tce": pd.DataFrame(),
            "fuels": [],
            "flags": [],
        }
    if tce_basis not in ("calorific", "coal_equivalent"):
        raise InputError(
            "tce basis must be calorific or coal_equivalent", field="tce_basis", value=tce_basis
        )
    part = b[(b["year"].to_numpy() == int(year)) & (b["tce_basis"].to_numpy() == tce_basis)]
    lang = "en" if lang == "en" else "zh"
    fuel_en = part.get("fuel_en", part["fuel_zh"])  # a run before the English fuel names
    part = part.assign(fuel_en=fuel_en.fillna(part["fuel_zh"]))
    part = part.assign(item_name=part[f"item_{lang}"], fuel_name=part[f"fuel_{lang}"])
    items = part.drop_duplicates("item").sort_values("order")[["item", "item_name"]]
    fuel_cols = part.drop_duplicates("fuel")[["fuel", "fuel_name", "unit"]]
    fuels = [f for f in fuel_cols["fuel"] if f != "total"] + (
        ["total"] if (fuel_cols["fuel"] == "total").any() else []
    )
    meta = fuel_cols.set_index("fuel")

    def wide(values: str, with_total: bool) -> pd.DataFrame:
        w = part.pivot_table(index="item", columns="fuel", values=values, aggfunc="sum")
        cols = [f for f in fuels if with_total or f != "total"]
        w = w.reindex(index=items["item"], columns=cols)
        w.columns = [
            with_unit(
                meta.at[f, "fuel_name"],
                (meta.at[f, "unit"] or "tce") if values == "quantity" else "tce",
                lang,
            )
            for f in cols
        ]
        w.insert(0, "item_name", items["item_name"].to_numpy())
        return w.reset_index()

    flagged = part[part["flag"].fillna("").astype(str) != ""][
        ["item", "item_name", "fuel", "fuel_name", "flag"]
    ]
    residual = part[part["item"] == "statistical_difference"]
    # a difference that rounds to 0.0 tce (the page shows one decimal) is no difference: the
    # float residue of a balanced table (-0.0001 tce) must not raise "平衡差额不为零"
    residual = residual[residual["tce"].fillna(0).abs() >= RESIDUAL_SHOWN_TCE][
        ["fuel", "fuel_name", "quantity", "unit", "tce"]
    ]
    drop = ["run_id", "factor_profile", "method", "item_name", "fuel_name"]
    long = part.drop(columns=drop, errors="ignore")
    return {
        "long": long.reset_index(drop=True),
        "physical": wide("quantity", False),
        "tce": wide("tce", True),
        "fuels": fuels,
        "flags": flagged.to_dict("records"),
        "residual": residual.reset_index(drop=True),
    }


def balance_years(principal: Principal) -> list[int]:
    access.require(principal, "read_city")
    b = result("energy_balance")
    return [] if b is None else sorted(int(y) for y in b["year"].unique())


# --------------------------------------------------------------------------- targets
def entity_visible(principal: Principal, level: pd.Series, code: pd.Series) -> np.ndarray:
    """Mask of (entity level, entity code) pairs the principal may see: everything for
    city-wide roles; own district, visible parks and enterprises for scoped roles (never the
    city or city-wide industries)."""
    level = pd.Series(level).astype(str).to_numpy()
    code = pd.Series(code).astype(str).to_numpy()
    if principal.city_wide:
        return np.ones(len(level), dtype=bool)
    districts = (
        access.visible_district_codes(principal)
        if principal.role == "district_manager"
        else frozenset()
    )
    parks = access.visible_park_codes(principal) or frozenset()
    ents = access.visible_enterprise_codes(principal) or frozenset()
    return (
        ((level == "district") & np.isin(code, list(districts or ())))
        | ((level == "park") & np.isin(code, list(parks)))
        | ((level == "enterprise") & np.isin(code, list(ents)))
    )


PROGRESS_COLUMNS = [
    "year",
    "months",
    "value",
    "base_value",
    "base_source",
    "base_status",
    "base_note",
    "actual_decline_pct",
    "scheduled_decline_pct",
    "decline_gap_pts",
    "target_value_year",
    "forecast_end_value",
    "forecast_decline_pct",
    "forecast_decline_gap_pts",
    "cap_value",
    "budget_to_date",
    "actual_to_date",
    "budget_use_ratio",
    "forecast_cap_ratio",
]
LAMP_RANK = {"green": 0, "yellow": 1, "red": 2}
#: Entity levels of targets and warning subjects, in the order the pages list them.
ENTITY_LEVELS = ("city", "district", "park", "industry", "enterprise")


def targets(principal: Principal) -> pd.DataFrame:
    """Current targets the principal may see, with the latest progress row and the worst
    warning lamp of their latest status (empty lamp when not evaluated)."""
    access.require(principal, "read")
    t = targets_store.targets_frame()
    t = t[entity_visible(principal, t["level"], t["entity_code"])]
    # the base value entered on a target is in the progress rows with its source
    t = t.drop(columns=["valid_from", "valid_to", "created_by", "base_value"], errors="ignore")
    prog = result("target_progress")
    if prog is not None and len(prog):
        last = prog.sort_values(["target_id", "year"]).groupby("target_id").tail(1)
        last = last.set_index("target_id")[[c for c in PROGRESS_COLUMNS if c in last]]
        last = last.rename(columns={"value": "actual_value", "year": "progress_year"})
        t = t.join(last, on="target_id")
        names = prog.drop_duplicates("target_id").set_index("target_id")["entity_name"]
        t["entity_name"] = t["target_id"].map(names)
    st = status(principal)
    if len(st) and "target_id" in st:
        s = st.dropna(subset=["target_id"])
        worst = s.assign(r=s["level"].map(LAMP_RANK)).sort_values("r").groupby("target_id").tail(1)
        t["lamp"] = t["target_id"].map(worst.set_index("target_id")["level"])
    else:
        t["lamp"] = None
    t["district_code"] = entity_districts(t["level"], t["entity_code"])
    order = {lv: i for i, lv in enumerate(ENTITY_LEVELS)}
    t = t.assign(_r=-t["lamp"].map(LAMP_RANK).fillna(-1), _o=t["level"].map(order))
    t = t.sort_values(["_r", "_o", "period_label", "code"]).drop(columns=["_r", "_o"])
    return t.reset_index(drop=True)


def entity_districts(level: pd.Series, code: pd.Series) -> np.ndarray:
    """The district of each (entity level, entity code) pair: a district itself, a park's or an
    enterprise's registry district; None for the city and city-wide industries."""
    reg = access.registry()
    level = pd.Series(level).astype(str).to_numpy()
    code = pd.Series(code).astype(str)
    parks = reg.parks["district_code"].reindex(code).to_numpy()
    ents = reg.enterprises["district_code"].reindex(code).to_numpy()
    out = np.where(level == "district", code.to_numpy(), None)
    out = np.where(level == "park", parks, out)
    return np.where(level == "enterprise", ents, out)


def select_targets(
    frame: pd.DataFrame,
    *,
    lamp: str | None = None,
    entity_level: str | None = None,
    district: str | None = None,
    target: str | None = None,
) -> pd.DataFrame:
    """Rows of :func:`targets` or :func:`status` matching the filters of the 目标与预警 page
    (lamp, object type, district, target code; None = any). A ``status`` frame names the
    lamp ``level`` and the object type ``entity_level``; a ``targets`` frame ``lamp`` and
    ``level``."""
    lamp_col, level_col = (
        ("level", "entity_level") if "entity_level" in frame else ("lamp", "level")
    )
    keep = np.ones(len(frame), dtype=bool)
    for column, wanted in (
        (lamp_col, lamp),
        (level_col, entity_level),
        ("district_code", district),
        ("code", target),
    ):
        if wanted and column in frame:
            keep &= (frame[column] == wanted).to_numpy()
        elif wanted:
            keep &= False
    return frame[keep].reset_index(drop=True)


def progress(principal: Principal, code: str | None = None) -> pd.DataFrame:
    """Yearly progress rows of the visible targets (one target with ``code``)."""
    access.require(principal, "read")
    prog = result("target_progress")
    if prog is None:
        return pd.DataFrame(columns=["code", "year", *PROGRESS_COLUMNS])
    p = prog[entity_visible(principal, prog["level"], prog["entity_code"])]
    if code is not None:
        p = p[p["code"] == code]
        if p.empty:
            visible = targets(principal)
            if code not in set(visible["code"]):
                raise access.NotVisible(f"target {code} not found")
    return (
        p.drop(columns=["run_id", "factor_profile", "method"], errors="ignore")
        .sort_values(["code", "year"])
        .reset_index(drop=True)
    )


def annual_path(principal: Principal, code: str) -> pd.DataFrame:
    """The annual (schedule-proportional) target path of one visible target."""
    t = targets(principal)
    row = t[t["code"] == code]
    if row.empty:
        raise access.NotVisible(f"target {code} not found")
    a = targets_store.annual_frame()
    a = a[a["target_id"] == int(row["target_id"].iat[0])].sort_values("year")
    return a[["year", "target_value"]].reset_index(drop=True)


#: Order of the dual-control indicators on pages and in exports (assessed ones first).
DUAL_CONTROL_ORDER = (
    "co2_t",
    "co2_intensity_t_per_10k_cny",
    "energy_co2_t",
    "process_co2_t",
    "total_ghg_tco2e",
    "energy_control_tce",
    "energy_intensity_tce_per_10k_cny",
    "energy_tce",
    "feedstock_tce",
    "renewable_electricity_mwh",
    "new_renewable_tce",
    "nonfossil_share",
    "gdp_10k_cny",
    "reporters_co2_t",
    "coverage_share",
)


def dual_control(
    principal: Principal, level: str | None = None, indicator: str | None = None
) -> pd.DataFrame:
    """Dual-control indicators (``dual_control_indicators``) of the visible entities: the city
    for city-wide roles, a district manager's own district; with origin, status, basis, coverage
    and note (口径) beside every value."""
    access.require(principal, "read")
    f = result("dual_control_indicators")
    if f is None:
        return pd.DataFrame(columns=["level", "entity_code", "year", "indicator", "value"])
    f = f[entity_visible(principal, f["level"], f["entity_code"])]
    if level is not None:
        f = f[f["level"] == level]
    if indicator is not None:
        f = f[f["indicator"] == indicator]
    order = {k: i for i, k in enumerate(DUAL_CONTROL_ORDER)}
    f = f.assign(_o=f["indicator"].map(order).fillna(len(order)))
    f = f.sort_values(["level", "entity_code", "_o", "year"]).drop(columns="_o")
    return f.drop(columns=["run_id", "source_batches"], errors="ignore").reset_index(drop=True)


def status(principal: Principal) -> pd.DataFrame:
    """The latest warning status (metric value, threshold, lamp) of the visible subjects."""
    access.require(principal, "read")
    s = result("target_status")
    if s is None:
        return pd.DataFrame(columns=["subject", "level", "metric", "value"])
    s = s[entity_visible(principal, s["entity_level"], s["entity_code"])]
    s = s.drop(columns=["factor_profile", "method"], errors="ignore")
    s["district_code"] = entity_districts(s["entity_level"], s["entity_code"])
    return s.reset_index(drop=True)


def warnings_log(principal: Principal) -> pd.DataFrame:
    """The warnings log (newest first) of the visible entities."""
    access.require(principal, "read")
    w = targets_store.warnings_frame()
    w = w[entity_visible(principal, w["entity_level"], w["entity_code"])].reset_index(drop=True)
    names = targets_store.targets_frame(history=True).set_index("target_id")["name"]
    return w.assign(target_name=w["target_id"].map(names))


_SCOPES = {"zh": "范围一、二、三（GPC）", "en": "scopes 1, 2 and 3 (GPC)"}
_GASES = {"zh": "七种温室气体，CO2当量", "en": "seven GHGs, CO2e"}
_COVERAGE = {
    True: {"zh": "全市（自上而下清单）", "en": "the whole city (top-down inventory)"},
    False: {"zh": "可见企业之和（自下而上）", "en": "sum of the visible enterprises (bottom-up)"},
}


def _factor_sets(profile: str) -> str:
    """The factor sets with their versions named in a run's factor profile(s):
    ``xiamen:inventory[a@1,b@2]#h; …`` → ``a@1, b@2``."""
    sets = dict.fromkeys(
        name for group in re.findall(r"\[([^\]]*)\]", profile) for name in group.split(",")
    )
    return ", ".join(sets) if sets else profile


def table_basis(
    principal: Principal,
    lang: str,
    *,
    year: int | str | None = None,
    result_name: str | None = None,
    basis: str = "",
    energy: str = "",
) -> Basis:
    """The 口径 of a table download in ``lang``: city, year (all years when None), the
    coverage (the principal's scope), the factor sets and the run of ``result_name`` it comes
    from, the emissions ``basis`` and the standard-coal basis ``energy`` (当量值/等价值, coded
    as in ``presentation.yaml`` ``values.tce_basis``) where they apply."""
    from citycarbon.config import load_city

    lang = lang if lang in ("zh", "en") else "zh"
    prov = provenance(result_name) if result_name else None
    coded = catalog()["values"]["tce_basis"].get(energy)
    return Basis(
        city=getattr(load_city().name, lang),
        year=str(year) if year is not None else ("全部年份" if lang == "zh" else "all years"),
        basis=basis,
        factors=_factor_sets(prov["factor_profile"]) if prov else "",
        coverage=access.scope_label(principal, lang),
        energy=coded[lang] if coded else energy,
        source=f"{result_name} ({prov['run_id']})" if prov else "",
    )


def inventory_basis(principal: Principal, year: int | None, basis: str | None, lang: str) -> Basis:
    """The 口径 of an inventory download in ``lang``: :func:`table_basis` of the newest
    ``city_inventory`` run with the scopes, gases and coverage (the city for city-wide roles,
    else the principal's enterprises)."""
    lang = lang if lang in ("zh", "en") else "zh"
    about = table_basis(principal, lang, year=year, result_name="city_inventory", basis=basis or "")
    return replace(
        about,
        scope=_SCOPES[lang],
        gases=_GASES[lang],
        coverage=_COVERAGE[principal.can("read_city")][lang],
    )
