"""Factor sets: versioned, sourced tables of coefficients, and the profile a city computes with.

A factor set is a directory ``<id>/`` holding ``manifest.yaml`` (id, version, title, publisher,
description) and ``factors.csv`` with one value per row::

    parameter,key,context,year,value,unit,source,clause,note[,status][,note_zh,note_en]

``parameter`` is one of ``parameters.yaml``; ``key`` is a fuel, gas, region or material code;
``context`` narrows it (a source category, a product) and may be empty; ``year`` is the year the
value refers to (data year for time series, publication year otherwise). Every row needs a value,
a unit of the parameter's dimension, a source document and its table/clause: the loader refuses
anything else, naming file, row and field. ``status`` is empty for a published value and
``assumption`` for a value that is not (a mapping the platform chose, a year carried forward, a
figure not verified against its source); its ``note`` says why, and every citation of the value
(:meth:`FactorProfile.cite`) and every page that lists it says "assumption".

``title``, ``description`` and ``note`` are the record as the set's author wrote them (often
English with the Chinese terms of the source). For the pages and files of one language the
manifest adds ``title_zh``/``title_en`` and ``description_zh``/``description_en``, and
``factors.csv`` the columns ``note_zh``/``note_en``: the same text translated, where a cited
document keeps its published title in 《》 (:func:`in_language` picks them; a text without a
translation, e.g. a city's override note, is shown as recorded).

A :class:`FactorProfile` stacks factor sets in priority order under a city's own overrides, and is
what the accounting core looks values up in. Its :attr:`FactorProfile.version` identifies the
exact content and is recorded with every result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from citycarbon import units
from citycarbon.errors import InputError, UnitError, UnknownCodeError

DATA_DIR = Path(__file__).parent / "data"
COLUMNS = [
    "parameter",
    "key",
    "context",
    "year",
    "value",
    "unit",
    "source",
    "clause",
    "note",
    "status",
    "note_zh",
    "note_en",
]
REQUIRED = ["parameter", "key", "year", "value", "unit", "source", "clause"]
INDEX = ["parameter", "key", "context", "year"]
STATUSES = ("", "assumption")
#: Languages of the translated texts (``note_zh``, ``title_en``, ...).
LANGS = ("zh", "en")
#: Texts of a set that have translations: columns of the table, keys of the manifest.
TRANSLATED_COLUMNS = ("note",)
TRANSLATED_MANIFEST = ("title", "description")


@cache
def parameters() -> dict[str, dict]:
    """The parameter vocabulary (``parameters.yaml``)."""
    return yaml.safe_load((Path(__file__).parent / "parameters.yaml").read_text("utf-8"))


def search_path(extra: Iterable[str | Path] = ()) -> list[Path]:
    """Directories searched for factor sets: ``extra`` (callers pass the setting
    ``CITYCARBON_FACTORS_PATH`` here, see :mod:`citycarbon.config.settings`), then the built-ins."""
    return [Path(p) for p in extra] + [DATA_DIR]


def validate_rows(table: pd.DataFrame, source: str, *, first_row: int = 2) -> pd.DataFrame:
    """Check factor rows; return them typed, with ``dimension`` and ``to_base`` columns added.

    ``first_row`` is the file line of the first data row (2 for a CSV with a header), so errors
    name the line a user sees in an editor. Raises :class:`InputError` on the first problem.
    """
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", source=source)
    table = table.reindex(columns=COLUMNS).copy()
    for col in ("context", "note", "status", "note_zh", "note_en"):
        table[col] = table[col].fillna("").astype(str).str.strip()
    for col in ("parameter", "key", "unit", "source", "clause"):
        table[col] = table[col].astype("string").str.strip()
    vocab = parameters()
    lines = pd.RangeIndex(first_row, first_row + len(table))
    table.index = lines
    for col in REQUIRED:
        empty = table[col].isna() | (table[col].astype("string") == "")
        if empty.any():
            line = int(table.index[np.argmax(empty.to_numpy())])
            why = "a value without a source is refused" if col in ("source", "clause") else "empty"
            raise InputError(
                f"{col} is {why}" if col not in ("source", "clause") else why,
                source=source,
                row=line,
                field=col,
            )
    odd = ~table["status"].isin(STATUSES)
    if odd.any():
        line = int(table.index[np.argmax(odd.to_numpy())])
        raise InputError(
            "status must be empty (a published value) or 'assumption'",
            source=source,
            row=line,
            field="status",
            value=table.at[line, "status"],
            suggestions=STATUSES[1:],
        )
    unknown = ~table["parameter"].isin(list(vocab))
    if unknown.any():
        line = int(table.index[np.argmax(unknown.to_numpy())])
        raise UnknownCodeError(
            "parameter",
            table.at[line, "parameter"],
            vocab,
            source=source,
            row=line,
            field="parameter",
        )
    for col in ("value", "year"):
        numeric = pd.to_numeric(table[col], errors="coerce")
        bad = numeric.isna() | ~np.isfinite(numeric.astype("float64"))
        if bad.any():
            line = int(table.index[np.argmax(bad.to_numpy())])
            raise InputError(
                f"{col} {table.at[line, col]!r} is not a number",
                source=source,
                row=line,
                field=col,
                value=table.at[line, col],
            )
        table[col] = numeric
    table["year"] = table["year"].astype("int64")
    if (table["value"] < 0).any():
        line = int(table.index[np.argmax((table["value"] < 0).to_numpy())])
        raise InputError(
            "value is negative",
            source=source,
            row=line,
            field="value",
            value=table.at[line, "value"],
        )
    dims, bases = [], []
    for line, param, unit in zip(table.index, table["parameter"], table["unit"], strict=True):
        try:  # loops over factor rows (hundreds), not bulk data
            u = units.parse(unit)
        except UnitError as err:
            raise UnitError(
                err.reason,
                source=source,
                row=line,
                field="unit",
                value=unit,
                suggestions=err.suggestions,
            ) from None
        if u.dimension not in vocab[param]["dimensions"]:
            raise UnitError(
                f"unit {unit!r} is {u.dimension}; {param} needs "
                + " or ".join(vocab[param]["dimensions"]),
                source=source,
                row=line,
                field="unit",
                value=unit,
            )
        dims.append(u.dimension)
        bases.append(u.to_base)
    table["dimension"] = dims
    table["to_base"] = bases
    dup = table.duplicated(INDEX, keep="first")
    if dup.any():
        line = int(table.index[np.argmax(dup.to_numpy())])
        raise InputError(
            "duplicate parameter/key/context/year",
            source=source,
            row=line,
            field="key",
            value=table.at[line, "key"],
        )
    return table


@dataclass(frozen=True)
class FactorSet:
    """One versioned, sourced factor set."""

    id: str
    version: str
    title: str
    table: pd.DataFrame = field(repr=False)
    publisher: str = ""
    description: str = ""
    path: Path | None = None
    #: ``title_zh``, ``title_en``, ``description_zh``, ``description_en`` of the manifest
    translations: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        """``id@version``, as recorded with results."""
        return f"{self.id}@{self.version}"

    def text(self, name: str, lang: str) -> str:
        """The set's ``title`` or ``description`` in ``lang`` (the record where the manifest
        has no translation)."""
        return self.translations.get(f"{name}_{lang}") or getattr(self, name)


def load_factor_set(
    name_or_path: str | Path, *, extra_paths: Iterable[str | Path] = ()
) -> FactorSet:
    """Load a factor set by id (searched on :func:`search_path`) or from a directory path."""
    path = Path(name_or_path)
    if not (path.is_dir() and (path / "manifest.yaml").exists()):
        found = [
            d / str(name_or_path)
            for d in search_path(extra_paths)
            if (d / str(name_or_path) / "manifest.yaml").exists()
        ]
        if not found:
            raise UnknownCodeError("factor set", str(name_or_path), available_ids(extra_paths))
        path = found[0]
    return _load_dir(path.resolve())


@cache
def _load_dir(path: Path) -> FactorSet:
    manifest_file = path / "manifest.yaml"
    manifest = yaml.safe_load(manifest_file.read_text("utf-8")) or {}
    for key in ("id", "version", "title"):
        if not manifest.get(key):
            raise InputError(f"manifest needs {key!r}", source=str(manifest_file), field=key)
    csv = path / "factors.csv"
    try:
        raw = pd.read_csv(csv, dtype=str, keep_default_na=False, na_values=[""], comment=None)
    except FileNotFoundError:
        raise InputError("factors.csv is missing", source=str(path)) from None
    table = validate_rows(raw, str(csv))
    table.insert(0, "set_id", manifest["id"])
    table.insert(1, "set_version", str(manifest["version"]))
    return FactorSet(
        id=manifest["id"],
        version=str(manifest["version"]),
        title=manifest["title"],
        table=table,
        publisher=manifest.get("publisher", ""),
        description=manifest.get("description", ""),
        path=path,
        translations={
            f"{n}_{lang}": str(manifest[f"{n}_{lang}"]).strip()
            for n in TRANSLATED_MANIFEST
            for lang in LANGS
            if manifest.get(f"{n}_{lang}")
        },
    )


def in_language(
    table: pd.DataFrame, lang: str, names: Sequence[str] = TRANSLATED_COLUMNS
) -> pd.DataFrame:
    """``table`` with each text column of ``names`` in ``lang``: ``<name>_<lang>`` where the
    row has it, the recorded ``<name>`` otherwise; the translation columns left out. For a page
    or file in one language (``lang`` one of :data:`LANGS`); the record stays in the set's file."""
    out = table.copy()
    for name in names:
        own = out[f"{name}_{lang}"].fillna("")
        out[name] = own.where(own != "", out[name])
    return out.drop(columns=[f"{n}_{x}" for n in names for x in LANGS])


