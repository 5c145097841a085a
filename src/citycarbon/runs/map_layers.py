"""Map layers of the electricity-carbon eco map (电碳生态地图): districts, parks, enterprises and
grid nodes with their energy, electricity and CO2 per period, precomputed once per results run.

A computation on request (district areas and the district of each enterprise from the
boundaries, metered electricity aggregated from the readings, intensities), kept in memory
and on disk; the faces (map pages, ``citycarbon map``) call it.

Everything the map pages ask for is cut from a :class:`MapData` built once per (lake, results
runs, committed meter batches) and kept in memory; the day-level meter aggregates are also kept
on disk (``$CITYCARBON_HOME/cache/map/``) so a restarted server does not rescan the readings.

Sources
-------
- ``enterprise_month_fuel_emissions`` (latest run): energy [tce] and CO2 [t] per enterprise and
  month, scopes 1 and 2, from the 205-1 fuel returns.
- ``enterprise_month_electricity_emissions`` (latest run): the location-based grid factor of each
  year [tCO2/MWh] that run used.
- ``meter_readings`` (committed batches) summed per meter and local calendar day with DuckDB,
  joined to the meter registry: metered electricity [MWh] per grid node, enterprise and district.
- ``city_inventory`` (latest run, when the inventory was run): yearly GHG [tCO2e] of its
  district roll-up (basis incl. net imported electricity).
- The registry (catalog): parks, enterprises (lon/lat, district, park), grid nodes, meters.
- ``blue_carbon_sites`` (ingest kind; optional lon/lat and boundary polygon) and ``city_sinks``
  (latest inventory run): the 蓝碳 layer, one polygon (or point) per site with its annual sink
  per year [tCO2] by pool and the method of each pool.

Periods are ``YYYY`` (a year), ``YYYY-MM`` (a month) or ``YYYY-MM-DD`` (a day: metered
electricity only, the fuel returns being monthly). Who may see what is decided by the caller
(the web access layer) and passed in as a :class:`Scope`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from citycarbon import geo, units
from citycarbon.config import load_city
from citycarbon.config.settings import get_settings
from citycarbon.contract.records import record_text
from citycarbon.contract.results import result as declared
from citycarbon.errors import InputError
from citycarbon.store import catalog, query, results
from citycarbon.store import lake as lake_store

FUEL_RESULT = "enterprise_month_fuel_emissions"
ELECTRICITY_RESULT = "enterprise_month_electricity_emissions"
#: the city GHG inventory (accounting.inventory): its district roll-up, yearly
INVENTORY_RESULT = "city_inventory"
INVENTORY_BASIS = "incl_net_imported_electricity"
NODE_INTENSITY_RESULT = "grid_node_intensity"
#: the carbon sinks of the inventory run: the annual sink of each blue-carbon site
SINKS_RESULT = "city_sinks"
#: the results a cube is built from (a new run of any other result keeps the cube)
MAP_RESULTS = (
    FUEL_RESULT,
    ELECTRICITY_RESULT,
    INVENTORY_RESULT,
    NODE_INTENSITY_RESULT,
    SINKS_RESULT,
)
PERIOD_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
CACHE_TTL_S = 30.0  # how often a served MapData has its inputs checked (in the background)

_lock = threading.RLock()
_cache: dict[tuple, tuple[float, MapData]] = {}
_refreshing: set[tuple] = set()
_build_lock = threading.Lock()


# --------------------------------------------------------------------------- scope, periods
@dataclass(frozen=True)
class Scope:
    """The enterprises a user may see (``None`` = all), as the access layer says.

    Aggregates follow from it, without a role rule here: a district's, park's or grid node's
    total is shown only when the user may see *every* enterprise in it (a district manager sees
    their district's totals; an enterprise user sees their own point and no totals, because a
    total would disclose other enterprises). See :func:`visibility`.
    """

    enterprises: frozenset[str] | None = None


EVERYTHING = Scope()


@dataclass(frozen=True)
class Period:
    """A map period: a year, a month or a day (``kind`` 'year' | 'month' | 'day')."""

    text: str
    kind: str
    year: int
    month: int | None = None
    day: int | None = None


def parse_period(text: str) -> Period:
    """``'2024'`` | ``'2024-06'`` | ``'2024-06-15'`` → :class:`Period`; anything else → InputError."""
    m = PERIOD_RE.match(str(text).strip())
    if not m:
        raise InputError("period must be YYYY, YYYY-MM or YYYY-MM-DD", field="period", value=text)
    year, month, day = (int(g) if g else None for g in m.groups())
    if month is not None and not 1 <= month <= 12:
        raise InputError("month must be 01-12", field="period", value=text)
    if day is not None:
        try:
            pd.Timestamp(year=year, month=month, day=day)
        except ValueError:
            raise InputError("no such day", field="period", value=text) from None
    kind = "day" if day else "month" if month else "year"
    return Period(str(text).strip(), kind, year, month, day)


# --------------------------------------------------------------------------- the precomputed cube
@dataclass
class MapData:
    """Everything the map serves, precomputed (see the module docstring)."""

    boundaries: dict
    districts: pd.DataFrame  # code, name_zh, name_en, area_km2, cp_lon, cp_lat
    parks: pd.DataFrame  # code, name_zh, name_en, district_code, lon, lat, enterprises
    enterprises: pd.DataFrame  # credit_code (index), name, industry, district, park, lon, lat, ...
    nodes: pd.DataFrame  # node_id (index), name, district_code, voltage_kv, lon, lat, meters
    #: per period text ('2024', '2024-06') -> frame indexed by enterprise_code
    enterprise_periods: dict[str, pd.DataFrame]
    #: per period text -> frame indexed by district code / park code / node id
    district_periods: dict[str, pd.DataFrame]
    park_periods: dict[str, pd.DataFrame]
    node_periods: dict[str, pd.DataFrame]
    #: day-level metered electricity: day text -> frames (enterprise / node / district)
    enterprise_days: Mapping[str, pd.DataFrame]
    node_days: Mapping[str, pd.DataFrame]
    district_days: Mapping[str, pd.DataFrame]
    months: list[str]
    days: list[str]
    grid_ef_tco2_per_mwh: dict[int, float]
    provenance: dict[str, Any] = field(default_factory=dict)
    #: (grid node, enterprise) pairs of the meter registry
    node_enterprises: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: nodal carbon intensity per (node_id, period 'YYYY' | 'YYYY-MM') when computed
    node_intensity: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: blue-carbon sites per year: site_id, year, site_name, ecosystem, area_ha, lon, lat,
    #: geometry (GeoJSON dict or None), co2_t (the annual sink, negative = removal),
    #: sediment_co2_t, vegetation_co2_t, tier, method
    blue_carbon: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: enterprise point rows per period, built on first use (every enterprise, unscoped)
    _rows: dict[str, list[list]] = field(default_factory=dict, repr=False)
    _visibility: dict[frozenset[str], Visibility] = field(default_factory=dict, repr=False)

    @property
    def years(self) -> list[str]:
        return sorted({m[:4] for m in self.months})


@dataclass(frozen=True)
class Visibility:
    """Codes whose totals a scope may see (``None`` = all)."""

    districts: frozenset[str] | None
    parks: frozenset[str] | None
    nodes: frozenset[str] | None


def visibility(data: MapData, scope: Scope) -> Visibility:
    """Which aggregates a scope may see: those all of whose enterprises it may see.

    A district or park with no enterprise is shown to everyone who sees some enterprise in its
    district (there is nothing to disclose) — not to a user who sees none. A grid node counts
    the enterprises metered behind it; a node with no meter follows its district.
    """
    if scope.enterprises is None:
        return Visibility(None, None, None)
    hit = data._visibility.get(scope.enterprises)
    if hit is not None:
        return hit
    ent = data.enterprises
    seen = pd.Series(ent.index.isin(list(scope.enterprises)), index=ent.index)

    def complete(keys: pd.Series) -> set[str]:
        ok = seen.reindex(keys.index).groupby(keys.to_numpy()).agg(["all", "any"])
        return set(ok.index[ok["all"] & ok["any"]])

    seen_districts = set(ent.loc[seen.to_numpy(), "district_code"])
    districts = complete(ent["district_code"])
    districts |= {d for d in data.districts.index if d in seen_districts} - set(
        ent["district_code"]
    )
    parks = complete(ent["park_code"].dropna())
    empty_parks = set(data.parks.index) - set(ent["park_code"].dropna())
    parks |= {c for c in empty_parks if data.parks.at[c, "district_code"] in districts}
    pairs = data.node_enterprises
    nodes: set[str] = set()
    if len(pairs):
        ok = seen.reindex(pairs["enterprise_code"]).fillna(False).to_numpy()
        agg = pd.Series(ok).groupby(pairs["grid_node_id"].to_numpy()).all()
        nodes = set(agg.index[agg.to_numpy()])
    metered = set(pairs["grid_node_id"]) if len(pairs) else set()
    nodes |= {
        n for n, d in data.nodes["district_code"].items() if n not in metered and d in districts
    }
    vis = Visibility(frozenset(districts), frozenset(parks), frozenset(nodes))
    with _lock:
        if len(data._visibility) > 256:
            data._visibility.clear()
        data._visibility[scope.enterprises] = vis
    return vis


def _allowed(codes: Any, allowed: frozenset[str] | None) -> np.ndarray:
    codes = np.asarray(list(codes), dtype=object)
    if allowed is None:
        return np.ones(len(codes), dtype=bool)
    return np.isin(codes, list(allowed))


class DayFrames(Mapping[str, pd.DataFrame]):
    """Day text ('2024-06-15') -> values per key that day: slices of one frame sorted by day,
    so building costs one group-by and a lookup is a slice (no frame per day)."""

    def __init__(self, frame: pd.DataFrame, key: str, values: list[str]) -> None:
        if frame.empty:
            self._frame = pd.DataFrame(columns=values)
            self._pos: dict[str, tuple[int, int]] = {}
            return
        grouped = frame.groupby(["day", key], sort=True)[values].sum()
        days = grouped.index.get_level_values("day").to_numpy(dtype="datetime64[D]")
        uniq, start = np.unique(days, return_index=True)
        stop = np.append(start[1:], len(grouped))
        names = np.datetime_as_string(uniq, unit="D")
        self._frame = grouped.droplevel("day")
        self._pos = dict(
            zip(names.tolist(), zip(start.tolist(), stop.tolist(), strict=True), strict=True)
        )

    def __getitem__(self, day: str) -> pd.DataFrame:
        start, stop = self._pos[day]
        return self._frame.iloc[start:stop]

    def __iter__(self) -> Iterator[str]:
        return iter(self._pos)

    def __len__(self) -> int:
        return len(self._pos)


def _current(lake: Path, name: str, columns: list[str]) -> pd.DataFrame | None:
    """The current rows of a declared result (selected columns), None when none computed."""
    decl = declared(name)
    if not results.has(decl, lake=lake):
        return None
    return results.current(decl, columns=columns, lake=lake)


def _inputs_key(settings: Any, cfg: Any) -> tuple:

    lake = Path(settings.lake)
    runs = results.fingerprint(*map(declared, MAP_RESULTS), lake=lake)
    files = catalog.committed_files("meter_readings", url=settings.database_url)
    batches = tuple(sorted({b for b, _ in files}))
    registry = catalog.registry_frame("enterprises", url=settings.database_url)
    reg_sig = (len(registry), int(pd.util.hash_pandas_object(registry, index=False).sum()))
    return (str(lake), settings.database_url, cfg.id, runs, batches, reg_sig)


@overload
def map_data(cfg: Any = None, *, settings: Any = None, wait: bool = False) -> MapData: ...
@overload
def map_data(
    cfg: Any = None, *, settings: Any = None, wait: bool = False, build: Literal[False]
) -> MapData | None: ...
def map_data(
    cfg: Any = None, *, settings: Any = None, wait: bool = False, build: bool = True
) -> MapData | None:
    """The precomputed map data of the current ``CITYCARBON_HOME``.

    Built on first use (synchronously); afterwards served from memory, and every
    :data:`CACHE_TTL_S` seconds a background thread checks whether a new results run, meter
    batch or registry change appeared and swaps in a rebuilt cube (requests never wait for the
    check). ``wait=True`` does the check in the caller's thread (CLI, tests); ``build=False``
    returns None instead of building a first cube (callers that must not block).
    """

    cfg = cfg or load_city()
    settings = settings or get_settings()
    home_key = (str(settings.lake), settings.database_url, cfg.id)
    with _lock:
        hit = _cache.get(home_key)
    if hit is not None:
        if time.monotonic() - hit[0] >= CACHE_TTL_S:
            if wait:
                _refresh(home_key, cfg, settings)
                return _cache[home_key][1]
            with _lock:
                start = home_key not in _refreshing
                _refreshing.add(home_key)
            if start:
                threading.Thread(
                    target=_refresh, args=(home_key, cfg, settings), daemon=True
                ).start()
        return hit[1]
    if not build:
        return None
    with _build_lock:  # one first build at a time; others wait for it
        with _lock:
            hit = _cache.get(home_key)
        if hit is not None:
            return hit[1]
        data = build_map_data(cfg, settings=settings)
        with _lock:
            _cache[home_key] = (time.monotonic(), data)
        return data


def _refresh(home_key: tuple, cfg: Any, settings: Any) -> None:
    """Rebuild a cached cube if its inputs changed (else just restart its TTL)."""
    try:
        with _build_lock:
            key = _inputs_key(settings, cfg)
            with _lock:
                hit = _cache.get(home_key)
            if hit is not None and hit[1].provenance.get("key") == key:
                data = hit[1]
            else:
                data = build_map_data(cfg, settings=settings, key=key)
            with _lock:
                if home_key in _cache or hit is None:
                    _cache[home_key] = (time.monotonic(), data)
    except Exception:
        logging.getLogger(__name__).exception("map data refresh failed")
    finally:
        with _lock:
            _refreshing.discard(home_key)


def clear_cache() -> None:
    """Forget every cached :class:`MapData` (tests, after a recompute)."""
    with _lock:
        _cache.clear()


def _registry(cfg: Any, settings: Any, fc: dict) -> tuple[pd.DataFrame, ...]:

    url = settings.database_url
    ent = catalog.registry_frame("enterprises", url=url).set_index("credit_code")
    parks = catalog.registry_frame("parks", url=url)
    nodes = catalog.registry_frame("grid_nodes", url=url).set_index("node_id")
    meters = catalog.registry_frame("meters", url=url)
    # a point whose position lies outside its registered district is kept but flagged
    ent["located_in"] = geo.district_of_points(fc, ent["lon"], ent["lat"])
    ent["position_ok"] = ent["located_in"] == ent["district_code"]
    parks["enterprises"] = parks["code"].map(ent["park_code"].value_counts()).fillna(0).astype(int)
    nodes["meters"] = nodes.index.map(meters["grid_node_id"].value_counts()).fillna(0).astype(int)
    return ent, parks, nodes, meters


def _per_period(frame: pd.DataFrame, key: str, values: list[str]) -> dict[str, pd.DataFrame]:
    """Sum ``values`` per key and month and per key and year: {'2024-06': df, '2024': df}."""
    out: dict[str, pd.DataFrame] = {}
    if frame.empty:
        return out
    monthly = frame.groupby([key, "year", "month"], sort=True)[values].sum()
    for (year, month), part in monthly.groupby(level=["year", "month"]):
        out[f"{year:04d}-{month:02d}"] = part.droplevel(["year", "month"])
    yearly = frame.groupby([key, "year"], sort=True)[values].sum()
    for year, part in yearly.groupby(level="year"):
        out[f"{year:04d}"] = part.droplevel("year")
    return out


def _fixed_utc_offset_s(timezone: str, years: Iterable[int]) -> int | None:
    """The zone's UTC offset [s] if it is the same all through ``years`` (no daylight saving
    then), else None."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    years = list(years) or [2000]
    stamps = pd.date_range(f"{min(years)}-01-01", f"{max(years)}-12-31", freq="MS", tz="UTC")
    offsets = {zone.utcoffset(ts.to_pydatetime()) for ts in stamps}
    return int(offsets.pop().total_seconds()) if len(offsets) == 1 else None


