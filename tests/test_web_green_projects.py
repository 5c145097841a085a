"""The green project reserve on the web: ``/techmap/projects`` and ``/api/v1/techmap/projects``
per role and scope (city-wide: all; district manager: the district's; enterprise user: its own;
bank: only projects of enterprises whose consent is valid, 404 otherwise, audited), the projects
on the 绿色金融 page, and each page entirely in Chinese or English."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from citycarbon.demo.users import demo_password
from citycarbon.store import catalog, consents, users
from citycarbon.store.models import AuditLog
from tests.web_fixtures import csrf_of, sign_in, wait_job


@pytest.fixture(scope="module")
def analyst(app):
    return sign_in(app, "analyst")


@pytest.fixture(scope="module")
def all_projects(analyst) -> dict[str, dict]:
    got = analyst.get("/api/v1/techmap/projects").json()
    return {p["project_id"]: p for p in got["items"]}


@pytest.fixture(scope="module")
def owner(all_projects) -> str:
    """The owner enterprise of the demo's energy-saving retrofit GP-004."""
    return all_projects["GP-004"]["owner_code"]


@pytest.fixture(scope="module")
def bank(web_home, app):
    users.create_user("bankgp", demo_password("bankgp"), "bank", display_name="示例银行")
    return sign_in(app, "bankgp")


def test_city_wide_roles_see_every_demo_project_with_reduction_and_eligibility(
    analyst, all_projects
):
    assert len(all_projects) == 8 and all(
        p["name"].startswith("示例") for p in all_projects.values()
    )
    pv = all_projects["GP-001"]
    # 9800 MWh x the city's declared grid factor of the latest year published up to 2023
    assert pv["reduction_tco2_per_yr"] == pytest.approx(9800 * pv["grid_ef_tco2_per_mwh"])
    assert pv["reduction_method"] == "renewable_generation" and pv["grid_region"] == "national"
    page = analyst.get("/techmap/projects")
    assert page.status_code == 200
    assert page.text.count('data-project="') == 8
    assert 'id="total-projects">8<' in page.text
    assert "符合" in page.text and "条目编号未经原文核对" in page.text
    elig = analyst.get("/api/v1/techmap/projects/GP-005/eligibility").json()["items"]
    by_cat = {e["catalogue"]: e for e in elig}
    assert by_cat["green_bond_2021"]["eligible"] == "no"  # coal-fired boiler: excluded in 2021
    assert by_cat["green_low_carbon_2024"]["missing_evidence"] == "savings_verification"


def test_filters_by_status_technology_and_district(analyst, all_projects):
    operating = analyst.get("/api/v1/techmap/projects?status=operating").json()
    assert {p["project_id"] for p in operating["items"]} == {
        k for k, p in all_projects.items() if p["status"] == "operating"
    }
    tech = analyst.get("/techmap/projects?technology=ultra_low_energy_buildings").text
    assert tech.count('data-project="') == 2  # GP-002 and GP-007
    district = analyst.get("/api/v1/techmap/projects?district=350205").json()
    assert {p["district_code"] for p in district["items"]} == {"350205"}
    assert analyst.get("/techmap/projects?status=built").status_code == 422


def test_demonstration_projects_are_a_column_a_filter_and_an_api_field(analyst, all_projects):
    """示范项目 (synthetic in the demo: GP-001 city 2024, GP-006 provincial 2024, GP-007
    district 2025): the API carries level and year, ``demonstration=true`` keeps them only,
    the page shows the level in its language."""
    levels = {
        k: (p["demonstration_level"], p["demonstration_year"]) for k, p in all_projects.items()
    }
    assert levels["GP-001"] == ("city", 2024) and levels["GP-006"] == ("provincial", 2024)
    assert levels["GP-007"] == ("district", 2025) and levels["GP-002"] == ("none", None)
    demos = {k for k, (level, _) in levels.items() if level != "none"}
    api = analyst.get("/api/v1/techmap/projects?demonstration=true").json()
    assert {p["project_id"] for p in api["items"]} == demos == {"GP-001", "GP-006", "GP-007"}
    zh = analyst.get("/techmap/projects?demonstration=true&lang=zh").text
    assert zh.count('data-project="') == 3 and 'id="total-projects">3<' in zh
    assert 'name="demonstration" value="true" id="demonstration" checked' in zh
    assert "仅示范项目" in zh and "市级示范" in zh and "2024 年认定" in zh
    row = zh.split('id="project-GP-006"')[1].split("</tr>")[0]
    assert 'data-level="provincial"' in row and "省级示范" in row
    en = analyst.get("/techmap/projects?demonstration=true&lang=en").text
    assert "Demonstration projects only" in en and "Provincial demonstration" in en
    assert "recognised 2025" in en and "省级示范" not in en
    everything = analyst.get("/techmap/projects?lang=zh").text
    assert (
        everything.count('data-project="') == 8 and 'id="demonstration" checked' not in everything
    )
    both = analyst.get("/api/v1/techmap/projects?demonstration=true&status=operating").json()
    assert [p["project_id"] for p in both["items"]] == ["GP-001"]


def test_a_district_manager_sees_the_district_only(app, all_projects):
    siming = sign_in(app, "siming")  # 350203
    got = siming.get("/api/v1/techmap/projects").json()["items"]
    assert {p["project_id"] for p in got} == {
        k for k, p in all_projects.items() if p["district_code"] == "350203"
    }
    outside = next(k for k, p in all_projects.items() if p["district_code"] != "350203")
    assert siming.get(f"/api/v1/techmap/projects/{outside}/eligibility").status_code == 404


