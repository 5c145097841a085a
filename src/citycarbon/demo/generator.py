"""Deterministic demo city generator (示例城市数据生成器): a synthetic city calibrated to published totals.

The generator writes the demo files of the data contract (``parks.csv``, ``enterprises.csv``,
``grid_nodes.csv``, ``meters.csv``, ``energy_monthly.parquet``, ``meter_readings.parquet``,
``city_statistics.csv``, ``industrial_output.csv``, ``green_electricity.csv``,
``enterprise_value_added.csv``, ``energy_balance.csv``) with canonical
columns, ready to go through the real ingest path. Districts come from the city configuration;
every number that is specific to the city (published totals, industry mix, parks, load shapes,
assumptions) comes from ``calibration/<city id>.yaml`` — nothing city-specific lives in code.

Everything at enterprise level is synthetic: names say so (``示例企业0001（合成）``). The city
totals of ``city_statistics`` follow the published figures of the calibration file, and the
enterprises' electricity adds up to ``coverage_electricity`` x the city's 全社会用电量 (scaled by
``enterprises / reference_enterprises``).

Output is a pure function of the arguments: the same seed gives the same bytes. Random numbers
come from independent streams keyed by purpose (``numpy.random.SeedSequence``), so one table
does not shift when another grows. Readings are generated month by month and meter chunk by
meter chunk and streamed to Parquet row groups, so memory stays bounded (10,000 meters x 1 year
of hourly readings = 87.6 M rows).

Conventions
-----------
- Months are calendar months in the city's local time zone (``timezone`` of the city config).
  ``meter_readings.ts`` is UTC (µs) and marks the *start* of the interval; a month's readings are
  those whose local start time falls in the month.
- For every enterprise with meters, the month's readings of all its meters sum to its
  ``energy_monthly`` electricity ``consumed_total`` x (1 + d), |d| <= ``meter_accuracy`` (0.5%),
  plus at most half a Wh of rounding per reading.
- Stocks: ``closing_stock = opening_stock + purchased - consumed_total`` on every row; fuels that
  cannot be stored (electricity, heat, pipeline gas) have zero stocks and purchased = consumed.

References
----------
[1] GB 32100-2015 法人和其他组织统一社会信用代码编码规则 (credit code and its check character).
[2] GB 11714-1997 全国组织机构代码编制规则 (organisation code check character, positions 9-17).
[3] GB/T 4754-2017 国民经济行业分类 (industry classes).
[4] GB/T 2260 中华人民共和国行政区划代码 (district codes).
[5] 国家统计局 205-1表 工业企业能源购进、消费与库存 (layout of energy_monthly).
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from citycarbon import geo, units
from citycarbon.accounting.balance import balance_items, item_of_industry
from citycarbon.accounting.energy import energy_consumption_tce
from citycarbon.config import CityConfig, as_city
from citycarbon.contract.codes import CHARSET, WEIGHTS
from citycarbon.contract.inputs import SCHEMAS
from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.factors import fuels

CALIBRATION_DIR = Path(__file__).parent / "calibration"

#: Reading intervals by name (pandas frequency); "none" writes no readings.
READINGS: dict[str, str | None] = {"hourly": "1h", "15min": "15min", "daily": "1D", "none": None}

#: Upper bound of rows generated and written at once (one Parquet row group).
ROWS_PER_CHUNK = 2_000_000

#: Columns of the demo files: the output columns the ingest schemas declare for each kind.
COLUMNS: dict[str, list[str]] = {
    kind: [c.name for c in schema.columns if c.output] for kind, schema in SCHEMAS.items()
}

#: Weights of GB 11714-1997 for the 8-character organisation code body (check = position 9).
ORG_CODE_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)

_DECIMALS = 4  # quantities in energy_monthly and the other tables
_INDUSTRY_CODE = re.compile(r"^[A-T]\d{4}$")


# --------------------------------------------------------------------------------------------
# calibration file and random streams
# --------------------------------------------------------------------------------------------


def calibration_path(city_id: str) -> Path:
    """Path of the calibration file of a city: ``calibration/<city id>.yaml`` beside this module."""
    return CALIBRATION_DIR / f"{city_id}.yaml"


def load_calibration(city_id: str) -> dict:
    """Load and check the calibration file of a city.

    Raises
    ------
    InputError
        If the file is missing, or a published/assumption reference, fuel or industry code in it
        is unknown.
    """
    path = calibration_path(city_id)
    if not path.exists():
        known = sorted(p.stem for p in CALIBRATION_DIR.glob("*.yaml"))
        raise InputError(
            f"no demo calibration for city {city_id!r} (cities with one: {known}); "
            f"write {path.name} like xiamen.yaml",
            source=str(path),
        )
    cal = yaml.safe_load(path.read_text("utf-8"))
    fuel_codes = set(fuels().index)
    for row, ind in enumerate(cal["industries"]):
        if not _INDUSTRY_CODE.match(str(ind["code"])):
            raise InputError(
                "industry code must be a GB/T 4754-2017 class like 'C3974'",
                source=str(path),
                row=row,
                field="industries.code",
                value=ind["code"],
            )
        for f in [*ind.get("fuels", {}), *ind.get("feedstock", {})]:
            if f not in fuel_codes:
                raise UnknownCodeError(
                    "fuel", f, fuel_codes, source=str(path), row=row, field="industries.fuels"
                )
    ids = [p["id"] for p in cal["published"]]
    if len(ids) != len(set(ids)):
        raise InputError("published ids must be unique", source=str(path), field="published.id")
    return cal


def _rng(seed: int, *keys: int | str) -> np.random.Generator:
    """An independent random stream for ``seed`` and a purpose (strings hashed with CRC-32)."""
    ints = [k if isinstance(k, int) else zlib.crc32(k.encode("utf-8")) for k in keys]
    return np.random.default_rng(np.random.SeedSequence([int(seed), *ints]))


def _assumption(cal: dict, name: str):
    try:
        return cal["assumptions"][name]["value"]
    except KeyError:
        raise InputError(
            f"assumption {name!r} is missing", source=cal.get("city"), field=f"assumptions.{name}"
        ) from None


def _published(cal: dict) -> pd.DataFrame:
    table = pd.DataFrame(cal["published"])
    table["price_basis"] = table.get("price_basis", pd.Series(dtype=object)).fillna("")
    return table


def largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integer counts proportional to ``weights`` that add up to ``total`` (Hamilton's method)."""
    weights = np.asarray(weights, dtype="float64")
    quota = weights / weights.sum() * total
    counts = np.floor(quota).astype(np.int64)
    rest = total - counts.sum()
    order = np.argsort(-(quota - counts), kind="stable")
    counts[order[:rest]] += 1
    return counts


# --------------------------------------------------------------------------------------------
# identifiers
# --------------------------------------------------------------------------------------------


