import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from citycarbon.accounting.electricity import (
    electricity_co2_t,
    heat_co2_t,
    market_based_electricity_co2_t,
)


def test_location_based_with_mee_2022_factor():
    # MEE 《关于做好2023—2025年发电行业企业温室气体排放报告管理有关工作的通知》 (环办气候函〔2023〕43号):
    # national grid average factor for 2022 is 0.5703 tCO2/MWh, so 10,000 MWh purchased -> 5,703 t.
    assert electricity_co2_t(10_000, 0.5703) == pytest.approx(5_703.0)


def test_purchased_heat_with_guideline_default():
    # 核算指南 default heat factor 0.11 tCO2/GJ (e.g. GB/T 32150-2015 companion guides): 1,000 GJ -> 110 t.
    assert heat_co2_t(1_000, 0.11) == pytest.approx(110.0)


def test_market_based_hand_checked():
    # 1,000 MWh consumed, 400 MWh covered by green certificates (0 tCO2/MWh), the rest at 0.5703:
    # 600 x 0.5703 = 342.18 t. Certificates beyond consumption do not make emissions negative.
    assert market_based_electricity_co2_t(1_000, 400, 0.5703) == pytest.approx(342.18)
    assert market_based_electricity_co2_t(1_000, 1_500, 0.5703) == 0.0


@given(st.floats(0, 1e9), st.floats(0, 1e9), st.floats(0.0, 1.5), st.floats(0.0, 1.5))
def test_market_based_bounds(consumed, contracted, grid_ef, contract_ef):
    market = market_based_electricity_co2_t(
        consumed, contracted, grid_ef, min(contract_ef, grid_ef)
    )
    location = electricity_co2_t(consumed, grid_ef)
    assert 0 <= market <= location * (1 + 1e-12) + 1e-9


def test_vectorised():
    mwh = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(electricity_co2_t(mwh, 0.5), [0.5, 1.0, 1.5])