def _inventory_by_district(lake: Path) -> dict[str, pd.DataFrame]:
    """Yearly GHG [tCO2e] per district from the latest city inventory run (its bottom-up district
    roll-up, basis incl. net imported electricity): {'2024': frame with ghg_tco2e}. Empty when
    the inventory has not been run (or has no district rows)."""
    cols = ["level", "entity_code", "year", "month", "basis", "emissions_tco2e"]
    inv = _current(lake, INVENTORY_RESULT, cols)
    if inv is None:
        return {}
    inv = inv[
        (inv["level"] == "district") & (inv["basis"] == INVENTORY_BASIS) & inv["month"].isna()
    ]
    sums = inv.groupby(["entity_code", "year"])["emissions_tco2e"].sum().rename("ghg_tco2e")
    return {
        f"{int(year):04d}": part.droplevel("year").to_frame()
        for year, part in sums.groupby(level="year")
    }


def _meter_days(settings: Any, cfg: Any, key: tuple) -> pd.DataFrame:
    """kWh per meter and local calendar day (DuckDB over the committed readings), disk-cached."""

    cache_dir = Path(settings.home) / "cache" / "map"
    digest = hashlib.sha1(repr((key[3], key[4])).encode()).hexdigest()[:16]
    name = f"meter_days-{digest}.parquet"
    path = cache_dir / name
    if path.exists():
        return pq.read_table(path).to_pandas()
    files = catalog.committed_files("meter_readings", url=settings.database_url)
    if not files:
        return pd.DataFrame(
            {
                "meter_id": pd.Series([], dtype=object),
                "day": pd.Series([], dtype="datetime64[ns]"),
                "kwh": pd.Series([], dtype="float64"),
            }
        )
    with query.DuckDBEngine() as engine:
        engine.con.execute("SET enable_progress_bar = false")
        info = query.register_lake(engine, settings.lake, {"meter_readings": files})
        offset_s = _fixed_utc_offset_s(cfg.timezone, info["meter_readings"].years)
        if offset_s is not None:  # integer day numbers: 3-4x faster than a time-zone cast
            day = f"(epoch_us(ts) + {offset_s * 1_000_000}) // 86400000000"
        else:  # a zone with daylight saving: ICU converts each reading
            tz = cfg.timezone.replace("'", "")
            day = f"datediff('day', DATE '1970-01-01', CAST(timezone('{tz}', ts) AS DATE))"
        days = engine.sql(
            f"SELECT meter_id, {day} AS day_number, SUM(kwh) AS kwh "
            "FROM current_meter_readings GROUP BY 1, 2 ORDER BY 1, 2"
        )
    days["day"] = pd.to_datetime(days.pop("day_number").astype("int64"), unit="D")
    days = days[["meter_id", "day", "kwh"]]
    cache_dir.mkdir(parents=True, exist_ok=True)
    for old in cache_dir.glob("meter_days-*.parquet"):
        old.unlink(missing_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.Table.from_pandas(days, preserve_index=False), tmp)
    tmp.replace(path)
    return days


