"""电碳监测 page and ``/api/v1/power``: pages render for an analyst, API rows are the lake's
results, scoped users see only their own rows; the map colours grid nodes with the persisted
nodal intensities; ingesting through the CLI re-runs the nowcast and the targets."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from citycarbon.contract.results import result as declared
from citycarbon.read import access
from citycarbon.store import catalog, results
from tests import web_fixtures
from tests.web_fixtures import sign_in

app, web_home = web_fixtures.app, web_fixtures.web_home  # shared fixtures


def _runs(home, name) -> list[str]:
    return results.runs(declared(name), lake=home / "lake")


def _lake(home, name) -> pd.DataFrame:
    return results.current(declared(name), lake=home / "lake")


def _all(client, path, **params) -> list[dict]:
    params = {"limit": 1000, **params}
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    assert body["total"] <= 1000, "test expects one page"
    return body["items"]


@pytest.fixture(scope="module")
def clients(app):
    return {u: sign_in(app, u) for u in ("analyst", "siming", "park", "enterprise")}


def test_pages_render_for_an_analyst(clients, web_home):
    c = clients["analyst"]
    for level in ("city", "district", "park", "industry", "enterprise"):
        r = c.get("/power", params={"level": level})
        assert r.status_code == 200
        assert 'id="chart-nowcast"' in r.text and 'id="backtest-table"' in r.text
    assert 'id="scope2-table"' in r.text and "/api/v1/power/scope2?format=csv" in r.text
    overview = c.get("/").text
    assert 'id="nowcast-panel"' in overview and 'href="/power"' in overview
    key = _lake(web_home, "hourly_scope2")["enterprise_code"].iat[0]
    page = c.get(f"/enterprises/{key}").text
    assert 'id="power-panel"' in page and 'id="power-indicators"' in page
    assert 'id="power-scope2"' in page


def test_api_rows_are_the_lake_results(clients, web_home):
    c = clients["analyst"]
    lake = _lake(web_home, "nowcast")
    city = lake[(lake["frequency"] == "month") & (lake["level"] == "city")]
    got = _all(c, "/api/v1/power/nowcast", level="city")
    assert [round(r["estimate_tco2"], 6) for r in got] == [
        round(v, 6) for v in city["estimate_tco2"]
    ]
    assert {r["run_id"] for r in got} == {lake["run_id"].iat[0]}
    s2 = _lake(web_home, "hourly_scope2")
    api = pd.DataFrame(_all(c, "/api/v1/power/scope2")).set_index("enterprise_code")
    assert len(api) == len(s2)
    lake_s2 = s2.set_index("enterprise_code")["difference_co2_t"]
    assert api["difference_co2_t"].to_numpy() == pytest.approx(
        lake_s2.reindex(api.index).to_numpy()
    )
    bt = pd.DataFrame(_all(c, "/api/v1/power/backtest")).set_index("level")
    errors = _lake(web_home, "nowcast_backtest")
    naive = errors[errors["evaluated_model"] == "naive"]
    assert set(bt.index) == set(errors["level"])
    assert (bt["mape_naive"] > 0).all() and bt["mape_naive"].max() <= naive["ape_pct"].max()
    hist = _all(c, "/api/v1/power/nowcast/history", level="city", entity=city["entity"].iat[0])
    assert len({r["run_id"] for r in hist}) == len(_runs(web_home, "nowcast"))
    csv = c.get("/api/v1/power/anomalies", params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    xlsx = c.get("/api/v1/power/indicators", params={"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_district_manager_sees_only_their_district(clients, web_home):
    c = clients["siming"]
    me = catalog.registry_frame("enterprises").set_index("credit_code")
    user_scope = c.get("/api/v1/me").json()["scope_code"]
    own = set(me.index[me["district_code"] == user_scope])
    rows = pd.DataFrame(_all(c, "/api/v1/power/nowcast"))
    assert set(rows["level"]) <= {"district", "park", "enterprise"}
    assert set(rows.loc[rows["level"] == "district", "entity"]) == {user_scope}
    parks = catalog.registry_frame("parks").set_index("code")
    in_district = set(parks.index[parks["district_code"] == user_scope])
    assert set(rows.loc[rows["level"] == "park", "entity"]) <= in_district
    assert set(rows.loc[rows["level"] == "enterprise", "entity"]) <= own
    other = next(d for d in me["district_code"].unique() if d != user_scope)
    assert _all(c, "/api/v1/power/nowcast/history", level="district", entity=other) == []
    assert _all(c, "/api/v1/power/nowcast/history", level="city", entity="350200") == []
    for path in ("scope2", "anomalies", "indicators"):
        got = {r["enterprise_code"] for r in _all(c, f"/api/v1/power/{path}")}
        assert got <= own, path
        assert got or path == "anomalies", path  # the small demo may have no anomaly there
    assert c.get("/power", params={"level": "city"}).status_code == 200


def test_enterprise_user_sees_only_their_enterprise(clients):
    c = clients["enterprise"]
    code = c.get("/api/v1/me").json()["scope_code"]
    rows = _all(c, "/api/v1/power/nowcast")
    assert all(r["level"] == "enterprise" and r["entity"] == code for r in rows)
    for path in ("scope2", "anomalies", "indicators", "meter-quality"):
        assert {r["enterprise_code"] for r in _all(c, f"/api/v1/power/{path}")} <= {code}
    assert _all(c, "/api/v1/power/backtest") == [] or all(
        r["level"] == "enterprise" for r in _all(c, "/api/v1/power/backtest")
    )


def test_map_colours_nodes_with_nodal_intensities(demo_home):
    from citycarbon.config import load_city
    from citycarbon.config.settings import get_settings
    from citycarbon.runs import map_layers as ml

    nodal = _lake(demo_home, "grid_node_intensity").set_index(["node_id", "period"])
    data = ml.build_map_data(load_city(), settings=get_settings())
    year = int(nodal["year"].max())
    for text in (str(year), f"{year}-06"):
        points = ml.node_points(data, ml.parse_period(text))
        lit = [p for p in points if (p["node_id"], text) in nodal.index]
        assert lit, "no node with a nodal intensity"
        for p in lit:
            assert p["intensity_basis"].startswith("nodal")
            want = nodal.loc[(p["node_id"], text), "intensity_tco2_per_mwh"]
            assert p["intensity_tco2_per_mwh"] == pytest.approx(want)
            if p["electricity_mwh"] is not None:
                assert p["electricity_co2_t"] == pytest.approx(p["electricity_mwh"] * want)
        assert len({round(p["intensity_tco2_per_mwh"], 6) for p in lit}) > 1
    earlier = ml.node_points(data, ml.parse_period(str(year - 1)))
    assert {p["intensity_basis"] for p in earlier} == {"grid average (location-based)"}


def test_cli_ingest_reruns_the_nowcast_and_targets(small_demo_dir, tmp_path, monkeypatch):
    from citycarbon.cli import app as cli

    home = tmp_path / "h"
    shutil.copytree(small_demo_dir, home)
    monkeypatch.setenv("CITYCARBON_HOME", str(home))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    access.invalidate()
    energy = pd.read_parquet(home / "demo-input" / "energy_monthly.parquet")
    last = energy[(energy["period"] == energy["period"].max()) & (energy["fuel"] == "electricity")]
    fix = last.head(3).copy()
    qty = [c for c in fix.columns if c.startswith(("consumed", "purchase", "opening", "closing"))]
    fix[qty] = fix[qty] * 1.1  # a correction of three returns
    path = tmp_path / "correction.csv"
    fix.to_csv(path, index=False)
    before = {n: len(_runs(home, n)) for n in ("nowcast", "target_status")}
    r = CliRunner().invoke(cli, ["ingest", "energy_monthly", str(path)])
    assert r.exit_code == 0, r.output
    assert "quarantined" not in r.output or " 0 " in r.output
    assert "failed" not in r.output
    after = {n: len(_runs(home, n)) for n in ("nowcast", "target_status")}
    assert after == {n: v + 1 for n, v in before.items()}
    vintages = _runs(home, "nowcast")
    assert len(set(vintages)) == len(vintages)  # earlier vintages kept
    access.invalidate()


def test_persisted_scope2_equals_the_flow_over_every_reading(demo_home):
    """Summing readings per (enterprise, node, hour) in DuckDB before the flow changes no number:
    the stored result equals the flow over every single reading of the year."""
    from citycarbon.config import load_city
    from citycarbon.power.demo_grid import demo_hourly_scope2
    from citycarbon.runs.flow import declared_basis, load_grid
    from citycarbon.store import catalog, lake

    stored = _lake(demo_home, "hourly_scope2").set_index("enterprise_code")
    year = int(stored["year"].iat[0])
    grid = load_grid()
    readings = lake.read_current(
        "meter_readings", {"year": year}, columns=["meter_id", "ts", "kwh"]
    )
    ef = float(declared_basis(year)["ef_tco2_per_mwh"])  # the inventory's scope-2 basis
    direct = demo_hourly_scope2(
        grid,
        readings,
        catalog.registry_frame("meters"),
        import_tco2_per_mwh=ef,
        timezone=load_city().timezone,
        annual_factor_tco2_per_mwh=ef,
    ).enterprises.set_index("enterprise_code")
    assert set(stored.index) == set(direct.index)
    for col in ("meters", "hourly_co2_t", "location_effect_co2_t", "timing_effect_co2_t"):
        np.testing.assert_allclose(
            stored[col].reindex(direct.index).to_numpy(float),
            direct[col].to_numpy(float),
            rtol=1e-9,
            atol=1e-9,
            err_msg=col,
        )


def test_city_wide_nowcast_shows_its_basis_and_the_inventory_backtest(clients, web_home):
    c = clients["analyst"]
    now = _lake(web_home, "nowcast")
    month = now[now["frequency"] == "month"]
    city = month[month["level"] == "city"].iloc[-1]
    r = c.get("/power", params={"lang": "zh"})  # the default level: the city-wide estimate
    assert r.status_code == 200
    basis = r.text.split('id="nowcast-basis"', 1)[1].split("</p>", 1)[0]
    share = f"{100 * city['inventory_share']:.1f}"
    assert "全口径估算" in basis and share in basis and str(int(city["inventory_year"])) in basis
    assert 'id="city-backtest-table"' in r.text
    # chosen explicitly (the level selector's value), with the in-year proxies it scaled with
    r = c.get("/power", params={"level": "city_wide", "entity": "350200", "lang": "zh"})
    assert r.status_code == 200
    basis = r.text.split('id="nowcast-basis"', 1)[1].split("</p>", 1)[0]
    assert (
        "月度全社会用电量" in basis and "汽油、柴油销售量" in basis and "报送企业同比增速" in basis
    )
    assert "Input should be" not in r.text
    # the reporters' sum says what it is, with its interval's nominal level and coverage
    r = c.get("/power", params={"level": "city", "lang": "en"})
    basis = r.text.split('id="nowcast-basis"', 1)[1].split("</p>", 1)[0]
    assert "205-1 reporters only" in basis and share in basis
    assert "nominal 90 %" in basis and f"{100 * city['interval_coverage']:.1f} %" in basis
    assert "Coverage, calibrated (out of sample)" in r.text
    c.get("/power", params={"lang": "zh"})
    # the backtests the page shows are the stored results
    lake = _lake(web_home, "nowcast_city_backtest").set_index(["year", "approach"])
    api = pd.DataFrame(_all(c, "/api/v1/power/city-backtest")).set_index(["year", "approach"])
    assert set(api.index) == set(lake.index)
    np.testing.assert_allclose(
        api["error_pct"], lake["error_pct"].reindex(api.index).to_numpy(), rtol=1e-9
    )
    bt = pd.DataFrame(_all(c, "/api/v1/power/backtest")).set_index("level")
    assert (bt["coverage_nominal"] == 0.9).all()
    assert bt["coverage_calibrated"].between(0.85, 1.0).all()


def test_scoped_users_get_no_city_wide_estimate(clients):
    from typing import get_args

    from citycarbon.read.power import LEVELS
    from citycarbon.web.routes.power import LevelName

    assert set(get_args(LevelName)) == set(LEVELS)  # every level the selector offers is accepted
    for user in ("siming", "enterprise"):
        c = clients[user]
        assert "city_wide" not in {r["level"] for r in _all(c, "/api/v1/power/nowcast")}
        r = c.get("/power", params={"level": "city_wide", "entity": "350200"})
        assert r.status_code in (200, 404) and "全口径估算" not in r.text  # own level instead
        assert _all(c, "/api/v1/power/city-backtest") == []
        assert 'id="city-backtest"' not in c.get("/power").text


def test_kwh_intensity_is_not_shown_for_power_producers():
    """A power plant (GB/T 4754-2017 D4411 火力发电) emits to generate what others consume:
    its CO2 per kWh of own use is shown as not applicable, with the reason on hover, unranked;
    a manufacturer (C2614) keeps its number."""
    from citycarbon.read.power import kwh_intensity_applies
    from citycarbon.web.app import templates
    from citycarbon.web.i18n import Translator

    codes = pd.Series(["D4411", "D4430", "C2614", None])
    assert kwh_intensity_applies(codes).tolist() == [False, False, True, True]
    row = {"year": 2024, "electricity_share": 0.01, "kgco2_per_kwh": 85.123,
           "tce_per_10k_cny": 1.0, "tco2_per_10k_cny": 2.0, "co2_t_yoy_pct": 1.0,
           "rank_kgco2_per_kwh_in_industry": 3, "industry_size": 4}  # fmt: skip
    part = templates.get_template("_power_enterprise.html")
    for lang, na in (("zh", "不适用"), ("en", "n/a")):
        html = part.render(t=Translator(lang), ind=[{**row, "kwh_intensity_applies": False}])
        cell = html.split('class="num kwh-intensity">', 1)[1].split("</td>", 1)[0]
        assert na in cell and "85.1" not in cell and 'title="' in cell
        assert "3 / 4" not in html
    html = part.render(t=Translator("zh"), ind=[{**row, "kwh_intensity_applies": True}])
    assert "85.123" in html and "3 / 4" in html


def test_a_park_manager_sees_the_park_nowcast(clients, web_home):
    """The park manager's overview panel and 电碳监测 page show the nowcast of the park (the
    sum of its enterprises' meters), not of one enterprise in it."""
    from citycarbon.store import users

    principal = access.Principal.of(users.get_user_by_name("park"))
    park = principal.scope_code
    reg = access.registry()
    name = str(reg.parks.at[park, "name_zh"])
    home = clients["park"].get("/", params={"lang": "zh"}).text
    panel = home.split('id="nowcast-panel">', 1)[1].split("</p>", 1)[0]
    assert name in panel
    page = clients["park"].get("/power", params={"lang": "zh"}).text
    assert '<option value="park" selected>' in page
    nc = _lake(web_home, "nowcast")
    ours = nc[(nc["level"] == "park") & (nc["entity"] == park)]
    assert len(ours) and set(nc.loc[nc["level"] == "park", "entity"]) <= set(reg.parks.index)
    # a park is the sum of its enterprises: its metered kWh of a month is theirs
    from citycarbon.runs import power as power_runs

    panel = power_runs.monthly_panel(power_runs.read_power_data())
    members = reg.enterprises.index[reg.enterprises["park_code"] == park]
    ents = panel[(panel["level"] == "enterprise") & panel["entity"].isin(members)]
    p = panel[(panel["level"] == "park") & (panel["entity"] == park)].set_index("period")
    key_sum = ents.groupby("period")["metered_kwh"].sum()
    assert (p["metered_kwh"].reindex(key_sum.index) >= key_sum - 1e-6).all()


