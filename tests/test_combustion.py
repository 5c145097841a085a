import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.accounting.combustion import (
    METHOD_GUIDELINE,
    METHOD_TIER1,
    combustion_co2_t,
    combustion_co2_tier1_t,
    combustion_gas_t,
    fuel_combustion_emissions,
)
from citycarbon.errors import InputError, UnitError, UnknownCodeError
from citycarbon.factors import FactorProfile, fuels, load_factor_set

IPCC = load_factor_set("ipcc-2006-energy")
AR5 = load_factor_set("ipcc-ar5-gwp100")
AR6 = load_factor_set("ipcc-ar6-gwp100")
PROFILE = FactorProfile([IPCC, AR5], name="ipcc")

HELIYON = "Heliyon 9(11):e21241 (2023), doi:10.1016/j.heliyon.2023.e21241"
IPCC_V2_CH2 = "IPCC 2006 Guidelines, Vol. 2, Ch. 2"


def chinese_profile() -> FactorProfile:
    """A small guideline-method profile: Chinese default NCV / CC / OF as printed in Heliyon
    9(11):e21241, Table 2 (raw coal 20,908 kJ/kg, 26.4 kgC/GJ, 0.98; natural gas
    389.31 GJ/10^4 m3, 15.3 kgC/GJ, 0.99), CH4/N2O from IPCC 2006 Vol. 2 Table 2.3."""
    rows = [
        ("ncv", "raw_coal", "", 20.908, "GJ/t", HELIYON, "Table 2"),
        ("carbon_content", "raw_coal", "", 26.4, "kgC/GJ", HELIYON, "Table 2"),
        ("oxidation", "raw_coal", "", 0.98, "1", HELIYON, "Table 2"),
        ("ncv", "natural_gas", "", 389.31, "GJ/10^4 m3", HELIYON, "Table 2"),
        ("carbon_content", "natural_gas", "", 15.3, "kgC/GJ", HELIYON, "Table 2"),
        ("oxidation", "natural_gas", "", 0.99, "1", HELIYON, "Table 2"),
        ("ch4_ef", "other_bituminous_coal", "manufacturing", 10, "kg/TJ", IPCC_V2_CH2, "Table 2.3"),
        (
            "n2o_ef",
            "other_bituminous_coal",
            "manufacturing",
            1.5,
            "kg/TJ",
            IPCC_V2_CH2,
            "Table 2.3",
        ),
        ("ch4_ef", "natural_gas", "manufacturing", 1, "kg/TJ", IPCC_V2_CH2, "Table 2.3"),
        ("n2o_ef", "natural_gas", "manufacturing", 0.1, "kg/TJ", IPCC_V2_CH2, "Table 2.3"),
    ]
    df = pd.DataFrame(
        rows, columns=["parameter", "key", "context", "value", "unit", "source", "clause"]
    ).assign(year=2023)
    return FactorProfile([AR5], df, name="cn-test")


def activity(*rows, **extra) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["fuel", "quantity", "unit"]).assign(**extra)


# --- single equations ---------------------------------------------------------------------------


def test_guideline_equation_reproduces_published_chinese_factors():
    # Heliyon 9(11):e21241, Table 2 (carbon emission factor tC/unit, CO2 factor tCO2/unit):
    # raw coal 20,908 kJ/kg x 26.4 kgC/GJ x 0.98 -> 0.54 tC/t, 2.0 tCO2/t
    assert combustion_co2_t(1, 20.908, 26.4, 0.98) == pytest.approx(2.0, abs=0.05)
    assert combustion_co2_t(1, 20.908, 26.4, 0.98) * 12 / 44 == pytest.approx(0.54, abs=0.005)
    # coke 28,435 kJ/kg x 29.5 x 0.93 -> 0.78 tC/t, 2.9 tCO2/t
    assert combustion_co2_t(1, 28.435, 29.5, 0.93) == pytest.approx(2.9, abs=0.05)
    assert combustion_co2_t(1, 28.435, 29.5, 0.93) * 12 / 44 == pytest.approx(0.78, abs=0.005)
    # diesel 42,653 kJ/kg x 20.3 x 0.98 -> 0.85 tC/t, 3.1 tCO2/t
    assert combustion_co2_t(1, 42.653, 20.3, 0.98) == pytest.approx(3.1, abs=0.05)
    # natural gas 389.31 GJ/10^4 m3 x 15.3 x 0.99 -> 5.90 tC, 21.6 tCO2 per 10^4 m3
    assert combustion_co2_t(1, 389.31, 15.3, 0.99) == pytest.approx(21.6, abs=0.05)
    assert combustion_co2_t(1, 389.31, 15.3, 0.99) * 12 / 44 == pytest.approx(5.90, abs=0.005)


