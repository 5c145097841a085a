"""`citycarbon flow case|scope2`: carbon emission flow (碳排放流) on a grid and hourly nodal
scope 2 — thin commands over :mod:`citycarbon.runs.flow` (registered in ``cli.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from citycarbon.cli.common import (
    CityOption,
    LangOption,
    RawOption,
    cell,
    console,
    fail,
    write_table,
)
from citycarbon.contract.exports import write_csv
from citycarbon.errors import CitycarbonError
from citycarbon.runs.flow import case_carbon_flow, demo_scope2

flow_app = typer.Typer(
    help="Carbon emission flow (碳排放流) on a grid and hourly/nodal scope 2.", no_args_is_help=True
)


@flow_app.command("case")
def flow_case(
    case: Annotated[str, typer.Option("--case", help="pandapower example case.")] = "case118",
    intensity: Annotated[
        Path | None,
        typer.Option(help="CSV: element, index, intensity_tco2_per_mwh (gen/sgen/ext_grid)."),
    ] = None,
    default_intensity: Annotated[
        float | None, typer.Option(help="tCO2/MWh for units the CSV does not list.")
    ] = None,
    import_intensity: Annotated[
        float | None, typer.Option(help="tCO2/MWh of imports through ext_grids.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write nodal intensities to this CSV.")] = None,
) -> None:
    """Solve a pandapower case (AC) and print its nodal carbon intensities (节点碳势)."""
    try:
        cf, label = case_carbon_flow(
            case,
            intensity_csv=intensity,
            default_tco2_per_mwh=default_intensity,
            import_tco2_per_mwh=import_intensity,
        )
    except CitycarbonError as err:
        fail(err)
    e = cf.bus["intensity_tco2_per_mwh"]
    console.print(f"[bold]{case}[/] — {len(cf.bus)} buses; {label}")
    summary = Table("节点碳势 nodal intensity", "tCO2/MWh", title="nodal carbon intensity")
    for name, value in (("min", e.min()), ("mean", e.mean()), ("max", e.max())):
        summary.add_row(name, f"{value:.4f}")
    console.print(summary)
    balance = Table("碳平衡 carbon balance", "tCO2/h")
    for name, value in cf.balance.items():
        balance.add_row(str(name), f"{value:,.4f}")
    console.print(balance)
    reasons = cf.bus.loc[cf.bus["reason"] != "", "reason"].value_counts()
    for reason, count in reasons.items():
        console.print(f"[yellow]{count} bus(es) without intensity:[/] {reason}")
    if out is not None:
        write_csv(cf.bus.rename_axis("bus"), out, encoding="utf-8-sig")
        console.print(f"nodal intensities written to {out}")


@flow_app.command("scope2")
def flow_scope2(
    year: Annotated[int, typer.Option("--year", help="Year of hourly meter readings.")],
    annual_factor: Annotated[
        float | None,
        typer.Option(
            help="tCO2/MWh to compare with (default: the city's declared grid factor, the "
            "inventory's scope-2 basis)."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="Enterprises to print.")] = 15,
    out: Annotated[
        Path | None, typer.Option(help="Write the enterprise table to this CSV.")
    ] = None,
    lang: LangOption = None,
    raw: RawOption = False,
    city: CityOption = None,
) -> None:
    """Hourly nodal scope 2 of the demo city's enterprises (SYNTHETIC demo grid, IEEE 118)."""
    try:
        res = demo_scope2(year, city=city, annual_factor=annual_factor)
    except CitycarbonError as err:
        fail(err)
    ent = res.enterprises
    console.print(
        f"[bold]{res.label}[/] — 合成数据 synthetic: annual factor "
        f"{res.annual_factor_tco2_per_mwh:.4f} tCO2/MWh, import {res.import_tco2_per_mwh:.4f}"
    )
    table = Table(
        "enterprise",
        "MWh",
        "hourly tCO2",
        "annual-avg tCO2",
        "diff %",
        "location t",
        "timing t",
        "corr(load, e)",
        title="逐时节点 vs 年均因子 hourly-nodal vs annual-average scope 2",
    )
    for r in ent.head(limit).itertuples(index=False):
        table.add_row(
            r.enterprise_code,
            f"{r.kwh / 1000:,.0f}",
            f"{r.hourly_co2_t:,.0f}",
            f"{r.average_co2_t:,.0f}",
            f"{r.difference_pct:+.1f}",
            f"{r.location_effect_co2_t:,.0f}",
            f"{r.timing_effect_co2_t:,.1f}",
            cell(r.load_intensity_correlation),
        )
    console.print(table)
    if out is not None:
        write_table(ent, out, lang, raw)
        console.print(f"enterprise table written to {out}")
