"""Message records: the stored form of a text that the faces say in the user's language (issue
19, "One language per page"). Standard library only, so that every layer can write them: the
domain its methods and reasons of NE, the config the account mode, the contract the ingest's
reasons; the catalogs that say them live with the faces' shared contract
(:mod:`citycarbon.contract.records`).

A record is one or more parts joined by ``"; "``, each a message key with its parameters in URL
query form, e.g. ``city_top_down; scope2_grid?grid_region=east_china&factor_year=2022``. The
parameter values are URL-encoded, so a value never holds the separator. A text that is not a
record (free text as earlier runs stored it) is told apart by :func:`parse_record` (None).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

#: Separator of the parts of a record.
PART_SEP = "; "
_KEY_RE = re.compile(r"[a-z][a-z0-9_]*")
_QUERY_RE = re.compile(r"[A-Za-z0-9_]+=[^&\s]*(?:&[A-Za-z0-9_]+=[^&\s]*)*")


def message_record(key: str, /, **params: object) -> str:
    """One part of a record: ``key`` with ``params`` (``key?name=value&...``; None left out)."""
    if not _KEY_RE.fullmatch(key):
        raise ValueError(f"a method key is lower-case letters, digits and _: {key!r}")
    given = {k: v for k, v in params.items() if v is not None}
    return f"{key}?{urlencode(given)}" if given else key


def join_records(*records: str) -> str:
    """Records (or parts) as one record, empty ones left out."""
    return PART_SEP.join(r for r in records if r)


def parse_record(text: str | None) -> list[tuple[str, dict[str, str]]] | None:
    """The parts of a record as ``(key, params)``; None for a text that is not a record (free
    text as earlier runs stored it)."""
    if not isinstance(text, str) or not text:
        return None
    parts = []
    for part in text.split(PART_SEP):
        key, sep, query = part.partition("?")
        if not _KEY_RE.fullmatch(key) or (sep and not _QUERY_RE.fullmatch(query)):
            return None
        parts.append((key, dict(parse_qsl(query, keep_blank_values=True))))
    return parts
