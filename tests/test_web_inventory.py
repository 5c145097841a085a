"""清单 page and ``/api/v1/inventory``: the page renders for an analyst, the API's numbers are the
lake's ``city_inventory`` results (sector rows add up to the city total; the drill-down rows
plus the unattributed residual add up to the city), scoped users see only their enterprises'
bottom-up rows, the energy balance downloads as Excel, and a home without results shows the
'not yet computed' message."""

from __future__ import annotations

import io
import shutil

import pandas as pd
import pytest

from citycarbon.contract.results import CITY_INVENTORY
from citycarbon.read import access
from citycarbon.store import catalog, results
from citycarbon.web.app import create_app
from tests import web_fixtures
from tests.web_fixtures import SETTINGS, sign_in

app, web_home = web_fixtures.app, web_fixtures.web_home  # shared fixtures

BASES = ("incl_net_imported_electricity", "territorial")


def _lake_inventory(home) -> pd.DataFrame:
    return results.current(CITY_INVENTORY, lake=home / "lake")


@pytest.fixture(scope="module")
def clients(app):
    return {u: sign_in(app, u) for u in ("analyst", "siming", "park", "enterprise")}


def test_page_renders_for_an_analyst(clients):
    r = clients["analyst"].get("/inventory")
    assert r.status_code == 200
    for marker in (
        'id="sector-table"',
        'id="drill-table"',
        'id="indicator-table"',
        'id="uncertainty-table"',
        'id="balance-physical"',
        'id="balance-xlsx"',
        'data-basis="territorial"',
        'data-basis="incl_net_imported_electricity"',
        'id="scope2-basis-note"',
        'id="scope2-sensitivity"',
        'id="scope2-market"',
        'id="gpc-table"',
        'id="gpc-totals"',
    ):
        assert marker in r.text, marker
    for params in (
        {"period": "month"},
        {"period": "quarter", "basis": "territorial"},
        {"tce_basis": "coal_equivalent"},
        {"district": "350211"},
        {"lang": "en"},
    ):
        r = clients["analyst"].get("/inventory", params=params)
        assert r.status_code == 200 and "Traceback" not in r.text, params


@pytest.mark.parametrize("basis", BASES)
def test_sector_rows_add_up_to_the_lake_city_total(clients, web_home, basis):
    lake = _lake_inventory(web_home)
    year = int(lake["year"].max())
    city = lake[
        (lake["level"] == "city")
        & lake["month"].isna()
        & (lake["year"] == year)
        & (lake["basis"] == basis)
    ]
    s = (
        clients["analyst"]
        .get("/api/v1/inventory/summary", params={"year": year, "basis": basis})
        .json()
    )
    sectors = sum(r["emissions_tco2e"] or 0.0 for r in s["by_sector"])
    gases = sum(r["emissions_tco2e"] or 0.0 for r in s["by_gas"])
    assert s["total_tco2e"] == pytest.approx(city["emissions_tco2e"].sum(), rel=1e-12)
    assert sectors == pytest.approx(s["total_tco2e"], rel=1e-12)
    assert gases == pytest.approx(s["total_tco2e"], rel=1e-12)
    assert s["provenance"]["run_id"] == str(lake["run_id"].iat[0])