def build_map_data(cfg: Any, *, settings: Any, key: tuple | None = None) -> MapData:
    """Build the :class:`MapData` of a city's home (see :func:`map_data`, which caches it)."""
    t0 = time.perf_counter()
    key = key or _inputs_key(settings, cfg)
    lake = Path(settings.lake)
    fc = geo.boundaries(cfg)
    districts = pd.DataFrame(
        {
            "code": [f["properties"]["code"] for f in fc["features"]],
            "name_zh": [f["properties"]["name_zh"] for f in fc["features"]],
            "name_en": [f["properties"]["name_en"] for f in fc["features"]],
            "area_km2": [round(geo.area_km2(f["geometry"]), 1) for f in fc["features"]],
        }
    ).set_index("code")
    ent, parks, nodes, meters = _registry(cfg, settings, fc)

    # monthly energy and CO2 from the fuel returns
    cols = [
        "enterprise_code",
        "year",
        "month",
        "energy_tce",
        "co2_t",
        "scope1_co2_t",
        "scope2_co2_t",
    ]
    fuel = _current(lake, FUEL_RESULT, [*cols, "run_id", "factor_profile"])
    if fuel is None:
        fuel = pd.DataFrame(columns=[*cols, "run_id", "factor_profile"])
    values = ["energy_tce", "co2_t", "scope1_co2_t", "scope2_co2_t"]
    fuel = fuel[fuel["enterprise_code"].isin(ent.index)].copy()
    fuel["district_code"] = fuel["enterprise_code"].map(ent["district_code"])
    fuel["park_code"] = fuel["enterprise_code"].map(ent["park_code"])
    fuel["enterprises"] = 1

    # the location-based grid factor per year, as the electricity run used it
    elec = _current(lake, ELECTRICITY_RESULT, ["year", "grid_ef_tco2_per_mwh", "run_id"])
    grid_ef: dict[int, float] = {}
    if elec is not None:
        grid_ef = elec.groupby("year")["grid_ef_tco2_per_mwh"].max().dropna().to_dict()

    # metered electricity per meter-day -> enterprise / node / district, day and month
    mday = _meter_days(settings, cfg, key)
    by_meter = meters.set_index("meter_id")
    mday["enterprise_code"] = mday["meter_id"].map(by_meter["enterprise_code"])
    mday["grid_node_id"] = mday["meter_id"].map(by_meter["grid_node_id"])
    mwh_per_kwh = units.factor("kWh", "MWh")
    mday["electricity_mwh"] = mday["kwh"] * mwh_per_kwh
    mday["year"] = mday["day"].dt.year
    mday["month"] = mday["day"].dt.month
    ef = mday["year"].map(grid_ef)
    mday["electricity_co2_t"] = mday["electricity_mwh"] * ef
    mday["district_code"] = mday["enterprise_code"].map(ent["district_code"])
    node_district = nodes["district_code"]
    mday["district_code"] = mday["district_code"].fillna(mday["grid_node_id"].map(node_district))
    evals = ["electricity_mwh", "electricity_co2_t"]

    def by_day(key_col: str) -> DayFrames:
        return DayFrames(mday, key_col, evals)

    enterprise_periods = _per_period(fuel, "enterprise_code", values)
    metered_ent = _per_period(mday, "enterprise_code", evals)  # groupby drops NaN keys
    for p, frame in metered_ent.items():
        base = enterprise_periods.get(p, pd.DataFrame(columns=values))
        enterprise_periods[p] = base.join(frame, how="outer")
    district_periods = _per_period(fuel, "district_code", [*values, "enterprises"])
    for year, ghg in _inventory_by_district(lake).items():
        base = district_periods.get(year, pd.DataFrame(columns=values))
        district_periods[year] = base.join(ghg, how="outer")
    metered_d = _per_period(mday, "district_code", evals)
    for p, frame in metered_d.items():
        base = district_periods.get(p, pd.DataFrame(columns=values))
        district_periods[p] = base.join(frame, how="outer")
    park_periods = _per_period(
        fuel.dropna(subset=["park_code"]), "park_code", [*values, "enterprises"]
    )
    node_periods = _per_period(mday, "grid_node_id", evals)
    # the count of reporting enterprises is a count per month, not a sum over months
    for frames, col in ((district_periods, "district_code"), (park_periods, "park_code")):
        counts = fuel.dropna(subset=[col]).groupby([col, "year"])["enterprise_code"].nunique()
        for year, part in counts.groupby(level="year"):
            if f"{year:04d}" in frames:
                frames[f"{year:04d}"]["enterprises"] = part.droplevel("year")

    months = sorted({p for p in [*enterprise_periods, *node_periods] if len(p) == 7})
    enterprise_days = by_day("enterprise_code")
    provenance = {
        "key": key,
        "fuel_run_id": str(fuel["run_id"].iat[0]) if len(fuel) else None,
        "factor_profile": str(fuel["factor_profile"].iat[0]) if len(fuel) else None,
        "electricity_run_id": str(elec["run_id"].iat[0])
        if elec is not None and len(elec)
        else None,
        "meter_days": len(mday),
        "build_s": None,
    }
    data = MapData(
        boundaries=fc,
        districts=districts,
        parks=parks.set_index("code"),
        enterprises=ent,
        nodes=nodes,
        enterprise_periods=enterprise_periods,
        district_periods=district_periods,
        park_periods=park_periods,
        node_periods=node_periods,
        enterprise_days=enterprise_days,
        node_days=by_day("grid_node_id"),
        district_days=by_day("district_code"),
        months=months,
        days=sorted(enterprise_days),
        grid_ef_tco2_per_mwh={int(k): float(v) for k, v in grid_ef.items()},
        provenance=provenance,
        node_enterprises=meters.dropna(subset=["grid_node_id", "enterprise_code"])[
            ["grid_node_id", "enterprise_code"]
        ].drop_duplicates(),
    )
    ni = _current(lake, NODE_INTENSITY_RESULT, ["node_id", "period", NODE_E, "basis", "run_id"])
    if ni is not None:  # carbon emission flow (runs/scope2.py)
        data.node_intensity = ni.set_index(["node_id", "period"])
        provenance["node_intensity_run_id"] = str(ni["run_id"].iat[0]) if len(ni) else None
    data.blue_carbon = _blue_carbon_sites(lake, settings)
    provenance["build_s"] = round(time.perf_counter() - t0, 3)
    return data


