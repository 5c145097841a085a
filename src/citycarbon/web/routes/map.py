"""电碳生态地图 — the electricity-carbon eco map: the page and its JSON API (/api/v1/map/...).

A thin shell over :mod:`citycarbon.runs.map_layers` (precomputed per results run) and
:func:`citycarbon.geo.boundaries`; who sees what comes from the access layer and is applied by
the layer functions (enterprise users: their own enterprise point only; district managers: their
district's points and totals).
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from citycarbon.errors import InputError
from citycarbon.read import access
from citycarbon.read import green_projects as gq
from citycarbon.runs import map_layers as ml
from citycarbon.web import auth
from citycarbon.web.app import lang_of, render, scope_label
from citycarbon.web.i18n import Translator


def _warm_in_background() -> None:
    """At server start, build the map cube in a thread so the first map request is fast."""
    threading.Thread(target=_warm, daemon=True, name="map-warm").start()


router = APIRouter(on_startup=[_warm_in_background])

PERIOD_DOC = "YYYY (year), YYYY-MM (month) or YYYY-MM-DD (day: metered electricity only)"
PeriodQ = Annotated[
    str,
    Query(description=PERIOD_DOC, examples=["2024-06"], pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$"),
]


# --------------------------------------------------------------------------- schemas
class DistrictValues(BaseModel):
    code: str = Field(description="GB/T 2260 code")
    name_zh: str
    name_en: str
    area_km2: float = Field(description="area of the boundary polygon [km2]")
    visible: bool = Field(description="false: outside the user's scope, values withheld")
    energy_tce: float | None = Field(None, description="energy use of reporting enterprises [tce]")
    co2_t: float | None = Field(None, description="CO2, scopes 1+2, of reporting enterprises [t]")
    electricity_mwh: float | None = Field(None, description="metered electricity [MWh]")
    electricity_co2_t: float | None = Field(None, description="its location-based CO2 [t]")
    ghg_tco2e: float | None = Field(
        None, description="city inventory, district roll-up incl. electricity [tCO2e] (years)"
    )
    enterprises: int | None = Field(None, description="enterprises reporting in the period")


class DistrictsOut(BaseModel):
    period: str
    kind: str = Field(description="year | month | day")
    districts: list[DistrictValues]


class ParkPoint(BaseModel):
    code: str
    name_zh: str
    name_en: str | None = None
    district_code: str
    lon: float | None
    lat: float | None
    enterprises: int = Field(description="registered enterprises in the park")
    energy_tce: float | None = None
    co2_t: float | None = None


class BlueCarbonSite(BaseModel):
    site_id: str
    site_name: str
    ecosystem: str = Field(description="mangrove, salt_marsh or seagrass")
    area_ha: float | None
    lon: float | None
    lat: float | None
    year: int
    co2_t: float | None = Field(
        None, description="annual sink of the year, city_sinks [tCO2, negative = removal]"
    )
    sediment_co2_t: float | None = None
    vegetation_co2_t: float | None = None
    tier: str | None = None
    method: str | None = Field(None, description="method of each pool (city_sinks), ' | '-joined")
    geometry: dict[str, Any] | None = Field(
        None, description="the site's boundary, a GeoJSON Polygon or MultiPolygon (lon/lat)"
    )


class NodePoint(BaseModel):
    node_id: str
    name: str | None
    district_code: str | None
    voltage_kv: float | None
    lon: float | None
    lat: float | None
    meters: int
    electricity_mwh: float | None = Field(None, description="metered electricity behind it [MWh]")
    electricity_co2_t: float | None = Field(None, description="its location-based CO2 [t]")
    intensity_tco2_per_mwh: float | None
    intensity_basis: str


class EnterpriseTable(BaseModel):
    columns: list[str] = Field(description="names of the values in each row")
    rows: list[list[Any]] = Field(
        description="one row per enterprise: credit_code, name, lon, lat, district_code, "
        "park_code, industry_code, is_key, position_ok (position inside its district), "
        "energy_tce, co2_t, electricity_mwh, electricity_co2_t"
    )


class PointsOut(BaseModel):
    period: str
    kind: str
    enterprises: EnterpriseTable
    parks: list[ParkPoint]
    nodes: list[NodePoint]
    blue_carbon: list[BlueCarbonSite] = Field(
        default_factory=list, description="蓝碳 sites (city-wide roles; empty for others)"
    )


class SeriesPoint(BaseModel):
    period: str
    energy_tce: float | None
    co2_t: float | None


class DistrictSummary(DistrictValues):
    period: str
    parks: list[ParkPoint]
    top_enterprises: list[dict[str, Any]]
    series: list[SeriesPoint] = Field(description="monthly energy and CO2 of the district")
    enterprises_registered: int
    positions_outside_district: int = Field(
        description="registered enterprises whose lon/lat falls outside the district boundary"
    )


class ParkSummary(ParkPoint):
    period: str
    members: list[dict[str, Any]]


class DaySpan(BaseModel):
    first: str
    last: str
    count: int


class PeriodsOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    years: list[str]
    months: list[str]
    days: DaySpan | None
    grid_ef_tco2_per_mwh: dict[str, float]
    provenance: dict[str, Any]


class Boundaries(BaseModel):
    """A GeoJSON FeatureCollection (RFC 7946), one feature per district."""

    model_config = ConfigDict(extra="allow")
    type: str = "FeatureCollection"
    features: list[dict[str, Any]]


# --------------------------------------------------------------------------- access
def _principal(request: Request) -> Any:
    """The signed-in user (the web core's access layer); 401 when nobody is signed in."""

    return auth.require_principal(request)


async def map_scope(principal: Annotated[Any, Depends(auth.principal_dep)]) -> ml.Scope:
    """What the user may see on the map: the access layer's visible enterprises (totals of
    districts, parks and grid nodes follow, see :func:`citycarbon.runs.map_layers.visibility`).
    Async, as are the layer endpoints: their answers come from memory, and a thread hop per
    request costs more than the answer under load."""

    access.require(principal, "read")
    return ml.Scope(access.visible_enterprise_codes(principal))


ScopeDep = Annotated[ml.Scope, Depends(map_scope)]


async def _data() -> ml.MapData:
    """The map cube: from memory, or built in a worker thread when there is none yet."""
    data = ml.map_data(build=False)
    return data if data is not None else await run_in_threadpool(ml.map_data)


#: Encoded JSON of the layer endpoints per (endpoint, period, scope, layers) of the current map
#: data: the layers change only when the results do (a new MapData empties it), so the same
#: answer is not rebuilt and re-serialised for every client (the point layer is ~400 KB). Used
#: from the event loop only (the endpoints are async); an answer being built is a future that
#: every request for the same key awaits, so a new cube costs one build per key, not one per
#: waiting client.
_ENCODED: OrderedDict[tuple, asyncio.Task[bytes]] = OrderedDict()
_ENCODED_MAX = 256
_encoded_for: list[Any] = [None]  # the MapData the cache belongs to


async def _cached_json(
    data: ml.MapData, key: tuple, build: Callable[[], dict], model: type[BaseModel]
) -> Response:
    """The endpoint's answer as JSON bytes, validated by its response model once (in a worker
    thread, off the event loop) and cached. The build is a task of its own: a client that
    disconnects does not cancel it for the others; a failed build is forgotten (next request
    tries again)."""
    if _encoded_for[0] is not data:
        _ENCODED.clear()
        _encoded_for[0] = data
    answer = _ENCODED.get(key)
    if answer is None:
        answer = asyncio.ensure_future(
            run_in_threadpool(lambda: model.model_validate(build()).model_dump_json().encode())
        )
        _ENCODED[key] = answer
        while len(_ENCODED) > _ENCODED_MAX:
            _ENCODED.popitem(last=False)
    else:
        _ENCODED.move_to_end(key)
    try:
        body = await asyncio.shield(answer)
    except Exception:
        if _ENCODED.get(key) is answer:
            del _ENCODED[key]
        raise
    return Response(content=body, media_type="application/json")


def _period(data: ml.MapData, text: str) -> ml.Period:
    """The period of a well-formed ``period`` (the parameter's pattern): one the map has no data
    for, or no such day, is not found (404)."""
    try:
        period = ml.parse_period(text)
        ml.check_period(data, period)
    except InputError as err:
        raise HTTPException(status_code=404, detail=err.message) from None
    return period


_warming = threading.Lock()


def _warm() -> None:
    if _warming.acquire(blocking=False):
        try:
            ml.map_data()
        except Exception:
            pass
        finally:
            _warming.release()


# --------------------------------------------------------------------------- page
#: UI strings map.js needs (i18n keys map.<key>)
JS_KEYS = (
    "metric_co2", "metric_energy", "metric_electricity", "metric_electricity_co2", "metric_ghg",
    "layer_districts", "layer_parks", "layer_enterprises", "layer_nodes", "enterprises", "area",
    "top_emitters", "positions_outside", "position_off", "credit_code", "industry",
    "open_enterprise", "node_id", "voltage", "meters", "intensity", "intensity_note",
    "not_in_scope", "loading", "error", "no_data", "mapped", "layer_projects",
    "project_reduction", "layer_blue_carbon", "annual_sink", "sediment", "vegetation",
    "ecosystem", "area_ha", "eco_mangrove", "eco_salt_marsh", "eco_seagrass", "site_id",
    "method", "method_sediment", "method_vegetation", "methods_link", "boundary",
    "boundary_polygon", "boundary_point", "layer_demo_projects",
)  # fmt: skip
#: UI strings map.js needs from the project reserve's section: the demonstration levels
PROJECT_JS_KEYS = tuple(f"demo_{level}" for level in gq.DEMONSTRATION_LEVELS)


@router.get("/map", response_class=HTMLResponse, include_in_schema=False)
def map_page(request: Request, principal: Annotated[Any, Depends(_principal)]) -> HTMLResponse:
    """The map page; its data come from the API below (the cube is warmed meanwhile)."""

    access.require(principal, "read")
    threading.Thread(target=_warm, daemon=True).start()
    t = Translator(lang_of(request))
    return render(
        request,
        "map.html",
        {
            "active": "map",
            "js_strings": {
                **{k: t(f"map.{k}") for k in JS_KEYS},
                **{k: t(f"projects.{k}") for k in PROJECT_JS_KEYS},
            },
            "scope_label": scope_label(principal, t.lang),
        },
    )


# --------------------------------------------------------------------------- API
@router.get("/api/v1/map/boundaries", response_model=Boundaries, tags=["map"])
async def map_boundaries(scope: ScopeDep) -> dict:
    """District boundaries (GeoJSON) for ECharts ``registerMap``: ``properties.name`` is the
    district code the other endpoints use; ``name_zh``/``name_en`` label it; ``cp`` a label point.
    Shapes are public (a statistical chart outline); values are scoped elsewhere."""
    return (await _data()).boundaries


@router.get("/api/v1/map/periods", response_model=PeriodsOut, tags=["map"])
async def map_periods(scope: ScopeDep) -> dict:
    """Years, months and the day span the map can show, the grid factor per year and which
    results run and factor profile the numbers come from."""
    return ml.periods(await _data())


@router.get("/api/v1/map/districts", response_model=DistrictsOut, tags=["map"])
async def map_districts(scope: ScopeDep, period: PeriodQ) -> Response:
    """District totals for a period (choropleth). Values outside the user's scope are null."""
    data = await _data()
    p = _period(data, period)
    return await _cached_json(
        data,
        ("districts", p.text, scope),
        lambda: {"period": p.text, "kind": p.kind, "districts": ml.district_layer(data, p, scope)},
        DistrictsOut,
    )


@router.get("/api/v1/map/points", response_model=PointsOut, tags=["map"])
async def map_points(
    scope: ScopeDep,
    period: PeriodQ,
    layers: Annotated[
        str,
        Query(
            description="comma list of enterprises, parks, nodes, blue_carbon",
            pattern=r"^(enterprises|parks|nodes|blue_carbon)(,(enterprises|parks|nodes|blue_carbon))*$",
        ),
    ] = "enterprises,parks,nodes,blue_carbon",
) -> Response:
    """Point layers for a period: enterprises (columnar rows), parks, grid nodes and the 蓝碳
    sites with their annual sink of the period's year (city-wide roles)."""
    data = await _data()
    p = _period(data, period)
    wanted = {w.strip() for w in layers.split(",") if w.strip()}
    unknown = wanted - {"enterprises", "parks", "nodes", "blue_carbon"}
    if unknown:
        raise HTTPException(
            422, f"unknown layer(s) {sorted(unknown)}: use enterprises, parks, nodes, blue_carbon"
        )
    empty = {"columns": ml.ENTERPRISE_COLUMNS, "rows": []}
    return await _cached_json(
        data,
        ("points", p.text, scope, frozenset(wanted)),
        lambda: {
            "period": p.text,
            "kind": p.kind,
            "enterprises": ml.enterprise_points(data, p, scope)
            if "enterprises" in wanted
            else empty,
            "parks": ml.park_points(data, p, scope)
            if "parks" in wanted and p.kind != "day"
            else [],
            "nodes": ml.node_points(data, p, scope) if "nodes" in wanted else [],
            "blue_carbon": ml.blue_carbon_points(data, p, scope) if "blue_carbon" in wanted else [],
        },
        PointsOut,
    )


@router.get("/api/v1/map/districts/{code}", response_model=DistrictSummary, tags=["map"])
def map_district(
    scope: ScopeDep,
    code: Annotated[str, Path(pattern=r"^\d{6}$", description="GB/T 2260 district code")],
    period: PeriodQ,
) -> dict:
    """One district: totals, parks, largest emitters, monthly series (district users: own only)."""
    data = ml.map_data()
    p = _period(data, period)
    try:
        return ml.district_summary(data, code, p, scope)
    except (InputError, PermissionError):  # unknown or outside the scope: the same answer
        raise HTTPException(404, f"district {code} not found") from None


@router.get("/api/v1/map/parks/{code}", response_model=ParkSummary, tags=["map"])
def map_park(
    scope: ScopeDep,
    code: Annotated[str, Path(max_length=32, description="park code")],
    period: PeriodQ,
) -> dict:
    """One park: its enterprises' totals and members, largest CO2 first."""
    data = ml.map_data()
    p = _period(data, period)
    if p.kind == "day":
        raise HTTPException(422, "park totals are monthly or yearly (fuel returns)")
    try:
        return ml.park_summary(data, code, p, scope)
    except (InputError, PermissionError):  # unknown or outside the scope: the same answer
        raise HTTPException(404, f"park {code} not found") from None