def test_anomaly_days_are_grouped_and_synthetic_results_labelled(clients, web_home):
    """Repeated anomaly days of one enterprise are one episode (the small demo has runs of
    dozens of days); every anomalous day is in exactly one episode, and no two episodes of one
    enterprise and direction touch. Scope 2 from the synthetic demo grid says so beside the
    number."""
    from citycarbon.read import power as pw

    principal = access.Principal(None, "analyst", "city_analyst")
    days = _lake(web_home, "load_anomalies")
    ep = pw.anomaly_episodes(principal)
    assert int(ep["days"].sum()) == len(days) and len(ep) < len(days)
    for _, g in ep.groupby(["enterprise_code", "direction"]):
        g = g.sort_values("first_day")
        gaps = g["first_day"].iloc[1:].to_numpy() - g["last_day"].iloc[:-1].to_numpy()
        assert (gaps > np.timedelta64(1, "D")).all()
        span = (g["last_day"] - g["first_day"]).dt.days + 1
        assert (span >= g["days"]).all()
    html = clients["analyst"].get("/power", params={"lang": "zh"}).text
    assert f"{len(ep)} 段，共 {len(days)} 天" in html
    body = html.split('id="anomalies-table"', 1)[1].split("</table>", 1)[0]
    assert body.count("<tr data-enterprise=") == min(20, len(ep))
    s2 = _lake(web_home, "hourly_scope2")
    assert s2["grid"].str.startswith("synthetic").all()  # the demo's flow
    table = html.split('id="scope2-table"', 1)[1].split("</table>", 1)[0]
    assert table.count(">合成电网</span>") == min(20, len(s2))
