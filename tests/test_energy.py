"""Energy in GJ and standard coal (tce): single equations and the table-level function."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.accounting.energy import energy_consumption_tce, energy_gj, energy_tce
from citycarbon.errors import InputError, UnitError, UnknownCodeError
from citycarbon.factors import FactorProfile, load_factor_set

GB2589 = load_factor_set("cn-gbt2589-2020")
PROFILE = FactorProfile([GB2589], name="gbt2589")
GB_SRC = "GB/T 2589-2020, Annex A, Table A.1"


def primary_profile(kgce_per_kwh: float, year: int = 2023) -> FactorProfile:
    """The GB/T 2589 set under one override: electricity's 等价值 for ``year``, as a city enters
    the year's average generation coal rate from its statistics."""
    rows = pd.DataFrame(
        [
            {
                "parameter": "coal_equivalent_primary",
                "key": "electricity",
                "context": "",
                "year": year,
                "value": kgce_per_kwh,
                "unit": "kgce/kWh",
                "source": "test city statistics",
                "clause": "average coal rate of thermal generation",
                "note": "",
            }
        ]
    )
    return FactorProfile([GB2589], rows.astype(str), name="test")


def test_energy_gj_and_tce_equations():
    # GB/T 2589-2020 Table A.1: raw coal 20 908 kJ/kg, 0.7143 kgce/kg -> 1 t = 20.908 GJ, 0.7143 tce
    assert energy_gj(1.0, 20.908) == pytest.approx(20.908)
    assert energy_tce(1.0, 0.7143) == pytest.approx(0.7143)
    q = np.array([1.0, 2.0, 0.0])
    assert np.allclose(energy_tce(q, 0.7143), [0.7143, 1.4286, 0.0])


def test_raw_coal_electricity_natural_gas_and_heat_to_tce():
    # GB/T 2589-2020, Table A.1: 1 t raw coal = 0.7143 tce; 1 万kWh electricity (当量值,
    # 0.1229 kgce/kWh) = 1.229 tce; 1 万m3 natural gas at 1.3300 kgce/m3 = 13.3 tce;
    # 1 GJ heat at 0.03412 kgce/MJ = 0.03412 tce
    out = energy_consumption_tce(
        [1, 1, 1, 1],
        ["t", "万千瓦时", "万立方米", "GJ"],
        ["raw_coal", "electricity", "natural_gas", "heat"],
        PROFILE,
    )
    assert out.name == "energy_tce"
    assert out.to_numpy() == pytest.approx([0.7143, 1.229, 13.3, 0.03412])


def test_chinese_names_and_units_give_the_same_result():
    by_code = energy_consumption_tce([2.5], ["10^4 t"], ["raw_coal"], PROFILE)
    by_name = energy_consumption_tce([2.5], ["万吨"], ["原煤"], PROFILE)
    # 2.5 万吨 raw coal x 0.7143 = 17 857.5 tce (GB/T 2589-2020 Table A.1)
    assert by_name.iloc[0] == pytest.approx(by_code.iloc[0]) == pytest.approx(17857.5)


def test_keeps_the_index_and_broadcasts_scalars():
    q = pd.Series([10.0, 20.0], index=["row-a", "row-b"])
    out = energy_consumption_tce(q, "t", "diesel", PROFILE)
    assert list(out.index) == ["row-a", "row-b"]
    assert out.to_numpy() == pytest.approx([14.571, 29.142])  # diesel 1.4571 kgce/kg


def test_context_rows_do_not_leak_into_the_category_value():
    # other_gas has sub-types under contexts; the category value (发生炉煤气, 0.1786) is used
    out = energy_consumption_tce([1], ["10^4 m3"], ["other_gas"], PROFILE)
    assert out.iloc[0] == pytest.approx(1.786)


def test_equivalent_basis_uses_the_primary_coefficient_for_electricity_only():
    profile = primary_profile(0.3)
    args = ([1, 1], ["万千瓦时", "t"], ["electricity", "raw_coal"])
    cal = energy_consumption_tce(*args, profile)
    eq = energy_consumption_tce(*args, profile, basis="equivalent", year=2024)
    assert cal.to_numpy() == pytest.approx([1.229, 0.7143])
    assert eq.to_numpy() == pytest.approx([3.0, 0.7143])


