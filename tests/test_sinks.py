"""Sinks: land stock difference, blue carbon per site, mariculture memo, net emissions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.accounting import sinks


def test_wetlands_supplement_table_4_12_defaults():
    """Tier 1 soil carbon accumulation, IPCC 2013 Wetlands Supplement Ch. 4 Table 4.12:
    mangrove 1.62, tidal marsh 0.91, seagrass 0.43 t C/ha/yr."""
    got = sinks.default("soil_c_rate", list(sinks.ECOSYSTEMS))
    assert got == pytest.approx([1.62, 0.91, 0.43])


def site(**kw) -> pd.DataFrame:
    row = dict(
        region_code="350200",
        site_id="S1",
        site_name="下潭尾",
        year=2024,
        ecosystem="mangrove",
        area_ha=100.0,
        year_planted=np.nan,
        soil_c_rate_tc_per_ha_yr=np.nan,
        biomass_c_rate_tc_per_ha_yr=np.nan,
    )
    row.update(kw)
    return pd.DataFrame([row])


def test_natural_mangrove_sediment_only():
    """100 ha natural mangrove, Tier 1: 100 x 1.62 = 162 t C = 162 x 44/12 = 594 t CO2 removed."""
    out = sinks.blue_carbon_sites(site())
    assert list(out["pool"]) == ["sediment"]
    assert out["co2_t"].iloc[0] == pytest.approx(-594.0)


def test_planted_mangrove_vegetation_and_tier2():
    """Planted 2020: vegetation pool 2024 = 10 ha x 18.1 x (1 + 0.96) x 0.451 = 160.00 t C
    (defaults labelled assumptions); Tier 2 soil rate 2.0 -> 10 x 2.0 = 20 t C."""
    out = sinks.blue_carbon_sites(
        site(area_ha=10.0, year_planted=2020, soil_c_rate_tc_per_ha_yr=2.0)
    ).set_index("pool")
    veg_tc = 10 * 18.1 * 1.96 * 0.451
    assert out.loc["vegetation", "co2_t"] == pytest.approx(-veg_tc * 44 / 12)
    assert out.loc["sediment", "co2_t"] == pytest.approx(-20 * 44 / 12)
    assert out.loc["sediment", "tier"] == "Tier 2"
    # the planting year itself and an old stand: no vegetation gain
    assert sinks.blue_carbon_sites(site(year_planted=2024)).empty
    old = sinks.blue_carbon_sites(site(year_planted=1990))
    assert list(old["pool"]) == ["sediment"]


def test_stock_difference_eq_2_5():
    """Forest 2020: 1 000 ha x 40 t C/ha = 40 000 t C; 2022: 1 010 ha x 41 = 41 410 t C.
    dC = 1 410 / 2 = 705 t C/yr -> -2 585 t CO2/yr in 2022."""
    stocks = pd.DataFrame(
        {
            "region_code": "350200",
            "year": [2020, 2022],
            "land_class": "forest",
            "area_ha": [1000.0, 1010.0],
            "carbon_stock_tc_per_ha": [40.0, 41.0],
        }
    )
    out = sinks.land_stock_difference(stocks)
    assert len(out) == 1 and out["year"].iloc[0] == 2022
    assert out["co2_t"].iloc[0] == pytest.approx(-705 * 44 / 12)
    assert out["sector"].iloc[0] == "3.B.1"


def test_mariculture_is_memo_and_never_netted():
    """Shellfish 1 000 t: 1000 x (0.6 x 0.12 + 0.1 x 0.44) = 116 t C (assumed coefficients)."""
    harvest = pd.DataFrame(
        {
            "region_code": "350200",
            "year": 2024,
            "species_group": ["shellfish"],
            "harvest_t": [1000.0],
        }
    )
    memo = sinks.mariculture_removals(harvest)
    assert memo["co2_t"].iloc[0] == pytest.approx(-116 * 44 / 12)
    net = sinks.net_emissions(pd.Series({2024: 1000.0}), memo)
    assert net["removals_tco2e"].iloc[0] == 0.0 and net["net_tco2e"].iloc[0] == 1000.0


@settings(max_examples=50, deadline=None)
@given(
    st.floats(0, 1e7),
    st.lists(st.floats(0, 1e4), min_size=1, max_size=6),
    st.lists(st.floats(0, 1e4), min_size=0, max_size=4),
)
def test_net_is_gross_plus_removals_once(gross, areas, memo_harvest):
    """Removals are negative, counted once; memo items never change the totals."""
    sites_ = pd.concat(
        [site(site_id=f"S{i}", area_ha=a) for i, a in enumerate(areas)], ignore_index=True
    )
    rows = sinks.blue_carbon_sites(sites_)
    memo = sinks.mariculture_removals(
        pd.DataFrame(
            {
                "region_code": "350200",
                "year": 2024,
                "species_group": "seaweed",
                "harvest_t": pd.Series(memo_harvest, dtype="float64"),
            }
        )
    )
    both = pd.concat([rows, memo], ignore_index=True)
    net = sinks.net_emissions(pd.Series({2024: gross}), both).iloc[0]
    assert net["removals_tco2e"] <= 0
    assert net["removals_tco2e"] == pytest.approx(rows["co2_t"].sum())
    assert net["net_tco2e"] == pytest.approx(gross + rows["co2_t"].sum())
    assert net["gross_tco2e"] == gross
