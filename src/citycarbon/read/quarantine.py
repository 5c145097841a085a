"""The quarantine as users work through it: each rejected row with its status.

A quarantined row is *resolved* once its correction typed into the 数据 page (a one-row batch
named :data:`~citycarbon.contract.inputs.CORRECTION_NAME`) is committed with its row accepted;
*superseded* once a later committed batch holds an accepted row of the same kind with the same
natural key (a re-upload, e.g. of the failed-rows workbook); otherwise it is *open*. The key of a rejected row is read
from the row as written (its headers matched as the ingest matches them, months and whole
numbers parsed, fuel or indicator names mapped to their codes); a row whose key cannot be read
that way stays open. Registry kinds (parks, enterprises, grid nodes, meters) live in the
catalog, not the lake: their rows stay open until a user checks the registry.

Scoping is the access layer's (:func:`citycarbon.read.access.quarantine`): a user sees the rows
of the batches they may see.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa

from citycarbon.contract.inputs import (
    CORRECTION_NAME,
    SCHEMAS,
    VOCABULARIES,
    EitherRule,
    Schema,
    canonical_rows,
    raw_rows,
    resolve_vocabulary,
)
from citycarbon.errors import CitycarbonError
from citycarbon.read import access
from citycarbon.read.access import Principal
from citycarbon.store import lake

STATUSES = ("open", "resolved", "superseded")


def _key_text(schema: Schema, name: str, values: pd.Series) -> pd.Series:
    """A key column's values as comparable text: months ``YYYY-MM``, whole numbers, codes."""
    col = schema.column(name)
    if col.dtype == "month":
        stamp = pd.to_datetime(values.astype("string"), errors="coerce", format="mixed")
        return stamp.dt.strftime("%Y-%m").astype("string")
    if col.dtype == "int64":
        return pd.to_numeric(values, errors="coerce").astype("Int64").astype("string")
    text = values.astype("string").str.strip()
    if col.codes in VOCABULARIES:
        codes, _, _ = resolve_vocabulary(col.codes, pa.array(text, pa.string()))
        return pd.Series(codes.to_numpy(zero_copy_only=False), index=values.index, dtype="string")
    return text


def _keys_of_rows(schema: Schema, raw: pd.Series) -> pd.DataFrame:
    """The natural key of rejected rows of one batch (missing where it cannot be read)."""
    canon, _ = canonical_rows(schema.kind, raw_rows(raw))
    for rule in schema.rules:  # a code given by its name instead (能源名称 for 代码)
        if isinstance(rule, EitherRule) and rule.alternative in canon:
            given = canon.get(rule.column, pd.Series(pd.NA, index=canon.index))
            canon[rule.column] = given.where(given.notna() & (given != ""), canon[rule.alternative])
    return pd.DataFrame(
        {
            k: _key_text(schema, k, canon[k]) if k in canon else pd.Series(pd.NA, index=raw.index)
            for k in schema.natural_key
        },
        index=raw.index,
    ).astype("string")


def _superseded_by(schema: Schema, rows: pd.DataFrame) -> pd.Series:
    """For rejected rows of one lake kind: the later batch whose accepted row has their key."""
    out = pd.Series(pd.NA, index=rows.index, dtype="Int64")
    if schema.registry or any(schema.column(k).dtype == "timestamp" for k in schema.natural_key):
        return out
    keys = pd.concat(
        [_keys_of_rows(schema, part["raw"]) for _, part in rows.groupby("batch_id")]  # batches
    ).reindex(rows.index)
    keys = keys[keys.notna().all(axis=1)]
    if keys.empty:
        return out
    narrow = {
        k: sorted(keys[k].unique())
        for k in schema.natural_key
        if schema.column(k).dtype == "string"
    }
    current = lake.read_current(schema.table, narrow, columns=[*schema.natural_key, "batch_id"])
    if current.empty:
        return out
    later = pd.DataFrame({k: _key_text(schema, k, current[k]) for k in schema.natural_key}).assign(
        covering=current["batch_id"].to_numpy()
    )
    hit = keys.assign(batch_id=rows.loc[keys.index, "batch_id"].to_numpy()).reset_index()
    hit = hit.merge(later, on=list(schema.natural_key), how="inner")
    hit = hit[hit["covering"] > hit["batch_id"]]
    out.loc[hit["index"].to_numpy()] = hit["covering"].to_numpy()
    return out


#: CORRECTION_NAME read back: the kind, batch and row a correction batch's file name gives.
_CORRECTION_RE = re.compile(
    "^"
    + re.escape(CORRECTION_NAME)
    .replace(r"\{kind\}", r"(?P<kind>\w+)")
    .replace(r"\{batch\}", r"(?P<batch_id>\d+)")
    .replace(r"\{row\}", r"(?P<source_row>\d+)")
    + "$"
)


def _resolved_by(principal: Principal, frame: pd.DataFrame) -> pd.Series:
    """For rejected rows: the committed correction batch that accepted their row."""
    fixes = access.batches(principal, status="committed")
    fixes = fixes[(fixes["rows_accepted"] > 0).to_numpy()]
    parts = fixes["source_name"].str.extract(_CORRECTION_RE).dropna()
    if parts.empty or frame.empty:
        return pd.Series(pd.NA, index=frame.index, dtype="Int64")
    links = parts.assign(
        batch_id=parts["batch_id"].astype("int64"),
        source_row=parts["source_row"].astype("int64"),
        fix=fixes.loc[parts.index, "id"].to_numpy(),
    ).drop_duplicates(["kind", "batch_id", "source_row"])  # newest batch first
    hit = frame[["kind", "batch_id", "source_row"]].merge(
        links, on=["kind", "batch_id", "source_row"], how="left"
    )
    return pd.Series(hit["fix"].to_numpy(), index=frame.index).astype("Int64")


def rows(
    principal: Principal,
    *,
    batch_id: int | None = None,
    kind: str | None = None,
    status: str | None = None,
) -> pd.DataFrame:
    """Visible quarantined rows (one per problem) with ``status`` (open / resolved /
    superseded) and ``superseded_by`` (the correction batch, or the batch whose accepted row
    covers the key), filtered by batch, kind and status; NotVisible for a batch outside the
    principal's scope."""
    frame = access.quarantine(principal, batch_id)
    if kind is not None:
        frame = frame[(frame["kind"] == kind).to_numpy()]
    frame = frame.reset_index(drop=True)
    covered = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    for name, part in frame.groupby("kind"):  # the kinds in the quarantine: a handful
        schema = SCHEMAS.get(str(name))
        if schema is None:
            continue
        try:
            covered.loc[part.index] = _superseded_by(schema, part)
        except CitycarbonError:  # headers the ingest would refuse now: the rows stay open
            continue
    resolved = _resolved_by(principal, frame)
    frame = frame.assign(
        status=np.select(
            [resolved.notna().to_numpy(), covered.notna().to_numpy()],
            ["resolved", "superseded"],
            "open",
        ),
        superseded_by=resolved.fillna(covered),
    )
    if status is not None:
        frame = frame[(frame["status"] == status).to_numpy()].reset_index(drop=True)
    return frame


__all__ = ["STATUSES", "rows"]