def available_ids(extra_paths: Iterable[str | Path] = ()) -> list[str]:
    """Ids of all factor sets on the search path."""
    ids = {p.parent.name for d in search_path(extra_paths) for p in d.glob("*/manifest.yaml")}
    return sorted(ids)


def list_factor_sets(extra_paths: Iterable[str | Path] = ()) -> list[FactorSet]:
    """All factor sets on the search path."""
    return [load_factor_set(i, extra_paths=extra_paths) for i in available_ids(extra_paths)]


class FactorProfile:
    """Factor sets in priority order, under a city's overrides: what a computation looks up.

    Parameters
    ----------
    sets : factor sets, highest priority first
    overrides : rows in the factor-set column layout (each with its own source and clause)
    name : a label for the profile (e.g. the city id)
    """

    def __init__(
        self, sets: Sequence[FactorSet], overrides: pd.DataFrame | None = None, name: str = "custom"
    ) -> None:
        self.name = name
        self.sets = list(sets)
        parts = []
        if overrides is not None and len(overrides):
            ov = validate_rows(overrides, f"{name} config: factor overrides", first_row=1)
            ov.insert(0, "set_id", f"{name}-overrides")
            ov.insert(1, "set_version", _digest(ov))
            parts.append(ov)
        parts += [s.table for s in self.sets]
        combined = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
        self._by_year = {p for p, spec in parameters().items() if spec.get("by_year")}
        # The first (highest-priority) value wins: per year for time series, otherwise per
        # parameter, key and context whatever year each source gives.
        series = combined["parameter"].isin(self._by_year)
        shadowed = combined.duplicated(["parameter", "key", "context", "year"], keep="first")
        shadowed |= ~series & combined.duplicated(["parameter", "key", "context"], keep="first")
        self.table = combined[~shadowed].reset_index(drop=True)

    @property
    def version(self) -> str:
        """Identifies the profile's exact content: set labels and a digest of all values."""
        labels = ",".join(s.label for s in self.sets)
        return f"{self.name}[{labels}]#{_digest(self.table)}"

    def rows(self, parameter: str, context: str = "") -> pd.DataFrame:
        """All rows of one parameter (and context)."""
        t = self.table
        return t[(t["parameter"] == parameter) & (t["context"] == context)]

    def chosen(self, parameter: str, context: str = "", year: int | None = None) -> pd.DataFrame:
        """The row each key's value comes from, indexed by key: the highest-priority row; for a
        time series the latest one with year <= ``year`` (``year`` is required for those)."""
        table = self.rows(parameter, context)
        if parameter in self._by_year:
            if year is None:
                raise InputError(f"{parameter} is a time series: give a year")
            table = (
                table[table["year"] <= year].sort_values("year").drop_duplicates("key", keep="last")
            )
        return table.drop_duplicates("key", keep="first").set_index("key")

    def lookup_many(
        self,
        parameter: str,
        keys,
        unit: str,
        *,
        context: str = "",
        year: int | None = None,
        source: str | None = None,
    ) -> np.ndarray:
        """Values for many keys (array or Series), converted to ``unit``; vectorised over unique keys.

        Raises :class:`UnknownCodeError` naming the first key that has no value.
        """
        keys = pd.Series(keys, copy=False)
        codes, uniques = pd.factorize(keys, use_na_sentinel=True)
        found = self.chosen(parameter, context, year)
        missing = [k for k in uniques if k not in found.index]
        if missing or (codes < 0).any():
            bad = missing[0] if missing else None
            row = keys.index[int(np.argmax(keys.to_numpy() == bad))] if missing else None
            where = f" (context {context!r})" if context else ""
            when = f" for year {year}" if year is not None and parameter in self._by_year else ""
            raise UnknownCodeError(
                f"{parameter}{where}{when}: key",
                bad,
                found.index.astype(str),
                source=source or f"factor profile {self.name}",
                row=row,
            )
        target = units.parse(unit)
        sub = found.loc[list(uniques)]
        dims = sub["dimension"].to_numpy()
        wrong = dims != target.dimension
        if wrong.any():
            raise UnitError(
                f"{parameter} for {sub.index[np.argmax(wrong)]!r} is {dims[np.argmax(wrong)]}, "
                f"cannot express in {unit}",
                source=source or f"factor profile {self.name}",
            )
        values = (sub["value"].to_numpy() * sub["to_base"].to_numpy()) / target.to_base
        return values[codes]

    def lookup(
        self, parameter: str, key: str, unit: str, *, context: str = "", year: int | None = None
    ) -> float:
        """One value, converted to ``unit``."""
        return float(self.lookup_many(parameter, [key], unit, context=context, year=year)[0])

    def provenance(
        self, parameter: str, key: str, *, context: str = "", year: int | None = None
    ) -> dict:
        """Which set, version, source and clause a looked-up value comes from, its status
        ('' or 'assumption') and note."""
        t = self.rows(parameter, context)
        t = t[t["key"] == key]
        if parameter in self._by_year and year is not None:
            t = t[t["year"] <= year].sort_values("year").tail(1)
        if t.empty:
            raise UnknownCodeError(f"{parameter}: key", key, self.rows(parameter, context)["key"])
        r = t.iloc[0]
        return {
            c: (r[c].item() if hasattr(r[c], "item") else r[c])
            for c in ("set_id", "set_version", *COLUMNS)
        }

    def cite(
        self, parameter: str, keys, *, context: str = "", year: int | None = None
    ) -> pd.Series:
        """How the value of each key is cited on a computed line, by key (distinct keys).

        ``set@version parameter[key] = value unit``, with ``(year Y)`` for a time series and
        ``, assumption`` where the value is one (``status``); '' for a key without a value.
        """
        keys = pd.Index(pd.unique(pd.Series(keys, dtype=object).dropna()))
        rows = self.chosen(parameter, context, year).reindex(keys)
        have = rows["value"].notna()
        text = (
            rows["set_id"].astype(str)
            + "@"
            + rows["set_version"].astype(str)
            + f" {parameter}["
            + rows.index.astype(str)
            + "] = "
            + rows["value"].map(lambda v: f"{v:g}", na_action="ignore").astype(str)
            + rows["unit"].astype(str).map(lambda u: "" if u == "1" else f" {u}")
        )
        if parameter in self._by_year:
            text = text + " (year " + rows["year"].astype("Int64").astype(str) + ")"
        text = text + np.where(rows["status"] == "assumption", ", assumption", "")
        return pd.Series(np.where(have, text, ""), index=keys, dtype=object)

    def co2_methods(self, codes, ipcc_fuels, *, tier1: bool) -> pd.DataFrame:
        """How the combustion CO2 of each fuel code is computed with this profile.

        ``guideline`` (E = AD x NCV x CC x OF x 44/12) where the profile holds the fuel code's own
        carbon content and oxidation rate, whichever sets of the priority give them; ``tier1``
        (E = AD x NCV x EF_CO2 of the fuel's IPCC fuel type) only where ``tier1`` allows it, the
        code has neither and the profile holds the type's ``co2_ef``. A fuel with only one of
        carbon content and oxidation never falls back: the set is incomplete, and that is an
        error for the caller to report (``problem``), as is a fuel with no method.

        Parameters
        ----------
        codes : sequence of str
            Distinct fuel codes of fuels.csv.
        ipcc_fuels : sequence of str
            Their IPCC fuel types ('' for none), same order.
        tier1 : bool
            Whether the IPCC Tier 1 factor may stand in for missing guideline factors (the
            inventory mode; never in the 核算指南 guideline mode).

        Returns
        -------
        pandas.DataFrame
            Indexed by code: ``method`` ('guideline', 'tier1' or '') and ``problem`` (why there
            is no method; '' otherwise).

        References
        ----------
        [1] GB/T 32150-2015, 6.4 (AD x NCV x CC x OF x 44/12 with the guideline defaults).
        [2] IPCC 2006 Guidelines, Vol. 2, Ch. 2, eq. 2.1 (Tier 1).
        """
        codes = pd.Index(codes, dtype=object)
        ipcc = pd.Series(list(ipcc_fuels), index=codes, dtype=object).fillna("")
        cc = codes.isin(self.chosen("carbon_content").index)
        of = codes.isin(self.chosen("oxidation").index)
        ef = ipcc.isin(self.chosen("co2_ef").index).to_numpy() & (ipcc != "").to_numpy()
        method = np.select(
            [cc & of, ~cc & ~of & tier1 & ef], ["guideline", "tier1"], default=""
        ).astype(object)
        has = pd.Series(np.where(cc, "carbon_content", "oxidation"), index=codes)
        lacks = pd.Series(np.where(cc, "oxidation", "carbon_content"), index=codes)
        half = (
            f"profile {self.name} has "
            + has
            + " but no "
            + lacks
            + (
                " for it: add the missing value (with its source) as an override; an incomplete "
                "guideline set never falls back to IPCC Tier 1"
            )
        )
        why = (
            " (the guideline mode never falls back to IPCC Tier 1)"
            if not tier1
            else ", nor co2_ef for its IPCC fuel " + ipcc.replace("", "(none)")
        )
        none = (
            f"profile {self.name} has no carbon_content and oxidation for it"
            + why
            + (
                ": add them (with their source) as overrides or put a set that has them in the "
                "priority"
            )
        )
        problem = np.where(cc ^ of, half, np.where(method == "", none, ""))
        return pd.DataFrame({"method": method, "problem": problem}, index=codes)


