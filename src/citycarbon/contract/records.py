"""Message records said in a language: how a run computed its rows, why the ingest refused a
row (issue 19, "One language per page").

A run writes into a result's ``method`` provenance column a *record*
(:mod:`citycarbon.records`: message keys with parameters, e.g.
``city_top_down; scope2_grid?grid_region=east_china&factor_year=2022&year=2024``). The faces say
each part from the message catalog ``contract/data/messages_{zh,en}.yaml`` (``run_method.<key>``;
:func:`record_text`), which the web pages, the reports and the CLI share; a text that is not a
record (runs of earlier versions wrote free English text, and so do the methods not converted
yet) is shown as it was stored: :func:`parse_record` returns None for it.

The same form holds the reasons of quarantined rows (``reason_key``: ``reasons.<key>``,
:func:`reason_text`) and the dual-control notes (``grid_mix?grid=fujian``, ``targets.note_<key>``).
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from citycarbon.records import parse_record

#: Languages of the message catalog (``messages_<lang>.yaml``), the first the default.
LANGS = ("zh", "en")
_DATA = Path(__file__).parent / "data"


@cache
def messages(lang: str) -> dict[str, str]:
    """The message catalog of ``lang`` (the default language's for another), flattened: nested
    maps give dotted keys (``run_method.city_top_down``, ``reasons.negative``, ``grid.fujian``)."""
    path = _DATA / f"messages_{lang if lang in LANGS else LANGS[0]}.yaml"
    return flat_keys(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def flat_keys(node: Any, prefix: str = "") -> dict[str, str]:
    """A nested map of texts as ``{"section.key": text}``."""
    if not isinstance(node, dict):
        return {prefix: str(node)}
    out: dict[str, str] = {}
    for k, v in node.items():
        out.update(flat_keys(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


#: Parameters of method records whose values are codes, and the catalog prefix naming them
#: (a nowcast's models per level are parameters named by the levels).
RECORD_CODES = {
    "grid_region": "grid.",
    "mode": "account_mode.",
    "climate_zone": "climate_zone.",
    "climate_class": "climate_class.",
    "need": "dimension.",
    "product": "ippu_product.",
    "note": "ippu_note.",
    "indicator": "indicator_definition.",
    **dict.fromkeys(
        ("model", "city", "district", "park", "industry", "enterprise"), "power.model_"
    ),
}
#: Parameters of method records shown as written in either language, and the HTML element that
#: marks them (:func:`record_html`): identifiers and units as stored (``<code>``), the documents
#: a default cites (``<cite>``, a title or clause as published).
RECORD_MARKS = {
    "parameter": "code",
    "key": "code",
    "unit": "code",
    "factors": "code",
    "gwp": "code",
    "source": "cite",
}


def record_text(record: str | None, lang: str) -> str:
    """A method record in ``lang``, each part by its ``run_method.<key>`` with code parameters
    by their names (:data:`RECORD_CODES`); a text that is no record, or one with a part the
    catalog does not know, as it was stored (runs of earlier versions wrote free text)."""
    said = _said(record, lang, as_html=False)
    return said if said is not None else record or ""


def record_html(record: str | None, lang: str) -> str:
    """:func:`record_text` as HTML: escaped, the parameters of :data:`RECORD_MARKS` in their
    element; a text that is no record escaped as it was stored."""
    said = _said(record, lang, as_html=True)
    return said if said is not None else html.escape(record or "")


def _said(record: str | None, lang: str, *, as_html: bool) -> str | None:
    """The parts of ``record`` said in ``lang`` (as text or HTML); None for a text that is no
    record or a record with a part the catalog does not know."""
    parts = parse_record(record)
    own = messages(lang)
    if parts is None or not all(f"run_method.{key}" in own for key, _ in parts):
        return None
    escape = html.escape if as_html else str
    return escape(own["run_method.sep"]).join(
        _formatted(
            escape(own[f"run_method.{key}"]),
            {k: _shown(k, _named(own, k, v), as_html) for k, v in params.items()},
        )
        for key, params in parts
    )


def _named(own: dict[str, str], param: str, value: str) -> str:
    """A record parameter's value, by its name in the catalog where it is a code."""
    return own.get(RECORD_CODES.get(param, "\0") + value, value)


def _shown(param: str, value: str, as_html: bool) -> str:
    """A parameter's value as text, or as HTML in the element :data:`RECORD_MARKS` gives it."""
    if not as_html:
        return value
    tag = RECORD_MARKS.get(param)
    return f"<{tag}>{html.escape(value)}</{tag}>" if tag else html.escape(value)


def _formatted(text: str, params: dict[str, str]) -> str:
    """``text`` with its ``{name}`` fields filled, "–" where the record has no value."""
    try:
        return text.format_map(defaultdict(lambda: "–", params))
    except (IndexError, ValueError):
        return text


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
    own = messages(lang)
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


def reason_texts(problems: pd.DataFrame, lang: str) -> pd.Series:
    """:func:`reason_text` of every row of ``problems`` (columns ``reason`` and, where stored,
    ``reason_key``), said once per distinct reason."""
    key = problems["reason_key"] if "reason_key" in problems else pd.Series("", problems.index)
    pairs = pd.MultiIndex.from_arrays([problems["reason"].fillna(""), key.fillna("")])
    codes, distinct = pairs.factorize()
    said = [reason_text(r, lang, k) for r, k in distinct]  # one per distinct reason
    return pd.Series(pd.Index(said, dtype=object).take(codes), index=problems.index)