def test_errors_name_the_row():
    with pytest.raises(UnknownCodeError, match=r"row 1.*'coal'.*raw_coal"):
        energy_consumption_tce([1, 2], ["t", "t"], ["raw_coal", "coal"], PROFILE)
    with pytest.raises(UnitError, match=r"row b.*raw_coal.*per mass"):
        energy_consumption_tce(
            pd.Series([1, 2], index=["a", "b"]), ["t", "m3"], ["raw_coal", "raw_coal"], PROFILE
        )
    with pytest.raises(InputError, match=r"row 1.*negative"):
        energy_consumption_tce([1, -2], "t", "coke", PROFILE)
    with pytest.raises(InputError, match=r"row 0.*not a number"):
        energy_consumption_tce(["lots"], "t", "coke", PROFILE)
    with pytest.raises(InputError, match=r"row 0.*not a number"):
        energy_consumption_tce([None], "t", "coke", PROFILE)
    with pytest.raises(UnitError, match="row 0"):
        energy_consumption_tce([1], "bushel", "coke", PROFILE)
    with pytest.raises(UnitError, match=r"row 0.*ghg"):
        energy_consumption_tce([1], "tCO2", "coke", PROFILE)


def test_fuel_without_coefficient_and_bad_options():
    with pytest.raises(UnknownCodeError, match=r"coal_equivalent.*naphtha"):
        energy_consumption_tce([1, 1], "t", ["coke", "naphtha"], PROFILE, source="205-1.xlsx")
    with pytest.raises(InputError, match="basis"):
        energy_consumption_tce([1], "t", "coke", PROFILE, basis="primary")
    with pytest.raises(InputError, match="needs a data year"):
        energy_consumption_tce([1], "MWh", "electricity", primary_profile(0.3), basis="equivalent")
    with pytest.raises(UnknownCodeError, match="coal_equivalent_primary"):  # not in GB/T 2589
        energy_consumption_tce([1], "MWh", "electricity", PROFILE, basis="equivalent", year=2023)
    with pytest.raises(InputError, match="unit has 2 rows"):
        energy_consumption_tce([1], ["t", "t"], "coke", PROFILE)


FUELS_UNITS = [
    ("raw_coal", "t"),
    ("coke", "kg"),
    ("natural_gas", "m3"),
    ("lng", "t"),
    ("electricity", "kWh"),
    ("heat", "GJ"),
    ("coke_oven_gas", "10^4 m3"),
    ("diesel", "t"),
]
quantities = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(FUELS_UNITS), quantities), min_size=1, max_size=12),
    st.floats(min_value=0, max_value=1e3, allow_nan=False),
)
def test_scales_linearly(rows, k):
    fuel = [f for (f, _), _ in rows]
    unit = [u for (_, u), _ in rows]
    q = np.array([x for _, x in rows])
    base = energy_consumption_tce(q, unit, fuel, PROFILE).to_numpy()
    scaled = energy_consumption_tce(q * k, unit, fuel, PROFILE).to_numpy()
    assert np.allclose(scaled, base * k, rtol=1e-12, atol=1e-9)
    # additive: the rows of one fuel and unit add up to their total quantity converted at once
    same = [i for i, r in enumerate(rows) if r[0] == rows[0][0]]
    parts = energy_consumption_tce(
        q[same], [unit[i] for i in same], [fuel[i] for i in same], PROFILE
    ).sum()
    assert parts == pytest.approx(
        energy_consumption_tce([q[same].sum()], [unit[0]], [fuel[0]], PROFILE).iloc[0],
        rel=1e-9,
        abs=1e-9,
    )


@settings(max_examples=60, deadline=None)
@given(
    quantities,
    st.sampled_from(
        [
            ("raw_coal", "万吨", "t", 1e4),
            ("natural_gas", "万立方米", "m3", 1e4),
            ("electricity", "万千瓦时", "kWh", 1e4),
            ("electricity", "MWh", "kWh", 1e3),
            ("heat", "百万千焦", "MJ", 1e3),
            ("lpg", "kg", "t", 1e-3),
        ]
    ),
)
def test_unit_round_trips_give_the_same_tce(q, case):
    fuel, big, small, ratio = case
    a = energy_consumption_tce([q], [big], [fuel], PROFILE).iloc[0]
    b = energy_consumption_tce([q * ratio], [small], [fuel], PROFILE).iloc[0]
    assert a == pytest.approx(b, rel=1e-12, abs=1e-12)


def test_fuel_without_published_coefficient_converts_from_its_ncv():
    # GB/T 2589-2020, 3.2: 1 kgce = 29 307.6 kJ, so the calorific (当量) coefficient of a fuel is
    # its NCV / 29.3076 GJ/tce. 型煤 (briquette) has no Annex A coefficient in the shipped set; its
    # NCV in the enterprise guides' default table is 17.460 GJ/t -> 0.59575 tce/t.
    from citycarbon.config import load_city

    profile = load_city().factor_profile("inventory")
    tce = energy_consumption_tce([100.0], ["t"], ["型煤"], profile)
    assert tce.iloc[0] == pytest.approx(100 * 17.460 / 29.3076)
    # a fuel with a published coefficient keeps it: raw coal 0.7143 kgce/kg (表A.1)
    both = energy_consumption_tce([100.0, 100.0], ["t", "t"], ["原煤", "型煤"], profile)
    assert both.tolist() == pytest.approx([71.43, 100 * 17.460 / 29.3076])
