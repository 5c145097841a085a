"""The tables of the inventory and targets reports, computed on request from the newest results
(sums and selections, the GPC reporting table of the ``gpc_inventory`` result and the city's
factor sets), with the provenance of every total. The faces
(:mod:`citycarbon.reports`, the web pages, the CLI) call these functions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from citycarbon.accounting.enterprise import (
    MODE_METHODS,
    account_lines,
    energy_205_1,
    guideline_report_tables,
)
from citycarbon.config import load_city
from citycarbon.config.settings import get_settings
from citycarbon.contract.results import DUAL_CONTROL, TARGET_PROGRESS, TARGET_STATUS
from citycarbon.errors import InputError
from citycarbon.factors import load_factor_set
from citycarbon.runs.targets_inputs import FUEL_RESULT, latest_result
from citycarbon.store import lake as lake_store
from citycarbon.store import targets as targets_store

BASIS = "incl_net_imported_electricity"
#: A targets report period: first and last year (``2021-2025``). Faces declare it for their
#: parameters; it also names the report's files, so nothing else is accepted.
PERIOD_PATTERN = r"^[0-9]{4}-[0-9]{4}$"


@dataclass
class ReportData:
    """Everything a report shows: named tables, chart series and provenance."""

    kind: str  # 'inventory', 'targets' or 'enterprise_account'
    title: str
    city: str
    period: str
    source: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    charts: dict[str, pd.DataFrame] = field(default_factory=dict)
    provenance: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    title_en: str = ""  # the title in English (files in English)
    city_en: str = ""

    def title_in(self, lang: str) -> str:
        """The title in ``lang`` (the Chinese one where no English title was set)."""
        return self.title_en if lang == "en" and self.title_en else self.title

    def city_in(self, lang: str) -> str:
        """The city's name in ``lang``."""
        return self.city_en if lang == "en" and self.city_en else self.city


def _prov_rows(**frames: tuple[pd.DataFrame, str] | None) -> pd.DataFrame:
    rows = []
    for name, got in frames.items():
        if got is None:
            continue
        f, run = got
        rows.append(
            {
                "result": name,
                "run_id": run,
                "factor_profile": str(f["factor_profile"].iloc[0])
                if "factor_profile" in f and len(f)
                else "",
                "method": str(f["method"].iloc[0]) if "method" in f and len(f) else "",
                "rows": len(f),
            }
        )
    return pd.DataFrame(rows)


def factor_sets(cfg: Any) -> pd.DataFrame:
    """The city's factor sets of the inventory (id, version, title) in priority order."""
    rows = []
    for sid in [*cfg.factors.sets_of("inventory"), cfg.factors.gwp]:
        s = load_factor_set(sid, extra_paths=get_settings().factors_path)
        rows.append(
            {"factor_set": s.id, "version": s.version, "title": s.title, "values": len(s.table)}
        )
    return pd.DataFrame(rows)


