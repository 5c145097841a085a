"""STIRPAT ridge regression and baseline forecasts (statsmodels) with backtests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from citycarbon.errors import InputError
from citycarbon.pathways.forecast import backtest, forecast_series
from citycarbon.pathways.stirpat import stirpat_ridge


def _stirpat_data(n=40, seed=0, collinear=0.0):
    rng = np.random.default_rng(seed)
    lp = rng.normal(0, 0.2, n)
    la = collinear * lp + rng.normal(0, 0.3 * (1 - collinear) + 0.01, n)
    lt = rng.normal(0, 0.2, n)
    li = 1.0 + 1.1 * lp + 0.8 * la + 0.5 * lt + rng.normal(0, 0.02, n)
    return pd.DataFrame({"I": np.exp(li), "P": np.exp(lp), "A": np.exp(la), "T": np.exp(lt)})


def test_stirpat_recovers_elasticities_of_a_known_model():
    # York, Rosa & Dietz (2003) eq. 3: coefficients of the log model are elasticities.
    out = stirpat_ridge(_stirpat_data(), "I", ["P", "A", "T"], alpha=0.0, n_boot=500)
    assert out["elasticity"].to_numpy() == pytest.approx([1.1, 0.8, 0.5], abs=0.03)
    assert ((out["ci_low"] <= out["elasticity"]) & (out["elasticity"] <= out["ci_high"])).all()


def test_ridge_shrinks_collinear_drivers_and_is_reproducible():
    data = _stirpat_data(n=15, collinear=0.95, seed=3)
    ols = stirpat_ridge(data, "I", ["P", "A", "T"], alpha=0.0, n_boot=300, seed=1)
    ridge = stirpat_ridge(data, "I", ["P", "A", "T"], alpha=5.0, n_boot=300, seed=1)
    assert np.abs(ridge["elasticity"]).sum() < np.abs(ols["elasticity"]).sum()
    again = stirpat_ridge(data, "I", ["P", "A", "T"], alpha=5.0, n_boot=300, seed=1)
    pd.testing.assert_frame_equal(ridge, again)
    auto = stirpat_ridge(data, "I", ["P", "A", "T"], n_boot=100)
    assert auto["alpha"].iat[0] >= 0


def test_stirpat_refuses_non_positive_values():
    data = _stirpat_data()
    data.loc[3, "P"] = 0
    with pytest.raises(InputError, match="positive"):
        stirpat_ridge(data, "I", ["P", "A"])


def _growth_series(rate=0.05, n=14, noise=0.005, seed=2):
    rng = np.random.default_rng(seed)
    values = 100 * (1 + rate) ** np.arange(n) * np.exp(rng.normal(0, noise, n))
    return pd.Series(values, index=range(2010, 2010 + n))


@pytest.mark.parametrize("method", ["holt_damped", "arima"])
def test_forecast_continues_a_growth_series(method):
    s = _growth_series()
    fc = forecast_series(s, 3, method=method)
    assert fc["year"].tolist() == [2024, 2025, 2026]
    growth = fc["mean"].iat[0] / s.iat[-1] - 1
    assert 0.02 < growth < 0.08
    assert (fc["lower"] < fc["mean"]).all() and (fc["mean"] < fc["upper"]).all()


def test_backtest_of_a_smooth_series_is_accurate():
    table, summary = backtest(_growth_series(n=9), horizon=2)
    assert summary["n_forecasts"] == len(table) > 0
    assert summary["mape"] < 0.03


def test_short_or_gappy_series_are_refused():
    with pytest.raises(InputError, match="at least"):
        forecast_series(pd.Series([1.0, 2.0, 3.0], index=[2022, 2023, 2024]), 2)
    with pytest.raises(InputError, match="consecutive"):
        forecast_series(pd.Series([1.0] * 6, index=[2010, 2011, 2013, 2014, 2015, 2016]), 2)


def test_damped_trend_interval_matches_the_state_space_model():
    # Hyndman et al. (2008) Table 6.1 class-1 variance, checked against statsmodels' ETSModel
    # (an independent state-space implementation) at fixed parameters alpha, beta, phi.
    import warnings

    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    from citycarbon.pathways.forecast import _ets_aadn_halfwidth

    rng = np.random.default_rng(3)
    y = pd.Series(np.log(100 * 1.04 ** np.arange(15) * np.exp(rng.normal(0, 0.03, 15))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ETSModel(y, error="add", trend="add", damped_trend=True)
        res = model.smooth([0.6, 0.2, 0.9, 4.6, 0.04])  # alpha, beta, phi, l0, b0
        frame = res.get_prediction(start=15, end=19).summary_frame(alpha=0.1)
    expected = (frame["pi_upper"] - frame["mean"]).to_numpy()
    got = _ets_aadn_halfwidth(0.6, 0.2 / 0.6, 0.9, res.mse, 5, 0.9)
    np.testing.assert_allclose(got, expected, rtol=1e-8)
