"""Energy-efficiency benchmarking of industrial products against the 标杆水平 (benchmark) and
基准水平 (baseline) levels of 《工业重点领域能效标杆水平和基准水平（2023年版）》.

For an enterprise-year making one listed product:

    e = E / Q                                   unit energy [level unit, e.g. kgce/t]
    position = advanced     if e <= benchmark   (达到标杆水平)
             = compliant    if e <= baseline    (介于标杆与基准之间)
             = below_baseline otherwise         (未达基准水平: to upgrade or phase out)

``E`` the enterprise's comprehensive energy consumption of the year (综合能源消费量, GB/T 2589-2020
3.7, on the calorific basis of the 205-1 accounts) and ``Q`` its output of the product. The
document's levels are per product line; an enterprise with several products is not assessed
(its energy cannot be split by product from the 205-1 returns). Per product and year, the share
of output (the document's measure is capacity; output stands in for it, as the 205-1 returns
give no capacity) at or below the benchmark and above the baseline.

References
----------
[1] 国家发展改革委等, 《工业重点领域能效标杆水平和基准水平（2023年版）》, 发改产业〔2023〕723号.
[2] GB/T 2589-2020 综合能耗计算通则, 3.7-3.8 (综合能耗, 单位产品综合能耗).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from citycarbon import units
from citycarbon.errors import InputError

BENCHMARKS_FILE = Path(__file__).parent / "data" / "energy_benchmarks.yaml"
POSITIONS = ("advanced", "compliant", "below_baseline")
#: How a row's numbers were checked (the data file says what each means).
SOURCE_STATUSES = ("verified", "corroborated", "assumption")


@dataclass(frozen=True)
class Benchmarks:
    """The product levels (one row per product id) and the document they come from."""

    table: pd.DataFrame  # id, zh, en, industry_class, indicator_zh, unit, benchmark, baseline, ...
    label: str  # "<source id>@<version>"
    title_zh: str
    title_en: str


@cache
def load_benchmarks(path: Path = BENCHMARKS_FILE) -> Benchmarks:
    """Read and check the levels file: every product has a unit of energy per unit of mass,
    a benchmark not above its baseline, its clause (field and product row) and a source status
    of :data:`SOURCE_STATUSES`; a row not ``verified`` lists its ``checks`` (what agrees with
    it, or why nothing could be found)."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = pd.DataFrame(doc["products"])
    where = str(path)
    for i, row in rows.iterrows():  # a handful of products
        if units.dimension(row["unit"]) != "energy/mass":
            raise InputError(
                f"product {row['id']}: unit {row['unit']!r} is not energy per mass",
                source=where,
                row=int(i) + 1,
                field="unit",
                value=row["unit"],
            )
        if not row["benchmark"] <= row["baseline"]:
            raise InputError(
                f"product {row['id']}: the benchmark must not exceed the baseline",
                source=where,
                row=int(i) + 1,
                field="benchmark",
                value=row["benchmark"],
            )
        if row.get("source_status") not in SOURCE_STATUSES:
            raise InputError(
                f"product {row['id']}: source_status must be one of {list(SOURCE_STATUSES)}",
                source=where,
                row=int(i) + 1,
                field="source_status",
                value=row.get("source_status"),
            )
        checks = row.get("checks")
        checked = row["source_status"] == "verified" or (isinstance(checks, list) and checks)
        if not isinstance(row.get("clause_zh"), str) or not checked:
            raise InputError(
                f"product {row['id']}: a row needs its clause, and checks unless verified",
                source=where,
                row=int(i) + 1,
                field="checks",
                value=checks,
            )
    rows["aliases"] = rows["aliases"].apply(lambda a: list(a or []))
    src = doc["source"]
    return Benchmarks(rows, f"{src['id']}@{doc['version']}", src["title_zh"], src["title_en"])


def product_of(names: pd.Series, benchmarks: Benchmarks) -> pd.Series:
    """The benchmark product id of output names (Chinese name, English name or alias; '' when
    the product has no level)."""
    t = benchmarks.table
    spell = {
        w.strip().lower(): pid
        for pid, zh, en, aliases in zip(t["id"], t["zh"], t["en"], t["aliases"], strict=True)
        for w in (pid, zh, en, *aliases)
    }
    return names.astype(str).str.strip().str.lower().map(spell).fillna("")