def _blue_carbon_sites(lake: Path, settings: Any) -> pd.DataFrame:
    """Each blue-carbon site and year with its boundary and position (``blue_carbon_sites``)
    and its annual sink by pool from ``city_sinks`` (sector 3.B.4, ``source`` = site id) with
    the method of each pool. A site with a boundary and no lon/lat is placed at its label
    point; sites with neither are left out of the layer."""
    sinks = _current(
        lake, SINKS_RESULT, ["year", "sector", "pool", "source", "co2_t", "tier", "method"]
    )
    sites = lake_store.read_current(
        "blue_carbon_sites",
        columns=["site_id", "year", "site_name", "ecosystem", "area_ha", "lon", "lat", "geometry"],
        lake=lake,
        url=settings.database_url,
    )
    if sinks is None or sites.empty:
        return pd.DataFrame()
    blue = sinks[sinks["sector"] == BLUE_CARBON_SECTOR]
    pools = blue.pivot_table(
        index=["source", "year"], columns="pool", values="co2_t", aggfunc="sum"
    ).reindex(columns=["sediment", "vegetation"])
    by_site = blue.sort_values("pool").groupby(["source", "year"])
    per_site = pd.DataFrame(
        {
            "co2_t": pools.sum(axis=1, min_count=1),
            "sediment_co2_t": pools["sediment"],
            "vegetation_co2_t": pools["vegetation"],
            "tier": by_site["tier"].agg(lambda t: "/".join(sorted(set(t)))),
            # the API's text of each pool's method record (a few sites; pages say their own)
            "method": by_site["method"].agg(
                lambda ms: " | ".join(record_text(m, "en") for m in ms)
            ),
        }
    )
    per_site.index = per_site.index.set_names(["site_id", "year"])
    texts = sites["geometry"]
    # each distinct boundary parsed once (a few sites; checked at ingest)
    shapes = {text: geo.parse_polygon(text) for text in texts.dropna().unique()}
    labels = pd.DataFrame(
        [geo.label_point(shape) for shape in shapes.values()],
        index=pd.Index(list(shapes), dtype=object),
        columns=["lon", "lat"],
    ).reindex(texts)
    sites = sites.assign(
        lon=sites["lon"].fillna(pd.Series(labels["lon"].to_numpy(), index=sites.index)),
        lat=sites["lat"].fillna(pd.Series(labels["lat"].to_numpy(), index=sites.index)),
        geometry=texts.map(shapes),
    )
    sites = sites.dropna(subset=["lon", "lat"]).astype({"year": "int64"})
    return sites.merge(per_site.reset_index(), on=["site_id", "year"], how="left")