def test_scope2_basis_and_gpc_are_shown_in_both_languages(clients, web_home):
    """The 清单 page names the grid region and factor year of every scope-2 figure, says when
    the data year is later than the factor's, shows the city total under the national,
    regional and provincial factors and the GPC table; the API gives the same rows."""
    from citycarbon.contract.results import CITY_SCOPE2

    basis = results.current(CITY_SCOPE2, lake=web_home / "lake")
    year = int(basis["year"].max())
    declared = basis[basis["declared"] & (basis["year"] == year)].iloc[0]
    fy = int(declared["factor_year"])
    for lang, words in (
        ("zh", ["全国电网因子 · " + str(fy), f"数据年份 {year} 晚于", "华东", "福建", "BASIC+"]),
        ("en", [f"National grid factor · {fy}", f"Data year {year} is later", "East China"]),
    ):
        page = clients["analyst"].get("/inventory", params={"year": year, "lang": lang}).text
        for w in words:
            assert w in page, (lang, w)
        assert page.count('class="basis scope2-factor"') == 1  # the scope-2 KPI
        for region in ("national", "east_china", "fujian"):
            assert f'data-region="{region}"' in page
        assert 'data-ref="I.4.4"' in page and 'data-ref="M.II.4"' in page
    api = clients["analyst"].get("/api/v1/inventory/scope2", params={"year": year}).json()
    rows = {(r["approach"], r["grid_region"]): r for r in api["items"]}
    assert rows[("location_based", "national")]["declared"] is True
    assert rows[("location_based", "fujian")]["city_total_tco2e"] == pytest.approx(
        basis.set_index(["year", "approach", "grid_region"]).at[
            (year, "location_based", "fujian"), "city_total_tco2e"
        ]
    )
    gpc = clients["analyst"].get("/api/v1/inventory/gpc", params={"year": year}).json()
    assert {r["gpc_ref"] for r in gpc["items"]} >= {"I.1.2", "I.4.4", "II.4.3", "M.II.3"}
    # a scoped user sees the declared factor of the scope-2 figures, not the city sensitivity
    scoped = clients["enterprise"].get("/api/v1/inventory/scope2", params={"year": year}).json()
    assert [r["grid_region"] for r in scoped["items"]] == ["national"]
    assert "city_total_tco2e" not in scoped["items"][0]
    assert clients["enterprise"].get("/api/v1/inventory/gpc").status_code == 403


def test_drilldown_closes_on_the_city_and_matches_the_district_rows(clients, web_home):
    lake = _lake_inventory(web_home)
    year, basis = int(lake["year"].max()), BASES[0]
    d = (
        clients["analyst"]
        .get("/api/v1/inventory/drilldown", params={"year": year, "basis": basis, "limit": 1000})
        .json()
    )
    assert d["level"] == "district"
    city = lake[
        (lake["level"] == "city")
        & lake["month"].isna()
        & (lake["year"] == year)
        & (lake["basis"] == basis)
    ]["emissions_tco2e"].sum()
    assert sum(r["emissions_tco2e"] for r in d["items"]) == pytest.approx(city, rel=1e-9)
    assert d["items"][-1]["entity_code"] == "unattributed"
    dist = lake[(lake["level"] == "district") & (lake["year"] == year) & (lake["basis"] == basis)]
    dist = (
        dist[dist["entity_code"] != "unattributed"].groupby("entity_code")["emissions_tco2e"].sum()
    )
    got = {
        r["entity_code"]: r["emissions_tco2e"]
        for r in d["items"]
        if r["entity_code"] != "unattributed"
    }
    assert got == pytest.approx(dist[dist.index.isin(got)].to_dict(), rel=1e-9)
    # one level down: the parks of a district add up to the district
    code = max(got, key=got.get)
    parks = (
        clients["analyst"]
        .get("/api/v1/inventory/drilldown", params={"year": year, "basis": basis, "district": code})
        .json()
    )
    assert parks["level"] == "park"
    assert sum(r["emissions_tco2e"] for r in parks["items"]) == pytest.approx(got[code], rel=1e-9)


