"""UI strings: ``zh.yaml`` (default) and ``en.yaml``, flat ``section.key: text`` maps.

Each team adds its keys under its own section (``map.*``, ``targets.*`` ...). A key missing in
English falls back to Chinese, a key missing in both shows the key itself.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from citycarbon.contract.records import parse_record

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
_DIR = Path(__file__).parent


@cache
def strings(lang: str) -> dict[str, str]:
    """The strings of a language (flattened: nested maps give dotted keys)."""
    path = _DIR / f"{lang}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    out: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            out[prefix] = str(node)

    walk("", data or {})
    return out


class Translator:
    """``t("nav.overview")`` → the text in the request's language; ``t(key, n=3)`` formats."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGS else DEFAULT_LANG
        self._own = strings(self.lang)
        self._fallback = strings(DEFAULT_LANG)

    def __call__(self, key: str, **kwargs: Any) -> str:
        text = self._own.get(key) or self._fallback.get(key) or key
        if kwargs:
            try:
                return text.format(**kwargs)
            except (KeyError, IndexError, ValueError):
                return text
        return text

    def has(self, key: str) -> bool:
        return key in self._own or key in self._fallback


#: Parameters of method records whose values are codes, and the catalog prefix naming them.
RECORD_CODES = {"grid_region": "grid.", "basis": "inventory.basis_"}


def record_text(t: Translator, record: str | None) -> str:
    """A method record (:mod:`citycarbon.contract.records`) in ``t``'s language, each part by
    its ``run_method.<key>``; a text that is no record, or one with a part the catalog does not
    know, as it was stored (runs of earlier versions wrote free text)."""
    parts = parse_record(record)
    if parts is None or not all(t.has(f"run_method.{key}") for key, _ in parts):
        return record or ""
    return t("run_method.sep").join(
        t(f"run_method.{key}", **{k: _named(t, k, v) for k, v in params.items()})
        for key, params in parts
    )


def _named(t: Translator, param: str, value: str) -> str:
    """A record parameter's value, by its name in the catalog where it is a code."""
    key = RECORD_CODES.get(param, "\0") + value
    return t(key) if t.has(key) else value


#: The reasons the ingest checks wrote before they gave message records (English, as stored in
#: older quarantine rows; also the rules' own reasons, which name columns in Chinese), as
#: patterns and the catalog key (``reasons.<key>``) that says them in the page's language; the
#: named groups fill the catalog text. A reason no pattern matches is shown as it was written.
REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.S), key)
    for pattern, key in (
        (r"is empty \(a value is required\)", "empty"),
        (r"is empty: give the (?P<a>\w+) or the (?P<b>\w+)", "empty_either"),
        (r"is negative", "negative"),
        (r"not a number", "not_number"),
        (r"not a whole number", "not_integer"),
        (r"not yes/no .*", "not_bool"),
        (r"not a month .*", "not_month"),
        (r"not a timestamp .*", "not_timestamp"),
        (r"is below (?P<limit>\S+?)(?: \(.*\))?", "below"),
        (
            r"(?P<what>\w+) = (?P<value>\S+)(?P<unit>.*?) is above the plausible maximum "
            r"(?P<limit>[^:]+?)(?:: .*)?",
            "above",
        ),
        (r"(?:month|timestamp) out of range: before (?P<date>\S+)", "before"),
        (r"period in the future: .*", "future"),
        (r"timestamp out of range: after now .*", "future"),
        (r"no factor for this period: .*", "no_factor"),
        (
            r"(?P<what>.+?) '(?P<value>[^']*)' is unknown.*\(did you mean (?P<hint>.*)\?\)",
            "unknown_hint",
        ),
        (r"(?P<what>.+?) '(?P<value>[^']*)' is unknown.*", "unknown"),
        (r"(?P<total>\S+) must equal (?P<parts>.+)", "sum"),
        (r"(?P<part>\S+) is part of (?P<whole>.+)", "part_of"),
        (r"(?P<total>\w+) is not the sum of (?P<parts>.+)", "sum"),
        (r"(?P<part>\w+) is larger than (?P<whole>\w+)", "part_of"),
        (r"is required where (?P<when>\w+) is (?P<value>.+)", "required_if"),
        (r"the point lies outside the city \((?P<box>.+)\)", "outside_city"),
        (r"give both longitude and latitude \(or neither\)", "lon_lat_pair"),
        (r"the boundary is not a GeoJSON Polygon or MultiPolygon: .*", "boundary_not_polygon"),
        *(
            (rf"the boundary is not a valid polygon: polygon (?P<p>\d+) ring (?P<r>\d+): {w}", k)
            for w, k in (
                (r"fewer than 4 positions", "boundary_ring_short"),
                (r"non-finite coordinate", "boundary_ring_nan"),
                (r"not closed", "boundary_ring_open"),
                (r"(?P<n>\d+) self-intersection\(s\)", "boundary_ring_crossing"),
            )
        ),
        (r"the boundary lies outside the city \((?P<box>.+)\)", "boundary_outside_city"),
        (
            r"the boundary's area (?P<measured>\S+) ha differs from (?P<column>\w+) "
            r"(?P<declared>\S+) ha by more than (?P<tol>\S+)",
            "boundary_area",
        ),
        (r"give both (?P<a>\w+) and (?P<b>\w+) \(or neither\)", "pair"),
        (r"is given only where (?P<when>\w+) is (?P<value>.+)", "only_if"),
    )
)


def reason_text(reason: str | None, lang: str, key: str | None = None) -> str:
    """A quarantine reason in ``lang``: its message record (``reason_key``, the catalog's
    ``reasons.<key>``; code lists by their ``reason_codes.<list>`` names), or for rows stored
    before reasons had keys (or a reason without one) the English text by :data:`REASONS`.
    English reasons are shown as the ingest wrote them."""
    text = reason or ""
    if lang not in LANGS or lang == "en":
        return text
    own = strings(lang)
    parts = parse_record(key) if isinstance(key, str) else None
    if parts and all(f"reasons.{k}" in own for k, _ in parts):
        return own["run_method.sep"].join(
            own[f"reasons.{k}"].format(**_code_list_named(own, params)) for k, params in parts
        )
    for pattern, name in REASONS:  # tens of patterns, one reason
        m = pattern.fullmatch(text)
        if m and f"reasons.{name}" in own:
            return own[f"reasons.{name}"].format(**{k: v or "" for k, v in m.groupdict().items()})
    return text


def _code_list_named(own: dict[str, str], params: dict[str, str]) -> dict[str, str]:
    """Reason parameters with the code list (``what``) by its name in the catalog."""
    what = params.get("what")
    return {**params, "what": own.get(f"reason_codes.{what}", what)} if what else params
