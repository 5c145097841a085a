"""District boundaries of a city and plain geometry on them (areas, centroids, containment).

A city names its boundary file in its config (``boundaries: 350200.geojson``): a GeoJSON
FeatureCollection packaged in ``citycarbon/geo/data/`` (or a path next to the city's YAML) with
one feature per district, ``properties.code`` its GB/T 2260 code. ``data/SOURCE.md`` says where
each file comes from, under which licence, and how ``scripts/extract_boundaries.py`` rebuilds it.

The geometry helpers work on lon/lat degrees with NumPy only (no GIS stack): they are meant for
checks and map display, not for surveying.
"""

from __future__ import annotations

import json
from copy import deepcopy
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from citycarbon.errors import InputError

DATA_DIR = Path(__file__).with_name("data")

#: Radius of the authalic sphere of GRS 80 / WGS 84 [m] (same area as the ellipsoid).
AUTHALIC_RADIUS_M = 6_371_007.2


# --------------------------------------------------------------------------- loading
def boundary_path(cfg: Any) -> Path:
    """The boundary file a city config names (``cfg.boundaries``), packaged or beside its YAML."""
    name = getattr(cfg, "boundaries", None)
    if not name:
        raise InputError(
            "the city configuration names no boundary file; add e.g. "
            f"`boundaries: {cfg.adcode}.geojson` (files in {DATA_DIR})",
            source=str(getattr(cfg, "path", None) or cfg.id),
            field="boundaries",
        )
    path = Path(name)
    if not path.is_absolute():
        beside = Path(cfg.path).parent / path if getattr(cfg, "path", None) else None
        path = beside if beside is not None and beside.exists() else DATA_DIR / path
    if not path.exists():
        raise InputError(
            f"boundary file not found (packaged: {sorted(p.name for p in DATA_DIR.glob('*.geojson'))})",
            source=str(getattr(cfg, "path", None) or cfg.id),
            field="boundaries",
            value=name,
        )
    return path


@cache
def _read(path: Path, mtime_ns: int) -> dict:
    try:
        data = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"not valid JSON: {err.msg}", source=str(path), row=err.lineno) from None
    if data.get("type") != "FeatureCollection":
        raise InputError("a boundary file must be a GeoJSON FeatureCollection", source=str(path))
    return data


def boundaries(cfg: Any) -> dict:
    """The city's district boundaries as a GeoJSON FeatureCollection, one feature per district.

    Features are ordered as ``cfg.districts`` and carry ``code``, ``name`` (= code, the key an
    ECharts map series joins on), ``name_zh``, ``name_en`` and ``cp`` (a label point inside the
    largest polygon). Features of codes the config does not list are left out.

    Raises
    ------
    InputError
        The file is missing, or a configured district has no feature (names the codes).
    """
    path = boundary_path(cfg)
    data = _read(path, path.stat().st_mtime_ns)
    by_code: dict[str, dict] = {}
    for i, feature in enumerate(data.get("features", [])):
        code = str((feature.get("properties") or {}).get("code", ""))
        geom = feature.get("geometry") or {}
        if geom.get("type") not in ("Polygon", "MultiPolygon"):
            raise InputError(
                "a district feature must be a Polygon or MultiPolygon",
                source=str(path),
                row=i,
                field="geometry.type",
                value=geom.get("type"),
            )
        by_code[code] = feature
    missing = [f"{d.code} {d.zh}" for d in cfg.districts if d.code not in by_code]
    if missing:
        raise InputError(
            f"no boundary for district(s) {', '.join(missing)}; the file has "
            f"{sorted(by_code)} — rebuild it with scripts/extract_boundaries.py",
            source=str(path),
            field="properties.code",
        )
    features = []
    for d in cfg.districts:
        feature = deepcopy(by_code[d.code])
        props = feature.setdefault("properties", {})
        props.update(code=d.code, name=d.code, name_zh=d.zh, name_en=d.en)
        props.setdefault("cp", list(label_point(feature["geometry"])))
        features.append(feature)
    meta = {k: v for k, v in data.items() if k not in ("type", "features")}
    return {"type": "FeatureCollection", **meta, "features": features}


