"""绿色金融: for banks, the enterprises that consented to them — carbon-efficiency grade, trend,
data quality — and ``/api/v1/finance/...``; for an enterprise user, granting and revoking its
consents on its own page (form POST, then a redirect). Reads only through
:mod:`citycarbon.read.finance`.

补贴测算 (``/finance/subsidies``): the programmes' budgets with committed and paid amounts
(city-wide roles), a calculator of one project's interest subsidy or 专精特新 grant (city-wide
roles; form POST, nothing stored), and the ingested applications of the user's visible
enterprises with their entitlements (:mod:`citycarbon.read.subsidies`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from citycarbon.read import access
from citycarbon.read import finance as fq
from citycarbon.read import green_projects as gq
from citycarbon.read import subsidies as sq
from citycarbon.read.access import Principal
from citycarbon.runs import green_projects as rg
from citycarbon.runs.finance import (
    evidence,
    green_credit,
    offsets_and_sinks,
    published,
    score_weights,
)
from citycarbon.runs.subsidies import estimate
from citycarbon.web import auth
from citycarbon.web.app import lang_of, records, render, scope_label
from citycarbon.web.routes.api import (
    CreditCode,
    FileLang,
    Format,
    Limit,
    Offset,
    Page,
    file_basis,
    page,
)
from citycarbon.web.routes.techmap import project_rows

router = APIRouter()
PrincipalDep = Annotated[Principal, Depends(auth.require_principal)]
METHODS = ("carbon_intensity_l", "carbon_efficiency_grade")


def consent_owner(principal: PrincipalDep) -> Principal:
    """The signed-in user, if their role may grant consents (checked before the form)."""
    access.require(principal, "grant_consent")
    return principal


OwnerDep = Annotated[Principal, Depends(consent_owner)]


@router.get("/finance", response_class=HTMLResponse, include_in_schema=False)
def finance_page(request: Request, principal: PrincipalDep) -> HTMLResponse:
    overview = fq.overview(principal)
    held = offsets_and_sinks(overview)  # read once for the classes and their evidence
    frame = green_credit(overview, held)
    classified = frame[frame["carbon_class"].fillna("") != ""]
    names = dict(zip(frame["enterprise_code"], frame["name"].fillna(""), strict=True))
    proof = evidence(
        overview[overview["enterprise_code"].isin(classified["enterprise_code"])], held
    )
    projects = gq.projects(principal)
    techs = rg.technology_names().set_index("id")
    return render(
        request,
        "finance.html",
        {
            "active": "finance",
            "scope": scope_label(principal, lang_of(request)),
            "rows": records(frame),
            "evidence": records(proof.head(200)),
            "evidence_total": len(proof),
            "names": names,
            "bank": principal.role == "bank",
            "methods": METHODS,
            "weights": score_weights(),
            "projects": project_rows(projects),
            "labels": rg.labels(),
            "tech_names": {
                i: {"zh": r["name_zh"], "en": r["name_en"]} for i, r in techs.iterrows()
            },
            "districts": access.registry().regions[["name_zh", "name_en"]].to_dict("index"),
        },
    )


# --------------------------------------------------------------------------- 补贴测算
Programme = Literal["renovation_loan", "zhuanjingtexin"]
#: Most lines a typed schedule may have.
MAX_SCHEDULE_LINES = 200


def parse_schedule(text: str) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Typed schedule lines ``YYYY-MM-DD, amount`` (万元; repayments negative) as ``date``,
    ``amount_10k_cny``, and the lines that are not (``line`` number, ``text``)."""
    raw = [s.strip() for s in text.replace("，", ",").splitlines()][:MAX_SCHEDULE_LINES]
    lines = pd.DataFrame({"line": range(1, len(raw) + 1), "text": pd.Series(raw, dtype=object)})
    lines = lines[lines["text"] != ""]
    parts = lines["text"].str.split(r"[,\s]+", n=1, expand=True, regex=True)
    parts = parts.reindex(columns=[0, 1])
    date = pd.to_datetime(parts[0], format="%Y-%m-%d", errors="coerce")
    amount = pd.to_numeric(parts[1], errors="coerce")
    ok = date.notna() & amount.notna() & (amount != 0)
    schedule = pd.DataFrame({"date": date[ok], "amount_10k_cny": amount[ok].astype(float)})
    return schedule.reset_index(drop=True), records(lines[~ok])