def test_scoped_users_see_only_their_enterprises(clients, web_home):
    lake = _lake_inventory(web_home)
    year, basis = int(lake["year"].max()), BASES[0]
    ents = catalog.registry_frame("enterprises").set_index("credit_code")
    ent_rows = lake[
        (lake["level"] == "enterprise") & (lake["year"] == year) & (lake["basis"] == basis)
    ]
    for user in ("siming", "park", "enterprise"):
        c = clients[user]
        principal = access.Principal.of(_user(user))
        visible = access.visible_enterprise_codes(principal)
        s = c.get("/api/v1/inventory/summary", params={"year": year, "basis": basis}).json()
        mine = ent_rows[ent_rows["entity_code"].isin(visible)]["emissions_tco2e"].sum()
        assert s["total_tco2e"] == pytest.approx(mine, rel=1e-9), user
        d = c.get(
            "/api/v1/inventory/drilldown", params={"year": year, "basis": basis, "limit": 1000}
        ).json()
        assert "unattributed" not in {r["entity_code"] for r in d["items"]}
        assert sum(r["emissions_tco2e"] or 0 for r in d["items"]) == pytest.approx(mine, rel=1e-9)
        for path in (
            "/api/v1/inventory/indicators",
            "/api/v1/inventory/uncertainty",
            "/api/v1/inventory/balance",
            "/api/v1/inventory/reconciliation",
            "/api/v1/inventory/balance.xlsx",
            "/api/v1/inventory/report",
        ):
            assert c.get(path).status_code == 403, (user, path)
        page = c.get("/inventory")
        assert page.status_code == 200 and 'id="city-only"' in page.text
    # a district manager asking for another district gets nothing of it
    siming = access.Principal.of(_user("siming"))
    other = sorted(set(ents["district_code"]) - {siming.scope_code})[0]
    d = clients["siming"].get("/api/v1/inventory/drilldown", params={"district": other}).json()
    assert d["items"] == []
    # the enterprise user's drill-down lists only their own enterprise
    e = clients["enterprise"].get("/api/v1/inventory/drilldown").json()
    assert e["level"] == "enterprise"
    assert {r["entity_code"] for r in e["items"]} <= {_user("enterprise").scope_code}


def _user(name):
    from citycarbon.store import users

    return users.get_user_by_name(name)


