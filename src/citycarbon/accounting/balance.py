"""City energy balance table (能源平衡表): supply, transformation, losses and final consumption.

Rows (items) follow the 地区能源平衡表 of the 中国能源统计年鉴 (NBS), in its order; columns are
fuels (``factors/data/fuels.csv``), quantities in each fuel's statistical unit (t, 10^4 m3,
10^4 kWh, GJ) and in standard coal on two bases: calorific (当量值) and coal equivalent (等价值,
electricity at the year's coal rate of thermal power).

Sign convention (the yearbook's): supply items add to the energy available, items marked (-)
subtract (调出量, 出口量, 境外轮船和飞机在境内的加油量), stock changes are increase (-) / decrease
(+), transformation inputs are negative and outputs positive. A quantity of an item with a fixed
sign is taken by magnitude (a bureau may type 调出量 as 1 000 or -1 000); stock changes and
transformation keep the sign given.

Identities (NBS 能源统计报表制度, 能源平衡表编制方法)::

    可供本地区消费的能源量 A = production + recovery + inflow + import + bunker_abroad
                                - outflow - export - bunker_home + stock decrease
    加工转换投入(-)产出(+)量 T = sum of the transformation rows (signed)
    终端消费量 F = agriculture + industry + construction + transport + commerce + other
                   + residential
    平衡差额 D = A + T - losses - F
    消费量合计 C = F + losses + transformation inputs (per fuel); for all fuels together
                   (合计, tce) C = F + losses - T, i.e. transformation counts by its loss only.

The item list is data: ``accounting/data/balance_items.csv`` (code, order, Chinese and English
names, group, sign, parent, aliases, IPCC sector of the fuel burnt, CH4/N2O source category).

References
----------
[1] 国家统计局能源统计司《中国能源统计年鉴》, 地区能源平衡表 (实物量) and its notes on the
    items (主要统计指标解释: 可供本地区消费的能源量, 加工转换投入产出量, 损失量, 终端消费量,
    平衡差额).
[2] GB/T 2589-2020 综合能耗计算通则, terms 当量值 / 等价值 and Annex A.
[3] IEA / Eurostat / UNECE, Energy Statistics Manual (2004), Ch. 7 (commodity and energy
    balances; statistical difference).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from citycarbon.errors import InputError, UnknownCodeError

DATA_DIR = Path(__file__).parent / "data"
KEYS = ["region_code", "year", "fuel"]
TCE_BASES = ("calorific", "coal_equivalent")
TOTAL_FUEL = "total"  # the 合计 column (tce only)


@cache
def balance_items() -> pd.DataFrame:
    """The items of the balance table, indexed by code, in 统计年鉴 order."""
    t = pd.read_csv(DATA_DIR / "balance_items.csv", dtype=str, keep_default_na=False)
    t["order"] = t["order"].astype("int64")
    t["sign"] = t["sign"].astype("int64")
    return t.set_index("code").sort_values("order")


@cache
def industry_items() -> pd.DataFrame:
    """GB/T 4754-2017 prefixes -> balance item, IPCC sector and transformation process."""
    t = pd.read_csv(DATA_DIR / "industry_balance_items.csv", dtype=str, keep_default_na=False)
    return t.assign(length=t["prefix"].str.len()).sort_values("length", ascending=False)


def item_of_industry(industry_code) -> pd.DataFrame:
    """Balance item, IPCC sector and transformation process of GB/T 4754-2017 industry codes.

    The longest matching prefix of ``industry_items()`` wins (``D4411`` before ``D``).

    Returns
    -------
    pandas.DataFrame
        Same index: ``item``, ``ipcc_sector``, ``transformation`` ('' for none; ``a+b`` for
        combined heat and power).

    Raises
    ------
    UnknownCodeError
        An industry code no prefix matches (names the first one).
    """
    given = pd.Series(industry_code, copy=False)
    position, distinct = pd.factorize(given.astype(str), use_na_sentinel=False)
    codes = pd.Series(distinct).str.strip().str.upper()  # distinct codes only
    table = industry_items()
    out = pd.DataFrame(index=codes.index, columns=["item", "ipcc_sector", "transformation"])
    todo = np.ones(len(codes), dtype=bool)
    for _, row in table.iterrows():  # tens of prefixes, not data rows
        hit = todo & codes.str.startswith(row["prefix"]).to_numpy()
        if hit.any():
            out.loc[hit, ["item", "ipcc_sector", "transformation"]] = [
                row["item"],
                row["ipcc_sector"],
                row["transformation"],
            ]
            todo &= ~hit
    if todo.any():
        bad = codes.iloc[int(np.argmax(todo))]
        raise UnknownCodeError("industry (GB/T 4754-2017)", bad, table["prefix"], field="industry")
    return out.iloc[position].set_index(given.index)


def book_enterprise_use(industry_code, fuel, consumed) -> pd.DataFrame:
    """Balance item of each enterprise energy-use row (205-1 消费量合计), signed as in the table.

    Fuels burnt by power and heat plants (industries with a transformation process: D4411,
    D4412, D4430) are transformation inputs, booked negative under ``transformation`` (the
    split of combined heat and power between 火力发电 and 供热 is not in the returns); their
    electricity and heat, and all use of other industries, are final consumption of the item
    of the industry (:func:`item_of_industry`).

    Returns
    -------
    pandas.DataFrame
        Same index as ``consumed``: ``item``, ``quantity``.

    References
    ----------
    国家统计局 能源统计报表制度: 205-1表 消费量 and the 能源平衡表 items (加工转换投入, 终端消费).
    """
    consumed = pd.Series(consumed, copy=False)
    booked = item_of_industry(pd.Series(industry_code).to_numpy())
    fuel = pd.Series(fuel).to_numpy()
    burnt = (booked["transformation"].to_numpy() != "") & ~np.isin(fuel, ["electricity", "heat"])
    q = consumed.to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "item": np.where(burnt, "transformation", booked["item"].to_numpy()),
            "quantity": np.where(burnt, -q, q),
        },
        index=consumed.index,
    )


def resolve_items(values, *, source: str | None = None) -> pd.Series:
    """Item codes for codes, Chinese or English names and aliases of balance items."""
    items = balance_items()
    spell: dict[str, str] = {}
    for code, row in items.iterrows():  # the item list: tens of rows
        for w in (code, row["zh"], row["en"], *row["aliases"].split(";")):
            if w.strip():
                spell.setdefault(w.strip().lower(), code)
    s = pd.Series(values, copy=False).astype(str).str.strip()
    out = s.str.lower().map(spell)
    if out.isna().any():
        row = s.index[int(np.argmax(out.isna().to_numpy()))]
        raise UnknownCodeError("balance item", s[row], list(spell), source=source, row=row)
    return out


def signed_quantity(quantity, sign) -> np.ndarray:
    """Quantity in the yearbook's sign convention: items of fixed sign by magnitude.

    q' = |q| where sign = +1, -|q| where sign = -1, q where sign = 0 (stock change,
    transformation: signed as given).
    """
    q = np.asarray(quantity, dtype="float64")
    s = np.asarray(sign)
    return np.where(s > 0, np.abs(q), np.where(s < 0, -np.abs(q), q))


def complete_balance(entries: pd.DataFrame, *, rel_tol: float = 0.01) -> pd.DataFrame:
    """The full balance of each region, year and fuel from the items given, with checks.

    Parameters
    ----------
    entries : pandas.DataFrame
        Columns ``region_code``, ``year``, ``item`` (code of :func:`balance_items`), ``fuel``,
        ``quantity`` (the fuel's statistical unit). Items not given are zero (an empty cell of
        the table). Parent items (工业, 居民生活) may be given, or left to the sum of their
        children; derived items (可供消费, 加工转换, 终端消费, 平衡差额, 消费量合计) are
        computed, and where also given, the given value is compared with the computed one.
    rel_tol : float
        Tolerance of the checks, relative to the larger of the energy available and the
        consumption (final + losses) of the fuel.

    Returns
    -------
    pandas.DataFrame
        One row per region, year, fuel and item (every item of the table): ``region_code``,
        ``year``, ``fuel``, ``item``, ``quantity`` (signed), ``given`` (the item was in the
        input), ``flag`` ('' or why the cell is inconsistent: ``residual`` on 平衡差额 beyond
        the tolerance, ``reported <x> != computed <y>`` on a given derived or parent item,
        ``negative`` on a negative final consumption).

    References
    ----------
    国家统计局《中国能源统计年鉴》 地区能源平衡表 and its 主要统计指标解释 (see the module).
    """
    missing = [c for c in (*KEYS, "item", "quantity") if c not in entries.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", field=missing[0])
    items = balance_items()
    unknown = ~entries["item"].isin(items.index)
    if unknown.any():
        row = entries.index[int(np.argmax(unknown.to_numpy()))]
        raise UnknownCodeError("balance item", entries.at[row, "item"], items.index, row=row)
    q = pd.to_numeric(entries["quantity"], errors="coerce")
    if q.isna().any():
        row = entries.index[int(np.argmax(q.isna().to_numpy()))]
        raise InputError(
            "quantity is not a number", row=row, field="quantity", value=entries.at[row, "quantity"]
        )
    signed = signed_quantity(q, items["sign"].reindex(entries["item"]).to_numpy())
    long = entries[[*KEYS, "item"]].assign(quantity=signed)
    wide = long.pivot_table(index=KEYS, columns="item", values="quantity", aggfunc="sum")
    given = wide.notna()
    wide = wide.reindex(columns=items.index).fillna(0.0)
    given = given.reindex(columns=items.index, fill_value=False)
    flags = pd.DataFrame("", index=wide.index, columns=items.index)
    for frame in (wide, given, flags):
        frame.columns.name = "item"

    def fill_parent(parent: str, children: list[str]) -> None:
        kids = [c for c in children if c in wide.columns]
        child_sum = wide[kids].sum(axis=1)
        any_child = given[kids].any(axis=1)
        use_children = any_child & ~given[parent]
        both = any_child & given[parent]
        _flag_mismatch(flags, parent, both, wide[parent], child_sum, rel_tol)
        wide.loc[use_children, parent] = child_sum[use_children]

    parent = items["parent"]
    fill_parent("industry", list(items.index[(parent == "industry") & (items["group"] == "final")]))
    fill_parent("residential", list(items.index[parent == "residential"]))

    derived = {
        "available": wide[list(items.index[items["group"] == "supply"])].sum(axis=1),
        "transformation": wide[list(items.index[items["group"] == "transformation"])].sum(axis=1),
        "final": wide[list(items.index[(parent == "final") & (items["group"] == "final")])].sum(
            axis=1
        ),
    }
    derived["statistical_difference"] = (
        derived["available"] + derived["transformation"] - wide["losses"] - derived["final"]
    )
    inputs = -wide[list(items.index[items["group"] == "transformation"])].clip(upper=0).sum(axis=1)
    derived["total_consumption"] = derived["final"] + wide["losses"] + inputs
    scale = np.maximum(derived["available"].abs(), (derived["final"] + wide["losses"]).abs())
    scale = np.maximum(scale, 1e-9)
    for name, value in derived.items():
        if name == "statistical_difference":
            if given[name].any():
                _flag_mismatch(flags, name, given[name], wide[name], value, rel_tol, scale)
        else:
            _flag_mismatch(flags, name, given[name], wide[name], value, rel_tol, scale)
        wide[name] = value
    residual = (derived["statistical_difference"].abs() > rel_tol * scale) & (
        flags["statistical_difference"] == ""
    )
    flags.loc[residual, "statistical_difference"] = "residual"
    finals = items.index[items["group"] == "final"]
    neg = wide[finals] < 0
    flags[finals] = flags[finals].mask(neg & (flags[finals] == ""), "negative")
    out = wide.stack().rename("quantity").to_frame()
    out["given"] = given.stack()
    out["flag"] = flags.stack()
    out = out.reset_index()
    out["order"] = items["order"].reindex(out["item"]).to_numpy()
    return (
        out.sort_values([*KEYS[:2], "order", "fuel"]).drop(columns="order").reset_index(drop=True)
    )


def _flag_mismatch(
    flags: pd.DataFrame,
    column: str,
    where: pd.Series,
    reported: pd.Series,
    computed: pd.Series,
    rel_tol: float,
    scale: pd.Series | None = None,
) -> None:
    if not where.any():
        return
    base = scale if scale is not None else np.maximum(computed.abs(), reported.abs())
    bad = where & ((reported - computed).abs() > rel_tol * np.maximum(base, 1e-9))
    if bad.any():
        text = [
            f"reported {r:.6g} != computed {c:.6g}"
            for r, c in zip(reported[bad], computed[bad], strict=True)
        ]
        flags.loc[bad, column] = text


def balance_tce(balance: pd.DataFrame, coefficients: pd.DataFrame) -> pd.DataFrame:
    """Standard coal of every cell on both bases, and the 合计 (all fuels) column.

    tce = quantity x k, with k the standard-coal coefficient of the fuel per statistical unit:
    当量值 (``calorific``) for every fuel, and on the ``coal_equivalent`` (等价值) basis the
    year's primary-energy coefficient for electricity (GB/T 2589-2020; 按当年火电发电标准煤耗).

    Parameters
    ----------
    balance : pandas.DataFrame
        Output of :func:`complete_balance`.
    coefficients : pandas.DataFrame
        Columns ``year``, ``fuel``, ``tce_basis`` ('calorific' | 'coal_equivalent'),
        ``tce_per_unit`` [tce per statistical unit of the fuel].

    Returns
    -------
    pandas.DataFrame
        The balance rows once per basis with ``tce_basis`` and ``tce``, plus rows with
        ``fuel = 'total'`` (quantity NaN) holding the sum over fuels; for 消费量合计 the
        total is the energy consumption C = F + losses - T (transformation counted by its loss).

    Raises
    ------
    InputError
        A fuel and year of the balance without a coefficient on a basis.
    """
    rows = []
    for basis in TCE_BASES:
        coef = coefficients[coefficients["tce_basis"] == basis]
        k = coef.set_index(["year", "fuel"])["tce_per_unit"]
        idx = pd.MultiIndex.from_arrays([balance["year"], balance["fuel"]])
        per = k.reindex(idx).to_numpy()
        if np.isnan(per).any():
            i = int(np.argmax(np.isnan(per)))
            raise InputError(
                f"no {basis} standard-coal coefficient for {balance['fuel'].iloc[i]} in "
                f"{balance['year'].iloc[i]}",
                field="fuel",
                value=balance["fuel"].iloc[i],
            )
        rows.append(balance.assign(tce_basis=basis, tce=balance["quantity"].to_numpy() * per))
    both = pd.concat(rows, ignore_index=True)
    total = both.groupby(["region_code", "year", "tce_basis", "item"], as_index=False)["tce"].sum()
    wide = total.pivot_table(
        index=["region_code", "year", "tce_basis"], columns="item", values="tce", aggfunc="sum"
    )
    energy = wide["final"] + wide["losses"] - wide["transformation"]
    energy = energy.rename("tce").reset_index().assign(item="total_consumption")
    total = total.set_index(["region_code", "year", "tce_basis", "item"])
    total.loc[energy.set_index(["region_code", "year", "tce_basis", "item"]).index, "tce"] = energy[
        "tce"
    ].to_numpy()
    total = total.reset_index().assign(fuel=TOTAL_FUEL, quantity=np.nan, given=False, flag="")
    flagged = both[both["flag"] != ""].groupby(["region_code", "year", "tce_basis", "item"]).size()
    if len(flagged):
        hit = pd.MultiIndex.from_frame(total[["region_code", "year", "tce_basis", "item"]]).isin(
            flagged.index
        )
        total.loc[hit, "flag"] = "see fuels"
    out = pd.concat([both, total[both.columns]], ignore_index=True)
    out["order"] = balance_items()["order"].reindex(out["item"]).to_numpy()
    out = out.sort_values(["region_code", "year", "tce_basis", "order", "fuel"])
    return out.drop(columns="order").reset_index(drop=True)


def energy_indicators(balance_tce_rows: pd.DataFrame, fuel_info: pd.DataFrame) -> pd.DataFrame:
    """Energy consumption, coal share and local non-fossil share per region, year and basis.

    - energy_consumption_tce = C of the 合计 column (F + losses - T);
    - coal_share = sum over coal and coal-gas fuels of (F + losses - T) / C;
    - nonfossil_share = primary production of non-fossil carriers (local hydro, wind, solar,
      nuclear electricity and non-fossil heat: 一次能源生产量 of fuels with fossil = false) / C.
      Imported electricity is counted at its conversion coefficient in C but not in the
      non-fossil numerator (its generation mix is not in the balance).

    Parameters
    ----------
    balance_tce_rows : output of :func:`balance_tce`
    fuel_info : fuels.csv table indexed by fuel code (``category``, ``fossil``)

    Returns
    -------
    pandas.DataFrame
        region_code, year, tce_basis, energy_consumption_tce, coal_tce, nonfossil_tce,
        coal_share, nonfossil_share.
    """
    b = balance_tce_rows
    keys = ["region_code", "year", "tce_basis"]
    per_fuel = b[b["fuel"] != TOTAL_FUEL]
    wide = per_fuel.pivot_table(
        index=[*keys, "fuel"], columns="item", values="tce", aggfunc="sum"
    ).fillna(0.0)
    use = (wide["final"] + wide["losses"] - wide["transformation"]).rename("use").reset_index()
    category = fuel_info["category"].reindex(use["fuel"]).to_numpy()
    fossil = fuel_info["fossil"].astype(str).str.lower().eq("true").reindex(use["fuel"]).to_numpy()
    use["coal"] = np.where(np.isin(category, ["coal", "coal_gas"]), use["use"], 0.0)
    prod = wide["production"].reset_index(drop=True).to_numpy()
    use["nonfossil"] = np.where(fossil == False, prod, 0.0)  # noqa: E712 (array of bool/None)
    out = use.groupby(keys, as_index=False)[["use", "coal", "nonfossil"]].sum()
    out = out.rename(
        columns={"use": "energy_consumption_tce", "coal": "coal_tce", "nonfossil": "nonfossil_tce"}
    )
    c = out["energy_consumption_tce"].where(out["energy_consumption_tce"] != 0)
    out["coal_share"] = out["coal_tce"] / c
    out["nonfossil_share"] = out["nonfossil_tce"] / c
    return out
