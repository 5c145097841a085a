"""因子库: browse the factor sets (values with unit, source and clause) and compare two sets
(:func:`citycarbon.factors.library.diff`). Titles, descriptions and notes are shown in the
page's language (:func:`citycarbon.factors.in_language`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from citycarbon import factors
from citycarbon.config import CONTEXTS
from citycarbon.read import access
from citycarbon.read.access import Principal
from citycarbon.web import auth
from citycarbon.web.app import lang_of, records, render
from citycarbon.web.routes.api import _factor_set, factor_diff, factor_sets_frame, factor_values

router = APIRouter(include_in_schema=False)
PrincipalDep = Annotated[Principal, Depends(auth.principal_dep)]
PAGE_SIZE = 100


@router.get("/factors", response_class=HTMLResponse)
def factors_page(
    request: Request,
    principal: PrincipalDep,
    a: Annotated[str | None, Query(max_length=100)] = None,
    b: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    access.require(principal, "read")
    ids = factors.available_ids()
    diff = None
    if a and b and a != b:
        diff = records(factor_diff(a, b))
    # an empty form proposes two different sets (A = B compares nothing)
    a_choice = a or ids[0]
    b_choice = b or next(i for i in ids if i != a_choice)
    return render(
        request,
        "factors.html",
        {
            "active": "factors",
            "sets": records(factors.in_language(factor_sets_frame(), lang_of(request), ["title"])),
            "contexts": CONTEXTS,
            "ids": ids,
            "a": a_choice,
            "b": b_choice,
            "diff": diff,
            "diff_href": "/api/v1/factor-diff?" + urlencode({"a": a or "", "b": b or ""}),
        },
    )


@router.get("/factors/{set_id}", response_class=HTMLResponse)
def factor_set_page(
    request: Request,
    principal: PrincipalDep,
    set_id: Annotated[str, Path(max_length=100)],
    parameter: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    access.require(principal, "read")
    lang = lang_of(request)
    fs = _factor_set(set_id)
    values = factors.in_language(factor_values(set_id, parameter or None, q or None), lang)
    params = {k: v for k, v in {"parameter": parameter, "q": q}.items() if v}
    names = factors.parameters()
    return render(
        request,
        "factor_set.html",
        {
            "active": "factors",
            "fs": fs,
            "title": fs.text("title", lang),
            "description": fs.text("description", lang),
            "parameters": {p: names[p][lang] for p in sorted(fs.table["parameter"].unique())},
            "parameter": parameter or "",
            "q": q or "",
            "rows": records(values.iloc[offset : offset + PAGE_SIZE]),
            "contexts": CONTEXTS,
            "total": len(values),
            "offset": offset,
            "limit": PAGE_SIZE,
            "api_href": f"/api/v1/factor-sets/{set_id}"
            + (f"?{urlencode(params)}" if params else ""),
        },
    )
