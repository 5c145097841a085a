"""Task status of the action plan: the current status of each task and which tasks are overdue.

A task is due at the end of its ``due_year`` (the year the programme sets for its action,
e.g. 行动一 "到2030年") or at the ``planned_date`` its responsible unit reported, whichever is
earlier; it is overdue when that date has passed and its status is not ``done``.

References
----------
[1] 厦门市科学技术局《厦门市科技支撑碳达峰碳中和实施方案》, 2023-12-04, 四（一）: 加大对低碳技术
    发展有关项目的跟踪管理.
"""

from __future__ import annotations

import pandas as pd

STATUSES = ("not_started", "in_progress", "done", "delayed")


def latest_status(updates: pd.DataFrame) -> pd.DataFrame:
    """The newest update per task (by ``id``) of a table of status updates ``id, task_id,
    status, progress_pct, planned_date, note, at, actor``."""
    if updates.empty:
        return updates
    return updates.sort_values("id").drop_duplicates("task_id", keep="last")


def due_date(due_year: pd.Series, planned_date: pd.Series) -> pd.Series:
    """The date a task is due: the earlier of 31 December of ``due_year`` and ``planned_date``
    (either may be missing)."""
    year_end = pd.to_datetime(due_year.astype("Int64").astype("string") + "-12-31", errors="coerce")
    planned = pd.to_datetime(planned_date, errors="coerce")
    return pd.concat([year_end, planned], axis=1).min(axis=1)


def days_overdue(tasks: pd.DataFrame, today: pd.Timestamp) -> pd.Series:
    """Days past the due date of tasks not ``done`` (0 when not overdue or no date).

    Parameters
    ----------
    tasks : DataFrame
        ``due_year``, ``planned_date`` and ``status`` (missing status: not started).
    today : Timestamp
        The day of the check.
    """
    due = due_date(tasks["due_year"], tasks["planned_date"])
    late = (today.normalize() - due).dt.days
    open_ = tasks["status"].fillna("not_started") != "done"
    return late.where(open_ & (late > 0), 0).fillna(0).astype("int64")