def test_tier1_natural_gas_ipcc_defaults():
    # IPCC 2006 Vol. 2: natural gas NCV 48.0 TJ/Gg (Table 1.2), CO2 EF 56,100 kg/TJ (Table 1.4),
    # manufacturing CH4 1 kg/TJ, N2O 0.1 kg/TJ (Table 2.3). 1 Gg burnt = 48 TJ -> 2,692.8 t CO2.
    assert combustion_co2_tier1_t(48.0, 56_100) == pytest.approx(2_692.8)
    assert combustion_gas_t(48.0, 1.0) == pytest.approx(0.048)
    assert combustion_gas_t(48.0, 0.1) == pytest.approx(0.0048)
    # the same through carbon content (Table 1.3, 15.3 kgC/GJ) and full oxidation
    assert combustion_co2_t(1_000, 48.0, 15.3, 1.0) == pytest.approx(2_692.8)


def test_equations_are_vectorised():
    np.testing.assert_allclose(
        combustion_co2_t(np.array([1.0, 2.0]), 20.908, np.array([26.4, 26.4]), 0.98),
        2 * [combustion_co2_t(1.0, 20.908, 26.4, 0.98)] * np.array([1, 2]),
    )
    s = pd.Series([1.0, 10.0])
    pd.testing.assert_series_equal(combustion_gas_t(s, 3.0), s * 3e-3)


# --- the ipcc-2006-energy factor set ------------------------------------------------------------


def test_ipcc_carbon_content_reproduces_table_1_4():
    # IPCC 2006 Vol. 2 Ch. 1: Table 1.4 CO2 factors are Table 1.3 carbon contents x 44/12 with
    # oxidation 1, printed to three significant figures (e.g. natural gas 15.3 -> 56,100 kg/TJ).
    t = IPCC.table

    def values(parameter):
        rows = t[t["parameter"] == parameter]
        return dict(zip(rows["key"], rows["value"], strict=True))

    co2_ef, cc, of = values("co2_ef"), values("carbon_content"), values("oxidation")
    assert len(co2_ef) >= 50 and set(co2_ef) == set(cc) == set(of)
    for key, ef in co2_ef.items():
        per_tj_kg = combustion_co2_t(1.0, 1_000.0, cc[key], 1.0) * 1e3
        half_digit = 0.5 * 10 ** (math.floor(math.log10(ef)) - 2)
        assert abs(per_tj_kg - ef) <= half_digit + 1e-9, key
        assert of[key] == 1.0


def test_every_fuel_list_ipcc_fuel_has_ipcc_defaults():
    ipcc_fuels = set(fuels()["ipcc_fuel"]) - {""}
    for parameter in ("carbon_content", "oxidation", "co2_ef"):
        assert ipcc_fuels <= set(PROFILE.rows(parameter)["key"]), parameter
    assert ipcc_fuels - {"industrial_wastes"} <= set(PROFILE.rows("ncv")["key"])
    chinese = set(
        fuels().loc[
            [
                "raw_coal",
                "cleaned_coal",
                "coke",
                "coke_oven_gas",
                "gasoline",
                "kerosene",
                "diesel",
                "fuel_oil",
                "lpg",
                "refinery_gas",
                "natural_gas",
            ],
            "ipcc_fuel",
        ]
    )
    for context in ("energy_industries", "manufacturing", "residential"):
        assert chinese <= set(PROFILE.rows("ch4_ef", context)["key"]), context
        assert chinese <= set(PROFILE.rows("n2o_ef", context)["key"]), context