def unit_energy(energy_tce, quantity, quantity_unit, level_unit: str) -> np.ndarray:
    """Unit energy ``E / Q`` in the level's unit (e.g. kgce/t).

    Parameters
    ----------
    energy_tce : array-like
        Comprehensive energy consumption [tce].
    quantity : array-like
        Output in ``quantity_unit`` (> 0; NaN otherwise).
    quantity_unit : array-like of str
        Unit of each quantity (a mass: t, 10^4 weight cases ...).
    level_unit : str
        Unit of the level, energy per mass (kgce/t, kgce/weight case).
    """
    num, den = level_unit.split("/", 1)
    mass_t = np.asarray(quantity, dtype="float64") * units.to_base_factors(
        pd.Series(np.asarray(quantity_unit, dtype=object)), expect="mass", field="unit"
    )
    q = mass_t / units.parse(den).to_base  # in the level's unit of product
    e = units.convert(np.asarray(energy_tce, dtype="float64"), "tce", num)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(q > 0, e / q, np.nan)


def benchmark_position(value, benchmark, baseline) -> np.ndarray:
    """``advanced`` (≤ benchmark), ``compliant`` (≤ baseline) or ``below_baseline``; '' for NaN."""
    v = np.asarray(value, dtype="float64")
    out = np.select(
        [v <= np.asarray(benchmark), v <= np.asarray(baseline)],
        ["advanced", "compliant"],
        "below_baseline",
    ).astype(object)
    out[np.isnan(v)] = ""
    return out


def assess(output: pd.DataFrame, energy: pd.DataFrame, benchmarks: Benchmarks) -> pd.DataFrame:
    """Assess every enterprise-year that makes exactly one listed product.

    Parameters
    ----------
    output : pandas.DataFrame
        ``enterprise_code, year, product, quantity, unit`` (industrial output; any period).
    energy : pandas.DataFrame
        ``enterprise_code, year, energy_tce`` (the year's comprehensive energy consumption).

    Returns
    -------
    pandas.DataFrame
        ``enterprise_code, year, product_id, product_name_zh, product_name_en, quantity, quantity_unit,
        energy_tce, unit_energy, level_unit, benchmark, baseline, position, source_status``.
    """
    keys = ["enterprise_code", "year"]
    o = output.assign(product_id=product_of(output["product"], benchmarks).to_numpy())
    # one product: spellings of a listed product count once, unlisted products by name
    o["which"] = o["product_id"].where(o["product_id"] != "", "name:" + o["product"].astype(str))
    products = o.groupby(keys)["which"].nunique()
    single = products[products == 1].index
    o = o[o["product_id"] != ""].set_index(keys)
    o = o[o.index.isin(single)].reset_index()
    year_out = o.groupby([*keys, "product_id", "unit"], as_index=False)["quantity"].sum()
    year_out = year_out.groupby(keys).filter(lambda g: len(g) == 1)  # one unit per year
    t = benchmarks.table.set_index("id")
    a = year_out.merge(energy[[*keys, "energy_tce"]], on=keys, how="inner")
    pid = a["product_id"]
    level_unit = t["unit"].reindex(pid).to_numpy()
    value = np.full(len(a), np.nan)
    for u in np.unique(level_unit):  # one pass per level unit (two or three)
        m = level_unit == u
        value[m] = unit_energy(a.loc[m, "energy_tce"], a.loc[m, "quantity"], a.loc[m, "unit"], u)
    benchmark = t["benchmark"].reindex(pid).to_numpy(dtype="float64")
    baseline = t["baseline"].reindex(pid).to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "enterprise_code": a["enterprise_code"].to_numpy(),
            "year": a["year"].astype("int64").to_numpy(),
            "product_id": pid.to_numpy(),
            "product_name_zh": t["zh"].reindex(pid).to_numpy(),
            "product_name_en": t["en"].reindex(pid).to_numpy(),
            "quantity": a["quantity"].to_numpy(),
            "quantity_unit": a["unit"].to_numpy(),
            "energy_tce": a["energy_tce"].to_numpy(),
            "unit_energy": value,
            "level_unit": level_unit,
            "benchmark": benchmark,
            "baseline": baseline,
            "position": benchmark_position(value, benchmark, baseline),
            "source_status": t["source_status"].reindex(pid).to_numpy(),
        }
    )


def output_shares(assessed: pd.DataFrame) -> pd.DataFrame:
    """Per product and year: enterprises, output [t] and the shares of output at or below the
    benchmark (``share_advanced``) and above the baseline (``share_below_baseline``)."""
    a = assessed[assessed["position"] != ""]
    out_t = a["quantity"].to_numpy() * units.to_base_factors(a["quantity_unit"], expect="mass")
    a = a.assign(
        output_t=out_t,
        adv=np.where(a["position"] == "advanced", out_t, 0.0),
        low=np.where(a["position"] == "below_baseline", out_t, 0.0),
    )
    g = a.groupby(["product_id", "year"], as_index=False).agg(
        enterprises=("enterprise_code", "nunique"),
        output_t=("output_t", "sum"),
        adv=("adv", "sum"),
        low=("low", "sum"),
    )
    g["share_advanced"] = g["adv"] / g["output_t"]
    g["share_below_baseline"] = g["low"] / g["output_t"]
    return g.drop(columns=["adv", "low"])
