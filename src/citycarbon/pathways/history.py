"""The city's long history: the inventory years spliced onto the statistical-yearbook series.

The inventory is the city's own accounting and covers a few recent years; the yearbook series
(统计年鉴 / 统计公报, ingest kind ``yearbook_series``) reaches further back. Each year takes its
emissions and energy from the inventory where the inventory has the year, else from the series
(IPCC 2006 Vol. 1 Ch. 5: a time series from more than one source, the source of each year
stated); the drivers (population, GDP at comparable prices, urbanisation, industrial share)
come from the series for every year, so one price basis runs through the whole sample.

References
----------
[1] IPCC (2006) Guidelines Vol. 1 Ch. 5, Time series consistency, 5.3 (splicing sources).
[2] York, Rosa & Dietz (2003), STIRPAT drivers (population, affluence, technology).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon import units
from citycarbon.errors import InputError

#: Columns of a driver series by year (:func:`series_drivers`).
SERIES_COLUMNS = [
    "year",
    "population",
    "gdp",
    "gdp_base_year",
    "urbanisation",
    "industrial_share",
    "energy_tce",
    "emissions_tco2e",
    "citation",
]


def series_drivers(rows: pd.DataFrame) -> pd.DataFrame:
    """The yearbook series of one city in the model's units, by year.

    ``population`` [10^4 persons], ``gdp`` [10^8 CNY, comparable prices of ``gdp_base_year``],
    ``urbanisation`` and ``industrial_share`` [fraction], ``energy_tce`` [tce] and
    ``emissions_tco2e`` [t CO2] and ``citation`` (the row's ``source``, where its figures are
    published) from the stored columns of kind ``yearbook_series``.

    Raises :class:`InputError` when the rows mix GDP base years (comparable prices of two years
    cannot share one regression).
    """
    bases = sorted(rows["gdp_base_year"].dropna().astype(int).unique())
    if len(bases) > 1:
        raise InputError(
            f"the yearbook series gives GDP at the comparable prices of {bases}: upload the "
            "whole series at one base year",
            source="yearbook_series",
            field="gdp_base_year",
            value=bases,
        )
    out = pd.DataFrame(
        {
            "year": rows["year"].astype(int).to_numpy(),
            "population": rows["population_1e4"].to_numpy(dtype=float),
            "gdp": rows["gdp_comparable_1e8_cny"].to_numpy(dtype=float),
            "gdp_base_year": rows["gdp_base_year"].to_numpy(),
            "urbanisation": units.convert(rows["urbanisation_rate_pct"].to_numpy(float), "%", "1"),
            "industrial_share": units.convert(
                rows["secondary_share_pct"].to_numpy(float), "%", "1"
            ),
            "energy_tce": units.convert(
                rows["energy_consumption_1e4_tce"].to_numpy(float), "10^4 tce", "tce"
            ),
            "emissions_tco2e": units.convert(rows["co2_1e4_t"].to_numpy(float), "10^4 t", "t"),
            "citation": rows.get("source", pd.Series("", index=rows.index))
            .fillna("")
            .astype(str)
            .to_numpy(),
        }
    )
    return out.sort_values("year").reset_index(drop=True)


def splice_history(inventory: pd.DataFrame, series: pd.DataFrame) -> pd.DataFrame:
    """Inventory years spliced onto a driver series (see the module docstring).

    Parameters
    ----------
    inventory : DataFrame   ``year, emissions_tco2e, energy_tce`` of the inventory years
    series : DataFrame      :data:`SERIES_COLUMNS` (missing values NaN)

    Returns
    -------
    DataFrame
        One row per year of either input, ascending: the series' drivers, ``emissions_tco2e``
        and ``energy_tce`` (the inventory's where it has the year, else the series'; NaN
        where neither gives one) and ``source`` (``inventory`` or ``series``).
    """
    inv = inventory.set_index("year")[["emissions_tco2e", "energy_tce"]]
    s = series.set_index("year")
    years = inv.index.union(s.index)
    out = s.drop(columns=["emissions_tco2e", "energy_tce"]).reindex(years)
    own = np.isin(years, inv.index)
    for col in ("emissions_tco2e", "energy_tce"):  # two columns
        out[col] = inv[col].reindex(years).where(own, s[col].reindex(years))
    out["source"] = np.where(own, "inventory", "series")
    return out.rename_axis("year").reset_index()
