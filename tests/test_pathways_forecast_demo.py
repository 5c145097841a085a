"""Baseline forecast backtest on the demo city's driver history (GDP at comparable prices).

The demo calibration (``demo/calibration/xiamen.yaml``) carries Xiamen's published real GDP growth
for 2015-2023 (bulletins, the Fujian statistical yearbook and the city's English site; 2015 derived
from the 2016 report's "比2015年提升0.7個百分點"). The generator chains it from the 2020 GDP
(6384 亿元), so ``city_statistics`` holds GDP at 2020 prices for 2014-2023 built only from cited
figures — long enough (>= 7 points) for a rolling-origin backtest (Tashman 2000).

Not covered: resident population. The published year-end figures found (3.86 / 3.92 / 4.01 /
4.11 / 4.29 million for 2015-2019, english.xm.gov.cn and xmenglish.cn) jump to the 2020 census
count (516.397 万); 2021 was not found, so no census-consistent >= 7-year series exists yet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from citycarbon.demo import build_city, load_calibration
from citycarbon.pathways.forecast import backtest

FIRST, LAST = 2014, 2023  # 2024 real growth is an assumption in the calibration: left out


@pytest.fixture(scope="module")
def gdp_comparable() -> pd.Series:
    city = build_city(enterprises=20, years=LAST - FIRST + 1, end_year=LAST)
    s = city.city_statistics
    rows = s[
        (s["region_code"] == "350200")
        & (s["indicator"] == "gdp")
        & (s["price_basis"] == "comparable_2020")
    ]
    return rows.set_index("year")["value"].sort_index()


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    return pd.DataFrame(load_calibration("xiamen")["published"]).set_index("id")


def test_demo_gdp_history_is_only_chained_cited_growth(gdp_comparable, published):
    # Every year-on-year change of the demo series is a cited real growth rate; 2020 is the
    # published current-price GDP (base year of comparable_2020).
    assert list(gdp_comparable.index) == list(range(FIRST, LAST + 1))
    assert gdp_comparable[2020] == pytest.approx(published.at["gdp_2020", "value"])
    growth = gdp_comparable.pct_change().dropna()
    cited = {y: published.at[f"gdp_real_growth_{y}", "value"] for y in growth.index}
    for y, g in growth.items():
        assert g == pytest.approx(cited[y], rel=1e-6), y  # values are stored rounded
        row = published.loc[f"gdp_real_growth_{y}"]
        assert row["kind"] in ("published", "derived") and row["source"] and row["where"]


@pytest.mark.parametrize("method", ["holt_damped", "arima"])
def test_backtest_on_demo_gdp_history_beats_no_change(gdp_comparable, method):
    table, summary = backtest(gdp_comparable, horizon=3, method=method)
    # origins 2019..2022 after the 6-year minimum training window: 3 + 3 + 2 + 1 forecasts
    assert summary["n_forecasts"] == 9
    assert list(table["origin"].unique()) == [2019, 2020, 2021, 2022]
    # Relative accuracy (Tashman 2000, section 5): better than the no-change forecast from the
    # same origins on the same targets.
    naive = gdp_comparable.loc[table["origin"]].to_numpy()
    naive_mape = float(np.mean(np.abs(naive / table["actual"].to_numpy() - 1)))
    print(
        f"\n{method}: Xiamen GDP (2020 prices) {FIRST}-{LAST}, horizon 3: "
        f"MAPE {summary['mape']:.2%}, bias {summary['bias']:+.2%}, "
        f"no-change MAPE {naive_mape:.2%}"
    )
    assert np.isfinite(summary["mape"]) and summary["mape"] < naive_mape


def test_backtest_uses_only_the_history_before_each_origin(gdp_comparable):
    # Changing the values after 2019 leaves the forecasts made at the 2019 origin unchanged.
    table, _ = backtest(gdp_comparable, horizon=3)
    shocked = gdp_comparable.copy()
    shocked.loc[2020:] *= 0.8
    again, _ = backtest(shocked, horizon=3)
    first = table["origin"] == 2019
    assert again.loc[first, "forecast"].to_numpy() == pytest.approx(
        table.loc[first, "forecast"].to_numpy(), rel=1e-12
    )
