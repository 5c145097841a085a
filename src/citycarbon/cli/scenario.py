"""CLI sub-app ``citycarbon scenario list|show|save|run|compare|macc|decompose`` (thin: no
formulas; the domain is :mod:`citycarbon.pathways`, storage :mod:`citycarbon.runs.scenarios`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from citycarbon.cli.common import (
    CityOption,
    LangOption,
    RawOption,
    console,
    fail,
    output_lang,
    write_table,
)
from citycarbon.contract.records import record_text
from citycarbon.errors import CitycarbonError
from citycarbon.pathways import catalogue as cat
from citycarbon.pathways import cobenefits as cb
from citycarbon.pathways import economics as ec
from citycarbon.pathways import macc as mc
from citycarbon.pathways import scenario as sc
from citycarbon.runs import scenarios as ds

scenario_app = typer.Typer(
    help="Pathways and scenarios (情景分析): peak, neutrality, Monte Carlo, MACC, co-benefits.",
    no_args_is_help=True,
)

DrawsOption = Annotated[int, typer.Option(help="Monte Carlo draws (0 = central values only).")]
SeedOption = Annotated[int, typer.Option(help="Seed of the Monte Carlo draws.")]
CsvOption = Annotated[Path | None, typer.Option("--csv", help="Write the table to this CSV.")]


def _fmt(v: object) -> str:
    if isinstance(v, float | int) and not isinstance(v, bool):
        if pd.isna(v):
            return ""
        if float(v).is_integer() and 1900 <= abs(v) <= 2200:
            return str(int(v))  # a year
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    return str(v)


def _table(frame: pd.DataFrame, title: str) -> Table:
    t = Table(title=title)
    for n, c in enumerate(frame.columns):
        t.add_column(
            str(c),
            justify="right" if pd.api.types.is_numeric_dtype(frame[c]) else "left",
            no_wrap=n == 0,
        )
    for row in frame.itertuples(index=False):
        t.add_row(*[_fmt(v) for v in row])
    return t


@scenario_app.command("list")
def scenario_list() -> None:
    """List stored scenarios (current versions); seeds the defaults on first use."""
    try:
        ds.ensure_default_scenarios()
        frame = ds.list_scenarios()
    except CitycarbonError as err:
        fail(err)
    frame["created_at"] = frame["created_at"].astype(str).str[:16]
    cols = ["name", "version", "title_zh", "measures", "created_by", "created_at"]
    console.print(_table(frame[cols], "scenarios (情景)"))


@scenario_app.command("save")
def scenario_save(
    spec: Annotated[Path, typer.Argument(help="YAML/JSON file: {name, description, measures}.")],
    user: Annotated[str, typer.Option(help="Recorded as created_by.")] = "cli",
) -> None:
    """Save a scenario from a file as a new version (validated against the measure catalogue)."""
    import yaml

    try:
        data = yaml.safe_load(spec.read_text(encoding="utf-8"))
        row = ds.save_scenario(
            data["name"],
            data.get("measures") or [],
            description=data.get("description"),
            title_zh=data.get("zh"),
            base_year=data.get("base_year"),
            created_by=user,
        )
    except CitycarbonError as err:
        fail(err)
    except (OSError, KeyError, yaml.YAMLError) as err:
        fail(CitycarbonError(f"{spec}: {err}"))
    console.print(f"saved {row['name']} version {row['version']}")


def _headline(summary: dict) -> Table:
    t = Table("figure", "value", title=f"{summary['scenario']} — headline")
    for k, v in summary.items():
        t.add_row(k, f"{v:,.4g}" if isinstance(v, float) else str(v))
    return t


@scenario_app.command("run")
def scenario_run(
    name: Annotated[str, typer.Argument(help="Scenario name (see `scenario list`).")],
    draws: DrawsOption = 1000,
    seed: SeedOption = 0,
    csv: CsvOption = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Chart data (JSON).")] = None,
    baseline: Annotated[
        str,
        typer.Option(
            help="Baseline: 'activity' (activity x calibrated intensity), 'assumptions' (sector "
            "growth rates) or 'forecast' (>= 6 years)."
        ),
    ] = "activity",
    lang: LangOption = None,
    raw: RawOption = False,
    city: CityOption = None,
) -> None:
    """Run a scenario to 2060: trajectory, peak, neutrality gap, intensity targets, fan chart,
    co-benefits and economic estimates."""
    try:
        ds.ensure_default_scenarios()
        (run,), base_run, history = ds.run_scenarios(
            [name], draws=draws, seed=seed, baseline=baseline, history=ds.city_history(city)
        )
        console.print(_headline(sc.summary(run)))
        console.print(_table(sc.intensity_check(run), "intensity targets (强度目标)"))
        traj = sc.trajectory(run)
        wide = traj.pivot(index="year", columns="sector", values="emissions_tco2e")
        wide = wide[wide.index % 5 == 0].reset_index()
        console.print(_table(wide, "trajectory, tCO2e (median)"))
        if draws:
            fan = sc.fan_chart(run)
            console.print(_table(fan[fan["year"] % 5 == 0].drop(columns=["scenario"]), "fan"))
        console.print(_table(cb.cobenefits(run, base_run), "co-benefits (减污降碳协同) 2030"))
        econ = ec.economics_summary(ec.economics(run, base_run))
        console.print(_table(econ.to_frame("total to 2060").reset_index(), "economics (估算)"))
        if csv:
            write_table(traj, csv, lang, raw)
            console.print(f"trajectory written to {csv}")
        if json_out:
            json_out.write_text(json.dumps(sc.chart_data([run])), encoding="utf-8")
            console.print(f"chart data written to {json_out}")
        console.print(f"inputs: {record_text(history.method, lang or output_lang())}")
    except CitycarbonError as err:
        fail(err)


@scenario_app.command("compare")
def scenario_compare(
    names: Annotated[list[str], typer.Argument(help="Scenario names.")],
    draws: DrawsOption = 500,
    seed: SeedOption = 0,
    csv: CsvOption = None,
    lang: LangOption = None,
    raw: RawOption = False,
    city: CityOption = None,
) -> None:
    """Compare scenarios side by side (peak, probability of peaking by 2030, 2060 gap)."""
    try:
        ds.ensure_default_scenarios()
        runs, _, _ = ds.run_scenarios(names, draws=draws, seed=seed, history=ds.city_history(city))
        frame = sc.compare(runs).T.reset_index().rename(columns={"index": "figure"})
    except CitycarbonError as err:
        fail(err)
    console.print(_table(frame, "scenarios side by side"))
    if csv:
        write_table(frame, csv, lang, raw)


@scenario_app.command("macc")
def scenario_macc(
    name: Annotated[
        str, typer.Argument(help="Scenario whose measures form the curve.")
    ] = "enhanced",
    year: Annotated[int, typer.Option(help="Evaluation year.")] = 2040,
    csv: CsvOption = None,
    lang: LangOption = None,
    raw: RawOption = False,
    city: CityOption = None,
) -> None:
    """Marginal abatement cost curve (边际减排成本曲线) of a scenario's measures."""
    try:
        ds.ensure_default_scenarios()
        history = ds.city_history(city)
        (_, baseline, _) = ds.run_scenarios([], history=history)
        measures = cat.resolve_measures(ds.load_scenario(name)["measures"])
        curve = mc.macc_netted(baseline, measures, year=year, **history.model_inputs())
    except CitycarbonError as err:
        fail(err)
    cols = ["id", "zh", "abatement_tco2e", "standalone_tco2e", "cost_cny_per_tco2e"]
    title = f"MACC {year} (netted in merit order, Kesicki & Ekins 2012; cost CNY/tCO2e)"
    console.print(_table(curve[cols], title))
    if csv:
        write_table(curve, csv, lang, raw)


@scenario_app.command("decompose")
def scenario_decompose(
    method: Annotated[str, typer.Option(help="additive or multiplicative.")] = "additive",
    city: CityOption = None,
) -> None:
    """LMDI-I Kaya decomposition of the city's emissions history (year on year)."""
    try:
        frame = ds.history_decomposition(ds.city_history(city), method=method)
    except CitycarbonError as err:
        fail(err)
    console.print(_table(frame, f"LMDI-I {method} (Kaya factors)"))