# --------------------------------------------------------------------------- geometry
def polygons(geometry: dict) -> list[list[np.ndarray]]:
    """Polygons of a GeoJSON (Multi)Polygon: each a list of rings, each an (n, 2) lon/lat array."""
    coords = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        coords = [coords]
    return [[np.asarray(ring, dtype="float64") for ring in poly] for poly in coords]


def ring_area_m2(lon_deg: np.ndarray, lat_deg: np.ndarray) -> float:
    """Area of a closed lon/lat ring on the authalic sphere [m2] (unsigned).

    A = R^2/2 |sum (lon_{i+1} - lon_i)(2 + sin lat_i + sin lat_{i+1})|

    References
    ----------
    [1] Chamberlain, R. G. and Duquette, W. H. (2007), Some algorithms for polygons on a sphere,
        JPL Publication 07-03, section 2 (eq. for the area of a spherical polygon).
    """
    lon = np.radians(lon_deg)
    lat = np.radians(lat_deg)
    dlon = np.roll(lon, -1) - lon
    total = np.sum(dlon * (2 + np.sin(lat) + np.sin(np.roll(lat, -1))))
    return float(abs(total) * AUTHALIC_RADIUS_M**2 / 2)


def area_km2(geometry: dict) -> float:
    """Area of a GeoJSON (Multi)Polygon [km2]: outer rings less holes (see :func:`ring_area_m2`)."""
    m2 = 0.0
    for rings in polygons(geometry):
        outer, *holes = rings
        m2 += ring_area_m2(outer[:, 0], outer[:, 1])
        m2 -= sum(ring_area_m2(h[:, 0], h[:, 1]) for h in holes)
    return m2 / 1e6


