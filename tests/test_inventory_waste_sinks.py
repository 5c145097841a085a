"""Waste and sinks in the small demo city's inventory: totals, GPC, uncertainty, net emissions,
and the 清单 page section (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest

from citycarbon.contract.records import record_text
from tests import web_fixtures
from tests.web_fixtures import sign_in

app, web_home = web_fixtures.app, web_fixtures.web_home  # shared fixtures


def test_waste_rows_in_inventory_gpc_and_uncertainty(demo_inventory):
    ci = demo_inventory["city_inventory"]
    city = ci[(ci["level"] == "city") & ci["month"].isna() & (ci["basis"] == "territorial")]
    waste = city[city["sector"].str.startswith("4")]
    # every category and gas estimated in the demo, none reported as the aggregate "4"
    assert set(waste["sector"]) == {"4.A", "4.B", "4.C", "4.D"}
    assert (waste["notation_key"] == "").all() and (waste["emissions_tco2e"] > 0).all()
    assert (
        waste["method"].map(lambda m: record_text(m, "en")).str.contains("IPCC 2006 Vol. 5").all()
    )
    assert (
        waste["method"].map(lambda m: record_text(m, "zh")).str.contains("IPCC 2006 第 5 卷").all()
    )
    total = city.groupby("year")["emissions_tco2e"].sum()
    gpc = demo_inventory["gpc_inventory"]
    gpc_waste = gpc[gpc["gpc_ref"].str.startswith("III")].groupby("year")["emissions_tco2e"].sum()
    np.testing.assert_allclose(
        gpc_waste.reindex(total.index), waste.groupby("year")["emissions_tco2e"].sum(), rtol=1e-12
    )
    unc = demo_inventory["inventory_uncertainty"]
    a1 = unc[(unc["approach"] == 1) & (unc["basis"] == "territorial")].set_index("year")
    np.testing.assert_allclose(a1["total_tco2e"].reindex(total.index), total, rtol=1e-9)


def test_net_emissions_count_removals_once_and_memo_never(demo_inventory):
    ind = demo_inventory["city_indicators"]
    ind = ind[ind["period_type"] == "year"].set_index(["indicator", "year"])["value"]
    sinks = demo_inventory["city_sinks"]
    assert (sinks["co2_t"] < 0).all()  # the demo's sinks all grow
    counted = sinks[sinks["sector"] != "memo"].groupby("year")["co2_t"].sum()
    assert (sinks["sector"] == "memo").any()
    ci = demo_inventory["city_inventory"]
    assert not ci["sector"].str.startswith("3.B").any()  # no removal among the emission rows
    gpc = demo_inventory["gpc_inventory"]
    land = gpc[gpc["gpc_ref"].str.startswith("V.2")].groupby("year")["emissions_tco2e"].sum()
    np.testing.assert_allclose(land.reindex(counted.index), counted, rtol=1e-12)
    for y in counted.index:
        for suffix in ("", "_territorial"):
            gross = ind[(f"total_ghg_tco2e{suffix}", y)]
            assert ind[(f"removals_tco2e{suffix}", y)] == pytest.approx(counted[y])
            assert ind[(f"net_ghg_tco2e{suffix}", y)] == pytest.approx(gross + counted[y])


def test_inventory_page_shows_sinks_section(app):
    client = sign_in(app, "analyst")
    zh = client.get("/inventory").text
    en = client.get("/inventory", params={"lang": "en"}).text
    assert 'id="sinks"' in zh and "碳汇与净排放" in zh and "备忘项" in zh
    assert "Carbon sinks and net emissions" in en and "碳汇与净排放" not in en


def test_waste_disposal_ingest_checks_rows(tmp_path, monkeypatch):
    """Chinese headers are recognised; an unknown treatment and a negative quantity are
    quarantined naming the file's column; the accepted rows reach the lake."""
    from citycarbon.ingest.loader import ingest
    from citycarbon.store import catalog, lake

    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    f = tmp_path / "waste.csv"
    f.write_text(
        "行政区划代码,年份,处理方式,垃圾组分,处理量\n"
        "350200,2020,landfill_managed_anaerobic,food,1000\n"
        "350200,2020,incineration,plastics,500\n"
        "350200,2020,burying,food,10\n"
        "350200,2021,composting,food,-5\n",
        encoding="utf-8",
    )
    try:
        r = ingest("waste_disposal", f)
        assert (r.rows_accepted, r.rows_quarantined) == (2, 2)
        assert {"处理方式", "处理量"} <= set(r.problems["column"])  # the file's own headers
        got = lake.read_current("waste_disposal")
        assert sorted(got["treatment"]) == ["incineration", "landfill_managed_anaerobic"]
    finally:
        catalog.dispose_engines()
