"""方法说明 pages: a declared method (:mod:`citycarbon.contract.methods`) with the provenance of
its result's current rows — runs, factor sets and ingest batches — so that an auditor goes from a
number to its inputs and factors in two clicks. No formulas: the provenance columns are read as
the runs wrote them."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from citycarbon.config.settings import get_settings
from citycarbon.contract.methods import Method, method, methods
from citycarbon.contract.results import PROVENANCE, result
from citycarbon.read.access import Principal, require
from citycarbon.store import results as store_results

_PROFILE = re.compile(r"^(?P<city>[^\[]*)\[(?P<sets>[^\]]*)\](?:#(?P<digest>\w+))?$")
_BATCHES = re.compile(r"^(?P<kind>[a-z0-9_]+):(?P<first>\d+)(?:-(?P<last>\d+))?$")


@dataclass(frozen=True)
class Provenance:
    """Where the current rows of a method's result come from."""

    runs: list[str]
    profiles: list[dict]  # {label, city, digest, sets: [{id, version}]}
    methods: list[str]  # the runs' method texts (standard, equation, assumptions in words)
    batches: list[dict]  # {kind, first, last}


def parse_profile(text: str) -> dict:
    """``city[set@version,...]#digest`` → its parts (the label :class:`FactorProfile` writes)."""
    m = _PROFILE.match(text or "")
    if m is None:
        return {"label": text, "city": "", "digest": "", "sets": []}
    sets = [s.split("@", 1) for s in m["sets"].split(",") if s]
    return {
        "label": text,
        "city": m["city"],
        "digest": m["digest"] or "",
        "sets": [{"id": s[0], "version": s[1] if len(s) > 1 else ""} for s in sets],
    }


def parse_batches(text: str) -> list[dict]:
    """``kind:first-last,...`` (a run's ``source_batches``) → [{kind, first, last}]."""
    out = []
    for part in filter(None, (text or "").split(",")):
        m = _BATCHES.match(part.strip())
        if m:
            first = int(m["first"])
            out.append({"kind": m["kind"], "first": first, "last": int(m["last"] or first)})
    return out


def provenance(key: str) -> Provenance:
    """The provenance of the current rows of method ``key``'s result."""
    decl = result(method(key).result)
    lake = get_settings().lake
    if not store_results.has(decl, lake=lake):
        return Provenance([], [], [], [])
    cols = list(PROVENANCE)
    rows = store_results.current(decl, columns=cols, lake=lake).drop_duplicates()
    batches: dict[tuple, dict] = {}
    for text in rows["source_batches"].dropna().unique():
        for b in parse_batches(str(text)):
            batches[(b["kind"], b["first"], b["last"])] = b
    return Provenance(
        runs=sorted(rows["run_id"].dropna().astype(str).unique()),
        profiles=[parse_profile(str(p)) for p in sorted(rows["factor_profile"].dropna().unique())],
        methods=sorted(str(m) for m in rows["method"].dropna().unique() if str(m)),
        batches=sorted(batches.values(), key=lambda b: (b["kind"], b["first"])),
    )


def method_page(principal: Principal, key: str) -> tuple[Method, Provenance]:
    """A method and its current provenance. Batches are listed for roles that may read them
    (city-wide roles); others see the kinds only."""
    require(principal, "read")
    m = method(key)
    prov = provenance(key)
    if not principal.city_wide:
        kinds = sorted({b["kind"] for b in prov.batches})
        prov = Provenance(prov.runs, prov.profiles, prov.methods, [{"kind": k} for k in kinds])
    return m, prov


def method_list(principal: Principal) -> pd.DataFrame:
    """Every declared method (key, names, unit, result) for the 方法说明 index."""
    require(principal, "read")
    return pd.DataFrame(
        [
            {
                "key": m.key,
                "name_zh": m.name["zh"],
                "name_en": m.name["en"],
                "unit": m.unit,
                "result": m.result,
            }
            for m in methods().values()
        ]
    )
