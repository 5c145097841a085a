"""Errors users see: each names the place (file, sheet, line, field), the value as written, the
reason and a way forward, in the user's language.

See ../shared/STYLE.md, "Errors users see".

One location model for every entry (CLI, web page, API, quarantine):

- ``file``: the file as the user named it;
- ``sheet``: the workbook sheet, for .xlsx;
- ``line``: the place in the file as the user sees it: in a CSV (or other text) file the line
  number an editor shows, the header being line 1 (a row spanning several lines counted, blank
  lines kept in the numbering); in a workbook the Excel row number of the sheet; in Parquet the
  1-based record number; in a table that is not a file, the row's index label;
- ``field``: the column as named in the file;
- ``value``: the cell as written (:func:`value_text`: ``-10000``, never ``np.int64(-10000)``).

The reason is a code of the catalog (``zh.yaml``, ``en.yaml`` next to this module: ``reason.*``
and ``hint.*``) with its parameters, so every entry says it in its language: the web in the
page's language, the CLI in ``CITYCARBON_LANG`` or the locale (:func:`cli_lang`). An error
raised with a free-text reason (no code) keeps that text in both languages.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LANGS = ("zh", "en")
_DIR = Path(__file__).parent
_BOOK_SUFFIXES = (".xlsx", ".xlsm")
#: Files whose places are lines (an editor's line numbers); other files have rows or records.
_TEXT_SUFFIXES = (".csv", ".txt", ".tsv", ".yaml", ".yml", ".json", ".sql", ".py")
_FILE_SUFFIXES = (*_TEXT_SUFFIXES, *_BOOK_SUFFIXES, ".xls", ".parquet", ".pq")
_RECORD = "citycarbon_error"  # the key marking a stored error (InputError.to_record)


class CitycarbonError(Exception):
    """Base class of every error citycarbon raises on purpose."""


@cache
def catalog(lang: str) -> dict[str, str]:
    """The error texts of a language (``zh`` or ``en``), flattened to dotted keys."""
    data = yaml.safe_load((_DIR / f"{lang if lang in LANGS else 'en'}.yaml").read_text("utf-8"))
    out: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            out[prefix] = str(node)

    walk("", data or {})
    return out


def say(lang: str, key: str, **params: object) -> str:
    """The catalog text ``key`` in ``lang`` (English when missing there), formatted."""
    text = catalog(lang).get(key) or catalog("en").get(key) or key
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return text


def cli_lang(environ: Mapping[str, str]) -> str:
    """The command line's language from an environment (the CLI passes
    :func:`citycarbon.config.settings.environment`): ``CITYCARBON_LANG`` (zh or en), else the
    locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``zh_CN.UTF-8`` gives zh), else English, the
    language of the CLI's other output."""
    env = environ
    chosen = env.get("CITYCARBON_LANG", "").strip().lower()
    if chosen in LANGS:
        return chosen
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(name):
            return "zh" if env[name].lower().startswith("zh") else "en"
    return "en"


def value_text(value: object) -> str | None:
    """A value as written in its cell: numpy scalars as plain numbers (``-10000``), a whole
    float without ``.0``, a missing value as empty; ``None`` when there is no value."""
    if value is None:
        return None
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        value = item()
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
    if type(value).__name__ in ("NaTType", "NAType"):
        return ""
    return str(value)


