"""Every result table of citycarbon, declared once: name, key, columns with units, partition and
provenance.

Writers (only runs, through :mod:`citycarbon.store.results`) and readers (read models, reports,
runs that build on other results) use these declarations, never a string name or a copied
column list. The store checks every frame written against its declaration
(:meth:`Result.conform`).

Units: a unit symbol of :mod:`citycarbon.units` or one of these markers: ``""`` a label or code
(text), ``"1"`` a count or dimensionless ratio, ``"%"`` a percentage, ``"time"`` a timestamp,
``"bool"`` a flag.

Partitions: a result with ``partition="year"`` is written per data year; a run replaces only the
years it computed and the other years keep the run that last wrote them. A result with
``partition=None`` is written whole by each run (a *vintage*, such as a nowcast as of a day);
its current value is the newest run. Every run stays readable (how did 2024 change).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

from citycarbon.errors import InputError
from citycarbon.records import message_record

#: Provenance columns every result row carries (added by the store where a run leaves them out).
PROVENANCE: Mapping[str, str] = MappingProxyType(
    {
        "run_id": "",  # the run that computed the row (time-sortable)
        "factor_profile": "",  # city[set@version,...]#digest of the factor values used
        "method": "",  # the method (standard, equation) in words
        "source_batches": "",  # ingest batches the run read: "kind:first-last,...", or ""
    }
)


@dataclass(frozen=True)
class Result:
    """A declared result table.

    Parameters
    ----------
    name : str
        Table name (directory in the lake's results area).
    key : tuple of str
        Columns that identify a row within one run.
    columns : mapping of str to str
        Every other column with its unit (see the module docstring).
    partition : str or None
        ``"year"``: written per data year; None: written whole per run (vintages).
    method : str
        Default ``method`` record (:mod:`citycarbon.contract.records`) where a run does not set
        one per row.
    title_zh, title_en : str
        What the table holds, for status pages and exports.
    """

    name: str
    key: tuple[str, ...]
    columns: Mapping[str, str]
    partition: str | None = "year"
    method: str = ""
    title_zh: str = ""
    title_en: str = ""
    unique_key: bool = field(default=True)

    @property
    def all_columns(self) -> tuple[str, ...]:
        """Key, value and provenance columns, in that order."""
        return (*self.key, *self.columns, *PROVENANCE)

    def unit(self, column: str) -> str:
        """The declared unit of ``column``."""
        for part in (self.columns, PROVENANCE):
            if column in part:
                return part[column]
        if column in self.key:
            return ""
        raise KeyError(f"{self.name} has no column {column!r}")

    def conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with its columns in declared order; an InputError when a declared column is
        missing, an undeclared one present, a numeric column holds text, or the key repeats."""
        have = list(frame.columns)
        missing = [c for c in self.all_columns if c not in have]
        extra = [c for c in have if c not in self.all_columns]
        if missing or extra:
            raise InputError(
                f"result {self.name} does not match its declaration: "
                + (f"missing {missing}" if missing else "")
                + ("; " if missing and extra else "")
                + (f"undeclared {extra}" if extra else ""),
                source="contract/results.py",
                field=self.name,
            )
        numeric = [c for c, u in self.columns.items() if u not in ("", "time", "bool")]
        bad = [
            c
            for c in numeric
            if not (pd.api.types.is_numeric_dtype(frame[c]) or frame[c].isna().all())
        ]
        if bad:
            raise InputError(
                f"result {self.name}: columns {bad} must be numeric (declared units "
                + ", ".join(f"{c} [{self.columns[c]}]" for c in bad)
                + ")",
                source="contract/results.py",
                field=self.name,
            )
        if self.unique_key and len(frame) and frame.duplicated(list(self.key)).any():
            dup = frame.loc[frame.duplicated(list(self.key), keep=False), list(self.key)].head(3)
            raise InputError(
                f"result {self.name}: key {list(self.key)} repeats, e.g. {dup.to_dict('records')}",
                source="contract/results.py",
                field=self.name,
            )
        return frame[list(self.all_columns)]


# --------------------------------------------------------------------------- enterprise results
_FUEL_SUMS = {
    "energy_tce": "tce",
    "combustion_co2_t": "t",
    "electricity_co2_t": "t",
    "heat_co2_t": "t",
    "scope1_co2_t": "t",
    "scope2_co2_t": "t",
    "co2_t": "t",
    "biogenic_co2_t": "t",
}
ENTERPRISE_MONTH_FUEL = Result(
    "enterprise_month_fuel_emissions",
    key=("enterprise_code", "year", "month"),
    columns={
        "period": "time",
        "fuels": "1",
        **_FUEL_SUMS,
        "rows_missing_factors": "1",
        "engine": "",
    },
    title_zh="企业月度能耗与排放（205-1）",
    title_en="Enterprise monthly energy and emissions (205-1)",
)
ENTERPRISE_MONTH_ELECTRICITY = Result(
    "enterprise_month_electricity_emissions",
    key=("enterprise_code", "year", "month"),
    columns={
        "meters": "1",
        "readings": "1",
        "electricity_kwh": "kWh",
        "electricity_mwh": "MWh",
        "grid_ef_tco2_per_mwh": "tCO2/MWh",
        "grid_ef_year": "1",
        "co2_t": "t",
        "engine": "",
    },
    title_zh="企业月度电力排放（电表）",
    title_en="Enterprise monthly electricity emissions (meters)",
)
ENTERPRISE_MONTH_GASES = Result(
    "enterprise_month_sector_gas_emissions",
    key=("enterprise_code", "year", "month", "sector", "gas", "scope"),
    columns={
        "emissions_t": "t",
        "emissions_tco2e": "tCO2e",
        "notation_key": "",
    },
    method=message_record("enterprise_sector_gas"),
    title_zh="企业月度分部门分气体排放",
    title_en="Enterprise monthly emissions by IPCC sector and gas",
)

# --------------------------------------------------------------------------- city inventory
ENERGY_BALANCE = Result(
    "energy_balance",
    key=("region_code", "year", "item", "fuel", "tce_basis"),
    columns={
        "item_zh": "",
        "item_en": "",
        "order": "1",
        "fuel_zh": "",
        "fuel_en": "",
        "quantity": "stat_unit",
        "unit": "",
        "tce": "tce",
        "given": "bool",
        "flag": "",
    },
    title_zh="能源平衡表",
    title_en="Energy balance table",
)
CITY_INVENTORY = Result(
    "city_inventory",
    key=("region_code", "level", "entity_code", "year", "month", "sector", "gas", "scope", "basis"),
    columns={
        "entity_name": "",
        "sector_name_zh": "",
        "sector_name_en": "",
        "emissions_t": "t",
        "emissions_tco2e": "tCO2e",
        "notation_key": "",
    },
    title_zh="城市温室气体清单",
    title_en="City greenhouse-gas inventory",
)
CITY_INDICATORS = Result(
    "city_indicators",
    key=("region_code", "period_type", "year", "period", "indicator", "basis"),
    columns={"value": "per unit column", "unit": ""},
    method=message_record("city_indicators"),
    title_zh="城市统计指标",
    title_en="City indicators",
)
INVENTORY_UNCERTAINTY = Result(
    "inventory_uncertainty",
    key=("region_code", "year", "approach", "basis"),
    columns={
        "total_tco2e": "tCO2e",
        "lower_95": "tCO2e",
        "upper_95": "tCO2e",
        "uncertainty_pct": "%",
    },
    method=message_record("inventory_uncertainty"),
    title_zh="清单不确定性",
    title_en="Inventory uncertainty",
)
INVENTORY_RECONCILIATION = Result(
    "inventory_reconciliation",
    key=("region_code", "year", "measure", "sector", "basis"),
    columns={
        "city": "per measure",
        "enterprises": "per measure",
        "unattributed": "per measure",
        "coverage_share": "1",
        "flag": "",
    },
    method=message_record("inventory_reconciliation"),
    title_zh="自下而上与自上而下核对",
    title_en="Bottom-up vs top-down reconciliation",
)
CITY_SCOPE2 = Result(
    "city_scope2",
    key=("region_code", "year", "approach", "grid_region"),
    columns={
        "level": "",
        "declared": "bool",
        "context": "",
        "factor_year": "1",
        "ef_tco2_per_mwh": "tCO2/MWh",
        "factor_source": "",
        "net_imported_mwh": "MWh",
        "net_imported_co2_t": "t",
        "city_total_tco2e": "tCO2e",
        "change_vs_declared_pct": "%",
        "consumption_mwh": "MWh",
        "covered_mwh": "MWh",
        "residual_mwh": "MWh",
        "consumption_co2_t": "t",
    },
    method=message_record("city_scope2"),
    title_zh="范围二口径与电网因子敏感性",
    title_en="Scope 2 basis and grid-factor sensitivity",
)
CITY_SINKS = Result(
    "city_sinks",
    key=("region_code", "year", "sector", "pool", "source"),
    columns={
        "site_name": "",
        "ecosystem": "",
        "area_ha": "ha",
        "co2_t": "tCO2",
        "tier": "",
    },
    method=message_record("city_sinks"),
    title_zh="城市碳汇",
    title_en="City carbon sinks",
)
CITY_TRANSPORT = Result(
    "city_transport",
    key=(
        "region_code",
        "year",
        "facility",
        "mode",
        "navigation_type",
        "vehicle_type",
        "technology",
        "trip",
        "fuel",
        "phase",
        "gas",
    ),
    columns={
        "fuel_zh": "",
        "fuel_en": "",
        "sector": "",
        "gpc_ref": "",
        "memo": "bool",
        "lto_cycles": "1",
        "energy_tj": "TJ",
        "emissions_t": "t",
        "emissions_tco2e": "tCO2e",
        "notation_key": "",
    },
    method=message_record("city_transport"),
    title_zh="交通分方式排放",
    title_en="Transport emissions by mode",
)
GPC_INVENTORY = Result(
    "gpc_inventory",
    key=("region_code", "year", "gpc_ref", "gas"),
    columns={
        "scope": "1",
        "name_zh": "",
        "name_en": "",
        "emissions_t": "t",
        "emissions_tco2e": "tCO2e",
        "notation_key": "",
        "basic": "bool",
        "basic_plus": "bool",
        "memo": "bool",
        "note_zh": "",
        "note_en": "",
    },
    method=message_record("gpc_framework"),
    title_zh="GPC 城市温室气体清单",
    title_en="GPC city inventory",
)

# --------------------------------------------------------------------------- 电-碳 chain
NOWCAST = Result(
    "nowcast",
    key=("frequency", "level", "entity", "period"),
    columns={
        "as_of": "time",
        "calibrated_through": "time",
        "estimate_tco2": "t",
        "lower_tco2": "t",
        "upper_tco2": "t",
        "metered_kwh": "kWh",
        "model": "",
        "days": "1",
        "period_complete": "bool",
        "metered_complete": "1",
        "confidence": "1",  # nominal two-sided coverage of the interval
        "interval_coverage": "1",  # out-of-sample coverage of the calibrated interval
        "interval_coverage_n": "1",  # backtest outcomes it was checked on
        "inventory_year": "1",  # city inventory year of inventory_share
        "inventory_share": "1",  # share of that inventory's CO2 the 205-1 reporters measure
        "city": "",
    },
    partition=None,
    method=message_record("nowcast"),
    title_zh="以电折碳快报",
    title_en="Emissions nowcast from power data",
)
NOWCAST_BACKTEST = Result(
    "nowcast_backtest",
    key=("level", "entity", "period", "calibrated_through", "evaluated_model"),
    columns={
        "metered_kwh": "kWh",
        "estimate_tco2": "t",
        "lower_tco2": "t",
        "upper_tco2": "t",
        "sigma_log": "1",
        "model": "",
        "actual_tco2": "t",
        "ape_pct": "%",
        "covered": "bool",
        "confidence": "1",
    },
    partition=None,
    method=message_record("nowcast_backtest"),
    title_zh="快报回测",
    title_en="Nowcast backtest",
)
NOWCAST_CITY_BACKTEST = Result(
    "nowcast_city_backtest",
    key=("year", "approach"),
    columns={
        "base_year": "1",
        "inventory_tco2": "t",
        "estimate_tco2": "t",
        "error_pct": "%",
        "inventory_share": "1",
        "proxy": "",
    },
    partition=None,
    method=message_record("nowcast_city_backtest"),
    title_zh="全市快报年度回测",
    title_en="City-wide nowcast backtest against the inventory",
)
METER_QUALITY = Result(
    "meter_quality",
    key=("meter_id", "issue", "from", "to"),
    columns={"count": "1"},
    partition=None,
    method=message_record("meter_quality"),
    unique_key=False,
    title_zh="电表数据质量",
    title_en="Meter data quality",
)
POWER_INDICATORS = Result(
    "power_indicators",
    key=("level", "enterprise_code", "industry_code", "district_code", "year"),
    columns={
        "energy_tce": "tce",
        "co2_t": "t",
        "electricity_kwh": "kWh",
        "months": "1",
        "output_value_10k_cny": "10^4 CNY",
        "is_key": "bool",
        "electricity_share": "1",
        "basis": "",
        "kgco2_per_kwh": "kgCO2/kWh",
        "tce_per_10k_cny": "tce/10^4 CNY",
        "tco2_per_10k_cny": "tCO2/10^4 CNY",
        "energy_tce_yoy_pct": "%",
        "co2_t_yoy_pct": "%",
        "electricity_kwh_yoy_pct": "%",
        "kgco2_per_kwh_yoy_pct": "%",
        "tco2_per_10k_cny_yoy_pct": "%",
        "rank_kgco2_per_kwh_in_industry": "1",
        "rank_tco2_per_10k_cny_in_industry": "1",
        "industry_size": "1",
    },
    partition=None,
    method=message_record("power_indicators"),
    title_zh="电-碳-能指标",
    title_en="Power-carbon-energy indicators",
)
LOAD_ANOMALIES = Result(
    "load_anomalies",
    key=("enterprise_code", "day"),
    columns={"kwh": "kWh", "trailing_median_kwh": "kWh", "z": "1", "change": "1", "direction": ""},
    partition=None,
    method=message_record("load_anomalies"),
    title_zh="负荷异常",
    title_en="Load anomalies",
)
GRID_NODE_INTENSITY = Result(
    "grid_node_intensity",
    key=("node_id", "period"),
    columns={
        "year": "1",
        "month": "1",
        "kwh": "kWh",
        "intensity_tco2_per_mwh": "tCO2/MWh",
        "weighting": "",
        "basis": "",
        "grid": "",
        "import_tco2_per_mwh": "tCO2/MWh",
    },
    partition=None,
    title_zh="电网节点碳排放强度",
    title_en="Grid node carbon intensity",
)
HOURLY_SCOPE2 = Result(
    "hourly_scope2",
    key=("enterprise_code", "year"),
    columns={
        "meters": "1",
        "hours": "1",
        "kwh": "kWh",
        "hourly_co2_t": "t",
        "average_co2_t": "t",
        "difference_co2_t": "t",
        "difference_pct": "%",
        "location_effect_co2_t": "t",
        "timing_effect_co2_t": "t",
        "effective_intensity_tco2_per_mwh": "tCO2/MWh",
        "annual_factor_tco2_per_mwh": "tCO2/MWh",
        "load_intensity_correlation": "1",
        "grid": "",
        "import_tco2_per_mwh": "tCO2/MWh",
        "grid_region": "",
        "factor_year": "1",
    },
    partition=None,
    title_zh="逐时节点范围二排放",
    title_en="Hourly nodal scope 2",
)

# --------------------------------------------------------------------------- carbon dual control
TARGET_PROGRESS = Result(
    "target_progress",
    key=("target_id", "year"),
    columns={
        "value": "per target unit",
        "base_year": "1",
        "base_value": "per target unit",
        "base_source": "",
        "base_status": "",  # status of the base-year value (published, illustrative ...)
        "base_note": "",  # its source, or a message key (``no_base?indicator=...``)
        "actual_decline_pct": "%",
        "scheduled_decline_pct": "%",
        "decline_gap_pts": "%",
        "target_value_year": "per target unit",
        "forecast_end_value": "per target unit",
        "forecast_decline_pct": "%",
        "forecast_decline_gap_pts": "%",
        "months": "1",
        "cap_value": "per target unit",
        "budget_to_date": "per target unit",
        "actual_to_date": "per target unit",
        "budget_use_ratio": "1",
        "forecast_cap_ratio": "1",
        "code": "",
        "name": "",
        "level": "",
        "entity_code": "",
        "kind": "",
        "indicator": "",
        "period_label": "",
        "end_year": "1",
        "target_value": "per target unit",
        "target_unit": "",
        "status": "",
        "entity_name": "",
    },
    partition=None,
    title_zh="目标进度",
    title_en="Target progress",
)
DUAL_CONTROL = Result(
    "dual_control_indicators",
    key=("level", "entity_code", "year", "indicator"),
    columns={
        "entity_name": "",
        "value": "per indicator",
        "unit": "",
        "role": "",  # assessed | reported | component
        "origin": "",  # computed | statistics | entered
        "status": "",  # published | illustrative | assumption ... of an entered value or input
        "basis": "",  # inventory basis, 当量/等价 basis, price basis, ...
        "coverage": "1",  # share of the city's CO2 covered (reporters of a district)
        # the source of an entered value, or a message key with its parameters
        # (``grid_mix?grid=fujian&year=2023``: which year's mix; ``no_district_statistics`` ...)
        "note": "",
    },
    partition=None,
    method=message_record("dual_control"),
    title_zh="碳排放双控与能耗双控指标（考核口径）",
    title_en="Carbon and energy dual-control indicators (assessed basis)",
)
TARGET_STATUS = Result(
    "target_status",
    key=("subject", "metric", "year", "months"),
    columns={
        "target_id": "1",
        "code": "",
        "name": "",
        "level": "",
        "entity_code": "",
        "entity_name": "",
        "value": "per metric",
        "applies": "",
        "period": "",
        "entity_level": "",
        "previous": "per metric",
        "rule_id": "",
        "zh": "",
        "en": "",
        "applies_to": "",
        "direction": "",
        "unit": "",
        "threshold": "per metric",
    },
    partition=None,
    unique_key=False,
    title_zh="预警状态",
    title_en="Warning status",
)

# --------------------------------------------------------------------------- carbon efficiency
CARBON_EFFICIENCY = Result(
    "carbon_efficiency",
    key=("period_type", "year", "month", "enterprise_code"),  # month 0: the year
    columns={
        "industry_code": "",
        "district_code": "",
        "park_code": "",
        "months": "1",  # months of the period with both CO2 and value added
        "co2_t": "t",
        "electricity_co2_t": "t",
        "green_mwh": "MWh",
        "grid_ef_tco2_per_mwh": "tCO2/MWh",
        "net_co2_t": "t",
        "value_added_10k_cny": "10^4 CNY",
        "intensity_t_per_10k_cny": "tCO2/10^4 CNY",
        "level": "",  # low | medium | high ('' without value added)
        "industry_intensity_t_per_10k_cny": "tCO2/10^4 CNY",
        "industry_enterprises": "1",
        "k": "1",
        "grade": "1",  # 1-5, 0 not graded
        "previous_grade": "1",  # of the month (year) before, 0 none
        "movement": "",  # up | down | same | new
        "rules": "",  # rule set@version
    },
    method=message_record("carbon_efficiency"),
    title_zh="企业碳效等级（碳效码）",
    title_en="Enterprise carbon-efficiency grades (carbon-efficiency code)",
)
CARBON_EFFICIENCY_DISTRIBUTION = Result(
    "carbon_efficiency_distribution",
    key=("period_type", "year", "month", "dimension", "group_code", "grade"),
    columns={
        "enterprises": "1",
        "share": "1",  # of the group's graded enterprises
        "value_added_10k_cny": "10^4 CNY",
        "net_co2_t": "t",
    },
    method=message_record("carbon_efficiency_distribution"),
    title_zh="碳效等级分布",
    title_en="Distribution of carbon-efficiency grades",
)

# --------------------------------------------------------------------------- green projects
GREEN_PROJECT_REDUCTION = Result(
    "green_project_reduction",
    key=("project_id",),
    columns={
        "name": "",
        "owner_name": "",
        "owner_code": "",  # credit code where the owner is a registered enterprise
        "district_code": "",
        "lon": "deg",
        "lat": "deg",
        "technology": "",  # techmap catalogue id
        "project_type": "",
        "status": "",  # candidate | approved | under_construction | operating
        "demonstration_level": "",  # none | district | city | provincial | national (示范项目)
        "demonstration_year": "1",  # the year it was recognised (NaN: not a demonstration)
        "start_year": "1",
        "investment_10k_cny": "10^4 CNY",
        "annual_generation_mwh": "MWh",
        "energy_saved_tce": "tce",
        "fuel_replaced_tce": "tce",
        "added_electricity_mwh": "MWh",
        "evidence": "",  # evidence held, ';'-separated codes
        "grid_region": "",  # key of the grid factor series (the city's declared basis)
        "grid_factor_year": "1",  # the year the factor used was published for
        "grid_ef_tco2_per_mwh": "tCO2/MWh",
        "co2_per_tce_tco2_per_tce": "tCO2/tce",
        "reduction_method": "",  # renewable_generation | energy_saving | fuel_switch... | none
        "reduction_tco2_per_yr": "t",  # expected annual CO2 reduction (NaN: an input missing)
        "reduction_per_investment_t_per_10k_cny": "tCO2/10^4 CNY",
    },
    partition=None,
    method=message_record("green_project_reduction"),
    title_zh="绿色低碳项目库：预期年减排量",
    title_en="Green project reserve: expected annual CO2 reduction",
)
GREEN_PROJECT_ELIGIBILITY = Result(
    "green_project_eligibility",
    key=("project_id", "catalogue"),
    columns={
        "eligible": "",  # yes | no | undetermined
        "clauses": "",  # matching clauses, "number title_zh", '; '-joined
        "clauses_en": "",
        "clause_source_status": "",  # verified | corroborated | assumption (';'-joined)
        "missing_evidence": "",  # evidence codes, ';'-joined
        "reason_zh": "",
        "reason_en": "",
        "rules": "",  # rule file version
    },
    partition=None,
    method=message_record("green_project_eligibility"),
    title_zh="绿色低碳项目库：目录符合性",
    title_en="Green project reserve: catalogue eligibility",
)
ENERGY_BENCHMARK = Result(
    "energy_benchmark",
    key=("enterprise_code", "year", "product_id"),
    columns={
        "product_name_zh": "",
        "product_name_en": "",
        "quantity": "per quantity_unit",
        "quantity_unit": "",
        "energy_tce": "tce",
        "unit_energy": "per level_unit",
        "level_unit": "",
        "benchmark": "per level_unit",
        "baseline": "per level_unit",
        "position": "",  # advanced / compliant / below_baseline
        "source_status": "",
        "levels": "",  # the levels file, <source>@<version>
    },
    method=message_record("energy_benchmark"),
    title_zh="能效对标（标杆水平与基准水平）",
    title_en="Energy-efficiency benchmarking (benchmark and baseline levels)",
)
ENERGY_BENCHMARK_SUMMARY = Result(
    "energy_benchmark_summary",
    key=("product_id", "year"),
    columns={
        "enterprises": "1",
        "output_t": "t",
        "share_advanced": "1",  # of output at or below the benchmark
        "share_below_baseline": "1",  # of output above the baseline
    },
    method=message_record("energy_benchmark_summary"),
    title_zh="能效对标汇总",
    title_en="Energy-efficiency benchmarking by product",
)

SUBSIDY_APPLICATION = Result(
    "subsidy_application",
    key=("year", "application_id"),  # year: of the application
    columns={
        "enterprise_code": "",
        "programme": "",  # renovation_loan | zhuanjingtexin
        "status": "",  # submitted | approved | rejected
        "bank": "",
        "investment_10k_cny": "10^4 CNY",
        "recognition": "",
        "recognition_year": "1",
        "recognition_batch": "",
        "first_disbursement": "time",
        "disbursed_10k_cny": "10^4 CNY",
        "eligible": "bool",
        "refusals": "",  # ';'-joined codes of finance.subsidies.REFUSALS
        "entitlement_10k_cny": "10^4 CNY",  # the whole window's interest subsidy, or the grant
        "committed_10k_cny": "10^4 CNY",  # the entitlement of an approved application
        "paid_10k_cny": "10^4 CNY",
        "rules": "",  # <set>@<version> of finance/data/subsidies.yaml
    },
    method=message_record("subsidy_application"),
    title_zh="补贴测算（申报）",
    title_en="Subsidy entitlements by application",
)
SUBSIDY_SCHEDULE = Result(
    "subsidy_schedule",
    key=("year", "application_id", "subsidy_year"),  # year: of the application
    columns={
        "enterprise_code": "",
        "balance_days_10k_cny": "10^4 CNY",  # sum of balance x days (万元·天)
        "subsidy_10k_cny": "10^4 CNY",
    },
    method=message_record("subsidy_schedule"),
    title_zh="技改贷款贴息分年测算",
    title_en="Loan interest subsidy by year",
)
SUBSIDY_BUDGET = Result(
    "subsidy_budget",
    key=("programme",),
    columns={
        "budget_10k_cny": "10^4 CNY",
        "committed_10k_cny": "10^4 CNY",
        "paid_10k_cny": "10^4 CNY",
        "uncommitted_10k_cny": "10^4 CNY",
        "committed_share": "1",
        "paid_share": "1",
        "rules": "",
        "title_zh": "",
        "title_en": "",
        "source": "",  # the announcement the budget is taken from
        "source_status": "",
    },
    partition=None,
    method=message_record("subsidy_budget"),
    title_zh="补贴资金使用",
    title_en="Subsidy budgets: committed and paid",
)

#: Every declared result, by name.
RESULTS: Mapping[str, Result] = MappingProxyType(
    {
        r.name: r
        for r in (
            ENTERPRISE_MONTH_FUEL,
            ENTERPRISE_MONTH_ELECTRICITY,
            ENTERPRISE_MONTH_GASES,
            ENERGY_BALANCE,
            CITY_INVENTORY,
            CITY_INDICATORS,
            INVENTORY_UNCERTAINTY,
            INVENTORY_RECONCILIATION,
            CITY_SCOPE2,
            GPC_INVENTORY,
            CITY_SINKS,
            CITY_TRANSPORT,
            NOWCAST,
            NOWCAST_BACKTEST,
            NOWCAST_CITY_BACKTEST,
            METER_QUALITY,
            POWER_INDICATORS,
            LOAD_ANOMALIES,
            GRID_NODE_INTENSITY,
            HOURLY_SCOPE2,
            DUAL_CONTROL,
            TARGET_PROGRESS,
            TARGET_STATUS,
            CARBON_EFFICIENCY,
            CARBON_EFFICIENCY_DISTRIBUTION,
            GREEN_PROJECT_REDUCTION,
            GREEN_PROJECT_ELIGIBILITY,
            ENERGY_BENCHMARK,
            ENERGY_BENCHMARK_SUMMARY,
            SUBSIDY_APPLICATION,
            SUBSIDY_SCHEDULE,
            SUBSIDY_BUDGET,
        )
    }
)


def result(name: str) -> Result:
    """The declaration of result ``name``; an InputError naming the declared ones otherwise."""
    try:
        return RESULTS[name]
    except KeyError:
        raise InputError(
            f"no result {name!r} is declared (declared: {', '.join(RESULTS)})",
            source="contract/results.py",
        ) from None
