"""技术图谱 (technology map, roadmap by stage) and 行动跟踪 (the action plan's tasks, status
reports by the responsible units, overdue warnings, progress reports) of the
科技支撑碳达峰碳中和实施方案."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from citycarbon.read import access
from citycarbon.read import green_projects as gq
from citycarbon.read.access import Principal
from citycarbon.reports.excel import write_excel
from citycarbon.reports.pdf import actions_pdf
from citycarbon.runs import actions as ra
from citycarbon.runs import corrections
from citycarbon.runs import green_projects as rg
from citycarbon.web import auth
from citycarbon.web.app import lang_of, records, render, scope_label
from citycarbon.web.routes.api import Format, Limit, Offset, Page, page

router = APIRouter()
PrincipalDep = Annotated[Principal, Depends(auth.principal_dep)]
Status = Literal["not_started", "in_progress", "done", "delayed"]
TaskId = Annotated[str, Path(pattern=r"^[a-z0-9_]{1,64}$")]
ProjectId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.\-]{1,40}$")]
ProjectStatus = Literal["candidate", "approved", "under_construction", "operating"]


@router.get("/techmap", response_class=HTMLResponse, include_in_schema=False)
def techmap_page(
    request: Request,
    principal: PrincipalDep,
    field: Annotated[str | None, Query(max_length=32)] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    stage: Annotated[int | None, Query(ge=2025, le=2060)] = None,
    column: Annotated[int | None, Query(ge=1, le=10)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    access.require(principal, "read")
    techs = ra.technology_table()
    shown = ra.filter_technologies(
        techs, field=field, category=category, stage=stage, column=column, q=q
    )
    roadmap = {
        int(s): records(g[["id", "name_zh", "name_en", "category"]])
        for s, g in shown.groupby("stage")
    }
    return render(
        request,
        "techmap.html",
        {
            "active": "techmap",
            "techs": records(shown),
            "reserve_demos": reserve_demonstrations(principal),
            "total": len(techs),
            "roadmap": roadmap,
            "labels": ra.tc_labels(),
            "filters": {
                "field": field,
                "category": category,
                "stage": stage,
                "column": column,
                "q": q,
            },
        },
    )


@router.get("/api/v1/techmap", tags=["techmap"])
def techmap_api(principal: PrincipalDep) -> list[dict]:
    """The technology catalogue of the programme's 专栏 1-10 (with linked measures), and per
    technology the demonstration projects of the project reserve that deploy it and that the
    caller may read (``reserve_demonstrations``)."""
    access.require(principal, "read")
    techs = ra.technology_table()
    reserve = reserve_demonstrations(principal)
    return records(techs.assign(reserve_demonstrations=[reserve.get(t, []) for t in techs["id"]]))


# --------------------------------------------------------------------- green project reserve
DEMO_COLUMNS = ["project_id", "name", "demonstration_level", "demonstration_year", "status"]


def reserve_demonstrations(principal: Principal) -> dict[str, list[dict]]:
    """Technology id -> the readable demonstration projects (示范项目) of the reserve that
    deploy it (:data:`DEMO_COLUMNS`)."""
    demos = gq.projects(principal, demonstration=True)
    return {tech: records(g[DEMO_COLUMNS]) for tech, g in demos.groupby("technology")}


def project_rows(frame) -> list[dict]:
    """Projects with their eligibility rows attached (``eligibility``: one per catalogue)."""
    rows = records(frame)
    by_project: dict[str, list[dict]] = {}
    for e in records(gq.eligibility(frame["project_id"])) if len(frame) else []:
        by_project.setdefault(e["project_id"], []).append(e)
    for r in rows:
        r["eligibility"] = by_project.get(r["project_id"], [])
    return rows


@router.get("/techmap/projects", response_class=HTMLResponse, include_in_schema=False)
def projects_page(
    request: Request,
    principal: PrincipalDep,
    status: Annotated[ProjectStatus | None, Query()] = None,
    technology: Annotated[str | None, Query(max_length=64)] = None,
    district: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    demonstration: bool = False,
) -> HTMLResponse:
    access.require(principal, "read")
    frame = gq.projects(
        principal,
        status=status,
        technology=technology,
        district=district,
        demonstration=demonstration,
    )
    techs = rg.technology_names().set_index("id")
    return render(
        request,
        "techmap_projects.html",
        {
            "active": "techmap",
            "scope": scope_label(principal, lang_of(request)),
            "projects": project_rows(frame),
            "totals": gq.totals(frame),
            "options": gq.filter_options(principal),
            "filters": {
                "status": status,
                "technology": technology,
                "district": district,
                "demonstration": demonstration,
            },
            "tech_names": {
                i: {"zh": r["name_zh"], "en": r["name_en"]} for i, r in techs.iterrows()
            },
            "labels": rg.labels(),
            "districts": access.registry().regions[["name_zh", "name_en"]].to_dict("index"),
            "template_formats": corrections.template_formats("green_projects"),
            "can_upload": principal.can("upload"),
        },
    )


@router.get("/api/v1/techmap/projects", response_model=Page, tags=["techmap"])
def projects_api(
    principal: PrincipalDep,
    status: Annotated[ProjectStatus | None, Query()] = None,
    technology: Annotated[str | None, Query(max_length=64)] = None,
    district: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    demonstration: Annotated[bool, Query(description="demonstration projects only")] = False,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
) -> Any:
    """The green project reserve (绿色低碳项目库) the caller may read: owner, location, technology,
    type, status, demonstration level (示范项目: none, district, city, provincial, national) and
    the year it was recognised, investment, the expected annual CO2 reduction with its method
    and grid factor (year, basis). City-wide roles: every project; district managers: their
    district's; park managers and enterprise users: their enterprises'; banks: those of
    consenting enterprises."""
    frame = gq.projects(
        principal,
        status=status,
        technology=technology,
        district=district,
        demonstration=demonstration,
    )
    return page(frame, limit, offset, format, "green_projects")


@router.get(
    "/api/v1/techmap/projects/{project_id}/eligibility", response_model=Page, tags=["techmap"]
)
def project_eligibility_api(
    principal: PrincipalDep, project_id: ProjectId, format: Format = "json"
) -> Any:
    """Eligibility of one readable project under 绿色低碳转型产业指导目录（2024年版） and 绿色债券支持
    项目目录（2021年版）: yes / no / undetermined, the matching clauses (their source status:
    sub-level numbers are assumptions until read in the catalogue text), the reason and the
    missing evidence. 404 outside the caller's scope."""
    _, rows = gq.project(principal, project_id)
    return page(rows, 100, 0, format, f"eligibility_{project_id}")