def test_ipcc_ncv_table_1_2_spot_values():
    # IPCC 2006 Vol. 2, Ch. 1, Table 1.2 (TJ/Gg): natural gas 48.0, other bituminous coal 25.8,
    # gas/diesel oil 43.0, blast furnace gas 2.47
    for key, ncv in [
        ("natural_gas", 48.0),
        ("other_bituminous_coal", 25.8),
        ("gas_diesel_oil", 43.0),
        ("blast_furnace_gas", 2.47),
    ]:
        assert PROFILE.lookup("ncv", key, "GJ/t") == pytest.approx(ncv)


# --- the table function -------------------------------------------------------------------------


def test_natural_gas_tier1_table_with_co2e():
    # 1 TJ of natural gas in manufacturing: 56.1 t CO2 (Table 1.4), 1 kg CH4, 0.1 kg N2O
    # (Table 2.3); AR5 GWPs CH4 28, N2O 265 (Table 8.A.1): 56.1 + 0.028 + 0.0265 t CO2e.
    out = fuel_combustion_emissions(activity(("natural_gas", 1.0, "TJ")), PROFILE)
    r = out.iloc[0]
    assert r["energy_gj"] == pytest.approx(1_000.0)
    assert r["co2_t"] == pytest.approx(56.1, rel=1e-3)
    assert r["ch4_t"] == pytest.approx(0.001) and r["n2o_t"] == pytest.approx(0.0001)
    assert r["co2e_t"] == pytest.approx(r["co2_t"] + 0.028 + 0.0265)
    assert r["gwp_set"] == "ipcc-ar5-gwp100@2013"
    # every factor used is cited: set, key, value, unit (an energy quantity needs no NCV)
    assert r["co2_factors"] == (
        "ipcc-2006-energy@2006 carbon_content[natural_gas] = 15.3 kgC/GJ; "
        "ipcc-2006-energy@2006 oxidation[natural_gas] = 1"
    )
    assert r["ch4_n2o_factors"] == (
        "ipcc-2006-energy@2006 ch4_ef[natural_gas] = 1 kg/TJ; "
        "ipcc-2006-energy@2006 n2o_ef[natural_gas] = 0.1 kg/TJ"
    )


def test_one_gigagram_natural_gas_uses_ncv_48():
    out = fuel_combustion_emissions(activity(("natural_gas", 1.0, "Gg")), PROFILE)
    assert out["energy_gj"].iloc[0] == pytest.approx(48_000.0)
    assert out["co2_t"].iloc[0] == pytest.approx(2_692.8)


def test_chinese_fuel_code_falls_back_to_ipcc_tier1():
    # 'diesel' has no guideline factors in an IPCC-only profile: its IPCC fuel gas/diesel oil,
    # NCV 43.0 TJ/Gg and 74,100 kg/TJ (Tables 1.2, 1.4): 1 万吨 -> 430 TJ -> 31,863 t CO2.
    out = fuel_combustion_emissions(activity(("柴油", 1.0, "万吨")), PROFILE)
    r = out.iloc[0]
    assert (r["fuel"], r["ipcc_fuel"], r["method"]) == ("diesel", "gas_diesel_oil", METHOD_TIER1)
    assert r["co2_t"] == pytest.approx(31_863.0)
    assert r["ch4_t"] == pytest.approx(430 * 3e-3)  # Table 2.3: 3 kg/TJ