def points_in_ring(lon: np.ndarray, lat: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Whether each point lies inside a ring (even-odd ray casting, vectorised over points x edges)."""
    x, y = np.asarray(lon, dtype="float64")[:, None], np.asarray(lat, dtype="float64")[:, None]
    x1, y1 = ring[:-1, 0][None, :], ring[:-1, 1][None, :]
    x2, y2 = ring[1:, 0][None, :], ring[1:, 1][None, :]
    crosses = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    return np.count_nonzero(crosses & (x < x_at), axis=1) % 2 == 1


def contains(geometry: dict, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Whether each lon/lat point lies inside a GeoJSON (Multi)Polygon (holes excluded)."""
    lon = np.atleast_1d(np.asarray(lon, dtype="float64"))
    lat = np.atleast_1d(np.asarray(lat, dtype="float64"))
    inside = np.zeros(lon.shape, dtype=bool)
    for rings in polygons(geometry):
        outer, *holes = rings
        hit = points_in_ring(lon, lat, outer)
        for hole in holes:
            hit &= ~points_in_ring(lon, lat, hole)
        inside |= hit
    return inside


def centroid(geometry: dict) -> tuple[float, float]:
    """Area-weighted centroid of a (Multi)Polygon in lon/lat degrees (planar, fine at city scale)."""
    sx = sy = sa = 0.0
    for rings in polygons(geometry):
        for k, ring in enumerate(rings):
            x, y = ring[:, 0], ring[:, 1]
            cross = x * np.roll(y, -1) - np.roll(x, -1) * y
            a = cross.sum() / 2
            sign = 1.0 if k == 0 else -1.0  # holes subtract, whatever their orientation
            a_abs = abs(a)
            if a == 0:
                continue
            cx = np.sum((x + np.roll(x, -1)) * cross) / (6 * a)
            cy = np.sum((y + np.roll(y, -1)) * cross) / (6 * a)
            sx += sign * a_abs * cx
            sy += sign * a_abs * cy
            sa += sign * a_abs
    return sx / sa, sy / sa


def label_point(geometry: dict) -> tuple[float, float]:
    """A point for a label: the centroid of the largest polygon, or, where that falls outside
    it (a crescent-shaped district), the inside grid point nearest to it."""
    polys = polygons(geometry)
    areas = [ring_area_m2(p[0][:, 0], p[0][:, 1]) for p in polys]
    largest = {"type": "Polygon", "coordinates": [r.tolist() for r in polys[int(np.argmax(areas))]]}
    cx, cy = centroid(largest)
    if contains(largest, [cx], [cy])[0]:
        return round(float(cx), 5), round(float(cy), 5)
    outer = polys[int(np.argmax(areas))][0]
    gx, gy = np.meshgrid(
        np.linspace(outer[:, 0].min(), outer[:, 0].max(), 60),
        np.linspace(outer[:, 1].min(), outer[:, 1].max(), 60),
    )
    gx, gy = gx.ravel(), gy.ravel()
    inside = contains(largest, gx, gy)
    d = (gx - cx) ** 2 + (gy - cy) ** 2
    d[~inside] = np.inf
    i = int(np.argmin(d))
    return round(float(gx[i]), 5), round(float(gy[i]), 5)


def ring_self_intersections(ring: np.ndarray) -> int:
    """Number of pairs of non-adjacent edges of a closed ring that cross or touch (0 = simple)."""
    p1, p2 = ring[:-1], ring[1:]
    n = len(p1)

    def orient(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.sign(
            (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1])
            - (b[..., 1] - a[..., 1]) * (c[..., 0] - a[..., 0])
        )

    a, b = p1[:, None, :], p2[:, None, :]
    c, d = p1[None, :, :], p2[None, :, :]
    o1, o2 = orient(a, b, c), orient(a, b, d)
    o3, o4 = orient(c, d, a), orient(c, d, b)
    cross = (o1 * o2 <= 0) & (o3 * o4 <= 0) & ~((o1 == 0) & (o2 == 0) & (o3 == 0) & (o4 == 0))
    i, j = np.triu_indices(n, k=2)
    keep = ~((i == 0) & (j == n - 1))  # first and last edge share the closing vertex
    return int(np.count_nonzero(cross[i[keep], j[keep]]))


def validity_problems(geometry: dict) -> list[str]:
    """What is wrong with a (Multi)Polygon for display and area sums ([] = valid): open or too
    short rings, non-finite coordinates, self-intersecting rings."""
    problems = []
    for p, rings in enumerate(polygons(geometry)):
        for r, ring in enumerate(rings):
            where = f"polygon {p} ring {r}"
            if ring.ndim != 2 or ring.shape[0] < 4:
                problems.append(f"{where}: fewer than 4 positions")
                continue
            if not np.isfinite(ring).all():
                problems.append(f"{where}: non-finite coordinate")
            if not np.array_equal(ring[0], ring[-1]):
                problems.append(f"{where}: not closed")
            crossings = ring_self_intersections(ring)
            if crossings:
                problems.append(f"{where}: {crossings} self-intersection(s)")
    return problems


def district_of_points(fc: dict, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """For each lon/lat point, the code of the district feature containing it ('' if none)."""
    lon = np.atleast_1d(np.asarray(lon, dtype="float64"))
    lat = np.atleast_1d(np.asarray(lat, dtype="float64"))
    out = np.full(lon.shape, "", dtype=object)
    ok = np.isfinite(lon) & np.isfinite(lat)
    for feature in fc["features"]:
        hit = np.zeros(lon.shape, dtype=bool)
        hit[ok] = contains(feature["geometry"], lon[ok], lat[ok])
        out[hit & (out == "")] = feature["properties"]["code"]
    return out


def bounds(geometries: list[dict]) -> tuple[float, float, float, float]:
    """(west, south, east, north) of (Multi)Polygons."""
    pts = np.concatenate([ring for g in geometries for rings in polygons(g) for ring in rings])
    return (
        float(pts[:, 0].min()),
        float(pts[:, 1].min()),
        float(pts[:, 0].max()),
        float(pts[:, 1].max()),
    )


def bbox(fc: dict) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a FeatureCollection."""
    return bounds([f["geometry"] for f in fc["features"]])


def parse_polygon(text: str) -> dict:
    """A GeoJSON Polygon or MultiPolygon from its text (a bare geometry or a Feature), lon/lat
    positions reduced to 2-D.

    Raises
    ------
    ValueError
        Not JSON, not a (Multi)Polygon, or positions that are not pairs of numbers (the reason
        says which); ring validity is :func:`validity_problems`' business.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err.msg} at character {err.pos})") from None
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry")
    kind = data.get("type") if isinstance(data, dict) else None
    if kind not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"type {kind!r} is not Polygon or MultiPolygon")
    coords = data.get("coordinates")
    polys = [coords] if kind == "Polygon" else coords
    try:
        rings = [[_positions(ring) for ring in poly] for poly in polys]
    except (TypeError, ValueError):
        raise ValueError("coordinates are not rings of [lon, lat] positions") from None
    if not rings or not all(rings):
        raise ValueError("a polygon without rings")
    return {"type": kind, "coordinates": rings[0] if kind == "Polygon" else rings}


def _positions(ring: Any) -> list[list[float]]:
    arr = np.asarray(ring, dtype="float64")
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError("not a list of positions")
    return arr[:, :2].tolist()


def ellipse_polygon(
    lon_deg: float, lat_deg: float, area_m2: float, axis_ratio: float, bearing_deg: float
) -> dict:
    """A 24-sided ellipse Polygon of ``area_m2`` centred on a lon/lat point, its long axis
    ``axis_ratio`` times the short one and turned ``bearing_deg`` clockwise from north: a
    plausible synthetic outline (demo sites); its :func:`ring_area_m2` is ``area_m2`` up to the
    rounding of the positions to 6 decimals (0.1 m)."""
    t = np.linspace(0.0, 2 * np.pi, 25)
    b = np.sqrt(area_m2 / (np.pi * axis_ratio))
    along, across = axis_ratio * b * np.cos(t), b * np.sin(t)
    turn = np.radians(bearing_deg)
    north = along * np.cos(turn) - across * np.sin(turn)
    east = along * np.sin(turn) + across * np.cos(turn)
    metres_per_deg = np.radians(1.0) * AUTHALIC_RADIUS_M
    dlon = east / (metres_per_deg * np.cos(np.radians(lat_deg)))
    dlat = north / metres_per_deg
    scale = np.sqrt(area_m2 / ring_area_m2(lon_deg + dlon, lat_deg + dlat))
    ring = np.column_stack([lon_deg + scale * dlon, lat_deg + scale * dlat]).round(6)
    ring[-1] = ring[0]
    return {"type": "Polygon", "coordinates": [ring.tolist()]}


def random_points_in(
    geometry: dict, n: int, rng: np.random.Generator, *, max_rounds: int = 50
) -> np.ndarray:
    """``n`` uniformly random lon/lat points inside a (Multi)Polygon, shape (n, 2).

    Rejection sampling in the bounding box (uniform in degrees, which at city scale is uniform
    in area to within cos(latitude) across the box). For synthetic positions (demo city) that
    must fall inside their district.
    """
    rings = [ring for rings in polygons(geometry) for ring in rings[:1]]
    pts = np.concatenate(rings)
    west, south = pts.min(axis=0)
    east, north = pts.max(axis=0)
    out = np.empty((0, 2))
    for _ in range(max_rounds):
        if len(out) >= n:
            break
        k = max(2 * (n - len(out)), 16)
        cand = np.column_stack([rng.uniform(west, east, k), rng.uniform(south, north, k)])
        out = np.vstack([out, cand[contains(geometry, cand[:, 0], cand[:, 1])]])
    if len(out) < n:
        raise InputError("could not place points inside the polygon (is it empty?)")
    return out[:n]