def inventory_report(
    year: int, month: int | None = None, *, cfg: Any = None, settings: Any = None
) -> ReportData:
    """Tables of the annual (or monthly) inventory report of ``year``."""
    settings = settings or get_settings()
    cfg = cfg or load_city()
    lake = settings.lake
    inv = latest_result("city_inventory", lake)
    ind = latest_result("city_indicators", lake)
    bal = latest_result("energy_balance", lake)
    unc = latest_result("inventory_uncertainty", lake)
    gpc = latest_result("gpc_inventory", lake)
    fuel = latest_result(FUEL_RESULT, lake)
    period = f"{year}" if month is None else f"{year}-{month:02d}"
    data = ReportData(
        "inventory",
        f"{cfg.name.zh}温室气体排放清单报告 {period}",
        cfg.name.zh,
        period,
        "city_inventory" if inv is not None else "enterprise_fallback",
        title_en=f"{cfg.name.en} greenhouse gas inventory report {period}",
        city_en=cfg.name.en,
    )
    if inv is not None:
        f = inv[0][inv[0]["year"] == year]
        f = f[f["basis"] == BASIS] if (f["basis"] == BASIS).any() else f
        rows = f[f["month"].isna()] if month is None else f[f["month"] == month]
        if not len(rows) and month is None:
            raise InputError(
                f"the inventory has no rows for {year}", source="city_inventory", value=year
            )
        city = rows[rows["level"] == "city"]
        data.tables["by_sector"] = (
            city.groupby(["sector", "sector_name_zh", "scope"], as_index=False)["emissions_tco2e"]
            .sum(min_count=1)
            .sort_values("sector")
        )
        data.tables["by_gas"] = city.groupby("gas", as_index=False)[
            ["emissions_t", "emissions_tco2e"]
        ].sum(min_count=1)
        for level, n in (("district", None), ("industry", 15), ("enterprise", 10)):
            t = (
                rows[rows["level"] == level]
                .groupby(["entity_code", "entity_name"], as_index=False)["emissions_tco2e"]
                .sum()
            )
            t = t.sort_values("emissions_tco2e", ascending=False)
            data.tables[f"by_{level}"] = t.head(n) if n else t
        monthly = f[(f["level"] == "city") & f["month"].notna()]
        data.charts["monthly"] = monthly.groupby("month", as_index=False)["emissions_tco2e"].sum()
        data.tables["total"] = pd.DataFrame(
            {
                "indicator": ["total_ghg_tco2e"],
                "value": [city["emissions_tco2e"].sum()],
                "unit": ["tCO2e"],
            }
        )
    elif fuel is not None:
        f = fuel[0][fuel[0]["year"] == year]
        f = f if month is None else f[f["month"] == month]
        if not len(f):
            raise InputError(f"no results for {period}", source=FUEL_RESULT, value=period)
        data.notes.append(
            "No city inventory results in this lake: covered enterprises only "
            "(scope 1 + scope 2 CO2 from 205-1 returns)."
        )
        data.tables["by_enterprise"] = (
            f.groupby("enterprise_code", as_index=False)[["energy_tce", "co2_t"]]
            .sum()
            .nlargest(10, "co2_t")
        )
        data.charts["monthly"] = (
            fuel[0][fuel[0]["year"] == year]
            .groupby("month", as_index=False)["co2_t"]
            .sum()
            .rename(columns={"co2_t": "emissions_tco2e"})
        )
        data.tables["total"] = pd.DataFrame(
            {"indicator": ["co2_t"], "value": [f["co2_t"].sum()], "unit": ["t"]}
        )
    else:
        raise InputError(
            "no results in the lake: run `citycarbon compute` (or the demo) first", source=str(lake)
        )
    if ind is not None and month is None:
        i = ind[0][(ind[0]["year"] == year) & (ind[0]["period_type"] == "year")]
        data.tables["indicators"] = i[["indicator", "value", "unit"]]
    if bal is not None and month is None:
        b = bal[0][bal[0]["year"] == year]
        data.tables["energy_balance"] = b.drop(
            columns=[c for c in ("run_id", "factor_profile", "method") if c in b]
        )
        data.tables["balance_items"] = b.groupby(["item", "item_zh"], as_index=False)["tce"].sum()
    if gpc is not None and month is None:
        data.tables["gpc"] = _gpc_by_gas(gpc[0][gpc[0]["year"] == year])
    if unc is not None and month is None:
        data.tables["uncertainty"] = unc[0][unc[0]["year"] == year].drop(
            columns=[c for c in ("run_id", "factor_profile", "method") if c in unc[0]]
        )
    data.tables["factor_sets"] = factor_sets(cfg)
    data.provenance = _prov_rows(
        city_inventory=inv,
        city_indicators=ind,
        energy_balance=bal,
        inventory_uncertainty=unc,
        gpc_inventory=gpc,
        **{FUEL_RESULT: fuel},
    )
    return data


def _gpc_by_gas(rows: pd.DataFrame) -> pd.DataFrame:
    """The GPC reporting table of one year: a row per reference number, a column per gas
    [tCO2e], the total, the notation keys and the BASIC / BASIC+ / memo flags."""
    keys = ["gpc_ref", "scope", "name_zh", "name_en"]
    order = rows["gpc_ref"].drop_duplicates()
    gases = rows[rows["gas"] != ""]
    wide = gases.pivot_table(
        index="gpc_ref", columns="gas", values="emissions_tco2e", aggfunc="sum", dropna=False
    )
    info = rows.groupby("gpc_ref", sort=False).agg(
        {
            **{k: "first" for k in keys[1:]},
            "notation_key": lambda s: ",".join(sorted({k for k in s if k})),
            "basic": "first",
            "basic_plus": "first",
            "memo": "first",
        }
    )
    out = info.join(wide).reindex(order).reset_index()
    gas_cols = list(wide.columns)
    out["total_tco2e"] = out[gas_cols].sum(axis=1, min_count=1)
    flags = ["notation_key", "basic", "basic_plus", "memo"]
    return out[[*keys, *gas_cols, "total_tco2e", *flags]]


