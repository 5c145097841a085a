import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.accounting.gwp import co2e_t, gwp_set_label, gwp_values, to_co2e
from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.factors import FactorProfile, available_ids, gases, load_factor_set

# Published GWP100 tables, transcribed here independently of the factor-set files.
# AR4: IPCC AR4 WG1 Ch. 2, Table 2.14 (100-yr column). HFC-41, C4F6, C5F8 are not in the table.
AR4 = {
    "CO2": 1,
    "CH4": 25,
    "N2O": 298,
    "SF6": 22800,
    "NF3": 17200,
    "HFC-23": 14800,
    "HFC-32": 675,
    "HFC-125": 3500,
    "HFC-134a": 1430,
    "HFC-143a": 4470,
    "HFC-152a": 124,
    "HFC-227ea": 3220,
    "HFC-236fa": 9810,
    "HFC-245fa": 1030,
    "CF4": 7390,
    "C2F6": 12200,
    "C3F8": 8830,
    "c-C4F8": 10300,
}
# AR5: IPCC AR5 WG1 Ch. 8, Table 8.A.1, GWP100 without climate-carbon feedback.
AR5 = {
    "CO2": 1,
    "CH4": 28,
    "N2O": 265,
    "SF6": 23500,
    "NF3": 16100,
    "HFC-23": 12400,
    "HFC-32": 677,
    "HFC-41": 116,
    "HFC-125": 3170,
    "HFC-134a": 1300,
    "HFC-143a": 4800,
    "HFC-152a": 138,
    "HFC-227ea": 3350,
    "HFC-236fa": 8060,
    "HFC-245fa": 858,
    "CF4": 6630,
    "C2F6": 11100,
    "C3F8": 8900,
    "c-C4F8": 9540,
}
# AR6: IPCC AR6 WG1 Ch. 7, Table 7.15 (CH4 fossil 29.8, non-fossil 27.0, N2O 273) and
# Table 7.SM.7 (GWP-100) for the rest.
AR6 = {
    "CO2": 1,
    "CH4": 29.8,
    "CH4_non_fossil": 27.0,
    "N2O": 273,
    "SF6": 25200,
    "NF3": 17400,
    "HFC-23": 14600,
    "HFC-32": 771,
    "HFC-41": 135,
    "HFC-125": 3740,
    "HFC-134a": 1530,
    "HFC-143a": 5810,
    "HFC-152a": 164,
    "HFC-227ea": 3600,
    "HFC-236fa": 8690,
    "HFC-245fa": 962,
    "CF4": 7380,
    "C2F6": 12400,
    "C3F8": 9290,
    "c-C4F8": 10200,
    "C4F6": 0.004,
    "C5F8": 78.1,
}
PUBLISHED = {"ipcc-ar4-gwp100": AR4, "ipcc-ar5-gwp100": AR5, "ipcc-ar6-gwp100": AR6}

# The values that tell the three reports apart (a set labelled AR6 that holds AR5 numbers fails).
SIGNATURES = {
    4: {"CH4": 25, "N2O": 298, "SF6": 22800},
    5: {"CH4": 28, "N2O": 265, "SF6": 23500},
    6: {"CH4": 29.8, "N2O": 273, "SF6": 25200},
}


def values_of(set_id: str) -> dict[str, float]:
    t = load_factor_set(set_id).table
    t = t[t["parameter"] == "gwp100"]
    return dict(zip(t["key"], t["value"], strict=True))


def report_from_values(values: dict[str, float]) -> int | None:
    """Which assessment report a GWP table is, judged by its CH4, N2O and SF6 values alone."""
    for report, sig in SIGNATURES.items():
        if all(math.isclose(values.get(g, math.nan), v) for g, v in sig.items()):
            return report
    return None


def gwp_set_ids() -> list[str]:
    return [i for i in available_ids() if re.fullmatch(r"ipcc-ar\d-gwp100", i)]


def test_all_three_gwp_sets_are_shipped():
    assert {"ipcc-ar4-gwp100", "ipcc-ar5-gwp100", "ipcc-ar6-gwp100"} <= set(gwp_set_ids())


@pytest.mark.parametrize("set_id", gwp_set_ids())
def test_gwp_set_name_matches_its_values(set_id):
    # A peer platform labels AR5 GWPs as AR6: the set's id and title must name the report its
    # CH4/N2O/SF6 values come from.
    report = int(re.fullmatch(r"ipcc-ar(\d)-gwp100", set_id).group(1))
    assert report_from_values(values_of(set_id)) == report
    assert f"AR{report}" in load_factor_set(set_id).title


def test_signature_check_catches_a_mislabelled_table():
    assert report_from_values(AR5) == 5
    assert report_from_values({**AR5, "CH4": 27.9}) is None  # neither AR5 nor AR6 -> refused


@pytest.mark.parametrize("set_id", sorted(PUBLISHED))
def test_gwp_sets_reproduce_published_tables(set_id):
    published = PUBLISHED[set_id]
    stored = values_of(set_id)
    expected_keys = set(published) | {"CH4_non_fossil"}
    assert set(stored) == expected_keys
    for gas, value in published.items():
        assert stored[gas] == pytest.approx(value, rel=1e-12), gas
    if set_id != "ipcc-ar6-gwp100":  # AR4/AR5 give one methane value
        assert stored["CH4_non_fossil"] == stored["CH4"]


