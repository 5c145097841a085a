"""方法说明: the method behind every headline number (口径), declared once in
``contract/data/methods.yaml``.

A page puts a 口径 link beside a number (the ``method_link`` macro); the link opens the method's
page with its definition, basis, unit, sources and — from the declared result's provenance
columns — the factor sets and ingest batches of the current run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from citycarbon.contract.results import result
from citycarbon.errors import InputError

SOURCE = "contract/data/methods.yaml"


_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")


@dataclass(frozen=True)
class Source:
    """A document a method follows: its title (and English title) and the clause (in the
    document's language, with its Chinese or English text where that differs)."""

    title: str
    clause: str = ""
    title_en: str = ""
    clause_en: str = ""
    clause_zh: str = ""

    def text(self, lang: str) -> str:
        """``title, clause`` in ``lang``: in English the English title, and the clause's
        English text or, lacking one, its clause numbers (a page is in one language)."""
        if lang == "zh":
            title, clause = self.title, self.clause_zh or self.clause
        else:
            title = self.title_en or self.title
            clause = self.clause_en or " ".join(_CJK.sub(" ", self.clause).split()).strip(" ,;")
            clause = re.sub(r"(\s*,)+", ",", clause).replace(" ,", ",")
        return f"{title}, {clause}" if clause else title


@dataclass(frozen=True)
class Method:
    """One declared method: ``name``, ``definition`` and ``basis`` are {lang: text}."""

    key: str
    result: str
    unit: str
    name: dict[str, str]
    definition: dict[str, str]
    basis: dict[str, str]
    sources: tuple[Source, ...]
    assumptions: tuple[dict[str, str], ...] = ()

    def text(self, field: str, lang: str) -> str:
        """A bilingual field in ``lang`` (zh or en)."""
        return getattr(self, field)[lang]


def _method(raw: dict) -> Method:
    key = str(raw.get("key", ""))
    where = f"{SOURCE}, method {key or '?'}"
    missing = [f for f in ("key", "result", "unit", "name", "definition", "basis") if f not in raw]
    if missing or not raw.get("sources"):
        raise InputError(f"{where}: needs {missing or ['sources']}", source=SOURCE)
    result(raw["result"])  # a declared result, or InputError
    for field in ("name", "definition", "basis"):
        if set(raw[field]) != {"zh", "en"}:
            raise InputError(f"{where}: {field} needs zh and en", source=SOURCE)
    return Method(
        key=key,
        result=raw["result"],
        unit=str(raw["unit"]),
        name=dict(raw["name"]),
        definition=dict(raw["definition"]),
        basis=dict(raw["basis"]),
        sources=tuple(
            Source(
                str(s["title"]),
                str(s.get("clause", "")),
                str(s.get("title_en", "")),
                str(s.get("clause_en", "")),
                str(s.get("clause_zh", "")),
            )
            for s in raw["sources"]
        ),
        assumptions=tuple(dict(a) for a in raw.get("assumptions") or ()),
    )


@cache
def methods() -> dict[str, Method]:
    """Every declared method by key (in file order)."""
    text = resources.files("citycarbon.contract").joinpath("data/methods.yaml").read_text("utf-8")
    out: dict[str, Method] = {}
    for raw in yaml.safe_load(text)["methods"]:
        m = _method(raw)
        if m.key in out:
            raise InputError(f"{SOURCE}: method {m.key} declared twice", source=SOURCE)
        out[m.key] = m
    return out


def method(key: str) -> Method:
    """The declared method ``key``; InputError naming the known keys otherwise."""
    try:
        return methods()[key]
    except KeyError:
        raise InputError(f"no method {key!r} in {SOURCE}", source=SOURCE) from None
