"""The reporting tables of a year, built on request from the newest results: the provincial
guideline's 总表 and sector tables (energy, IPPU, agriculture, LUCF, waste) and GPC BASIC /
BASIC+ in a CIRIS-like layout (sub-sector rows x scope columns, notation keys, data-quality
marks). Layouts are data (``contract/data/reporting_tables.yaml``); the figures are sums of
``city_inventory``, ``city_sinks`` and ``gpc_inventory`` rows, so every table reconciles with the
totals of 清单 (``city_indicators``). The faces (:mod:`citycarbon.reports.tables`, the web) call
:func:`reporting_tables`; the caller checks the role (city-wide only).

References
----------
[1] 国家发展改革委办公厅《省级温室气体清单编制指南（试行）》(2011), 清单报告格式.
[2] WRI, C40, ICLEI (2014) Global Protocol for Community-Scale GHG Emission Inventories v1.1,
    Ch. 4 (BASIC, BASIC+), Table 5.1 (data quality), Ch. 3 (notation keys); C40 CIRIS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from citycarbon.accounting.gpc import gpc_reference
from citycarbon.accounting.inventory import category_names_by_code
from citycarbon.config import load_city
from citycarbon.contract.results import CITY_SINKS
from citycarbon.errors import InputError
from citycarbon.runs.inventory import latest_result
from citycarbon.store import results

LAYOUT_FILE = Path(__file__).parents[1] / "contract" / "data" / "reporting_tables.yaml"
#: The guideline's tables are territorial (辖区内, scope 1); net imported electricity is memo.
GUIDELINE_BASIS = "territorial"
SCOPES = (1, 2, 3)


@cache
def layout() -> dict[str, Any]:
    """The table layouts (``reporting_tables.yaml``)."""
    return yaml.safe_load(LAYOUT_FILE.read_text(encoding="utf-8"))


@dataclass
class ReportingTables:
    """The tables of one year, each with its rows in both languages (``name_zh``, ``name_en``)."""

    city_zh: str
    city_en: str
    year: int
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def _in_codes(sector: pd.Series, codes: list[str], exclude: list[str]) -> np.ndarray:
    """Rows whose IPCC code is one of ``codes`` or below it (``1`` holds ``1.A.2``)."""

    def under(cs: list[str]) -> np.ndarray:
        s = sector.astype(str)
        hit = np.zeros(len(s), dtype=bool)
        for c in cs:  # a code or two per table
            hit |= (s.eq(c) | s.str.startswith(c + ".")).to_numpy()
        return hit

    return under(codes) & ~under(exclude)


def _gases(rows: pd.DataFrame) -> list[str]:
    """The gas columns: the layout's families, then any other gas of the rows."""
    listed = layout()["gases"]
    return listed + sorted(set(rows["gas"].dropna().astype(str)) - set(listed) - {""})


def _gas_wide(rows: pd.DataFrame, index: list[str]) -> pd.DataFrame:
    """Rows summed to one line per ``index`` with one tCO2e column per gas family and the
    total; a line without a value keeps the notation keys of its rows."""
    rows = rows.assign(gas=rows["gas"].replace(layout()["families"]))
    gases = _gases(rows)
    sums = rows.groupby([*index, "gas"])["emissions_tco2e"].sum(min_count=1)
    wide = sums.unstack("gas").reindex(columns=gases)
    wide["total_tco2e"] = wide[gases].sum(axis=1, min_count=1)
    marked = rows[rows["notation_key"].fillna("").astype(str) != ""]
    keys = marked.groupby(index)["notation_key"].agg(lambda k: ",".join(sorted(set(k))))
    wide["notation_key"] = keys.reindex(wide.index).fillna("").where(wide["total_tco2e"].isna(), "")
    return wide.reset_index().rename_axis(columns=None)


def _named(frame: pd.DataFrame) -> pd.DataFrame:
    """The IPCC code's names (zh, en) beside it (``inventory_sectors.csv``, then
    ``ipcc_categories.csv``; the code where neither has it)."""
    names = category_names_by_code()
    return frame.assign(
        name_zh=frame["sector"].map(names["zh"]).fillna(frame["sector"]),
        name_en=frame["sector"].map(names["en"]).fillna(frame["sector"]),
    )


