"""技术图谱 and action tracking: the catalogue is faithful to the programme (every entry cites
its 专栏 and the words it comes from, every range is sourced or labelled an expert estimate, the
linked measures exist), overdue tasks, and the pages per role: a responsible unit's user
reports only its own tasks, the progress reports render."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from citycarbon.demo.users import demo_password
from citycarbon.errors import InputError
from citycarbon.pathways.catalogue import measure_catalogue
from citycarbon.store import users
from citycarbon.techmap import catalogue as tc
from citycarbon.techmap import tracking
from tests.web_fixtures import page_csrf, sign_in

PROGRAMME = Path("/work/shared/sources/xiamen-sci-tech-carbon-plan-2023.txt")


def test_every_technology_cites_its_column_and_labels_its_numbers():
    techs = tc.technologies()
    assert set(techs["column"]) == set(range(1, 11))
    assert techs["quote"].str.len().gt(5).all()
    for f in tc.RANGE_FIELDS:
        for spec in techs[f].dropna():
            assert spec.get("source") or spec.get("estimate") == "expert"
    known = set(measure_catalogue()["id"])
    assert {m for ms in techs["measures"] for m in ms} <= known


@pytest.mark.skipif(not PROGRAMME.exists(), reason="programme text not on this machine")
def test_quotes_and_names_are_the_programmes_words():
    text = "".join(PROGRAMME.read_text(encoding="utf-8").split())
    for quote in tc.technologies()["quote"]:
        for part in quote.split("……"):
            assert "".join(part.split()) in text, part
    for name in tc.tasks()["name_zh"]:
        assert "".join(name.split()) in text, name
    for u in tc.units().values():
        assert u["zh"] in text


def test_a_range_without_source_or_estimate_label_is_refused():
    with pytest.raises(InputError, match="estimate"):
        tc.check_range({"low": 1, "high": 2, "unit": "tCO2/yr"}, "x")
    tc.check_range({"low": 1, "high": 2, "unit": "tCO2/yr", "estimate": "expert"}, "x")
    tc.check_range(None, "x")


def test_ten_actions_and_roadmap_stages():
    assert list(tc.actions()["action"]) == list(range(1, 11))
    assert set(tc.technologies()["stage"]) <= {2025, 2030, 2060}
    assert tc.actions().set_index("action").at[1, "units"][0] == "sti"


def test_overdue_days_from_due_year_or_planned_date():
    tasks = pd.DataFrame(
        {
            "due_year": [2030, 2030, 2030, None, 2025],
            "planned_date": [None, "2026-06-30", "2026-06-30", None, None],
            "status": [None, "in_progress", "done", "in_progress", "delayed"],
        }
    )
    days = tracking.days_overdue(tasks, pd.Timestamp("2026-07-10"))
    assert list(days) == [0, 10, 0, 0, 191]


@pytest.fixture(scope="module")
def unit_client(web_home, app):
    users.create_user("sti1", demo_password("sti1"), "unit_user", scope_code="sti")
    return sign_in(app, "sti1")


def test_a_unit_user_lands_on_its_tasks_under_its_units_name(app):
    """The demo's 责任单位 user (unit, 市科技局): no emission pages in its menu, 总览 leads to
    行动跟踪, the header names the unit (not its code)."""
    client = sign_in(app, "unit")
    r = client.get("/?lang=zh", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/actions")
    page = client.get("/actions?lang=zh").text
    nav = page.split('class="mainnav"', 1)[1].split("</nav>", 1)[0]
    assert 'data-nav="actions"' in nav and 'data-nav="techmap"' in nav
    assert not any(f'data-nav="{k}"' in nav for k in ("overview", "map", "inventory", "data"))
    assert "市科技局" in page and "Municipal Science and Technology Bureau" in client.get(
        "/actions?lang=en"
    ).text


@pytest.mark.parametrize("user", ["admin", "analyst", "viewer", "siming", "enterprise"])
def test_pages_open_for_every_role(app, user):
    client = sign_in(app, user)
    r = client.get("/techmap?field=sinks")
    assert r.status_code == 200 and "ecosystem_sinks" in r.text and "pv_generation" not in r.text
    r = client.get("/actions/4")
    assert r.status_code == 200 and "碳汇核算与监测技术" in r.text
    assert "Technology map" in client.get("/techmap?lang=en").text


def test_a_unit_user_reports_only_its_own_tasks(unit_client, app):
    token = page_csrf(unit_client, "/actions/1")
    ok = unit_client.post(
        "/actions/tasks/a1_pv/status",
        data={
            "csrf_token": token,
            "status": "in_progress",
            "progress_pct": 40,
            "planned_date": "2020-01-31",
            "note": "示范",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    page = unit_client.get("/actions/1").text
    assert "overdue-flag" in page and "示范" in page
    # 行动三 港口 task belongs to 港口管理局/海事局/交通局, not 科技局
    other = unit_client.post(
        "/actions/tasks/a3_port/status",
        data={"csrf_token": token, "status": "done", "progress_pct": 100},
        follow_redirects=False,
    )
    assert other.status_code == 404
    no_csrf = unit_client.post(
        "/actions/tasks/a1_grid/status", data={"status": "done", "progress_pct": 100}
    )
    assert no_csrf.status_code == 403
    viewer = sign_in(app, "viewer")
    vt = page_csrf(viewer, "/actions/1")
    r = viewer.post(
        "/actions/tasks/a1_grid/status",
        data={"csrf_token": vt, "status": "done", "progress_pct": 100},
        follow_redirects=False,
    )
    assert r.status_code == 403


def test_overdue_tasks_reach_the_warning_log(unit_client, app):
    from citycarbon.runs import actions as ra
    from citycarbon.store import targets as targets_store

    ra.overdue_warnings(today=date(2026, 12, 7), notify=False)
    log = targets_store.warnings_frame()
    mine = log[log["rule_id"] == ra.OVERDUE_RULE]
    assert (mine["subject"] == "a1_pv").any()
    assert set(mine.loc[mine["subject"] == "a1_pv", "level"]) == {"red"}
    assert ra.overdue_warnings(today=date(2026, 12, 7), notify=False) == 0  # not logged twice


def test_progress_reports_render(unit_client):
    pdf = unit_client.get("/actions-report.pdf?action=1")
    assert pdf.status_code == 200 and pdf.content[:4] == b"%PDF"
    xlsx = unit_client.get("/actions-report.xlsx?unit=sti")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    tasks = pd.read_excel(pd.io.common.BytesIO(xlsx.content), sheet_name="任务进展")
    assert "新能源发电技术" in set(tasks["任务"])  # the page's language: zh
    en = unit_client.get("/actions-report.xlsx?unit=sti&lang=en")
    tasks = pd.read_excel(pd.io.common.BytesIO(en.content), sheet_name="Task progress")
    assert {"Task", "Responsible units", "Days overdue"} <= set(tasks.columns)
    assert unit_client.get("/actions-report.pdf?unit=nobody").status_code == 404


def test_technologies_link_the_reserves_demonstration_projects(app):
    """A technology lists the reserve's demonstration projects (示范项目) that deploy it, as far
    as the user may read them (demo: GP-001 PV, city level; GP-007 buildings, district level;
    GP-006 shore power, provincial level; GP-002 deploys buildings too but is no
    demonstration)."""
    analyst = sign_in(app, "analyst")
    page = analyst.get("/techmap?lang=zh").text
    pv = page.split('id="tech-pv_generation"')[1].split("</tr>")[0]
    assert 'href="/techmap/projects?demonstration=true#project-GP-001"' in pv and "市级示范" in pv
    buildings = page.split('id="tech-ultra_low_energy_buildings"')[1].split("</tr>")[0]
    assert 'data-project="GP-007"' in buildings and 'data-project="GP-002"' not in buildings
    assert page.count('class="reserve-demo"') == 3
    en = analyst.get("/techmap?lang=en").text
    assert "District demonstration" in en and "Xiamen demonstrations" in en
    api = {t["id"]: t for t in analyst.get("/api/v1/techmap").json()}
    assert [d["project_id"] for d in api["port_shipping"]["reserve_demonstrations"]] == ["GP-006"]
    assert api["port_shipping"]["reserve_demonstrations"][0]["demonstration_level"] == "provincial"
    assert api["biomass_power"]["reserve_demonstrations"] == []
    # a district manager of 思明区 (350203) reads only its district's demonstration project
    siming = sign_in(app, "siming").get("/techmap").text
    assert re.findall(r'class="reserve-demo" data-project="([^"]+)"', siming) == ["GP-007"]
