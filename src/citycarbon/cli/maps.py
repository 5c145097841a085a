"""`citycarbon map check|precompute`: the city's district boundaries and the map layers' cube
(thin: the work is in :mod:`citycarbon.geo` and :mod:`citycarbon.runs.map_layers`)."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from citycarbon import geo
from citycarbon.cli.common import CityOption, console, fail
from citycarbon.config import load_city
from citycarbon.errors import CitycarbonError
from citycarbon.runs import map_layers as ml
from citycarbon.store import catalog

map_app = typer.Typer(
    help="电碳生态地图: check a city's district boundaries, precompute the map layers.",
    no_args_is_help=True,
)


@map_app.command("check")
def check(city: CityOption = None) -> None:
    """Check the city's boundary file: one valid polygon per configured district, its area, and
    (when the catalog has a registry) how many registered positions fall outside their district."""
    try:
        cfg = load_city(city)
        fc = geo.boundaries(cfg)
    except CitycarbonError as err:
        fail(err)
    outside: dict[str, tuple[int, int]] = {}
    try:
        ent = catalog.registry_frame("enterprises")
        located = geo.district_of_points(fc, ent["lon"], ent["lat"])
        for code in ent["district_code"].unique():
            mine = (ent["district_code"] == code).to_numpy()
            outside[code] = (int((located[mine] != code).sum()), int(mine.sum()))
    except Exception:
        outside = {}
    table = Table(title=f"{cfg.name.zh} {geo.boundary_path(cfg).name}")
    columns = ("code", "district", "area km²", "polygons", "positions", "problems")
    for col in (*columns, "enterprises outside"):
        table.add_column(col)
    bad = 0
    for f in fc["features"]:
        p = f["properties"]
        problems = geo.validity_problems(f["geometry"])
        bad += bool(problems)
        rings = geo.polygons(f["geometry"])
        out, n = outside.get(p["code"], (0, 0))
        table.add_row(
            p["code"],
            f"{p['name_zh']} {p['name_en']}",
            f"{geo.area_km2(f['geometry']):,.1f}",
            str(len(rings)),
            str(sum(len(r) for poly in rings for r in poly)),
            "; ".join(problems) or "ok",
            f"{out}/{n}" if n else "–",
        )
    console.print(table)
    if bad:
        raise typer.Exit(1)


@map_app.command("precompute")
def precompute(city: CityOption = None) -> None:
    """Build the map layers' cube of the current CITYCARBON_HOME now (the server otherwise does it
    on first use): day aggregates of the meter readings are cached under $CITYCARBON_HOME/cache."""
    try:
        t0 = time.perf_counter()
        data = ml.map_data(load_city(city), wait=True)
    except CitycarbonError as err:
        fail(err)
    span = f"{data.months[0]} … {data.months[-1]}" if data.months else "no months"
    console.print(
        f"map layers: {len(data.districts)} districts, {len(data.parks)} parks, "
        f"{len(data.enterprises)} enterprises, {len(data.nodes)} grid nodes; {span}, "
        f"{len(data.days)} days; built in {time.perf_counter() - t0:.1f} s "
        f"(results run {data.provenance.get('fuel_run_id')})"
    )
