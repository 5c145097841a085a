"""Meter-reading checks and the declared gap-filling rule (电表数据质量检查与缺测补齐规则).

Interval meter readings (``meter_id``, ``ts``, ``kwh``; one row per interval, ``ts`` the interval
start) arrive with gaps, duplicates, clock problems and the odd negative value. Nothing here
repairs data silently:

- :func:`meter_quality_report` lists every problem as one row ``meter_id, issue, from, to,
  count`` (issues: ``negative``, ``duplicate``, ``conflicting_duplicate``, ``misaligned``,
  ``dst_nonexistent``, ``dst_ambiguous``, ``gap``, ``gap_filled``).
- :func:`fill_gaps` applies the one declared rule: a run of at most ``max_fill_intervals``
  missing readings between two good readings is filled by linear interpolation between them
  (flagged ``filled``); a longer run stays missing and is reported as ``gap``. The rule's
  parameters come from the city configuration (``power.meters`` in the city YAML), not code.

Clock conventions. Timestamps that carry a time zone are converted to UTC. Naive timestamps are
local clock time of ``timezone`` (the meter system's wall clock): in a zone with daylight-saving
time, a spring-forward hour does not exist (``dst_nonexistent``) and a fall-back hour occurs
twice (``dst_ambiguous``); both are reported and the rows are kept out of the readings (their UTC
instant is unknowable). A reading whose ``ts`` is not on the interval grid (e.g. a ``+05:30``
offset or a clock running minutes off) is ``misaligned`` and kept out too.

Linear interpolation of a run of ``k`` missing readings between neighbours ``a`` and ``b``
gives ``a + (b - a) j / (k + 1)``, ``j = 1..k``; its sum is ``k (a + b) / 2``.

References
----------
[1] DL/T 645-2007 多功能电能表通信协议 (interval energy registers, time stamp = interval start
    in the meter's clock).
[2] IEC 61968-9:2013 Application integration at electric utilities – Meter reading and control
    (reading quality codes: estimated/validated/missing), the idea behind the ``filled`` flag.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.errors import InputError

REPORT_COLUMNS = ["meter_id", "issue", "from", "to", "count"]
ISSUES = (
    "negative",
    "duplicate",
    "conflicting_duplicate",
    "misaligned",
    "dst_nonexistent",
    "dst_ambiguous",
    "gap",
    "gap_filled",
)


def _interval_ns(interval: str) -> int:
    try:
        ns = int(pd.Timedelta(interval).value)
    except (ValueError, TypeError):
        raise InputError(
            "interval must be a duration like '1h' or '15min'", field="interval", value=interval
        ) from None
    if ns <= 0:
        raise InputError("interval must be positive", field="interval", value=interval)
    return ns


def _report(meter_id, issue, start, end, count) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "meter_id": np.asarray(meter_id, dtype=object),
            "issue": np.asarray(issue, dtype=object)
            if not isinstance(issue, str)
            else np.full(len(meter_id), issue, dtype=object),
            "from": pd.to_datetime(np.asarray(start), utc=True),
            "to": pd.to_datetime(np.asarray(end), utc=True),
            "count": np.asarray(count, dtype="int64"),
        }
    )


def to_utc(ts: pd.Series, timezone: str) -> tuple[pd.Series, pd.Series]:
    """Timestamps as UTC, and which naive local times are DST-invalid.

    Parameters
    ----------
    ts : pandas.Series of datetime
        Aware timestamps (any zone) or naive local clock times of ``timezone``.
    timezone : str
        IANA zone of naive timestamps (e.g. ``Asia/Shanghai``, ``Europe/Berlin``).

    Returns
    -------
    (utc, problem) : (pandas.Series, pandas.Series of str)
        ``utc`` is NaT where ``problem`` is ``dst_nonexistent`` or ``dst_ambiguous``; ``problem``
        is "" elsewhere.
    """
    ts = pd.to_datetime(ts)
    ts = ts.dt.as_unit("ns")  # epoch arithmetic below is in nanoseconds
    problem = pd.Series("", index=ts.index, dtype=object)
    if ts.dt.tz is not None:
        return ts.dt.tz_convert("UTC"), problem
    nonexistent = ts.dt.tz_localize(timezone, nonexistent="NaT", ambiguous="NaT")
    # distinguish the two kinds: an ambiguous time localises with ambiguous=True/False both
    early = ts.dt.tz_localize(timezone, nonexistent="NaT", ambiguous=np.ones(len(ts), dtype=bool))
    bad = nonexistent.isna() & ts.notna()
    problem[bad & early.isna()] = "dst_nonexistent"
    problem[bad & early.notna()] = "dst_ambiguous"
    return nonexistent.dt.tz_convert("UTC"), problem


def meter_quality_report(
    readings: pd.DataFrame,
    *,
    interval: str = "1h",
    timezone: str = "UTC",
    max_fill_intervals: int = 0,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Every problem in a set of interval readings, one row per problem and meter.

    Parameters
    ----------
    readings : pandas.DataFrame
        ``meter_id``, ``ts`` (interval start; aware, or naive local time of ``timezone``),
        ``kwh``.
    interval : str
        Reading interval (pandas duration: ``1h``, ``15min``).
    timezone : str
        Zone of naive timestamps.
    max_fill_intervals : int
        Gaps of at most this many missing readings are reported as ``gap_filled`` (the declared
        rule fills them, see :func:`fill_gaps`); longer ones as ``gap``.
    start, end : timestamp, optional
        Expected first and last interval start (UTC if naive); missing readings before a meter's
        first or after its last reading count as gaps only when these are given.

    Returns
    -------
    pandas.DataFrame
        ``meter_id, issue, from, to, count``: ``from``/``to`` are the first and last affected
        interval start (UTC), ``count`` the number of readings (or missing readings) involved.
        Empty when all is well.
    """
    _check_columns(readings, ("meter_id", "ts", "kwh"))
    step = _interval_ns(interval)
    frames = []
    utc, problem = to_utc(readings["ts"], timezone)
    meter = readings["meter_id"].astype(str)
    kwh = pd.to_numeric(readings["kwh"], errors="coerce")
    local = pd.to_datetime(readings["ts"])
    for kind in ("dst_nonexistent", "dst_ambiguous"):
        rows = problem == kind
        if rows.any():
            t = local[rows]
            t = t if t.dt.tz is not None else t.dt.tz_localize("UTC")  # wall clock shown as is
            frames.append(_grouped(meter[rows], t, kind))
    neg = (kwh < 0) & utc.notna()
    if neg.any():
        frames.append(_grouped(meter[neg], utc[neg], "negative"))
    ok = utc.notna()
    ns = utc[ok].astype("int64").to_numpy()
    off = ns % step != 0
    if off.any():
        sel = ok.copy()
        sel[ok] = off
        frames.append(_grouped(meter[sel], utc[sel], "misaligned"))
    good = ok.copy()
    good[ok] = ~off
    frame = pd.DataFrame(
        {
            "meter_id": meter[good].to_numpy(),
            "ns": utc[good].astype("int64").to_numpy(),
            "kwh": kwh[good].to_numpy(),
        }
    )
    frame = frame.sort_values(["meter_id", "ns"], kind="stable")
    same = (frame["meter_id"].to_numpy()[1:] == frame["meter_id"].to_numpy()[:-1]) & (
        frame["ns"].to_numpy()[1:] == frame["ns"].to_numpy()[:-1]
    )
    if same.any():
        dup = frame[frame.duplicated(["meter_id", "ns"], keep=False)]
        stats = dup.groupby(["meter_id", "ns"], sort=True)["kwh"].agg(["size", "nunique"])
        stats = stats.reset_index()
        stats["issue"] = np.where(stats["nunique"] > 1, "conflicting_duplicate", "duplicate")
        grouped = stats.groupby(["meter_id", "issue"], sort=True).agg(
            start=("ns", "min"), end=("ns", "max"), count=("size", "sum")
        )
        grouped = grouped.reset_index()
        frames.append(
            _report(
                grouped["meter_id"],
                grouped["issue"].to_numpy(),
                grouped["start"],
                grouped["end"],
                grouped["count"],
            )
        )
    gaps = find_gaps(frame.drop_duplicates(["meter_id", "ns"]), step, start=start, end=end)
    if len(gaps):
        issue = np.where(gaps["missing"] <= max_fill_intervals, "gap_filled", "gap")
        fillable = gaps["bounded"].to_numpy() & (gaps["missing"].to_numpy() <= max_fill_intervals)
        issue = np.where(fillable, "gap_filled", "gap")
        frames.append(
            _report(
                gaps["meter_id"],
                issue,
                gaps["first_missing_ns"],
                gaps["last_missing_ns"],
                gaps["missing"],
            )
        )
    if not frames:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=t)
                for c, t in zip(
                    REPORT_COLUMNS,
                    [object, object, "datetime64[ns, UTC]", "datetime64[ns, UTC]", "int64"],
                    strict=True,
                )
            }
        )
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["meter_id", "from", "issue"], kind="stable").reset_index(drop=True)


