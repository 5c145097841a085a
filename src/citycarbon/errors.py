"""Errors users see: each names the place (file, row, field), the value, the reason and a way forward.

See ../shared/STYLE.md, "Errors users see".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CitycarbonError(Exception):
    """Base class of every error citycarbon raises on purpose."""


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


class InputError(CitycarbonError, ValueError):
    """Bad input: names the source (file or table), row, field and value."""

    def __init__(
        self,
        reason: str,
        *,
        source: str | None = None,
        row: int | str | None = None,
        field: str | None = None,
        value: object = None,
        suggestions: Iterable[str] = (),
    ) -> None:
        self.reason = reason
        self.source = source
        self.row = row
        self.field = field
        self.value = value
        self.suggestions = list(suggestions)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = ", ".join(
            part
            for part in (
                self.source,
                f"row {self.row}" if self.row is not None else None,
                f"field {self.field}" if self.field else None,
            )
            if part
        )
        text = f"{where}: {self.reason}" if where else self.reason
        if self.suggestions:
            text += f" (did you mean {', '.join(repr(s) for s in self.suggestions)}?)"
        return text


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
