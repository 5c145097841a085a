"""Green finance on request: the low/zero/negative-carbon class and the green credit score of
the enterprises a bank (or a city-wide user) reads, from the rows of
:func:`citycarbon.read.finance.overview`. Computed per request like the nowcast vintages (no
result is stored yet).

The class nets green electricity (already in ``net_co2_t``), the enterprise's own sinks and the
certified offsets retired for it in the overview's year (lake table ``enterprise_offsets``;
only the rule set's accepted offset types count); :func:`evidence` lists what each class rests
on.
"""

from __future__ import annotations

import pandas as pd

from citycarbon.accounting import electricity as elec
from citycarbon.config.settings import get_settings
from citycarbon.finance import credit
from citycarbon.rating import classification as cl
from citycarbon.store import lake

_PAIR = ["enterprise_code", "year"]


def _of_overview(table: str, overview: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Rows of a lake table for the (enterprise, year) pairs of the overview."""
    settings = get_settings()
    pairs = overview[_PAIR].dropna().astype({"year": "int64"})
    if pairs.empty:
        return pd.DataFrame(columns=[*_PAIR, *columns])
    rows = lake.read_current(
        table,
        {
            "year": sorted(set(pairs["year"])),
            "enterprise_code": sorted(set(pairs["enterprise_code"])),
        },
        columns=[*columns, "enterprise_code", "year"],
        lake=settings.lake,
        url=settings.database_url,
    )
    rows["year"] = rows["year"].astype("int64")
    return rows.merge(pairs, on=_PAIR, how="inner")


def offsets_and_sinks(overview: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The overview year's retired offsets (``serial``, ``instrument``, ``tco2``) and own sinks
    (``site``, ``kind``, ``tco2``) of its enterprises."""
    rows = _of_overview("enterprise_offsets", overview, ["kind", "instrument", "reference", "tco2"])
    is_offset = rows["kind"] == "offset"
    offsets = rows[is_offset].rename(columns={"reference": "serial"})
    sinks = (
        rows[~is_offset]
        .drop(columns="kind")
        .rename(columns={"reference": "site", "instrument": "kind"})
    )
    return offsets, sinks


Held = tuple[pd.DataFrame, pd.DataFrame]


def green_credit(overview: pd.DataFrame, held: Held | None = None) -> pd.DataFrame:
    """``overview`` with ``carbon_class`` (negative | zero | low | ''), the classification rule
    set, the sinks and accepted offsets netted, the points and contributions of each score
    component and ``green_credit_score``. ``held``: the overview's
    :func:`offsets_and_sinks`, when the caller has read them already."""
    rules = cl.classification_rules()
    offsets, sinks = held if held is not None else offsets_and_sinks(overview)
    classified = cl.classify(
        overview,
        sinks.groupby("enterprise_code")["tco2"].sum(),
        cl.accepted_offsets_t(offsets, rules),
        rules,
    ).rename(columns={"rules": "classification_rules"})
    return credit.green_credit_score(classified, credit.credit_rules())


def evidence(overview: pd.DataFrame, held: Held | None = None) -> pd.DataFrame:
    """What the classes of the overview's enterprises rest on, one row per instrument: green
    electricity bought in the year (each certificate once; deals without a certificate id summed
    per enterprise and type, ``records`` counting them), accepted offsets retired, own sinks
    (:func:`citycarbon.rating.classification.evidence`). ``held`` as in :func:`green_credit`
    (rows of other enterprises are left out)."""
    green = elec.instruments_counted_once(
        _of_overview(
            "green_electricity", overview, ["mwh", "instrument", "certificate_id", "month"]
        )
    )
    offsets, sinks = held if held is not None else offsets_and_sinks(overview)
    codes = overview["enterprise_code"]
    offsets = offsets[offsets["enterprise_code"].isin(codes)]
    sinks = sinks[sinks["enterprise_code"].isin(codes)]
    rows = cl.evidence(green, offsets, sinks, cl.classification_rules())
    # instruments without a reference (monthly green-power deals) summed per enterprise and type
    keys = ["enterprise_code", "kind", "instrument", "unit"]
    blank = rows["reference"].fillna("") == ""
    summed = (
        rows[blank]
        .groupby(keys, as_index=False, dropna=False)
        .agg(quantity=("quantity", "sum"), records=("quantity", "size"))
        .assign(reference="")
    )
    out = pd.concat([rows[~blank].assign(records=1), summed], ignore_index=True)
    return out.sort_values(["enterprise_code", "kind", "reference"]).reset_index(drop=True)[
        [*cl.EVIDENCE_COLUMNS, "records"]
    ]


def score_weights() -> dict[str, float]:
    """The weights of the green credit score's components (shown beside the scores)."""
    return dict(credit.credit_rules()["weights"])


def published(scored: pd.DataFrame, consenting: frozenset[str]) -> pd.DataFrame:
    """The rows of :func:`green_credit` that may be published: a class, and a valid
    publication consent."""
    return cl.publishable(scored, consenting)
