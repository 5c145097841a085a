"""Factor sets as versioned, sourced data, and the reference lists of fuels, gases and grid
regions (with the names of factor keys)."""

from citycarbon.factors.library import (
    COLUMNS,
    LANGS,
    FactorProfile,
    FactorSet,
    available_ids,
    diff,
    in_language,
    list_factor_sets,
    load_factor_set,
    parameters,
)
from citycarbon.factors.reference import (
    fuels,
    gases,
    grid_regions,
    key_names,
    resolve_fuels,
    resolve_gases,
)

__all__ = [
    "COLUMNS",
    "LANGS",
    "FactorProfile",
    "FactorSet",
    "available_ids",
    "diff",
    "fuels",
    "gases",
    "grid_regions",
    "in_language",
    "key_names",
    "list_factor_sets",
    "load_factor_set",
    "parameters",
    "resolve_fuels",
    "resolve_gases",
]