def _digest(table: pd.DataFrame) -> str:
    cols = [c for c in ("set_id", *INDEX, "value", "unit", "status") if c in table.columns]
    text = table[cols].astype(str).to_csv(index=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def diff(a: FactorSet, b: FactorSet) -> pd.DataFrame:
    """Rows that differ between two sets: only in a, only in b, or changed value (in a's unit).

    Values are matched on parameter, key and context, and also on year for time series (a
    GWP of AR5 and of AR6 are the same quantity published in different years).

    Columns: parameter, key, context, year (series only), status, value_a, unit_a, value_b,
    unit_b, value_b_in_unit_a, rel_change.
    """
    series = {p for p, spec in parameters().items() if spec.get("by_year")}

    def keyed(table: pd.DataFrame) -> pd.DataFrame:
        year = table["year"].where(table["parameter"].isin(series)).astype("Int64")
        return table.assign(year=year).drop_duplicates(INDEX).set_index(INDEX)

    joined = keyed(a.table).join(keyed(b.table), how="outer", lsuffix="_a", rsuffix="_b")
    in_a, in_b = joined["value_a"].notna(), joined["value_b"].notna()
    same_dim = joined["dimension_a"] == joined["dimension_b"]
    value_b_in_a = np.where(
        same_dim, joined["value_b"] * joined["to_base_b"] / joined["to_base_a"], np.nan
    )
    out = pd.DataFrame(
        {
            "value_a": joined["value_a"],
            "unit_a": joined["unit_a"],
            "value_b": joined["value_b"],
            "unit_b": joined["unit_b"],
            "value_b_in_unit_a": value_b_in_a,
        },
        index=joined.index,
    )
    out["rel_change"] = out["value_b_in_unit_a"] / out["value_a"] - 1
    out["status"] = np.select(
        [
            in_a & ~in_b,
            ~in_a & in_b,
            ~np.isclose(out["value_a"], out["value_b_in_unit_a"], rtol=1e-9, equal_nan=False),
        ],
        ["only_a", "only_b", "changed"],
        default="same",
    )
    return out[out["status"] != "same"].reset_index()
