"""UI strings: ``zh.yaml`` (default) and ``en.yaml``, flat ``section.key: text`` maps, together
with the message catalog of stored records (run methods, quarantine reasons and the code names
they use: :func:`citycarbon.contract.records.messages`, shared with the reports and the CLI).

Each team adds its keys under its own section (``map.*``, ``targets.*`` ...). A key missing in
English falls back to Chinese, a key missing in both shows the key itself.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from citycarbon.contract.records import (
    flat_keys,
    messages,
    reason_text,
    record_html,
    record_text,
)

__all__ = [
    "DEFAULT_LANG",
    "LANGS",
    "Translator",
    "reason_text",
    "record_html",
    "record_text",
    "strings",
]

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
_DIR = Path(__file__).parent


@cache
def strings(lang: str) -> dict[str, str]:
    """The strings of a language (flattened: nested maps give dotted keys), the page texts and
    the message catalog of records."""
    path = _DIR / f"{lang}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    return {**(messages(lang) if path.exists() else {}), **flat_keys(data or {})}


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