# --------------------------------------------------------------------------- layers
def _frame(
    frames: Mapping[str, pd.DataFrame], period: Period, days: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    source = days if period.kind == "day" else frames
    return source.get(period.text, pd.DataFrame())


def _num(value: Any) -> float | None:
    """A JSON-safe number: NaN/None -> None, else a float rounded to 4 significant decimals."""
    if value is None:
        return None
    value = float(value)
    return None if not np.isfinite(value) else round(value, 4)


def _col(frame: pd.DataFrame, index: pd.Index, name: str) -> list[float | None]:
    if name not in frame.columns:
        return [None] * len(index)
    values = frame[name].reindex(index).to_numpy(dtype="float64", na_value=np.nan)
    rounded = np.round(values, 4).astype(object)
    rounded[~np.isfinite(values)] = None
    return rounded.tolist()


def check_period(data: MapData, period: Period) -> None:
    """Raise InputError when the data hold nothing for a period (lists what they hold)."""
    known = data.days if period.kind == "day" else data.months
    if period.kind == "year":
        known = data.years
    if period.text not in known:
        span = f"{known[0]} … {known[-1]}" if known else "none"
        raise InputError(
            f"no map data for {period.kind} {period.text} (available: {span})",
            field="period",
            value=period.text,
        )


DISTRICT_VALUES = ("energy_tce", "co2_t", "electricity_mwh", "electricity_co2_t", "ghg_tco2e")


def district_layer(data: MapData, period: Period, scope: Scope = EVERYTHING) -> list[dict]:
    """One row per district: energy [tce], CO2 [t] (fuel returns; month or year), metered
    electricity [MWh] with its CO2 [t] (any period) and the inventory's GHG [tCO2e] (year).
    Values are None outside the scope."""
    check_period(data, period)
    frame = _frame(data.district_periods, period, data.district_days)
    idx = data.districts.index
    visible = _allowed(idx, visibility(data, scope).districts)
    out = []
    cols = {c: _col(frame, idx, c) for c in (*DISTRICT_VALUES, "enterprises")}
    for i, code in enumerate(idx):
        row = {
            "code": code,
            "name_zh": data.districts.at[code, "name_zh"],
            "name_en": data.districts.at[code, "name_en"],
            "area_km2": float(data.districts.at[code, "area_km2"]),
            "visible": bool(visible[i]),
        }
        for c, vals in cols.items():
            row[c] = vals[i] if visible[i] else None
        if row["enterprises"] is not None:
            row["enterprises"] = int(row["enterprises"])
        out.append(row)
    return out


#: District values of the public citizen view (公众视图): metered electricity, its CO2 and the
#: inventory's district roll-up. The sums of reporting enterprises' returns (energy, CO2, how
#: many report) stay off it: in a district with few reporting enterprises they would disclose
#: those enterprises' own figures, which statistics law keeps confidential (统计法 第九条).
PUBLIC_DISTRICT_VALUES = ("electricity_mwh", "electricity_co2_t", "ghg_tco2e")


def public_district_layer(data: MapData, period: Period) -> list[dict]:
    """One row per district for the public view: ``code``, ``name_zh``, ``name_en``,
    ``area_km2``, ``visible`` (always true: every district's totals are public) and
    :data:`PUBLIC_DISTRICT_VALUES` (district aggregates only)."""
    keep = ("code", "name_zh", "name_en", "area_km2", "visible", *PUBLIC_DISTRICT_VALUES)
    return [{k: row[k] for k in keep} for row in district_layer(data, period)]


def public_periods(data: MapData) -> dict:
    """The years and months the public map can show and the grid factor of each year (no
    days, no run provenance)."""
    return {
        "years": data.years,
        "months": data.months,
        "days": None,
        "grid_ef_tco2_per_mwh": {str(k): v for k, v in data.grid_ef_tco2_per_mwh.items()},
    }


ENTERPRISE_COLUMNS = [
    "credit_code", "name", "lon", "lat", "district_code", "park_code", "industry_code", "is_key",
    "position_ok", "energy_tce", "co2_t", "electricity_mwh", "electricity_co2_t",
]  # fmt: skip


def _enterprise_rows(data: MapData, period: Period) -> list[list]:
    """Every enterprise's point row for a period (cached on the MapData)."""
    rows = data._rows.get(period.text)
    if rows is not None:
        return rows
    ent = data.enterprises[data.enterprises["lon"].notna() & data.enterprises["lat"].notna()]
    frame = _frame(data.enterprise_periods, period, data.enterprise_days)
    idx = ent.index
    metrics = [_col(frame, idx, c) for c in ENTERPRISE_COLUMNS[9:]]
    park = [p if isinstance(p, str) else None for p in ent["park_code"]]
    base = zip(
        idx, ent["name"], ent["lon"].astype(float), ent["lat"].astype(float),
        ent["district_code"], park, ent["industry_code"], ent["is_key"].astype(bool),
        ent["position_ok"].astype(bool), *metrics, strict=True,
    )  # fmt: skip
    rows = [list(r) for r in base]
    with _lock:
        if len(data._rows) > 64:  # a long scrub through days: keep memory bounded
            data._rows.clear()
        data._rows[period.text] = rows
    return rows


def enterprise_points(data: MapData, period: Period, scope: Scope = EVERYTHING) -> dict:
    """Enterprise points (columnar: ``columns`` + ``rows``), sized on the client by CO2.

    Enterprise users see their own enterprise only; district managers their districts'."""
    check_period(data, period)
    rows = _enterprise_rows(data, period)
    if scope.enterprises is not None:
        rows = [r for r in rows if r[0] in scope.enterprises]
    return {"columns": ENTERPRISE_COLUMNS, "rows": rows}


def park_points(data: MapData, period: Period, scope: Scope = EVERYTHING) -> list[dict]:
    """Park points with their enterprises' totals (aggregates: hidden from enterprise users)."""
    check_period(data, period)
    parks = data.parks[_allowed(data.parks.index, visibility(data, scope).parks)]
    frame = _frame(data.park_periods, period, {})
    energy, co2 = _col(frame, parks.index, "energy_tce"), _col(frame, parks.index, "co2_t")
    return [
        {
            "code": code,
            "name_zh": r.name_zh,
            "name_en": r.name_en,
            "district_code": r.district_code,
            "lon": _num(r.lon),
            "lat": _num(r.lat),
            "enterprises": int(r.enterprises),
            "energy_tce": energy[i],
            "co2_t": co2[i],
        }
        for i, (code, r) in enumerate(parks.iterrows())
    ]


NODE_E = "intensity_tco2_per_mwh"
#: IPCC category of the blue-carbon rows of ``city_sinks`` (coastal wetlands, 3.B.4)
BLUE_CARBON_SECTOR = "3.B.4"


def blue_carbon_points(data: MapData, period: Period, scope: Scope = EVERYTHING) -> list[dict]:
    """Blue-carbon sites (蓝碳) with their boundary (GeoJSON, where given), their annual sink of
    the period's year [tCO2, negative = removal] by pool and its method. The sinks are
    city-wide figures (the 清单 page shows them to city-wide roles only): a scoped user gets no
    sites."""
    if scope.enterprises is not None or data.blue_carbon.empty:
        return []
    year = period.year
    rows = data.blue_carbon[data.blue_carbon["year"] == year]
    return [
        {
            "site_id": r.site_id,
            "site_name": r.site_name,
            "ecosystem": r.ecosystem,
            "area_ha": _num(r.area_ha),
            "lon": _num(r.lon),
            "lat": _num(r.lat),
            "year": year,
            "co2_t": _num(r.co2_t),
            "sediment_co2_t": _num(r.sediment_co2_t),
            "vegetation_co2_t": _num(r.vegetation_co2_t),
            "tier": r.tier if isinstance(r.tier, str) else None,
            "method": r.method if isinstance(r.method, str) else None,
            "geometry": r.geometry if isinstance(r.geometry, dict) else None,
        }
        for r in rows.itertuples()  # a handful of sites
    ]


def _nodal(data: MapData, node_ids: pd.Index, period: Period) -> dict[str, tuple[float, str]]:
    """Node -> (nodal intensity [tCO2/MWh], basis) of the period (a day takes its month's)."""
    ni = data.node_intensity
    if ni.empty:
        return {}
    text = period.text if period.kind != "day" else f"{period.year:04d}-{period.month:02d}"
    out = {}
    for nid in node_ids:  # one lookup per grid node (tens), not bulk data
        if (nid, text) in ni.index:
            row = ni.loc[(nid, text)]
            out[nid] = (float(row[NODE_E]), f"nodal: {row['basis']}")
    return out


def _times(mwh: float | None, intensity: float) -> float | None:
    return None if mwh is None else mwh * intensity


def node_points(data: MapData, period: Period, scope: Scope = EVERYTHING) -> list[dict]:
    """Grid nodes with the metered electricity [MWh] of the meters connected to them and its
    location-based CO2 [t]: with the nodal intensity of the period where ``grid_node_intensity``
    (carbon emission flow) was computed, else the grid factor of the year for every node."""
    check_period(data, period)
    nodes = data.nodes[_allowed(data.nodes.index, visibility(data, scope).nodes)]
    frame = _frame(data.node_periods, period, data.node_days)
    mwh, co2 = (
        _col(frame, nodes.index, "electricity_mwh"),
        _col(frame, nodes.index, "electricity_co2_t"),
    )
    ef = data.grid_ef_tco2_per_mwh.get(period.year)
    nodal = _nodal(data, nodes.index, period)
    return [
        {
            "node_id": nid,
            "name": r["name"],
            "district_code": r["district_code"],
            "voltage_kv": _num(r["voltage_kv"]),
            "lon": _num(r["lon"]),
            "lat": _num(r["lat"]),
            "meters": int(r["meters"]),
            "electricity_mwh": mwh[i],
            "electricity_co2_t": co2[i] if nid not in nodal else _times(mwh[i], nodal[nid][0]),
            "intensity_tco2_per_mwh": nodal[nid][0] if nid in nodal else ef,
            "intensity_basis": nodal[nid][1] if nid in nodal else "grid average (location-based)",
        }
        for i, (nid, r) in enumerate(nodes.iterrows())
    ]


def district_summary(
    data: MapData, code: str, period: Period, scope: Scope = EVERYTHING, *, top: int = 10
) -> dict:
    """A district's totals for a period, its parks, its top emitters and its monthly series."""
    if code not in data.districts.index:
        raise InputError("unknown district", field="code", value=code,
                         suggestions=[f"{c} {n}" for c, n in data.districts["name_zh"].items()])  # fmt: skip
    if not _allowed([code], visibility(data, scope).districts)[0]:
        raise PermissionError(f"district {code} is outside your scope")
    row = next(r for r in district_layer(data, period, scope) if r["code"] == code)
    ents = enterprise_points(data, period, scope)
    cols = ents["columns"]
    i_district = cols.index("district_code")
    i_co2 = cols.index("co2_t")
    mine = [r for r in ents["rows"] if r[i_district] == code and r[i_co2] is not None]
    ranked = sorted(mine, key=lambda r: -r[i_co2])[:top]
    series = []
    for month in data.months:
        frame = data.district_periods.get(month)
        if frame is not None and code in frame.index:
            series.append(
                {
                    "period": month,
                    "energy_tce": _num(frame.at[code, "energy_tce"])
                    if "energy_tce" in frame
                    else None,
                    "co2_t": _num(frame.at[code, "co2_t"]) if "co2_t" in frame else None,
                }
            )
    return {
        **row,
        "period": period.text,
        "parks": [p for p in park_points(data, period, scope) if p["district_code"] == code],
        "top_enterprises": [dict(zip(cols, r, strict=True)) for r in ranked],
        "series": series,
        "enterprises_registered": int((data.enterprises["district_code"] == code).sum()),
        "positions_outside_district": int(
            ((data.enterprises["district_code"] == code) & ~data.enterprises["position_ok"]).sum()
        ),
    }


def park_summary(data: MapData, code: str, period: Period, scope: Scope = EVERYTHING) -> dict:
    """A park's totals for a period and its enterprises (largest CO2 first)."""
    if code not in data.parks.index:
        raise InputError("unknown park", field="code", value=code)
    park = next((p for p in park_points(data, period, scope) if p["code"] == code), None)
    if park is None:
        raise PermissionError(f"park {code} is outside your scope")
    ents = enterprise_points(data, period, scope)
    cols = ents["columns"]
    i_park, i_co2 = cols.index("park_code"), cols.index("co2_t")
    members = sorted((r for r in ents["rows"] if r[i_park] == code), key=lambda r: -(r[i_co2] or 0))
    return {
        **park,
        "period": period.text,
        "members": [dict(zip(cols, r, strict=True)) for r in members],
    }


def periods(data: MapData) -> dict:
    """The periods the map can show and what each kind carries."""
    return {
        "years": data.years,
        "months": data.months,
        "days": {"first": data.days[0], "last": data.days[-1], "count": len(data.days)}
        if data.days
        else None,
        "grid_ef_tco2_per_mwh": {str(k): v for k, v in data.grid_ef_tco2_per_mwh.items()},
        "provenance": {k: v for k, v in data.provenance.items() if k != "key"},
    }
