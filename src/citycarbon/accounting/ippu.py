"""IPPU (IPCC sector 2) of a city inventory from enterprises' product output (工业产品产量).

Product statistics name a product, a quantity and a unit. ``data/ippu_products.csv`` (versioned,
one source per row) says which products are IPPU sources, under which IPCC category (2.A.1
cement ... 2.E.2 TFT flat panel displays) and by which method of
:mod:`citycarbon.accounting.process`. Products not in it are not IPPU sources. A product that is
a source but whose unit does not fit the method (integrated circuits in pieces where Tier 1
needs m2 of silicon; flat glass in weight cases) is not converted by guesswork: its category is
reported ``NE`` with the reason.

Electronics Tier 1 (eq. 6.1) applies the complete factor set of the product type, every gas
the factor set lists for it (IPCC: "the Tier 1 factors of a product form one set").

References
----------
[1] IPCC 2006 Guidelines, Vol. 3, Ch. 2 (mineral industry: eqs. 2.1, 2.2, 2.8, glass Tier 1)
    and Ch. 6 (electronics: eq. 6.1, Table 6.2).
[2] GPC (2014/2021), Ch. 9: IPPU emissions are scope 1; BASIC+.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from citycarbon import units
from citycarbon.accounting.balance import DATA_DIR
from citycarbon.accounting.gwp import gwp_set_label, gwp_values
from citycarbon.accounting.process import PROCESSES, process_emissions, process_gas_masses
from citycarbon.errors import UnitError
from citycarbon.factors import FactorProfile
from citycarbon.records import PART_SEP, join_records, message_record

PRODUCTS_CSV = DATA_DIR / "ippu_products.csv"
#: IPPU categories not covered by any mapped product: reported NE under sector "2".
OTHER_SECTOR = "2"
ROW_COLUMNS = [
    "enterprise_code",
    "year",
    "month",
    "sector",
    "gas",
    "scope",
    "emissions_t",
    "emissions_tco2e",
]


@cache
def ippu_products() -> pd.DataFrame:
    """The product map: product, aliases (``|``), category, category_zh, process, material,
    fgas_product, estimable (bool), note_key (the product's note or reason of NE, said by the
    message catalog: ``ippu_note.<key>``), source, version."""
    t = pd.read_csv(PRODUCTS_CSV, dtype=str, keep_default_na=False)
    t["estimable"] = t["estimable"].str.lower().eq("true")
    return t


@cache
def _name_index() -> pd.Series:
    """Normalised product name or alias -> row of :func:`ippu_products`."""
    t = ippu_products()
    names = t["product"] + "|" + t["aliases"]
    long = names.str.split("|").explode()
    long = long[long.str.strip() != ""]
    return pd.Series(long.index, index=_norm(long).to_numpy())


def category_names() -> pd.Series:
    """Chinese name of each IPPU category of the product map, by category code."""
    t = ippu_products().drop_duplicates("category")
    return t.set_index("category")["category_zh"]


def _norm(names: pd.Series) -> pd.Series:
    return names.astype(str).str.strip().str.replace(r"\s+", "", regex=True).str.upper()


def match_products(product: pd.Series) -> pd.DataFrame:
    """Product-map rows of each product name (exact name or alias, blanks and case ignored).

    Returns a frame on the same index with the map's columns; rows of products that are not
    IPPU sources are NaN.
    """
    pos = _name_index().reindex(_norm(product).to_numpy()).to_numpy()
    found = ~pd.isna(pos)
    out = pd.DataFrame(index=product.index, columns=ippu_products().columns, dtype=object)
    if found.any():
        out.iloc[np.flatnonzero(found)] = ippu_products().iloc[pos[found].astype(int)].to_numpy()
    return out


def _unit_dimension(unit: pd.Series) -> pd.Series:
    """Dimension of each unit; '' where citycarbon.units does not know it (no conversion)."""
    dims = {}
    for u in unit.dropna().unique():  # distinct units
        try:
            dims[u] = units.dimension(str(u))
        except UnitError:
            dims[u] = ""
    return unit.map(dims).fillna("")


def ippu_activity(
    output: pd.DataFrame, profile: FactorProfile
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Process activity rows from product output, and the categories that cannot be estimated.

    Parameters
    ----------
    output : enterprise_code, year, month, product, quantity, unit (``industrial_output``)
    profile : factor profile holding the ``fgas_ef`` rows (gas set of each electronics product)

    Returns
    -------
    activity : pandas.DataFrame
        enterprise_code, year, month, sector (IPCC category), product_name, process,
        material, product (electronics product type), quantity, unit - ready for
        :func:`citycarbon.accounting.process.process_emissions`; electronics Tier 1 rows are
        repeated once per gas of the product's factor set.
    not_estimated : pandas.DataFrame
        sector, gas, product_name, unit, reason: one row per mapped product, unit and gas that
        could not be estimated (unit of another dimension or unknown, or the map says so).
    """
    m = match_products(output["product"])
    src = m["category"].notna().to_numpy()
    o = output[src].reset_index(drop=True)
    m = m[src].reset_index(drop=True)
    need = m["process"].map({k: v[0] for k, v in PROCESSES.items()})
    dim = _unit_dimension(o["unit"])
    ok = m["estimable"].astype(bool) & (dim == need)
    gases = _gas_sets(profile)
    act = pd.DataFrame(
        {
            "enterprise_code": o["enterprise_code"].to_numpy(),
            "year": o["year"].to_numpy(),
            "month": o["month"].to_numpy(),
            "sector": m["category"].to_numpy(),
            "product_name": m["product"].to_numpy(),
            "process": m["process"].to_numpy(),
            "material": m["material"].to_numpy(),
            "product": m["fgas_product"].to_numpy(),
            "quantity": o["quantity"].to_numpy(dtype="float64"),
            "unit": o["unit"].to_numpy(),
        }
    )
    good = act[ok.to_numpy()]
    elec = good["process"].str.startswith("electronics").to_numpy()
    tier1 = good[elec].drop(columns="material").merge(gases, on="product", how="inner")
    activity = _concat([good[~elec], tier1])
    bad = act[~ok.to_numpy()].assign(dim=dim[~ok].to_numpy(), need=need[~ok].to_numpy())
    bad = bad.drop_duplicates(["sector", "product_name", "unit", "product"])
    reason = [  # bad holds distinct (category, product, unit) rows: a few
        message_record("ippu_ne_unit", product=p, unit=u, need=n)
        if estimable
        else message_record("ippu_ne_product", product=p, note=k)
        for p, u, n, k, estimable in zip(
            bad["product_name"],
            bad["unit"].astype(str),
            bad["need"],
            m["note_key"].reindex(bad.index),
            m["estimable"].reindex(bad.index).astype(bool),
            strict=True,
        )
    ]
    bad = bad.assign(reason=reason)
    e = bad["process"].str.startswith("electronics").to_numpy()
    ne = _concat(
        [
            bad[e]
            .drop(columns="material")
            .merge(gases.rename(columns={"material": "gas"}), on="product", how="left"),
            bad[~e].assign(gas="CO2"),
        ]
    ).reindex(columns=[*bad.columns, "gas"])
    ne["gas"] = ne["gas"].fillna("CO2")
    return activity, ne[["sector", "gas", "product_name", "unit", "reason"]]


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    keep = [p for p in parts if len(p)]
    return pd.concat(keep, ignore_index=True) if keep else parts[0].iloc[0:0]