def _check_columns(frame: pd.DataFrame, columns) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"meter readings need columns {list(columns)}", field="columns", value=missing
        )


def _grouped(meter: pd.Series, ts: pd.Series, issue: str) -> pd.DataFrame:
    g = (
        pd.DataFrame({"meter_id": meter.to_numpy(), "ts": ts.to_numpy()})
        .groupby("meter_id", sort=True)["ts"]
        .agg(["min", "max", "size"])
    )
    return _report(g.index, issue, g["min"], g["max"], g["size"])


def find_gaps(
    frame: pd.DataFrame,
    step_ns: int,
    *,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Runs of missing readings, vectorised over meters.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``meter_id``, ``ns`` (UTC epoch nanoseconds on the interval grid), ``kwh``; sorted by
        meter and time, one row per meter and interval.
    step_ns : int
        Interval length [ns].
    start, end : timestamp, optional
        Expected first and last interval start; leading/trailing runs are then gaps too
        (``bounded`` False: they have a good reading on one side only and are never filled).

    Returns
    -------
    pandas.DataFrame
        ``meter_id, first_missing_ns, last_missing_ns, missing, before_kwh, after_kwh, bounded``.
    """
    m = frame["meter_id"].to_numpy()
    ns = frame["ns"].to_numpy(dtype="int64")
    kwh = frame["kwh"].to_numpy(dtype="float64")
    cols = [
        "meter_id",
        "first_missing_ns",
        "last_missing_ns",
        "missing",
        "before_kwh",
        "after_kwh",
        "bounded",
    ]
    parts = []
    if len(ns) > 1:
        cont = m[1:] == m[:-1]
        missing = (ns[1:] - ns[:-1]) // step_ns - 1
        i = np.flatnonzero(cont & (missing > 0))
        parts.append(
            pd.DataFrame(
                {
                    "meter_id": m[i],
                    "first_missing_ns": ns[i] + step_ns,
                    "last_missing_ns": ns[i + 1] - step_ns,
                    "missing": missing[i],
                    "before_kwh": kwh[i],
                    "after_kwh": kwh[i + 1],
                    "bounded": True,
                }
            )
        )
    if len(ns) and (start is not None or end is not None):
        first = np.r_[True, m[1:] != m[:-1]]
        last = np.r_[m[1:] != m[:-1], True]
        if start is not None:
            s = _utc_ns(start)
            lead = first & (ns > s)
            parts.append(
                pd.DataFrame(
                    {
                        "meter_id": m[lead],
                        "first_missing_ns": s,
                        "last_missing_ns": ns[lead] - step_ns,
                        "missing": (ns[lead] - s) // step_ns,
                        "before_kwh": np.nan,
                        "after_kwh": kwh[lead],
                        "bounded": False,
                    }
                )
            )
        if end is not None:
            e = _utc_ns(end)
            trail = last & (ns < e)
            parts.append(
                pd.DataFrame(
                    {
                        "meter_id": m[trail],
                        "first_missing_ns": ns[trail] + step_ns,
                        "last_missing_ns": e,
                        "missing": (e - ns[trail]) // step_ns,
                        "before_kwh": kwh[trail],
                        "after_kwh": np.nan,
                        "bounded": False,
                    }
                )
            )
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(
            {c: pd.Series(dtype=object if c == "meter_id" else "int64") for c in cols}
        )
    return pd.concat(parts, ignore_index=True)[cols]


def _utc_ns(value) -> int:
    t = pd.Timestamp(value)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    return int(t.value)


def fill_gaps(
    readings: pd.DataFrame,
    *,
    interval: str = "1h",
    max_fill_intervals: int = 0,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """Readings with the declared gap rule applied: short gaps filled linearly, flagged.

    A run of ``k <= max_fill_intervals`` missing readings between two good readings ``a`` and
    ``b`` of the same meter gets ``a + (b - a) j / (k + 1)``, ``j = 1..k``, with ``filled``
    True. Longer runs stay missing (no rows); negative, duplicated, misaligned and DST-invalid
    readings are dropped (duplicates keep the first row) — :func:`meter_quality_report` lists
    all of them, so nothing disappears unreported.

    Parameters
    ----------
    readings : pandas.DataFrame
        ``meter_id``, ``ts``, ``kwh``.
    interval : str
        Reading interval.
    max_fill_intervals : int
        Longest run of missing readings that is filled (0: none).
    timezone : str
        Zone of naive timestamps.

    Returns
    -------
    pandas.DataFrame
        ``meter_id``, ``ts`` (UTC), ``kwh``, ``filled``; sorted by meter and time.
    """
    _check_columns(readings, ("meter_id", "ts", "kwh"))
    if max_fill_intervals < 0:
        raise InputError(
            "max_fill_intervals must be >= 0", field="max_fill_intervals", value=max_fill_intervals
        )
    step = _interval_ns(interval)
    utc, _ = to_utc(readings["ts"], timezone)
    kwh = pd.to_numeric(readings["kwh"], errors="coerce")
    ok = utc.notna() & (kwh >= 0)
    frame = pd.DataFrame(
        {
            "meter_id": readings["meter_id"].astype(str)[ok].to_numpy(),
            "ns": utc[ok].astype("int64").to_numpy(),
            "kwh": kwh[ok].to_numpy(),
        }
    )
    frame = frame[frame["ns"] % step == 0]
    frame = frame.sort_values(["meter_id", "ns"], kind="stable").drop_duplicates(
        ["meter_id", "ns"], keep="first"
    )
    gaps = find_gaps(frame, step)
    gaps = gaps[gaps["missing"] <= max_fill_intervals]
    k = gaps["missing"].to_numpy(dtype="int64")
    rep = np.repeat(np.arange(len(gaps)), k)
    j = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k) + 1  # 1..k within each gap
    a = gaps["before_kwh"].to_numpy()[rep]
    b = gaps["after_kwh"].to_numpy()[rep]
    filled = pd.DataFrame(
        {
            "meter_id": gaps["meter_id"].to_numpy()[rep],
            "ns": gaps["first_missing_ns"].to_numpy()[rep] + (j - 1) * step,
            "kwh": a + (b - a) * j / (k[rep] + 1),
            "filled": True,
        }
    )
    out = pd.concat([frame.assign(filled=False), filled], ignore_index=True)
    out = out.sort_values(["meter_id", "ns"], kind="stable").reset_index(drop=True)
    out["ts"] = pd.to_datetime(out.pop("ns"), utc=True)
    return out[["meter_id", "ts", "kwh", "filled"]]


def gap_fill_energy_kwh(missing, before_kwh, after_kwh):
    """Energy that linear filling adds for a run of missing readings, kWh.

    Sum over ``j = 1..k`` of ``a + (b - a) j / (k + 1)`` = ``k (a + b) / 2``.

    Parameters
    ----------
    missing : array-like    number of missing readings ``k``
    before_kwh, after_kwh : array-like    the good readings either side [kWh]
    """
    return np.asarray(missing) * (np.asarray(before_kwh) + np.asarray(after_kwh)) / 2.0


def expected_intervals_per_day(days: pd.DatetimeIndex, timezone: str, interval: str) -> np.ndarray:
    """Intervals in each local calendar day (23 or 25 hours on DST change days).

    Parameters
    ----------
    days : pandas.DatetimeIndex
        Local calendar days (naive dates).
    timezone : str
        The city's IANA zone.
    interval : str
        Reading interval.
    """
    step = _interval_ns(interval)
    days = pd.DatetimeIndex(days).as_unit("ns").normalize()
    start = days.tz_localize(timezone, nonexistent="shift_forward")
    stop = (days + pd.Timedelta(days=1)).tz_localize(timezone, nonexistent="shift_forward")
    return ((stop.asi8 - start.asi8) // step).astype("int64")