def test_guideline_method_with_chinese_factors():
    # Heliyon Table 2: 1 万m3 natural gas -> 21.6 tCO2; 1 t raw coal -> 2.0 tCO2 (see above)
    out = fuel_combustion_emissions(
        activity(("natural_gas", 10_000, "m3"), ("原煤", 1.0, "吨"), ("天然气", 1.0, "万立方米")),
        chinese_profile(),
    )
    assert (out["method"] == METHOD_GUIDELINE).all()
    np.testing.assert_allclose(out["co2_t"], [21.62, 1.983, 21.62], atol=0.005)
    assert out["co2_t"].iloc[0] == pytest.approx(out["co2_t"].iloc[2])
    # CH4 of raw coal by its IPCC fuel (other bituminous coal, Table 2.3: 10 kg/TJ)
    assert out["ch4_t"].iloc[1] == pytest.approx(20.908e-3 * 10e-3)
    assert out["co2_factors"].iloc[0] == out["co2_factors"].iloc[2]
    assert out["co2_factors"].iloc[1].startswith("cn-test-overrides@")
    assert "carbon_content[raw_coal] = 26.4 kgC/GJ" in out["co2_factors"].iloc[1]
    assert "ncv[natural_gas] = 389.31 GJ/10^4 m3" in out["co2_factors"].iloc[0]


def test_biomass_co2_is_a_memo_item():
    # IPCC 2006 Vol. 2 Ch. 2, 2.3.3.4: biomass CO2 is reported but not added to the total.
    # 1 t wood: 15.6 GJ (Table 1.2) x 112 t/TJ (Table 1.4) = 1.747 t; CH4 30, N2O 4 kg/TJ (2.3).
    out = fuel_combustion_emissions(activity(("wood", 1.0, "t")), PROFILE).iloc[0]
    assert out["co2_t"] == 0.0
    assert out["co2_biogenic_t"] == pytest.approx(1.7446, rel=1e-3)
    assert out["co2e_t"] == pytest.approx(15.6e-3 * (30e-3 * 28 + 4e-3 * 265))


def test_energy_units_need_no_ncv():
    # Industrial wastes have no default NCV (Table 1.2) but a carbon content of 39.0 kgC/GJ
    # (Table 1.3): 1 TJ -> 143 t CO2 (Table 1.4: 143,000 kg/TJ).
    out = fuel_combustion_emissions(activity(("industrial_wastes", 1.0, "TJ")), PROFILE)
    assert out["co2_t"].iloc[0] == pytest.approx(143.0, rel=1e-3)
    with pytest.raises(InputError, match="no net calorific value") as err:
        fuel_combustion_emissions(activity(("industrial_wastes", 1.0, "t")), PROFILE)
    assert err.value.row == 0


def test_ch4_n2o_source_category_per_row():
    # other bituminous coal CH4: Table 2.2 energy industries 1, Table 2.3 manufacturing 10,
    # Table 2.5 residential 300 kg/TJ.
    a = activity(
        *[("other_bituminous_coal", 1.0, "TJ")] * 4,
        ch4_n2o_context=["energy_industries", None, "residential", ""],
    )
    out = fuel_combustion_emissions(a, PROFILE)
    np.testing.assert_allclose(out["ch4_t"], [1e-3, 10e-3, 300e-3, 10e-3])
    assert out["ch4_n2o_context"].astype(str).tolist() == [
        "energy_industries",
        "manufacturing",
        "residential",
        "manufacturing",
    ]
    out = fuel_combustion_emissions(
        activity(("other_bituminous_coal", 1.0, "TJ")), PROFILE, ch4_n2o_context="residential"
    )
    assert out["ch4_t"].iloc[0] == pytest.approx(0.3)


def test_ar6_combustion_methane_uses_non_fossil_gwp_by_default():
    # AR6 Table 7.15: CH4 fossil 29.8, non-fossil 27.0; combustion CH4's carbon is already in
    # the CO2 estimate, so the non-fossil value applies unless asked otherwise.
    profile = FactorProfile([IPCC, AR6])
    a = activity(("other_bituminous_coal", 1.0, "TJ"))
    out = fuel_combustion_emissions(a, profile, ch4_n2o_context="residential").iloc[0]
    assert out["co2e_t"] == pytest.approx(out["co2_t"] + 0.3 * 27.0 + 1.5e-3 * 273)
    fossil = fuel_combustion_emissions(
        a, profile, ch4_n2o_context="residential", ch4_gwp_key="CH4"
    ).iloc[0]
    assert fossil["co2e_t"] - out["co2e_t"] == pytest.approx(0.3 * (29.8 - 27.0))