def _without_empty_parents(table: pd.DataFrame) -> pd.DataFrame:
    """The table less the rows of an aggregate code (``2``) that has no value while rows of
    its sub-categories (``2.A.1``) are in the table: the parts stand for it."""
    codes = table["sector"].astype(str)
    parent = codes.map(lambda c: bool(codes.str.startswith(c + ".").any()))  # a few rows
    return table[~(parent & table["total_tco2e"].isna())].reset_index(drop=True)


def _line(names: dict, values: pd.DataFrame, gases: list[str]) -> dict:
    """One summary line: the sums of ``values`` per gas and total, with the IPCC code of the
    line (``codes``; none for a total) and its names."""
    sums = values.reindex(columns=[*gases, "total_tco2e"]).sum(min_count=1)
    code = ",".join(names.get("codes", []))
    return {"sector": code, "name_zh": names["zh"], "name_en": names["en"], **sums.to_dict()}


def guideline_tables(inventory: pd.DataFrame, sinks: pd.DataFrame | None, year: int) -> dict:
    """The 总表 and the sector tables of ``year`` (territorial, city level, the year's rows).

    Returns ``{"guideline_summary": ..., "guideline_<sector>": ...}``: a sector table has one
    row per IPCC code (tCO2e per gas, total, notation key); LUCF adds the counted sink rows by
    sector and pool (CO2, negative). The 总表 has one row per sector table, the gross total
    (without LUCF), the net total (with LUCF) and the memo rows.
    """
    lay = layout()
    city = inventory[
        (inventory["level"] == "city")
        & inventory["month"].isna()
        & (inventory["year"] == year)
        & (inventory["basis"] == GUIDELINE_BASIS)
    ]
    if city.empty:
        raise InputError(f"the inventory has no rows for {year}", source="city_inventory")
    out: dict[str, pd.DataFrame] = {}
    summary = []
    gases = _gases(city.assign(gas=city["gas"].replace(lay["families"])))
    for key, spec in lay["guideline"].items():  # five sector tables
        rows = city[_in_codes(city["sector"], spec["codes"], spec.get("except", []))]
        table = _named(_gas_wide(rows, ["sector"])) if len(rows) else pd.DataFrame()
        table = _without_empty_parents(table) if len(table) else table
        if spec.get("sinks") and sinks is not None and len(sinks):
            counted = sinks[(sinks["year"] == year) & (sinks["sector"] != "memo")]
            removals = counted.groupby(["sector", "pool"], as_index=False)["co2_t"].sum()
            named = _named(removals)
            pool = {
                lang: removals["pool"].map({k: v[lang] for k, v in lay["pools"].items()})
                for lang in ("zh", "en")
            }
            removals = named.assign(
                name_zh=named["name_zh"] + "（" + pool["zh"].fillna(removals["pool"]) + "）",
                name_en=named["name_en"] + " (" + pool["en"].fillna(removals["pool"]) + ")",
                CO2=removals["co2_t"],
                total_tco2e=removals["co2_t"],
                notation_key="",
            )
            table = pd.concat([table, removals.drop(columns=["pool", "co2_t"])], ignore_index=True)
        if table.empty:
            table = pd.DataFrame(
                [{"sector": spec["codes"][0], "name_zh": spec["zh"], "name_en": spec["en"]}]
            ).assign(notation_key="NE")
        table = table.reindex(
            columns=["sector", "name_zh", "name_en", *gases, "total_tco2e", "notation_key"]
        )
        out[f"guideline_{key}"] = table
        summary.append(_line(spec, table, gases))
    sectors = pd.DataFrame(summary)
    in_gross = [not s.get("sinks") for s in lay["guideline"].values()]
    gross = _line(lay["totals"]["gross"], sectors[in_gross], gases)
    net = _line(lay["totals"]["net"], sectors, gases)
    memo = []
    for spec in lay["memo"].values():
        rows = inventory[
            (inventory["level"] == "city")
            & inventory["month"].isna()
            & (inventory["year"] == year)
            & _in_codes(inventory["sector"], spec["codes"], [])
        ]
        memo.append(_line(spec, _gas_wide(rows, ["sector"]), gases) if len(rows) else {})
    out["guideline_summary"] = pd.concat(
        [pd.DataFrame([gross]), sectors, pd.DataFrame([net]), pd.DataFrame(memo)],
        ignore_index=True,
    ).reindex(columns=["sector", "name_zh", "name_en", *gases, "total_tco2e"])
    return {"guideline_summary": out.pop("guideline_summary"), **out}


