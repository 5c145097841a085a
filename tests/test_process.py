"""Industrial-process emissions (IPCC 2006 Vol. 3 Ch. 2 and Ch. 6) and the ipcc-2006-ippu set."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.accounting.gwp import to_co2e
from citycarbon.accounting.process import (
    METHODS,
    carbonate_use_co2_t,
    cement_clinker_co2_t,
    cement_tier1_co2_t,
    ckd_correction_factor,
    electronics_tier1_fgas_kg,
    electronics_tier2a_byproduct_kg,
    electronics_tier2a_fgas_kg,
    glass_co2_t,
    hydrated_lime_correction,
    lime_co2_t,
    oxide_ef_tco2_per_t,
    process_emissions,
    process_gas_masses,
)
from citycarbon.errors import InputError, UnitError, UnknownCodeError
from citycarbon.factors import FactorProfile, load_factor_set

IPPU = load_factor_set("ipcc-2006-ippu")
PROFILE = FactorProfile([IPPU], name="ippu")


def value(parameter, key, context="", unit="1"):
    return PROFILE.lookup(parameter, key, unit, context=context)


def ef(key):
    return value("process_ef", key, unit="tCO2e/t")


# Standard atomic weights (IUPAC; the values behind IPCC 2006 Vol. 3 Table 2.1's molecular
# weights, e.g. CaCO3 100.0869, CO2 44.0095).
C, OX, CA, MG, FE, MN, NA = 12.0107, 15.9994, 40.078, 24.3050, 55.845, 54.938049, 22.98977
CO2 = C + 2 * OX
CO3 = C + 3 * OX


# --- the factor set against the published tables ---------------------------------------------


def test_set_signature():
    assert IPPU.id == "ipcc-2006-ippu" and IPPU.version == "2006"
    assert set(IPPU.table["parameter"]) == {
        "process_ef",
        "process_parameter",
        "fgas_ef",
        "fgas_parameter",
    }


@pytest.mark.parametrize(
    "key, published",
    [
        # IPCC 2006 Vol. 3 Ch. 2 Table 2.1 (CO2 content of carbonates, tCO2/t carbonate)
        ("CaCO3", 0.43971),
        ("MgCO3", 0.52197),
        ("CaMg(CO3)2", 0.47732),
        ("FeCO3", 0.37987),
        ("MnCO3", 0.38286),
        ("Na2CO3", 0.41492),
        # Table 2.4 (lime): high-calcium 0.75, dolomitic 0.86 / 0.77, hydraulic 0.59;
        # stoichiometric ratios 0.785 (CaO) and 0.913 (CaO.MgO)
        ("lime_high_calcium", 0.75),
        ("lime_dolomitic_developed", 0.86),
        ("lime_dolomitic_developing", 0.77),
        ("lime_hydraulic", 0.59),
        ("CaO", 0.785),
        ("CaO_MgO", 0.913),
        # Table 2.6 (glass, tCO2/t glass)
        ("glass_float", 0.21),
        ("glass_container_flint", 0.21),
        ("glass_container_amber_green", 0.21),
        ("glass_fibre_e_glass", 0.19),
        ("glass_fibre_insulation", 0.25),
        ("glass_tv_panel", 0.18),
        ("glass_tv_funnel", 0.13),
        ("glass_tableware", 0.10),
        ("glass_lab_pharma", 0.03),
        ("glass_lighting", 0.20),
        # eq. 2.4 (0.51 x 1.02 = 0.52), Tier 1 lime (eq. 2.8) and glass (§2.4.1.2) defaults
        ("clinker", 0.52),
        ("clinker_before_ckd", 0.51),
        ("lime", 0.75),
        ("glass", 0.20),
    ],
)
def test_process_ef_as_published(key, published):
    assert ef(key) == published


@pytest.mark.parametrize(
    "product, gas, published",
    [
        # IPCC 2006 Vol. 3 Ch. 6 Table 6.2, Tier 1 factors, kg per m2 of substrate processed
        ("semiconductor", "CF4", 0.9),
        ("semiconductor", "C2F6", 1.0),
        ("semiconductor", "HFC-23", 0.04),
        ("semiconductor", "C3F8", 0.05),
        ("semiconductor", "NF3", 0.04),
        ("semiconductor", "SF6", 0.2),
        ("tft_fpd", "CF4", 0.0005),
        ("tft_fpd", "NF3", 0.0009),
        ("tft_fpd", "SF6", 0.004),
        ("pv", "CF4", 0.005),
        ("pv", "C2F6", 0.0002),
    ],
)
def test_tier1_electronics_factors_as_published(product, gas, published):
    assert value("fgas_ef", gas, product, "kg/m2") == published


@pytest.mark.parametrize(
    "context, gas, published",
    [
        # IPCC 2006 Vol. 3 Ch. 6, Tier 2a defaults (semiconductors): 1-U_i, B_CF4, B_C2F6
        ("semiconductor|1-U", "CF4", 0.9),
        ("semiconductor|1-U", "C2F6", 0.6),
        ("semiconductor|1-U", "HFC-23", 0.4),
        ("semiconductor|1-U", "NF3", 0.2),
        ("semiconductor|1-U", "SF6", 0.2),
        ("semiconductor|B_CF4", "C2F6", 0.2),
        ("semiconductor|B_CF4", "NF3", 0.09),
        ("semiconductor|B_C2F6", "c-C4F8", 0.1),
        # TFT-FPD
        ("tft_fpd|1-U", "CF4", 0.6),
        ("tft_fpd|1-U", "SF6", 0.6),
        ("tft_fpd|1-U", "NF3", 0.3),
        ("tft_fpd|B_CF4", "HFC-23", 0.07),
        ("tft_fpd|B_C2F6", "HFC-23", 0.05),
    ],
)
def test_tier2a_factors_as_published(context, gas, published):
    assert value("fgas_parameter", gas, context) == published
    assert value("process_parameter", "heel_fraction", "electronics") == 0.10  # default h


def test_table_2_6_cullet_ranges():
    # Table 2.6 typical cullet ratios, e.g. float 10-25 %, container (flint) 30-60 %
    assert value("process_parameter", "cullet_ratio_low", "glass_float") == 0.10
    assert value("process_parameter", "cullet_ratio_high", "glass_float") == 0.25
    assert value("process_parameter", "cullet_ratio_high", "glass_container_flint") == 0.60
    table = PROFILE.table
    lows = table[table["key"] == "cullet_ratio_low"]
    highs = table[table["key"] == "cullet_ratio_high"]
    joined = (
        lows.set_index("context")["value"]
        .to_frame("low")
        .join(highs.set_index("context")["value"].rename("high"))
    )
    assert len(joined) == 10 and (joined["low"] < joined["high"]).all()


# --- derivations the Guidelines print ----------------------------------------------------------


def test_clinker_factor_derivation_eq_2_4():
    # IPCC 2006 Vol. 3 §2.2.1.2, eq. 2.4: clinker with 65 % CaO, all from CaCO3:
    # 0.65 / 0.5603 (CaO share of CaCO3) x 0.4397 (CO2 share) = 0.65 x 44.01/56.08 = 0.51,
    # and with the CKD correction 1.02: EF_clc = 0.51 x 1.02 = 0.52 tCO2/t clinker.
    cao = value("process_parameter", "cao_fraction", "clinker")
    ckd = value("process_parameter", "ckd_correction", "cement")
    assert (cao, ckd) == (0.65, 1.02)
    ef_cl = oxide_ef_tco2_per_t(cao, CO2 / (CA + OX))
    assert ef_cl == pytest.approx(0.5101, abs=5e-5)
    assert round(ef_cl, 2) == ef("clinker_before_ckd")
    assert round(ef_cl * ckd, 2) == ef("clinker")
    assert cao / 0.5603 * 0.43971 == pytest.approx(ef_cl, rel=1e-4)  # the printed route


def test_carbonate_factors_are_molar_mass_ratios():
    # Table 2.1: EF = M(CO2) / M(carbonate) x number of CO3 groups, to five decimals
    ratios = {
        "CaCO3": CO2 / (CA + CO3),
        "MgCO3": CO2 / (MG + CO3),
        "CaMg(CO3)2": 2 * CO2 / (CA + MG + 2 * CO3),
        "FeCO3": CO2 / (FE + CO3),
    }
    for key, ratio in ratios.items():
        assert ef(key) == round(ratio, 5), key
    assert CA + CO3 == pytest.approx(100.0869, abs=1e-4)  # Table 2.1 molecular weight
    assert ef("MnCO3") == pytest.approx(CO2 / (MN + CO3), abs=1.5e-5)  # 0.38287 unrounded
    # The published Na2CO3 factor (0.41492) is not 44.0095/105.9884 = 0.41523; kept as printed.
    assert ef("Na2CO3") != round(CO2 / (2 * NA + CO3), 5)
    assert ef("Na2CO3") == pytest.approx(CO2 / (2 * NA + CO3), abs=5e-4)


def test_lime_factors_table_2_4_and_eq_2_8():
    # Table 2.4: EF = stoichiometric ratio x CaO (or CaO.MgO) content
    sr_cao, sr_dol = ef("CaO"), ef("CaO_MgO")
    assert sr_cao == round(CO2 / (CA + OX), 3)  # 0.785
    assert sr_dol == round(2 * CO2 / (CA + MG + 2 * OX), 3)  # 0.913
    hc = value("process_parameter", "cao_content", "lime_high_calcium")
    hy = value("process_parameter", "cao_content", "lime_hydraulic")
    assert round(oxide_ef_tco2_per_t(hc, sr_cao), 2) == ef("lime_high_calcium")  # 0.95 -> 0.75
    assert round(oxide_ef_tco2_per_t(hy, sr_cao), 2) == ef("lime_hydraulic")  # 0.75 -> 0.59
    for key in ("lime_dolomitic_developed", "lime_dolomitic_developing"):
        # the table prints 0.86 / 0.77 for 0.913 x 0.95 = 0.867 and 0.913 x 0.85 = 0.776
        content = value("process_parameter", "cao_mgo_content", key)
        assert oxide_ef_tco2_per_t(content, sr_dol) - ef(key) == pytest.approx(0.0, abs=0.01)
    # eq. 2.8 Tier 1 default: 0.85 x 0.75 + 0.15 x 0.77 = 0.753 -> 0.75
    mix = value("process_parameter", "high_calcium_share", "lime") * ef(
        "lime_high_calcium"
    ) + value("process_parameter", "dolomitic_share", "lime") * ef("lime_dolomitic_developing")
    assert round(mix, 2) == ef("lime")


def test_glass_tier1_default():
    # §2.4.1.2 Tier 1: 0.20 tCO2/t glass at a 50 % cullet ratio -> 0.10 tCO2 per tonne of glass
    cr = value("process_parameter", "cullet_ratio", "glass")
    assert glass_co2_t(1.0, ef("glass"), cr) == pytest.approx(0.10)


# --- single equations --------------------------------------------------------------------------


def test_cement_equations():
    # eq. 2.1: 1,000 t Portland cement with clinker fraction 0.95, 50 t clinker imported
    # -> (950 - 50) x 0.52 = 468 t CO2
    assert cement_tier1_co2_t(1000, 0.95, 0.52, clinker_import_t=50) == pytest.approx(468.0)
    # eq. 2.2: 10,000 t clinker x 0.51 x 1.02 = 5,202 t CO2
    assert cement_clinker_co2_t(10_000, 0.51, 1.02) == pytest.approx(5202.0)
    # eq. 2.5 with no dust lost is 1; 20 t CKD per 1,000 t clinker, carbonate 100 %, fully
    # calcined, CaCO3 (0.43971) over clinker (0.51): 1 + 0.02 x 0.43971 / 0.51 = 1.01724
    assert ckd_correction_factor(0, 1000, 1, 1, 0.43971, 0.51) == 1
    assert ckd_correction_factor(20, 1000, 1, 1, 0.43971, 0.51) == pytest.approx(1.017243, rel=1e-6)


def test_lime_equations():
    # 100 t dolomitic lime (0.77) x LKD 1.02 x (1 - 0.1 x 0.28) = 76.34 t CO2
    assert lime_co2_t(100, 0.77, 1.02, hydrated_lime_correction(0.1, 0.28)) == pytest.approx(
        100 * 0.77 * 1.02 * 0.972
    )


def test_electronics_tier1_worked_example():
    # A semiconductor fab processing 50,000 m2 of wafer a year, IPCC 2006 Table 6.2 factors:
    # CF4 0.9 x 50,000 = 45,000 kg; C2F6 1.0 x 50,000 = 50,000 kg; CHF3 0.04 -> 2,000 kg;
    # C3F8 0.05 -> 2,500 kg; NF3 0.04 -> 2,000 kg; SF6 0.2 -> 10,000 kg.
    expected = {
        "CF4": 45_000,
        "C2F6": 50_000,
        "CHF3": 2_000,
        "C3F8": 2_500,
        "NF3": 2_000,
        "SF6": 10_000,
    }
    rows = pd.DataFrame(
        {
            "process": "electronics_tier1",
            "material": list(expected),
            "product": "semiconductor",
            "quantity": 5,
            "unit": "10^4 m2",
        }
    )
    out = process_emissions(rows, PROFILE)
    assert out["mass_t"].to_numpy() * 1000 == pytest.approx(list(expected.values()))
    assert list(out["gas"].astype(str)) == ["CF4", "C2F6", "HFC-23", "C3F8", "NF3", "SF6"]
    assert electronics_tier1_fgas_kg(50_000, 0.9) == pytest.approx(45_000)
    # TFT-FPD line of 1,000,000 m2 glass: SF6 0.004 x 10^6 = 4,000 kg, NF3 900 kg, CF4 500 kg
    tft = pd.DataFrame(
        {
            "process": "electronics_tier1",
            "material": ["SF6", "NF3", "CF4"],
            "product": "tft_fpd",
            "quantity": 1e6,
            "unit": "m2",
        }
    )
    assert process_emissions(tft, PROFILE)["mass_t"].to_numpy() == pytest.approx([4, 0.9, 0.5])


def test_electronics_tier2a_term_by_term():
    # eq. 6.2 with h = 0.10, semiconductor C2F6 (1-U = 0.6, B_CF4 = 0.2), 1,000 kg consumed,
    # 40 % of it fed to abated tools destroying 90 % of C2F6 and 80 % of CF4:
    # E_C2F6 = (1 - 0.1) x 1000 x 0.6 x (1 - 0.4 x 0.9) = 900 x 0.6 x 0.64 = 345.6 kg
    # BPE_CF4 = (1 - 0.1) x 0.2 x 1000 x (1 - 0.4 x 0.8) = 180 x 0.68 = 122.4 kg
    assert electronics_tier2a_fgas_kg(1000, 0.1, 0.6, 0.4, 0.9) == pytest.approx(345.6)
    assert electronics_tier2a_byproduct_kg(1000, 0.1, 0.2, 0.4, 0.8) == pytest.approx(122.4)
    rows = pd.DataFrame(
        [
            {
                "process": "electronics_tier2a",
                "material": "C2F6",
                "product": "semiconductor",
                "quantity": 1,
                "unit": "t",
                "abatement_fraction": 0.4,
                "destruction_efficiency": 0.9,
                "destruction_efficiency_cf4": 0.8,
            },
            {
                "process": "electronics_tier2a",
                "material": "C2F6",
                "product": "semiconductor",
                "quantity": 1000,
                "unit": "kg",
            },
        ]
    )
    out = process_emissions(rows, PROFILE)
    assert out["mass_t"].to_numpy() == pytest.approx([0.3456, 0.540])  # no abatement: 900 x 0.6
    assert out["cf4_byproduct_t"].to_numpy() == pytest.approx([0.1224, 0.180])
    assert (out["c2f6_byproduct_t"] == 0).all()
    assert "heel_fraction|electronics" in out["factors"].iloc[1]


def test_tft_c4f8_forms_chf3_and_cf4():
    # TFT-FPD c-C4F8: 1-U 0.1, B_CF4 0.009, B_CHF3 0.02; 100 kg, h = 0.1:
    # c-C4F8 90 x 0.1 = 9 kg, CF4 90 x 0.009 = 0.81 kg, CHF3 90 x 0.02 = 1.8 kg
    rows = pd.DataFrame(
        [
            {
                "process": "electronics_tier2a",
                "material": "c-C4F8",
                "product": "tft_fpd",
                "quantity": 100,
                "unit": "kg",
            }
        ]
    )
    out = process_emissions(rows, PROFILE).iloc[0]
    assert (out["mass_t"], out["cf4_byproduct_t"], out["chf3_byproduct_t"]) == pytest.approx(
        (0.009, 0.00081, 0.0018)
    )
    long = process_gas_masses(process_emissions(rows, PROFILE))
    assert list(long["gas"]) == ["c-C4F8", "CF4", "HFC-23"]


# --- table level -------------------------------------------------------------------------------


def minerals() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"process": "cement", "quantity": 1000, "unit": "t", "clinker_fraction": 0.95},
            {"process": "clinker", "quantity": 1, "unit": "万吨"},
            {"process": "lime", "material": "lime", "quantity": 100, "unit": "t"},
            {
                "process": "lime",
                "material": "lime_dolomitic_developing",
                "quantity": 100,
                "unit": "t",
                "hydrated_fraction": 0.1,
                "water_content": 0.28,
            },
            {"process": "glass", "material": "glass", "quantity": 100, "unit": "t"},
            {
                "process": "glass",
                "material": "glass_float",
                "quantity": 100,
                "unit": "t",
                "cullet_ratio": 0.2,
            },
            {
                "process": "carbonate",
                "material": "CaCO3",
                "quantity": 100,
                "unit": "t",
                "calcination_fraction": 0.9,
            },
            {"process": "carbonate", "material": "Na2CO3", "quantity": 100, "unit": "kt"},
        ]
    )


def test_mineral_rows():
    out = process_emissions(minerals(), PROFILE)
    expected = [
        1000 * 0.95 * 0.52,
        10_000 * 0.51 * 1.02,
        100 * 0.75,
        100 * 0.77 * 1.02 * (1 - 0.1 * 0.28),
        100 * 0.20 * 0.5,
        100 * 0.21 * 0.8,
        100 * 0.43971 * 0.9,
        100_000 * 0.41492,
    ]
    assert out["mass_t"].to_numpy() == pytest.approx(expected)
    assert (out["gas"] == "CO2").all()
    assert out.loc[0, "method"] == METHODS["cement"]
    assert out.loc[2, "method"] == METHODS["lime_tier1"]
    assert out.loc[3, "method"] == METHODS["lime_tier2"]
    assert "process_ef[clinker] = 0.52 tCO2/t (§2.2.1.2, eq. 2.4)" in out.loc[0, "factors"]
    assert "ckd_correction|cement" in out.loc[1, "factors"]
    assert "cullet_ratio|glass" in out.loc[4, "factors"]
    assert "cullet_ratio" not in out.loc[5, "factors"]  # the row's own value
    assert (out["factor_sets"] == "ipcc-2006-ippu@2006").all()


def test_co2e_through_a_gwp_set_in_the_profile():
    # AR5 Table 8.A.1: HFC-23 GWP100 12,400: 2,000 kg CHF3 (semiconductor Tier 1, 50,000 m2)
    # -> 2 t x 12,400 = 24,800 tCO2e
    profile = FactorProfile([IPPU, load_factor_set("ipcc-ar5-gwp100")], name="ippu+ar5")
    rows = pd.DataFrame(
        [
            {
                "process": "electronics_tier1",
                "material": "CHF3",
                "product": "semiconductor",
                "quantity": 50_000,
                "unit": "m2",
            }
        ]
    )
    co2e = to_co2e(process_gas_masses(process_emissions(rows, profile)), profile)
    assert co2e["co2e_t"].iloc[0] == pytest.approx(24_800)


def test_row_overrides_and_profile_overrides():
    rows = pd.DataFrame(
        [{"process": "clinker", "quantity": 100, "unit": "t", "ckd_correction": 1.0}]
    )
    assert process_emissions(rows, PROFILE)["mass_t"].iloc[0] == pytest.approx(51.0)
    city = pd.DataFrame(
        [
            {
                "parameter": "process_ef",
                "key": "clinker_before_ckd",
                "context": "",
                "year": 2024,
                "value": 0.53,
                "unit": "tCO2/t",
                "source": "plant CaO measurement",
                "clause": "lab report",
            }
        ]
    )
    profile = FactorProfile([IPPU], city, name="xm")
    out = process_emissions(rows, profile)
    assert out["mass_t"].iloc[0] == pytest.approx(53.0)
    assert out["factor_sets"].iloc[0].startswith("xm-overrides@")


def test_empty_activity():
    empty = pd.DataFrame(columns=["process", "quantity", "unit"])
    assert process_emissions(empty, PROFILE).empty


# --- errors ------------------------------------------------------------------------------------


def one(**row) -> pd.DataFrame:
    base = {"process": "carbonate", "material": "CaCO3", "quantity": 1, "unit": "t"}
    return pd.DataFrame([{**base, **row}], index=[7])


@pytest.mark.parametrize(
    "row, error, field, text",
    [
        ({"process": "cemnt"}, UnknownCodeError, "process", "cement"),
        ({"material": "CaCO4"}, UnknownCodeError, "material", "CaCO3"),
        (
            {"process": "lime", "material": "lime_dolomitic"},
            UnknownCodeError,
            "material",
            "lime_dolomitic_developed",
        ),
        ({"process": "lime", "material": ""}, InputError, "material", "required"),
        ({"quantity": -1}, InputError, "quantity", "negative"),
        ({"quantity": None}, InputError, "quantity", "not a number"),
        ({"unit": "m2"}, UnitError, "unit", "mass"),
        ({"unit": "furlong"}, UnitError, "unit", "unknown"),
        ({"process": "cement", "material": ""}, InputError, "clinker_fraction", "required"),
        ({"process": "clinker"}, InputError, "material", "does not fit"),
        (
            {"process": "clinker", "material": "", "ckd_correction": 0.9},
            InputError,
            "ckd_correction",
            ">= 1",
        ),
        ({"calcination_fraction": 1.2}, InputError, "calcination_fraction", "[0, 1]"),
        ({"process": "glass", "material": "glass_float"}, InputError, "cullet_ratio", "0.1-0.25"),
        (
            {"process": "lime", "material": "lime", "lkd_correction": 1.02},
            InputError,
            "lkd_correction",
            "Tier 2",
        ),
        (
            {"process": "lime", "material": "lime_hydraulic", "hydrated_fraction": 0.2},
            InputError,
            "water_content",
            "required",
        ),
        (
            {
                "process": "electronics_tier1",
                "material": "C2F6",
                "product": "tft_fpd",
                "unit": "m2",
            },
            UnknownCodeError,
            "material",
            "fgas_ef",
        ),
        (
            {"process": "electronics_tier1", "material": "CF4", "product": "lcd", "unit": "m2"},
            UnknownCodeError,
            "product",
            "tft_fpd",
        ),
        (
            {"process": "electronics_tier1", "material": "CF5", "product": "pv", "unit": "m2"},
            UnknownCodeError,
            "material",
            "CF4",
        ),
        (
            {
                "process": "electronics_tier2a",
                "material": "NF3",
                "product": "semiconductor",
                "unit": "kg",
                "abatement_fraction": 0.5,
            },
            InputError,
            "destruction_efficiency",
            "required",
        ),
        (
            {
                "process": "electronics_tier2a",
                "material": "NF3",
                "product": "semiconductor",
                "unit": "kg",
                "abatement_fraction": 0.5,
                "destruction_efficiency": 0.95,
            },
            InputError,
            "destruction_efficiency_cf4",
            "by-product",
        ),
    ],
)
def test_errors_name_row_and_field(row, error, field, text):
    with pytest.raises(error) as info:
        process_emissions(one(**row), PROFILE, source="ippu.csv")
    err = info.value
    assert err.row == 7 and err.field == field and err.source == "ippu.csv"
    assert text in err.message


def test_missing_columns():
    with pytest.raises(InputError, match="missing column"):
        process_emissions(pd.DataFrame({"process": ["lime"]}), PROFILE)


def test_missing_factor_in_profile():
    # a profile without the IPPU set has no clinker factor: an error, never a zero
    empty = FactorProfile([load_factor_set("ipcc-ar5-gwp100")], name="gwp-only")
    with pytest.raises(UnknownCodeError, match="process_ef"):
        process_emissions(pd.DataFrame([{"process": "clinker", "quantity": 1, "unit": "t"}]), empty)


# --- invariants --------------------------------------------------------------------------------

fraction = st.floats(0, 1)
amount = st.floats(0, 1e7)
factor = st.floats(0, 5)
scale = st.floats(0.001, 1000)


@settings(max_examples=60, deadline=None)
@given(amount, factor, fraction, scale)
def test_linear_in_activity(q, ef_, f, k):
    for fn, args in [
        (cement_tier1_co2_t, (f, ef_)),
        (cement_clinker_co2_t, (ef_, 1.02)),
        (lime_co2_t, (ef_, 1.02, 0.97)),
        (glass_co2_t, (ef_, f)),
        (carbonate_use_co2_t, (ef_, f)),
        (electronics_tier1_fgas_kg, (ef_,)),
        (electronics_tier2a_fgas_kg, (0.1, f, f, f)),
        (electronics_tier2a_byproduct_kg, (0.1, f, f, f)),
    ]:
        assert fn(k * q, *args) == pytest.approx(k * fn(q, *args), rel=1e-9, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(amount, factor)
def test_zero_cullet_gives_the_full_factor(q, ef_):
    assert glass_co2_t(q, ef_, 0.0) == pytest.approx(q * ef_)
    assert glass_co2_t(q, ef_, 1.0) == 0


@settings(max_examples=100, deadline=None)
@given(amount, fraction, fraction, fraction)
def test_tier2a_never_exceeds_gas_left_after_heel(fc, h, one_minus_u, d):
    e = electronics_tier2a_fgas_kg(fc, h, one_minus_u, 0.0, d)
    assert 0 <= e <= fc * (1 - h) * (1 + 1e-12)
    # abatement only ever lowers emissions
    assert electronics_tier2a_fgas_kg(fc, h, one_minus_u, 0.5, d) <= e * (1 + 1e-12)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=8, max_size=8), scale)
def test_table_linear_in_quantity(quantities, k):
    rows = minerals().assign(quantity=quantities)
    base = process_emissions(rows, PROFILE)["mass_t"].to_numpy()
    scaled = process_emissions(rows.assign(quantity=[k * q for q in quantities]), PROFILE)[
        "mass_t"
    ].to_numpy()
    assert np.allclose(scaled, k * base, rtol=1e-9, atol=1e-9)
    assert not any(math.isnan(x) for x in base)