@router.get("/actions", response_class=HTMLResponse, include_in_schema=False)
def actions_page(request: Request, principal: PrincipalDep) -> HTMLResponse:
    access.require(principal, "read")
    return _actions(request, principal, None)


@router.get("/actions/{number}", response_class=HTMLResponse, include_in_schema=False)
def action_page(
    request: Request, principal: PrincipalDep, number: Annotated[int, Path(ge=1, le=10)]
) -> HTMLResponse:
    access.require(principal, "read")
    return _actions(request, principal, number)


def _actions(request: Request, principal: Principal, number: int | None) -> HTMLResponse:
    board = ra.task_board()
    if number is not None:
        board = board[board["action"] == number]
    own = principal.scope_code if principal.role == "unit_user" else None
    board = board.assign(
        editable=board["units"].map(
            lambda us: principal.can("report_tasks") and (own is None or own in us)
        )
    )
    return render(
        request,
        "actions.html",
        {
            "active": "actions",
            "scope": scope_label(principal, lang_of(request)),
            "number": number,
            "actions": records(ra.action_table()),
            "tasks": records(board.drop(columns=["at"])),
            "units": ra.unit_labels(),
            "milestones": ra.milestone_labels(),
            "today": date.today().isoformat(),
        },
    )


def _may_report(principal: PrincipalDep) -> None:
    """The role check before the form is validated (a role without it gets 403, not 422)."""
    access.require(principal, "report_tasks")


@router.post(
    "/actions/tasks/{task_id}/status",
    include_in_schema=False,
    dependencies=[Depends(_may_report)],
)
def task_status_form(
    principal: PrincipalDep,
    task_id: TaskId,
    status: Annotated[Status, Form()],
    progress_pct: Annotated[float, Form(ge=0, le=100)],
    planned_date: Annotated[date | None, Form()] = None,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    units = ra.task_units(task_id)
    if units is None:
        raise HTTPException(404, "task not found")
    access.require_task_unit(principal, units)
    unit = principal.scope_code if principal.role == "unit_user" else units[0]
    ra.report_status(
        task_id,
        status,
        progress_pct,
        actor=principal.username,
        unit=str(unit),
        planned_date=planned_date,
        note=note,
    )
    action = int(ra.task_action(task_id))
    return RedirectResponse(f"/actions/{action}#task-{task_id}", status_code=303)


@router.post("/actions/check-overdue", include_in_schema=False)
def check_overdue(principal: PrincipalDep) -> RedirectResponse:
    access.require(principal, "edit_scenarios")
    ra.overdue_warnings()
    return RedirectResponse("/actions", status_code=303)


@router.get("/actions-report.{fmt}", include_in_schema=False)
def actions_report(
    request: Request,
    principal: PrincipalDep,
    fmt: Literal["pdf", "xlsx"],
    action: Annotated[int | None, Query(ge=1, le=10)] = None,
    unit: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$")] = None,
) -> Response:
    access.require(principal, "read")
    if unit is not None and unit not in ra.unit_labels():
        raise HTTPException(404, "unit not found")
    lang = lang_of(request)
    data = ra.progress_report(action=action, unit=unit, lang=lang)
    buf = io.BytesIO()
    if fmt == "pdf":
        actions_pdf(data, buf, lang)
        media = "application/pdf"
    else:
        write_excel(data, buf, lang)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"actions-{action or unit or 'all'}.{fmt}"
    return Response(
        buf.getvalue(),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
