"""Waste (IPCC sector 4): equations of IPCC 2006 Vol. 5 against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.accounting import waste
from citycarbon.contract.records import record_text
from citycarbon.records import parse_record


def test_fod_single_deposit_hand_computation():
    """IPCC 2006 Vol. 5 Ch. 3 eqs. 3.2, 3.4-3.6, 3.1, by hand.

    1 000 t food waste deposited in 2020 at a managed anaerobic site (MCF 1.0), DOC 0.15
    (Table 2.4), DOCf 0.5, F 0.5, k 0.40 (Table 3.3, tropical moist/wet), OX 0:
    DDOCm = 1000 x 0.15 x 0.5 x 1.0 = 75 t C                              (eq. 3.2)
    2020: DDOCma = 75, decomposed = 0 (nothing accumulated before)       (eqs. 3.4, 3.5)
    2021: decomposed = 75 x (1 - e^-0.4) = 75 x 0.329680 = 24.72601 t C
          DDOCma = 75 x e^-0.4 = 50.27399 t C
          CH4 = 24.72601 x 0.5 x 16/12 = 16.48401 t                      (eq. 3.6)
    2022: decomposed = 50.27399 x 0.329680 = 16.57434 t C; CH4 = 11.04956 t
    """
    acc, dec = waste.fod_decomposed_t(np.array([[75.0, 0.0, 0.0]]), 0.4)
    assert acc[0] == pytest.approx([75.0, 50.27399, 33.69966], rel=1e-6)
    assert dec[0] == pytest.approx([0.0, 24.72601, 16.57434], rel=1e-6)
    ch4 = waste.landfill_ch4_generated_t(dec[0], 0.5)
    assert ch4 == pytest.approx([0.0, 16.48401, 11.04956], rel=1e-6)
    # eq. 3.1 with 2 t recovered and OX 0.1: (16.48401 - 2) x 0.9 = 13.03561
    assert waste.landfill_ch4_emitted_t(ch4[1], 2.0, 0.1) == pytest.approx(13.03561, rel=1e-6)


def test_fod_matches_recursion_of_eq_3_4():
    """The closed form equals the year-by-year recursion of eqs. 3.4/3.5 as printed."""
    rng = np.random.default_rng(1)
    d = rng.uniform(0, 100, size=(3, 12))
    k = np.array([0.4, 0.07, 0.035])
    acc, dec = waste.fod_decomposed_t(d, k)
    a = np.zeros(3)
    for t in range(12):  # the recursion, for the test only
        decomposed = a * (1 - np.exp(-k))
        a = d[:, t] + a * np.exp(-k)
        assert dec[:, t] == pytest.approx(decomposed)
        assert acc[:, t] == pytest.approx(a)


def test_landfill_fod_constant_deposits_closed_form():
    """The IPCC Waste Model spreadsheet's own worked example was not found in the sources
    searched (IPCC_Waste_Model.xls is not in them, and no national report or EPA/UNFCCC text
    found states its inputs and outputs), so the whole tier sequence (eqs. 3.2, 3.4-3.6, 3.1)
    is checked against the closed form of the FOD for constant deposits instead.

    W t/yr deposited in years 0 .. N-1, DDOCm = W x DOC x DOCf x MCF (eq. 3.2); with eqs.
    3.4/3.5 (decay from the year after deposition) the DDOCm decomposed in year n is
        DDOCm x (1 - e^{-k n})                          for n <= N
        DDOCm x (1 - e^{-k N}) x e^{-k (n - N)}         for n >= N (no more deposits),
    and CH4 = decomposed x F x 16/12 x (1 - OX) (eqs. 3.6, 3.1). At steady state it tends to
    W x DOC x DOCf x MCF x F x 16/12, the mass-balance value of the same waste.

    Unmanaged deep site (MCF 0.8, OX 0: Tables 3.1, 3.2), tropical moist (k food 0.40, paper
    0.07: Table 3.3), DOC food 0.15, paper 0.40 (Table 2.4), DOCf 0.5, F 0.5:
    food 1 000 t/yr -> DDOCm 60 t C/yr, CH4 at most 40 t/yr; paper 500 t/yr -> DDOCm 80 t C/yr,
    CH4 at most 53.333 t/yr.
    """
    first, n_dep, last = 2000, 20, 2029
    years = np.arange(first, first + n_dep)
    disposal = pd.DataFrame(
        {
            "region_code": "350200",
            "year": np.repeat(years, 2),
            "treatment": "landfill_unmanaged_deep",
            "waste_type": np.tile(["food", "paper"], n_dep),
            "quantity_t": np.tile([1000.0, 500.0], n_dep),
            "ch4_recovered_t": 0.0,
        }
    )
    got = waste.landfill_ch4(disposal, "tropical_moist_wet", last).set_index("year")["ch4_t"]
    n = np.arange(last - first + 1)

    def closed_form(ch4_max_t: float, k: float) -> np.ndarray:
        rising = 1.0 - np.exp(-k * np.minimum(n, n_dep))
        return ch4_max_t * rising * np.exp(-k * np.clip(n - n_dep, 0, None))

    expected = closed_form(60 * 0.5 * 16 / 12, 0.40) + closed_form(80 * 0.5 * 16 / 12, 0.07)
    assert got.index.tolist() == list(range(first, last + 1))
    assert got.to_numpy() == pytest.approx(expected, rel=1e-12)
    # year 1 (2001): 40 x (1 - e^-0.4) + 53.333 x (1 - e^-0.07) = 13.18720 + 3.60566 t
    assert got[2001] == pytest.approx(16.79286, rel=1e-6)
    # 2020, the year after the last deposit: food close to its steady state, 40 x (1 - e^-8)
    # = 39.98658 t; paper still rising, 53.333 x (1 - e^-1.4) = 40.18150 t
    assert got[2020] == pytest.approx(39.98658 + 40.18150, rel=1e-6)
    # 2029, nine years without deposits: both decay as e^{-k (n - N)}
    assert got[2029] == pytest.approx(expected[-1]) and got[2029] < got[2020]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0, 1e4), min_size=1, max_size=15),
    st.floats(0.01, 1.0),
)
def test_fod_conserves_carbon(deposits, k):
    """Decomposed so far + still accumulated = deposited so far (mass balance of eq. 3.4)."""
    d = np.array([deposits])
    acc, dec = waste.fod_decomposed_t(d, k)
    assert (np.cumsum(dec[0]) + acc[0]) == pytest.approx(np.cumsum(d[0]), rel=1e-9, abs=1e-6)


def test_incineration_fossil_co2_plastics():
    """Eq. 5.1, Table 2.4 plastics: 1 000 t x dm 1.0 x CF 0.75 x FCF 1.0 x OF 1.0 x 44/12
    = 2 750 t CO2; food waste has no fossil carbon (FCF 0)."""
    assert waste.incineration_fossil_co2_t(1000.0, 1.0, 0.75, 1.0, 1.0) == pytest.approx(2750.0)
    assert waste.incineration_fossil_co2_t(1000.0, 0.4, 0.38, 0.0, 1.0) == 0.0


def test_composting_table_4_1():
    """Table 4.1 composting: 4 g CH4 and 0.24 g N2O per kg wet waste: 10 000 t -> 40 t CH4,
    2.4 t N2O."""
    assert waste.waste_gas_t(1e4, 4.0) == pytest.approx(40.0)
    assert waste.waste_gas_t(1e4, 0.24) == pytest.approx(2.4)


def test_wastewater_ch4_and_n2o_hand_computation():
    """Eqs. 6.1/6.2: (10 000 t COD - 2 000 t) x 0.25 x 0.3 - 50 t = 550 t CH4.

    Eqs. 6.7/6.8: 5 x 10^6 persons x 30 kg protein x 0.16 x 1.4 x 1.25 = 42 000 t N;
    N2O = 42 000 x 0.005 x 44/28 = 330 t.
    """
    assert waste.wastewater_ch4_t(1e4, 2e3, 0.25, 0.3, 50.0) == pytest.approx(550.0)
    n = waste.domestic_effluent_n_t(5e6, 30.0, 0.16, 1.4, 1.25)
    assert n == pytest.approx(42_000.0)
    assert waste.effluent_n2o_t(n, 0.005) == pytest.approx(330.0)


def _disposal(rows):
    t = pd.DataFrame(rows, columns=["region_code", "year", "treatment", "waste_type", "quantity_t"])
    return t.assign(ch4_recovered_t=0.0)


def test_waste_emissions_table_and_notation_keys():
    disposal = _disposal(
        [
            ("350200", 2020, "landfill_managed_anaerobic", "food", 1000.0),
            ("350200", 2022, "incineration", "plastics", 1000.0),
        ]
    )
    ww = pd.DataFrame(
        columns=[
            "region_code",
            "year",
            "stream",
            "treatment",
            "cod_t",
            "sludge_cod_t",
            "ch4_recovered_t",
            "population_10k",
            "protein_kg_per_person_yr",
        ]
    )
    out = waste.waste_emissions(
        disposal, ww, region_code="350200", years=[2021, 2022], climate_zone="tropical_moist_wet"
    ).set_index(["year", "sector", "gas"])
    # 4.A 2021: hand computation above, OX 0.1 (assumed covered managed site): 16.48401 x 0.9
    assert out.loc[(2021, "4.A", "CH4"), "emissions_t"] == pytest.approx(16.48401 * 0.9, rel=1e-6)
    assert out.loc[(2022, "4.A", "CH4"), "notation_key"] == ""  # decay goes on
    assert out.loc[(2022, "4.C", "CO2"), "emissions_t"] == pytest.approx(2750.0)
    assert out.loc[(2021, "4.C", "CO2"), "notation_key"] == "NE"
    assert math.isnan(out.loc[(2021, "4.D", "CH4"), "emissions_t"])
    assert parse_record(out.loc[(2022, "4.B", "N2O"), "method"]) == [("waste_ne_biological", {})]
    assert len(out) == 2 * 8  # (category, gas) pairs: 1 + 2 + 3 + 2


def test_defaults_carry_source_and_unit():
    t = waste.waste_defaults()
    assert (t["source"] != "").all() and (t["unit"] != "").all()
    # every value not taken from a verified table row says so
    assert t.loc[t["assumption"], "note"].str.contains("ASSUMPTION").all()


def test_no_waste_data_is_ne_never_zero():
    from citycarbon.store.lake import _empty_frame

    out = waste.waste_emissions(
        _empty_frame("waste_disposal"),
        _empty_frame("wastewater"),
        region_code="350200",
        years=[2023],
        climate_zone="tropical_moist_wet",
    )
    assert (out["notation_key"] == "NE").all() and out["emissions_t"].isna().all()
    assert out["method"].map(lambda m: record_text(m, "en")).str.startswith("NE: no").all()
    assert out["method"].map(lambda m: record_text(m, "zh")).str.startswith("NE：").all()
