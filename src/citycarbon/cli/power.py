"""`citycarbon nowcast run|backtest|history` and `citycarbon indicators`: thin commands over
:mod:`citycarbon.runs.power` (registered on the main app at the end of ``cli.py``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from citycarbon.cli.common import CityOption, console, fail, frame_table
from citycarbon.errors import CitycarbonError
from citycarbon.runs import power as power_runs

nowcast_app = typer.Typer(
    help="Electricity-to-carbon nowcast (以电折碳): daily, weekly, monthly, with intervals.",
    no_args_is_help=True,
)


@nowcast_app.command("run")
def nowcast_run(
    as_of: Annotated[
        str | None, typer.Option(help="Vintage date (default: last metered day).")
    ] = None,
    holdout_months: Annotated[
        int, typer.Option(help="Pretend the last N months of statistics are not in yet.")
    ] = 0,
    model: Annotated[
        str | None, typer.Option(help="ratio, loglinear, naive or auto (default: city config).")
    ] = None,
    city: CityOption = None,
) -> None:
    """Calibrate on the statistics that are in, nowcast the months that are not; write a vintage
    to <lake>/results/nowcast/run_id=<id>/ (earlier vintages are kept)."""
    try:
        run = power_runs.run_nowcast(
            as_of=as_of, holdout_months=holdout_months, model=model, city=city
        )
    except CitycarbonError as err:
        fail(err)
    t = run.table
    month = t[(t["frequency"] == "month") & (t["level"].isin(["city", "district"]))]
    table = Table(
        "level",
        "entity",
        "month",
        "estimate tCO2",
        "90% interval",
        "model",
        "days",
        title=f"nowcast (as of {run.as_of.date()}, statistics through "
        f"{run.calibrated_through:%Y-%m}) — 合成数据 where the data are synthetic",
    )
    for _, r in month.iterrows():  # a few dozen printed rows
        table.add_row(
            r["level"],
            str(r["entity"]),
            f"{r['period']:%Y-%m}",
            f"{r['estimate_tco2']:,.0f}",
            f"{r['lower_tco2']:,.0f} – {r['upper_tco2']:,.0f}",
            r["model"],
            str(r["days"]),
        )
    console.print(table)
    counts = t.groupby("frequency").size().to_dict()
    console.print(
        f"vintage [bold]{run.run_id}[/]: {counts} rows; "
        + (
            "[green]recalibrated[/] on new statistics"
            if run.recalibrated
            else "statistics unchanged since the last vintage"
        )
        + (f"; written to {run.path}" if run.path else "")
    )
    if len(run.quality):
        console.print(
            f"[yellow]meter data issues:[/] {len(run.quality)} (see results/meter_quality)"
        )


@nowcast_app.command("backtest")
def nowcast_backtest(
    horizon: Annotated[int | None, typer.Option(help="Statistics lag in months.")] = None,
    city: CityOption = None,
) -> None:
    """Rolling-origin backtest: MAPE per level and model, gain over the naive baseline."""
    try:
        summary, errors, path = power_runs.run_backtest(horizon=horizon, city=city)
    except CitycarbonError as err:
        fail(err)
    cols = [
        c
        for c in (
            "mape_ratio",
            "mape_loglinear",
            "mape_naive",
            "best_model",
            "gain_vs_naive_pct",
            "coverage_best",
            "coverage_nominal",
            "coverage_calibrated",
            "entities",
        )
        if c in summary
    ]
    console.print(
        frame_table(
            summary[cols],
            "nowcast backtest: MAPE % per level (rolling origin, statistics one month late)",
        )
    )
    console.print(f"{len(errors):,} forecasts; written to {path}")


@nowcast_app.command("history")
def nowcast_history(
    level: Annotated[str, typer.Option(help="city, district, industry or enterprise.")] = "city",
    entity: Annotated[str | None, typer.Option(help="Entity code.")] = None,
    frequency: Annotated[str, typer.Option(help="day, week or month.")] = "month",
) -> None:
    """How the estimates moved from vintage to vintage."""
    try:
        data = power_runs.read_power_data() if frequency == "month" else None
    except CitycarbonError:
        data = None  # no statistics to compare with: vintages only
    h = power_runs.nowcast_history(level=level, entity=entity, frequency=frequency, data=data)
    if h.empty:
        console.print("[yellow]no nowcast vintages yet[/] (run `citycarbon nowcast run`)")
        return
    cols = [
        "entity",
        "period",
        "as_of",
        "calibrated_through",
        "estimate_tco2",
        "lower_tco2",
        "upper_tco2",
        "model",
        "run_id",
    ]
    cols += [c for c in ("actual_tco2", "error_pct") if c in h]
    console.print(frame_table(h[cols].set_index("entity"), f"nowcast vintages, {level}"))


def indicators_command(
    year: Annotated[int | None, typer.Option(help="Only this year.")] = None,
    basis: Annotated[
        str, typer.Option(help="calorific (当量值) or equivalent (等价值) for electricity.")
    ] = "calorific",
    top: Annotated[int, typer.Option(help="Rows to print per table.")] = 10,
    city: CityOption = None,
) -> None:
    """电-碳-能 indicators per enterprise and industry; daily load anomalies."""
    try:
        tables = power_runs.run_indicators(year=year, basis=basis, city=city)
    except CitycarbonError as err:
        fail(err)
    cols = [
        "year",
        "energy_tce",
        "co2_t",
        "electricity_kwh",
        "electricity_share",
        "kgco2_per_kwh",
        "tco2_per_10k_cny",
        "co2_t_yoy_pct",
    ]
    ind = tables["industry"]
    last = ind[ind["year"] == ind["year"].max()].nlargest(top, "co2_t")
    console.print(
        frame_table(
            last.set_index("industry_code")[cols], f"industries, largest emitters ({basis})"
        )
    )
    ent = tables["enterprise"]
    last = ent[ent["year"] == ent["year"].max()].nlargest(top, "co2_t")
    console.print(
        frame_table(
            last.set_index("enterprise_code")[[*cols, "rank_kgco2_per_kwh_in_industry"]],
            "enterprises, largest emitters",
        )
    )
    a = tables["anomalies"]
    console.print(f"{len(a):,} load anomalies (days); latest:")
    if len(a):
        console.print(
            frame_table(
                a.sort_values("day").tail(top).set_index("enterprise_code"), "load anomalies"
            )
        )