def test_gwp_keys_are_gas_codes():
    known = set(gases().index)
    for set_id in PUBLISHED:
        assert set(values_of(set_id)) <= known


def test_one_tonne_methane_is_28_t_co2e_in_ar5():
    # IPCC AR5 WG1 Table 8.A.1: GWP100 of CH4 = 28.
    profile = FactorProfile([load_factor_set("ipcc-ar5-gwp100")])
    assert co2e_t(1.0, profile.lookup("gwp100", "CH4", "1")) == pytest.approx(28.0)
    np.testing.assert_allclose(co2e_t(np.array([1.0, 2.0]), 265), [265.0, 530.0])


def test_to_co2e_long_form_resolves_formulas_and_names():
    # AR4 Table 2.14: HFC-23 (CHF3) 14,800; CH4 25; N2O 298.
    profile = FactorProfile([load_factor_set("ipcc-ar4-gwp100")])
    df = pd.DataFrame(
        {
            "gas": ["CHF3", "甲烷", "nitrous oxide"],
            "mass_t": [2.0, 10.0, 1.0],
            "site": ["a", "b", "c"],
        }
    )
    out = to_co2e(df, profile)
    assert out["gas"].astype(str).tolist() == ["HFC-23", "CH4", "N2O"]
    np.testing.assert_allclose(out["co2e_t"], [29_600.0, 250.0, 298.0])
    assert out["site"].tolist() == ["a", "b", "c"]
    assert (out["gwp_set"] == "ipcc-ar4-gwp100@2007").all()


def test_methane_code_is_methane_not_its_non_fossil_variant():
    # 'CH4' is also the formula of CH4_non_fossil in gases.csv; as a code it means (fossil) CH4:
    # AR6 Table 7.15 29.8, not 27.0.
    profile = FactorProfile([load_factor_set("ipcc-ar6-gwp100")])
    np.testing.assert_allclose(
        gwp_values(["CH4", "ch4", "CH4_non_fossil", "CH4_fossil"], profile),
        [29.8, 29.8, 27.0, 29.8],
    )


def test_to_co2e_wide_form_sums_gases():
    # AR6 Table 7.15: CH4 (fossil) 29.8, N2O 273.
    profile = FactorProfile([load_factor_set("ipcc-ar6-gwp100")])
    wide = pd.DataFrame({"CO2": [100.0, 0.0], "CH4": [1.0, 2.0], "N2O": [0.1, 0.0]})
    out = to_co2e(wide, profile)
    np.testing.assert_allclose(out["CH4"], [29.8, 59.6])
    np.testing.assert_allclose(out["co2e_t"], [100 + 29.8 + 27.3, 59.6])
    assert gwp_set_label(profile) == "ipcc-ar6-gwp100@2021"


def test_to_co2e_errors():
    profile = FactorProfile([load_factor_set("ipcc-ar4-gwp100")])
    with pytest.raises(UnknownCodeError) as err:
        to_co2e(pd.DataFrame({"gas": ["HFC-134"], "mass_t": [1.0]}), profile, source="f.csv")
    assert err.value.row == 0 and err.value.source == "f.csv" and err.value.suggestions
    with pytest.raises(InputError, match="not a number") as err:
        to_co2e(pd.DataFrame({"gas": ["CH4", "N2O"], "mass_t": [1.0, None]}), profile)
    assert err.value.row == 1 and err.value.field == "mass_t"
    # HFC-41 is not in AR4 Table 2.14: refused, not taken as zero
    with pytest.raises(UnknownCodeError, match="ipcc-ar4-gwp100"):
        to_co2e(pd.DataFrame({"gas": ["CH4", "HFC-41"], "mass_t": [1.0, 1.0]}), profile)
    with pytest.raises(InputError, match="both columns"):
        to_co2e(pd.DataFrame({"gas": ["CH4"]}), profile)
    with pytest.raises(UnknownCodeError):
        gwp_values(["CH4"], FactorProfile([]))  # no GWP set at all


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(AR5)), st.floats(-1e6, 1e6)), min_size=1, max_size=12
    ),
    st.floats(0, 1e3),
)
def test_co2e_is_linear_and_parts_sum(rows, k):
    profile = FactorProfile([load_factor_set("ipcc-ar5-gwp100")])
    df = pd.DataFrame(rows, columns=["gas", "mass_t"])
    out = to_co2e(df, profile)
    np.testing.assert_allclose(out["co2e_t"], df["mass_t"] * df["gas"].map(AR5), rtol=1e-12)
    scaled = to_co2e(df.assign(mass_t=df["mass_t"] * k), profile)
    np.testing.assert_allclose(scaled["co2e_t"], out["co2e_t"] * k, rtol=1e-9, atol=1e-6)
    wide = df.pivot_table(index=np.zeros(len(df)), columns="gas", values="mass_t", aggfunc="sum")
    total = to_co2e(wide, profile)["co2e_t"].iloc[0]
    assert total == pytest.approx(out["co2e_t"].sum(), rel=1e-9, abs=1e-6)