def test_mixed_table_keeps_index_and_methods():
    profile = FactorProfile(
        [AR5],
        chinese_profile().table[
            ["parameter", "key", "context", "year", "value", "unit", "source", "clause"]
        ],
    )
    profile = FactorProfile(
        [IPCC, AR5],
        profile.table[
            ["parameter", "key", "context", "year", "value", "unit", "source", "clause"]
        ].query(
            "parameter in ['carbon_content', 'oxidation'] or "
            "(parameter == 'ncv' and key == 'raw_coal')"
        ),
        name="mix",
    )
    a = activity(("raw_coal", 2.0, "t"), ("diesel", 1.0, "t"), ("raw_coal", 1.0, "t"))
    a.index = [10, 20, 30]
    out = fuel_combustion_emissions(a, profile)
    assert out.index.tolist() == [10, 20, 30]
    assert out["method"].astype(str).tolist() == [METHOD_GUIDELINE, METHOD_TIER1, METHOD_GUIDELINE]
    assert out.loc[10, "co2_t"] == pytest.approx(2 * out.loc[30, "co2_t"])


# --- errors -------------------------------------------------------------------------------------


def test_unknown_fuel_names_row_and_suggests():
    with pytest.raises(UnknownCodeError) as err:
        fuel_combustion_emissions(
            activity(("coke", 1, "t"), ("naturalgas", 1, "t")), PROFILE, source="205-1.xlsx"
        )
    assert err.value.row == 1 and err.value.field == "fuel" and err.value.source == "205-1.xlsx"
    assert any("natural" in s for s in err.value.suggestions)


@pytest.mark.parametrize(
    ("quantity", "match"), [(-1.0, "negative"), ("abc", "not a number"), (None, "not a number")]
)
def test_bad_quantity(quantity, match):
    with pytest.raises(InputError, match=match) as err:
        fuel_combustion_emissions(activity(("coke", 1, "t"), ("coke", quantity, "t")), PROFILE)
    assert err.value.row == 1 and err.value.field == "quantity"


@pytest.mark.parametrize(
    ("unit", "match"), [(None, "missing"), ("furlong", "unknown"), ("m2", "area")]
)
def test_bad_unit(unit, match):
    with pytest.raises(UnitError, match=match) as err:
        fuel_combustion_emissions(
            activity(("coke", 1, "t"), ("coke", 1, unit)), PROFILE, source="f.csv"
        )
    assert err.value.row == 1 and err.value.field == "unit" and err.value.source == "f.csv"


def test_volume_against_mass_ncv_is_refused():
    # IPCC NCVs are per mass: a volume of natural gas cannot use them.
    with pytest.raises(InputError, match="per mass") as err:
        fuel_combustion_emissions(activity(("natural_gas", 1, "万立方米")), PROFILE)
    assert err.value.field == "unit"


def test_electricity_and_heat_are_not_combustion():
    with pytest.raises(InputError, match="scope 2") as err:
        fuel_combustion_emissions(activity(("coke", 1, "t"), ("电力", 1, "万千瓦时")), PROFILE)
    assert err.value.row == 1


def test_missing_factors_are_named():
    # no CO2 factors at all
    with pytest.raises(InputError, match="no CO2 method for fuel 'coke'") as err:
        fuel_combustion_emissions(activity(("coke", 1, "t")), FactorProfile([AR5], name="x"))
    assert err.value.row == 0
    # Table 2.4 (commercial) natural gas row is not in the set: refused, not zero
    with pytest.raises(InputError, match=r"ch4_ef.*commercial"):
        fuel_combustion_emissions(
            activity(("natural_gas", 1, "t")), PROFILE, ch4_n2o_context="commercial"
        )
    with pytest.raises(InputError, match="source category"):
        fuel_combustion_emissions(activity(("coke", 1, "t")), PROFILE, ch4_n2o_context="shops")
    with pytest.raises(UnknownCodeError, match="gwp100"):
        fuel_combustion_emissions(activity(("coke", 1, "t")), FactorProfile([IPCC]))
    with pytest.raises(InputError, match="missing column"):
        fuel_combustion_emissions(pd.DataFrame({"fuel": ["coke"], "quantity": [1]}), PROFILE)