def test_balance_excel_and_csv_downloads(clients):
    r = clients["analyst"].get("/api/v1/inventory/balance.xlsx")
    assert r.status_code == 200
    sheets = pd.read_excel(io.BytesIO(r.content), sheet_name=None)
    assert {"实物量", "标准量（当量值）", "标准量（等价值）"} <= set(sheets)
    csv = clients["analyst"].get("/api/v1/inventory/rows", params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    rows = pd.read_csv(io.StringIO(csv.content.decode("utf-8-sig")))
    assert set(rows["basis"]) == set(BASES)


def test_not_computed_shows_a_message(small_demo_dir, tmp_path, monkeypatch):
    home = tmp_path / "h"
    shutil.copytree(small_demo_dir, home)
    for name in (
        "city_inventory",
        "city_indicators",
        "energy_balance",
        "inventory_uncertainty",
        "inventory_reconciliation",
    ):
        shutil.rmtree(home / "lake" / "results" / name, ignore_errors=True)
    monkeypatch.setenv("CITYCARBON_HOME", str(home))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    access.invalidate()
    client = sign_in(create_app(SETTINGS), "analyst")
    r = client.get("/inventory")
    assert r.status_code == 200
    assert 'id="not-computed"' in r.text and "citycarbon inventory compute" in r.text
    assert client.get("/api/v1/inventory/summary").status_code == 404
    assert client.get("/api/v1/inventory/years").json() == []
    access.invalidate()


def test_report_streams_as_pdf(clients):
    r = clients["analyst"].get("/api/v1/inventory/report", params={"format": "pdf"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content[:5] == b"%PDF-"


def test_a_float_residue_is_no_balance_difference(clients, web_home):
    """The demo's 2022 balance leaves -0.00012 tce of electricity as 平衡差额 (float residue
    of balancing 万千瓦时 figures): shown as "-0.0 tce" it must not raise the warning."""
    from citycarbon.contract.results import result as declared

    bal = results.current(declared("energy_balance"), lake=web_home / "lake")
    diff = bal[(bal["item"] == "statistical_difference") & (bal["fuel"] != "total")]
    tiny = diff[(diff["tce"].abs() > 0) & (diff["tce"].abs() < 0.05)]
    assert len(tiny), "the demo has a float residue to test against"
    for year in sorted(tiny["year"].unique()):
        html = clients["analyst"].get("/inventory", params={"year": int(year)}).text
        big = diff[(diff["year"] == year) & (diff["tce"].abs() >= 0.05)]
        assert ('id="balance-residual"' in html) == (len(big) > 0), year


def test_a_value_is_never_ne_and_every_key_says_why(clients):
    """A sector or GPC row with a value carries no notation key (the gases without an estimate
    are named beside it); a row without one carries NE/IE/NO with its meaning on hover."""
    import re

    principal = access.Principal(None, "analyst", "city_analyst")
    from citycarbon.read import pages as pq

    year = int(max(access.result_years()))
    for basis in BASES:
        summary = pq.inventory_summary(principal, year, basis)
        for part in ("by_sector", "by_gas", "by_scope"):
            f = summary[part]
            assert (f.loc[f["emissions_tco2e"].notna(), "notation_key"] == "").all(), part
            assert (f.loc[f["emissions_tco2e"].isna(), "notation_key"] != "").all(), part
    gpc = pq.gpc_table(principal, year)
    assert (gpc.loc[gpc["emissions_tco2e"].notna(), "notation_key"] == "").all()
    partly = gpc[gpc["emissions_tco2e"].notna() & (gpc["notation_gases"] != "")]
    assert len(partly)  # rows with some gases estimated and others NE/IE/NO
    html = clients["analyst"].get("/inventory", params={"year": year, "lang": "zh"}).text
    keys = re.findall(r'<span class="nk" title="([^"]+)">(NE|IE|NO)', html)
    assert keys and all(title.startswith(k) and len(title) > 4 for title, k in keys)
    assert not re.search(r'class="num">[\d,.]+</td><td><span class="nk"', html)
    # each partly estimated row names its gases without an estimate beside the value
    for gases in set(partly["notation_gases"]):
        assert f"其中 {gases}" in html, gases


def test_transport_by_mode_section_in_both_languages(clients, web_home):
    """Transport by mode on 清单: one table per mode (the airport's and the port's), aviation
    by flight phase, international trips as memo rows outside the counted total; the API gives
    the same rows."""
    from citycarbon.contract.results import CITY_TRANSPORT

    ct = results.current(CITY_TRANSPORT, lake=web_home / "lake")
    year = int(ct["year"].max())
    for lang, words in (
        (
            "zh",
            ["交通分方式排放", "航空（机场）", "水运（港口）", "起降阶段", "巡航阶段", "港作船舶"],
        ),
        ("en", ["Transport emissions by mode", "Aviation (airports)", "Cruise"]),
    ):
        page = clients["analyst"].get("/inventory", params={"year": year, "lang": lang}).text
        assert 'id="transport"' in page
        for w in words:
            assert w in page, (lang, w)
        for mode in ("road", "rail", "navigation", "aviation"):
            assert f'data-mode="{mode}"' in page, mode
        assert 'data-phase="lto"' in page and 'data-phase="cruise"' in page
    api = (
        clients["analyst"]
        .get("/api/v1/inventory/transport", params={"year": year, "limit": 500})
        .json()
    )
    rows = pd.DataFrame(api["items"])
    this = ct[ct["year"] == year]
    assert rows["emissions_tco2e"].sum() == pytest.approx(this["emissions_tco2e"].sum())
    memo = rows.loc[rows["memo"], "emissions_tco2e"].sum()
    assert memo == pytest.approx(this.loc[this["memo"], "emissions_tco2e"].sum()) and memo > 0
    air = rows[rows["mode"] == "aviation"]
    assert air.loc[air["phase"] == "lto", "lto_cycles"].gt(0).all()
    assert clients["enterprise"].get("/api/v1/inventory/transport").status_code == 403
    csv = clients["analyst"].get(
        "/api/v1/inventory/transport", params={"year": year, "format": "csv", "lang": "zh"}
    )
    assert csv.status_code == 200 and "交通方式" in csv.text and "起降循环数" in csv.text


def test_tables_speak_the_page_language(clients):
    """Codes, units and tiers of the reconciliation, indicator, sink and balance tables are said
    in the page's language (issue 19, "One language per page")."""
    import re

    zh = clients["analyst"].get("/inventory", params={"lang": "zh"}).text
    table = re.search(r'id="reconciliation-table".*?</table>', zh, re.S).group(0)
    assert "制造业" in table and "城镇" in table and ">residential_urban<" not in table
    indicators = re.search(r'id="indicator-table".*?</table>', zh, re.S).group(0)
    assert (
        "吨CO2当量/人" in indicators and "%（较" in indicators and "tCO2e/person" not in indicators
    )
    sinks = re.search(r'id="sinks-table".*?</table>', zh, re.S).group(0)
    assert "方法1" in sinks and "Tier" not in sinks
    en = clients["analyst"].get("/inventory", params={"lang": "en", "district": "350211"}).text
    assert "Outside any park" in en and "不属于任何园区" not in en
    balance = re.search(r'id="balance-tce".*?</thead>', en, re.S).group(0)
    assert "total (tce)" in balance and "合计" not in balance and "electricity (tce)" in balance


def test_airport_and_port_report_as_entities_in_both_languages(clients, web_home):
    """Each facility of city_transport has its own table on 清单 (zh and en) and download: its
    rows by mode, trip, phase and fuel add up to its share of the mode table, international
    trips memo rows outside its counted total."""
    from citycarbon.contract.results import CITY_TRANSPORT

    ct = results.current(CITY_TRANSPORT, lake=web_home / "lake")
    year = int(ct["year"].max())
    this = ct[ct["year"] == year]
    airport, port = "XMN 厦门高崎国际机场", "厦门港"
    for lang, words in (
        ("zh", ["机场、港口作为报告主体", "港作船舶及港内作业", "沿海及内河航运", "煤油"]),
        ("en", ["Airports and ports as reporting entities", "Harbour craft", "kerosene"]),
    ):
        page = clients["analyst"].get("/inventory", params={"year": year, "lang": lang}).text
        assert 'id="transport-facilities"' in page
        for name in (airport, port):
            assert f'data-facility="{name}"' in page, (lang, name)
        for w in words:
            assert w in page, (lang, w)
    api = clients["analyst"].get(
        "/api/v1/inventory/transport/facilities", params={"year": year, "limit": 500}
    )
    rows = pd.DataFrame(api.json()["items"])
    assert set(rows["facility"]) == {airport, port}
    for name, mode in ((airport, "aviation"), (port, "navigation")):
        mine = this[this["facility"] == name]
        got = rows[rows["facility"] == name]
        assert set(got["mode"]) == {mode}
        for memo in (False, True):
            assert got.loc[got["memo"] == memo, "emissions_tco2e"].sum() == pytest.approx(
                mine.loc[mine["memo"] == memo, "emissions_tco2e"].sum()
            )
        assert (got["memo"] == (got["trip"] == "international")).all()
    # the demo names a facility for all its aviation and navigation fuel: the entities' sums
    # are the mode totals
    mode_rows = pd.DataFrame(
        clients["analyst"]
        .get("/api/v1/inventory/transport", params={"year": year, "limit": 500})
        .json()["items"]
    )
    sums = rows.groupby(["mode", "memo"])["emissions_tco2e"].sum()
    modes = mode_rows[mode_rows["mode"].isin(["aviation", "navigation"])]
    assert sums.to_dict() == pytest.approx(
        modes.groupby(["mode", "memo"])["emissions_tco2e"].sum().to_dict()
    )
    air = rows[rows["facility"] == airport]
    assert set(air["phase"]) == {"lto", "cruise"}
    assert set(rows.loc[rows["facility"] == port, "navigation_type"]) == {
        "harbour",
        "coastal",
        "international",
    }
    one = clients["analyst"].get(
        "/api/v1/inventory/transport/facilities",
        params={"year": year, "facility": port, "limit": 500},
    )
    assert set(pd.DataFrame(one.json()["items"])["facility"]) == {port}
    missing = clients["analyst"].get(
        "/api/v1/inventory/transport/facilities", params={"year": year, "facility": "no such"}
    )
    assert missing.status_code == 404
    assert clients["enterprise"].get("/api/v1/inventory/transport/facilities").status_code == 403
    for lang, labels in (
        ("zh", ["设施（机场或港口）", "航运类型", "能源品种", "港作船舶及港内作业"]),
        ("en", ["Facility (airport or port)", "Kind of navigation", "Fuel", "coastal and inland"]),
    ):
        csv = clients["analyst"].get(
            "/api/v1/inventory/transport/facilities",
            params={"year": year, "facility": port, "format": "csv", "lang": lang},
        )
        assert csv.status_code == 200
        for label in labels:
            assert label in csv.text, (lang, label)
