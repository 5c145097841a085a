"""目标与预警 page and ``/api/v1/targets``: the page renders for an analyst, the API returns the
catalog's current targets with the lake's progress, lamp counts follow the latest status,
scoped users see only their own entities' targets and warnings, the report streams as Excel;
the dual-control indicators (CO2 assessed, GHG reported, energy less feedstock, non-fossil
share) show their 口径 and base-year values in zh and en, districts without statistics show
coverage and no intensity."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from citycarbon.contract.results import result as declared
from citycarbon.read import access
from citycarbon.store import results
from citycarbon.store import targets as targets_store
from tests import web_fixtures
from tests.web_fixtures import sign_in

app, web_home = web_fixtures.app, web_fixtures.web_home  # shared fixtures


def _lake(home, name) -> pd.DataFrame:
    return results.current(declared(name), lake=home / "lake")


def _user(name):
    from citycarbon.store import users

    return users.get_user_by_name(name)


@pytest.fixture(scope="module")
def clients(app):
    return {u: sign_in(app, u) for u in ("analyst", "siming", "park", "enterprise")}


def test_page_renders_with_lamps_progress_and_log(clients):
    r = clients["analyst"].get("/targets")
    assert r.status_code == 200
    for marker in (
        'id="lamps"',
        'id="targets-table"',
        'id="chart-progress"',
        'id="status-table"',
        'id="warnings-table"',
        'id="report-pdf"',
    ):
        assert marker in r.text, marker
    r = clients["analyst"].get("/targets", params={"code": "xm-14fyp-co2-total", "lang": "en"})
    assert r.status_code == 200 and "Traceback" not in r.text
    home = clients["analyst"].get("/")
    assert 'id="target-lamps"' in home.text  # the overview's panel


def test_targets_and_progress_are_the_stored_ones(clients, web_home):
    api = clients["analyst"].get("/api/v1/targets", params={"limit": 1000}).json()
    current = targets_store.targets_frame()
    assert api["total"] == len(current)
    assert {t["code"] for t in api["items"]} == set(current["code"])
    prog = _lake(web_home, "target_progress")
    city = prog[prog["code"] == "xm-14fyp-co2-intensity"].sort_values("year")
    got = (
        clients["analyst"]
        .get("/api/v1/targets/progress", params={"target": "xm-14fyp-co2-intensity"})
        .json()["items"]
    )
    assert [g["year"] for g in got] == city["year"].tolist()
    assert [g["actual_decline_pct"] for g in got] == pytest.approx(
        city["actual_decline_pct"].tolist()
    )
    row = next(t for t in api["items"] if t["code"] == "xm-14fyp-co2-intensity")
    assert row["actual_value"] == pytest.approx(city["value"].iat[-1])
    annual = (
        clients["analyst"]
        .get("/api/v1/targets/annual", params={"target": "xm-14fyp-co2-intensity"})
        .json()
    )
    assert [a["year"] for a in annual] == sorted(a["year"] for a in annual)


def test_lamp_counts_follow_the_latest_status(clients, web_home):
    status = _lake(web_home, "target_status")
    rank = {"green": 0, "yellow": 1, "red": 2}
    worst = status.assign(r=status["level"].map(rank)).groupby("subject")["r"].max()
    lamps = clients["analyst"].get("/api/v1/targets/lamps").json()
    assert lamps["red"] == int((worst == 2).sum())
    assert lamps["yellow"] == int((worst == 1).sum())
    assert lamps["green"] == int((worst == 0).sum())


def _rows(html: str, table: str) -> list[str]:
    """The data-lamp of every row of one table of the 目标与预警 page."""
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr[^>]*data-lamp="(\w*)"', body)


def _counts(html: str) -> dict[str, int]:
    return {lv: int(n) for lv, n in re.findall(r'data-count="(\w+)">.*?class="count">(\d+)', html)}


def test_lamp_counts_match_the_table_red_and_yellow_first(clients, web_home):
    """The summary counts the rows of the latest-evaluation table, so a yellow row is never
    hidden behind a red one of the same subject (the demo's city CO2 total has a yellow
    budget-use row and a red forecast row); both tables list red, then yellow, then green."""
    html = clients["analyst"].get("/targets").text
    rows = _rows(html, "status-table")
    status = _lake(web_home, "target_status")
    assert len(rows) == len(status)
    counts = _counts(html)
    assert counts == {lv: rows.count(lv) for lv in ("red", "yellow", "green")}
    assert counts["yellow"] == int((status["level"] == "yellow").sum()) > 0
    rank = {"red": 0, "yellow": 1, "green": 2, "": 3}
    for table in ("status-table", "targets-table"):
        got = [rank[lv] for lv in _rows(html, table)]
        assert got == sorted(got), table
    form = {"lamp": "yellow", "level": "", "district": "", "target": ""}  # as the form sends
    yellow = clients["analyst"].get("/targets", params=form).text
    assert set(_rows(yellow, "status-table")) == {"yellow"}
    assert _counts(yellow) == {"red": 0, "yellow": counts["yellow"], "green": 0}
    # the targets with a yellow evaluation are listed, though their worst lamp is red
    yellow_codes = set(status.loc[status["level"] == "yellow", "code"]) - {""}
    listed = set(
        re.findall(
            r'<span class="muted mono">([\w-]+)</span>',
            yellow.split('id="targets-table"', 1)[1].split("</table>", 1)[0],
        )
    )
    assert listed == yellow_codes and yellow_codes


def test_filters_by_object_type_district_and_target(clients, web_home):
    status = _lake(web_home, "target_status")
    html = clients["analyst"].get("/targets", params={"level": "enterprise"}).text
    n_ent = int((status["entity_level"] == "enterprise").sum())
    assert len(_rows(html, "status-table")) == n_ent > 0
    assert (
        "xm-14fyp-co2-intensity" not in html.split('id="targets-table"', 1)[1].split("</table>")[0]
    )
    # a district: its own target and the warnings of its enterprises, never the city's
    siming = access.Principal.of(_user("siming"))
    in_siming = access.visible_enterprise_codes(siming)
    html = clients["analyst"].get("/targets", params={"district": "350203"}).text
    expected = status[
        ((status["entity_level"] == "district") & (status["entity_code"] == "350203"))
        | ((status["entity_level"] == "enterprise") & status["entity_code"].isin(in_siming))
    ]
    assert len(_rows(html, "status-table")) == len(expected) > 0
    targets = html.split('id="targets-table"', 1)[1].split("</table>")[0]
    assert "xm-14fyp-intensity-350203" in targets and "xm-14fyp-co2-total" not in targets
    # one target: its rows only, and its detail opens
    html = clients["analyst"].get("/targets", params={"target": "xm-14fyp-co2-total"}).text
    assert len(_rows(html, "status-table")) == int((status["code"] == "xm-14fyp-co2-total").sum())
    assert 'id="detail"' in html and 'id="chart-progress"' in html


def test_progress_is_labelled_from_the_base_year(clients):
    html = clients["analyst"].get("/targets", params={"lang": "zh"}).text
    assert (
        "较 2020 年（基期）" in html and "较 2025 年（基期）" not in html
    )  # 15th FYP: no data yet
    assert "较基期累计下降 %" in html
    en = clients["analyst"].get("/targets", params={"lang": "en"}).text
    assert "since 2020 (base year)" in en


def test_scoped_users_see_only_their_own_targets_and_warnings(clients):
    for user in ("siming", "park", "enterprise"):
        principal = access.Principal.of(_user(user))
        ents = access.visible_enterprise_codes(principal)
        items = clients[user].get("/api/v1/targets", params={"limit": 1000}).json()["items"]
        for t in items:
            assert (t["level"], t["entity_code"]) != ("city", "350200"), user
            if t["level"] == "district":
                assert user == "siming" and t["entity_code"] == principal.scope_code
            if t["level"] == "enterprise":
                assert t["entity_code"] in ents
            assert t["level"] != "industry"
        for w in (
            clients[user].get("/api/v1/targets/warnings", params={"limit": 1000}).json()["items"]
        ):
            assert w["entity_level"] != "city"
            if w["entity_level"] == "enterprise":
                assert w["entity_code"] in ents
            if w["entity_level"] == "district":
                assert w["entity_code"] == principal.scope_code
        r = clients[user].get(
            "/api/v1/targets/progress", params={"target": "xm-14fyp-co2-intensity"}
        )
        assert r.status_code == 404
        assert clients[user].get("/api/v1/targets/report").status_code == 403
        assert clients[user].get("/targets").status_code == 200
    siming = clients["siming"].get("/api/v1/targets").json()["items"]
    assert [t["code"] for t in siming] == ["xm-14fyp-intensity-350203"]


def test_dual_control_indicators_with_their_kouj(clients, web_home):
    stored = _lake(web_home, "dual_control_indicators")
    items = (
        clients["analyst"]
        .get("/api/v1/targets/indicators", params={"level": "city", "limit": 1000})
        .json()["items"]
    )
    assert len(items) == int((stored["level"] == "city").sum())
    got = {(i["indicator"], i["year"]): i for i in items}
    co2 = got[("co2_t", 2024)]
    assert co2["role"] == "assessed" and co2["basis"] == "incl_net_imported_electricity"
    assert co2["origin"] == "computed" and co2["factor_profile"].startswith("xiamen:inventory[")
    assert got[("total_ghg_tco2e", 2024)]["role"] == "reported"
    assert got[("energy_intensity_tce_per_10k_cny", 2024)]["basis"] == "coal_equivalent"
    share = got[("nonfossil_share", 2024)]
    assert share["note"] == "grid_mix?grid=fujian&year=2023" and share["status"] == "estimate"
    assert 0.1 < share["value"] < 0.6  # the imported grid mix counts, not local output alone
    base = got[("co2_t", 2020)]
    assert base["origin"] == "entered" and base["status"] == "illustrative"
    zh = clients["analyst"].get("/targets", params={"lang": "zh"}).text
    en = clients["analyst"].get("/targets", params={"lang": "en"}).text
    for marker in ('id="dual-control-table"', 'id="district-table"', 'id="base-info"'):
        assert marker in zh and marker in en, marker
    assert "考核指标" in zh and "二氧化碳排放总量" in zh and "按 福建 电网 2023 年发电结构" in zh
    assert "等价值" in zh and "2020 年可比价" in zh and "示意值" in zh
    assert "Total CO2" in en and "assessed" in en and "coal equivalent" in en
    # the UI is one language (target names and citations are data, in their own language)
    assert "考核指标" not in en and "单位 GDP 二氧化碳排放" not in en and "口径" not in en
    # districts without statistics: coverage and "no intensity", never reporters / GDP
    siming = zh[zh.index('data-district="350203"') :]
    siming = siming[: siming.index("</tr>")]
    assert "无区级统计，不计算强度" in siming
    # the selected target shows its base-year value and source
    detail = (
        clients["analyst"]
        .get("/targets", params={"code": "xm-14fyp-co2-intensity", "lang": "zh"})
        .text
    )
    info = detail[detail.index('id="base-info"') :][:1500]
    assert "示意" in info and "录入" in info and "base-missing" not in info
    missing = (
        clients["analyst"]
        .get("/targets", params={"code": "xm-14fyp-total-ind-26", "lang": "zh"})
        .text
    )
    assert 'id="base-missing"' in missing and "缺 " in missing


def test_a_district_manager_sees_only_the_own_district_indicators(clients):
    items = clients["siming"].get("/api/v1/targets/indicators", params={"limit": 1000}).json()
    assert items["total"] > 0
    assert {(i["level"], i["entity_code"]) for i in items["items"]} == {("district", "350203")}
    assert clients["enterprise"].get("/api/v1/targets/indicators").json()["total"] == 0


def test_report_streams_as_excel(clients):
    r = clients["analyst"].get("/api/v1/targets/report", params={"format": "xlsx"})
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment;")
    sheets = pd.read_excel(io.BytesIO(r.content), sheet_name=None)
    assert len(sheets) >= 2 and "指标" in sheets  # the sheets have Chinese titles
    csv = clients["analyst"].get("/api/v1/targets/status", params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")


def test_not_computed_shows_a_message(small_demo_dir, tmp_path, monkeypatch):
    import shutil

    from citycarbon.web.app import create_app
    from tests.web_fixtures import SETTINGS

    home = tmp_path / "h"
    shutil.copytree(small_demo_dir, home)
    for name in ("target_progress", "target_status"):
        shutil.rmtree(home / "lake" / "results" / name, ignore_errors=True)
    monkeypatch.setenv("CITYCARBON_HOME", str(home))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    access.invalidate()
    client = sign_in(create_app(SETTINGS), "analyst")
    r = client.get("/targets")
    assert r.status_code == 200
    assert 'id="not-computed"' in r.text and "citycarbon targets recompute" in r.text
    assert client.get("/api/v1/targets/report").status_code == 404
    assert client.get("/api/v1/targets/lamps").json()["run_id"] is None
    access.invalidate()