def test_empty_activity():
    out = fuel_combustion_emissions(activity(), PROFILE)
    assert out.empty and "co2e_t" in out.columns


def test_higher_priority_set_wins_across_years():
    # A Chinese per-volume NCV for natural_gas (published 2015) above the IPCC set's (2006):
    # the profile must use the Chinese one only.
    cn = pd.DataFrame(
        [
            {
                "parameter": "ncv",
                "key": "natural_gas",
                "year": 2015,
                "value": 389.31,
                "unit": "GJ/10^4 m3",
                "source": HELIYON,
                "clause": "Table 2",
            }
        ]
    )
    profile = FactorProfile([IPCC, AR5], cn, name="cn")
    out = fuel_combustion_emissions(activity(("natural_gas", 1, "万立方米")), profile)
    assert out["energy_gj"].iloc[0] == pytest.approx(389.31)


# --- properties ---------------------------------------------------------------------------------

FUELS = [
    "natural_gas",
    "diesel",
    "raw_coal",
    "coke",
    "wood",
    "lpg",
    "gasoline",
    "fuel_oil",
    "anthracite",
    "charcoal",
    "landfill_gas",
    "coke_oven_gas",
    "blast_furnace_gas",
]
CONTEXTS = ["energy_industries", "manufacturing", "residential"]
rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(FUELS), st.floats(0, 1e7, allow_subnormal=False), st.sampled_from(CONTEXTS)
    ),
    min_size=1,
    max_size=15,
)


@settings(max_examples=40, deadline=None)
@given(rows_strategy, st.sampled_from([AR5, AR6]))
def test_gas_parts_sum_to_co2e(rows, gwp_set):
    profile = FactorProfile([IPCC, gwp_set])
    a = pd.DataFrame(rows, columns=["fuel", "quantity", "ch4_n2o_context"]).assign(unit="t")
    out = fuel_combustion_emissions(a, profile)
    g_ch4 = profile.lookup("gwp100", "CH4_non_fossil", "1")
    g_n2o = profile.lookup("gwp100", "N2O", "1")
    np.testing.assert_allclose(
        out["co2e_t"],
        out["co2_t"] + out["ch4_t"] * g_ch4 + out["n2o_t"] * g_n2o,
        rtol=1e-12,
        atol=1e-9,
    )
    assert (out[["co2_t", "co2_biogenic_t", "ch4_t", "n2o_t", "co2e_t"]] >= 0).all().all()


@settings(max_examples=40, deadline=None)
@given(rows_strategy, st.floats(0, 1e4, allow_subnormal=False))
def test_scaling_activity_scales_emissions(rows, k):
    a = pd.DataFrame(rows, columns=["fuel", "quantity", "ch4_n2o_context"]).assign(unit="t")
    base = fuel_combustion_emissions(a, PROFILE)
    scaled = fuel_combustion_emissions(a.assign(quantity=a["quantity"] * k), PROFILE)
    for col in ("energy_gj", "co2_t", "co2_biogenic_t", "ch4_t", "n2o_t", "co2e_t"):
        np.testing.assert_allclose(scaled[col], base[col] * k, rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(rows_strategy)
def test_wan_tonnes_and_tonnes_agree(rows):
    a = pd.DataFrame(rows, columns=["fuel", "quantity", "ch4_n2o_context"]).assign(unit="t")
    in_t = fuel_combustion_emissions(a, PROFILE)
    in_wan_t = fuel_combustion_emissions(
        a.assign(quantity=a["quantity"] / 1e4, unit="万吨"), PROFILE
    )
    for col in ("energy_gj", "co2_t", "co2_biogenic_t", "ch4_t", "n2o_t", "co2e_t"):
        np.testing.assert_allclose(in_wan_t[col], in_t[col], rtol=1e-12, atol=1e-12)
