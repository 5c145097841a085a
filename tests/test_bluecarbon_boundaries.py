"""Blue-carbon sites as polygons: boundary parsing, validity, city bounds, area against the
declared area (located quarantine reasons in zh and en), and the area of a lon/lat polygon."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon import geo
from citycarbon.ingest.loader import ingest
from citycarbon.store import catalog, lake
from citycarbon.web.i18n import reason_text

HEADER = ["行政区划代码", "站点编号", "站点名称", "年份", "生态系统", "面积", "种植年份", "边界"]
#: a 60 ha synthetic mangrove outline on the Xiang'an coast (the demo's BC-01)
GOOD = geo.ellipse_polygon(118.205, 24.605, 60e4, 3.0, 40.0)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    yield tmp_path / "home"
    catalog.dispose_engines()


def _sites_csv(path: Path, rows: list[list]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def _row(site: str, area_ha: float, boundary: dict | str | None) -> list:
    text = boundary if isinstance(boundary, str) or boundary is None else json.dumps(boundary)
    return ["350200", site, f"示例{site}", 2023, "mangrove", area_ha, 2012, text or ""]


def test_boundaries_are_checked_and_bad_ones_quarantined_with_their_place(home, tmp_path):
    ring = GOOD["coordinates"][0]
    bow_tie = {"type": "Polygon", "coordinates": [[[118.1, 24.5], [118.11, 24.51], [118.11, 24.5],
                                                   [118.1, 24.51], [118.1, 24.5]]]}  # fmt: skip
    beijing = {"type": "Polygon", "coordinates": [[[116.3, 39.9], [116.31, 39.9], [116.31, 39.91],
                                                   [116.3, 39.9]]]}  # fmt: skip
    rows = [
        _row("S1", 60.0, GOOD),  # row 2: valid, area within 10 %
        _row("S2", 60.0, {"type": "Feature", "geometry": GOOD}),  # a Feature is taken too
        _row("S3", 60.0, None),  # no boundary: a point site as before
        _row("S4", 60.0, {"type": "Polygon", "coordinates": [ring[:-1]]}),  # not closed
        _row("S5", 60.0, bow_tie),  # self-intersecting
        _row("S6", 60.0, beijing),  # outside Xiamen
        _row("S7", 100.0, GOOD),  # 60 ha drawn, 100 ha declared
        _row("S8", 60.0, "POLYGON((118.1 24.5, 118.2 24.5, 118.2 24.6, 118.1 24.5))"),  # WKT
    ]
    result = ingest("blue_carbon_sites", _sites_csv(tmp_path / "sites.csv", rows))
    assert (result.rows_accepted, result.rows_quarantined) == (3, 5)
    q = lake.read_current("quarantine", {"batch_id": result.batch_id}).set_index("source_row")
    assert set(q["column"]) == {"边界"}  # the header as the file names it
    reasons = q["reason"].to_dict()
    assert reasons[5] == ("the boundary is not a valid polygon: polygon 0 ring 0: not closed")
    assert (
        reasons[6]
        == "the boundary is not a valid polygon: polygon 0 ring 0: 1 self-intersection(s)"
    )
    assert reasons[7].startswith("the boundary lies outside the city (")
    assert reasons[8] == "the boundary's area 60 ha differs from area_ha 100 ha by more than 10%"
    assert reasons[9].startswith("the boundary is not a GeoJSON Polygon or MultiPolygon: not JSON")
    zh = {row: reason_text(why, "zh") for row, why in reasons.items()}
    assert (
        zh[5]
        == "边界不是有效多边形：多边形 0 的环 0 未闭合，首尾坐标须相同（GeoJSON 序号，从 0 起）"
    )
    assert zh[6] == "边界不是有效多边形：多边形 0 的环 0 有 1 处自相交（GeoJSON 序号，从 0 起）"
    assert zh[7].startswith("边界超出本市范围（") and "E" in zh[7]
    assert zh[8] == "边界面积 60 公顷与 area_ha 100 公顷相差超过 10%"
    assert zh[9].startswith("边界不是 GeoJSON 多边形")
    assert reason_text(reasons[8], "en") == reasons[8]
    kept = lake.read_current("blue_carbon_sites").set_index("site_id")
    assert sorted(kept.index) == ["S1", "S2", "S3"]
    assert geo.parse_polygon(kept.at["S2", "geometry"]) == geo.parse_polygon(json.dumps(GOOD))
    assert kept["geometry"].isna().sum() == 1  # S3


def test_area_of_a_lat_lon_cell_is_the_closed_form_on_the_sphere():
    """A cell bounded by meridians and parallels has the exact spherical area
    R^2 x dlon x (sin lat2 - sin lat1); the Chamberlain & Duquette (2007) sum gives it (its
    meridian edges add nothing). R is the authalic radius of WGS 84, 6 371 007.2 m."""
    lon0, lat0, lon1, lat1 = 118.0, 24.4, 118.3, 24.7
    cell = {"type": "Polygon", "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1],
                                                [lon0, lat1], [lon0, lat0]]]}  # fmt: skip
    exact_m2 = (
        6_371_007.2**2
        * math.radians(lon1 - lon0)
        * (math.sin(math.radians(lat1)) - math.sin(math.radians(lat0)))
    )
    assert geo.area_km2(cell) * 1e6 == pytest.approx(exact_m2, rel=1e-12)
    assert exact_m2 / 1e6 == pytest.approx(1012.2, rel=1e-3)  # ~ 30.35 km x 33.36 km


@settings(max_examples=40, deadline=None)
@given(
    area_ha=st.floats(10.0, 5000.0),
    axis_ratio=st.floats(1.0, 6.0),
    bearing=st.floats(0.0, 180.0),
    lat=st.floats(-60.0, 60.0),
)
def test_synthetic_outlines_are_valid_and_have_their_area(area_ha, axis_ratio, bearing, lat):
    shape = geo.ellipse_polygon(118.2, lat, area_ha * 1e4, axis_ratio, bearing)
    assert geo.validity_problems(shape) == []
    assert geo.area_km2(shape) * 100 == pytest.approx(area_ha, rel=1e-3)
    # and the text round trip of the ingest keeps it
    assert geo.parse_polygon(json.dumps(shape)) == shape


def test_a_polygon_with_a_hole_subtracts_it():
    outer = geo.ellipse_polygon(118.2, 24.6, 100e4, 1.0, 0.0)["coordinates"][0]
    hole = geo.ellipse_polygon(118.2, 24.6, 20e4, 1.0, 0.0)["coordinates"][0][::-1]
    shape = geo.parse_polygon(json.dumps({"type": "Polygon", "coordinates": [outer, hole]}))
    assert geo.area_km2(shape) * 100 == pytest.approx(80.0, rel=1e-3)