def close_matches(value: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Candidates that look like ``value`` (for "did you mean ...?").

    A candidate such as ``"natural_gas 天然气"`` matches on any of its words.
    """
    value = str(value).lower().strip()
    scored = []
    for cand in dict.fromkeys(str(c) for c in candidates):
        words = [cand.lower(), *cand.lower().split()]
        score = max(difflib.SequenceMatcher(None, value, w).ratio() for w in words)
        if value and any(value in w or w in value for w in words):
            score = max(score, 0.8)
        if score >= 0.5:
            scored.append((score, cand))
    return [c for _, c in sorted(scored, key=lambda t: -t[0])[:n]]


@dataclass(frozen=True)
class Location:
    """Where a bad value is, as the user sees it (see the module's numbering convention)."""

    file: str | None = None
    sheet: str | None = None
    line: int | str | None = None
    field: str | None = None
    value: str | None = None

    @classmethod
    def of(
        cls,
        source: str | None = None,
        line: object = None,
        field: str | None = None,
        value: object = None,
        sheet: str | None = None,
    ) -> Location:
        """A location from an error's parts; ``source`` ``book.xlsx!Sheet`` names the sheet."""
        if source and sheet is None and "!" in source:
            book, _, tab = source.partition("!")
            if book.lower().endswith(_BOOK_SUFFIXES):
                source, sheet = book, tab
        line = value_text(line)
        return cls(
            source or None,
            sheet or None,
            int(line) if line and line.lstrip("-").isdigit() else line or None,
            field or None,
            value_text(value),
        )

    def text(self, lang: str, with_value: bool = True) -> str:
        """``energy.csv, line 4, field quantity, value '-10000'`` in ``lang``."""
        parts = []
        suffix = Path(self.file or "").suffix.lower()
        if self.file:  # a file, or a table named by its name (``lake table energy_monthly``)
            key = "loc.file" if suffix in _FILE_SUFFIXES else "loc.table"
            parts.append(say(lang, key, file=self.file))
        if self.sheet:
            parts.append(say(lang, "loc.sheet", sheet=self.sheet))
        if self.line is not None:
            # a text file's line; a workbook's Excel row, a Parquet record, a table's row
            key = "loc.line" if suffix in _TEXT_SUFFIXES and not self.sheet else "loc.row"
            parts.append(say(lang, key, line=self.line))
        if self.field:
            parts.append(say(lang, "loc.field", field=self.field))
        if self.value is not None and with_value:
            parts.append(say(lang, "loc.value", value=self.value))
        return say(lang, "loc.sep").join(parts)

    def public(self) -> dict[str, Any]:
        """The location as a JSON object (API error bodies)."""
        return asdict(self)


class InputError(CitycarbonError, ValueError):
    """Bad input: names the place (:class:`Location`), the value, the reason and a way forward.

    ``reason`` is the English text; with ``code`` the reason (``reason.<code>``) and the way
    forward (``hint.<code>``) come from the catalog in each language, formatted with ``params``
    and the location's parts. ``row`` is the line or row as the user sees it (module docstring).
    """

    def __init__(
        self,
        reason: str = "",
        *,
        source: str | None = None,
        row: object = None,
        field: str | None = None,
        value: object = None,
        suggestions: Iterable[str] = (),
        sheet: str | None = None,
        code: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        self.location = Location.of(source, row, field, value, sheet)
        self.code = code
        self.params = {k: value_text(v) for k, v in (params or {}).items()}
        self.reason = reason or (self.reason_text("en") if code else "")
        self.suggestions = list(suggestions)
        super().__init__(self.message)

    # the location's parts, as attributes of the error
    @property
    def source(self) -> str | None:
        return self.location.file

    @property
    def sheet(self) -> str | None:
        return self.location.sheet

    @property
    def row(self) -> int | str | None:
        return self.location.line

    @property
    def field(self) -> str | None:
        return self.location.field

    @property
    def value(self) -> str | None:
        return self.location.value

    def within(self, source: str | None = None, sheet: str | None = None) -> InputError:
        """The error with the file (and sheet) filled in where it named none (a table function
        raised it without knowing its file); the error itself when it names one."""
        if self.location.file or not source:
            return self
        other = Location.of(source, None, sheet=sheet)
        self.location = replace(self.location, file=other.file, sheet=other.sheet)
        self.args = (self.message,)
        return self

    def _params(self) -> dict[str, object]:
        loc = self.location
        return {"field": loc.field, "value": loc.value, "file": loc.file, **self.params}

    def reason_text(self, lang: str) -> str:
        """The reason in ``lang`` (the free text when the error has no code)."""
        if not self.code:
            return self.reason
        return say(lang, f"reason.{self.code}", **self._params())

    def hint(self, lang: str) -> str | None:
        """The way forward in ``lang``: the catalog's hint, or close matches of the value."""
        parts = []
        if self.suggestions:
            parts.append(
                say(lang, "hint.did_you_mean", names=", ".join(repr(s) for s in self.suggestions))
            )
        if self.code and f"hint.{self.code}" in catalog("en"):
            parts.append(say(lang, f"hint.{self.code}", **self._params()))
        return say(lang, "loc.sep").join(parts) or None

    def render(self, lang: str = "en") -> str:
        """The whole message in ``lang``: place, reason, way forward."""
        reason = self.reason_text(lang)
        value = self.location.value
        # a free-text reason often quotes the value already
        where = self.location.text(lang, with_value=bool(self.code) or (value or "") not in reason)
        text = say(lang, "loc.at", where=where, reason=reason) if where else reason
        hint = self.hint(lang)
        return say(lang, "loc.hinted", text=text, hint=hint) if hint else text

    @property
    def message(self) -> str:
        return self.render("en")

    def to_record(self, clean: Callable[[str], str] = str) -> str:
        """The error as stored text (a job's error), to be said later in the reader's language
        (:func:`error_text`); ``clean`` is applied to every text in it (e.g. no server path)."""
        loc = {k: clean(v) if isinstance(v, str) else v for k, v in asdict(self.location).items()}
        return json.dumps(
            {
                _RECORD: 1,
                "reason": clean(self.reason),
                "code": self.code,
                "params": {k: clean(v) if v else v for k, v in self.params.items()},
                "suggestions": self.suggestions,
                "location": loc,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_record(cls, text: str | None) -> InputError | None:
        """The error stored by :meth:`to_record`; None for any other text."""
        if not text or not text.startswith('{"' + _RECORD):
            return None
        data = json.loads(text)
        loc = data["location"]
        err = cls(
            data["reason"],
            source=loc["file"],
            sheet=loc["sheet"],
            row=loc["line"],
            field=loc["field"],
            value=loc["value"],
            suggestions=data["suggestions"],
            code=data["code"],
            params=data["params"],
        )
        return err

    def public(self, lang: str) -> dict[str, Any]:
        """The error as an API body's ``error`` object in ``lang``."""
        return {
            **self.location.public(),
            "code": self.code,
            "reason": self.reason_text(lang),
            "hint": self.hint(lang),
            "message": self.render(lang),
        }


class UnknownCodeError(InputError):
    """A code (fuel, gas, unit, factor key, entity) that is not known; suggests close matches."""

    def __init__(self, kind: str, code: object, known: Iterable[str], **where: object) -> None:
        super().__init__(
            f"{kind} {code!r} is unknown",
            value=code,
            suggestions=close_matches(str(code), known),
            **where,  # type: ignore[arg-type]
        )


class UnitError(InputError):
    """A unit that is unknown or of the wrong dimension."""


def error_text(stored: str | None, lang: str) -> str | None:
    """A stored error (a job's) in ``lang``: an :meth:`InputError.to_record` said in the
    language, any other text as it is."""
    err = InputError.from_record(stored)
    return err.render(lang) if err is not None else stored