def test_an_enterprise_user_sees_its_own_projects(app, owner, all_projects):
    users.create_user("gpowner", demo_password("gpowner"), "enterprise_user", scope_code=owner)
    client = sign_in(app, "gpowner")
    got = client.get("/api/v1/techmap/projects").json()["items"]
    assert {p["project_id"] for p in got} == {
        k for k, p in all_projects.items() if p["owner_code"] == owner
    }
    assert client.get("/api/v1/techmap/projects/GP-003/eligibility").status_code == 404


def _bank_project_reads() -> int:
    with catalog.session_scope() as s:
        return s.scalar(
            sa.select(sa.func.count()).where(
                AuditLog.actor == "bankgp", AuditLog.entity_id == "green projects"
            )
        )


def test_a_bank_sees_projects_of_consenting_enterprises_only(bank, owner, all_projects):
    assert bank.get("/api/v1/techmap/projects").json()["total"] == 0
    assert bank.get("/api/v1/techmap/projects/GP-004/eligibility").status_code == 404
    assert 'id="no-projects"' in bank.get("/finance").text
    assert 'id="no-projects"' in bank.get("/techmap/projects").text
    cid = consents.grant(owner, "bankgp", scope="rating", purpose="授信审查", days=30, actor="test")
    owned = {k for k, p in all_projects.items() if p["owner_code"] == owner}
    got = bank.get("/api/v1/techmap/projects").json()["items"]
    assert {p["project_id"] for p in got} == owned
    assert bank.get("/api/v1/techmap/projects/GP-004/eligibility").status_code == 200
    other = next(k for k, p in all_projects.items() if p["owner_code"] != owner)
    assert bank.get(f"/api/v1/techmap/projects/{other}/eligibility").status_code == 404
    finance = bank.get("/finance").text
    assert 'id="finance-projects"' in finance
    assert 'data-project="GP-004"' in finance and f'data-project="{other}"' not in finance
    assert _bank_project_reads() >= 1
    consents.revoke(cid, enterprise_code=owner, actor="test")
    assert bank.get("/api/v1/techmap/projects").json()["total"] == 0


def test_a_unit_user_sees_no_project(app):
    users.create_user("gpunit", demo_password("gpunit"), "unit_user", scope_code="sti")
    client = sign_in(app, "gpunit")
    assert client.get("/api/v1/techmap/projects").json()["total"] == 0


def test_the_pages_are_entirely_in_one_language(analyst):
    zh = analyst.get("/techmap/projects?lang=zh").text
    for word in ("绿色低碳项目库", "目录符合性", "预期年减排量", "储备"):
        assert word in zh
    assert "Green project reserve" not in zh and "Catalogue eligibility" not in zh
    en = analyst.get("/techmap/projects?lang=en").text
    for word in ("Green project reserve", "Catalogue eligibility", "Candidate", "Eligible"):
        assert word in en
    # Chinese remains only in data (project and owner names, 示例), not in the interface
    for word in (
        "绿色低碳项目库",
        "目录符合性",
        "预期年减排量",
        "缺少材料",
        "条目编号未经原文核对",
    ):
        assert word not in en
    fin = analyst.get("/finance?lang=en").text
    assert "Green projects of consenting enterprises" in fin and "授权企业的绿色低碳项目" not in fin


def test_a_project_uploaded_from_the_reserve_page_is_listed_mapped_and_checked(app, job_worker):
    """/techmap/projects links the template of kind green_projects and uploads a file through
    the one pipeline (POST /data/upload): the job page shows its status and links back to the
    reserve; the project is then listed with its reduction, on the map layer and checked
    against the catalogues."""
    client = sign_in(app, "analyst")
    page = client.get("/techmap/projects").text
    assert 'id="projects-upload-form"' in page and 'name="kind" value="green_projects"' in page
    assert "/data/templates/green_projects?format=xlsx" in page
    template = client.get("/data/templates/green_projects?format=csv")
    assert template.status_code == 200 and "项目编号" in template.content.decode("utf-8-sig")
    body = (
        "project_id,name,owner_name,district_code,lon,lat,technology,project_type,"
        "investment_10k_cny,annual_generation_mwh,status,start_year,evidence\n"
        "GP-T18,示例翔安屋顶光伏示范项目,示例能源有限公司,350213,118.25,24.62,pv_generation,"
        "pv_generation,1200,3600,运营,2024,project_filing;grid_connection\n"
    ).encode()
    r = client.post(
        "/data/upload",
        data={"kind": "green_projects", "csrf_token": csrf_of(page)},
        files={"file": ("projects.csv", body, "text/csv")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/data/jobs/")
    job = wait_job(client, int(r.headers["location"].rsplit("/", 1)[1]))
    assert job["status"] == "done", job
    job_page = client.get(r.headers["location"]).text
    assert 'href="/techmap/projects" class="refreshed-link"' in job_page
    listed = client.get("/api/v1/techmap/projects").json()["items"]
    mine = next(p for p in listed if p["project_id"] == "GP-T18")
    assert mine["status"] == "operating" and mine["reduction_tco2_per_yr"] > 0
    assert (mine["lon"], mine["lat"]) == (118.25, 24.62)  # the map layer reads these
    assert "GP-T18" in client.get("/techmap/projects").text
    eligibility = client.get("/api/v1/techmap/projects/GP-T18/eligibility").json()["items"]
    assert len(eligibility) >= 1 and {e["project_id"] for e in eligibility} == {"GP-T18"}
