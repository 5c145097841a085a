"""情景分析: stored scenarios run and compared side by side (trajectories to 2060, peak year and
value, distance to neutrality, intensity targets met or missed), the Monte Carlo fan chart, the
baseline by activity driver and the declared grid factor, the netted marginal abatement cost
curve, the least-cost pathway (linear programme, on request) with its binding constraints and
shadow prices, co-benefits, socio-economic estimates, the LMDI decomposition and the STIRPAT
diagnostics of the city's history; a form to save a new scenario (admins and city analysts,
CSRF-protected, audited by the storage); and the JSON API ``/api/v1/scenarios/...``.

Scenarios are city-wide analyses: the pages and API need ``read_city``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from citycarbon import units
from citycarbon.errors import CitycarbonError, InputError
from citycarbon.read import access
from citycarbon.read.access import Principal
from citycarbon.runs import scenario_analysis as sa
from citycarbon.runs import scenarios as stored_scenarios
from citycarbon.web import auth
from citycarbon.web.app import lang_of, records, render
from citycarbon.web.i18n import Translator
from citycarbon.web.routes.api import (
    FileLang,
    Format,
    Limit,
    Offset,
    Page,
    file_basis,
    one,
    page,
)

router = APIRouter()
PrincipalDep = Annotated[Principal, Depends(auth.require_principal)]
Names = Annotated[list[str], Query(max_length=100, description="scenario names (repeat)")]
Name = Annotated[str, Query(max_length=100, description="scenario name")]
Draws = Annotated[int, Query(ge=0, le=sa.MAX_DRAWS, description="Monte Carlo draws (0 = central)")]
Seed = Annotated[int, Query(ge=0, le=2**31, description="seed of the draws")]
FAN_DRAWS = 300
TO_10KT = units.factor("tCO2e", "10^4 tCO2e")  # charts and tables in 万吨


def editor(principal: PrincipalDep) -> Principal:
    """The principal, if their role may create scenarios (checked before the body is read)."""
    access.require(principal, "edit_scenarios")
    return principal


EditorDep = Annotated[Principal, Depends(editor)]


def city_reader(principal: PrincipalDep) -> Principal:
    """The principal, if their role reads city-wide analyses (scenarios are computed on
    request by :mod:`citycarbon.runs.scenario_analysis`, which checks no role)."""
    access.require(principal, "read_city")
    return principal


CityDep = Annotated[Principal, Depends(city_reader)]


#: The measure ids of the catalogue (the schema lists them: any other id is refused).
MeasureId = Literal[tuple(sorted(set(sa.measure_catalogue()["id"])))]  # type: ignore[valid-type]


def stored_names(names: Names) -> list[str]:
    """The scenario names, if each is stored; a name is a resource: unknown is not found."""
    known = set(stored_scenarios.list_scenarios()["name"])
    unknown = [n for n in names if n not in known]
    if unknown:
        raise access.NotVisible(f"scenario {unknown[0]!r} not found")
    return names


def stored_name(name: Name) -> str:
    """One stored scenario name (404 otherwise)."""
    return stored_names([name])[0]


StoredNames = Annotated[list[str], Depends(stored_names)]
StoredName = Annotated[str, Depends(stored_name)]


class MeasureSpec(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")  # as the schema says: no false for 0

    id: MeasureId = Field(description="measure id of the catalogue")
    start_year: int | None = Field(None, ge=2000, le=2060)
    full_year: int | None = Field(None, ge=2000, le=2060)
    scale: float | None = Field(None, ge=0, le=10)


class NewScenario(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$")
    title_zh: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    measures: list[MeasureSpec] = Field(default_factory=list)


class ScenarioOut(BaseModel):
    name: str
    version: int
    title_zh: str | None
    description: str | None
    measures: list[dict[str, Any]]
    created_by: str


# --------------------------------------------------------------------------- charts
#: The neutrality table shows every fifth year (2025, 2030 … 2060); the API has every year.
MILESTONE_STEP = 5


def legend_rows(series: list[dict], per_row: int = 4) -> int:
    """Lines a wrapping legend takes below a chart (about ``per_row`` names a line)."""
    return -(-len(series) // per_row)


def _trajectory_chart(traj: pd.DataFrame, summary: pd.DataFrame, t: Translator) -> dict:
    years = sorted(traj["year"].unique().tolist())
    series, peaks = [], []
    for name, g in traj.groupby("scenario", sort=False):
        tot = g[g["sector"] == "total"].set_index("year")["emissions_tco2e"].reindex(years)
        net = g[g["sector"] == "net"].set_index("year")["emissions_tco2e"].reindex(years)
        series.append(
            {
                "name": f"{name} · {t('scenarios.gross')}",
                "type": "line",
                "showSymbol": False,
                "data": (tot * TO_10KT).round(1).tolist(),
            }
        )
        series.append(
            {
                "name": f"{name} · {t('scenarios.net')}",
                "type": "line",
                "showSymbol": False,
                "lineStyle": {"type": "dashed"},
                "data": (net * TO_10KT).round(1).tolist(),
            }
        )
        row = summary[summary["scenario"] == name]
        if len(row) and pd.notna(row["peak_year"].iat[0]):
            year = int(row["peak_year"].iat[0])
            value = round(float(row["peak_value_tco2e"].iat[0]) * TO_10KT, 1)
            peaks.append({"name": f"{name} {year}", "value": [str(year), value]})
    if peaks:
        series.append(
            {
                "name": t("scenarios.peak"),
                "type": "scatter",
                "symbol": "triangle",
                "symbolSize": 11,
                "itemStyle": {"color": "#b3261e"},
                "label": {"show": True, "position": "top", "formatter": "{b}", "fontSize": 11},
                "labelLayout": {"hideOverlap": True},
                "data": peaks,
            }
        )
    return {
        "legend": {"bottom": 0},  # wraps onto more lines: every series stays visible
        "grid": {"left": 70, "right": 20, "top": 30, "bottom": 40 + 22 * legend_rows(series)},
        "xAxis": {"type": "category", "data": [str(y) for y in years]},
        "yAxis": {"type": "value", "name": t("scenarios.unit_10kt")},
        "series": series,
    }


def _fan_chart(fan: pd.DataFrame, t: Translator) -> dict:
    years = [str(y) for y in fan["year"]]
    to10kt = lambda c: (fan[c] * TO_10KT).round(1)  # noqa: E731
    bands = [("p5", None), ("p25", "p5"), ("p75", "p25"), ("p95", "p75")]
    colours = {"p25": "#b9ddd6", "p75": "#6fb8aa", "p95": "#b9ddd6"}
    series = []
    for top, bottom in bands:
        data = to10kt(top) if bottom is None else to10kt(top) - to10kt(bottom)
        series.append(
            {
                "name": "p5" if bottom is None else f"{bottom}–{top}",
                "type": "line",
                "stack": "fan",
                "showSymbol": False,
                "lineStyle": {"opacity": 0},
                "areaStyle": {"opacity": 0 if bottom is None else 0.9, "color": colours.get(top)},
                "itemStyle": {"color": colours.get(top, "#ffffff")},
                "data": data.round(1).tolist(),
                "tooltip": {"show": False},
            }
        )
    series.append(
        {
            "name": t("scenarios.median"),
            "type": "line",
            "showSymbol": False,
            "lineStyle": {"color": "#0f6b5c", "width": 2},
            "itemStyle": {"color": "#0f6b5c"},
            "data": to10kt("p50").tolist(),
        }
    )
    return {
        "legend": {"top": 0, "data": [t("scenarios.median"), "p5–p25", "p25–p75", "p75–p95"]},
        "grid": {"left": 70, "right": 20, "top": 40, "bottom": 30},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "data": years, "boundaryGap": False},
        "yAxis": {"type": "value", "name": t("scenarios.unit_10kt")},
        "series": series,
    }


def _macc_chart(curve: pd.DataFrame, lang: str) -> dict:
    """Bars as filled steps on a value x-axis: width = abatement, height = cost."""
    c = curve.dropna(subset=["cost_cny_per_tco2e"])
    c = c[c["abatement_tco2e"] > 0]
    series = []
    for r in c.itertuples(index=False):
        x0, x1 = round(float(r.x0_tco2e) * TO_10KT, 2), round(float(r.x1_tco2e) * TO_10KT, 2)
        cost = round(float(r.cost_cny_per_tco2e), 1)
        series.append(
            {
                "name": r.zh if lang == "zh" else r.en,
                "type": "line",
                "showSymbol": False,
                "areaStyle": {"opacity": 0.75},
                "lineStyle": {"width": 1},
                "data": [[x0, cost], [x1, cost]],
            }
        )
    return {
        "legend": {"bottom": 0},  # wraps onto more lines: every series stays visible
        "grid": {"left": 70, "right": 30, "top": 30, "bottom": 50 + 22 * legend_rows(series)},
        "tooltip": {"trigger": "item"},
        "xAxis": {
            "type": "value",
            "name": "万吨 CO₂e" if lang == "zh" else "10 kt CO₂e",
            "nameLocation": "middle",
            "nameGap": 24,
        },
        "yAxis": {"type": "value", "name": "CNY/tCO₂e"},
        "series": series,
    }


def _activity_chart(projection: pd.DataFrame, labels: dict[str, str], t: Translator) -> dict:
    """Projected final energy by sector of the activity baseline [10^4 tce], stacked."""
    years = sorted(projection["year"].unique().tolist())
    wide = projection.pivot(index="year", columns="sector", values="energy_tce").reindex(years)
    series = [
        {
            "name": labels.get(sector, sector),
            "type": "line",
            "stack": "energy",
            "areaStyle": {"opacity": 0.6},
            "showSymbol": False,
            "data": (wide[sector] * 1e-4).round(1).tolist(),
        }
        for sector in wide.columns
    ]
    return {
        "legend": {"bottom": 0},
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 70, "right": 20, "top": 30, "bottom": 40 + 22 * legend_rows(series)},
        "xAxis": {"type": "category", "data": [str(y) for y in years], "boundaryGap": False},
        "yAxis": {"type": "value", "name": t("scenarios.unit_10ktce")},
        "series": series,
    }


def _grid_chart(grid: pd.DataFrame, t: Translator) -> dict:
    """The grid factor every electricity measure meets, by year [tCO2/MWh]."""
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 60, "right": 20, "top": 30, "bottom": 30},
        "xAxis": {"type": "category", "data": [str(y) for y in grid["year"]]},
        "yAxis": {"type": "value", "name": "tCO₂/MWh"},
        "series": [
            {
                "name": t("scenarios.grid_ef"),
                "type": "line",
                "showSymbol": False,
                "data": grid["grid_ef_tco2_per_mwh"].round(4).tolist(),
            }
        ],
    }


def _lp_chart(emissions: pd.DataFrame, t: Translator) -> dict:
    """Baseline and least-cost emissions [10^4 tCO2e] with the caps as markers."""
    years = [str(y) for y in emissions["year"]]
    caps = emissions.dropna(subset=["cap_tco2e"])
    series = [
        {
            "name": t("scenarios.lp_baseline"),
            "type": "line",
            "showSymbol": False,
            "lineStyle": {"type": "dashed"},
            "data": (emissions["baseline_tco2e"] * TO_10KT).round(1).tolist(),
        },
        {
            "name": t("scenarios.lp_optimal"),
            "type": "line",
            "showSymbol": False,
            "data": (emissions["optimal_tco2e"] * TO_10KT).round(1).tolist(),
        },
        {
            "name": t("scenarios.lp_cap"),
            "type": "scatter",
            "symbol": "triangle",
            "symbolSize": 12,
            "itemStyle": {"color": "#b3261e"},
            "data": [
                [str(int(y)), round(float(v) * TO_10KT, 1)]
                for y, v in zip(caps["year"], caps["cap_tco2e"], strict=True)
            ],
        },
    ]
    return {
        "legend": {"bottom": 0},
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 70, "right": 20, "top": 30, "bottom": 62},
        "xAxis": {"type": "category", "data": years},
        "yAxis": {"type": "value", "name": t("scenarios.unit_10kt")},
        "series": series,
    }


def _lp_deployment(deployment: pd.DataFrame, cap_years: list[int]) -> list[dict]:
    """Per measure: first year deployed, year fully deployed, deployment in the cap years."""
    d = deployment
    on = d[d["deployment"] > 1e-6].groupby("measure")["year"].min()
    full = d[d["deployment"] >= 1 - 1e-6].groupby("measure")["year"].min()
    wide = d.pivot(index="measure", columns="year", values="deployment")
    out = pd.DataFrame({"measure": wide.index})
    out["first_year"] = out["measure"].map(on)
    out["full_year"] = out["measure"].map(full)
    out["at_caps"] = [
        [float(wide.at[m, y]) for y in cap_years if y in wide.columns] for m in wide.index
    ]
    return records(out)


def _lmdi_chart(decomp: pd.DataFrame, t: Translator) -> dict:
    factors = [c for c in decomp.columns if c not in ("from", "to", "total")]
    periods = [f"{a}–{b}" for a, b in zip(decomp["from"], decomp["to"], strict=True)]
    totals = decomp[factors].sum()
    waterfall = {
        "grid": {"left": 80, "right": 20, "top": 30, "bottom": 40},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0},
        "xAxis": {"type": "category", "data": [*periods, t("scenarios.lmdi_sum")]},
        "yAxis": {"type": "value", "name": "tCO₂e"},
        "series": [
            {
                "name": t("scenarios.lmdi_" + f) if t.has("scenarios.lmdi_" + f) else f,
                "type": "bar",
                "stack": "lmdi",
                "data": [*decomp[f].round(0).tolist(), round(float(totals[f]), 0)],
            }
            for f in factors
        ]
        + [
            {
                "name": t("scenarios.lmdi_total"),
                "type": "line",
                "data": [
                    *decomp["total"].round(0).tolist(),
                    round(float(decomp["total"].sum()), 0),
                ],
            }
        ],
    }
    return waterfall


# --------------------------------------------------------------------------- page
@router.get("/scenarios", response_class=HTMLResponse, include_in_schema=False)
def scenarios_page(
    request: Request,
    principal: PrincipalDep,
    names: Annotated[list[str] | None, Query(max_length=100)] = None,
    draws: Draws = 0,
    fan: Annotated[str | None, Query(max_length=100)] = None,
    macc: Annotated[str | None, Query(max_length=100)] = None,
    macc_year: Annotated[int, Query(ge=2025, le=2060)] = 2040,
    macc_method: Literal["netted", "standalone"] = "netted",
    macc_basis: Literal["location", "market"] = "location",
    lp: bool = False,
    lp_cap_year: Annotated[int | None, Query(ge=2026, le=2060)] = None,
    lp_cap: Annotated[float | None, Query(ge=0, le=1e6, description="10^4 tCO2e")] = None,
    lp_intensity: bool = False,
    cob_year: Annotated[int, Query(ge=2025, le=2060)] = 2030,
    notice: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    lang = lang_of(request)
    t = Translator(lang)
    ctx: dict[str, Any] = {
        "active": "scenarios",
        "to_10kt": TO_10KT,
        "city_wide": principal.can("read_city"),
        "can_edit": principal.can("edit_scenarios"),
        "notice": notice,
    }
    if not principal.can("read_city"):
        return render(request, "scenarios.html", ctx)
    stored = stored_scenarios.list_scenarios()
    ctx.update(
        stored=records(stored),
        catalogue=records(
            sa.measure_catalogue().drop_duplicates("id")[["id", "kind", "sector", "zh", "en"]]
        ),
    )
    if stored.empty:
        return render(request, "scenarios.html", ctx)
    known = stored["name"].tolist()
    chosen = [n for n in (names or []) if n in known] or known[:4]
    fan_name = fan if fan in known else next((n for n in chosen if n != "baseline"), chosen[0])
    macc_name = macc if macc in known else fan_name
    try:
        summary = sa.compare(chosen, draws=draws)
        traj = sa.trajectories(chosen, draws=draws)
        neutral = sa.neutrality(chosen, draws=draws)
        fan_frame = sa.fan(fan_name, draws=max(draws, FAN_DRAWS))
        curve = sa.macc(macc_name, macc_year, method=macc_method, basis=macc_basis)
        cob = sa.cobenefits(fan_name, cob_year)
        econ = sa.economics(fan_name)
        decomp = sa.decomposition()
        activity = sa.activity_baseline()
        grid = sa.grid_trajectory()
        stirpat = sa.stirpat()
    except CitycarbonError as err:
        ctx["error"] = str(err)
        return render(request, "scenarios.html", ctx)
    if lp:
        try:
            least = sa.least_cost(
                macc_name,
                cap_year=lp_cap_year,
                cap_tco2e=None if lp_cap is None else lp_cap / TO_10KT,
                intensity=lp_intensity,
                year=macc_year,
            )
            ctx.update(
                lp=least,
                lp_chart=_lp_chart(least["emissions"], t),
                lp_constraints=records(least["constraints"]),
                lp_deployment=_lp_deployment(least["deployment"], sorted(least["caps"])),
                lp_cap_years=sorted(least["caps"]),
            )
        except CitycarbonError as err:
            ctx["lp_error"] = str(err)
    history = sa.city_history()
    labels = {m["id"]: m[lang] for m in ctx["catalogue"]}
    sector_labels = {s: t("scenarios.sector_" + s) for s in activity["calibration"]["sector"]}
    ctx.update(
        chosen=chosen,
        draws=draws,
        fan_name=fan_name,
        macc_name=macc_name,
        macc_year=macc_year,
        cob_year=cob_year,
        summary=records(summary),
        trajectory_chart=_trajectory_chart(traj, summary, t),
        neutrality_rows=records(neutral[neutral["year"] % MILESTONE_STEP == 0]),
        sinks_tco2e=history.sinks_tco2e,
        sinks_year=history.sinks_year,
        fan_chart=_fan_chart(fan_frame, t),
        macc_chart=_macc_chart(curve, lang),
        macc_rows=records(curve),
        macc_method=macc_method,
        macc_basis=macc_basis,
        measure_labels=labels,
        activity_rows=records(activity["calibration"]),
        backcast_rows=records(activity["backcast"]),
        fit_rows=records(activity["fit"]),
        fit_mape=float(activity["fit"]["error"].abs().mean()) if len(activity["fit"]) else None,
        activity_chart=_activity_chart(activity["projection"], sector_labels, t),
        backcast_tolerance=stored_scenarios.BACKCAST_TOLERANCE,
        grid_chart=_grid_chart(grid, t),
        grid_trajectory=sa.grid_trajectory_spec(),
        stirpat=stirpat,
        stirpat_diag=records(stirpat["diagnostics"]),
        stirpat_sample=records(stirpat["sample"]),
        stirpat_rows=records(stirpat["elasticities"])
        if stirpat["elasticities"] is not None
        else [],
        lp_requested=lp,
        lp_cap_year=lp_cap_year,
        lp_cap_value=lp_cap,
        lp_intensity=lp_intensity,
        cobenefits=records(cob),
        economics=records(econ),
        lmdi_chart=_lmdi_chart(decomp, t) if len(decomp) else None,
        lmdi_rows=records(decomp),
        history_method=history.method,
        history_rows=records(sa.history()),
        economics_assumption=bool(econ.set_index("item")["value"].get("assumption", False)),
        names_query="&".join(f"names={n}" for n in chosen),
    )
    return render(request, "scenarios.html", ctx)


@router.post("/scenarios", include_in_schema=False)
def scenario_create_form(
    request: Request,
    principal: EditorDep,
    name: Annotated[str, Form(max_length=100)] = "",
    title_zh: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    measure: Annotated[list[str] | None, Form()] = None,
) -> RedirectResponse:
    """Save a new scenario (version) from the page's form; audited by the storage."""
    try:
        body = NewScenario(
            name=name.strip(),
            title_zh=title_zh or None,
            description=description or None,
            measures=[MeasureSpec(id=m) for m in (measure or [])],
        )
    except ValidationError as err:
        first = err.errors()[0]
        raise InputError(
            f"{first['msg']}", field=".".join(map(str, first["loc"])), value=name
        ) from None
    row = sa.save_scenario(
        body.name,
        [m.model_dump(exclude_none=True) for m in body.measures],
        title_zh=body.title_zh,
        description=body.description,
        created_by=principal.username,
    )
    return RedirectResponse(
        f"/scenarios?names={row['name']}&notice=saved:{row['name']}@{row['version']}",
        status_code=303,
    )