def _subsidy_page(request: Request, principal: Principal, **extra: Any) -> HTMLResponse:
    city = principal.city_wide
    context = {
        "active": "finance",
        "scope": scope_label(principal, lang_of(request)),
        "applications": records(sq.applications(principal)),
        "budgets": records(sq.budgets(principal)) if city else [],
        "calculator": city,
        "can_upload": principal.can("upload"),
        "form": {"programme": "renovation_loan", "schedule": "", "bank": "", "investment": ""},
        "methods": ("subsidy_entitlement",),
    }
    return render(request, "subsidies.html", {**context, **extra})


@router.get("/finance/subsidies", response_class=HTMLResponse, include_in_schema=False)
def subsidies_page(request: Request, principal: PrincipalDep) -> HTMLResponse:
    return _subsidy_page(request, principal)


def _city_reader(principal: PrincipalDep) -> Principal:
    """The calculator's users (city-wide roles), checked before the form is read (403, not 422)."""
    access.require(principal, "read_city")
    return principal


@router.post("/finance/subsidies", response_class=HTMLResponse, include_in_schema=False)
def subsidies_estimate(
    request: Request,
    principal: Annotated[Principal, Depends(_city_reader)],
    programme: Annotated[Programme, Form()],
    schedule: Annotated[str, Form(max_length=20_000)] = "",
    investment: Annotated[float | None, Form(ge=0, le=1e7)] = None,
    bank: Annotated[str, Form(max_length=64)] = "",
    recognition: Annotated[Literal["", "provincial_sme", "national_little_giant"], Form()] = "",
    year: Annotated[int | None, Form(ge=2000, le=2100)] = None,
    recognition_year: Annotated[int | None, Form(ge=2000, le=2100)] = None,
) -> HTMLResponse:
    access.require(principal, "read_city")
    lines, bad = parse_schedule(schedule)
    app, yearly = estimate(
        programme=programme,
        investment_10k_cny=investment,
        bank=bank.strip(),
        recognition=recognition,
        schedule=lines,
        year=year or pd.Timestamp.now().year,  # 申报年度 left empty: this year
        recognition_year=recognition_year,
    )
    form = {
        "programme": programme,
        "schedule": schedule,
        "bank": bank,
        "investment": "" if investment is None else f"{investment:g}",
        "recognition": recognition,
        "year": year or "",
        "recognition_year": recognition_year or "",
    }
    return _subsidy_page(
        request,
        principal,
        form=form,
        estimate={**records(pd.DataFrame([app]))[0], "years": records(yearly)},
        bad_lines=bad,
    )


@router.get(
    "/finance/subsidies/{application_id}", response_class=HTMLResponse, include_in_schema=False
)
def subsidy_application_page(
    request: Request,
    principal: PrincipalDep,
    application_id: Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9_-]+$")],
) -> HTMLResponse:
    app, yearly = sq.application(principal, application_id)
    return render(
        request,
        "subsidy_application.html",
        {
            "active": "finance",
            "app": records(pd.DataFrame([app]))[0],
            "years": records(yearly),
        },
    )


# --------------------------------------------------------------------------- API
@router.get("/api/v1/finance/subsidies", response_model=Page, tags=["finance"])
def api_subsidies(
    principal: PrincipalDep, limit: Limit = 100, offset: Offset = 0, format: Format = "json"
) -> Any:
    """Subsidy applications of the caller's visible enterprises (a bank: those with a valid
    ``full`` consent, audited) with eligibility, refusal codes and entitlements [万元]."""
    return page(sq.applications(principal), limit, offset, format, "subsidy_applications")


