"""电-碳-能 indicators: electricity share (当量/等价), carbon per kWh, robust z-scores, sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.errors import InputError
from citycarbon.power import indicators as ind

# GB/T 2589-2020, Annex A, Table A.1: electricity 0.1229 kgce/kWh (当量值).
CALORIFIC_TCE_PER_KWH = 0.1229e-3
# CEC 《中国电力行业年度发展报告2023》: 2022 coal rate 300.7 gce/kWh (等价值 basis of GB/T 2589-2020).
EQUIVALENT_TCE_PER_KWH_2022 = 0.3007e-3


def test_electricity_share_on_both_bases():
    # 1,000 tce in all, of which 1 GWh of electricity at 0.1229 kgce/kWh = 122.9 tce
    e_kwh, total = 1e6, 1000.0
    cal = ind.electricity_share_of_energy(
        e_kwh, total, CALORIFIC_TCE_PER_KWH, CALORIFIC_TCE_PER_KWH
    )
    assert cal == pytest.approx(0.1229)
    eq = ind.electricity_share_of_energy(
        e_kwh, total, CALORIFIC_TCE_PER_KWH, EQUIVALENT_TCE_PER_KWH_2022
    )
    # 300.7 / (1000 - 122.9 + 300.7)
    assert eq == pytest.approx(300.7 / 1177.8)


@settings(max_examples=60, deadline=None)
@given(e=st.floats(0, 1e9), other=st.floats(0, 1e6))
def test_electricity_share_is_a_share(e, other):
    total = other + e * CALORIFIC_TCE_PER_KWH
    for basis in (CALORIFIC_TCE_PER_KWH, EQUIVALENT_TCE_PER_KWH_2022):
        s = ind.electricity_share_of_energy(e, total, CALORIFIC_TCE_PER_KWH, basis)
        if total > 0:
            assert 0.0 <= s <= 1.0 + 1e-12
    # the primary-energy basis never gives electricity a smaller share
    if total > 0:
        assert (
            ind.electricity_share_of_energy(
                e, total, CALORIFIC_TCE_PER_KWH, EQUIVALENT_TCE_PER_KWH_2022
            )
            >= ind.electricity_share_of_energy(
                e, total, CALORIFIC_TCE_PER_KWH, CALORIFIC_TCE_PER_KWH
            )
            - 1e-12
        )


def test_carbon_per_kwh_and_per_output_value():
    assert ind.carbon_per_kwh_kg(570.3, 1e6) == pytest.approx(0.5703)
    assert np.isnan(ind.carbon_per_kwh_kg(1.0, 0.0))
    assert ind.per_output_value(50.0, 200.0) == pytest.approx(0.25)
    assert np.isnan(ind.per_output_value(50.0, np.nan))


def test_robust_zscore_hand_computed():
    # trailing window 10, 12, 11, 13, 9: median 11, MAD = median(1, 1, 0, 2, 2) = 1
    # σ = 1.4826 (Rousseeuw & Croux 1993); z(14) = 3 / 1.4826 = 2.0235
    f = pd.DataFrame({"k": "A", "t": range(6), "x": [10.0, 12, 11, 13, 9, 14]})
    z = ind.robust_zscore(f, key="k", time="t", value="x", window=5, min_periods=5)
    assert z.iloc[5] == pytest.approx(3 / 1.482602218505602)
    assert z.iloc[:5].isna().all()  # fewer than min_periods trailing values


def test_robust_zscore_keeps_series_apart_and_refuses_bad_windows():
    f = pd.DataFrame(
        {"k": ["A"] * 4 + ["B"] * 4, "t": list(range(4)) * 2, "x": [1.0, 2, 3, 100, 5, 6, 7, 8]}
    )
    z = ind.robust_zscore(f, key="k", time="t", value="x", window=3, min_periods=3)
    assert z.iloc[3] == pytest.approx((100 - 2) / 1.482602218505602)
    assert z.iloc[4:7].isna().all()  # B's first values see no A values
    with pytest.raises(InputError):
        ind.robust_zscore(f, key="k", time="t", value="x", window=3, min_periods=4)


def test_load_anomalies_flag_a_production_stop():
    days = pd.date_range("2024-01-01", periods=70, freq="D")
    kwh = np.full(70, 1000.0) * (1 + 0.01 * np.sin(np.arange(70)))
    kwh[60] = 200.0  # a sudden stop
    frame = pd.DataFrame({"enterprise_code": "E", "day": days, "kwh": kwh})
    a = ind.load_anomalies(frame)
    assert a["day"].tolist() == [days[60]]
    assert a["direction"].iloc[0] == "down"


def test_yoy_and_rank():
    f = pd.DataFrame(
        {
            "e": ["A", "A", "B", "B"],
            "year": [2023, 2024, 2023, 2024],
            "v": [100.0, 110.0, 50.0, 40.0],
        }
    )
    y = ind.yoy_change_pct(f, ["e"], "year", ["v"])
    assert y["v_yoy_pct"].tolist()[1] == pytest.approx(10.0)
    assert y["v_yoy_pct"].tolist()[3] == pytest.approx(-20.0)
    assert np.isnan(y["v_yoy_pct"].iloc[0])
    r = ind.rank_within(f["v"], f["year"])
    assert r.tolist() == [2.0, 2.0, 1.0, 1.0]


def test_indicator_tables_add_up_on_the_small_demo(demo_home):
    from citycarbon.runs import power as power_runs

    tables = power_runs.run_indicators(basis="equivalent", write=False)
    e, i = tables["enterprise"], tables["industry"]
    sums = e.groupby(["industry_code", "year"])[["energy_tce", "co2_t", "electricity_kwh"]].sum()
    mine = i.set_index(["industry_code", "year"])[["energy_tce", "co2_t", "electricity_kwh"]]
    np.testing.assert_allclose(mine.loc[sums.index].to_numpy(), sums.to_numpy(), rtol=1e-9)
    assert e["electricity_share"].between(0, 1).all()
    assert (e["rank_kgco2_per_kwh_in_industry"] <= e["industry_size"]).all()
    # output value exists only for key industrial enterprises in the demo (industrial_output)
    has_value = e["output_value_10k_cny"].notna()
    assert has_value.any() and e.loc[has_value, "tco2_per_10k_cny"].gt(0).all()
    assert set(tables["anomalies"].columns) >= {"enterprise_code", "day", "z", "direction"}