def gpc_ciris(gpc: pd.DataFrame, year: int) -> pd.DataFrame:
    """GPC BASIC / BASIC+ of ``year`` in a CIRIS-like layout: one row per sub-sector (memo
    items last), columns scope 1, 2, 3 (tCO2e, or the notation key where no gas has a value;
    empty where the framework has no such reference number), the BASIC and BASIC+ totals of
    the row and the data-quality mark with its reason."""
    f = gpc[gpc["year"] == year]
    if f.empty:
        raise InputError(f"the GPC table has no rows for {year}", source="gpc_inventory")
    ref = gpc_reference()
    f = f.assign(
        subsector=ref["subsector"].reindex(f["gpc_ref"]).to_numpy(),
        gpc_sector=ref["sector"].reindex(f["gpc_ref"]).to_numpy(),
        scope=pd.to_numeric(f["scope"], errors="coerce"),
    )
    counted = f[~f["memo"].astype(bool)]
    keys = ["gpc_sector", "subsector"]
    sums = counted.groupby([*keys, "scope"])["emissions_tco2e"].sum(min_count=1)
    sums = sums.unstack("scope").reindex(columns=list(SCOPES))
    present = counted.groupby([*keys, "scope"])["gpc_ref"].count().unstack("scope")
    present = present.reindex(columns=list(SCOPES))
    notes = counted[counted["notation_key"].fillna("").astype(str) != ""]
    notes = notes.groupby([*keys, "scope"])["notation_key"].agg(lambda k: ",".join(sorted(set(k))))
    notes = notes.unstack("scope").reindex(index=present.index, columns=list(SCOPES))
    sums = sums.reindex(present.index)
    out = pd.DataFrame(index=present.index)
    for s in SCOPES:  # three scope columns
        value = sums[s].round(1).astype(object)
        shown = value.where(sums[s].notna(), notes[s].fillna(""))
        out[f"scope_{s}"] = shown.where(present[s].notna(), "")
    basic = counted[counted["basic"].astype(bool)].groupby(keys)["emissions_tco2e"].sum()
    plus = counted[counted["basic_plus"].astype(bool)].groupby(keys)["emissions_tco2e"].sum()
    out["basic_tco2e"] = basic.reindex(out.index).fillna(0.0)
    out["basic_plus_tco2e"] = plus.reindex(out.index).fillna(0.0)
    out = out.reset_index()
    quality = layout()["data_quality"]
    first = ref.reset_index().drop_duplicates("subsector").set_index("subsector")
    out["name_zh"] = out["subsector"].map(first["zh"].str.split("：").str[0])
    out["name_en"] = out["subsector"].map(first["en"].str.split(":").str[0])
    out["data_quality"] = out["gpc_sector"].map({k: v["mark"] for k, v in quality.items()})
    out["data_quality"] = out["data_quality"].fillna("")
    for lang in ("zh", "en"):
        notes_in = {k: v[lang] for k, v in quality.items()}
        out[f"data_quality_note_{lang}"] = out["gpc_sector"].map(notes_in).fillna("")
    cols = ["subsector", "name_zh", "name_en", *[f"scope_{s}" for s in SCOPES]]
    cols += ["basic_tco2e", "basic_plus_tco2e", "data_quality"]
    cols += ["data_quality_note_zh", "data_quality_note_en"]
    return out[cols]


def reporting_tables(year: int, *, city: Any = None) -> ReportingTables:
    """The provincial guideline's tables and the GPC CIRIS-like table of ``year``."""
    cfg = city or load_city()
    inventory = latest_result("city_inventory")
    gpc = latest_result("gpc_inventory")
    sinks = latest_result("city_sinks") if results.has(CITY_SINKS) else None
    tables = guideline_tables(inventory, sinks, int(year))
    tables["gpc_ciris"] = gpc_ciris(gpc, int(year))
    return ReportingTables(cfg.name.zh, cfg.name.en, int(year), tables)
