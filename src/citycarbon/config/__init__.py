"""City configuration: a YAML file per city; ``xiamen.yaml`` is the default."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from citycarbon.config.settings import get_settings
from citycarbon.errors import InputError, close_matches
from citycarbon.factors import FactorProfile, load_factor_set
from citycarbon.records import join_records, message_record, parse_record

CONFIG_DIR = Path(__file__).parent
DEFAULT_CITY = "xiamen"


class Section(BaseModel):
    """A section of the city YAML: unknown keys are refused (see :func:`load_city`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Names(Section):
    zh: str
    en: str


class District(Section):
    code: str = Field(pattern=r"^\d{6}$")
    zh: str
    en: str


class Province(Section):
    code: str = Field(pattern=r"^\d{6}$")
    zh: str
    en: str


#: Where factors are looked up: ``inventory`` (the city inventory, energy balance, scenarios,
#: city-wide 电-碳 figures) and ``enterprise`` (the enterprise accounts, 205-1 results, pages).
Context = Literal["inventory", "enterprise"]
CONTEXTS: tuple[Context, ...] = ("inventory", "enterprise")


class Priority(Section):
    """Factor sets in priority order per context (first wins where two give the same value)."""

    inventory: list[str]
    enterprise: list[str]


AccountMode = Literal["guideline", "inventory"]
#: The record part (:mod:`citycarbon.records`) by which a result's ``method`` provenance column
#: names the account mode it was computed in (``account_mode?mode=guideline``).
MODE_RECORD = "account_mode"
#: How runs of earlier versions named it: free text before the method.
_OLD_MODE_PREFIX = re.compile(r"^account mode: (guideline|inventory); ")


def method_with_mode(mode: str, method: str) -> str:
    """``method`` (a record) led by the account mode (``account_mode?mode=guideline; ...``)."""
    return join_records(message_record(MODE_RECORD, mode=mode), method)


def mode_of_method(method: str | None) -> str | None:
    """The account mode a ``method`` names (:func:`method_with_mode`, or the free-text prefix
    ``account mode: guideline; `` of earlier runs), None if it names none."""
    parts = parse_record(method)
    if parts:
        return next((p["mode"] for k, p in parts if k == MODE_RECORD and "mode" in p), None)
    found = _OLD_MODE_PREFIX.match(method or "")
    return found.group(1) if found else None


class Modes(Section):
    """Account mode per context. ``guideline``: the 核算指南 account (CO2 only, E = AD x NCV x CC
    x OF x 44/12 with the priority's guideline factors, no IPCC Tier 1 stand-in; its report
    tables). ``inventory``: all gases with the GWP set, IPCC Tier 1 where the priority has no
    guideline factors of a fuel. The city inventory is always an inventory."""

    inventory: Literal["inventory"] = "inventory"
    enterprise: AccountMode = "guideline"


class FactorChoice(Section):
    """The city's factor choices: ``priority`` per context (or ``sets``, one list for every
    context), GWP set, grid region, account modes and overrides."""

    priority: Priority | None = None
    sets: list[str] | None = None
    gwp: str
    #: key of ``grid_ef`` for location-based scope 2 (the declared basis of every scope-2 figure)
    grid_region: str = "national"
    #: grid regions the city total is also shown under (清单 sensitivity table), by level
    grid_sensitivity: dict[Literal["national", "regional", "provincial"], str] = {}
    mode: Modes = Modes()
    overrides: list[dict] = []
    #: decay-rate zone of landfill first-order decay (IPCC 2006 Vol. 5 Table 3.3)
    waste_climate_zone: Literal["tropical_moist_wet", "temperate_wet"] = "tropical_moist_wet"
    #: zone of the mangrove biomass defaults (IPCC 2013 Wetlands Supplement Ch. 4)
    sink_climate_zone: Literal["subtropical"] = "subtropical"
    #: annual average temperature [C] of the manure-management CH4 factors (IPCC 2006 Vol. 4
    #: Table 10.14 per degree from <= 10 to >= 28 C; Table 10.15 by class: cool < 15 C,
    #: temperate 15-25 C, warm > 25 C)
    livestock_temperature_c: float = Field(21.0, ge=-30.0, le=40.0)

    @model_validator(mode="after")
    def _one_priority(self) -> FactorChoice:
        if (self.priority is None) == (self.sets is None):
            raise ValueError(
                "give either factors.priority (a list of factor sets per context: inventory, "
                "enterprise) or factors.sets (one list for every context)"
            )
        return self

    def sets_of(self, context: Context) -> list[str]:
        """The factor sets of ``context`` in priority order."""
        return getattr(self.priority, context) if self.priority is not None else list(self.sets)


class EmailNotify(Section):
    """SMTP channel of the warnings; the password is read from the variable ``password_env``."""

    host: str
    port: int = 25
    sender: str = Field(alias="from")
    to: list[str] = []
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None


class Notify(Section):
    #: lowest warning level sent (the levels of citycarbon.targets.warnings.LEVELS)
    min_level: Literal["green", "yellow", "red"] = "yellow"
    webhook: str | None = None
    email: EmailNotify | None = None


class TargetsSection(Section):
    """Carbon dual control: target and rule files, accounting basis, schedule, notification."""

    file: str | None = None
    rules: str | None = None
    #: inventory basis of the totals (citycarbon.accounting.inventory.BASES)
    basis: Literal["territorial", "incl_net_imported_electricity"] = "incl_net_imported_electricity"
    #: industrial process CO2 in the assessed total CO2 (else shown separately only)
    include_process_co2: bool = False
    #: standard-coal basis of energy dual control: 当量值 (calorific) or 等价值 (coal_equivalent)
    energy_basis: Literal["calorific", "coal_equivalent"] = "coal_equivalent"
    #: grid whose generation mix gives the non-fossil content of net imported electricity (a
    #: region of targets/data/grid_mix.yaml); None: the non-fossil share is not computed
    grid_mix: str | None = None
    #: base year of renewable electricity consumption (新增可再生能源, 发改运行〔2022〕1258号)
    renewable_base_year: int = 2020
    schedule: str = "30 6 * * *"
    notify: Notify = Notify()


class MetersSection(Section):
    interval: str = "1h"
    max_fill_intervals: int = Field(0, ge=0)


class NowcastSection(Section):
    #: per level or one for all: ``auto`` or one of citycarbon.power.nowcast.MODELS
    model: Literal["auto", "ratio", "loglinear", "naive"] = "auto"
    confidence: float = Field(0.9, gt=0, lt=1)
    window_months: int = Field(12, ge=1)
    horizon: int = Field(1, ge=1)


class AnomaliesSection(Section):
    threshold: float = Field(3.5, gt=0)
    window_weeks: int = Field(8, ge=1)
    min_weeks: int = Field(4, ge=1)
    min_change: float = Field(0.2, ge=0)


class PowerSection(Section):
    """电-碳 chain: meter gap filling, nowcast model, daily-load anomaly rule."""

    meters: MetersSection = MetersSection()
    nowcast: NowcastSection = NowcastSection()
    anomalies: AnomaliesSection = AnomaliesSection()


class PathwaysSection(Section):
    """情景分析: the declared future grid emission factor (a trajectory name of
    ``citycarbon/pathways/data/grid_ef_trajectories.yaml``)."""

    grid_ef_trajectory: str = "fujian_decarbonisation"


class CityConfig(Section):
    """A city's configuration (see ``xiamen.yaml`` for the documented layout)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    name: Names
    adcode: str = Field(pattern=r"^\d{6}$")
    province: Province
    timezone: str = "Asia/Shanghai"
    districts: list[District]
    #: District boundary GeoJSON (packaged in citycarbon/geo/data or beside the YAML).
    boundaries: str | None = None
    factors: FactorChoice
    targets: TargetsSection = TargetsSection()
    power: PowerSection = PowerSection()
    pathways: PathwaysSection = PathwaysSection()
    path: Path | None = None

    def factor_profile(self, context: Context) -> FactorProfile:
        """The city's factor profile in ``context`` (``inventory`` or ``enterprise``): its
        overrides over the context's sets in priority order, then its GWP set. Its name is
        ``<city>:<context>``, so results say which priority they were computed with."""
        if context not in CONTEXTS:
            raise InputError(
                f"factor context {context!r} is unknown",
                field="context",
                value=context,
                suggestions=CONTEXTS,
            )
        extra = get_settings().factors_path
        names = [*self.factors.sets_of(context), self.factors.gwp]
        sets = [load_factor_set(s, extra_paths=extra) for s in names]
        overrides = pd.DataFrame(self.factors.overrides) if self.factors.overrides else None
        return FactorProfile(sets, overrides, name=f"{self.id}:{context}")

    def factor_versions(self) -> str:
        """The versions of the city's profiles in every context, as one label (for a run that
        computes results of both)."""
        return "; ".join(self.factor_profile(c).version for c in CONTEXTS)


def city_path(name_or_path: str | Path | None = None) -> Path:
    """Resolve a city name (a packaged config) or a YAML path; default ``$CITYCARBON_CITY`` or xiamen."""
    name_or_path = name_or_path or get_settings().city or DEFAULT_CITY
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        return path.resolve()
    packaged = CONFIG_DIR / f"{name_or_path}.yaml"
    if not packaged.exists():
        known = [p.stem for p in CONFIG_DIR.glob("*.yaml")]
        raise InputError(
            f"city {str(name_or_path)!r} is unknown; packaged cities: {known}, "
            "or give a path to a .yaml file",
            suggestions=close_matches(str(name_or_path), known),
        )
    return packaged


def load_city(name_or_path: str | Path | None = None) -> CityConfig:
    """Load and validate a city configuration: a packaged city's name or a YAML path (default
    ``$CITYCARBON_CITY``, else xiamen, resolved on every call; the parsed file is cached until
    it changes)."""
    path = city_path(name_or_path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise InputError("city configuration file not found", source=str(path)) from None
    return _load_file(path, stat.st_mtime_ns, stat.st_size)


def as_city(city: CityConfig | str | Path | None = None) -> CityConfig:
    """``city`` itself when it is a loaded config, else :func:`load_city` of it."""
    return city if isinstance(city, CityConfig) else load_city(city)


@cache
def _load_file(path: Path, mtime_ns: int, size: int) -> CityConfig:
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except FileNotFoundError:
        raise InputError("city configuration file not found", source=str(path)) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise InputError(
            f"not valid YAML: {getattr(err, 'problem', err)}",
            source=str(path),
            row=mark.line + 1 if mark else None,
        ) from None
    if not isinstance(raw, dict):
        raise InputError("a city configuration must be a mapping of sections", source=str(path))
    try:
        return CityConfig(**raw, path=path)
    except ValidationError as err:
        raise _config_error(err.errors()[0], path) from None


def _config_error(first: Any, path: Path) -> InputError:
    """The first validation problem as an error naming the file, section and key."""
    loc = [str(p) for p in first["loc"]]
    if first["type"] == "extra_forbidden":
        section, key = ".".join(loc[:-1]), loc[-1]
        known = _known_keys(loc[:-1])
        return InputError(
            f"unknown key {key!r} in section {section or '(top level)'}; known: {', '.join(known)}",
            source=str(path),
            field=".".join(loc),
            value=key,
            suggestions=close_matches(key, known),
        )
    return InputError(
        f"{first['msg']} (got {first.get('input')!r})" if "input" in first else first["msg"],
        source=str(path),
        field=".".join(loc),
    )


def _known_keys(loc: list[str]) -> list[str]:
    """The keys a section at ``loc`` (e.g. ``['power', 'nowcast']``) accepts."""
    model: Any = CityConfig
    for part in loc:
        if part.isdigit() or not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        fields = {f.alias or n: f for n, f in model.model_fields.items()}
        model = _model_of(fields[part].annotation) if part in fields else None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    return [f.alias or n for n, f in model.model_fields.items() if n != "path"]


def _model_of(annotation: Any) -> Any:
    """The pydantic model inside ``X``, ``X | None`` or ``list[X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