def _gas_sets(profile: FactorProfile) -> pd.DataFrame:
    """(product, material = gas) pairs of the profile's Tier 1 electronics factors."""
    t = profile.table
    rows = t.loc[t["parameter"] == "fgas_ef", ["key", "context"]].drop_duplicates()
    return pd.DataFrame({"product": rows["context"].astype(str), "material": rows["key"]})


def ippu_emissions(
    output: pd.DataFrame, profile: FactorProfile, *, source: str = "industrial_output"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """IPPU emissions per enterprise, month, category and gas, and the NE categories.

    E_gas = process method (Tier 1/2 of IPCC 2006 Vol. 3) of the product output; CO2e = E x
    GWP100 of the profile's GWP set.

    Parameters
    ----------
    output : enterprise_code, year, month, product, quantity, unit
    profile : factor profile (``ipcc-2006-ippu`` values and a GWP100 set)

    Returns
    -------
    rows : pandas.DataFrame
        enterprise_code, year, month, sector, gas, scope (1), emissions_t, emissions_tco2e.
    provenance : pandas.DataFrame
        sector, gas, notation_key ('' or 'NE'), method (method, activity assumption, factors
        used and GWP set; or the reason it is not estimated).

    References
    ----------
    IPCC 2006 Guidelines, Vol. 3, Ch. 2 and Ch. 6 (see the module docstring); Vol. 1 Ch. 8.
    """
    activity, ne = ippu_activity(output, profile)
    if activity.empty:
        rows = pd.DataFrame(columns=ROW_COLUMNS)
        prov = pd.DataFrame(columns=["sector", "gas", "notation_key", "method"])
    else:
        res = process_emissions(activity, profile, source=source)
        long = process_gas_masses(res)
        ctx = activity.iloc[long["row"].to_numpy()].reset_index(drop=True)
        gas = long["gas"].astype(str).to_numpy()
        mass = long["mass_t"].to_numpy(dtype="float64")
        tco2e = mass * gwp_values(pd.Series(gas), profile, source=source)
        rows = pd.DataFrame(
            {
                "enterprise_code": ctx["enterprise_code"].to_numpy(),
                "year": ctx["year"].to_numpy(),
                "month": ctx["month"].to_numpy(),
                "sector": ctx["sector"].to_numpy(),
                "gas": gas,
                "scope": 1,
                "emissions_t": mass,
                "emissions_tco2e": tco2e,
            }
        )
        rows = rows.groupby(ROW_COLUMNS[:6], as_index=False)[ROW_COLUMNS[6:]].sum()
        notes = ippu_products().set_index("product")["note_key"]
        used = pd.DataFrame(
            {
                "sector": ctx["sector"].to_numpy(),
                "gas": gas,
                "method": res["method"].astype(str).iloc[long["row"].to_numpy()].to_numpy(),
                "product": ctx["product_name"].astype(str).to_numpy(),
                "factors": res["factors"].astype(str).iloc[long["row"].to_numpy()].to_numpy(),
            }
        ).drop_duplicates()  # a few rows per (category, gas)
        used["text"] = [
            join_records(
                method,
                message_record("ippu_activity", product=product, note=notes.get(product)),
                message_record("factors_used", factors=factors),
            )
            for method, product, factors in zip(
                used["method"], used["product"], used["factors"], strict=True
            )
        ]
        gwp = message_record("gwp_set", gwp=gwp_set_label(profile))
        prov = (
            used.groupby(["sector", "gas"])["text"]
            .agg(lambda s: join_records(*sorted(s)))  # few distinct (category, gas) pairs
            .reset_index()
        )
        prov = prov.assign(
            notation_key="",
            method=message_record("ippu_from_output") + PART_SEP + prov["text"] + PART_SEP + gwp,
        ).drop(columns="text")
    ne_prov = (
        ne.groupby(["sector", "gas"])["reason"]
        .agg(lambda s: join_records(*sorted(set(s))))
        .reset_index()
        .rename(columns={"reason": "method"})
        .assign(notation_key="NE")
    )
    both = prov.merge(ne_prov[["sector", "gas", "method"]], on=["sector", "gas"], how="left")
    partly = both["method_y"].notna().to_numpy()
    prov = prov.assign(
        method=np.where(
            partly,
            both["method_x"]
            + PART_SEP
            + message_record("ippu_partly_ne")
            + PART_SEP
            + both["method_y"],
            prov["method"],
        )
    )
    ne_prov = ne_prov.merge(prov[["sector", "gas"]], how="left", indicator=True)
    ne_prov = ne_prov[ne_prov["_merge"] == "left_only"].drop(columns="_merge")
    return rows, pd.concat([prov, ne_prov], ignore_index=True)
