"""LMDI-I decomposition (Ang 2005, 2015): formulae, perfect decomposition, Kaya factors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.errors import InputError
from citycarbon.pathways.decomposition import (
    decompose_panel,
    kaya_factors,
    lmdi_additive,
    lmdi_multiplicative,
    log_mean,
    sector_factors,
)


def _two_sector():
    """Activity Q, structure S_i, intensity I_i for two sectors (E_i = Q S_i I_i)."""
    f0 = pd.DataFrame(
        {"activity": [100.0, 100.0], "structure": [0.6, 0.4], "intensity": [2.0, 0.5]},
        index=["s1", "s2"],
    )
    ft = pd.DataFrame(
        {"activity": [150.0, 150.0], "structure": [0.5, 0.5], "intensity": [1.6, 0.45]},
        index=["s1", "s2"],
    )
    return f0, ft


def test_log_mean_definition():
    # Ang (2005), footnote to Table 1: L(a, b) = (a - b) / (ln a - ln b), L(a, a) = a
    assert log_mean(200.0, 100.0) == pytest.approx(100.0 / math.log(2.0), rel=1e-12)
    assert log_mean(5.0, 5.0) == 5.0
    assert log_mean(5.0, 0.0) == 0.0


def test_additive_matches_ang_2005_table1_formula_by_hand():
    # Ang (2005) Table 1, additive LMDI-I: dV_k = sum_i L(V_i^T, V_i^0) ln(x_k,i^T / x_k,i^0).
    # E0 = (120, 20), ET = (120, 33.75): evaluated term by term with the math module.
    f0, ft = _two_sector()
    out = lmdi_additive(f0, ft)
    w1 = ((120.0 - 120.0) and 0.0) or 120.0  # L(120, 120) = 120
    w2 = (33.75 - 20.0) / math.log(33.75 / 20.0)
    act = w1 * math.log(1.5) + w2 * math.log(1.5)
    stru = w1 * math.log(0.5 / 0.6) + w2 * math.log(0.5 / 0.4)
    inten = w1 * math.log(1.6 / 2.0) + w2 * math.log(0.45 / 0.5)
    assert out["activity"] == pytest.approx(act, rel=1e-12)
    assert out["structure"] == pytest.approx(stru, rel=1e-12)
    assert out["intensity"] == pytest.approx(inten, rel=1e-12)
    assert out["total"] == pytest.approx(153.75 - 140.0, rel=1e-12)


# Published worked example: Xu, X.Y., Ang, B.W. (2014) Multilevel index decomposition analysis:
# approaches and application. Energy Economics 44, 375-382, doi:10.1016/j.eneco.2014.05.002
# (accepted manuscript, section 5.1 "Example 1: Symmetric hierarchy"). Table 1 ("Multilevel
# decomposition: an illustrative example (arbitrary units)", data from Ang 1995) gives energy E and
# activity A per subsector for year 0 and year T; sector rows are the bracketed sums. Table 2
# ("Single level LMDI-I decomposition results: symmetric hierarchy and Dtot = 1.28") gives the
# multiplicative LMDI-I effects to 4 decimals. The factors are E_i = A x (A_i / A) x (E_i / A_i);
# shares and intensities are derived from E and A because Table 1 prints them rounded
# (e.g. subsector 2, year T: I = 10/8 = 1.25, printed 1.3).
XU_ANG_2014_TABLE1 = {  # name: (E0, A0, ET, AT)
    "subsector 1": (20.0, 5.0, 30.0, 12.0),
    "subsector 2": (10.0, 5.0, 10.0, 8.0),
    "subsector 3": (8.0, 10.0, 15.0, 30.0),
    "subsector 4": (12.0, 30.0, 9.0, 30.0),
}
XU_ANG_2014_SECTORS = {
    "sector 1": ("subsector 1", "subsector 2"),
    "sector 2": ("subsector 3", "subsector 4"),
}
XU_ANG_2014_TABLE2 = {  # level: (Dact, Dstr, Dint)
    "level 1": (1.5998, 1.1183, 0.7154),
    "level 2": (1.5936, 1.2378, 0.6489),
}


def _activity_structure_intensity(energy: pd.Series, activity: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "activity": activity.sum(),
            "structure": activity / activity.sum(),
            "intensity": energy / activity,
        }
    )


@pytest.mark.parametrize("level", ["level 1", "level 2"])
def test_reproduces_xu_ang_2014_table2_multiplicative(level):
    data = pd.DataFrame(XU_ANG_2014_TABLE1, index=["e0", "a0", "et", "at"]).T
    if level == "level 1":
        data = pd.DataFrame(
            {s: data.loc[list(subs)].sum() for s, subs in XU_ANG_2014_SECTORS.items()}
        ).T
        # Table 1 bracketed sector totals: E0 (30, 20), A0 (10, 40), ET (40, 24), AT (20, 60)
        assert data.to_numpy().tolist() == [[30, 10, 40, 20], [20, 40, 24, 60]]
    f0 = _activity_structure_intensity(data["e0"], data["a0"])
    ft = _activity_structure_intensity(data["et"], data["at"])
    mul = lmdi_multiplicative(f0, ft)
    assert mul["total"] == pytest.approx(1.28, abs=5e-5)  # Dtot = 64 / 50, Table 2 caption
    got = mul[["activity", "structure", "intensity"]].to_numpy()
    assert np.round(got, 4).tolist() == list(XU_ANG_2014_TABLE2[level])
    # The additive form of the same data is linked by dV_k = L(V^T, V^0) ln D_k (Ang 2015):
    # it must sum to 64 - 50 = 14.
    add = lmdi_additive(f0, ft)
    assert add[["activity", "structure", "intensity"]].sum() == pytest.approx(14.0, rel=1e-12)


# Independent cross-check: the LMDIR package (M. Heun, an implementation of Ang 2005; MIT),
# tests/testthat/test_lmdi.R, "linear LMDI" and "multiplicative LMDI" expectations computed in its
# LMDI_testing.xlsx for two sub-categories x three factors over 1971-1974.
LMDIR_X = {
    1971: [[1, 10, 2], [4, 5, 3]],
    1972: [[4, 5, 3], [5, 6, 4]],
    1973: [[8, 2, 4], [5, 7, 5]],
    1974: [[10, 1, 5], [6, 8, 6]],
}
LMDIR_ADDITIVE = {
    1972: (69.79006598, -9.455125793, 39.66505981),
    1973: (42.96021467, -34.31902656, 50.3588119),
    1974: (54.01064234, -9.021284671, 54.01064234),
}
LMDIR_MULTIPLICATIVE = {
    1972: (1.761117821, 0.926191306, 1.379410116),
    1973: (1.229284572, 0.847970248, 1.273773912),
    1974: (1.208140223, 0.968911503, 1.208140223),
}


@pytest.mark.parametrize("year", [1972, 1973, 1974])
def test_reproduces_lmdir_reference_values(year):
    cols = ["f1", "f2", "f3"]
    f0 = pd.DataFrame(LMDIR_X[year - 1], columns=cols, index=["s1", "s2"], dtype=float)
    ft = pd.DataFrame(LMDIR_X[year], columns=cols, index=["s1", "s2"], dtype=float)
    add = lmdi_additive(f0, ft)
    mul = lmdi_multiplicative(f0, ft)
    assert add[cols].to_numpy() == pytest.approx(LMDIR_ADDITIVE[year], rel=1e-8)
    assert mul[cols].to_numpy() == pytest.approx(LMDIR_MULTIPLICATIVE[year], rel=1e-8)
    assert add["total"] == pytest.approx({1972: 100, 1973: 59, 1974: 99}[year])


def test_zero_values_follow_ang_zhang_choi_1998_table2():
    # LMDIR test_lmdi.R "Z_byname": with x_11^0 = 0 the new sub-category contributes its whole
    # V^T = 60 through factor 1 (Ang, Zhang & Choi 1998, Table 2); with x_23^T = 0 the vanished
    # one contributes -V^0 = -60 through factor 3. Other rows keep their LMDIR Z values.
    cols = ["f1", "f2", "f3"]
    f0 = pd.DataFrame(LMDIR_X[1971], columns=cols, dtype=float)
    ft = pd.DataFrame(LMDIR_X[1972], columns=cols, dtype=float)
    born = f0.copy()
    born.iloc[0, 0] = 0.0
    add = lmdi_additive(born, ft)
    assert add[cols].to_numpy() == pytest.approx(
        [60 + 19.31568569, 15.78206435, 24.90224996], rel=1e-8
    )
    assert add[cols].sum() == pytest.approx(add["total"])
    gone = ft.copy()
    gone.iloc[1, 2] = 0.0
    add = lmdi_additive(f0, gone)
    assert add[cols].to_numpy() == pytest.approx(
        [50.47438029, -25.23719014, 14.76280986 - 60], rel=1e-8
    )
    assert add[cols].sum() == pytest.approx(add["total"])


def test_single_factor_change_is_attributed_entirely():
    # Doubling activity only: the activity effect is the whole change (100), others zero.
    f0 = pd.DataFrame({"q": [10.0], "i": [10.0]})
    ft = pd.DataFrame({"q": [20.0], "i": [10.0]})
    add = lmdi_additive(f0, ft)
    mul = lmdi_multiplicative(f0, ft)
    assert add["q"] == pytest.approx(100.0) and add["i"] == pytest.approx(0.0, abs=1e-12)
    assert mul["q"] == pytest.approx(2.0) and mul["i"] == pytest.approx(1.0)


positive = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False, allow_infinity=False)
with_zeros = st.one_of(st.just(0.0), positive)


@st.composite
def factor_pairs(draw, values=positive):
    n = draw(st.integers(1, 5))
    k = draw(st.integers(1, 5))
    vals = draw(st.lists(values, min_size=2 * n * k, max_size=2 * n * k))
    a = np.array(vals[: n * k]).reshape(n, k)
    b = np.array(vals[n * k :]).reshape(n, k)
    cols = [f"x{j}" for j in range(k)]
    return pd.DataFrame(a, columns=cols), pd.DataFrame(b, columns=cols)


@settings(max_examples=100, deadline=None)
@given(factor_pairs(values=with_zeros))
def test_perfect_decomposition_property(pair):
    # Ang (2005): LMDI-I gives perfect decomposition (no residual) in both forms, also with
    # zero values handled as in Ang, Zhang & Choi (1998).
    f0, ft = pair
    add = lmdi_additive(f0, ft)
    effects = add.drop("total")
    scale = f0.prod(1).sum() + ft.prod(1).sum()
    assert effects.sum() == pytest.approx(add["total"], rel=1e-9, abs=1e-9 * scale)
    if f0.prod(1).sum() > 0 and ft.prod(1).sum() > 0:
        mul = lmdi_multiplicative(f0, ft)
        assert mul.drop("total").prod() == pytest.approx(mul["total"], rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(factor_pairs())
def test_additive_and_multiplicative_are_linked(pair):
    # Ang (2005) / Ang (2015) section 3: dV_k / ln D_k = L(V^T, V^0) for every factor k.
    f0, ft = pair
    add, mul = lmdi_additive(f0, ft), lmdi_multiplicative(f0, ft)
    lv = float(log_mean(ft.prod(1).sum(), f0.prod(1).sum()))
    for k in f0.columns:
        assert add[k] == pytest.approx(lv * math.log(mul[k]), rel=1e-7, abs=1e-9 * lv)


def test_kaya_factors_multiply_back_to_emissions():
    f = kaya_factors([500.0, 520.0], [8000.0, 8500.0], [1.4e7, 1.45e7], [4.0e7, 4.1e7])
    assert f.prod(axis=1).to_numpy() == pytest.approx([4.0e7, 4.1e7])
    with pytest.raises(InputError, match="gdp"):
        kaya_factors([1.0], [0.0], [1.0], [1.0])


def test_sector_factors_and_chained_panel_add_up():
    rows = []
    for year, va, e, c in (
        (2020, (3000, 5000), (8e6, 4e6), (2.4e7, 1.0e7)),
        (2021, (3200, 5600), (8.2e6, 4.4e6), (2.4e7, 1.1e7)),
        (2022, (3300, 6100), (8.1e6, 4.7e6), (2.3e7, 1.15e7)),
    ):
        gdp = sum(va)
        for s, v, en, em in zip(("ind", "ser"), va, e, c, strict=True):
            rows.append((year, s, 500 + year - 2020, gdp, v, en, em))
    frame = pd.DataFrame(
        rows,
        columns=[
            "year",
            "sector",
            "population",
            "gdp",
            "value_added",
            "energy_tce",
            "emissions_tco2e",
        ],
    )
    panel = pd.concat(
        [sector_factors(g).reset_index().assign(year=y) for y, g in frame.groupby("year")]
    )
    chained = decompose_panel(panel)
    totals = frame.groupby("year")["emissions_tco2e"].sum()
    assert chained["total"].sum() == pytest.approx(totals.iloc[-1] - totals.iloc[0])
    effects = chained.drop(columns=["from", "to", "total"]).sum(axis=1)
    assert effects.to_numpy() == pytest.approx(chained["total"].to_numpy())
    mult = decompose_panel(panel, method="multiplicative", chained=False)
    assert mult["total"].iloc[-1] == pytest.approx(totals.iloc[-1] / totals.iloc[0])


def test_mismatched_inputs_are_refused():
    f0, ft = _two_sector()
    with pytest.raises(InputError, match="same factors"):
        lmdi_additive(f0, ft[["structure", "activity", "intensity"]])
    bad = ft.copy()
    bad.iloc[0, 0] = -1
    with pytest.raises(InputError, match=">= 0"):
        lmdi_additive(f0, bad)