@router.get("/api/v1/finance/subsidies/budgets", response_model=Page, tags=["finance"])
def api_subsidy_budgets(
    principal: PrincipalDep, limit: Limit = 100, offset: Offset = 0, format: Format = "json"
) -> Any:
    """City-wide roles: each programme's allocation, committed and paid amounts [万元]."""
    return page(sq.budgets(principal), limit, offset, format, "subsidy_budgets")


@router.get("/api/v1/finance/enterprises", response_model=Page, tags=["finance"])
def api_finance_enterprises(
    principal: PrincipalDep,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Banks: the enterprises whose consent to the caller is valid now, with their newest
    annual carbon-efficiency grade, movement, data quality (months with data), low/zero/
    negative-carbon class and green credit score with each component's points and weighted
    contribution. City-wide roles: every graded enterprise. Every bank read is audited."""
    frame = green_credit(fq.overview(principal))
    about = file_basis(principal, lang, frame, "carbon_efficiency")
    return page(frame, limit, offset, format, "finance_enterprises", lang, about)


@router.get("/api/v1/finance/enterprises/{credit_code}", response_model=Page, tags=["finance"])
def api_finance_trend(
    principal: PrincipalDep,
    credit_code: CreditCode,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Every graded period of one consenting enterprise (404 without a valid consent)."""
    frame = fq.trend(principal, credit_code)
    about = file_basis(principal, lang, frame, "carbon_efficiency")
    return page(frame, limit, offset, format, f"finance_trend_{credit_code}", lang, about)


@router.get("/api/v1/finance/evidence", response_model=Page, tags=["finance"])
def api_finance_evidence(
    principal: PrincipalDep, limit: Limit = 100, offset: Offset = 0, format: Format = "json"
) -> Any:
    """What the low/zero/negative-carbon classes of the readable enterprises rest on, one row
    per instrument of their newest graded year: green electricity (certificates counted once),
    accepted offsets retired, own sinks."""
    return page(evidence(fq.overview(principal)), limit, offset, format, "classification_evidence")


@router.get("/api/v1/finance/published", response_model=Page, tags=["finance"])
def api_finance_published(
    principal: PrincipalDep,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """City-wide roles: the low/zero/negative-carbon enterprises that may be published — those
    with a class and a valid publication consent — negative first."""
    codes = fq.publishing_codes(principal)
    rows = published(green_credit(fq.overview(principal)), codes)
    rows = rows.reset_index(drop=True)
    about = file_basis(principal, lang, rows, "carbon_efficiency")
    return page(rows, limit, offset, format, "published_carbon_classes", lang, about)


# --------------------------------------------------------------------------- consents
@router.post("/enterprises/{credit_code}/consents", include_in_schema=False)
def grant_consent(
    principal: OwnerDep,
    credit_code: Annotated[str, Path(max_length=18)],
    purpose: Annotated[str, Form(min_length=1, max_length=200)],
    days: Annotated[int, Form(ge=1, le=fq.MAX_CONSENT_DAYS)],
    scope: Annotated[Literal["rating", "full", "publication"], Form()] = "rating",
    grantee: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    fq.grant(principal, credit_code, grantee=grantee, scope=scope, purpose=purpose, days=days)
    return RedirectResponse(f"/enterprises/{credit_code}?saved=1#consents", status_code=303)


@router.post("/enterprises/{credit_code}/consents/{consent_id}/revoke", include_in_schema=False)
def revoke_consent(
    principal: OwnerDep,
    credit_code: Annotated[str, Path(max_length=18)],
    consent_id: Annotated[int, Path(ge=1, le=2**31)],
) -> Response:
    fq.revoke(principal, credit_code, consent_id)
    return RedirectResponse(f"/enterprises/{credit_code}?saved=1#consents", status_code=303)


def consent_panel(principal: Principal, credit_code: str) -> dict[str, Any] | None:
    """The consent section of an enterprise's page: for its own enterprise user only."""
    if not principal.can("grant_consent") or principal.scope_code != credit_code:
        return None
    return {
        "consents": records(fq.enterprise_consents(principal, credit_code)),
        "banks": records(fq.bank_users(principal, credit_code)),
        "max_days": fq.MAX_CONSENT_DAYS,
    }
