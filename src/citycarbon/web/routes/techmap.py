"""技术图谱 (technology map, roadmap by stage) and 行动跟踪 (the action plan's tasks, status
reports by the responsible units, overdue warnings, progress reports) of the
科技支撑碳达峰碳中和实施方案."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from citycarbon.read import access
from citycarbon.read.access import Principal
from citycarbon.reports.excel import write_excel
from citycarbon.reports.pdf import actions_pdf
from citycarbon.runs import actions as ra
from citycarbon.web import auth
from citycarbon.web.app import records, render

router = APIRouter()
PrincipalDep = Annotated[Principal, Depends(auth.principal_dep)]
Status = Literal["not_started", "in_progress", "done", "delayed"]
TaskId = Annotated[str, Path(pattern=r"^[a-z0-9_]{1,64}$")]


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
    """The technology catalogue of the programme's 专栏 1-10 (with linked measures)."""
    access.require(principal, "read")
    return records(ra.technology_table())


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
    principal: PrincipalDep,
    fmt: Literal["pdf", "xlsx"],
    action: Annotated[int | None, Query(ge=1, le=10)] = None,
    unit: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$")] = None,
) -> Response:
    access.require(principal, "read")
    if unit is not None and unit not in ra.unit_labels():
        raise HTTPException(404, "unit not found")
    data = ra.progress_report(action=action, unit=unit)
    buf = io.BytesIO()
    if fmt == "pdf":
        actions_pdf(data, buf)
        media = "application/pdf"
    else:
        write_excel(data, buf)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"actions-{action or unit or 'all'}.{fmt}"
    return Response(
        buf.getvalue(),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
