"""Enterprise carbon account: hand-checked against the IPCC 2006 defaults and MEE grid factor."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.accounting.enterprise import (
    account_lines,
    account_summary,
    activity_emissions,
    process_lines,
)
from citycarbon.errors import InputError
from citycarbon.factors import FactorProfile, load_factor_set

SCOPE2 = pd.DataFrame(
    [
        # MEE 环办气候函〔2023〕43号: national grid average 2022, 0.5703 tCO2/MWh
        {
            "parameter": "grid_ef",
            "key": "national",
            "year": 2022,
            "value": 0.5703,
            "unit": "tCO2/MWh",
            "source": "MEE 环办气候函〔2023〕43号",
            "clause": "2022 national average",
        },
        # MEE/NBS 2022 announcement (2024-12-20): national factor excluding market-traded
        # non-fossil electricity, 0.5856 tCO2/MWh: the residual of market-based scope 2
        {
            "parameter": "grid_ef",
            "key": "national",
            "context": "excluding_market_nonfossil",
            "year": 2022,
            "value": 0.5856,
            "unit": "tCO2/MWh",
            "source": "生态环境部、国家统计局 关于发布2022年电力二氧化碳排放因子的公告",
            "clause": "全国电力平均二氧化碳排放因子（不包括市场化交易的非化石能源电量）",
        },
        # 核算指南 default for purchased heat, 0.11 tCO2/GJ
        {
            "parameter": "heat_ef",
            "key": "heat",
            "year": 2015,
            "value": 0.11,
            "unit": "tCO2/GJ",
            "source": "工业其他行业企业温室气体排放核算方法与报告指南",
            "clause": "热力供应排放因子缺省值 (0.11 tCO2/GJ)",
        },
    ]
)
PROFILE = FactorProfile(
    [load_factor_set("ipcc-2006-energy"), load_factor_set("ipcc-ar5-gwp100")], SCOPE2, name="t"
)

ENERGY = pd.DataFrame(
    {
        "enterprise_code": ["A", "A", "A", "B"],
        "fuel": ["LNG", "电力", "热力", "柴油"],
        "quantity": [10, 100, 500, 20],
        "unit": ["t", "万千瓦时", "GJ", "t"],
        "feedstock_quantity": [2, 0, 0, 0],
    }
)


def test_account_hand_checked():
    lines = account_lines(ENERGY, PROFILE, year=2023)
    s = account_summary(
        lines,
        PROFILE,
        year=2023,
        green=pd.DataFrame({"enterprise_code": ["A"], "mwh": [300.0]}),
        output=pd.DataFrame(
            {"enterprise_code": ["A", "B"], "output_value_10k_cny": [1000.0, 50.0]}
        ),
    )
    # A burns 10 - 2 (feedstock) = 8 t LNG: IPCC 2006 Vol.2 Table 1.2 NCV 48.0 TJ/Gg and
    # Table 1.4 CO2 EF 56,100 kg/TJ -> 8 x 0.048 TJ x 56.1 t/TJ = 21.5424 t CO2;
    # Table 2.3 (manufacturing) CH4 1 kg/TJ, N2O 0.1 kg/TJ; AR5 GWP 28 and 265.
    co2_a = 8 * 0.048 * 56.1
    ch4_a, n2o_a = 0.384 * 1e-3, 0.384 * 0.1e-3
    assert s.at["A", "co2_t"] - (100 * 10 * 0.5703 + 500 * 0.11) == pytest.approx(co2_a)
    assert s.at["A", "scope1_tco2e"] == pytest.approx(co2_a + ch4_a * 28 + n2o_a * 265)
    # 100 万kWh = 1,000 MWh x 0.5703 = 570.3 t; 500 GJ x 0.11 = 55 t
    assert s.at["A", "scope2_location_tco2e"] == pytest.approx(625.3)
    # market-based: 300 MWh green, 700 MWh at the residual factor (not the grid average):
    # 700 x 0.5856 = 409.92, + 55 t of heat
    assert s.at["A", "scope2_market_tco2e"] == pytest.approx(464.92)
    assert s.at["A", "tco2e_per_10k_cny"] == pytest.approx(s.at["A", "total_tco2e"] / 1000)
    # B: 20 t diesel, NCV 43.0 TJ/Gg, 74,100 kg/TJ -> 63.726 t CO2
    assert s.at["B", "co2_t"] == pytest.approx(20 * 0.043 * 74.1)
    assert set(lines["category"]) == {"fuel_combustion", "purchased_electricity", "purchased_heat"}
    assert (lines["factor_profile"] == PROFILE.version).all()


def test_feedstock_cannot_exceed_consumption():
    bad = ENERGY.assign(feedstock_quantity=[20, 0, 0, 0])
    with pytest.raises(InputError, match="feedstock_quantity") as err:
        account_lines(bad, PROFILE, year=2023)
    assert err.value.row == 0


def test_unknown_fuel_names_row_and_suggests():
    bad = ENERGY.assign(fuel=["LNG", "电力", "热力", "柴由"])
    with pytest.raises(InputError, match="柴由") as err:
        activity_emissions(bad, PROFILE, year=2023)
    assert err.value.row == 3 and any("diesel" in s for s in err.value.suggestions)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["diesel", "lng", "electricity", "heat", "lpg"]), st.floats(0, 1e6)
        ),
        min_size=1,
        max_size=12,
    ),
    st.floats(0.01, 100),
)
def test_parts_sum_and_linear(rows, k):
    units_of = {"electricity": "MWh", "heat": "GJ"}
    df = pd.DataFrame(
        {
            "enterprise_code": "E",
            "fuel": [r[0] for r in rows],
            "quantity": [r[1] for r in rows],
            "unit": [units_of.get(r[0], "t") for r in rows],
        }
    )
    lines = account_lines(df, PROFILE, year=2023)
    s = account_summary(lines, PROFILE, year=2023)
    total = lines["co2e_t"].sum()
    assert s["total_tco2e"].sum() == pytest.approx(total, rel=1e-9, abs=1e-9)
    assert (s["scope1_tco2e"] + s["scope2_location_tco2e"]).sum() == pytest.approx(
        total, rel=1e-9, abs=1e-9
    )
    scaled = account_lines(df.assign(quantity=df["quantity"] * k), PROFILE, year=2023)
    assert scaled["co2e_t"].sum() == pytest.approx(total * k, rel=1e-9, abs=1e-9)


def test_process_lines_in_account():
    profile = FactorProfile(
        [load_factor_set("ipcc-2006-ippu"), load_factor_set("ipcc-ar5-gwp100")], SCOPE2, name="t"
    )
    process = pd.DataFrame(
        {
            "enterprise_code": ["X", "Y"],
            "process": ["clinker", "electronics_tier1"],
            "material": ["clinker", "NF3"],
            "quantity": [1000, 50000],
            "unit": ["t", "m2"],
            "product": ["", "tft_fpd"],
        },
        index=[7, 9],
    )
    lines = process_lines(process, profile)
    s = account_summary(lines, profile, year=2023)
    # IPCC 2006 Vol.3 eq. 2.2 with eq. 2.4: 1,000 t clinker x 0.51 x CKD 1.02 = 520.2 t CO2
    assert s.at["X", "scope1_tco2e"] == pytest.approx(520.2)
    # Tier 1 (eq. 6.1): NF3 for TFT-FPD from the set's Table 6.2 value x 50,000 m2, AR5 GWP 16,100
    nf3 = lines.loc[lines["gas"] == "NF3", "mass_t"].iloc[0]
    ef = profile.lookup("fgas_ef", "NF3", "t/m2", context="tft_fpd")
    assert nf3 == pytest.approx(50_000 * ef)
    assert s.at["Y", "scope1_tco2e"] == pytest.approx(nf3 * 16_100)
