"""The 口径 of a report (what its figures cover and how they were computed), for its first page
and its 说明 sheet."""

from __future__ import annotations

import pandas as pd

from citycarbon.contract.records import record_text
from citycarbon.read.presentation import Basis
from citycarbon.runs.reports import BASIS, ReportData

_COVERAGE = {
    "city_inventory": {"zh": "全市（自上而下清单）", "en": "the whole city (top-down inventory)"},
    "enterprise_fallback": {
        "zh": "仅重点企业（205-1报表，范围一和范围二CO2）",
        "en": "covered enterprises only (205-1 returns, scope 1 + 2 CO2)",
    },
}
_GASES = {
    "inventory": {
        "zh": "七种温室气体，CO2当量（GWP：{gwp}）",
        "en": "seven GHGs, CO2e (GWP: {gwp})",
    },
    "targets": {"zh": "按各目标的考核口径", "en": "as each target is assessed"},
}


def report_basis(data: ReportData, lang: str) -> Basis:
    """The 口径 of ``data`` in ``lang``: city, period, basis, gases, factor sets, coverage."""
    sets = data.tables.get("factor_sets")
    gwp, factors = "", ""
    if sets is not None and len(sets):
        named = sets["factor_set"].astype(str) + "@" + sets["version"].astype(str)
        gwp = ", ".join(named[sets["factor_set"].str.contains("gwp")])
        factors = ", ".join(named[~sets["factor_set"].str.contains("gwp")])
    if data.kind == "inventory":
        basis = BASIS if data.source == "city_inventory" else ""
        coverage = _COVERAGE[data.source][lang]
        scope = "范围一、二、三（GPC）" if lang == "zh" else "scopes 1, 2 and 3 (GPC)"
    else:
        basis, coverage, scope = "", "", ""
    return Basis(
        city=data.city_in(lang),
        year=data.period,
        basis=basis,
        scope=scope,
        gases=_GASES[data.kind][lang].format(gwp=gwp) if data.kind in _GASES else "",
        factors=factors,
        coverage=coverage,
        source=record_text(data.source, lang),
    )


def provenance_in(data: ReportData, lang: str) -> pd.DataFrame:
    """The provenance rows of ``data`` with each result's method record said in ``lang`` (free
    text of earlier runs as stored)."""
    return methods_in(data.provenance, lang)


def methods_in(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``table`` with its ``method`` column (where it has one: provenance, account lines) said
    in ``lang``, once per distinct record."""
    if "method" not in table:
        return table
    said = {m: record_text(m, lang) for m in table["method"].unique()}  # a few distinct
    return table.assign(method=table["method"].map(said))