def credit_codes(district_codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unique synthetic 统一社会信用代码 with valid check characters, vectorised.

    Layout (GB 32100-2015): ``9`` (registered by market regulation) ``1`` (enterprise), the
    6-digit division code of the registering district, a 9-character organisation code
    ``MA`` + 6 random characters + its GB 11714 check character, then the GB 32100 check
    character C18 = 31 − MOD(Σ Ci·Wi, 31) (31 written 0).

    Parameters
    ----------
    district_codes : array of str
        GB/T 2260 six-digit district code per enterprise.
    rng : numpy.random.Generator
        Random stream for the serial part.

    Returns
    -------
    numpy.ndarray of str
        One 18-character code per input row.

    References
    ----------
    [1] GB 32100-2015, 4.1 and the check character formula.
    [2] GB 11714-1997, check character C9 = 11 − MOD(Σ Ci·Wi, 11), Wi = 3,7,9,10,5,8,4,2
        (10 written X, 11 written 0).
    """
    n = len(district_codes)
    charset = np.frombuffer(CHARSET.encode("ascii"), dtype=np.uint8)
    serial = rng.choice(len(CHARSET) ** 6, size=n, replace=False)
    digits = serial[:, None] // (len(CHARSET) ** np.arange(5, -1, -1)) % len(CHARSET)
    chars = np.empty((n, 18), dtype=np.uint8)
    chars[:, 0] = ord("9")
    chars[:, 1] = ord("1")
    district = np.array([str(d) for d in district_codes], dtype="S6")
    chars[:, 2:8] = district.view(np.uint8).reshape(n, 6)
    chars[:, 8] = ord("M")
    chars[:, 9] = ord("A")
    chars[:, 10:16] = charset[digits]
    # GB 11714: digits count their value, letters A..Z count 10..35
    body = chars[:, 8:16].astype(np.int64)
    org_values = np.where(body <= ord("9"), body - ord("0"), body - ord("A") + 10)
    org_check = 11 - (org_values @ ORG_CODE_WEIGHTS) % 11
    chars[:, 16] = np.where(
        org_check == 10, ord("X"), np.where(org_check == 11, ord("0"), org_check + ord("0"))
    )
    value_of = np.full(256, -1, dtype=np.int64)
    value_of[charset] = np.arange(len(CHARSET))
    total = value_of[chars[:, :17]] @ WEIGHTS
    chars[:, 17] = charset[(len(CHARSET) - total % len(CHARSET)) % len(CHARSET)]
    return chars.view("S18").ravel().astype(str)


# --------------------------------------------------------------------------------------------
# the in-memory city
# --------------------------------------------------------------------------------------------


@dataclass
class DemoCity:
    """All demo tables but the meter readings, plus the arrays the readings are built from.

    Array attributes are indexed like ``enterprises`` (rows) and ``periods`` (columns).
    """

    city: CityConfig
    calibration: dict
    seed: int
    years: list[int]
    periods: pd.DatetimeIndex
    parks: pd.DataFrame
    enterprises: pd.DataFrame
    grid_nodes: pd.DataFrame
    meters: pd.DataFrame
    energy_monthly: pd.DataFrame
    city_statistics: pd.DataFrame
    industrial_output: pd.DataFrame
    green_electricity: pd.DataFrame
    targets: pd.DataFrame
    electricity_10k_kwh: np.ndarray  # (enterprises, months)
    meter_enterprise: np.ndarray  # enterprise row of each meter
    meter_share: np.ndarray  # meter's share of its enterprise's electricity
    meter_profile: np.ndarray  # load-profile index of each meter
    meter_deviation: np.ndarray  # (enterprises, months) d of the meter sums
    profile_names: list[str] = field(default_factory=list)
    energy_balance: pd.DataFrame = field(default_factory=pd.DataFrame)  # issue 5
    city_monthly_statistics: pd.DataFrame = field(default_factory=pd.DataFrame)
    enterprise_offsets: pd.DataFrame = field(default_factory=pd.DataFrame)
    subsidy_applications: pd.DataFrame = field(default_factory=pd.DataFrame)
    enterprise_value_added: pd.DataFrame = field(default_factory=pd.DataFrame)  # issue 16
    #: waste and sinks (issue 15): waste_disposal, wastewater, land_carbon, blue_carbon_sites,
    #: mariculture
    waste_and_sinks: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: transport fuel by mode (issue 15), the balance's 交通运输 fuel split (assumptions)
    transport_fuel: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the green project reserve (issues 18 and 16), synthetic 示例 projects
    green_projects: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: agriculture and fugitive activity (issue 15): agriculture, fugitive_activity
    agriculture_and_fugitive: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: the city's statistical-yearbook series before and through the demo years (issue 18)
    yearbook_series: pd.DataFrame = field(default_factory=pd.DataFrame)


def build_city(
    city: str | Path | CityConfig | None = None,
    *,
    seed: int = 20261123,
    enterprises: int = 3000,
    meters: int | None = None,
    years: int = 3,
    end_year: int = 2024,
) -> DemoCity:
    """Build every demo table in memory except the meter readings (cheap at default size).

    Parameters
    ----------
    city : str, Path, CityConfig or None
        City name or config path (default: ``$CITYCARBON_CITY`` or xiamen).
    seed : int
        Random seed; the same seed gives the same tables.
    enterprises : int
        Number of synthetic enterprises (>= 1).
    meters : int or None
        Number of meters; None gives 1-4 meters per key enterprise.
    years : int
        Number of calendar years, ending with ``end_year``.
    end_year : int
        Last year of data.

    Returns
    -------
    DemoCity
    """
    if enterprises < 1 or years < 1 or (meters is not None and meters < 0):
        raise InputError(
            "enterprises and years must be >= 1 and meters >= 0", value=(enterprises, years, meters)
        )
    cfg = as_city(city)
    cal = load_calibration(cfg.id)
    missing = [d.code for d in cfg.districts if d.code not in cal["districts"]]
    if missing:
        raise InputError(
            "districts of the city config are missing from the calibration file",
            source=str(calibration_path(cfg.id)),
            field="districts",
            value=missing,
        )
    year_list = list(range(end_year - years + 1, end_year + 1))
    periods = pd.date_range(f"{year_list[0]}-01-01", periods=12 * years, freq="MS")

    parks = _parks(cal, cfg)
    ent, ind = _enterprises(cal, cfg, enterprises, seed)
    targets = electricity_targets(cal, cfg, year_list, enterprises)
    elec_year = _annual_electricity(ind, ent, targets, seed)
    elec = _monthly(cal, ind, ent, elec_year, periods, seed)
    ent["is_key"] = _key_enterprises(cal, ind, ent, elec)
    nodes = _grid_nodes(cal, cfg, seed)
    meter_table, meter_ent, meter_share = _meters(cal, cfg, ent, elec, nodes, meters, seed)
    profile_names = list(cal["load_profiles"])
    meter_profile = np.array([profile_names.index(p) for p in ind["profile"]])[
        ent["industry_row"].to_numpy()
    ][meter_ent]
    accuracy = float(_assumption(cal, "meter_accuracy"))
    deviation = _rng(seed, "meter_deviation").uniform(-accuracy, accuracy, size=elec.shape)
    energy = _energy_monthly(cal, ind, ent, elec, periods, seed)
    stats = _city_statistics(cal, cfg, year_list, ent, elec)
    output = _industrial_output(cal, ind, ent, elec, periods, seed)
    green = _green_electricity(cal, ind, ent, elec, periods, seed)
    value_added = _value_added(cal, ind, ent, elec, periods, seed)
    balance = _energy_balance(cal, cfg, ent, energy, stats, year_list)
    monthly_stats = _city_monthly_statistics(cfg, stats, balance, elec, periods)
    offsets = _enterprise_offsets(ent, elec, periods)
    return DemoCity(
        city=cfg,
        calibration=cal,
        seed=seed,
        years=year_list,
        periods=periods,
        parks=parks,
        enterprises=ent[COLUMNS["enterprises"]].copy(),
        grid_nodes=nodes,
        meters=meter_table,
        energy_monthly=energy,
        city_statistics=stats,
        industrial_output=output,
        green_electricity=green,
        targets=targets,
        electricity_10k_kwh=elec,
        meter_enterprise=meter_ent,
        meter_share=meter_share,
        meter_profile=meter_profile,
        meter_deviation=deviation,
        profile_names=profile_names,
        energy_balance=balance,
        city_monthly_statistics=monthly_stats,
        enterprise_offsets=offsets,
        subsidy_applications=_subsidy_applications(ent, periods),
        enterprise_value_added=value_added,
        waste_and_sinks=waste_and_sinks(cal, cfg, year_list, stats),
        transport_fuel=transport_by_mode(cal, balance),
        green_projects=_green_projects(cal, cfg, ent, elec, seed),
        agriculture_and_fugitive=agriculture_and_fugitive(cal, cfg, year_list),
        yearbook_series=yearbook_series(cal, cfg, year_list),
    )


def generate_city(
    out_dir: str | Path,
    *,
    city: str | Path | CityConfig | None = None,
    seed: int = 20261123,
    enterprises: int = 3000,
    meters: int | None = None,
    years: int = 3,
    end_year: int = 2024,
    readings: str = "hourly",
) -> dict[str, Path]:
    """Write the demo city files to ``out_dir``; deterministic for a seed (same bytes).

    Parameters
    ----------
    out_dir : str or Path
        Directory to write to (created if missing; files of the same name are replaced).
    city, seed, enterprises, meters, years, end_year
        See :func:`build_city`. ``meters=10000, years=1`` is the benchmark scale
        (87.6 M hourly readings).
    readings : {"hourly", "15min", "daily", "none"}
        Interval of ``meter_readings.parquet``; "none" skips the file.

    Returns
    -------
    dict of str to Path
        Table name (``parks``, ``enterprises``, ..., ``meter_readings``) to the file written.
    """
    if readings not in READINGS:
        raise InputError(
            f"readings must be one of {list(READINGS)}", field="readings", value=readings
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    demo = build_city(
        city, seed=seed, enterprises=enterprises, meters=meters, years=years, end_year=end_year
    )
    paths: dict[str, Path] = {}
    for name in ("parks", "enterprises", "grid_nodes", "meters"):
        paths[name] = _write_csv(getattr(demo, name), out / f"{name}.csv")
    paths["energy_monthly"] = _write_energy_parquet(
        demo.energy_monthly, out / "energy_monthly.parquet"
    )
    if READINGS[readings] is not None:
        paths["meter_readings"] = write_meter_readings(
            demo, out / "meter_readings.parquet", readings=readings
        )
    for name in (
        "city_statistics",
        "city_monthly_statistics",
        "industrial_output",
        "green_electricity",
        "enterprise_value_added",
        "enterprise_offsets",
        "subsidy_applications",
        "energy_balance",
        "yearbook_series",
    ):
        paths[name] = _write_csv(getattr(demo, name), out / f"{name}.csv")
    for name, table in {**demo.waste_and_sinks, **demo.agriculture_and_fugitive}.items():
        paths[name] = _write_csv(table, out / f"{name}.csv")
    if not demo.transport_fuel.empty:
        paths["transport_fuel"] = _write_csv(demo.transport_fuel, out / "transport_fuel.csv")
    if not demo.green_projects.empty:
        paths["green_projects"] = _write_csv(demo.green_projects, out / "green_projects.csv")
    return paths


# --------------------------------------------------------------------------------------------
# registry: parks, enterprises, grid nodes, meters
# --------------------------------------------------------------------------------------------


def _parks(cal: dict, cfg: CityConfig) -> pd.DataFrame:
    parks = pd.DataFrame(cal["parks"]).rename(columns={"district": "district_code"})
    districts = {d.code for d in cfg.districts}
    bad = ~parks["district_code"].isin(districts)
    if bad.any():
        raise InputError(
            "park district is not a district of the city",
            source=str(calibration_path(cfg.id)),
            field="parks.district",
            value=parks.loc[bad, "district_code"].iloc[0],
        )
    return parks[COLUMNS["parks"]].reset_index(drop=True)


def _industries(cal: dict) -> pd.DataFrame:
    ind = pd.DataFrame(cal["industries"])
    ind["weight"] = ind["weight"] / ind["weight"].sum()
    return ind


def _positions(cfg: CityConfig, district: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random lon/lat inside each point's district, from the city's packaged boundaries
    (citycarbon.geo), shape (n, 2)."""

    shapes = {f["properties"]["code"]: f["geometry"] for f in geo.boundaries(cfg)["features"]}
    out = np.empty((len(district), 2))
    for code in np.unique(district):  # a handful of districts
        rows = np.flatnonzero(district == code)
        out[rows] = geo.random_points_in(shapes[code], len(rows), rng)
    return out


def _enterprises(
    cal: dict, cfg: CityConfig, n: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Enterprises with industry, district, park, position and a relative size (electricity)."""
    ind = _industries(cal)
    counts = largest_remainder(ind["weight"].to_numpy(), n)
    rng = _rng(seed, "enterprises")
    industry_row = rng.permutation(np.repeat(np.arange(len(ind)), counts))
    # electricity share of each industry present, spread over its firms by log-normal sizes
    present = counts > 0
    share = np.where(present, ind["electricity"].to_numpy(), 0.0)
    share = share / share.sum()
    sigma = ind["sigma"].to_numpy()[industry_row]
    size = rng.lognormal(0.0, sigma)
    size_sum = np.bincount(industry_row, weights=size, minlength=len(ind))
    relative = share[industry_row] * size / size_sum[industry_row]

    # parks: industries that list parks put `park_share` of their firms into one of them
    parks = {p["code"]: p for p in cal["parks"]}
    park_share = float(_assumption(cal, "park_share"))
    in_park = rng.random(n) < park_share
    park_code = np.full(n, None, dtype=object)
    for k, row in ind.iterrows():  # loop over industries
        members = np.flatnonzero((industry_row == k) & in_park)
        if row["parks"] and len(members):
            park_code[members] = np.array(row["parks"], dtype=object)[
                rng.integers(0, len(row["parks"]), len(members))
            ]
    has_park = park_code != None  # noqa: E711 (element-wise comparison)
    district_codes = np.array([d.code for d in cfg.districts])
    weights = np.array([cal["districts"][c]["enterprise_weight"] for c in district_codes])
    district = district_codes[rng.choice(len(district_codes), size=n, p=weights / weights.sum())]
    district[has_park] = [parks[c]["district"] for c in park_code[has_park]]
    # anywhere in the district; park firms near their park's centre (when that stays inside)
    lon, lat = _positions(cfg, district, rng).T
    park_lon = np.array([parks[c]["lon"] if c else np.nan for c in park_code])
    park_lat = np.array([parks[c]["lat"] if c else np.nan for c in park_code])
    jitter = rng.normal(0.0, 0.006, size=(n, 2))
    near_lon, near_lat = park_lon + jitter[:, 0], park_lat + jitter[:, 1]

    found = geo.district_of_points(geo.boundaries(cfg), near_lon, near_lat)
    near = has_park & (found == district)
    lon = np.where(near, near_lon, lon)
    lat = np.where(near, near_lat, lat)

    width = max(4, len(str(n)))
    number = np.char.zfill(np.arange(1, n + 1).astype(str), width)
    ent = pd.DataFrame(
        {
            "credit_code": credit_codes(district, _rng(seed, "credit_codes")),
            "name": np.char.add(np.char.add("示例企业", number), "（合成）"),
            "industry_code": ind["code"].to_numpy()[industry_row],
            "district_code": district,
            "park_code": park_code,
            "lon": np.round(lon, 6),
            "lat": np.round(lat, 6),
            "is_key": False,
            "industry_row": industry_row,
            "relative_size": relative,
            "industrial": ind["industrial"].to_numpy(dtype=bool)[industry_row],
        }
    )
    return ent, ind


def _green_projects(
    cal: dict, cfg: CityConfig, ent: pd.DataFrame, elec: np.ndarray, seed: int
) -> pd.DataFrame:
    """The synthetic projects of the calibration's ``green_projects`` (all assumptions): the
    owner is the enterprise of ``owner_rank`` by electricity use in the project's district,
    the position a random point inside the district."""
    spec = cal.get("green_projects")
    if not spec:
        return pd.DataFrame(columns=COLUMNS["green_projects"])
    projects = pd.DataFrame(spec).rename(columns={"district": "district_code"})
    ranked = ent.assign(kwh=elec.sum(axis=1)).sort_values(
        ["district_code", "kwh"], ascending=[True, False]
    )
    ranked["owner_rank"] = ranked.groupby("district_code").cumcount()
    owners = ranked[["district_code", "owner_rank", "credit_code", "name"]]
    projects = projects.merge(owners, on=["district_code", "owner_rank"], how="left")
    projects["owner_code"] = projects["credit_code"]
    projects["owner_name"] = projects["owner_name"].fillna(projects["name_y"])
    projects["name"] = projects["name_x"]
    lon, lat = _positions(cfg, projects["district_code"].to_numpy(), _rng(seed, "projects")).T
    projects["lon"], projects["lat"] = np.round(lon, 6), np.round(lat, 6)
    return projects.reindex(columns=COLUMNS["green_projects"])


def _key_enterprises(
    cal: dict, ind: pd.DataFrame, ent: pd.DataFrame, elec: np.ndarray
) -> np.ndarray:
    """Key energy users (重点用能单位): the largest ``key_share`` by electricity and coal users."""
    share = float(_assumption(cal, "key_share"))
    total = elec.sum(axis=1)
    n_key = max(1, round(share * len(ent)))
    key = np.zeros(len(ent), dtype=bool)
    key[np.argsort(-total, kind="stable")[:n_key]] = True
    coal = np.array(["raw_coal" in (f or {}) for f in ind["fuels"]])
    return key | coal[ent["industry_row"].to_numpy()]


def _grid_nodes(cal: dict, cfg: CityConfig, seed: int) -> pd.DataFrame:
    rng = _rng(seed, "grid_nodes")
    rows = []
    for d in cfg.districts:  # loop over districts and substations (a few dozen rows)
        for kv, count in sorted(cal["grid"]["per_district"].items(), reverse=True):
            for k in range(1, int(count) + 1):
                rows.append(
                    {
                        "node_id": f"GN-{d.code}-{kv}KV-{k}",
                        "name": f"示例{kv}kV变电站 {d.zh}{k}号（合成）",
                        "district_code": d.code,
                        "voltage_kv": float(kv),
                    }
                )
    nodes = pd.DataFrame(rows)
    lon, lat = _positions(cfg, nodes["district_code"].to_numpy(), rng).T
    nodes["lon"], nodes["lat"] = np.round(lon, 6), np.round(lat, 6)
    return nodes[list(COLUMNS["grid_nodes"])]


def _meter_counts(
    cal: dict, ent: pd.DataFrame, total: np.ndarray, meters: int | None
) -> np.ndarray:
    """Meters per enterprise: default 1-4 per key enterprise by size, else ``meters`` in all."""
    n = len(ent)
    order = np.argsort(-total, kind="stable")
    counts = np.zeros(n, dtype=np.int64)
    if meters is None:
        low, high = _assumption(cal, "meters_per_key_enterprise")
        key = np.flatnonzero(ent["is_key"].to_numpy())
        rank = pd.Series(total[key]).rank(pct=True, method="first").to_numpy()
        counts[key] = np.clip(low + np.floor(rank * (high - low + 1)), low, high).astype(np.int64)
    elif meters <= n:
        counts[order[:meters]] = 1
    else:
        counts[:] = 1 + largest_remainder(total, meters - n)
    return counts


def _meters(
    cal: dict,
    cfg: CityConfig,
    ent: pd.DataFrame,
    elec: np.ndarray,
    nodes: pd.DataFrame,
    meters: int | None,
    seed: int,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    total = elec.sum(axis=1)
    counts = _meter_counts(cal, ent, total, meters)
    meter_ent = np.repeat(np.arange(len(ent)), counts)
    rng = _rng(seed, "meters")
    weight = rng.gamma(2.0, size=len(meter_ent))
    share = weight / np.bincount(meter_ent, weights=weight, minlength=len(ent))[meter_ent]
    # connect at the nearest substation of the enterprise's district: 220 kV for the largest 1%
    big = total >= np.quantile(total, 0.99) if len(total) else np.zeros(0, dtype=bool)
    kv = np.where(big[meter_ent], 220.0, 110.0)
    lon = ent["lon"].to_numpy()[meter_ent]
    lat = ent["lat"].to_numpy()[meter_ent]
    dist = np.hypot(
        lon[:, None] - nodes["lon"].to_numpy()[None, :],
        lat[:, None] - nodes["lat"].to_numpy()[None, :],
    )
    allowed = (
        nodes["district_code"].to_numpy()[None, :]
        == ent["district_code"].to_numpy()[meter_ent][:, None]
    ) & (nodes["voltage_kv"].to_numpy()[None, :] == kv[:, None])
    node = np.argmin(np.where(allowed, dist, np.inf), axis=1) if len(meter_ent) else meter_ent
    width = max(7, len(str(len(meter_ent))))
    ids = np.char.add(
        f"{cfg.id.upper()}-M", np.char.zfill(np.arange(1, len(meter_ent) + 1).astype(str), width)
    )
    table = pd.DataFrame(
        {
            "meter_id": ids,
            "enterprise_code": ent["credit_code"].to_numpy()[meter_ent],
            "grid_node_id": nodes["node_id"].to_numpy()[node],
        }
    )
    return table, meter_ent, share


# --------------------------------------------------------------------------------------------
# electricity: calibrated annual totals, monthly series
# --------------------------------------------------------------------------------------------


def electricity_targets(
    cal: dict, cfg: CityConfig, years: list[int], enterprises: int
) -> pd.DataFrame:
    """Annual electricity targets of the synthetic enterprises.

    target = coverage_electricity x city 全社会用电量 x enterprises / reference_enterprises

    Returns
    -------
    pandas.DataFrame
        year, city_electricity_10k_kwh, coverage, scale, enterprises_10k_kwh.
    """
    series = city_series(cal, cfg, years)
    meta, values = series["electricity_consumption"]
    city = units.convert(values, meta["unit"], "10^4 kWh")
    coverage = float(_assumption(cal, "coverage_electricity"))
    scale = enterprises / float(_assumption(cal, "reference_enterprises"))
    return pd.DataFrame(
        {
            "year": years,
            "city_electricity_10k_kwh": city,
            "coverage": coverage,
            "scale": scale,
            "enterprises_10k_kwh": city * coverage * scale,
        }
    )


def _annual_electricity(
    ind: pd.DataFrame, ent: pd.DataFrame, targets: pd.DataFrame, seed: int
) -> np.ndarray:
    """Per enterprise and year [10^4 kWh]: size x growth path, scaled to the year's target."""
    rng = _rng(seed, "growth")
    growth = ind["growth"].to_numpy()[ent["industry_row"].to_numpy()] + rng.normal(
        0.0, 0.04, len(ent)
    )
    steps = np.arange(len(targets))
    raw = ent["relative_size"].to_numpy()[:, None] * (1.0 + growth[:, None]) ** steps[None, :]
    return raw * (targets["enterprises_10k_kwh"].to_numpy() / raw.sum(axis=0))[None, :]


def _month_shares(profile: np.ndarray, periods: pd.DatetimeIndex) -> np.ndarray:
    """Share of each month in its year: factor x days, normalised per year. profile (k, 12)."""
    days = periods.days_in_month.to_numpy()
    raw = profile[:, periods.month.to_numpy() - 1] * days[None, :]
    year = np.repeat(np.arange(len(periods) // 12), 12)
    sums = np.add.reduceat(raw, np.arange(0, len(periods), 12), axis=1)
    return raw / sums[:, year]


def _monthly(
    cal: dict,
    ind: pd.DataFrame,
    ent: pd.DataFrame,
    elec_year: np.ndarray,
    periods: pd.DatetimeIndex,
    seed: int,
) -> np.ndarray:
    """Monthly electricity [10^4 kWh] with seasonality and noise; annual totals preserved."""
    seasons = list(cal["seasonality"])
    profile = np.array([cal["seasonality"][s] for s in seasons], dtype="float64")
    season_row = np.array([seasons.index(s) for s in ind["season"]])[ent["industry_row"].to_numpy()]
    shares = _month_shares(profile, periods)[season_row]
    noise = _rng(seed, "monthly").lognormal(0.0, 0.03, size=shares.shape)
    raw = shares * noise
    year = np.repeat(np.arange(elec_year.shape[1]), 12)
    sums = np.add.reduceat(raw, np.arange(0, raw.shape[1], 12), axis=1)
    return np.round(raw / sums[:, year] * elec_year[:, year], _DECIMALS)


# --------------------------------------------------------------------------------------------
# energy_monthly (205-1)
# --------------------------------------------------------------------------------------------


def _energy_monthly(
    cal: dict,
    ind: pd.DataFrame,
    ent: pd.DataFrame,
    elec: np.ndarray,
    periods: pd.DatetimeIndex,
    seed: int,
) -> pd.DataFrame:
    """Fuel-by-fuel monthly energy purchase, consumption and stocks of every enterprise."""
    rng = _rng(seed, "fuels")
    industry_row = ent["industry_row"].to_numpy()
    pair_ent, pair_fuel, blocks = [np.arange(len(ent))], [np.full(len(ent), "electricity")], [elec]
    for k, row in ind.iterrows():  # loop over industries and their fuels
        members = np.flatnonzero(industry_row == k)
        for fuel, (probability, per_10k_kwh) in sorted((row["fuels"] or {}).items()):
            users = members[rng.random(len(members)) < probability]
            if not len(users):
                continue
            level = rng.lognormal(0.0, 0.3, size=(len(users), 1))
            wiggle = rng.lognormal(0.0, 0.06, size=(len(users), elec.shape[1]))
            blocks.append(np.round(elec[users] * per_10k_kwh * level * wiggle, _DECIMALS))
            pair_ent.append(users)
            pair_fuel.append(np.full(len(users), fuel))
    consumed = np.vstack(blocks)
    e_idx = np.concatenate(pair_ent)
    fuel = np.concatenate(pair_fuel).astype(object)
    order = np.lexsort((fuel.astype(str), e_idx))
    consumed, e_idx, fuel = consumed[order], e_idx[order], fuel[order]

    use = cal["assumptions"]["fuel_use"]
    non_share = pd.Series(fuel).map(use["non_industrial"]).fillna(0.0).to_numpy()[:, None]
    transport_share = pd.Series(fuel).map(use["transport"]).fillna(0.0).to_numpy()[:, None]
    industrial = ent["industrial"].to_numpy()[e_idx][:, None]
    feedstock_share = _feedstock_shares(ind, industry_row[e_idx], fuel)[:, None]
    non_ind = np.where(industrial, np.round(consumed * non_share, _DECIMALS), consumed)
    ind_use = np.round(consumed - non_ind, _DECIMALS)
    feedstock = np.round(ind_use * feedstock_share, _DECIMALS)
    transport = np.round(non_ind * transport_share, _DECIMALS)

    opening, purchased, closing = _stocks(cal, fuel, consumed, rng)
    prices = cal["assumptions"]["prices_cny_per_unit"]
    price = pd.Series(fuel).map(prices).to_numpy(dtype="float64")[:, None]
    value = np.round(units.convert(purchased * price, "CNY", "10^4 CNY"), _DECIMALS)

    n_months = consumed.shape[1]
    stat_unit = fuels()["stat_unit"]
    frame = pd.DataFrame(
        {
            "enterprise_code": np.repeat(ent["credit_code"].to_numpy()[e_idx], n_months),
            "period": np.tile(periods.to_numpy().astype("datetime64[D]"), len(e_idx)),
            "fuel": np.repeat(fuel, n_months),
            "unit": np.repeat(stat_unit.reindex(fuel).to_numpy(), n_months),
            "opening_stock": opening.ravel(),
            "purchased": purchased.ravel(),
            "purchase_value_10k_cny": value.ravel(),
            "consumed_total": consumed.ravel(),
            "consumed_industrial": ind_use.ravel(),
            "consumed_as_feedstock": feedstock.ravel(),
            "consumed_non_industrial": non_ind.ravel(),
            "consumed_transport": transport.ravel(),
            "closing_stock": closing.ravel(),
        }
    )
    return frame


def _feedstock_shares(ind: pd.DataFrame, industry_row: np.ndarray, fuel: np.ndarray) -> np.ndarray:
    """Share of industrial use that is feedstock (用作原料、材料), per (industry, fuel) row."""
    table = {
        (k, f): share
        for k, spec in enumerate(ind.get("feedstock", [None] * len(ind)))
        if isinstance(spec, dict)
        for f, share in spec.items()
    }  # loop over industries
    if not table:
        return np.zeros(len(fuel))
    index = pd.MultiIndex.from_tuples(list(table), names=["industry", "fuel"])
    lookup = pd.Series(list(table.values()), index=index, dtype="float64")
    keys = pd.MultiIndex.from_arrays([industry_row, fuel.astype(str)], names=["industry", "fuel"])
    return lookup.reindex(keys).fillna(0.0).to_numpy()


def _stocks(
    cal: dict, fuel: np.ndarray, consumed: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Opening stock, purchases and closing stock with closing = opening + purchased − consumed.

    Storable fuels keep a closing stock of at least ``stock_months`` x the month's consumption;
    purchases top it up (rounded up, so stocks never go negative). Others have no stock.
    """
    storable = np.isin(fuel, cal["assumptions"]["fuel_use"]["storable"])[:, None]
    low, high = _assumption(cal, "stock_months")
    target = consumed * rng.uniform(low, high, size=consumed.shape)
    opening = np.zeros_like(consumed)
    purchased = consumed.copy()
    closing = np.zeros_like(consumed)
    stock = np.round(consumed[:, 0] * rng.uniform(low, high, size=len(consumed)), _DECIMALS)
    scale = 10.0**_DECIMALS
    for m in range(consumed.shape[1]):  # loop over months, vectorised over enterprise-fuels
        need = np.maximum(0.0, target[:, m] - stock + consumed[:, m])
        buy = np.ceil(need * scale - 1e-9) / scale
        opening[:, m] = stock
        purchased[:, m] = buy
        stock = stock + buy - consumed[:, m]
        closing[:, m] = stock
    opening = np.where(storable, opening, 0.0)
    closing = np.where(storable, closing, 0.0)
    purchased = np.where(storable, purchased, consumed)
    return opening, purchased, closing


# --------------------------------------------------------------------------------------------
# city statistics
# --------------------------------------------------------------------------------------------


def _growth(cal: dict, spec: dict, published: pd.DataFrame, year: int) -> float:
    indicator = spec.get("growth_indicator")
    if indicator:
        hit = published[(published["indicator"] == indicator) & (published["year"] == year)]
        if len(hit):
            return float(hit["value"].iloc[0])
    missing = spec.get("growth_missing", {})
    if year in missing:
        return float(_assumption(cal, missing[year]))
    return float(_assumption(cal, spec.get("growth", "growth_default")))


def _from_points(points: dict[int, float], years: list[int], growth) -> np.ndarray:
    """Published points; log-linear in between; compounded ``growth(year)`` beyond them."""
    known = sorted(points)
    out = []
    for y in years:  # loop over a handful of years
        if y in points:
            v = points[y]
        elif known[0] < y < known[-1]:
            a = max(k for k in known if k < y)
            b = min(k for k in known if k > y)
            t = (y - a) / (b - a)
            v = points[a] * (points[b] / points[a]) ** t
        elif y > known[-1]:
            v = points[known[-1]] * np.prod([1 + growth(k) for k in range(known[-1] + 1, y + 1)])
        else:
            v = points[known[0]] / np.prod([1 + growth(k) for k in range(y + 1, known[0] + 1)])
        out.append(v)
    return np.array(out, dtype="float64")


def city_series(cal: dict, cfg: CityConfig, years: list[int]) -> dict[str, tuple[dict, np.ndarray]]:
    """City-level statistics per year from the calibration's ``series`` (see the YAML file).

    Returns
    -------
    dict
        series name -> (spec with ``indicator``, ``unit``, ``price_basis``, values per year).
    """
    published = _published(cal)
    city_rows = published[published["region"] == cfg.adcode]
    out: dict[str, tuple[dict, np.ndarray]] = {}
    for name, spec in cal["series"].items():  # loop over a dozen indicators; order matters
        spec = {**spec, "indicator": spec.get("indicator", name)}
        method = spec["method"]
        if method == "points":
            rows = city_rows[
                (city_rows["indicator"] == spec["indicator"])
                & (city_rows["price_basis"] == spec.get("price_basis", ""))
            ]
            points = dict(zip(rows["year"].astype(int), rows["value"].astype(float), strict=True))
            values = _from_points(points, years, lambda y, s=spec: _growth(cal, s, published, y))
        elif method == "chain":
            base = spec["base_year"]
            base_value = _from_points(
                _points_of(city_rows, spec["of"]), [base], lambda y: _growth(cal, {}, published, y)
            )[0]
            real = {**spec, "growth_indicator": spec["growth_indicator"]}

            def factor(y: int, base: int = base, real: dict = real) -> float:
                rng_years = range(base + 1, y + 1) if y >= base else range(y + 1, base + 1)
                f = np.prod([1 + _growth(cal, real, published, k) for k in rng_years])
                return float(f if y >= base else 1 / f)

            values = np.array([base_value * factor(y) for y in years])
            spec["price_basis"] = f"comparable_{base}"
        elif method == "share_of":
            values = out[spec["of"]][1] * _shares(city_rows, spec, years)
        elif method == "ratio":
            if "ratio_published" in spec:
                ratio = float(published.set_index("id").at[spec["ratio_published"], "value"])
            else:
                ratio = float(_assumption(cal, spec["ratio"]))
            if spec.get("complement"):
                ratio = 1.0 - ratio
            values = out[spec["of"]][1] * ratio * float(spec.get("scale", 1.0))
        else:
            raise InputError(
                f"series method {method!r} is unknown",
                field=f"series.{name}",
                value=method,
                suggestions=["points", "chain", "share_of", "ratio"],
            )
        spec.setdefault("price_basis", "")
        out[name] = (spec, values)
    return out


def _points_of(city_rows: pd.DataFrame, name: str) -> dict[int, float]:
    rows = city_rows[(city_rows["indicator"] == name) & (city_rows["price_basis"] == "current")]
    return dict(zip(rows["year"].astype(int), rows["value"].astype(float), strict=True))


def _shares(city_rows: pd.DataFrame, spec: dict, years: list[int]) -> np.ndarray:
    """Sector share per year: published structures and value-added points, linear in between."""
    known: dict[int, float] = {}
    structure = city_rows[city_rows["indicator"] == "sector_structure"]
    for y, v in zip(structure["year"], structure["value"], strict=True):
        known[int(y)] = float(v[spec["structure_index"]]) / float(sum(v))
    gdp = city_rows[
        (city_rows["indicator"] == spec["of"]) & (city_rows["price_basis"] == "current")
    ]
    own = city_rows[city_rows["indicator"] == spec["indicator"]]
    for y, v in zip(own["year"], own["value"], strict=True):
        g = gdp[gdp["year"] == y]
        if len(g):
            known[int(y)] = float(v) / float(g["value"].iloc[0])
    ks = sorted(known)
    return np.interp(years, ks, [known[k] for k in ks])


def yearbook_series(cal: dict, cfg: CityConfig, demo_years: list[int]) -> pd.DataFrame:
    """The city's yearbook series (kind ``yearbook_series``) over the calibration's
    ``yearbook_series.years``, built by :func:`city_series` from the cited points (GDP at
    comparable prices chained from published real growth, population, secondary share from
    published structures; energy by the assumed intensity). CO2 is given only for the years
    before the demo's inventory years (they have the inventory): energy x the assumed
    ``co2_per_tce`` — synthetic. Each row names its sources."""
    spec = cal.get("yearbook_series")
    if not spec:
        return pd.DataFrame(columns=COLUMNS["yearbook_series"])
    first, last = spec["years"]
    years = list(range(int(first), int(last) + 1))
    s = {name: values for name, (_, values) in city_series(cal, cfg, years).items()}
    base = int(cal["series"]["gdp_comparable"]["base_year"])
    before = np.array(years) < min(demo_years)
    energy = s["energy_consumption"]
    co2 = np.where(before, energy * float(_assumption(cal, "co2_per_tce")), np.nan)
    return pd.DataFrame(
        {
            "region_code": cfg.adcode,
            "year": years,
            "population_1e4": np.round(s["population"], _DECIMALS),
            "urbanisation_rate_pct": np.nan,  # not found: left empty, not made up
            "gdp_comparable_1e8_cny": np.round(s["gdp_comparable"], _DECIMALS),
            "gdp_base_year": base,
            "secondary_share_pct": np.round(100 * s["va_secondary"] / s["gdp"], _DECIMALS),
            "energy_consumption_1e4_tce": np.round(energy, _DECIMALS),
            "co2_1e4_t": np.round(co2, _DECIMALS),
            "source": np.where(before, spec["source_before"], spec["source"]),
        }
    )[COLUMNS["yearbook_series"]]


def _city_statistics(
    cal: dict, cfg: CityConfig, years: list[int], ent: pd.DataFrame, elec: np.ndarray
) -> pd.DataFrame:
    """city_statistics rows for the city and its districts (see ``district_split``)."""
    series = city_series(cal, cfg, years)
    published = _published(cal)
    codes = [d.code for d in cfg.districts]
    gdp22 = published[
        (published["indicator"] == "gdp")
        & published["region"].isin(codes)
        & (published["year"] == 2022)
    ].set_index("region")["value"]
    shares = {
        "gdp_2022": gdp22.reindex(codes).to_numpy(dtype="float64") / gdp22.sum(),
        "population_share_2018": np.array(
            [cal["districts"][c]["population_share_2018"] for c in codes], dtype="float64"
        ),
    }
    shares["population_share_2018"] /= shares["population_share_2018"].sum()
    # enterprises' electricity per district and year
    year_idx = np.repeat(np.arange(len(years)), 12)
    by_year = np.zeros((len(ent), len(years)))
    np.add.at(by_year.T, year_idx, elec.T)
    d_idx = pd.Categorical(ent["district_code"], categories=codes).codes
    ent_district = np.zeros((len(codes), len(years)))
    np.add.at(ent_district, d_idx, by_year)

    frames = []
    for name, (spec, values) in series.items():  # loop over indicators
        rule = cal["district_split"].get(name, "gdp_2022")
        unit = spec["unit"]
        if rule == "enterprises_plus_population":
            ent_d = units.convert(ent_district, "10^4 kWh", unit)
            rest = values - ent_d.sum(axis=0)
            district_values = ent_d + rest[None, :] * shares["population_share_2018"][:, None]
        else:
            district_values = shares[rule][:, None] * values[None, :]
            pub = published[
                (published["indicator"] == spec["indicator"])
                & (published["price_basis"] == spec["price_basis"])
                & published["region"].isin(codes)
            ]
            for j, y in enumerate(years):  # published district values replace the split
                hit = pub[pub["year"] == y].set_index("region")["value"]
                if set(hit.index) == set(codes):
                    district_values[:, j] = hit.reindex(codes).to_numpy(dtype="float64")
        region = np.repeat([cfg.adcode, *codes], len(years))
        value = np.concatenate([values, district_values.ravel()])
        frames.append(
            pd.DataFrame(
                {
                    "region_code": region,
                    "year": np.tile(years, len(codes) + 1),
                    "indicator": spec["indicator"],
                    "price_basis": spec["price_basis"],
                    "value": np.round(value, _DECIMALS),
                    "unit": unit,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)[COLUMNS["city_statistics"]]


# --------------------------------------------------------------------------------------------
# industrial output and green electricity
# --------------------------------------------------------------------------------------------


def _city_monthly_statistics(
    cfg: CityConfig,
    stats: pd.DataFrame,
    balance: pd.DataFrame,
    elec: np.ndarray,
    periods: pd.DatetimeIndex,
) -> pd.DataFrame:
    """city_monthly_statistics rows of the city (synthetic): 全社会用电量 by month = the year's
    city_statistics value x the enterprises' monthly share of their year's electricity (so the
    months sum to the year); 汽油/柴油销售量 = the energy balance's gasoline and diesel of the
    year (every final use; the balance is in t) spread over the months by their days."""
    city = stats[
        (stats["region_code"] == cfg.adcode) & (stats["indicator"] == "electricity_consumption")
    ]
    year = periods.year.to_numpy()
    month_kwh = elec.sum(axis=0)
    year_kwh = pd.Series(month_kwh).groupby(year).transform("sum").to_numpy()
    annual = city.set_index("year")["value"].reindex(year).to_numpy(dtype="float64")
    frames = [
        pd.DataFrame(
            {
                "period": periods,
                "indicator": "electricity_consumption",
                "value": annual * month_kwh / year_kwh,
                "unit": "10^8 kWh",
            }
        )
    ]
    if len(balance):
        final = balance_items().index[balance_items()["group"] == "final"]  # the demo's leaves
        fuel_t = balance[balance["fuel"].isin(["gasoline", "diesel"]) & balance["item"].isin(final)]
        by_year = fuel_t.groupby(["fuel", "year"])["quantity"].sum()
        days = (periods.days_in_month / np.where(periods.is_leap_year, 366.0, 365.0)).to_numpy()
        for fuel in ("gasoline", "diesel"):  # two fuels
            t = by_year.get(fuel, pd.Series(dtype="float64")).reindex(year).to_numpy(float)
            frames.append(
                pd.DataFrame(
                    {
                        "period": periods,
                        "indicator": f"{fuel}_sales",
                        "value": units.convert(t * days, "t", "10^4 t"),
                        "unit": "10^4 t",
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True).dropna(subset=["value"])
    out["region_code"] = cfg.adcode
    out["period"] = out["period"].dt.strftime("%Y-%m")
    out["value"] = out["value"].round(_DECIMALS)
    return out[COLUMNS["city_monthly_statistics"]]


#: Synthetic offsets and sinks (示例): kind, instrument, reference prefix and the multiple of the
#: enterprise's electricity CO2 of the last year at a nominal 0.5 tCO2/MWh (an assumption).
_DEMO_OFFSETS = (
    ("offset", "CCER", "示例CCER注销", 1.5),  # covers its emissions: zero-carbon
    ("sink", "forest", "示例自有林地", 1.5),  # removals exceed them: negative-carbon
    ("offset", "VER", "示例VER注销", 1.5),  # not an accepted type: does not count
)


def _enterprise_offsets(
    ent: pd.DataFrame, elec: np.ndarray, periods: pd.DatetimeIndex
) -> pd.DataFrame:
    """enterprise_offsets rows (synthetic, 示例): the three industrial enterprises of least
    electricity in the last year, one per line of ``_DEMO_OFFSETS``."""
    year = int(periods.year.max())
    last = elec[:, periods.year == year].sum(axis=1)
    industrial = np.flatnonzero(ent["industrial"].to_numpy() & (last > 0))
    chosen = industrial[np.argsort(last[industrial], kind="stable")[: len(_DEMO_OFFSETS)]]
    co2_t = units.convert(last[chosen], "10^4 kWh", "MWh") * 0.5
    kind, instrument, prefix, multiple = zip(*_DEMO_OFFSETS[: len(chosen)], strict=True)
    return pd.DataFrame(
        {
            "enterprise_code": ent["credit_code"].to_numpy()[chosen],
            "year": year,
            "kind": kind,
            "instrument": instrument,
            "reference": [f"{p}-{year}-{i + 1:03d}" for i, p in enumerate(prefix)],
            "tco2": np.round(co2_t * np.asarray(multiple), 1),
        }
    )[COLUMNS["enterprise_offsets"]]


#: Synthetic subsidy applications (示例): id, programme, status, bank, investment [万元],
#: recognition, paid [万元] and the loan lines (date as month-day with a year offset from the
#: demo's last year, amount [万元]); one case per eligibility outcome.
_DEMO_APPLICATIONS = (
    (
        "DEMO-LOAN-1",
        "renovation_loan",
        "approved",
        "兴业银行",
        3500.0,
        None,
        30.0,
        ((-1, "11-01", 1000.0), (0, "03-01", 1000.0), (0, "06-30", -500.0)),
    ),
    (
        "DEMO-LOAN-2",
        "renovation_loan",
        "submitted",
        "厦门银行",
        1500.0,
        None,
        None,
        ((0, "02-01", 800.0),),
    ),
    (
        "DEMO-LOAN-3",
        "renovation_loan",
        "rejected",
        "示例农村商业银行",
        5000.0,
        None,
        None,
        ((0, "05-01", 2000.0),),
    ),
    ("DEMO-ZJTX-1", "zhuanjingtexin", "approved", None, None, "national_little_giant", 50.0, ()),
    ("DEMO-ZJTX-2", "zhuanjingtexin", "approved", None, None, "provincial_sme", None, ()),
    ("DEMO-ZJTX-3", "zhuanjingtexin", "submitted", None, None, "provincial_sme", None, ()),
)


def _subsidy_applications(ent: pd.DataFrame, periods: pd.DatetimeIndex) -> pd.DataFrame:
    """subsidy_applications rows (synthetic, 示例): the cases of ``_DEMO_APPLICATIONS`` for the
    industrial enterprises of lowest credit code, applied in the demo's last year."""
    year = int(periods.year.max())
    codes = np.sort(ent.loc[ent["industrial"].to_numpy(), "credit_code"].to_numpy())
    rows = []
    for (app_id, programme, status, bank, inv, recog, paid, lines), code in zip(
        _DEMO_APPLICATIONS, codes, strict=False
    ):  # six fixed cases, not bulk rows
        common = {"application_id": app_id, "enterprise_code": code, "year": year}
        common |= {"programme": programme, "status": status, "bank": bank}
        common |= {"investment_10k_cny": inv, "recognition": recog}
        common |= {  # recognised in the year applied for (a new recognition)
            "recognition_year": year if recog else None,
            "recognition_batch": f"{year}年第一批（示例）" if recog else None,
        }
        dated = [(f"{year + dy}-{md}", amount) for dy, md, amount in lines] or [(None, None)]
        for i, (date, amount) in enumerate(dated):
            rows.append(
                {**common, "line": str(i + 1), "date": date, "amount_10k_cny": amount}
                | {"paid_10k_cny": paid if i == 0 else None}
            )
    return pd.DataFrame(rows)[COLUMNS["subsidy_applications"]]


def waste_and_sinks(
    cal: dict, cfg: CityConfig, years: list[int], stats: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """City tables of waste and sinks from the calibration's ``waste_and_sinks`` (all
    assumptions): solid waste by treatment and component back to ``msw.first_year`` (the
    landfill history), wastewater COD by stream and treatment, land carbon stocks, blue-carbon
    sites and mariculture harvests of the demo years."""
    spec = cal.get("waste_and_sinks")
    if not spec:
        return {}
    msw = spec["msw"]
    last = years[-1]
    hist = np.arange(int(msw["first_year"]), last + 1)
    total = float(msw["t_last_year"]) * (1.0 + float(msw["growth"])) ** (hist - last)
    share = msw["landfill_share"]
    landfill = np.interp(hist, [int(k) for k in share], [float(v) for v in share.values()])
    comp = pd.Series(msw["composition"], dtype="float64")
    comp = comp / comp.sum()
    treated = total * (1.0 - landfill)
    compost = treated * float(msw["composting_share"])
    by_treatment = {
        msw["landfill_site"]: total * landfill,
        "incineration": treated - compost,
        "composting": compost,
    }
    frames = []
    for treatment, qty in by_treatment.items():  # three treatments
        food_only = treatment == "composting"
        parts = pd.Series({"food": 1.0}) if food_only else comp
        frames.append(
            pd.DataFrame(
                {
                    "region_code": cfg.adcode,
                    "year": np.repeat(hist, len(parts)),
                    "treatment": treatment,
                    "waste_type": np.tile(parts.index.to_numpy(), len(hist)),
                    "quantity_t": np.round(np.outer(qty, parts.to_numpy()).ravel(), 1),
                }
            )
        )
    disposal = pd.concat(frames, ignore_index=True)
    rec = msw["landfill_ch4_recovered_t"]
    first_landfill = (disposal["treatment"] == msw["landfill_site"]) & (
        disposal["waste_type"] == "food"
    )
    disposal["ch4_recovered_t"] = np.where(
        first_landfill & (disposal["year"] >= int(rec["from_year"])), float(rec["t"]), 0.0
    )
    ww = spec["wastewater"]
    pop = stats[(stats["region_code"] == cfg.adcode) & (stats["indicator"] == "population")]
    pop = pop.set_index("year")["value"].reindex(years).to_numpy(dtype="float64")  # 10^4
    dom_share = pd.Series(ww["domestic_treatment"], dtype="float64")
    dom_cod = units.convert(pop * 1e4 * float(ww["domestic_cod_kg_per_person_yr"]), "kg", "t")
    ind_share = pd.Series(ww["industrial_treatment"], dtype="float64")
    sludge = float(ww["sludge_share"])
    wastewater = pd.concat(
        [
            pd.DataFrame(
                {
                    "region_code": cfg.adcode,
                    "year": np.repeat(years, len(shares)),
                    "stream": stream,
                    "treatment": np.tile(shares.index.to_numpy(), len(years)),
                    "cod_t": np.round(np.outer(cod, shares.to_numpy()).ravel(), 1),
                }
            )
            for stream, cod, shares in (
                ("domestic", dom_cod, dom_share),
                ("industrial", np.full(len(years), float(ww["industrial_cod_t"])), ind_share),
            )
        ],
        ignore_index=True,
    )
    central = wastewater["treatment"].str.startswith("centralized")
    wastewater["sludge_cod_t"] = np.round(np.where(central, wastewater["cod_t"] * sludge, 0.0), 1)
    wastewater["ch4_recovered_t"] = 0.0
    dom = (wastewater["stream"] == "domestic").to_numpy()
    wastewater["population_10k"] = np.where(
        dom, pd.Series(pop, index=years).reindex(wastewater["year"]).to_numpy(), np.nan
    )
    wastewater["protein_kg_per_person_yr"] = np.where(
        dom, float(ww["protein_kg_per_person_yr"]), np.nan
    )
    # land stocks from the year before the first demo year: the reference of the first change
    land = pd.DataFrame(spec["land"]).T.astype("float64")
    land_years = [years[0] - 1, *years]
    n = np.arange(len(land_years))[None, :]
    area = (
        land["area_ha"].to_numpy()[:, None] * (1.0 + land["area_growth"].to_numpy()[:, None]) ** n
    )
    stock = (
        land["stock_tc_per_ha"].to_numpy()[:, None]
        + land["stock_gain_tc_per_ha_yr"].to_numpy()[:, None] * n
    )
    land_rows = pd.DataFrame(
        {
            "region_code": cfg.adcode,
            "year": np.tile(land_years, len(land)),
            "land_class": np.repeat(land.index.to_numpy(), len(land_years)),
            "area_ha": np.round(area, 1).ravel(),
            "carbon_stock_tc_per_ha": np.round(stock, 3).ravel(),
        }
    )
    sites = pd.DataFrame(spec["blue_carbon_sites"])
    outlines = [  # a few sites: each its synthetic boundary, GeoJSON text as a file carries it
        json.dumps(
            geo.ellipse_polygon(s.lon, s.lat, units.convert(s.area_ha, "ha", "m2"), **s.outline),
            separators=(",", ":"),
        )
        for s in sites.itertuples()
    ]
    site_rows = (
        sites.assign(geometry=outlines)
        .merge(pd.DataFrame({"year": years}), how="cross")
        .assign(
            region_code=cfg.adcode,
            year_planted=lambda t: t["year_planted"].astype("Int64"),
            soil_c_rate_tc_per_ha_yr=np.nan,
            biomass_c_rate_tc_per_ha_yr=np.nan,
        )
    )
    harvest = pd.Series(spec["mariculture"], dtype="float64")
    mari = pd.DataFrame(
        {
            "region_code": cfg.adcode,
            "year": np.repeat(years, len(harvest)),
            "species_group": np.tile(harvest.index.to_numpy(), len(years)),
            "harvest_t": np.tile(harvest.to_numpy(), len(years)),
        }
    )
    return {
        "waste_disposal": disposal[COLUMNS["waste_disposal"]],
        "wastewater": wastewater[COLUMNS["wastewater"]],
        "land_carbon": land_rows[COLUMNS["land_carbon"]],
        "blue_carbon_sites": site_rows[COLUMNS["blue_carbon_sites"]],
        "mariculture": mari[COLUMNS["mariculture"]],
    }


def agriculture_and_fugitive(
    cal: dict, cfg: CityConfig, years: list[int]
) -> dict[str, pd.DataFrame]:
    """``agriculture`` and ``fugitive_activity`` rows of the demo years from the calibration's
    ``agriculture_and_fugitive`` (all assumptions): head counts split by manure system, rice area
    by water regime, N applied, coal mined (0: no mines) and gas distributed, each changing by
    a constant yearly rate back from the last year."""
    spec = cal.get("agriculture_and_fugitive")
    if not spec:
        return {}
    y = np.asarray(years)
    scale = (1.0 + float(spec["growth"])) ** (y - y[-1])
    items = [
        (species, system, float(v["head"]) * float(share), np.nan)
        for species, v in spec["livestock"].items()
        for system, share in v["systems"].items()
    ]
    items += [(k, "", float(v["ha"]), float(v["days"])) for k, v in spec["rice"].items()]
    items += [(k, "", float(v), np.nan) for k, v in spec["nitrogen_t"].items()]
    base = pd.DataFrame(items, columns=["item", "manure_system", "q", "days"])
    agri = base.merge(pd.DataFrame({"year": y, "scale": scale}), how="cross")
    agri = agri.assign(region_code=cfg.adcode, quantity=np.round(agri["q"] * agri["scale"], 1))
    fug = pd.Series(spec["fugitive"], dtype="float64")
    gas = fug.index.str.startswith("gas_")
    growth = (1.0 + float(spec["gas_growth"])) ** (y - y[-1])
    fugitive = pd.DataFrame(
        {
            "region_code": cfg.adcode,
            "year": np.tile(y, len(fug)),
            "activity": np.repeat(fug.index.to_numpy(), len(y)),
            "quantity": np.round(
                np.outer(fug.to_numpy(), np.ones(len(y)))
                * np.where(gas[:, None], growth[None, :], 1.0),
                1,
            ).ravel(),
        }
    )
    return {
        "agriculture": agri[COLUMNS["agriculture"]],
        "fugitive_activity": fugitive[COLUMNS["fugitive_activity"]],
    }


def transport_by_mode(cal: dict, balance: pd.DataFrame) -> pd.DataFrame:
    """``transport_fuel`` rows: the balance's 交通运输 fuel of each year split by the
    calibration's ``transport_by_mode`` shares (normalised per fuel, so the domestic modes add
    up to the balance), and international fuel (memo) as a multiple of the mode's domestic
    fuel. All shares are assumptions (labelled in the calibration). Aviation rows carry the
    airport's LTO cycles (half its movements, split domestic/international by the published
    share) and fuel per cycle (``aviation_lto``), for the LTO/cruise split; aviation and
    navigation rows name their facility (``facilities``: the airport, the port) and water-borne
    rows their kind of navigation (harbour, coastal, international)."""
    spec = cal.get("transport_by_mode")
    if not spec or balance.empty:
        return pd.DataFrame(columns=COLUMNS["transport_fuel"])
    split = pd.DataFrame(
        [{"fuel": fuel, **row} for fuel, rows in spec["split"].items() for row in rows]
    ).reindex(columns=["fuel", "mode", "navigation_type", "vehicle_type", "trip", "share"])
    split[["navigation_type", "vehicle_type"]] = split[["navigation_type", "vehicle_type"]].fillna(
        ""
    )
    split["share"] = split["share"] / split.groupby("fuel")["share"].transform("sum")
    b = balance[(balance["item"] == "transport") & balance["fuel"].isin(split["fuel"])]
    rows = b[["region_code", "year", "fuel", "quantity", "unit"]].merge(split, on="fuel")
    rows["quantity"] = rows["quantity"] * rows["share"]
    multiple = pd.Series(spec["international_multiple"], dtype="float64")
    abroad = rows[rows["mode"].isin(multiple.index)]
    abroad = abroad.groupby(["region_code", "year", "fuel", "unit", "mode"], as_index=False)[
        "quantity"
    ].sum()
    abroad = abroad.assign(
        quantity=abroad["quantity"] * abroad["mode"].map(multiple),
        vehicle_type="",
        trip="international",
        navigation_type=np.where(abroad["mode"] == "navigation", "international", ""),
    )
    out = pd.concat([rows, abroad], ignore_index=True).assign(technology="")
    out["facility"] = out["mode"].map(spec.get("facilities", {})).fillna("")
    out["quantity"] = out["quantity"].round(1)
    lto = spec["aviation_lto"]
    intl = float(lto["international_share"])
    cycles = 0.5 * float(lto["movements_per_year"])  # an LTO cycle: one landing, one take-off
    aviation = (out["mode"] == "aviation").to_numpy()
    trip_share = out["trip"].map({"transboundary": 1.0 - intl, "international": intl})
    out["lto_cycles"] = np.where(aviation, (cycles * trip_share).round(), np.nan)
    per_cycle = out["trip"].map(lto["fuel_kg_per_cycle"]).astype("float64")
    out["lto_fuel_kg_per_cycle"] = np.where(aviation, per_cycle, np.nan)
    return out[COLUMNS["transport_fuel"]].sort_values(["year", "mode", "fuel", "trip"])


def _industrial_output(
    cal: dict,
    ind: pd.DataFrame,
    ent: pd.DataFrame,
    elec: np.ndarray,
    periods: pd.DatetimeIndex,
    seed: int,
) -> pd.DataFrame:
    """Monthly main product of the key industrial enterprises (a subset)."""
    rng = _rng(seed, "industrial_output")
    industry_row = ent["industry_row"].to_numpy()
    has_product = ind["product"].map(lambda p: isinstance(p, list)).to_numpy()[industry_row]
    chosen = np.flatnonzero(ent["is_key"].to_numpy() & ent["industrial"].to_numpy() & has_product)
    product = ind["product"].to_numpy()[industry_row[chosen]]
    name = np.array([p[0] for p in product], dtype=object)
    unit = np.array([p[1] for p in product], dtype=object)
    per_10k_kwh = np.array([p[2] for p in product], dtype="float64")
    value_per_kwh = ind["value_cny_per_kwh"].to_numpy(dtype="float64")[industry_row[chosen]]
    level = rng.lognormal(0.0, 0.15, size=(len(chosen), 1))
    e = elec[chosen]
    quantity = np.round(e * per_10k_kwh[:, None] * level, _DECIMALS)
    # 10^4 kWh x CNY/kWh = 10^4 CNY
    value_cny = units.convert(e, "10^4 kWh", "kWh") * value_per_kwh[:, None] * level
    value = np.round(units.convert(value_cny, "CNY", "10^4 CNY"), _DECIMALS)
    m = len(periods)
    return pd.DataFrame(
        {
            "enterprise_code": np.repeat(ent["credit_code"].to_numpy()[chosen], m),
            "period": np.tile(periods.to_numpy().astype("datetime64[D]"), len(chosen)),
            "product": np.repeat(name, m),
            "quantity": quantity.ravel(),
            "unit": np.repeat(unit, m),
            "output_value_10k_cny": value.ravel(),
        }
    )[COLUMNS["industrial_output"]]


def _value_added(
    cal: dict,
    ind: pd.DataFrame,
    ent: pd.DataFrame,
    elec: np.ndarray,
    periods: pd.DatetimeIndex,
    seed: int,
) -> pd.DataFrame:
    """Monthly value added (工业增加值) of every industrial enterprise: output value x the
    value-added rate x a firm factor x monthly noise (assumptions ``value_added_*``)."""
    rng = _rng(seed, "enterprise_value_added")
    industry_row = ent["industry_row"].to_numpy()
    chosen = np.flatnonzero(ent["industrial"].to_numpy())
    value_per_kwh = ind["value_cny_per_kwh"].to_numpy(dtype="float64")[industry_row[chosen]]
    rate = float(_assumption(cal, "value_added_rate"))
    firm = rng.lognormal(0.0, float(_assumption(cal, "value_added_sigma")), size=(len(chosen), 1))
    noise = rng.lognormal(0.0, 0.05, size=(len(chosen), len(periods)))
    value_cny = units.convert(elec[chosen], "10^4 kWh", "kWh") * value_per_kwh[:, None]
    value = np.round(units.convert(value_cny * rate * firm * noise, "CNY", "10^4 CNY"), _DECIMALS)
    m = len(periods)
    return pd.DataFrame(
        {
            "enterprise_code": np.repeat(ent["credit_code"].to_numpy()[chosen], m),
            "period": np.tile(periods.to_numpy().astype("datetime64[D]"), len(chosen)),
            "value_added_10k_cny": value.ravel(),
        }
    )[COLUMNS["enterprise_value_added"]]


def _green_electricity(
    cal: dict,
    ind: pd.DataFrame,
    ent: pd.DataFrame,
    elec: np.ndarray,
    periods: pd.DatetimeIndex,
    seed: int,
) -> pd.DataFrame:
    """Green electricity of a subset: quarterly certificates (绿证) or monthly green-power deals."""
    rng = _rng(seed, "green_electricity")
    industry_row = ent["industry_row"].to_numpy()
    green = ind["green"].to_numpy(dtype=bool)[industry_row]
    buyers = np.flatnonzero(
        green & (rng.random(len(ent)) < float(_assumption(cal, "green_electricity_share")))
    )
    fraction = rng.uniform(0.1, 0.4, size=len(buyers))
    certificate = rng.random(len(buyers)) < 0.5
    mwh = units.convert(elec[buyers], "10^4 kWh", "MWh") * fraction[:, None]
    per_cert = float(_assumption(cal, "green_certificate_mwh"))
    frames = []
    # contracts: monthly, no certificate id
    c = np.flatnonzero(~certificate)
    frames.append(
        pd.DataFrame(
            {
                "enterprise_code": np.repeat(
                    ent["credit_code"].to_numpy()[buyers[c]], len(periods)
                ),
                "period": np.tile(periods.to_numpy().astype("datetime64[D]"), len(c)),
                "mwh": np.round(mwh[c].ravel(), _DECIMALS),
                "instrument": "green_power_contract",
                "certificate_id": "",
            }
        )
    )
    # certificates: per quarter, whole certificates, one id per purchase
    g = np.flatnonzero(certificate)
    if len(g):
        quarter = mwh[g].reshape(len(g), len(periods) // 3, 3).sum(axis=2)
        n_q = quarter.shape[1]
        count = np.floor(quarter / per_cert)
        q_periods = periods[::3].to_numpy().astype("datetime64[D]")
        q_year = periods[::3].year.to_numpy()
        serial = np.arange(1, len(g) * n_q + 1)
        frames.append(
            pd.DataFrame(
                {
                    "enterprise_code": np.repeat(ent["credit_code"].to_numpy()[buyers[g]], n_q),
                    "period": np.tile(q_periods, len(g)),
                    "mwh": (count * per_cert).ravel(),
                    "instrument": "green_certificate",
                    "certificate_id": np.char.add(
                        np.char.add(
                            np.char.add("GEC-SYN-", np.tile(q_year, len(g)).astype(str)), "-"
                        ),
                        np.char.zfill(serial.astype(str), 7),
                    ),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    return out[out["mwh"] > 0][COLUMNS["green_electricity"]].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# meter readings (streamed)
# --------------------------------------------------------------------------------------------


def _interval_starts(year: int, month: int, tz: str, freq: str) -> pd.DatetimeIndex:
    start = pd.Timestamp(year=year, month=month, day=1, tz=tz)
    return pd.date_range(start, start + pd.offsets.MonthBegin(1), freq=freq, inclusive="left")


def load_shapes(cal: dict, local: pd.DatetimeIndex, freq: str) -> np.ndarray:
    """Relative load of each profile in each interval: daily[hour] x weekly[weekday].

    Parameters
    ----------
    cal : dict
        Calibration with ``load_profiles`` (24 hourly and 7 weekday factors per profile).
    local : pandas.DatetimeIndex
        Interval starts in local time.
    freq : str
        Interval length; daily intervals use the mean of the 24 hourly factors.

    Returns
    -------
    numpy.ndarray, shape (profiles, intervals)
    """
    profiles = cal["load_profiles"].values()
    daily = np.array([p["daily"] for p in profiles], dtype="float64")
    weekly = np.array([p["weekly"] for p in profiles], dtype="float64")
    if freq == "1D":
        hourly = np.repeat(daily.mean(axis=1, keepdims=True), len(local), axis=1)
    else:
        hourly = daily[:, local.hour.to_numpy()]
    return hourly * weekly[:, local.dayofweek.to_numpy()]


def write_meter_readings(demo: DemoCity, path: str | Path, *, readings: str = "hourly") -> Path:
    """Stream ``meter_readings`` to one Parquet file, a row group per month and meter chunk.

    Each meter's month is the enterprise's monthly electricity x (1 + d) x the meter's share,
    spread over the intervals by the industry's load shape with log-normal noise; readings are
    rounded to 1 Wh and never negative. Memory stays bounded by ``ROWS_PER_CHUNK``.

    Returns
    -------
    Path
        The file written.
    """
    freq = READINGS[readings]
    if freq is None:
        raise InputError("readings='none' writes no readings", field="readings", value=readings)
    path = Path(path)
    cal = demo.calibration
    sigma = float(_assumption(cal, "reading_noise_sigma"))
    schema = pa.schema(
        [("meter_id", pa.string()), ("ts", pa.timestamp("us", tz="UTC")), ("kwh", pa.float64())]
    )
    meter_ids = pa.array(demo.meters["meter_id"].to_numpy(dtype=str))
    monthly_kwh = units.convert(demo.electricity_10k_kwh, "10^4 kWh", "kWh") * (
        1.0 + demo.meter_deviation
    )
    with pq.ParquetWriter(
        path,
        schema,
        compression="zstd",
        use_dictionary=["meter_id"],
        column_encoding={"ts": "DELTA_BINARY_PACKED", "kwh": "BYTE_STREAM_SPLIT"},
    ) as writer:
        for mi, period in enumerate(demo.periods):  # loop over months
            local = _interval_starts(period.year, period.month, demo.city.timezone, freq)
            ts_us = local.tz_convert("UTC").asi8 // 1000
            shapes = load_shapes(cal, local, freq)
            n_int = len(local)
            per_chunk = max(1, ROWS_PER_CHUNK // n_int)
            metered = monthly_kwh[demo.meter_enterprise, mi] * demo.meter_share
            for ci, start in enumerate(range(0, len(meter_ids), per_chunk)):  # meter chunks
                stop = min(start + per_chunk, len(meter_ids))
                rng = _rng(demo.seed, "readings", mi, ci)
                shape = shapes[demo.meter_profile[start:stop]]
                shape *= np.exp(sigma * rng.standard_normal(shape.shape) - sigma**2 / 2)
                shape /= shape.sum(axis=1, keepdims=True)
                kwh = np.round(shape * metered[start:stop, None], 3)
                m = stop - start
                table = pa.table(
                    {
                        "meter_id": meter_ids.slice(start, m).take(
                            pa.array(np.repeat(np.arange(m, dtype=np.int32), n_int))
                        ),
                        "ts": pa.array(np.tile(ts_us, m), type=pa.timestamp("us", tz="UTC")),
                        "kwh": pa.array(kwh.ravel()),
                    },
                    schema=schema,
                )
                writer.write_table(table, row_group_size=len(table))
    return path


# --------------------------------------------------------------------------------------------
# city energy balance (能源平衡表), issue 5
# --------------------------------------------------------------------------------------------


def _energy_balance(
    cal: dict,
    cfg: CityConfig,
    ent: pd.DataFrame,
    energy: pd.DataFrame,
    stats: pd.DataFrame,
    years: list[int],
) -> pd.DataFrame:
    """The city's energy balance per year and fuel, consistent with the enterprises' returns.

    Covered part: the synthetic enterprises' annual 205-1 sums, booked by industry
    (:func:`citycarbon.accounting.balance.item_of_industry`): fuels burnt by power and heat
    plants (D4411, D4412, D4430) are transformation inputs with outputs at the calibration's
    efficiencies; everything else is final consumption of the enterprise's sector, feedstock
    under 其中：用作原料、材料; stock changes are the enterprises' own. Remainder (assumptions of
    ``energy_balance`` in the calibration): electricity = 全社会用电量 x (1 - loss rate) minus
    the enterprises' use, split by sector shares; other fuels per 10^4 residents. Supply closes
    the balance: local non-fossil electricity is 一次能源生产量, the rest comes in (调入) or goes
    out (调出), so 平衡差额 is zero up to rounding.
    """

    spec = cal.get("energy_balance")
    if not spec:
        return pd.DataFrame(columns=COLUMNS["energy_balance"])

    def value(name: str) -> float:
        return float(spec[name]["value"])

    stat_unit = fuels()["stat_unit"]
    industry = ent.set_index("credit_code")["industry_code"]
    e = energy.assign(year=pd.DatetimeIndex(energy["period"]).year)
    e = e[e["year"].isin(years)]
    booked = item_of_industry(industry.reindex(e["enterprise_code"]).to_numpy())
    process = booked["transformation"].to_numpy()
    carrier = e["fuel"].isin(["electricity", "heat"]).to_numpy()
    burnt = (process != "") & ~carrier
    parts = []
    final = e.assign(item=booked["item"].to_numpy())[~burnt]
    parts.append(final.groupby(["year", "item", "fuel"])["consumed_total"].sum())
    feed = final[final["consumed_as_feedstock"].fillna(0) > 0]
    parts.append(
        feed.assign(item="industry_feedstock")
        .groupby(["year", "item", "fuel"])["consumed_as_feedstock"]
        .sum()
    )
    # transformation: fuels burnt by power and heat plants (CHP split by chp_heat_share)
    heat_share = np.select(
        [process == "heating", process == "thermal_power+heating"],
        [1.0, value("chp_heat_share")],
        0.0,
    )
    fuel_in = e[burnt].assign(h=heat_share[burnt])
    inputs = pd.concat(
        [
            fuel_in.assign(item="thermal_power", q=-fuel_in["consumed_total"] * (1 - fuel_in["h"])),
            fuel_in.assign(item="heating", q=-fuel_in["consumed_total"] * fuel_in["h"]),
        ]
    )
    inputs = inputs[inputs["q"] != 0].groupby(["year", "item", "fuel"])["q"].sum()
    parts.append(inputs)
    if len(inputs):
        qin = inputs.reset_index()
        unit = stat_unit.reindex(qin["fuel"]).to_numpy()
        gj = units.convert(
            energy_consumption_tce(
                -qin["q"], unit, qin["fuel"], cfg.factor_profile("inventory")
            ).to_numpy(),
            "tce",
            "GJ",
        )
        out = qin.assign(gj=gj).groupby(["year", "item"])["gj"].sum().reset_index()
        power = out["item"] == "thermal_power"
        out["fuel"] = np.where(power, "electricity", "heat")
        out["q"] = np.where(
            power,
            units.convert(out["gj"] * value("power_efficiency"), "GJ", "10^4 kWh"),
            out["gj"] * value("heat_efficiency"),
        )
        parts.append(out.set_index(["year", "item", "fuel"])["q"])
    # stock changes of the enterprises: opening of January - closing of December (decrease +)
    first = e[pd.DatetimeIndex(e["period"]).month == 1].groupby(["year", "fuel"])["opening_stock"]
    last = e[pd.DatetimeIndex(e["period"]).month == 12].groupby(["year", "fuel"])["closing_stock"]
    stock = (first.sum() - last.sum()).fillna(0.0)
    stock = stock[stock != 0].rename("q").reset_index().assign(item="stock_change")
    parts.append(stock.set_index(["year", "item", "fuel"])["q"])
    # non-enterprise remainder
    city = stats[(stats["region_code"] == cfg.adcode) & (stats["price_basis"] == "")]
    city = city.set_index(["indicator", "year"])["value"]
    e_city = units.convert(
        city.loc["electricity_consumption"].reindex(years).to_numpy(), "10^8 kWh", "10^4 kWh"
    )
    population = city.loc["population"].reindex(years).to_numpy()
    loss = e_city * value("electricity_loss_rate")
    ent_elec = e[e["fuel"] == "electricity"].groupby("year")["consumed_total"].sum()
    rest = e_city - loss - ent_elec.reindex(years).fillna(0).to_numpy()
    if (rest < 0).any():
        raise InputError(
            "the enterprises use more electricity than the city's 全社会用电量 less losses",
            source=str(calibration_path(cfg.id)),
            field="energy_balance",
        )
    shares = pd.Series(spec["remainder_electricity_shares"], dtype="float64")
    shares = shares / shares.sum()
    rows = [
        pd.DataFrame({"year": years, "item": item, "fuel": "electricity", "q": rest * share})
        for item, share in shares.items()
    ]
    for item, per in spec["remainder_per_10k_persons"].items():
        for fuel, amount in per.items():
            rows.append(
                pd.DataFrame(
                    {"year": years, "item": item, "fuel": fuel, "q": population * float(amount)}
                )
            )
    rows.append(pd.DataFrame({"year": years, "item": "losses", "fuel": "electricity", "q": loss}))
    rows.append(
        pd.DataFrame(
            {
                "year": years,
                "item": "production",
                "fuel": "electricity",
                "q": e_city * value("local_nonfossil_electricity_share"),
            }
        )
    )
    parts.append(pd.concat(rows).groupby(["year", "item", "fuel"])["q"].sum())
    long = pd.concat([p.rename("q") for p in parts]).groupby(level=[0, 1, 2]).sum().reset_index()
    # gas losses, then close the supply with inflow / outflow
    use_items = set(spec["remainder_electricity_shares"]) | {
        "industry_manufacturing",
        "industry_utilities",
        "industry_mining",
        "agriculture",
        "construction",
        "transport",
        "commerce",
        "other",
        "residential_urban",
        "residential_rural",
    }
    wide = long.pivot_table(index=["year", "fuel"], columns="item", values="q", aggfunc="sum")
    wide = wide.fillna(0.0)
    final_use = wide[[c for c in wide.columns if c in use_items]].sum(axis=1)
    gas = wide.index.get_level_values("fuel") == "natural_gas"
    gas_loss = np.where(gas, final_use * value("natural_gas_loss_rate"), 0.0)
    losses = wide.get("losses", 0.0) + gas_loss
    trans = wide[[c for c in ("thermal_power", "heating") if c in wide.columns]].sum(axis=1)
    supply = wide.get("production", 0.0) + wide.get("stock_change", 0.0) + trans
    net = final_use + losses - supply  # to come in (>0) or go out (<0)
    wide["losses"] = losses
    wide["inflow"] = net.clip(lower=0)
    wide["outflow"] = -(-net).clip(lower=0)
    long = wide.stack().rename("quantity").reset_index()
    long = long[np.round(long["quantity"], _DECIMALS) != 0]
    long = long.assign(
        region_code=cfg.adcode,
        quantity=np.round(long["quantity"], _DECIMALS),
        unit=stat_unit.reindex(long["fuel"]).to_numpy(),
    )
    return long.sort_values(["year", "item", "fuel"])[COLUMNS["energy_balance"]].reset_index(
        drop=True
    )


# --------------------------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------------------------


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    return path


def _write_energy_parquet(frame: pd.DataFrame, path: Path) -> Path:
    fields = [
        pa.field("enterprise_code", pa.string()),
        pa.field("period", pa.date32()),
        pa.field("fuel", pa.string()),
        pa.field("unit", pa.string()),
    ]
    fields += [pa.field(c, pa.float64()) for c in COLUMNS["energy_monthly"][4:]]
    schema = pa.schema(fields)
    table = pa.Table.from_pandas(
        frame[COLUMNS["energy_monthly"]], schema=schema, preserve_index=False
    ).replace_schema_metadata(None)
    pq.write_table(table, path, compression="zstd")
    return path


__all__ = [
    "COLUMNS",
    "READINGS",
    "DemoCity",
    "build_city",
    "calibration_path",
    "city_series",
    "credit_codes",
    "electricity_targets",
    "generate_city",
    "largest_remainder",
    "load_calibration",
    "load_shapes",
    "write_meter_readings",
]