def account_report(lines: pd.DataFrame, *, cfg: Any, period: str, title: str) -> ReportData:
    """The report of enterprise account lines (:func:`citycarbon.accounting.enterprise.
    account_lines`, one mode): in the guideline mode the 核算指南's tables (emissions,
    activity, factors), in the inventory mode emissions by source category and gas; the lines
    themselves; notes naming the mode, the factor profile and the factors that are assumptions."""
    modes = sorted(set(lines["mode"]))
    if len(modes) != 1:
        raise InputError(f"account lines of one mode are needed, got {modes}", field="mode")
    mode = modes[0]
    data = ReportData("enterprise_account", title, cfg.name.zh, period, "account lines")
    if mode == "guideline":
        data.tables.update(guideline_report_tables(lines))
    else:
        data.tables["emissions"] = lines.groupby(
            ["enterprise_code", "category", "gas"], as_index=False
        )[["mass_t", "co2e_t"]].sum()
    data.tables["lines"] = lines
    profiles = ", ".join(sorted(set(lines["factor_profile"].astype(str))))
    assumed = lines["factors"].astype(str).str.contains(", assumption", regex=False)
    data.notes += [
        f"account mode: {mode} ({MODE_METHODS[mode]})",
        f"factor profile: {profiles}",
        f"lines resting on a factor that is an assumption: {int(assumed.sum())} of {len(lines)} "
        "(see column factors)",
    ]
    return data


def enterprise_account_report(
    credit_code: str, year: int | None = None, *, cfg: Any = None, settings: Any = None
) -> ReportData:
    """The account report of one enterprise and year (default: its latest) from its 205-1
    returns in the lake, in the city's enterprise account mode with the enterprise factor
    profile (the face checks that the enterprise is visible). Process emissions are not in
    the 205-1 returns and not in this report."""
    settings = settings or get_settings()
    cfg = cfg or load_city()
    filters: dict[str, Any] = {"enterprise_code": credit_code}
    if year:
        filters["year"] = int(year)
    rows = lake_store.read_current(
        "energy_monthly",
        filters,
        columns=[
            "enterprise_code",
            "year",
            "fuel",
            "unit",
            "consumed_total",
            "consumed_as_feedstock",
        ],
        lake=settings.lake,
        url=settings.database_url,
    )
    if rows.empty:
        raise InputError(
            "no 205-1 returns of this enterprise", source="energy_monthly", value=credit_code
        )
    y = int(year or rows["year"].max())
    rows = rows[rows["year"] == y]
    qty = rows.groupby(["enterprise_code", "fuel", "unit"], as_index=False)[
        ["consumed_total", "consumed_as_feedstock"]
    ].sum()
    mode = cfg.factors.mode.enterprise
    lines = account_lines(
        energy_205_1(qty),
        cfg.factor_profile("enterprise"),
        year=y,
        mode=mode,
        grid_region=cfg.factors.grid_region,
        source=f"205-1 returns of {credit_code}, {y}",
    )
    data = account_report(
        lines, cfg=cfg, period=str(y), title=f"企业温室气体排放报告 {credit_code} {y}"
    )
    data.notes.append("industrial process emissions: not in the 205-1 returns, not in this report")
    return data


def targets_report(
    period: str | None = None, *, cfg: Any = None, settings: Any = None
) -> ReportData:
    """Tables of the targets report: progress of the targets of a period (``2021-2025``;
    default every period), the latest status and the warnings log."""
    if period is not None and not re.fullmatch(PERIOD_PATTERN, period):
        raise InputError(
            "the period is the first and last year, e.g. 2021-2025", field="period", value=period
        )
    settings = settings or get_settings()
    cfg = cfg or load_city()
    prog = latest_result(TARGET_PROGRESS.name, settings.lake)
    status = latest_result(TARGET_STATUS.name, settings.lake)
    if prog is None:
        raise InputError(
            "no target progress yet: run `citycarbon targets recompute` first",
            source=str(settings.lake),
        )
    p = prog[0]
    if period:
        span = p["period_label"].str.contains(period, regex=False) | (
            p["target_id"].notna() & (p["end_year"].astype(str) == period.split("-")[-1])
        )
        p = p[span]
        if not len(p):
            known = sorted(prog[0]["period_label"].unique())
            raise InputError(
                f"no targets for period {period!r}; known: {known}", field="period", value=period
            )
    data = ReportData(
        "targets",
        f"{cfg.name.zh}碳排放双控目标进展报告 {period or ''}".strip(),
        cfg.name.zh,
        period or "all",
        str(p["method"].iloc[0]),
        title_en=f"{cfg.name.en} dual-control targets progress report {period or ''}".strip(),
        city_en=cfg.name.en,
    )
    data.tables["progress"] = p
    indicators = latest_result(DUAL_CONTROL.name, settings.lake)
    if indicators is not None:  # the assessed indicators with their 口径 (basis, origin, note)
        data.tables["indicators"] = indicators[0]
    if status is not None:
        s = status[0]
        data.tables["status"] = s[s["subject"].isin(p["code"]) | (s["applies"] == "key_enterprise")]
    data.tables["warnings"] = targets_store.warnings_frame(limit=200, url=settings.database_url)
    data.tables["targets"] = targets_store.targets_frame(url=settings.database_url)
    data.provenance = _prov_rows(
        **{TARGET_PROGRESS.name: prog, TARGET_STATUS.name: status, DUAL_CONTROL.name: indicators}
    )
    return data
