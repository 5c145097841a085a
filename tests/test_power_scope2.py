"""Hourly nodal scope 2: hand-checked enterprises, the location/timing split, the demo chain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from citycarbon.cli import app
from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.power.scope2 import (
    annual_average_intensity_tco2_per_mwh,
    hourly_scope2_by_enterprise,
    node_intensity_long,
)

E = "intensity_tco2_per_mwh"
HOURS = pd.date_range("2024-03-01 00:00", periods=3, freq="h", tz="UTC")


def node_table() -> pd.DataFrame:
    # node A: 0.8, 0.4, 0.6 tCO2/MWh (mean 0.6); node B: 0.2 in every hour
    return pd.DataFrame(
        {
            "ts": list(HOURS) * 2,
            "node_id": ["A"] * 3 + ["B"] * 3,
            E: [0.8, 0.4, 0.6, 0.2, 0.2, 0.2],
        }
    )


METERS = pd.DataFrame(
    {
        "meter_id": ["m1", "m2", "m3"],
        "enterprise_code": ["X", "Y", "Y"],
        "grid_node_id": ["A", "A", "B"],
    }
)


def readings(m1=(1000, 3000, 2000), m2=(3000, 1000, 2000), m3=(1000, 1000, 1000)) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "meter_id": ["m1"] * 3 + ["m2"] * 3 + ["m3"] * 3,
            "ts": list(HOURS) * 3,
            "kwh": [*m1, *m2, *m3],
        }
    )


def test_two_enterprises_by_hand():
    """Annual factor 0.5 tCO2/MWh.

    X (meter m1 at A, 1/3/2 MWh): hourly 1*0.8 + 3*0.4 + 2*0.6 = 3.2 t; average 6*0.5 = 3.0 t;
      difference +0.2 t (+6.67 %) = location 6*(0.6-0.5) = +0.6 + timing 3.2 - 6*0.6 = -0.4.
      X draws most when A is cleanest: load and intensity correlate perfectly negatively (-1).
    Y (m2 at A 3/1/2 MWh, m3 at B 1/1/1 MWh): hourly (2.4+0.4+1.2) + 3*0.2 = 4.6 t; average
      9*0.5 = 4.5 t; difference +0.1 t (+2.22 %) = location 6*0.1 + 3*(0.2-0.5) = -0.3
      + timing (4.0 - 6*0.6) + (0.6 - 3*0.2) = +0.4.
    """
    out = hourly_scope2_by_enterprise(readings(), METERS, node_table(), 0.5).set_index(
        "enterprise_code"
    )
    assert list(out.index) == ["X", "Y"]  # sorted by |difference %|
    x, y = out.loc["X"], out.loc["Y"]
    assert x["hourly_co2_t"] == pytest.approx(3.2)
    assert x["average_co2_t"] == pytest.approx(3.0)
    assert x["difference_pct"] == pytest.approx(100 * 0.2 / 3.0)
    assert x["location_effect_co2_t"] == pytest.approx(0.6)
    assert x["timing_effect_co2_t"] == pytest.approx(-0.4)
    assert x["load_intensity_correlation"] == pytest.approx(-1.0)
    assert x["effective_intensity_tco2_per_mwh"] == pytest.approx(3.2 / 6)
    assert y["hourly_co2_t"] == pytest.approx(4.6)
    assert y["difference_co2_t"] == pytest.approx(0.1)
    assert y["location_effect_co2_t"] == pytest.approx(-0.3)
    assert y["timing_effect_co2_t"] == pytest.approx(0.4)
    assert (y["meters"], y["hours"], y["kwh"]) == (2, 3, 9000)
    # Y's hourly kWh (4, 2, 3 MWh) and its kWh-weighted intensity (2.6/4, 0.6/2, 1.4/3)
    expected = np.corrcoef([4, 2, 3], [2.6 / 4, 0.6 / 2, 1.4 / 3])[0, 1]
    assert y["load_intensity_correlation"] == pytest.approx(expected)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(0, 5000), min_size=9, max_size=9),
    st.lists(st.floats(0, 1.2), min_size=6, max_size=6),
    st.floats(0.01, 1.2),
)
def test_difference_is_location_plus_timing(kwh, intensity, annual):
    r = readings(kwh[:3], kwh[3:6], kwh[6:])
    nodes = node_table().assign(**{E: intensity})
    out = hourly_scope2_by_enterprise(r, METERS, nodes, annual)
    np.testing.assert_allclose(
        out["difference_co2_t"],
        out["location_effect_co2_t"] + out["timing_effect_co2_t"],
        atol=1e-9,
    )
    total = (r["kwh"].to_numpy() / 1000 * np.tile(intensity, 3)[[0, 1, 2, 0, 1, 2, 3, 4, 5]]).sum()
    assert out["hourly_co2_t"].sum() == pytest.approx(total, rel=1e-9, abs=1e-12)


def test_flat_intensity_equal_to_the_annual_factor_gives_no_difference():
    nodes = node_table().assign(**{E: 0.55})
    out = hourly_scope2_by_enterprise(readings(), METERS, nodes, 0.55)
    np.testing.assert_allclose(out["difference_co2_t"], 0.0, atol=1e-12)
    assert out["load_intensity_correlation"].isna().all()  # intensity constant: undefined


def test_bad_input_is_reported():
    with pytest.raises(UnknownCodeError, match="meter 'm9'"):
        hourly_scope2_by_enterprise(
            readings().replace({"meter_id": {"m3": "m9"}}), METERS, node_table(), 0.5
        )
    bad = readings()
    bad.loc[4, "kwh"] = -1.0
    with pytest.raises(InputError, match="kWh is negative") as err:
        hourly_scope2_by_enterprise(bad, METERS, node_table(), 0.5)
    assert err.value.field == "kwh"
    with pytest.raises(InputError, match=r"1 reading.*no carbon intensity.*node B"):
        hourly_scope2_by_enterprise(readings(), METERS, node_table().iloc[:-1], 0.5)
    no_node = METERS.assign(grid_node_id=["A", None, "B"])
    with pytest.raises(InputError, match="meter m2 has no grid node"):
        hourly_scope2_by_enterprise(readings(), no_node, node_table(), 0.5)


def test_node_intensity_long_and_annual_average():
    wide = pd.DataFrame({10: [0.1, 0.2], 11: [0.5, 0.7]}, index=HOURS[:2])
    long = node_intensity_long(wide, pd.DataFrame({"node_id": ["n1", "n2"], "bus": [11, 10]}))
    assert list(long[E]) == [0.5, 0.1, 0.7, 0.2]
    assert list(long["node_id"]) == ["n1", "n2", "n1", "n2"]
    with pytest.raises(UnknownCodeError, match="network bus 12"):
        node_intensity_long(wide, pd.DataFrame({"node_id": ["n1"], "bus": [12]}))
    # two loads, two hours: (1*0.5 + 3*0.7 + 2*0.1 + 2*0.2) / 8 = 3.2 / 8 = 0.4
    carbon = np.array([[0.5, 2.1], [0.2, 0.4]])
    energy = np.array([[1.0, 3.0], [2.0, 2.0]])
    assert annual_average_intensity_tco2_per_mwh(carbon, energy) == pytest.approx(0.4)


# --------------------------------------------------------------------------------------------
# the demo chain: demo city meters -> synthetic grid -> hourly DC carbon flow -> scope 2
# --------------------------------------------------------------------------------------------


def test_demo_city_hourly_scope2(demo_home):
    from citycarbon.runs.flow import demo_scope2
    from citycarbon.store import catalog

    res = demo_scope2(2024)
    ent = res.enterprises
    metered = set(catalog.registry_frame("meters")["enterprise_code"])
    assert set(ent["enterprise_code"]) <= metered and len(ent) > 0
    assert (ent["grid"] == "synthetic demo grid").all() and "SYNTHETIC" in res.label
    assert (ent["hours"] == 8784).all()  # 2024 is a leap year
    np.testing.assert_allclose(
        ent["difference_co2_t"], ent["location_effect_co2_t"] + ent["timing_effect_co2_t"]
    )
    # imports and the comparison factor are the city's declared scope-2 basis: grid_ef
    # national, published for 2023 (MEE/NBS 2023 announcement, table 1: 0.5306 tCO2/MWh), for
    # data year 2024; so the annual-average scope 2 is the inventory's location-based scope 2
    assert res.annual_factor_tco2_per_mwh == res.import_tco2_per_mwh == 0.5306
    np.testing.assert_allclose(ent["average_co2_t"], ent["kwh"] / 1000 * 0.5306, rtol=1e-12)
    np.testing.assert_allclose(res.flow.balance["residual_tco2_per_h"], 0.0, atol=1e-6)
    # for an enterprise on one node the timing effect is H x cov(kWh, intensity): same sign
    # as the correlation of its load shape with its node's intensity
    single = ent[(ent["meters"] == 1) & ent["load_intensity_correlation"].notna()]
    strong = single[single["timing_effect_co2_t"].abs() > 1e-6]
    assert (
        np.sign(strong["timing_effect_co2_t"]) == np.sign(strong["load_intensity_correlation"])
    ).all()
    e = res.node_intensity[E]
    assert e.notna().all() and (e >= 0).all() and (e <= 0.877 + 1e-9).all()


def test_cli_flow_case_and_errors(tmp_path, demo_home):
    runner = CliRunner()
    out = tmp_path / "n14.csv"
    r = runner.invoke(
        app,
        [
            "flow", "case", "--case", "case14", "--default-intensity", "0.392",
            "--import-intensity", "0.877", "--out", str(out),
        ],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "residual_tco2_per_h" in r.output
    nodal = pd.read_csv(out, encoding="utf-8-sig")
    assert len(nodal) == 14
    assert nodal[E].dropna().between(0.392, 0.877).all()
    r = runner.invoke(app, ["flow", "case", "--case", "case30"])
    assert r.exit_code == 1 and "--intensity" in r.output
    r = runner.invoke(app, ["flow", "case", "--case", "case15"])
    assert r.exit_code == 1 and "unknown" in r.output
    r = runner.invoke(app, ["flow", "scope2", "--year", "1999"])
    assert r.exit_code == 1 and "no meter readings for 1999" in r.output
