"""City configuration: a YAML file per city; ``xiamen.yaml`` is the default."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from citycarbon.errors import InputError
from citycarbon.factors import FactorProfile, load_factor_set

CONFIG_DIR = Path(__file__).parent
DEFAULT_CITY = "xiamen"


class Names(BaseModel):
    zh: str
    en: str


class District(BaseModel):
    code: str = Field(pattern=r"^\d{6}$")
    zh: str
    en: str


class Province(BaseModel):
    code: str = Field(pattern=r"^\d{6}$")
    zh: str
    en: str


class FactorChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sets: list[str]
    gwp: str
    grid_region: str = "national"
    overrides: list[dict] = []


class CityConfig(BaseModel):
    """A city's configuration (see ``xiamen.yaml`` for the documented layout)."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    name: Names
    adcode: str = Field(pattern=r"^\d{6}$")
    province: Province
    timezone: str = "Asia/Shanghai"
    districts: list[District]
    #: District boundary GeoJSON (packaged in citycarbon/geo/data or beside the YAML).
    boundaries: str | None = None
    factors: FactorChoice
    path: Path | None = None

    def factor_profile(self) -> FactorProfile:
        """The city's factor profile: its overrides over its sets, then its GWP set."""
        sets = [load_factor_set(s) for s in [*self.factors.sets, self.factors.gwp]]
        overrides = pd.DataFrame(self.factors.overrides) if self.factors.overrides else None
        return FactorProfile(sets, overrides, name=self.id)


def city_path(name_or_path: str | Path | None = None) -> Path:
    """Resolve a city name (a packaged config) or a YAML path; default ``$CITYCARBON_CITY`` or xiamen."""
    name_or_path = name_or_path or os.environ.get("CITYCARBON_CITY") or DEFAULT_CITY
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        return path
    packaged = CONFIG_DIR / f"{name_or_path}.yaml"
    if not packaged.exists():
        known = [p.stem for p in CONFIG_DIR.glob("*.yaml")]
        raise InputError(
            f"city {str(name_or_path)!r} is unknown; packaged cities: {known}, "
            "or give a path to a .yaml file"
        )
    return packaged


@cache
def load_city(name_or_path: str | Path | None = None) -> CityConfig:
    """Load and validate a city configuration."""
    path = city_path(name_or_path)
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
    try:
        return CityConfig(**raw, path=path)
    except ValidationError as err:
        first = err.errors()[0]
        raise InputError(
            first["msg"], source=str(path), field=".".join(str(p) for p in first["loc"])
        ) from None
