"""Declared schemas of every ingest kind, and the vectorised checks derived from them.

A :class:`Schema` says, as data, what a file of one *kind* must hold: its columns (type, unit,
range, code list, pattern, whether required and whether it may be empty), the Chinese and
English headers each column is recognised by, the unit rule that converts quantities, the
cross-column rules, the natural key and how the lake table is partitioned. :func:`check_table`
derives the checks from that declaration and runs them on an Arrow table (all rows at once, no
Python loop over rows); :mod:`citycarbon.ingest.loader` streams files through it.

Kinds
-----
Lake tables (data-contract.md, "Lake tables"): ``energy_monthly`` (205-1表 能源购进、消费与库存),
``meter_readings``, ``city_statistics``, ``city_monthly_statistics``, ``yearbook_series``,
``industrial_output``, ``green_electricity``, ``enterprise_value_added``, ``enterprise_offsets``,
``subsidy_applications``; waste and sinks: ``waste_disposal``, ``wastewater``, ``land_carbon``,
``blue_carbon_sites``, ``mariculture``; transport by mode: ``transport_fuel``; agriculture:
``agriculture``; fugitive emissions: ``fugitive_activity``; green projects (绿色低碳项目库): ``green_projects``.
Registry (catalog) tables: ``parks``, ``enterprises``, ``grid_nodes``, ``meters``.

References
----------
[1] 国家统计局《能源统计报表制度》, 205-1表 能源购进、消费与库存 (columns 甲/乙/丙, 1-9).
[2] GB 32100-2015 法人和其他组织统一社会信用代码编码规则 (credit code check character).
[3] GB/T 2260 中华人民共和国行政区划代码; GB/T 4754-2017 国民经济行业分类.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from citycarbon import geo, units
from citycarbon.accounting import agriculture, fugitive, transport
from citycarbon.accounting.balance import balance_items
from citycarbon.contract.codes import valid_credit_codes
from citycarbon.errors import InputError, UnitError, UnknownCodeError, close_matches
from citycarbon.factors import fuels
from citycarbon.finance import subsidies
from citycarbon.finance.reduction import project_types
from citycarbon.records import message_record
from citycarbon.techmap.catalogue import technologies

# ------------------------------------------------------------------------------ declarations
DTYPES = ("string", "float64", "int64", "bool", "month", "timestamp")
#: Arrow type each declared dtype is stored as in the lake.
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "float64": pa.float64(),
    "int64": pa.int64(),
    "bool": pa.bool_(),
    "month": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
#: Unit symbol meaning "the fuel's statistical unit" (``stat_unit`` of factors/data/fuels.csv).
FUEL_STAT_UNIT = "<stat_unit of the fuel>"


@dataclass(frozen=True)
class Column:
    """One declared column.

    Attributes
    ----------
    name : canonical name (the lake/catalog column)
    dtype : one of ``DTYPES``; ``month`` is a date on the 1st of a month, ``timestamp`` is stored
        in UTC (naive inputs are local time of the city)
    required : the file must have this column (else the whole file is rejected)
    nullable : a row may leave it empty
    unit : unit the value is stored in (``FUEL_STAT_UNIT``: the fuel's statistical unit)
    minimum, maximum : allowed range (inclusive) of numbers (years included); for quantities
        with a unit rule, checked after conversion to the stored unit
    plausible : why ``maximum`` (or a negative ``minimum``) is where it is: the bound of a
        plausible value, not a law of nature (shown in the quarantine reason)
    codes : code list the value must belong to (see :data:`CODE_LISTS`)
    pattern : regular expression the text must match (whole value)
    check : extra check, ``'credit_code'`` (GB 32100-2015 check character)
    earliest : first allowed month/timestamp (ISO date)
    latest : ``'finished'`` marks the column as the row's period: a period that is not over at
        ingest time (the current month or year, a future time; in the city's time zone) is
        refused unless the schema allows future periods (:attr:`Schema.allow_future`)
    aliases : other headers (Chinese, English) the column is recognised by
    output : False for input-only helper columns (not written to the table)
    default : value of an optional column that the file does not have
    """

    name: str
    dtype: str
    required: bool = True
    nullable: bool = False
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    plausible: str = ""
    codes: str | None = None
    pattern: str | None = None
    check: str | None = None
    earliest: str | None = None
    latest: str | None = None
    aliases: tuple[str, ...] = ()
    output: bool = True
    default: object = None
    doc: str = ""


@dataclass(frozen=True)
class Alias:
    """A header that maps to a column but gives the value in another unit (e.g. 金额（千元）)."""

    header: str
    column: str
    unit: str
    scale: float = 1.0  # value x scale is in ``unit`` (e.g. 金额（千元）: unit '千元')


@dataclass(frozen=True)
class UnitRule:
    """Quantities whose unit is given per row in ``unit_column``; converted to the target unit.

    ``target`` is ``'fuel'`` (the fuel's stat_unit) or ``'indicator'`` (the indicator's unit).
    """

    unit_column: str
    value_columns: tuple[str, ...]
    target: str
    key_column: str


@dataclass(frozen=True)
class SumRule:
    """``total`` equals the sum of ``parts`` (where all are given), within a tolerance."""

    total: str
    parts: tuple[str, ...]
    rel_tol: float = 1e-3
    abs_tol: float = 1e-6
    reason: str = ""


@dataclass(frozen=True)
class AtMostRule:
    """``part`` is not larger than ``whole`` (where both are given)."""

    part: str
    whole: str
    rel_tol: float = 1e-6
    reason: str = ""


@dataclass(frozen=True)
class RequiredIfRule:
    """``column`` must be given where ``when_column`` equals ``value``."""

    column: str
    when_column: str
    value: str


@dataclass(frozen=True)
class EitherRule:
    """``column`` (a code) or ``alternative`` (a name of the same thing) must resolve; where both
    are given they must agree. The result is stored in ``column``."""

    column: str
    alternative: str


@dataclass(frozen=True)
class InCityRule:
    """The point (``lon``, ``lat``), where given, lies inside the city's bounding box (the
    packaged boundaries of :mod:`citycarbon.geo`); both or neither must be given."""

    lon: str = "lon"
    lat: str = "lat"


@dataclass(frozen=True)
class BoundaryRule:
    """The boundary ``geometry`` (GeoJSON Polygon or MultiPolygon text), where given, is a
    valid polygon (closed, simple rings of at least 4 positions), lies inside the city's
    bounding box, and its area on the authalic sphere (:func:`citycarbon.geo.area_km2`) agrees
    with the declared ``area`` [ha] within ``rel_tol``.

    The declared area is what the accounting multiplies (area x rate), so a boundary that
    contradicts it holds the row back until one of them is corrected. ``rel_tol`` 0.10 is an
    assumption (no standard found for it): it allows a generalised outline and the difference
    between a planted or vegetated area and the project boundary.
    """

    geometry: str = "geometry"
    area: str = "area_ha"
    rel_tol: float = 0.10


@dataclass(frozen=True)
class ProductAtMostRule:
    """``factors`` are given both or neither, and their product times ``scale`` is not larger
    than ``whole`` — checked after the unit rule, in the stored unit of ``whole`` (e.g. LTO
    cycles x kg per cycle x 10^-3 <= the aviation fuel, t)."""

    factors: tuple[str, str]
    whole: str
    scale: float


@dataclass(frozen=True)
class OnlyWhereRule:
    """``column`` is given (with ``value``: is ``value``) only where ``when_column`` is one of
    ``allowed`` (e.g. LTO statistics only on aviation rows, a harbour-craft row only within the
    city)."""

    column: str
    when_column: str
    allowed: tuple[str, ...]
    value: str | None = None


Rule = (
    SumRule
    | AtMostRule
    | RequiredIfRule
    | EitherRule
    | InCityRule
    | BoundaryRule
    | ProductAtMostRule
    | OnlyWhereRule
)

#: Purchased energy (scope 2) and the factor time series (parameter, key) that prices it; key
#: None is the city's grid region (``factors.grid_region`` of the city config). Used by the
#: accounting queries (citycarbon.store.query) and by the ingest check below.
SCOPE2_SERIES: dict[str, tuple[str, str | None]] = {
    "electricity": ("grid_ef", None),
    "heat": ("heat_ef", "heat"),
}


@dataclass(frozen=True)
class FactorPeriodRule:
    """Rows that a factor time series (by data year) prices must fall in a year it covers.

    A year before the series' first data year has no factor: such a row would stop the city's
    computation, so it is quarantined at ingest. Later years use the newest factor (as the
    factor profile's lookup does).

    ``series`` maps a value of ``when`` (e.g. the fuel) to (parameter, key); with ``when`` None
    every row uses ``series[""]``.
    """

    period: str
    series: Mapping[str, tuple[str, str | None]]
    when: str | None = None


@dataclass(frozen=True)
class Schema:
    """What a file of one kind holds, and where its rows go."""

    kind: str
    table: str
    title: str
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...]
    registry: bool = False
    partition: str | None = None  # 'period', 'ts', 'year' or None
    unit_rule: UnitRule | None = None
    rules: tuple[Rule, ...] = ()
    alt_key: tuple[str, ...] = ()  # key where the first natural-key column is empty
    aliases: tuple[Alias, ...] = ()
    ignored_headers: tuple[str, ...] = ()  # known headers that carry nothing to store
    skip_rows: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # total rows etc.
    #: periods not yet over (the current month or year, future times) are accepted: plans and
    #: targets; every statistic or measurement kind refuses them
    allow_future: bool = False
    #: rows whose period must be covered by a factor time series (see :class:`FactorPeriodRule`)
    factor_periods: FactorPeriodRule | None = None

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def output_columns(self) -> list[Column]:
        return [c for c in self.columns if c.output]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def arrow_schema(self) -> pa.Schema:
        """Arrow schema of the stored rows (lake tables: ``batch_id`` first)."""
        fields = [pa.field(c.name, ARROW_TYPES[c.dtype]) for c in self.output_columns]
        if not self.registry:
            fields.insert(0, pa.field("batch_id", pa.int64()))
        return pa.schema(fields)


# --------------------------------------------------------------------------- vocabularies
@dataclass(frozen=True)
class Indicator:
    """A city statistics indicator, the unit it is stored in and its Chinese name."""

    code: str
    zh: str
    unit: str
    spellings: tuple[str, ...] = ()  # for units that citycarbon.units does not know (counts)


#: Indicators of ``city_statistics`` (统计年鉴 names); values are stored in ``unit``.
INDICATORS: tuple[Indicator, ...] = (
    Indicator("gdp", "地区生产总值", "10^8 CNY"),
    Indicator("va_primary", "第一产业增加值", "10^8 CNY"),
    Indicator("va_secondary", "第二产业增加值", "10^8 CNY"),
    Indicator("va_industry", "工业增加值", "10^8 CNY"),
    Indicator("va_construction", "建筑业增加值", "10^8 CNY"),
    Indicator("va_tertiary", "第三产业增加值", "10^8 CNY"),
    Indicator("population", "常住人口", "10^4 persons", ("10^4 persons", "万人")),
    Indicator("vehicles", "机动车保有量", "10^4 vehicles", ("10^4 vehicles", "万辆")),
    Indicator("floor_area", "建筑面积", "10^4 m2"),
    Indicator("electricity_consumption", "全社会用电量", "10^8 kWh"),
    Indicator("energy_consumption", "能源消费总量", "10^4 tce"),
    # CO2 of a region as its statistics or carbon accounting publish it (a district's own total:
    # the base of district dual control, citycarbon.runs.targets_inputs)
    Indicator("co2_emissions", "二氧化碳排放量", "10^4 t"),
    # 全社会用电量 by sector (电力统计 分产业用电量): they add up to electricity_consumption
    Indicator("electricity_primary", "第一产业用电量", "10^8 kWh"),
    Indicator("electricity_secondary", "第二产业用电量", "10^8 kWh"),
    Indicator("electricity_tertiary", "第三产业用电量", "10^8 kWh"),
    Indicator("electricity_residential", "城乡居民生活用电量", "10^8 kWh"),
    # road-fuel sales (成品油销售量), the in-year proxy of transport CO2 (city_monthly_statistics)
    Indicator("gasoline_sales", "汽油销售量", "10^4 t"),
    Indicator("diesel_sales", "柴油销售量", "10^4 t"),
)
#: Statuses of a green project (绿色低碳项目库) and their spellings.
PROJECT_STATUSES: dict[str, tuple[str, ...]] = {
    "candidate": ("储备", "备选", "候选", "拟建"),
    "approved": ("已批准", "已审批", "已备案", "批准"),
    "under_construction": ("在建", "建设中", "construction"),
    "operating": ("运营", "已投运", "投运", "operation", "in operation"),
}
#: Levels at which a green project is recognised as a demonstration project (示范项目), lowest
#: first: the government level that named it (区、市、省、国家), after :data:`NOT_DEMONSTRATION`.
NOT_DEMONSTRATION = "none"
DEMONSTRATION_LEVELS: dict[str, tuple[str, ...]] = {
    NOT_DEMONSTRATION: ("无", "否", "非示范", "no"),
    "district": ("区级", "区级示范", "区级示范项目"),
    "city": ("市级", "市级示范", "市级示范项目"),
    "provincial": ("省级", "省级示范", "省级示范项目"),
    "national": ("国家级", "国家级示范", "国家级示范项目"),
}
INSTRUMENTS: dict[str, tuple[str, ...]] = {
    "green_certificate": ("绿证", "绿色电力证书", "gec", "certificate"),
    "green_power_contract": ("绿电交易", "绿色电力交易", "绿电", "ppa", "contract"),
}
BOOL_SPELLINGS: dict[str, bool] = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
    "t": True,
    "f": False,
    "是": True,
    "否": False,
    "1.0": True,
    "0.0": False,
}
#: Code lists: names of the registries (catalog) or vocabularies a column may refer to.
CODE_LISTS = (
    "enterprise",
    "meter",
    "grid_node",
    "park",
    "region",
    "district",
    "fuel",
    "indicator",
    "instrument",
    "balance_item",
    "technology",
    "project_type",
    "project_status",
    "demonstration_level",
)
_EMPTY_MARKS = ("-", "—", "－", "--", "/", "nan", "NaN", "null", "NULL", "None")

# ------------------------------------------------------------------------------- schemas
_ENTERPRISE = (
    "统一社会信用代码",
    "社会信用代码",
    "信用代码",
    "企业代码",
    "单位代码",
    "uscc",
    "credit_code",
    "enterprise",
)
_PERIOD = ("报告期", "统计期", "期别", "月份", "年月", "month", "date", "日期", "时间")
_DISTRICT = ("所属区", "所在区", "区代码", "区划代码", "行政区划代码", "district")
_LON = ("经度", "longitude", "lng")
_LAT = ("纬度", "latitude")
#: An enterprise-month of one fuel, in its statistical unit (t, 10^4 m3, 10^4 kWh, GJ ...).
_MONTH_MAX = 1e8
_MONTH_WHY = (
    "one enterprise in one month: 10^8 t of coal is a quarter of the monthly use of China, "
    "10^8 x 10^4 kWh more than its monthly electricity"
)
_QUANTITY = dict(
    dtype="float64",
    required=False,
    nullable=True,
    unit=FUEL_STAT_UNIT,
    minimum=0.0,
    maximum=_MONTH_MAX,
    plausible=_MONTH_WHY,
)
_VALUE_WHY = "10^8 x 10^4 CNY (10^12 CNY) exceeds the yearly revenue of any enterprise"

ENERGY_MONTHLY = Schema(
    kind="energy_monthly",
    table="energy_monthly",
    title="能源购进、消费与库存 (205-1表), by enterprise, month and fuel",
    columns=(
        Column("enterprise_code", "string", codes="enterprise", aliases=_ENTERPRISE),
        Column("period", "month", earliest="1990-01-01", latest="finished", aliases=_PERIOD),
        Column(
            "fuel",
            "string",
            required=False,
            nullable=True,
            codes="fuel",
            aliases=("代码", "能源代码", "fuel_code", "energy_code"),
            doc="fuel code of factors/data/fuels.csv (or a name or alias of it)",
        ),
        Column(
            "fuel_name",
            "string",
            required=False,
            nullable=True,
            output=False,
            aliases=("能源名称", "能源品种", "品种", "能源", "fuel_name_zh", "energy"),
            doc="fuel name (原煤, 天然气, ...), used where 代码 is not a fuel code",
        ),
        Column("unit", "string", aliases=("计量单位", "单位", "unit_of_measure")),
        Column("opening_stock", **_QUANTITY, aliases=("年初库存量", "期初库存量", "库存量年初")),
        Column(
            "purchased", **_QUANTITY, aliases=("购进量实物量", "购进量", "购进实物量", "实物量")
        ),
        Column(
            "purchase_value_10k_cny",
            "float64",
            required=False,
            nullable=True,
            unit="10^4 CNY",
            minimum=0.0,
            maximum=1e8,
            plausible=_VALUE_WHY,
            aliases=("购进金额万元", "金额万元"),
        ),
        Column(
            "consumed_total",
            "float64",
            unit=FUEL_STAT_UNIT,
            minimum=0.0,
            maximum=_MONTH_MAX,
            plausible=_MONTH_WHY,
            aliases=("消费量合计", "消费合计", "合计", "消费量"),
        ),
        Column("consumed_industrial", **_QUANTITY, aliases=("工业生产消费", "消费量工业生产消费")),
        Column(
            "consumed_as_feedstock",
            **_QUANTITY,
            aliases=(
                "用作原料材料",
                "用作原材料",
                "用于原材料",
                "其中用作原料材料",
                "工业生产消费用作原料材料",
                "消费量用作原料材料",
                "消费量用于原材料",
                "消费量用作原材料",
            ),
        ),
        Column(
            "consumed_non_industrial",
            **_QUANTITY,
            aliases=("非工业生产消费", "消费量非工业生产消费"),
        ),
        Column(
            "consumed_transport",
            **_QUANTITY,
            aliases=(
                "运输工具消费",
                "合计中运输工具消费",
                "消费量运输工具消费",
                "消费量合计中运输工具消费",
            ),
        ),
        Column("closing_stock", **_QUANTITY, aliases=("年末库存量", "期末库存量")),
    ),
    natural_key=("enterprise_code", "period", "fuel"),
    partition="period",
    unit_rule=UnitRule(
        "unit",
        (
            "opening_stock",
            "purchased",
            "consumed_total",
            "consumed_industrial",
            "consumed_as_feedstock",
            "consumed_non_industrial",
            "consumed_transport",
            "closing_stock",
        ),
        target="fuel",
        key_column="fuel",
    ),
    rules=(
        EitherRule("fuel", "fuel_name"),
        SumRule(
            "consumed_total",
            ("consumed_industrial", "consumed_non_industrial"),
            reason="消费量合计 must equal 工业生产消费 + 非工业生产消费",
        ),
        AtMostRule(
            "consumed_as_feedstock",
            "consumed_industrial",
            reason="用作原料、材料 is part of 工业生产消费",
        ),
        AtMostRule(
            "consumed_transport", "consumed_total", reason="运输工具消费 is part of 消费量合计"
        ),
    ),
    aliases=(
        Alias("购进量金额千元", "purchase_value_10k_cny", "千元"),
        Alias("金额千元", "purchase_value_10k_cny", "千元"),
        Alias("购进金额千元", "purchase_value_10k_cny", "千元"),
        Alias("购进金额元", "purchase_value_10k_cny", "CNY", 1.0),
    ),
    ignored_headers=("参考折标系数", "采用折标系数", "折标系数", "序号", "行次", "备注"),
    skip_rows={
        "fuel_name": ("能源合计", "综合能源消费量", "合计", "总计"),
        "fuel": ("能源合计", "合计", "总计"),
    },
    factor_periods=FactorPeriodRule("period", SCOPE2_SERIES, when="fuel"),
)

METER_READINGS = Schema(
    kind="meter_readings",
    table="meter_readings",
    title="Electricity meter readings (电表读数)",
    columns=(
        Column(
            "meter_id",
            "string",
            codes="meter",
            aliases=("电表编号", "表号", "计量点编号", "电表号", "meter"),
        ),
        Column(
            "ts",
            "timestamp",
            earliest="2000-01-01",
            latest="finished",
            aliases=(
                "时间",
                "采集时间",
                "时间戳",
                "日期时间",
                "读数时间",
                "timestamp",
                "datetime",
                "time",
            ),
        ),
        Column(
            "kwh",
            "float64",
            unit="kWh",
            minimum=0.0,
            maximum=1e7,
            plausible="one meter in one reading interval: 10^7 kWh in an hour is a 10 GW load, "
            "more than any single industrial site",
            aliases=("电量", "用电量", "有功电量", "电量kwh", "用电量kwh", "energy_kwh"),
        ),
    ),
    natural_key=("meter_id", "ts"),
    partition="ts",
    factor_periods=FactorPeriodRule("ts", {"": SCOPE2_SERIES["electricity"]}),
)

#: Columns shared by the statistics kinds (annual and monthly).
_REGION = Column(
    "region_code",
    "string",
    codes="region",
    pattern=r"\d{6}",
    aliases=("行政区划代码", "区划代码", "地区代码", "region", "adcode"),
)
_INDICATOR = Column(
    "indicator", "string", codes="indicator", aliases=("指标", "指标名称", "指标代码")
)

CITY_STATISTICS = Schema(
    kind="city_statistics",
    table="city_statistics",
    title="City and district statistics (统计年鉴指标)",
    columns=(
        _REGION,
        Column("year", "int64", minimum=1949, latest="finished", aliases=("年份", "年度", "年")),
        _INDICATOR,
        Column(
            "price_basis",
            "string",
            required=False,
            nullable=True,
            default="",
            pattern=r"current|comparable_\d{4}",
            aliases=("价格口径", "价格基准", "计价方式"),
        ),
        Column(
            "value",
            "float64",
            minimum=0.0,
            maximum=1e8,
            plausible="above the national total of China for every indicator in its unit (GDP "
            "1.3 x 10^6 x 10^8 CNY, floor area 7 x 10^6 x 10^4 m2)",
            aliases=("数值", "值", "指标值"),
        ),
        Column("unit", "string", aliases=("计量单位", "单位")),
    ),
    natural_key=("region_code", "year", "indicator", "price_basis"),
    partition="year",
    unit_rule=UnitRule("unit", ("value",), target="indicator", key_column="indicator"),
)

#: Monthly statistics (月度统计): the in-year proxies of the city-wide nowcast (全社会用电量 from
#: the grid company's monthly release, 汽油/柴油销售量 from the commerce bureau's fuel statistics).
CITY_MONTHLY_STATISTICS = Schema(
    kind="city_monthly_statistics",
    table="city_monthly_statistics",
    title="City monthly statistics: electricity consumption, fuel sales (月度统计: 全社会用电量、成品油销售量)",
    columns=(
        _REGION,
        Column("period", "month", earliest="1990-01-01", latest="finished", aliases=_PERIOD),
        _INDICATOR,
        Column(
            "value",
            "float64",
            minimum=0.0,
            maximum=1e7,
            plausible="above a month of the national total of China for every indicator in "
            "its unit (electricity 9 x 10^3 x 10^8 kWh, fuel sales 3 x 10^3 x 10^4 t)",
            aliases=("数值", "值", "指标值"),
        ),
        Column("unit", "string", aliases=("计量单位", "单位")),
    ),
    natural_key=("region_code", "period", "indicator"),
    partition="period",
    unit_rule=UnitRule("unit", ("value",), target="indicator", key_column="indicator"),
)

#: The city's long statistical-yearbook series (统计年鉴 / 统计公报时间序列), one row a year: the
#: drivers and emissions history of STIRPAT and of the baseline's calibration before the inventory
#: years (citycarbon.runs.scenarios). Percentages are stored in percent.
_PCT = dict(
    dtype="float64",
    required=False,
    nullable=True,
    unit="%",
    minimum=0.0,
    maximum=100.0,
    plausible="a share of a whole is at most 100 %",
)
YEARBOOK_SERIES = Schema(
    kind="yearbook_series",
    table="yearbook_series",
    title="Statistical-yearbook series of drivers and emissions, one row a year (统计年鉴时间序列)",
    columns=(
        _REGION,
        Column("year", "int64", minimum=1949, latest="finished", aliases=("年份", "年度", "年")),
        Column(
            "population_1e4",
            "float64",
            unit="10^4 persons",
            minimum=0.0,
            maximum=2e5,
            plausible="2 x 10^5 x 10^4 persons is above the population of China",
            aliases=("年末常住人口（万人）", "常住人口万人", "常住人口", "population"),
        ),
        Column(
            "urbanisation_rate_pct",
            **_PCT,
            aliases=(
                "常住人口城镇化率（%）",
                "常住人口城镇化率",
                "城镇化率",
                "urbanisation_rate",
                "urbanization_rate",
            ),
        ),
        Column(
            "gdp_comparable_1e8_cny",
            "float64",
            unit="10^8 CNY",
            minimum=0.0,
            maximum=1e7,
            plausible="10^7 x 10^8 CNY is several times the GDP of China",
            aliases=("地区生产总值（可比价，亿元）", "地区生产总值可比价", "gdp_comparable"),
            doc="GDP at the comparable (constant) prices of gdp_base_year",
        ),
        Column(
            "gdp_base_year",
            "int64",
            minimum=1949,
            latest="finished",
            aliases=("可比价基年", "不变价基年", "价格基年", "base_year"),
            doc="the year whose prices the comparable GDP is in (one base year per city)",
        ),
        Column(
            "secondary_share_pct",
            **_PCT,
            aliases=(
                "第二产业增加值占GDP比重（%）",
                "第二产业增加值占比",
                "第二产业比重",
                "第二产业占gdp比重",
                "secondary_share",
            ),
            doc="secondary-sector value added / GDP at current prices (三次产业结构)",
        ),
        Column(
            "energy_consumption_1e4_tce",
            "float64",
            required=False,
            nullable=True,
            unit="10^4 tce",
            minimum=0.0,
            maximum=1e6,
            plausible="10^6 x 10^4 tce is above the energy consumption of China",
            aliases=("能源消费总量（万吨标准煤）", "能源消费总量", "energy_consumption"),
        ),
        Column(
            "co2_1e4_t",
            "float64",
            required=False,
            nullable=True,
            unit="10^4 t",
            minimum=0.0,
            maximum=2e6,
            plausible="2 x 10^6 x 10^4 t is above the CO2 emissions of China",
            aliases=("二氧化碳排放量（万吨）", "二氧化碳排放量", "co2_emissions"),
            doc="the city's CO2 as its statistics or carbon accounting publish it",
        ),
        Column(
            "source",
            "string",
            required=False,
            nullable=True,
            aliases=("数据来源", "来源", "出处"),
            doc="where the row's figures are published (yearbook table, bulletin) or 'synthetic'",
        ),
    ),
    natural_key=("region_code", "year"),
    partition="year",
)

INDUSTRIAL_OUTPUT = Schema(
    kind="industrial_output",
    table="industrial_output",
    title="Industrial output by enterprise, month and product (工业产品产量)",
    columns=(
        Column("enterprise_code", "string", codes="enterprise", aliases=_ENTERPRISE),
        Column("period", "month", earliest="1990-01-01", latest="finished", aliases=_PERIOD),
        Column("product", "string", aliases=("产品名称", "产品", "product_name")),
        Column(
            "quantity",
            "float64",
            minimum=0.0,
            maximum=1e10,
            plausible="one enterprise's monthly output of one product: 10^10 of any unit (t, "
            "pieces, m2) is beyond a national output",
            aliases=("产量", "数量", "实物量"),
        ),
        Column("unit", "string", aliases=("计量单位", "单位")),
        Column(
            "output_value_10k_cny",
            "float64",
            required=False,
            nullable=True,
            unit="10^4 CNY",
            minimum=0.0,
            maximum=1e8,
            plausible=_VALUE_WHY,
            aliases=("产值万元", "工业总产值万元", "产值", "工业总产值"),
        ),
    ),
    natural_key=("enterprise_code", "period", "product"),
    partition="period",
)

GREEN_ELECTRICITY = Schema(
    kind="green_electricity",
    table="green_electricity",
    title="Green electricity bought: certificates and green-power contracts (绿证、绿电交易)",
    columns=(
        Column("enterprise_code", "string", codes="enterprise", aliases=_ENTERPRISE),
        Column("period", "month", earliest="2017-01-01", latest="finished", aliases=_PERIOD),
        Column(
            "mwh",
            "float64",
            unit="MWh",
            minimum=0.0,
            maximum=1e8,
            plausible="one enterprise in one month: 10^8 MWh is more than the yearly "
            "electricity use of the largest enterprise",
            aliases=("电量mwh", "绿电电量", "交易电量", "电量兆瓦时", "电量"),
        ),
        Column(
            "instrument",
            "string",
            codes="instrument",
            aliases=("类型", "方式", "绿电类型", "交易方式"),
        ),
        Column(
            "certificate_id",
            "string",
            required=False,
            nullable=True,
            aliases=("证书编号", "绿证编号", "certificate"),
        ),
    ),
    natural_key=("certificate_id",),
    alt_key=("enterprise_code", "period", "instrument"),
    partition="period",
    rules=(RequiredIfRule("certificate_id", "instrument", "green_certificate"),),
)

ENTERPRISE_VALUE_ADDED = Schema(
    kind="enterprise_value_added",
    table="enterprise_value_added",
    title="Value added by enterprise and month (工业增加值, 收入法), for carbon efficiency (碳效)",
    columns=(
        Column("enterprise_code", "string", codes="enterprise", aliases=_ENTERPRISE),
        Column("period", "month", earliest="1990-01-01", latest="finished", aliases=_PERIOD),
        Column(
            "value_added_10k_cny",
            "float64",
            unit="10^4 CNY",
            minimum=-1e8,
            maximum=1e8,
            plausible=_VALUE_WHY + " (negative: a loss-making month by the income approach)",
            aliases=("工业增加值万元", "增加值万元", "工业增加值", "增加值", "value_added"),
        ),
    ),
    natural_key=("enterprise_code", "period"),
    partition="period",
)

# --- energy balance (能源平衡表), city/district level: issue 5 (inventory) -------------------
ENERGY_BALANCE = Schema(
    kind="energy_balance",
    table="energy_balance",
    title="Energy balance table by region, year, item and fuel (能源平衡表, 实物量)",
    columns=(
        Column(
            "region_code",
            "string",
            codes="region",
            pattern=r"\d{6}",
            aliases=("行政区划代码", "区划代码", "地区代码", "地区", "region", "adcode"),
        ),
        Column("year", "int64", minimum=1949, latest="finished", aliases=("年份", "年度", "年")),
        Column(
            "item",
            "string",
            codes="balance_item",
            aliases=("项目", "指标", "平衡表项目", "行项目", "item_code"),
            doc="item code or name of accounting/data/balance_items.csv (调入量, 火力发电, 工业 ...)",
        ),
        Column(
            "fuel",
            "string",
            codes="fuel",
            aliases=("能源品种", "能源名称", "品种", "能源", "能源代码", "fuel_code"),
        ),
        Column(
            "quantity",
            "float64",
            unit=FUEL_STAT_UNIT,
            minimum=-1e10,
            maximum=1e10,
            plausible="one city's yearly balance item of one fuel: 10^10 t (or 10^10 x 10^4 kWh) "
            "is beyond the national total of China",
            aliases=("实物量", "数量", "数值", "消费量", "value"),
            doc="signed as in the yearbook: (-) items and transformation inputs may be negative",
        ),
        Column("unit", "string", aliases=("计量单位", "单位")),
    ),
    natural_key=("region_code", "year", "item", "fuel"),
    partition="year",
    unit_rule=UnitRule("unit", ("quantity",), target="fuel", key_column="fuel"),
    skip_rows={"fuel": ("合计", "总计", "能源合计")},
)

# --- waste and sinks (issue 15): city-level yearly activity ---------------------------------
_REGION = Column(
    "region_code",
    "string",
    codes="region",
    pattern=r"\d{6}",
    aliases=("行政区划代码", "区划代码", "地区代码", "region", "adcode"),
)
_YEAR = Column("year", "int64", minimum=1950, latest="finished", aliases=("年份", "年度", "年"))
_CITY_YEAR_T = "one city in one year: 10^8 t is more than the yearly waste of any country"


def _choice(name: str, values: tuple[str, ...], aliases: tuple[str, ...], doc: str) -> Column:
    return Column(name, "string", pattern="|".join(values), aliases=aliases, doc=doc)


#: Certified offsets retired for an enterprise and its own sinks, per year: the evidence of the
#: low/zero/negative-carbon classification (rating/classification.py).
ENTERPRISE_OFFSETS = Schema(
    kind="enterprise_offsets",
    table="enterprise_offsets",
    title="Enterprise offsets retired and own sinks by year (核证减排量注销、企业自有碳汇)",
    columns=(
        Column("enterprise_code", "string", codes="enterprise", aliases=_ENTERPRISE),
        _YEAR,
        _choice(
            "kind",
            ("offset", "sink"),
            ("类别", "类型"),
            "offset (a carbon credit retired for the enterprise) or sink (its own removals)",
        ),
        Column(
            "instrument",
            "string",
            pattern=r"[A-Za-z_]{2,20}",
            aliases=("减排量类型", "碳汇类型", "instrument_code"),
            doc="offset: CCER, VER, ...; sink: forest, wetland, mangrove, ccus, ...",
        ),
        Column(
            "reference",
            "string",
            aliases=("证书编号", "注销编号", "项目编号", "serial", "site"),
            doc="serial number of the retirement, or the sink's site or project id",
        ),
        Column(
            "tco2",
            "float64",
            unit="t",
            minimum=0.0,
            maximum=1e8,
            plausible="one enterprise in one year: 10^8 tCO2 is beyond any enterprise's emissions",
            aliases=("减排量吨", "数量吨", "二氧化碳吨", "tCO2"),
        ),
    ),
    natural_key=("enterprise_code", "year", "kind", "reference"),
    partition="year",
)


#: Subsidy applications (补贴申报), one row per line: a technical-renovation loan's
#: disbursements and repayments, or a 专精特新 recognition (finance/subsidies.py); the
#: application's own fields repeat on each of its lines.
SUBSIDY_APPLICATIONS = Schema(
    kind="subsidy_applications",
    table="subsidy_applications",
    title="Subsidy applications: loan schedules and 专精特新 recognitions (补贴申报)",
    columns=(
        Column(
            "application_id",
            "string",
            pattern=r"[A-Za-z0-9_-]{1,40}",
            aliases=("申报编号", "申请编号", "application"),
        ),
        Column("line", "string", pattern=r"[0-9]{1,4}", aliases=("序号", "行号")),
        Column("enterprise_code", "string", codes="enterprise", aliases=_ENTERPRISE),
        Column(
            "year",
            "int64",
            minimum=2000,
            latest="finished",  # the schema allows future periods: this year's applications
            aliases=("申报年度", "年度", "年份"),
            doc="year of the application",
        ),
        _choice(
            "programme",
            tuple(subsidies.PROGRAMMES),
            ("政策", "补贴类别", "项目类别"),
            "renovation_loan (技改贷款贴息) or zhuanjingtexin (专精特新奖励)",
        ),
        _choice(
            "status",
            ("submitted", "approved", "rejected"),
            ("状态", "审核状态"),
            "approved applications are committed against the programme's budget",
        ),
        Column(
            "bank",
            "string",
            required=False,
            nullable=True,
            aliases=("贷款银行", "合作银行", "lender"),
        ),
        Column(
            "investment_10k_cny",
            "float64",
            required=False,
            nullable=True,
            unit="10^4 CNY",
            minimum=0.0,
            maximum=1e7,
            plausible="one project: 10^7 万元 is 1,000 亿元",
            aliases=("技改投资万元", "技术改造投资", "investment"),
        ),
        Column(
            "date",
            "timestamp",
            required=False,
            nullable=True,
            aliases=("日期", "放款还款日期"),
            doc="day of the disbursement (amount > 0) or repayment (amount < 0)",
        ),
        Column(
            "amount_10k_cny",
            "float64",
            required=False,
            nullable=True,
            unit="10^4 CNY",
            minimum=-1e7,
            maximum=1e7,
            plausible="one loan line: ±10^7 万元 is 1,000 亿元",
            aliases=("金额万元", "放款还款金额", "amount"),
            doc="disbursement > 0, repayment < 0",
        ),
        Column(
            "recognition",
            "string",
            required=False,
            nullable=True,
            pattern="|".join(subsidies.rule_set(subsidies.AWARD_RULES)["awards_10k_cny"]),
            aliases=("认定等级", "认定类型"),
            doc="provincial_sme (省级专精特新中小企业) or national_little_giant (国家级小巨人)",
        ),
        Column(
            "recognition_year",
            "int64",
            required=False,
            nullable=True,
            minimum=2000,
            latest="finished",  # the schema allows this year (allow_future)
            aliases=("认定年度", "认定年份"),
            doc="year of the 专精特新 recognition (a grant is paid for a new recognition only)",
        ),
        Column(
            "recognition_batch",
            "string",
            required=False,
            nullable=True,
            aliases=("认定批次", "批次"),
            doc="the recognition's batch as announced, e.g. 2025年第一批 (shown, not checked)",
        ),
        Column(
            "paid_10k_cny",
            "float64",
            required=False,
            nullable=True,
            unit="10^4 CNY",
            minimum=0.0,
            maximum=1e6,
            plausible="paid to one application: 10^6 万元 is 100 亿元",
            aliases=("已拨付万元", "已拨付", "paid"),
            doc="amount paid out so far, on any line of the application (summed)",
        ),
    ),
    natural_key=("application_id", "line"),
    partition="year",
    allow_future=True,
)


WASTE_DISPOSAL = Schema(
    kind="waste_disposal",
    table="waste_disposal",
    title="Solid waste treated by year, treatment and waste type (生活垃圾处理量)",
    columns=(
        _REGION,
        _YEAR,
        _choice(
            "treatment",
            (
                "landfill_managed_anaerobic",
                "landfill_managed_semi_aerobic",
                "landfill_unmanaged_deep",
                "landfill_unmanaged_shallow",
                "landfill_uncategorised",
                "incineration",
                "composting",
                "anaerobic_digestion",
            ),
            ("处理方式", "处置方式", "treatment_type"),
            "landfill_* (site type of IPCC 2006 Vol. 5 Table 3.1), incineration, composting, "
            "anaerobic_digestion",
        ),
        _choice(
            "waste_type",
            ("food", "garden", "paper", "wood", "textiles", "plastics", "inert"),
            ("垃圾组分", "组分", "废物类型"),
            "component of IPCC 2006 Vol. 5 Table 2.4 (inert = glass, metal, other inert)",
        ),
        Column(
            "quantity_t",
            "float64",
            unit="t",
            minimum=0.0,
            maximum=1e8,
            plausible=_CITY_YEAR_T,
            aliases=("处理量", "处理量吨", "数量", "quantity"),
            doc="wet weight",
        ),
        Column(
            "ch4_recovered_t",
            "float64",
            required=False,
            nullable=True,
            unit="t",
            default=0.0,
            minimum=0.0,
            maximum=1e7,
            plausible=_CITY_YEAR_T,
            aliases=("甲烷回收量", "填埋气回收甲烷"),
            doc="landfill CH4 recovered (flared or used) in the year; summed over the year's rows",
        ),
    ),
    natural_key=("region_code", "year", "treatment", "waste_type"),
    partition="year",
)

WASTEWATER = Schema(
    kind="wastewater",
    table="wastewater",
    title="Wastewater organics by year, stream and treatment (污水处理 COD)",
    columns=(
        _REGION,
        _YEAR,
        _choice(
            "stream", ("domestic", "industrial"), ("污水类型", "类型"), "domestic or industrial"
        ),
        _choice(
            "treatment",
            (
                "centralized_aerobic",
                "centralized_aerobic_overloaded",
                "anaerobic_reactor",
                "septic_system",
                "sea_river_lake_discharge",
            ),
            ("处理方式", "处理工艺"),
            "treatment or discharge system of IPCC 2006 Vol. 5 Table 6.3",
        ),
        Column(
            "cod_t",
            "float64",
            unit="t",
            minimum=0.0,
            maximum=1e8,
            plausible=_CITY_YEAR_T,
            aliases=("化学需氧量", "COD", "cod吨", "有机物总量"),
            doc="organics in the wastewater entering the system, t COD",
        ),
        Column(
            "sludge_cod_t",
            "float64",
            required=False,
            nullable=True,
            unit="t",
            default=0.0,
            minimum=0.0,
            maximum=1e8,
            plausible=_CITY_YEAR_T,
            aliases=("污泥去除COD",),
        ),
        Column(
            "ch4_recovered_t",
            "float64",
            required=False,
            nullable=True,
            unit="t",
            default=0.0,
            minimum=0.0,
            maximum=1e7,
            plausible=_CITY_YEAR_T,
            aliases=("甲烷回收量",),
        ),
        Column(
            "population_10k",
            "float64",
            required=False,
            nullable=True,
            unit="10^4 persons",
            minimum=0.0,
            maximum=1e4,
            plausible="10^8 persons served by one city's sewers",
            aliases=("服务人口", "服务人口万人"),
        ),
        Column(
            "protein_kg_per_person_yr",
            "float64",
            required=False,
            nullable=True,
            unit="kg/person/yr",
            minimum=0.0,
            maximum=100.0,
            plausible="above 100 kg protein per person and year (about 270 g a day)",
            aliases=("人均蛋白质消费量",),
        ),
    ),
    natural_key=("region_code", "year", "stream", "treatment"),
    partition="year",
)

LAND_CARBON = Schema(
    kind="land_carbon",
    table="land_carbon",
    title="Land area and carbon stock by year and land class (森林、城市绿地碳储量)",
    columns=(
        _REGION,
        _YEAR,
        _choice(
            "land_class", ("forest", "urban_green"), ("地类", "土地类型"), "forest, urban_green"
        ),
        Column(
            "area_ha",
            "float64",
            unit="ha",
            minimum=0.0,
            maximum=1e7,
            plausible="10^7 ha (100 000 km2) is larger than any Chinese prefecture city",
            aliases=("面积公顷", "面积"),
        ),
        Column(
            "carbon_stock_tc_per_ha",
            "float64",
            unit="tC/ha",
            minimum=0.0,
            maximum=1000.0,
            plausible="1 000 t C/ha is beyond the densest forest stocks",
            aliases=("单位面积碳储量", "碳密度"),
        ),
    ),
    natural_key=("region_code", "year", "land_class"),
    partition="year",
)

BLUE_CARBON_SITES = Schema(
    kind="blue_carbon_sites",
    table="blue_carbon_sites",
    title="Blue-carbon sites by year: area, planting year, monitoring (蓝碳生态系统 站点)",
    columns=(
        _REGION,
        Column("site_id", "string", aliases=("站点编号", "项目编号", "site")),
        Column("site_name", "string", aliases=("站点名称", "项目名称", "name")),
        _YEAR,
        _choice(
            "ecosystem",
            ("mangrove", "salt_marsh", "seagrass"),
            ("生态系统", "类型"),
            "mangrove, salt_marsh or seagrass",
        ),
        Column(
            "area_ha",
            "float64",
            unit="ha",
            minimum=0.0,
            maximum=1e6,
            plausible="10^6 ha of one coastal site",
            aliases=("面积公顷", "面积"),
        ),
        Column(
            "year_planted",
            "int64",
            required=False,
            nullable=True,
            minimum=1950,
            latest="finished",
            aliases=("种植年份", "修复年份"),
            doc="empty for a natural stand",
        ),
        Column(
            "soil_c_rate_tc_per_ha_yr",
            "float64",
            required=False,
            nullable=True,
            unit="tC/ha/yr",
            minimum=0.0,
            maximum=20.0,
            plausible="20 t C/ha/yr of sediment burial is beyond any measured coastal wetland",
            aliases=("沉积物碳埋藏速率",),
            doc="Tier 2 measured sediment accumulation (else the Table 4.12 default)",
        ),
        Column(
            "biomass_c_rate_tc_per_ha_yr",
            "float64",
            required=False,
            nullable=True,
            unit="tC/ha/yr",
            minimum=0.0,
            maximum=50.0,
            plausible="50 t C/ha/yr of biomass gain is beyond any mangrove stand",
            aliases=("植被固碳速率",),
            doc="Tier 2 measured biomass carbon gain (else the mangrove defaults)",
        ),
        Column(
            "lon", "float64", required=False, nullable=True, minimum=-180, maximum=180, aliases=_LON
        ),
        Column(
            "lat", "float64", required=False, nullable=True, minimum=-90, maximum=90, aliases=_LAT
        ),
        Column(
            "geometry",
            "string",
            required=False,
            nullable=True,
            aliases=("边界", "站点边界", "范围", "boundary", "geojson"),
            doc="the site's boundary: a GeoJSON Polygon or MultiPolygon (lon/lat, WGS 84 or the "
            "map's frame), its area close to area_ha",
        ),
    ),
    natural_key=("site_id", "year"),
    partition="year",
    rules=(InCityRule(), BoundaryRule()),
)

MARICULTURE = Schema(
    kind="mariculture",
    table="mariculture",
    title="Mariculture harvest by year and group (海水养殖 贝类、藻类产量)",
    columns=(
        _REGION,
        _YEAR,
        _choice(
            "species_group", ("shellfish", "seaweed"), ("类别", "养殖类别"), "shellfish or seaweed"
        ),
        Column(
            "harvest_t",
            "float64",
            unit="t",
            minimum=0.0,
            maximum=1e8,
            plausible=_CITY_YEAR_T,
            aliases=("产量", "产量吨"),
            doc="live (shellfish) or wet (seaweed) weight",
        ),
    ),
    natural_key=("region_code", "year", "species_group"),
    partition="year",
)

# --- transport by mode (issue 15): fuel sold or used per mode and kind of trip -------------
_COMBUSTIBLE = "|".join(c for c in fuels().index if c not in ("electricity", "heat"))

TRANSPORT_FUEL = Schema(
    kind="transport_fuel",
    table="transport_fuel",
    title="Transport fuel by year, facility, mode, vehicle type and trip (分交通方式燃料消费量)",
    columns=(
        _REGION,
        _YEAR,
        Column(
            "facility",
            "string",
            required=False,
            nullable=True,
            default="",
            aliases=("设施", "机场", "港口", "设施名称", "facility_name"),
            doc="aviation and navigation only: the airport or port whose fuel the row is (code "
            "and name, e.g. 'XMN 厦门高崎国际机场', '厦门港'), for its report as an entity; "
            "empty = the city's, no facility named",
        ),
        _choice(
            "mode",
            transport.MODES,
            ("交通方式", "运输方式"),
            "road, rail, navigation (water-borne) or aviation (IPCC 2006 Vol. 2 Ch. 3)",
        ),
        Column(
            "navigation_type",
            "string",
            required=False,
            nullable=True,
            default="",
            pattern="|".join(transport.NAVIGATION_TYPES),
            aliases=("水运类型", "航运类型", "船舶作业类型"),
            doc="navigation only (IPCC 2006 Vol. 2 §3.5): harbour (harbour craft and port "
            "operations afloat, trip in_boundary) or coastal (coastal and inland shipping "
            "between domestic ports), both 1.A.3.d.ii domestic; international (trip "
            "international: 1.A.3.d.i, memo); empty = not split",
        ),
        Column(
            "vehicle_type",
            "string",
            required=False,
            nullable=True,
            default="",
            pattern="|".join(transport.ROAD_VEHICLES),
            aliases=("车型", "车辆类型"),
            doc="road vehicles only: " + ", ".join(transport.ROAD_VEHICLES),
        ),
        Column(
            "technology",
            "string",
            required=False,
            nullable=True,
            default="",
            pattern="|".join(transport.TECHNOLOGIES),
            aliases=("排放控制技术", "技术"),
            doc="emission control of gasoline road vehicles (IPCC 2006 Vol. 2 Table 3.2.2); "
            "empty = the fuel's default",
        ),
        Column(
            "fuel",
            "string",
            codes="fuel",
            pattern=_COMBUSTIBLE,
            aliases=("能源品种", "燃料品种", "燃料", "能源代码"),
            doc="a fuel burnt (electricity of transport is grid energy: the energy balance)",
        ),
        _choice(
            "trip",
            transport.TRIPS,
            ("出行类型", "航线类型"),
            "in_boundary (within the city), transboundary (domestic trips leaving the city), "
            "international (fuel of trips ending abroad: memo item, outside every total)",
        ),
        Column(
            "quantity",
            "float64",
            unit=FUEL_STAT_UNIT,
            minimum=0.0,
            maximum=1e8,
            plausible="one city's yearly transport fuel of one mode: 10^8 t is beyond the "
            "national total of China",
            aliases=("消费量", "燃料消费量", "实物量", "数量"),
        ),
        Column("unit", "string", aliases=("计量单位", "单位")),
        Column(
            "lto_cycles",
            "float64",
            required=False,
            nullable=True,
            unit="1",
            minimum=0.0,
            maximum=1e7,
            plausible="one airport's yearly landing/take-off cycles: the busiest airports of "
            "the world have about 4 x 10^5",
            aliases=("起降循环数", "LTO循环数", "LTO次数"),
            doc="aviation only: landing/take-off cycles of the trips of this row (one landing and "
            "one take-off; half the airport's 起降架次), from the airport's own statistics",
        ),
        Column(
            "lto_fuel_kg_per_cycle",
            "float64",
            required=False,
            nullable=True,
            unit="kg",
            minimum=0.0,
            maximum=5e4,
            plausible="fuel of one LTO cycle: a wide-body aircraft burns a few tonnes",
            aliases=("每循环LTO燃油", "LTO单耗", "单次起降油耗"),
            doc="aviation only: average fuel of one LTO cycle below 3,000 ft [kg]; LTO fuel = "
            "cycles x fuel per cycle, cruise = quantity - LTO (IPCC 2006 Vol. 2 §3.6.1.2 Tier 2)",
        ),
    ),
    natural_key=(
        "region_code",
        "year",
        "facility",
        "mode",
        "navigation_type",
        "vehicle_type",
        "technology",
        "fuel",
        "trip",
    ),
    partition="year",
    unit_rule=UnitRule("unit", ("quantity",), target="fuel", key_column="fuel"),
    rules=(
        OnlyWhereRule("facility", "mode", transport.FACILITY_MODES),
        OnlyWhereRule("navigation_type", "mode", ("navigation",)),
        *(
            OnlyWhereRule("navigation_type", "trip", trips, value=kind)
            for kind, trips in transport.NAVIGATION_TYPES.items()
        ),
        OnlyWhereRule("lto_cycles", "mode", ("aviation",)),
        OnlyWhereRule("lto_fuel_kg_per_cycle", "mode", ("aviation",)),
        ProductAtMostRule(("lto_cycles", "lto_fuel_kg_per_cycle"), "quantity", 1e-3),
    ),
)

# --- agriculture and fugitive emissions (issue 15): city-level yearly activity, Tier 1 -------
AGRICULTURE = Schema(
    kind="agriculture",
    table="agriculture",
    title="Agricultural activity by year and item: livestock, rice, nitrogen to soils (农业活动水平)",
    columns=(
        _REGION,
        _YEAR,
        _choice(
            "item",
            agriculture.ITEMS,
            ("项目", "类别", "畜种", "活动"),
            "livestock species (quantity: average annual population, head), rice_<water regime> "
            "(IPCC 2006 Vol. 4 Table 5.12; quantity: harvested area, ha), synthetic_n, manure_n, "
            "crop_residue_n (quantity: t N applied to soils)",
        ),
        Column(
            "manure_system",
            "string",
            required=False,
            nullable=True,
            default="",
            pattern="|".join(agriculture.MANURE_SYSTEMS),
            aliases=("粪便管理方式", "粪便管理系统"),
            doc="livestock rows: the manure management system of these heads (IPCC 2006 Vol. 4 "
            "Table 10.18; pasture = pasture, range and paddock); one row per species and system",
        ),
        Column(
            "quantity",
            "float64",
            minimum=0.0,
            maximum=1e9,
            plausible="10^9 head, ha or t N in one city and year is beyond China's national total",
            aliases=("数量", "存栏量", "面积", "施用量"),
            doc="head (livestock), ha (rice), t N (nitrogen items)",
        ),
        Column(
            "days",
            "float64",
            required=False,
            nullable=True,
            unit="day",
            minimum=1.0,
            maximum=366.0,
            plausible="a crop is in the field at most one year",
            aliases=("生长期", "生长期天数"),
            doc="rice rows: cultivation period (else the default of agriculture_defaults.csv)",
        ),
    ),
    natural_key=("region_code", "year", "item", "manure_system"),
    partition="year",
)

FUGITIVE_ACTIVITY = Schema(
    kind="fugitive_activity",
    table="fugitive_activity",
    title="Fugitive-emission activity by year: coal mined, natural gas handled (逸散排放活动水平)",
    columns=(
        _REGION,
        _YEAR,
        _choice(
            "activity",
            fugitive.ACTIVITIES,
            ("活动", "类别"),
            "coal_underground, coal_surface (quantity: raw coal mined, t; 0 = no mines), "
            "gas_distribution (utility sales), gas_transmission (quantity: 10^6 m3)",
        ),
        Column(
            "quantity",
            "float64",
            minimum=0.0,
            maximum=1e9,
            plausible="10^9 t of coal or 10^15 m3 of gas in one city and year",
            aliases=("数量", "产量", "输配气量"),
            doc="t raw coal (coal_*), 10^6 m3 natural gas (gas_*)",
        ),
    ),
    natural_key=("region_code", "year", "activity"),
    partition="year",
)

PARKS = Schema(
    kind="parks",
    table="parks",
    title="Industrial parks (园区)",
    registry=True,
    columns=(
        Column("code", "string", aliases=("园区代码", "园区编号", "park_code")),
        Column("name_zh", "string", aliases=("园区名称", "名称", "name")),
        Column("name_en", "string", required=False, nullable=True, aliases=("英文名称",)),
        Column("district_code", "string", codes="district", aliases=_DISTRICT),
        Column(
            "lon", "float64", required=False, nullable=True, minimum=-180, maximum=180, aliases=_LON
        ),
        Column(
            "lat", "float64", required=False, nullable=True, minimum=-90, maximum=90, aliases=_LAT
        ),
    ),
    natural_key=("code",),
)

ENTERPRISES = Schema(
    kind="enterprises",
    table="enterprises",
    title="Enterprises (企业)",
    registry=True,
    columns=(
        Column(
            "credit_code",
            "string",
            check="credit_code",
            aliases=("统一社会信用代码", "社会信用代码", "信用代码", "uscc", "enterprise_code"),
        ),
        Column("name", "string", aliases=("企业名称", "单位名称", "名称")),
        Column(
            "industry_code",
            "string",
            required=False,
            nullable=True,
            pattern=r"[A-T]?\d{4}",
            aliases=("行业代码", "国民经济行业代码", "行业分类代码", "industry"),
        ),
        Column("district_code", "string", codes="district", aliases=_DISTRICT),
        Column(
            "park_code",
            "string",
            required=False,
            nullable=True,
            codes="park",
            aliases=("园区代码", "所属园区", "园区"),
        ),
        Column(
            "lon", "float64", required=False, nullable=True, minimum=-180, maximum=180, aliases=_LON
        ),
        Column(
            "lat", "float64", required=False, nullable=True, minimum=-90, maximum=90, aliases=_LAT
        ),
        Column(
            "is_key",
            "bool",
            required=False,
            nullable=True,
            default=False,
            aliases=("重点用能单位", "是否重点用能单位", "key_energy_user"),
        ),
    ),
    natural_key=("credit_code",),
)

GRID_NODES = Schema(
    kind="grid_nodes",
    table="grid_nodes",
    title="Power-grid nodes (电网节点)",
    registry=True,
    columns=(
        Column("node_id", "string", aliases=("节点编号", "变电站编号", "节点", "grid_node_id")),
        Column(
            "name",
            "string",
            required=False,
            nullable=True,
            aliases=("名称", "节点名称", "变电站名称"),
        ),
        Column(
            "district_code",
            "string",
            required=False,
            nullable=True,
            codes="district",
            aliases=_DISTRICT,
        ),
        Column(
            "voltage_kv",
            "float64",
            required=False,
            nullable=True,
            minimum=0.0,
            maximum=1500.0,
            plausible="the highest AC/DC transmission voltage in use is 1,100 kV",
            aliases=("电压等级kv", "电压等级", "电压"),
        ),
        Column(
            "lon", "float64", required=False, nullable=True, minimum=-180, maximum=180, aliases=_LON
        ),
        Column(
            "lat", "float64", required=False, nullable=True, minimum=-90, maximum=90, aliases=_LAT
        ),
    ),
    natural_key=("node_id",),
)

METERS = Schema(
    kind="meters",
    table="meters",
    title="Electricity meters (电表)",
    registry=True,
    columns=(
        Column("meter_id", "string", aliases=("电表编号", "表号", "计量点编号", "meter")),
        Column(
            "enterprise_code",
            "string",
            required=False,
            nullable=True,
            codes="enterprise",
            aliases=_ENTERPRISE,
        ),
        Column(
            "grid_node_id",
            "string",
            required=False,
            nullable=True,
            codes="grid_node",
            aliases=("节点编号", "所属节点", "变电站编号", "node_id"),
        ),
    ),
    natural_key=("meter_id",),
)

# --- green projects (绿色低碳项目库, issues 18 and 16) -------------------------------------
_PROJECT_WHY = "one project in one year: 10^8 is beyond any single plant or retrofit"
_PROJECT_ACTIVITY = dict(
    dtype="float64",
    required=False,
    nullable=True,
    minimum=0.0,
    maximum=1e8,
    plausible=_PROJECT_WHY,
)
GREEN_PROJECTS = Schema(
    kind="green_projects",
    table="green_projects",
    title="Green and low-carbon projects (绿色低碳项目库): demonstration and candidate projects",
    columns=(
        Column(
            "project_id",
            "string",
            pattern=r"[A-Za-z0-9_.\-]{1,40}",
            aliases=("项目编号", "项目代码", "project"),
        ),
        Column("name", "string", aliases=("项目名称", "名称", "project_name")),
        Column("owner_name", "string", aliases=("业主单位", "项目业主", "建设单位", "owner")),
        Column(
            "owner_code",
            "string",
            required=False,
            nullable=True,
            codes="enterprise",
            aliases=("业主统一社会信用代码", "统一社会信用代码", "信用代码", "owner_credit_code"),
            doc="the owner's credit code where the owner is a registered enterprise",
        ),
        Column("district_code", "string", codes="district", aliases=_DISTRICT),
        Column(
            "lon", "float64", required=False, nullable=True, minimum=-180, maximum=180, aliases=_LON
        ),
        Column(
            "lat", "float64", required=False, nullable=True, minimum=-90, maximum=90, aliases=_LAT
        ),
        Column(
            "technology",
            "string",
            codes="technology",
            aliases=("技术", "技术类别", "技术图谱编号", "technology_id"),
            doc="id (or name) of a technology of the techmap catalogue (techmap/data)",
        ),
        Column(
            "project_type",
            "string",
            codes="project_type",
            aliases=("项目类型", "类型", "type"),
            doc="project type of finance/data/project_reduction.yaml (code or name)",
        ),
        Column(
            "investment_10k_cny",
            "float64",
            unit="10^4 CNY",
            minimum=0.0,
            maximum=1e8,
            plausible="10^12 CNY is beyond any single project",
            aliases=("总投资万元", "总投资", "投资额万元", "investment"),
        ),
        Column(
            "annual_generation_mwh",
            **_PROJECT_ACTIVITY,
            unit="MWh",
            aliases=("年发电量mwh", "年发电量", "annual_generation"),
        ),
        Column(
            "energy_saved_tce",
            **_PROJECT_ACTIVITY,
            unit="tce",
            aliases=("年节能量tce", "年节能量", "节能量", "energy_saved"),
        ),
        Column(
            "fuel_replaced_tce",
            **_PROJECT_ACTIVITY,
            unit="tce",
            aliases=("替代化石能源tce", "替代化石能源量", "fuel_replaced"),
        ),
        Column(
            "added_electricity_mwh",
            **_PROJECT_ACTIVITY,
            unit="MWh",
            aliases=("新增用电量mwh", "新增用电量", "added_electricity"),
        ),
        Column(
            "status",
            "string",
            codes="project_status",
            aliases=("项目状态", "状态", "project_status"),
            doc="candidate | approved | under_construction | operating (or 储备, 已批准, 在建, 运营)",
        ),
        Column(
            "demonstration_level",
            "string",
            required=False,
            nullable=True,
            codes="demonstration_level",
            default=NOT_DEMONSTRATION,
            aliases=("示范级别", "示范项目", "示范等级", "demonstration"),
            doc="the level that recognised the project as a demonstration project (示范项目): "
            "none | district | city | provincial | national (or 无, 区级, 市级, 省级, 国家级); "
            "empty: none",
        ),
        Column(
            "demonstration_year",
            "int64",
            required=False,
            nullable=True,
            minimum=2000,
            maximum=2060,
            latest="finished",  # the schema allows future years (allow_future)
            plausible="the programme's horizon ends in 2060",
            aliases=("示范认定年份", "认定年份", "示范年份", "demonstration_recognised"),
            doc="the year the project was recognised as a demonstration project",
        ),
        Column(
            "start_year",
            "int64",
            minimum=2000,
            maximum=2060,
            latest="finished",  # a plan: future years accepted (allow_future)
            plausible="the programme's horizon ends in 2060",
            aliases=("开工年份", "起始年份", "投运年份", "start"),
        ),
        Column(
            "evidence",
            "string",
            required=False,
            nullable=True,
            pattern=r"[a-z_]+(?:\s*;\s*[a-z_]+)*",
            aliases=("证明材料", "已有材料", "evidence_held"),
            doc="codes of the evidence held, ';'-separated (finance/data/green_catalogues.yaml)",
        ),
    ),
    natural_key=("project_id",),
    allow_future=True,  # candidate projects start in years to come
    rules=(
        InCityRule(),
        *(
            RequiredIfRule(activity, "project_type", code)
            for code, spec in project_types().items()
            for activity in spec["activity"]
        ),
        *(
            RequiredIfRule("demonstration_year", "demonstration_level", level)
            for level in DEMONSTRATION_LEVELS
            if level != NOT_DEMONSTRATION
        ),
    ),
)

SCHEMAS: dict[str, Schema] = {
    s.kind: s
    for s in (
        ENERGY_MONTHLY,
        METER_READINGS,
        CITY_STATISTICS,
        CITY_MONTHLY_STATISTICS,
        YEARBOOK_SERIES,
        INDUSTRIAL_OUTPUT,
        GREEN_ELECTRICITY,
        ENTERPRISE_VALUE_ADDED,
        ENTERPRISE_OFFSETS,
        SUBSIDY_APPLICATIONS,
        ENERGY_BALANCE,
        WASTE_DISPOSAL,
        WASTEWATER,
        LAND_CARBON,
        BLUE_CARBON_SITES,
        MARICULTURE,
        TRANSPORT_FUEL,
        AGRICULTURE,
        FUGITIVE_ACTIVITY,
        PARKS,
        ENTERPRISES,
        GRID_NODES,
        METERS,
        GREEN_PROJECTS,
    )
}
#: The file name of a correction typed into the 数据 page: one row of ``kind`` replacing the
#: rejected row ``row`` of batch ``batch`` (the quarantine shows that row as resolved by it).
CORRECTION_NAME = "correction-{kind}-batch{batch}-row{row}.csv"
#: Sheets of a workbook that document it (a template's field list): never read as data.
DOC_SHEETS = ("说明", "填表说明", "README")
#: Kinds whose files are streamed in chunks (may be larger than memory).
STREAMED_KINDS = frozenset({"meter_readings"})
#: The quarantine lake table (data-contract.md): rejected rows with the reason, in English as
#: written and as a message record (``reason_key``, :mod:`citycarbon.contract.records`: the
#: catalog key ``reasons.<key>`` with its parameters; empty for a reason without a key, and
#: absent in rows quarantined before it existed).
QUARANTINE_SCHEMA = pa.schema(
    [
        ("batch_id", pa.int64()),
        ("kind", pa.string()),
        ("source_name", pa.string()),
        ("source_row", pa.int64()),
        ("column", pa.string()),
        ("value", pa.string()),
        ("reason", pa.string()),
        ("raw", pa.string()),
        ("reason_key", pa.string()),
    ]
)


def get_schema(kind: str) -> Schema:
    """The schema of an ingest kind; unknown kinds raise with suggestions."""
    try:
        return SCHEMAS[kind]
    except KeyError:
        raise UnknownCodeError("ingest kind", kind, SCHEMAS, field="kind") from None


# ------------------------------------------------------------------------------- headers
_HEADER_DROP = re.compile(r"[\s()（）\[\]【】{}:：#＃*＊、,，.。;；'\"`_\-/\\|]+")
_ENUM_PREFIX = re.compile(r"^(?:\d+\.|[一二三四五六七八九十]+、|\(\d+\)|（\d+）)")


def normalize_header(text: object) -> str:
    """A header reduced for matching: NFKC, lower case, without enumeration, blanks and punctuation.

    ``'1.工业生产消费'``, ``'金额（千元）'``, ``'Enterprise Code'`` → ``'工业生产消费'``,
    ``'金额千元'``, ``'enterprisecode'``.
    """
    s = unicodedata.normalize("NFKC", str(text)).strip().lstrip("\ufeff").lower()
    s = _ENUM_PREFIX.sub("", s.strip())
    return _HEADER_DROP.sub("", s)


@dataclass(frozen=True)
class HeaderMatch:
    """How a file's headers map to a schema."""

    columns: dict[str, str]  # canonical column -> source header
    scaled: dict[str, tuple[str, str, float]]  # canonical column -> (header, unit, scale)
    ignored: list[str]  # known headers carrying nothing to store
    unknown: list[str]  # headers of no column (ignored, reported)
    missing: list[str]  # required columns not found


@cache
def _header_index(kind: str) -> dict[str, tuple[str, Alias | None]]:
    schema = get_schema(kind)
    index: dict[str, tuple[str, Alias | None]] = {}
    for col in schema.columns:
        for name in (col.name, *col.aliases):
            index.setdefault(normalize_header(name), (col.name, None))
    for alias in schema.aliases:
        index[normalize_header(alias.header)] = (alias.column, alias)
    for header in schema.ignored_headers:
        index.setdefault(normalize_header(header), ("", None))
    return index


def match_headers(
    kind: str,
    headers: list[str],
    *,
    source: str | None = None,
    sub_headers: list[str] | None = None,
) -> HeaderMatch:
    """Map a file's headers to the columns of ``kind``.

    A header is matched on its normalised form (:func:`normalize_header`); with ``sub_headers``
    (the second row of a two-row Excel header, e.g. 购进量 / 实物量, 金额（千元）) the pair is tried
    first, then the sub-header alone, then the header alone.

    Raises
    ------
    InputError
        Two headers that name the same column.
    """
    index = _header_index(kind)
    schema = get_schema(kind)
    columns: dict[str, str] = {}
    scaled: dict[str, tuple[str, str, float]] = {}
    ignored, unknown = [], []
    for i, header in enumerate(headers):
        sub = (sub_headers[i] if sub_headers and i < len(sub_headers) else None) or ""
        candidates = ([header + sub, sub] if sub else []) + [header]
        hit = next(
            (index[normalize_header(c)] for c in candidates if c and normalize_header(c) in index),
            None,
        )
        label = f"{header} {sub}".strip() if sub else str(header)
        if hit is None:
            if label:
                unknown.append(label)
            continue
        name, alias = hit
        if not name:
            ignored.append(label)
            continue
        if name in columns or name in scaled:
            first = columns.get(name) or scaled[name][0]
            raise InputError(
                f"headers {first!r} and {label!r} both name column {name!r}",
                source=source,
                field=label,
            )
        if alias is None:
            columns[name] = label
        else:
            scaled[name] = (label, alias.unit, alias.scale)
    missing = [c for c in schema.required if c not in columns and c not in scaled]
    return HeaderMatch(columns, scaled, ignored, unknown, missing)


def raw_rows(raw_json: pd.Series) -> pd.DataFrame:
    """Quarantined rows as written (their ``raw`` JSON lines) as a table of source headers."""
    if raw_json.empty:
        return pd.DataFrame(index=raw_json.index)
    frame = pd.read_json(
        io.StringIO("\n".join(raw_json)),
        lines=True,
        dtype=False,
        convert_dates=False,
        keep_default_dates=False,
    )
    frame.index = raw_json.index
    return frame


def canonical_rows(kind: str, raw: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Source rows keyed by the kind's column names (headers matched as the ingest matches them),
    and the headers the ingest takes in another unit (e.g. 金额（千元）), kept as they are."""
    match = match_headers(kind, [str(c) for c in raw.columns])
    out = pd.DataFrame(
        {name: raw[header] for name, header in match.columns.items()}, index=raw.index
    )
    return out, [header for header, _, _ in match.scaled.values()]


# -------------------------------------------------------------------------------- checks
@dataclass
class CheckContext:
    """What the checks need besides the rows: code lists, the city's time zone, the clock."""

    timezone: str
    now: pd.Timestamp  # UTC
    codes: dict[str, pa.Array] = field(default_factory=dict)  # membership code lists
    source: str = ""
    #: Schema.factor_periods resolved for the city: value of its ``when`` column -> (series
    #: label, first data year or None if the profile has none); empty: not checked
    factor_years: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    #: the city's bounding box (min lon, min lat, max lon, max lat), for :class:`InCityRule`
    city_bbox: tuple[float, float, float, float] | None = None

    @property
    def local_now(self) -> pd.Timestamp:
        return self.now.tz_convert(self.timezone)


class _Problems:
    """Row problems collected column by column: (row position, column, value, reason, reason
    key: the message record the faces say the reason with)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.bad = np.zeros(n, dtype=bool)
        self.parts: list[tuple[np.ndarray, str, pa.Array, str | np.ndarray, str | np.ndarray]]
        self.parts = []

    def add(
        self,
        mask: np.ndarray,
        column: str,
        values: pa.Array,
        reason: str | np.ndarray,
        key: str | np.ndarray = "",
    ) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            pos = np.flatnonzero(mask)
            why = reason[pos] if isinstance(reason, np.ndarray) else reason
            said = key[pos] if isinstance(key, np.ndarray) else key
            self.parts.append((pos, column, values, why, said))
            self.bad[pos] = True

    def flagged(self, column: str) -> np.ndarray:
        """Rows with a problem in ``column`` so far."""
        mask = np.zeros(self.n, dtype=bool)
        for pos, col, *_ in self.parts:  # problems found, not rows
            if col == column:
                mask[pos] = True
        return mask

    def table(self, rows: np.ndarray) -> pa.Table:
        """Problems as a table: ``_row`` (source row), ``column``, ``value``, ``reason``,
        ``reason_key``."""
        if not self.parts:
            return pa.table(
                {
                    name: pa.array([], pa.int64() if name == "_row" else pa.string())
                    for name in ("_row", "column", "value", "reason", "reason_key")
                }
            )
        pieces = []
        for pos, column, values, why, said in self.parts:
            vals = _as_text(values.take(pa.array(pos)))
            n = len(pos)
            pieces.append(
                pa.table(
                    {
                        "_row": pa.array(rows[pos], pa.int64()),
                        "column": pa.array(np.full(n, column, dtype=object), pa.string()),
                        "value": vals,
                        "reason": pa.array(
                            np.broadcast_to(np.asarray(why, dtype=object), (n,)), pa.string()
                        ),
                        "reason_key": pa.array(
                            np.broadcast_to(np.asarray(said, dtype=object), (n,)), pa.string()
                        ),
                    }
                )
            )
        return pa.concat_tables(pieces)


def _np(arr: pa.Array | pa.ChunkedArray, dtype: str | None = None) -> np.ndarray:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    out = arr.to_numpy(zero_copy_only=False)
    return out.astype(dtype) if dtype else out


def _as_text(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Any Arrow array as trimmed text, empty text as null (the value a user wrote)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.string())
    if pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    if not pa.types.is_string(arr.type):
        arr = pc.cast(arr, pa.string())
    arr = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def _present(arr: pa.Array) -> np.ndarray:
    return _np(pc.is_valid(arr), "bool")


_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_THOUSANDS = r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$"
_INTEGER = r"^[+-]?\d+(\.0*)?$"


def _empty_marks(text: pa.Array) -> pa.Array:
    marks = pc.is_in(text, value_set=pa.array(_EMPTY_MARKS))
    return pc.if_else(marks, pa.scalar(None, pa.string()), text)


def to_float(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numbers from text or numeric Arrow data: (values with NaN for missing, given, bad).

    Text may use thousands separators (``1,234.5``); ``-``, ``—``, ``/`` and empty cells are
    missing. Anything else that is not a finite decimal number is bad.
    """
    if (
        pa.types.is_integer(arr.type)
        or pa.types.is_floating(arr.type)
        or pa.types.is_decimal(arr.type)
        or pa.types.is_boolean(arr.type)
    ):
        values = _np(pc.cast(arr, pa.float64()).fill_null(np.nan), "float64")
        given = _present(arr) & ~np.isnan(values)
        bad = given & ~np.isfinite(values)
        return np.where(bad, np.nan, values), given & ~bad, bad
    text = _empty_marks(_as_text(arr))
    given = _present(text)
    grouped = pc.match_substring_regex(text, _THOUSANDS).fill_null(False)
    text = pc.if_else(grouped, pc.replace_substring(text, ",", ""), text)
    ok = pc.match_substring_regex(text, _NUMBER).fill_null(False)
    values = _np(
        pc.cast(pc.if_else(ok, text, pa.scalar(None, pa.string())), pa.float64()).fill_null(np.nan),
        "float64",
    )
    ok_np = _np(ok, "bool") & np.isfinite(values)
    return np.where(ok_np, values, np.nan), ok_np, given & ~ok_np


def to_int(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integers (as float64 array for NaN) from text or numbers: (values, given, bad)."""
    values, given, bad = to_float(arr)
    frac = given & (values != np.floor(np.where(given, values, 0)))
    return np.where(frac, np.nan, values), given & ~frac, bad | frac


def to_bool(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Booleans from bool columns or text (true/false, 1/0, yes/no, 是/否): (values, given, bad)."""
    if pa.types.is_boolean(arr.type):
        given = _present(arr)
        return _np(arr.fill_null(False), "bool"), given, np.zeros(len(arr), dtype=bool)
    text = pc.utf8_lower(_empty_marks(_as_text(arr)))
    given = _present(text)
    keys = pa.array(list(BOOL_SPELLINGS))
    idx = _np(pc.index_in(text, value_set=keys).fill_null(-1), "int64")
    lookup = np.array([*BOOL_SPELLINGS.values(), False])
    return lookup[idx], given & (idx >= 0), given & (idx < 0)


_MONTH_RE = (
    r"^(?P<y>\d{4})\s*(?:[-/.年]\s*(?P<m>\d{1,2})|(?P<m2>\d{2}))\s*月?"
    r"(?:\s*[-/.]?\s*(?P<d>\d{1,2})\s*日?)?(?:[ T]0{1,2}:00(?::00(?:\.0+)?)?)?$"
)


def _ints(struct: pa.Array, name: str) -> np.ndarray:
    text = pc.struct_field(struct, name)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    return _np(pc.cast(text, pa.int64()).fill_null(-1), "int64")


def _month_index(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    return (y - 1970) * 12 + (m - 1)


def to_month(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Months from dates or text: (days since 1970 of the month's 1st, given, bad, not_first).

    Accepted text: ``2024-01``, ``2024/1``, ``2024年1月``, ``202401``, ``2024-01-01`` (a date
    must be the 1st of its month; ``not_first`` flags other days).
    """
    n = len(arr)
    if pa.types.is_date(arr.type) or pa.types.is_timestamp(arr.type):
        given = _present(arr)
        y = _np(pc.year(arr).fill_null(1970), "int64")
        m = _np(pc.month(arr).fill_null(1), "int64")
        d = _np(pc.day(arr).fill_null(1), "int64")
        if pa.types.is_timestamp(arr.type):
            midnight = _np(
                pc.equal(
                    pc.cast(
                        pc.subtract(
                            pc.cast(arr, pa.timestamp("us")),
                            pc.floor_temporal(pc.cast(arr, pa.timestamp("us")), unit="day"),
                        ),
                        pa.int64(),
                    ),
                    0,
                ).fill_null(True),
                "bool",
            )
        else:
            midnight = np.ones(n, dtype=bool)
        days = _month_index(y, m).astype("datetime64[M]").astype("datetime64[D]").astype("int64")
        not_first = given & ((d != 1) | ~midnight)
        return days, given, np.zeros(n, dtype=bool), not_first
    text = _empty_marks(_as_text(arr))
    given = _present(text)
    parts = pc.extract_regex(text, _MONTH_RE)
    matched = _np(pc.is_valid(parts), "bool")
    y, m, m2, d = (_ints(parts, k) for k in ("y", "m", "m2", "d"))
    m = np.where(m >= 0, m, m2)
    ok = matched & (m >= 1) & (m <= 12)
    days = np.where(ok, _month_index(y, np.where(ok, m, 1)), 0).astype("datetime64[M]")
    days = days.astype("datetime64[D]").astype("int64")
    not_first = ok & (d >= 0) & (d != 1)
    return days, given & ok, given & ~ok, not_first


_TS_RE = (
    r"^(?P<y>\d{4})[-/.](?P<mo>\d{1,2})[-/.](?P<d>\d{1,2})"
    r"(?:[ T]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,6})\d*)?)?)?"
    r"\s*(?P<z>Z|[+-]\d{2}:?\d{2})?$"
)


def to_timestamp(arr: pa.Array, timezone: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTC microseconds from timestamps, dates or text: (values, given, bad).

    Naive values (no offset) are wall-clock time of ``timezone`` (the city); text may carry an
    offset (``Z``, ``+08:00``). Accepted text: ``2024-01-31 23:00[:00[.ffffff]]``, ``T``
    between date and time, ``/`` or ``.`` between date parts, a date alone (midnight).
    """
    n = len(arr)
    if pa.types.is_timestamp(arr.type) or pa.types.is_date(arr.type):
        given = _present(arr)
        ts = arr
        if pa.types.is_date(ts.type):
            ts = pc.cast(pc.cast(ts, pa.timestamp("s")), pa.timestamp("us"))
        if ts.type.tz is None:
            ts = pc.assume_timezone(
                pc.cast(ts, pa.timestamp("us")),
                timezone=timezone,
                ambiguous="earliest",
                nonexistent="earliest",
            )
        values = _np(
            pc.cast(pc.cast(ts, pa.timestamp("us", tz="UTC")), pa.int64()).fill_null(0), "int64"
        )
        return values, given, np.zeros(n, dtype=bool)
    text = _empty_marks(_as_text(arr))
    given = _present(text)
    # fast path: the common 'YYYY-MM-DD HH:MM:SS' local time; the rest through the full parser
    fast = pc.strptime(text, format="%Y-%m-%d %H:%M:%S", unit="us", error_is_null=True)
    fast_ok = _present(fast)
    if fast_ok.any():
        utc = pc.assume_timezone(
            fast, timezone=timezone, ambiguous="earliest", nonexistent="earliest"
        )
        values = _np(pc.cast(utc, pa.int64()).fill_null(0), "int64")
        rest = given & ~fast_ok
        if rest.any():
            idx = np.flatnonzero(rest)
            v2, ok2, _ = _parse_timestamps(text.take(pa.array(idx)), timezone)
            values[idx] = v2
            fast_ok[idx] = ok2
        return values, fast_ok, given & ~fast_ok
    return _parse_timestamps(text, timezone)


def _parse_timestamps(text: pa.Array, timezone: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(text)
    given = _present(text)
    parts = pc.extract_regex(text, _TS_RE)
    matched = _np(pc.is_valid(parts), "bool")
    y, mo, d, h, mi, s = (_ints(parts, k) for k in ("y", "mo", "d", "h", "mi", "s"))
    frac_text = pc.struct_field(parts, "f")
    frac_text = pc.if_else(
        pc.equal(frac_text, ""),
        pa.scalar(None, pa.string()),
        pc.utf8_rpad(frac_text, width=6, padding="0"),
    )
    frac = _np(pc.cast(frac_text, pa.int64()).fill_null(0), "int64")
    h, mi, s = np.maximum(h, 0), np.maximum(mi, 0), np.maximum(s, 0)
    ok = matched & (mo >= 1) & (mo <= 12) & (d >= 1) & (h < 24) & (mi < 60) & (s < 60)
    month = np.where(ok, _month_index(y, np.where(ok, mo, 1)), 0).astype("datetime64[M]")
    day = month.astype("datetime64[D]") + np.where(ok, d - 1, 0)
    ok &= day.astype("datetime64[M]") == month  # 31 February is no date
    local_us = (day.astype("int64") * 86_400 + h * 3600 + mi * 60 + s) * 1_000_000 + frac
    zone = pc.struct_field(parts, "z")
    has_zone = _np(pc.and_(pc.is_valid(parts), pc.not_equal(zone, "")).fill_null(False), "bool")
    offset_us = np.zeros(n, dtype="int64")
    if has_zone.any():
        zone_txt = pc.replace_substring(pc.if_else(pc.equal(zone, "Z"), "+0000", zone), ":", "")
        zones = np.where(has_zone, _np(zone_txt.fill_null("+0000"), None).astype(str), "+0000")
        distinct, inverse = np.unique(zones, return_inverse=True)
        secs = np.array(
            [
                (-1 if z[0] == "-" else 1) * (int(z[1:3]) * 3600 + int(z[3:5]) * 60)
                for z in distinct
            ],
            dtype="int64",
        )  # distinct offsets, not rows
        offset_us = secs[inverse] * 1_000_000
    values = np.where(has_zone, local_us - offset_us, 0)
    naive = ok & ~has_zone
    if naive.any():
        local = pa.array(np.where(naive, local_us, 0), pa.timestamp("us"))
        utc = pc.assume_timezone(
            local, timezone=timezone, ambiguous="earliest", nonexistent="earliest"
        )
        values = np.where(naive, _np(pc.cast(utc, pa.int64()), "int64"), values)
    return values, given & ok, given & ~ok


def to_text(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Trimmed text (empty → null) and whether given; numbers written as text (``10001``)."""
    text = _as_text(arr)
    return text, _present(text)


# ----------------------------------------------------------------------- vocabularies lookup
#: Vocabularies that are a code -> other spellings map of this module.
_WORD_LISTS: dict[str, dict[str, tuple[str, ...]]] = {
    "instrument": INSTRUMENTS,
    "project_status": PROJECT_STATUSES,
    "demonstration_level": DEMONSTRATION_LEVELS,
}


def _spelling_map(kind: str) -> dict[str, str]:
    if kind == "fuel":
        table = fuels()
        spell: dict[str, str] = {}
        for code in table.index:  # the fuel list: tens of rows
            row = table.loc[code]
            for w in (code, row["name_zh"], row["name_en"], *row["aliases"].split(";")):
                if w.strip():
                    spell.setdefault(w.strip().lower(), code)
        return spell
    if kind == "indicator":
        spell = {}
        for ind in INDICATORS:
            for w in (ind.code, ind.zh):
                spell[w.lower()] = ind.code
        return spell
    if kind == "balance_item":  # 能源平衡表 items (citycarbon.accounting.balance)
        spell = {}
        for code, row in balance_items().iterrows():  # tens of items
            for w in (code, row["zh"], row["en"], *row["aliases"].split(";")):
                if w.strip():
                    spell.setdefault(w.strip().lower(), code)
        return spell
    if kind in _WORD_LISTS:
        words_of = _WORD_LISTS[kind]
        return {w.lower(): code for code, words in words_of.items() for w in (code, *words)}
    if kind == "technology":  # the techmap catalogue: tens of technologies
        techs = technologies()
        return {
            str(w).strip().lower(): code
            for code, zh, en in zip(techs["id"], techs["name_zh"], techs["name_en"], strict=True)
            for w in (code, zh, en)
        }
    if kind == "project_type":
        return {
            str(w).lower(): code
            for code, spec in project_types().items()
            for w in (code, spec["zh"], spec["en"])
        }
    raise KeyError(kind)


VOCABULARIES = (
    "fuel",
    "indicator",
    "instrument",
    "balance_item",
    "technology",
    "project_type",
    "project_status",
    "demonstration_level",
)


def resolve_vocabulary(kind: str, text: pa.Array) -> tuple[pa.Array, np.ndarray, list[str]]:
    """Map spellings of a vocabulary (fuel, indicator, instrument) to codes over distinct values.

    Returns the codes (null where unknown), a mask of unknown given values and the known
    spellings (for suggestions).
    """
    spell = _spelling_map(kind)
    lowered = pc.utf8_lower(text)
    enc = (
        pc.dictionary_encode(lowered).combine_chunks()
        if isinstance(lowered, pa.ChunkedArray)
        else pc.dictionary_encode(lowered)
    )
    uniques = enc.dictionary.to_pylist()
    mapped = pa.array([spell.get(u) for u in uniques], pa.string())  # distinct values only
    codes = mapped.take(enc.indices)
    unknown = _present(text) & ~_present(codes)
    return codes, unknown, sorted(spell)  # every spelling, so a typo of a Chinese name matches


def _suggest_reason(
    kind: str, values: pa.Array, mask: np.ndarray, known: list[str], label: str, note: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """Reasons for unknown codes, with suggestions for (at most 50) distinct unknown values,
    and their message records (``unknown`` / ``unknown_hint`` with the column's code list)."""
    reasons = np.full(len(values), "", dtype=object)
    keys = np.full(len(values), "", dtype=object)
    pos = np.flatnonzero(mask)
    if not len(pos):
        return reasons, keys
    bad = _np(values.take(pa.array(pos)), None)
    distinct, inverse = np.unique(bad.astype(str), return_inverse=True)
    texts, said = [], []
    for i, v in enumerate(distinct):  # distinct unknown values, not rows
        hints = close_matches(v, known) if i < 50 and len(known) < 200_000 else []
        hint = f" (did you mean {', '.join(repr(h) for h in hints)}?)" if hints else ""
        texts.append(f"{label} {str(v)!r} is unknown{note}{hint}")
        shown = ", ".join(map(str, hints)) or None
        said.append(
            message_record("unknown_hint" if hints else "unknown", what=kind, value=v, hint=shown)
        )
    reasons[pos] = np.array(texts, dtype=object)[inverse]
    keys[pos] = np.array(said, dtype=object)[inverse]
    return reasons, keys


# ---------------------------------------------------------------------------------- limits
def _date_limit(spec: str | None, ctx: CheckContext) -> pd.Timestamp | None:
    """A declared date limit (ISO date) as a timestamp."""
    return None if spec is None else pd.Timestamp(spec)


# ------------------------------------------------------------------------------ main check
@dataclass
class Checked:
    """Result of :func:`check_table` for one chunk of rows."""

    table: pa.Table  # every row, typed (columns of the schema's output, plus ``_row``)
    bad: np.ndarray  # rows with at least one problem
    problems: pa.Table  # _row, column, value, reason, reason_key (several per row possible)
    skipped: np.ndarray  # rows that are not data (form total rows), neither kept nor rejected


def check_table(schema: Schema, raw: pa.Table, ctx: CheckContext) -> Checked:
    """Type, unit, code, range and rule checks of one chunk of rows, all vectorised.

    Parameters
    ----------
    schema : Schema
    raw : pyarrow.Table
        Columns named as the schema's (after :func:`match_headers`), in any Arrow type (text
        from CSV/Excel, typed from Parquet), plus ``_row`` (the row number the user sees) and
        ``<column>__scale``/``<column>__unit`` for columns given in another unit (e.g. 千元).
    ctx : CheckContext

    Returns
    -------
    Checked
        The typed rows and, per row, what is wrong with it.
    """
    n = raw.num_rows
    rows = _np(raw["_row"], "int64")
    problems = _Problems(n)
    out: dict[str, pa.Array | np.ndarray] = {}
    text_of: dict[str, pa.Array] = {}

    def column(name: str) -> pa.Array | None:
        if name not in raw.column_names:
            return None
        arr = raw[name]
        return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr

    skipped = np.zeros(n, dtype=bool)
    for name, words in schema.skip_rows.items():
        arr = column(name)
        if arr is not None:
            skipped |= _np(
                pc.is_in(_as_text(arr), value_set=pa.array(list(words))).fill_null(False), "bool"
            )

    for col in schema.columns:
        arr = column(col.name)
        if arr is None:
            arr = pa.nulls(n, pa.string())
            if col.default is not None:
                arr = pa.array(np.full(n, col.default, dtype=object))
        text_of[col.name] = arr
        if col.dtype == "string":
            values, given = to_text(arr)
            if col.default is not None:
                values = values.fill_null(col.default)
                given = np.ones(n, dtype=bool)
            bad = np.zeros(n, dtype=bool)
        elif col.dtype == "float64":
            values, given, bad = to_float(arr)
            scale_col = column(f"{col.name}__scale")
            if scale_col is not None:
                values = values * _np(scale_col.fill_null(1.0), "float64")
            problems.add(bad, col.name, arr, "not a number", message_record("not_number"))
        elif col.dtype == "int64":
            values, given, bad = to_int(arr)
            problems.add(bad, col.name, arr, "not a whole number", message_record("not_integer"))
        elif col.dtype == "bool":
            values, given, bad = to_bool(arr)
            problems.add(
                bad,
                col.name,
                arr,
                "not yes/no (true/false, 1/0, 是/否)",
                message_record("not_bool"),
            )
            if col.default is not None:
                values = np.where(given, values, bool(col.default))
                given = np.ones(n, dtype=bool)
        elif col.dtype == "month":
            values, given, bad, not_first = to_month(arr)
            problems.add(
                bad,
                col.name,
                arr,
                "not a month (expected YYYY-MM, e.g. 2024-01)",
                message_record("not_month"),
            )
            problems.add(
                not_first,
                col.name,
                arr,
                "a month is its first day (YYYY-MM or YYYY-MM-01), not another day",
                message_record("month_not_first"),
            )
            bad = bad | not_first
        elif col.dtype == "timestamp":
            values, given, bad = to_timestamp(arr, ctx.timezone)
            problems.add(
                bad,
                col.name,
                arr,
                "not a timestamp (expected YYYY-MM-DD HH:MM[:SS][+08:00])",
                message_record("not_timestamp"),
            )
        else:  # pragma: no cover - schemas are declared above
            raise ValueError(col.dtype)
        missing = ~given & ~bad & ~skipped
        if not col.nullable:
            problems.add(
                missing, col.name, arr, "is empty (a value is required)", message_record("empty")
            )
        out[col.name] = values
        converted = schema.unit_rule is not None and col.name in schema.unit_rule.value_columns
        _range_checks(col, values, given, arr, problems, ctx, schema, upper=not converted)

    _code_checks(schema, out, text_of, problems, ctx)
    in_stored_units = [r for r in schema.rules if isinstance(r, ProductAtMostRule)]
    for rule in schema.rules:
        if rule not in in_stored_units:
            _apply_rule(rule, schema, out, text_of, problems, ctx)
    if schema.unit_rule is not None:
        _unit_checks(schema, schema.unit_rule, raw, out, text_of, problems)
        for name in schema.unit_rule.value_columns:  # plausible maxima in the stored unit
            col = schema.column(name)
            _upper_check(col, out[name], ~np.isnan(out[name]), text_of[name], problems)
    for rule in in_stored_units:
        _apply_rule(rule, schema, out, text_of, problems, ctx)
    if schema.factor_periods is not None:
        _factor_period_checks(schema.factor_periods, out, text_of, problems, ctx)

    problems.bad &= ~skipped
    table = _typed_table(schema, out, n)
    table = table.append_column("_row", pa.array(rows, pa.int64()))
    probs = problems.table(rows)
    if skipped.any():
        keep = ~np.isin(_np(probs["_row"], "int64"), rows[skipped])
        probs = probs.filter(pa.array(keep))
    return Checked(table, problems.bad, probs, skipped)


def _range_checks(
    col: Column,
    values,
    given: np.ndarray,
    arr: pa.Array,
    problems: _Problems,
    ctx: CheckContext,
    schema: Schema,
    *,
    upper: bool = True,
) -> None:
    if col.dtype in ("float64", "int64"):
        v = np.where(given, values, 0.0)
        if col.minimum is not None:
            low = given & (v < col.minimum)
            if col.minimum == 0:
                problems.add(low, col.name, arr, "is negative", message_record("negative"))
            else:
                why = f" ({col.plausible})" if col.plausible else ""
                key = message_record("below", limit=f"{col.minimum:g}")
                problems.add(low, col.name, arr, f"is below {col.minimum:g}{why}", key)
        if upper:
            _upper_check(col, values, given, arr, problems)
        if col.latest == "finished" and not schema.allow_future:
            this_year = ctx.local_now.year
            problems.add(
                given & (v >= this_year),
                col.name,
                arr,
                f"period in the future: the year {this_year} is not over yet (only finished "
                "years are accepted)",
                message_record("future"),
            )
    if col.dtype in ("month", "timestamp"):
        scale = 86_400_000_000 if col.dtype == "month" else 1
        us = np.asarray(values, dtype="int64") * scale
        what = "month" if col.dtype == "month" else "timestamp"
        lo = _date_limit(col.earliest, ctx)
        if lo is not None:
            lo_us = _utc_us(lo, ctx, col.dtype)
            problems.add(
                given & (us < lo_us),
                col.name,
                arr,
                f"{what} out of range: before {lo.date()}",
                message_record("before", date=lo.date()),
            )
        if col.latest == "finished" and not schema.allow_future:
            local = ctx.local_now
            if col.dtype == "month":  # the current month is not over: months before it only
                first = pd.Timestamp(year=local.year, month=local.month, day=1)
                problems.add(
                    given & (us >= _utc_us(first, ctx, "month")),
                    col.name,
                    arr,
                    f"period in the future: the month {first:%Y-%m} is not over yet (only "
                    "finished months are accepted)",
                    message_record("future"),
                )
            else:
                problems.add(
                    given & (us > _utc_us(ctx.now, ctx, "timestamp")),
                    col.name,
                    arr,
                    f"timestamp out of range: after now ({local:%Y-%m-%d %H:%M %Z}), a reading "
                    "in the future",
                    message_record("future"),
                )


def _upper_check(
    col: Column, values: np.ndarray, given: np.ndarray, arr: pa.Array, problems: _Problems
) -> None:
    """Values above the column's plausible maximum (in the stored unit), with the reason."""
    if col.maximum is None:
        return
    high = given & (np.where(given, values, 0.0) > col.maximum)
    if not high.any():
        return
    unit = "" if col.unit in (None, FUEL_STAT_UNIT) else f" {col.unit}"
    stat = " (in the statistical unit of the fuel)" if col.unit == FUEL_STAT_UNIT else ""
    why = f": {col.plausible}" if col.plausible else ""
    reasons = np.full(len(values), "", dtype=object)
    keys = np.full(len(values), "", dtype=object)
    pos = np.flatnonzero(high)
    shown = np.char.mod("%.6g", np.asarray(values, dtype="float64")[pos])
    reasons[pos] = np.char.add(
        np.char.add(f"{col.name} = ", shown),
        f"{unit}{stat} is above the plausible maximum {col.maximum:g}{unit}{why}",
    )
    distinct, inverse = np.unique(shown, return_inverse=True)
    said = [  # distinct values above the maximum, not rows
        message_record("above", what=col.name, value=v, unit=unit, limit=f"{col.maximum:g}{unit}")
        for v in distinct
    ]
    keys[pos] = np.asarray(said, dtype=object)[inverse]
    problems.add(high, col.name, arr, reasons, keys)


def _factor_period_checks(
    rule: FactorPeriodRule, out: dict, text_of: dict, problems: _Problems, ctx: CheckContext
) -> None:
    """Rows whose period lies before the first data year of the factor series pricing them."""
    if not ctx.factor_years:
        return
    period = np.asarray(out[rule.period], dtype="int64")
    dtype = "month" if rule.period == "period" else "timestamp"
    if dtype == "month":
        years = period.astype("datetime64[D]").astype("datetime64[Y]").astype("int64") + 1970
    else:  # the local calendar year of a UTC timestamp
        local = pc.assume_timezone(pa.array(period, pa.timestamp("us")), timezone="UTC")
        years = _np(pc.year(pc.cast(local, pa.timestamp("us", tz=ctx.timezone))), "int64")
    invalid = problems.flagged(rule.period)  # an unreadable or out-of-range period says so
    if rule.when is None:
        selector = np.zeros(len(period), dtype=object)
        selector[:] = ""
    else:
        selector = _np(pc.cast(out[rule.when], pa.string()).fill_null(""), None)
    for value, (label, first) in ctx.factor_years.items():  # a few series, not rows
        rows = selector == value
        if not rows.any():
            continue
        early = rows & (years < (first if first is not None else 10_000)) & ~invalid
        when = f"before {first}, its first data year" if first is not None else "at all"
        problems.add(
            early,
            rule.period,
            text_of[rule.period],
            f"no factor for this period: the factor profile has no {label} {when}; "
            f"{value or 'this reading'} of this period cannot be accounted",
            message_record("no_factor"),
        )


def _utc_us(t: pd.Timestamp, ctx: CheckContext, dtype: str) -> int:
    if dtype == "month":  # months are calendar dates: compare on the date
        return int(pd.Timestamp(t.date()).value // 1000)
    t = t if t.tzinfo is not None else t.tz_localize(ctx.timezone)
    return int(t.tz_convert("UTC").value // 1000)


def _code_checks(
    schema: Schema, out: dict, text_of: dict, problems: _Problems, ctx: CheckContext
) -> None:
    for col in schema.columns:
        values = out[col.name]
        if col.codes in VOCABULARIES:
            codes, unknown, known = resolve_vocabulary(col.codes, values)
            either = next(
                (
                    r
                    for r in schema.rules
                    if isinstance(r, EitherRule) and col.name in (r.column, r.alternative)
                ),
                None,
            )
            if either is None:
                problems.add(
                    unknown,
                    col.name,
                    text_of[col.name],
                    *_suggest_reason(col.codes, values, unknown, known, col.codes),
                )
                out[col.name] = codes
            else:
                out[col.name] = (codes, unknown, known)  # settled by the EitherRule
        elif col.codes is not None:
            known = ctx.codes.get(col.codes)
            if known is None:
                raise InputError(f"code list {col.codes!r} was not loaded", source=ctx.source)
            given = _present(values)
            unknown = given & ~_np(pc.is_in(values, value_set=known).fill_null(False), "bool")
            label = {
                "enterprise": "enterprise (统一社会信用代码)",
                "meter": "meter",
                "grid_node": "grid node",
                "park": "park",
                "region": "region code",
                "district": "district code",
            }.get(col.codes, col.codes)
            hint = _np(known, None).astype(str).tolist() if len(known) <= 5000 else []
            note = (
                " in the registry (register it first)"
                if col.codes in ("enterprise", "meter", "grid_node", "park")
                else ""
            )
            reasons = _suggest_reason(col.codes, values, unknown, hint, label, note)
            problems.add(unknown, col.name, text_of[col.name], *reasons)
        if col.pattern is not None and not isinstance(out[col.name], tuple):
            values = out[col.name]
            given = _present(values) & ~_np(pc.equal(values, "").fill_null(False), "bool")
            ok = _np(
                pc.match_substring_regex(values, f"^(?:{col.pattern})$").fill_null(False), "bool"
            )
            problems.add(
                given & ~ok,
                col.name,
                text_of[col.name],
                f"does not match the pattern {col.pattern}",
                message_record("pattern", pattern=col.pattern),
            )
        if col.check == "credit_code":
            values = out[col.name]
            given = _present(values)
            ok = valid_credit_codes(pd.Series(_np(values, None))).to_numpy()
            problems.add(
                given & ~ok,
                col.name,
                text_of[col.name],
                "not a valid 统一社会信用代码 (18 characters with the GB 32100-2015 "
                "check character)",
                message_record("credit_code"),
            )


def _apply_rule(
    rule: Rule, schema: Schema, out: dict, text_of: dict, problems: _Problems, ctx: CheckContext
) -> None:
    if isinstance(rule, EitherRule):
        code_v, _, known = out[rule.column]
        vocabulary = schema.column(rule.column).codes
        alt_v, _, _ = resolve_vocabulary(vocabulary, out[rule.alternative])
        code_given = _present(text_of_as_text(text_of[rule.column]))
        alt_given = _present(text_of_as_text(text_of[rule.alternative]))
        code_ok, alt_ok = _present(code_v), _present(alt_v)
        resolved = pc.if_else(pa.array(code_ok), code_v, alt_v)
        none = ~code_ok & ~alt_ok
        problems.add(
            none & ~code_given & ~alt_given,
            rule.alternative,
            text_of[rule.alternative],
            f"is empty: give the {rule.alternative} or the {rule.column}",
            message_record("empty_either", a=rule.alternative, b=rule.column),
        )
        problems.add(
            none & code_given,
            rule.column,
            text_of[rule.column],
            *_suggest_reason(
                rule.column,
                text_of_as_text(text_of[rule.column]),
                none & code_given,
                known,
                rule.column,
            ),
        )
        problems.add(
            none & ~code_given & alt_given,
            rule.alternative,
            text_of[rule.alternative],
            *_suggest_reason(
                rule.column,
                text_of_as_text(text_of[rule.alternative]),
                none & ~code_given & alt_given,
                known,
                rule.column,
            ),
        )
        clash = code_ok & alt_ok & ~_np(pc.equal(code_v, alt_v).fill_null(False), "bool")
        problems.add(
            clash,
            rule.alternative,
            text_of[rule.alternative],
            f"names another {rule.column} than the {rule.column} column",
            message_record("either_clash", column=rule.column),
        )
        out[rule.column] = resolved
        out[rule.alternative] = alt_v
    elif isinstance(rule, SumRule):
        total = out[rule.total]
        parts = [out[p] for p in rule.parts]
        given = ~np.isnan(total)
        for p in parts:
            given &= ~np.isnan(p)
        s = np.sum(parts, axis=0) if parts else np.zeros_like(total)
        off = given & (np.abs(total - s) > rule.rel_tol * np.abs(total) + rule.abs_tol)
        problems.add(
            off,
            rule.total,
            text_of[rule.total],
            rule.reason or f"{rule.total} is not the sum of {', '.join(rule.parts)}",
            ""
            if rule.reason
            else message_record("sum", total=rule.total, parts=", ".join(rule.parts)),
        )
    elif isinstance(rule, AtMostRule):
        part, whole = out[rule.part], out[rule.whole]
        off = ~np.isnan(part) & ~np.isnan(whole) & (part > whole * (1 + rule.rel_tol) + 1e-12)
        problems.add(
            off,
            rule.part,
            text_of[rule.part],
            rule.reason or f"{rule.part} is larger than {rule.whole}",
            "" if rule.reason else message_record("part_of", part=rule.part, whole=rule.whole),
        )
    elif isinstance(rule, RequiredIfRule):
        when = _np(pc.equal(out[rule.when_column], rule.value).fill_null(False), "bool")
        values = out[rule.column]
        numeric = isinstance(values, np.ndarray) and values.dtype.kind == "f"
        missing = when & (np.isnan(values) if numeric else ~_present(values))
        problems.add(
            missing,
            rule.column,
            text_of[rule.column],
            f"is required where {rule.when_column} is {rule.value}",
            message_record("required_if", when=rule.when_column, value=rule.value),
        )
    elif isinstance(rule, OnlyWhereRule):
        values = out[rule.column]
        if isinstance(values, np.ndarray) and values.dtype.kind == "f":
            given = ~np.isnan(values)
        else:
            text = _as_text(values)
            given = _present(text)
            if rule.value is not None:
                given &= _np(pc.equal(text, rule.value).fill_null(False), "bool")
        allowed = pa.array(list(rule.allowed), pa.string())
        applies = _np(pc.is_in(out[rule.when_column], value_set=allowed).fill_null(False), "bool")
        problems.add(
            given & ~applies,
            rule.column,
            text_of[rule.column],
            f"is given only where {rule.when_column} is {'/'.join(rule.allowed)}",
        )
    elif isinstance(rule, ProductAtMostRule):
        a, b = rule.factors
        has_a, has_b = ~np.isnan(out[a]), ~np.isnan(out[b])
        problems.add(has_a ^ has_b, b, text_of[b], f"give both {a} and {b} (or neither)")
        whole = out[rule.whole]
        with np.errstate(invalid="ignore"):
            over = has_a & has_b & (out[a] * out[b] * rule.scale > whole * (1 + 1e-6) + 1e-12)
        problems.add(over, b, text_of[b], f"{a}×{b} is part of {rule.whole}")
    elif isinstance(rule, InCityRule):
        lon, lat = out[rule.lon], out[rule.lat]
        has_lon, has_lat = ~np.isnan(lon), ~np.isnan(lat)
        problems.add(
            has_lon ^ has_lat,
            rule.lat,
            text_of[rule.lat],
            "give both longitude and latitude (or neither)",
            message_record("lon_lat_pair"),
        )
        if ctx.city_bbox is not None:
            x0, y0, x1, y1 = ctx.city_bbox
            with np.errstate(invalid="ignore"):
                outside = has_lon & has_lat & ((lon < x0) | (lon > x1) | (lat < y0) | (lat > y1))
            problems.add(
                outside,
                rule.lon,
                text_of[rule.lon],
                f"the point lies outside the city ({x0:.3f}-{x1:.3f} E, {y0:.3f}-{y1:.3f} N)",
                message_record("outside_city", box=f"{x0:.3f}-{x1:.3f} E, {y0:.3f}-{y1:.3f} N"),
            )
    elif isinstance(rule, BoundaryRule):
        reasons = _boundary_reasons(
            out[rule.geometry].to_pylist(),
            np.asarray(out[rule.area], dtype="float64"),
            rule,
            ctx.city_bbox,
        )
        problems.add(reasons != "", rule.geometry, text_of[rule.geometry], reasons)


def _boundary_reasons(
    texts: list[str | None],
    declared_ha: np.ndarray,
    rule: BoundaryRule,
    city_bbox: tuple[float, float, float, float] | None,
) -> np.ndarray:
    """Per row, what is wrong with its boundary ('' = nothing, or none given): each distinct
    boundary is parsed and measured once (a site repeats its boundary every year)."""
    codes, distinct = pd.factorize(pd.Series(texts, dtype=object), use_na_sentinel=True)
    area_ha = np.full(len(distinct), np.nan)
    problem = np.full(len(distinct), "", dtype=object)
    for i, text in enumerate(distinct):  # distinct boundaries: a few sites
        try:
            shape = geo.parse_polygon(text)
        except ValueError as err:
            problem[i] = f"the boundary is not a GeoJSON Polygon or MultiPolygon: {err}"
            continue
        invalid = geo.validity_problems(shape)
        if invalid:
            problem[i] = f"the boundary is not a valid polygon: {invalid[0]}"  # the first
            continue
        if city_bbox is not None:
            x0, y0, x1, y1 = city_bbox
            west, south, east, north = geo.bounds([shape])
            if west < x0 or east > x1 or south < y0 or north > y1:
                problem[i] = (
                    f"the boundary lies outside the city ({x0:.3f}-{x1:.3f} E, {y0:.3f}-{y1:.3f} N)"
                )
                continue
        area_ha[i] = units.convert(geo.area_km2(shape), "km2", "ha")
    reasons = np.where(codes >= 0, problem[codes], "").astype(object)
    measured = np.where(codes >= 0, area_ha[codes], np.nan)
    with np.errstate(invalid="ignore"):
        off = np.abs(measured - declared_ha) > rule.rel_tol * declared_ha
    pos = np.flatnonzero(off)
    reasons[pos] = [
        f"the boundary's area {m:.4g} ha differs from {rule.area} {d:.4g} ha by more than "
        f"{rule.rel_tol:.0%}"
        for m, d in zip(measured[pos], declared_ha[pos], strict=True)
    ]
    return reasons


def text_of_as_text(arr: pa.Array) -> pa.Array:
    return _empty_marks(_as_text(arr))


@cache
def _fuel_stat_units() -> dict[str, str]:

    return fuels()["stat_unit"].to_dict()


def _target_unit(rule: UnitRule, key: str) -> tuple[str, tuple[str, ...]]:
    if rule.target == "fuel":
        return _fuel_stat_units()[key], ()
    ind = next(i for i in INDICATORS if i.code == key)
    return ind.unit, ind.spellings


def unit_factors(
    rule: UnitRule, keys: pa.Array, unit_text: pa.Array
) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """Per row: factor from the given unit to the target unit, the target unit, the reason the
    unit is refused ('' if accepted); computed once per distinct (key, unit) pair."""
    n = len(keys)
    pair = pc.binary_join_element_wise(keys.fill_null(""), unit_text.fill_null(""), "\x1f")
    enc = pc.dictionary_encode(pair)
    factors, targets, reasons = [], [], []
    for combo in enc.dictionary.to_pylist():  # distinct (key, unit) pairs
        key, _, given = combo.partition("\x1f")
        if not key:
            factors.append(np.nan), targets.append(None), reasons.append("")
            continue
        target, spellings = _target_unit(rule, key)
        if not given:
            factors.append(np.nan), targets.append(target), reasons.append("is empty")
            continue
        if spellings and (
            given in spellings
            or normalize_header(given) in {normalize_header(s) for s in spellings}
        ):
            factors.append(1.0), targets.append(target), reasons.append("")
            continue
        try:
            f = units.factor(given, target)
        except UnitError as err:
            why = err.reason
            sug = (
                f" (did you mean {', '.join(map(repr, err.suggestions))}?)"
                if err.suggestions
                else ""
            )
            factors.append(np.nan), targets.append(target)
            reasons.append(
                f"unit {given!r} cannot be used for {key} (stored in {target}): {why}{sug}"
            )
            continue
        factors.append(f), targets.append(target), reasons.append("")
    idx = _np(enc.indices, "int64") if n else np.zeros(0, dtype="int64")
    return (
        np.asarray(factors, dtype="float64")[idx],
        pa.array(targets, pa.string()).take(pa.array(idx)),
        np.asarray(reasons, dtype=object)[idx],
    )


def _unit_checks(
    schema: Schema, rule: UnitRule, raw: pa.Table, out: dict, text_of: dict, problems: _Problems
) -> None:
    keys = out[rule.key_column]
    unit_text = out[rule.unit_column]
    factor, target, reasons = unit_factors(rule, keys, unit_text)
    refused = (reasons != "") & _present(keys)
    problems.add(
        refused & _present(unit_text), rule.unit_column, text_of[rule.unit_column], reasons
    )
    for name in rule.value_columns:
        out[name] = out[name] * np.where(refused, np.nan, factor)
    out[rule.unit_column] = pc.if_else(pa.array(_present(target)), target, unit_text)


def _typed_table(schema: Schema, out: dict, n: int) -> pa.Table:
    arrays, names = [], []
    for col in schema.output_columns:
        v = out[col.name]
        typ = ARROW_TYPES[col.dtype]
        if col.dtype == "string":
            arr = v if isinstance(v, pa.Array) else pa.array(v, pa.string())
        elif col.dtype == "float64":
            arr = pa.array(np.asarray(v, dtype="float64"), pa.float64(), from_pandas=True)
        elif col.dtype == "int64":
            f = np.asarray(v, dtype="float64")
            arr = pa.array(
                np.where(np.isnan(f), 0, f).astype("int64"), pa.int64(), mask=np.isnan(f)
            )
        elif col.dtype == "bool":
            arr = pa.array(np.asarray(v, dtype=bool), pa.bool_())
        elif col.dtype == "month":
            arr = pa.array(np.asarray(v, dtype="int64").astype("int32"), pa.int32()).cast(typ)
        else:
            arr = pa.array(np.asarray(v, dtype="int64"), pa.int64()).cast(typ)
        arrays.append(arr)
        names.append(col.name)
    return pa.Table.from_arrays(arrays, names=names)


#: Hook for tests and callers: functions that load a code list by name.
CodeLoader = Callable[[str], pa.Array]
