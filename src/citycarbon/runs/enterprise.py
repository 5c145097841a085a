"""Enterprise results by IPCC sector and gas, derived from the enterprise accounts.

The enterprise accounts (``enterprise_month_fuel_emissions``, the named query
``store/queries/enterprise_month_fuel_emissions.sql``) are the one computation of an
enterprise's CO2: the 企业 pages, the map, the targets and the nowcast read them, and so does the
city inventory's bottom-up, through :data:`~citycarbon.contract.results.ENTERPRISE_MONTH_GASES`
written here by the same pipeline step: its CO2 rows are the accounts' CO2 (never recomputed),
CH4 and N2O are added from the same fuel burnt
(:func:`citycarbon.accounting.inventory.enterprise_sector_gases`).

Before, the inventory recomputed the enterprises' CO2 from the lake with its own code, and
``citycarbon account`` with a third. The numbers agree now by construction (inventory) or by the
same factor choices (the account: :func:`citycarbon.accounting.enterprise.account_summary`'s
``energy_co2_t``; tests/test_enterprise_consistency.py). Differences that are intended:

- the city inventory books purchased heat where it is produced (1.A.1), so an enterprise's
  inventory CO2 is its account CO2 less purchased heat; its IPPU rows (sector 2, process) are
  not in the enterprise CO2 from energy;
- CH4 and N2O: the inventory uses the stationary-combustion category of the enterprise's IPCC
  sector, the account the 核算指南's industrial category (equal for 1.A.2);
- the platform's enterprise CO2 is location-based; the account also shows market-based scope 2
  with green electricity (uncovered electricity at the MEE/NBS factor excluding market-traded
  non-fossil electricity, :data:`citycarbon.accounting.electricity.RESIDUAL_FACTOR`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from citycarbon.accounting import inventory as inv
from citycarbon.contract.results import ENTERPRISE_MONTH_FUEL, ENTERPRISE_MONTH_GASES
from citycarbon.errors import InputError
from citycarbon.factors import fuels
from citycarbon.store import catalog, lake, query, results


def burnt_fuel(years: Sequence[int] | None, *, settings: Any) -> pd.DataFrame:
    """The fuel each enterprise burnt per month (205-1 consumed total less feedstock, fuels other
    than electricity and heat, quantity > 0), in the fuel's statistical unit, from the lake."""
    cols = ["enterprise_code", "fuel", "consumed_total", "consumed_as_feedstock", "year", "month"]
    em = lake.read_current(
        "energy_monthly",
        {"year": [int(y) for y in years]} if years is not None else None,
        columns=cols,
        lake=settings.lake,
        url=settings.database_url,
    )
    quantity = em["consumed_total"] - em["consumed_as_feedstock"].fillna(0.0)
    keep = ~em["fuel"].isin(inv.NOT_COMBUSTED) & (quantity > 0)
    return em.loc[keep, ["enterprise_code", "year", "month", "fuel"]].assign(
        quantity=quantity[keep]
    )


def compute_accounts(
    engine: Any,
    names: Sequence[str] | None = None,
    *,
    years: Sequence[int] | None,
    city: Any,
    settings: Any,
) -> dict[str, tuple[pd.DataFrame, Any]]:
    """The enterprise results in one transaction: the named queries (``names``: those whose
    views the engine has, by default) and, with the accounts, their rows by sector and gas.

    Returns result name -> (rows, directory written), as :func:`citycarbon.store.query.compute`.
    """
    with results.transaction(lake=settings.lake, factor_profile=city.factor_profile().version):
        out = query.compute(engine, names, lake_dir=settings.lake, year=years)
        if ENTERPRISE_MONTH_FUEL.name in out:  # from the accounts just staged
            gases = sector_gases(years, city=city, settings=settings, write=False)
            path = results.write(ENTERPRISE_MONTH_GASES, gases, partitions=years)
            out[ENTERPRISE_MONTH_GASES.name] = (gases, path)
    return out


def sector_gases(
    years: Sequence[int] | None, *, city: Any, settings: Any, write: bool = True
) -> pd.DataFrame:
    """Write :data:`ENTERPRISE_MONTH_GASES` for ``years`` (None: every year of the accounts)
    from the current enterprise accounts (inside a pipeline run: the ones it just staged).

    Returns the rows written.
    """
    cols = ["enterprise_code", "year", "month", "combustion_co2_t", "electricity_co2_t"]
    accounts = results.current(
        ENTERPRISE_MONTH_FUEL, partitions=years, columns=cols, lake=settings.lake
    )
    reg = catalog.registry_frame("enterprises", url=settings.database_url)
    sectors = inv.enterprise_sectors(reg["industry_code"].fillna("").to_numpy())
    sectors.index = reg["credit_code"].astype(str).to_numpy()
    unknown = sorted(set(accounts["enterprise_code"].astype(str)) - set(sectors.index))
    if unknown:
        raise InputError(
            f"{len(unknown)} enterprise(s) of the 205-1 returns are not in the enterprise "
            f"registry, so their IPCC sector is unknown, e.g. {', '.join(unknown[:3])}: "
            "ingest them (citycarbon ingest enterprises FILE)",
            source="lake table energy_monthly",
            field="enterprise_code",
            value=unknown[0],
        )
    out = inv.enterprise_sector_gases(
        accounts,
        burnt_fuel(years, settings=settings),
        sectors,
        city.factor_profile(),
        fuels()["stat_unit"],
    )
    if write:
        results.write(ENTERPRISE_MONTH_GASES, out, partitions=years, lake=settings.lake)
    return out
