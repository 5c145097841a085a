"""方法说明: every declared method (口径) with its definition, basis, sources and the current
run's factor sets and ingest batches; the 口径 link beside a number opens one of these pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import HTMLResponse

from citycarbon.errors import InputError
from citycarbon.read import methods as read_methods
from citycarbon.read.access import Principal
from citycarbon.web import auth
from citycarbon.web.app import lang_of, records, render

router = APIRouter()
PrincipalDep = Annotated[Principal, Depends(auth.principal_dep)]
KeyP = Annotated[str, Path(pattern=r"^[a-z0-9_]{1,64}$", description="method key")]


def _page(principal: Principal, key: str) -> tuple[Any, Any]:
    try:
        return read_methods.method_page(principal, key)
    except InputError:
        raise HTTPException(404, f"method {key} not found") from None


@router.get("/methods", response_class=HTMLResponse, include_in_schema=False)
def methods_page(request: Request, principal: PrincipalDep) -> HTMLResponse:
    return render(
        request,
        "methods.html",
        {"active": "methods", "methods": records(read_methods.method_list(principal))},
    )


@router.get("/methods/{key}", response_class=HTMLResponse, include_in_schema=False)
def method_page(request: Request, principal: PrincipalDep, key: KeyP) -> HTMLResponse:
    m, prov = _page(principal, key)
    return render(request, "method.html", {"active": "methods", "m": m, "prov": prov})


@router.get("/api/v1/methods", tags=["methods"])
def methods_api(principal: PrincipalDep) -> list[dict]:
    """Every declared method (口径): key, names, unit and the result it is read from."""
    return records(read_methods.method_list(principal))


@router.get("/api/v1/methods/{key}", tags=["methods"])
def method_api(request: Request, principal: PrincipalDep, key: KeyP) -> dict:
    """One method: definition, basis and sources in the request's language, and the current
    rows' provenance (runs, factor profiles, method texts, ingest batches)."""
    m, prov = _page(principal, key)
    lang = lang_of(request)
    return {
        "key": m.key,
        "name": m.text("name", lang),
        "definition": m.text("definition", lang),
        "basis": m.text("basis", lang),
        "unit": m.unit,
        "result": m.result,
        "sources": [{"title": s.title, "clause": s.clause} for s in m.sources],
        "assumptions": list(m.assumptions),
        "runs": prov.runs,
        "factor_profiles": prov.profiles,
        "run_methods": prov.methods,
        "batches": prov.batches,
    }