@router.post("/scenarios/seed", include_in_schema=False)
def scenario_seed_form(request: Request, principal: EditorDep) -> RedirectResponse:
    """Store the default scenarios when none exist."""
    n = stored_scenarios.ensure_default_scenarios()
    return RedirectResponse(f"/scenarios?notice=seeded:{n}", status_code=303)


# --------------------------------------------------------------------------- API
def _scenario_page(
    principal: Principal,
    frame: pd.DataFrame,
    limit: int,
    offset: int,
    fmt: str,
    name: str,
    lang: str | None,
) -> Any:
    """:func:`page` of a scenario table; a file for people has the 口径 of its years."""
    return page(frame, limit, offset, fmt, name, lang, file_basis(principal, lang, frame))


@router.get("/api/v1/scenarios", response_model=Page, tags=["scenarios"])
def api_list(
    principal: CityDep,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Stored scenarios (current version of each; city-wide roles)."""
    return _scenario_page(
        principal, stored_scenarios.list_scenarios(), limit, offset, format, "scenarios", lang
    )


@router.post("/api/v1/scenarios", response_model=ScenarioOut, status_code=201, tags=["scenarios"])
def api_create(principal: EditorDep, body: NewScenario) -> dict:
    """Save a new scenario version (admins and city analysts; validated against the measure
    catalogue; audited)."""
    row = sa.save_scenario(
        body.name,
        [m.model_dump(exclude_none=True) for m in body.measures],
        title_zh=body.title_zh,
        description=body.description,
        created_by=principal.username,
    )
    return row


@router.get("/api/v1/scenarios/measures", response_model=Page, tags=["scenarios"])
def api_measures(
    principal: CityDep,
    limit: Limit = 500,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """The measure catalogue (parameters with ranges, units and sources)."""
    return _scenario_page(
        principal, sa.measure_catalogue(), limit, offset, format, "measure_catalogue", lang
    )


@router.get("/api/v1/scenarios/compare", response_model=Page, tags=["scenarios"])
def api_compare(
    principal: CityDep,
    names: StoredNames,
    draws: Draws = 0,
    seed: Seed = 0,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Headline figures side by side: peak year and value, probability of peaking by 2030,
    net emissions and distance to neutrality in 2060, intensity targets met."""
    return _scenario_page(
        principal,
        sa.compare(names, draws=draws, seed=seed),
        limit,
        offset,
        format,
        "scenario_compare",
        lang,
    )


@router.get("/api/v1/scenarios/trajectories", response_model=Page, tags=["scenarios"])
def api_trajectories(
    principal: CityDep,
    names: StoredNames,
    draws: Draws = 0,
    seed: Seed = 0,
    limit: Limit = 1000,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Yearly emissions [tCO2e] to 2060 by sector, total, sinks and net (median over draws)."""
    return _scenario_page(
        principal,
        sa.trajectories(names, draws=draws, seed=seed),
        limit,
        offset,
        format,
        "scenario_trajectories",
        lang,
    )


@router.get("/api/v1/scenarios/neutrality", response_model=Page, tags=["scenarios"])
def api_neutrality(
    principal: CityDep,
    names: StoredNames,
    draws: Draws = 0,
    seed: Seed = 0,
    limit: Limit = 1000,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Per year and scenario: gross emissions, removals (negative; from the accounted sinks of
    the latest inventory year, grown by the scenario's sink measures), net and the gap to
    neutrality [tCO2e] (median over draws)."""
    return _scenario_page(
        principal,
        sa.neutrality(names, draws=draws, seed=seed),
        limit,
        offset,
        format,
        "scenario_neutrality",
        lang,
    )


@router.get("/api/v1/scenarios/fan", response_model=Page, tags=["scenarios"])
def api_fan(
    principal: CityDep,
    name: StoredName,
    draws: Draws = FAN_DRAWS,
    seed: Seed = 0,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Percentiles (p5, p25, p50, p75, p95) of gross emissions per year over Monte Carlo draws."""
    return _scenario_page(
        principal, sa.fan(name, draws=draws, seed=seed), limit, offset, format, f"fan_{name}", lang
    )


@router.get("/api/v1/scenarios/macc", response_model=Page, tags=["scenarios"])
def api_macc(
    principal: CityDep,
    name: StoredName,
    year: Annotated[int, Query(ge=2025, le=2060)] = 2040,
    method: Literal["netted", "standalone"] = "netted",
    basis: Literal["location", "market"] = "location",
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Marginal abatement cost curve of a scenario's measures: abatement [tCO2e] (bar width)
    and cost [CNY/tCO2e] (height). ``netted``: in merit order, each measure counted with the
    cheaper ones in place (interactions; widths add up to the package); ``standalone``: each
    alone, cheapest first. ``basis=market`` counts purchased green power."""
    curve = sa.macc(name, year, method=method, basis=basis)
    return _scenario_page(principal, curve, limit, offset, format, f"macc_{method}_{name}", lang)


@router.get("/api/v1/scenarios/least-cost", tags=["scenarios"])
def api_least_cost(
    principal: CityDep,
    name: StoredName,
    cap_year: Annotated[int | None, Query(ge=2026, le=2060)] = None,
    cap_tco2e: Annotated[float | None, Query(ge=0, le=1e10)] = None,
    intensity: bool = True,
    year: Annotated[int, Query(ge=2025, le=2060)] = 2035,
) -> Any:
    """Least-cost deployment of a scenario's measures meeting a CO2 cap and/or the city's
    CO2-intensity targets (linear programme, HiGHS): status, discounted cost [10^4 CNY],
    emissions by year, deployment per measure and year, and the constraints with slack,
    binding flag and shadow price [CNY/tCO2e]."""
    got = sa.least_cost(
        name, cap_year=cap_year, cap_tco2e=cap_tco2e, intensity=intensity, year=year
    )
    return {
        "status": got["status"],
        "feasible": got["feasible"],
        "cost_pv_10k_cny": None if not got["feasible"] else got["cost_pv_10k_cny"],
        "caps": {str(k): v for k, v in got["caps"].items()},
        "skipped_targets": got["skipped_targets"],
        "emissions": records(got["emissions"]),
        "deployment": records(got["deployment"]),
        "constraints": records(got["constraints"]),
    }


@router.get("/api/v1/scenarios/activity", tags=["scenarios"])
def api_activity(
    principal: CityDep,
    part: Literal["calibration", "backcast", "fit", "projection"] = "calibration",
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """The baseline by activity driver: per-sector calibration on the inventory history, the
    backcast of the history, the fit of the city total to the long history (inventory years,
    else the yearbook series) or the projection to 2060 (activity, intensity, energy)."""
    frame = sa.activity_baseline()[part]
    if format == "json":
        return records(frame)
    return _scenario_page(principal, frame, len(frame), 0, format, f"activity_{part}", lang)


@router.get("/api/v1/scenarios/stirpat", tags=["scenarios"])
def api_stirpat(principal: CityDep) -> Any:
    """STIRPAT of the city history on non-Kaya drivers with its diagnostics (VIF, condition
    number, sample size), the sample's years with their origin and citation, and the
    elasticities when the history is long enough."""
    got = sa.stirpat()
    return {
        "drivers": got["drivers"],
        "summary": got["summary"],
        "diagnostics": records(got["diagnostics"]),
        "sample": records(got["sample"]),
        "elasticities": None if got["elasticities"] is None else records(got["elasticities"]),
    }


@router.get("/api/v1/scenarios/cobenefits", tags=["scenarios"])
def api_cobenefits(
    principal: CityDep,
    name: StoredName,
    year: Annotated[int, Query(ge=2025, le=2060)] = 2030,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Air pollutants and CO2 of a scenario vs the baseline in a year (co-benefits)."""
    frame = sa.cobenefits(name, year)
    return one(frame, format, f"cobenefits_{name}", lang, file_basis(principal, lang, frame))


@router.get("/api/v1/scenarios/economics", tags=["scenarios"])
def api_economics(
    principal: CityDep, name: StoredName, format: Format = "json", lang: FileLang = None
) -> Any:
    """Socio-economic ESTIMATES to 2060: investment, operating cost, energy savings, GDP effect,
    jobs (illustrative input-output multipliers)."""
    frame = sa.economics(name)
    return one(frame, format, f"economics_{name}", lang, file_basis(principal, lang, frame))


@router.get("/api/v1/scenarios/history", response_model=Page, tags=["scenarios"])
def api_history(
    principal: CityDep,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """The city history the scenarios start from: emissions [tCO2e] and energy [tce] of the
    city inventory (the 清单 page's figures), GDP and population, by year."""
    return _scenario_page(principal, sa.history(), limit, offset, format, "scenario_history", lang)


@router.get("/api/v1/scenarios/decomposition", tags=["scenarios"])
def api_decomposition(
    principal: CityDep,
    method: Literal["additive", "multiplicative"] = "additive",
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """LMDI-I Kaya decomposition of the city's emissions history, year on year (Ang 2015)."""
    frame = sa.decomposition(method)
    return one(frame, format, f"lmdi_{method}", lang, file_basis(principal, lang, frame))
