"""The pipeline (runs/pipeline.py): the declared graph, and regression tests of what went wrong
before it existed — a one-year run that dropped the other years, a correction that reached no
result, commands that crashed in an empty home."""

from __future__ import annotations

import dataclasses
import shutil

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from citycarbon.cli import app as cli
from citycarbon.contract.inputs import SCHEMAS
from citycarbon.contract.results import (
    CITY_INDICATORS,
    CITY_INVENTORY,
    DUAL_CONTROL,
    ENTERPRISE_MONTH_FUEL,
    RESULTS,
    TARGET_PROGRESS,
    TARGET_STATUS,
)
from citycarbon.read import access
from citycarbon.runs import pipeline
from citycarbon.store import lake as lk
from citycarbon.store import results

KINDS = sorted({s.table for s in SCHEMAS.values()})


@pytest.fixture
def home(small_demo_dir, tmp_path, monkeypatch):
    """A private copy of the small demo city as CITYCARBON_HOME."""
    h = tmp_path / "home"
    shutil.copytree(small_demo_dir, h)
    monkeypatch.setenv("CITYCARBON_HOME", str(h))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    access.invalidate()
    yield h
    access.invalidate()


# ------------------------------------------------------------------------------------ graph
@given(st.sets(st.sampled_from(KINDS)))
def test_stale_steps_are_the_closure_in_declared_order(kinds):
    steps = pipeline.stale_steps(kinds)
    names = [s.name for s in steps]
    assert names == [n for n in pipeline.STEP_NAMES if n in names]  # declared order
    written = set()
    for step in pipeline.STEPS:
        stale = bool(step.inputs & kinds) or bool({r.name for r in step.reads} & written)
        assert (step.name in names) == stale, step.name
        if stale:
            written |= {r.name for r in step.writes}


def test_every_result_is_written_by_exactly_one_step():
    writers: dict[str, list[str]] = {}
    for step in pipeline.STEPS:
        for r in step.writes:
            writers.setdefault(r.name, []).append(step.name)
    assert set(writers) == set(RESULTS)
    assert all(len(w) == 1 for w in writers.values()), writers
    # a step reads only results of steps before it
    for i, step in enumerate(pipeline.STEPS):
        before = {r.name for s in pipeline.STEPS[:i] for r in s.writes}
        assert {r.name for r in step.reads} <= before, step.name


def test_a_205_1_upload_makes_every_dependent_result_stale():
    names = [s.name for s in pipeline.stale_steps({"energy_monthly"})]
    assert names == [
        "enterprise_results",
        "inventory",
        "nowcast",
        "backtest",
        "targets",
        "rating",
        "energy_benchmark",
    ]


def test_demo_results_conform_to_their_declarations(demo_home):
    for decl in RESULTS.values():
        for path in results.current_files(decl, lake=demo_home / "lake"):
            decl.conform(pd.read_parquet(path))  # raises on any mismatch
    assert results.has(CITY_INVENTORY, lake=demo_home / "lake")


# ------------------------------------------------------------------------------- one year
def _target_levels() -> pd.Series:
    st_ = results.current(TARGET_STATUS)
    return st_.set_index(["subject", "metric", "year", "months"])["level"].sort_index()


def test_a_one_year_inventory_run_keeps_the_other_years_and_target_statuses(home):
    before = results.current(CITY_INVENTORY)
    years = sorted(before["year"].unique())
    assert len(years) == 3
    levels = _target_levels()
    r = CliRunner().invoke(cli, ["inventory", "compute", "--year", str(years[-1])])
    assert r.exit_code == 0, r.output
    after = results.current(CITY_INVENTORY)
    assert sorted(after["year"].unique()) == years  # no year lost
    key = ["level", "entity_code", "year", "month", "sector", "gas", "scope", "basis"]
    old = before[before["year"] < years[-1]].set_index(key).sort_index()
    new = after[after["year"] < years[-1]].set_index(key).sort_index()
    pd.testing.assert_frame_equal(new, old)  # same rows, same run: untouched
    last = after[after["year"] == years[-1]]
    assert last["run_id"].nunique() == 1
    assert last["run_id"].iat[0] not in set(before["run_id"])
    pd.testing.assert_series_equal(_target_levels(), levels)  # no false 解除预警
    # the base year of the intensity decline stays the first year of data
    ind = results.current(CITY_INDICATORS)
    decl = ind[ind["indicator"].str.contains("decline") & (ind["period_type"] == "year")]
    assert (decl.loc[decl["year"] == years[0], "value"].abs() < 1e-9).all()


# ------------------------------------------------------------------------- correction ×3
def _triple(home, tmp_path) -> tuple[pd.DataFrame, object]:
    """A correction batch: one enterprise's returns of the last month with every quantity x3."""
    energy = lk.read_current("energy_monthly")
    last = energy[energy["period"] == energy["period"].max()]
    code = last.groupby("enterprise_code")["consumed_total"].count().idxmax()
    fix = last[last["enterprise_code"] == code].copy()
    qty = [c for c in fix.columns if c.startswith(("consumed", "purchase", "opening", "closing"))]
    fix[qty] = fix[qty] * 3
    path = tmp_path / "correction-x3.csv"
    fix.drop(columns=["year", "month"], errors="ignore").to_csv(path, index=False)
    return fix, path


def _snapshot(code: str, year: int, month: int) -> dict[str, object]:
    fuel = results.current(ENTERPRISE_MONTH_FUEL).set_index(["enterprise_code", "year", "month"])
    inv = results.current(CITY_INVENTORY)
    ent = inv[(inv["level"] == "enterprise") & (inv["entity_code"] == code)]
    prog = results.current(TARGET_PROGRESS)
    # the reporters' CO2 of the enterprise's district (dual control: its coverage of the city)
    dc = results.current(DUAL_CONTROL)
    reporters = dc[(dc["level"] == "district") & (dc["indicator"] == "reporters_co2_t")]
    return {
        "co2_t": float(fuel.loc[(code, year, month), "co2_t"]),
        "energy_tce": float(fuel.loc[(code, year, month), "energy_tce"]),
        "inventory_t": float(ent.loc[ent["year"] == year, "emissions_tco2e"].sum()),
        "progress": prog.set_index(["target_id", "year"])["value"].sort_index(),
        "reporters": reporters.set_index(["entity_code", "year"])["value"].sort_index(),
    }


def test_a_x3_correction_reaches_every_result_and_retracting_it_restores_them(home, tmp_path):
    fix, path = _triple(home, tmp_path)
    code = str(fix["enterprise_code"].iat[0])
    year, month = int(fix["period"].max().year), int(fix["period"].max().month)
    before = _snapshot(code, year, month)
    run = pipeline.ingest_and_run("energy_monthly", path, created_by="test")
    assert run.ok, run.error
    assert run.years == [year]
    assert [s.name for s in run.steps][:3] == ["ingest", "enterprise_results", "inventory"]
    fixed = _snapshot(code, year, month)
    assert fixed["co2_t"] == pytest.approx(3 * before["co2_t"], rel=1e-9)
    assert fixed["energy_tce"] == pytest.approx(3 * before["energy_tce"], rel=1e-9)
    assert fixed["inventory_t"] > before["inventory_t"]
    # the enterprise's district reporters moved; the city's top-down total did not (the balance
    # of the city is the same), so the city's targets keep their progress
    assert not fixed["reporters"].equals(before["reporters"])
    # other years are untouched by the run
    inv = results.current(CITY_INVENTORY)
    assert set(inv.loc[inv["year"] != year, "run_id"]).isdisjoint({run.run_id})

    back = pipeline.retract_and_run(run.batch.batch_id, actor="test", reason="wrong file")
    assert back.ok, back.error
    restored = _snapshot(code, year, month)
    assert restored["co2_t"] == before["co2_t"]
    assert restored["energy_tce"] == before["energy_tce"]
    assert restored["inventory_t"] == pytest.approx(before["inventory_t"], rel=1e-12)
    pd.testing.assert_series_equal(restored["progress"], before["progress"])
    pd.testing.assert_series_equal(restored["reporters"], before["reporters"])


# ------------------------------------------------------------------------- failing step
def test_a_failing_step_commits_nothing_and_says_why(home, monkeypatch, caplog):
    before = results.current(CITY_INVENTORY)
    runs_before = results.runs(CITY_INVENTORY)

    def broken(ctx):
        raise ValueError("disk on fire")

    steps = tuple(
        dataclasses.replace(s, run=broken) if s.name == "targets" else s for s in pipeline.STEPS
    )
    monkeypatch.setattr(pipeline, "STEPS", steps)
    run = pipeline.run(steps=["inventory"], years=[2024])
    assert not run.ok and not run.committed
    failed = {s.name: s for s in run.steps}
    assert failed["inventory"].status == "done"
    assert failed["targets"].status == "failed"
    # users read that it failed and where; the exception's own text stays in the log
    assert failed["targets"].message.startswith("internal error (ValueError)")
    assert "targets" in run.error and "disk on fire" not in run.error
    logged = [r for r in caplog.records if r.getMessage() == "pipeline step targets failed"]
    assert logged and str(logged[0].exc_info[1]) == "disk on fire"
    assert results.runs(CITY_INVENTORY) == runs_before  # the inventory staged was not committed
    pd.testing.assert_frame_equal(results.current(CITY_INVENTORY), before)
    hist = pipeline.history()
    assert hist[0]["ok"] is False and hist[0]["error"] == run.error


# ------------------------------------------------------------------------- empty home
def test_commands_in_an_empty_home_exit_cleanly(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "empty"))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    runner = CliRunner()
    for args in (["pipeline", "status"], ["batches"], ["targets", "recompute", "--no-notify"]):
        r = runner.invoke(cli, args)
        assert r.exception is None or isinstance(r.exception, SystemExit), (args, r.output)
        assert r.exit_code == 0, (args, r.output)
        assert "Traceback" not in r.output
    r = runner.invoke(cli, ["pipeline", "status"])
    assert "no pipeline run yet" in r.output
    r = runner.invoke(cli, ["pipeline", "run"])
    assert r.exit_code == 0, r.output
    assert "skipped" in r.output and "Traceback" not in r.output


def test_every_step_has_a_title_in_both_languages():
    from citycarbon.web.i18n import Translator

    for lang in ("zh", "en"):
        t = Translator(lang)
        for name in ("ingest", *pipeline.STEP_NAMES):
            assert t.has(f"jobs.step_{name}"), (lang, name)


def test_independent_steps_may_run_at_once_and_dependants_wait():
    deps = pipeline.step_dependencies(pipeline.STEPS)
    assert deps["enterprise_results"] == set() and deps["scope2"] == set()
    assert deps["inventory"] == {"enterprise_results"}
    # the nowcast and its backtest scale the reporters to the city inventory: they wait for it
    assert deps["nowcast"] == {"enterprise_results", "inventory"}
    assert deps["backtest"] == {"enterprise_results", "inventory", "nowcast"}
    assert deps["targets"] == {"enterprise_results", "inventory"}
    # without the writer in the run, a step waits for nothing
    assert pipeline.step_dependencies(pipeline.stale_steps(set(), only=["targets"])) == {
        "targets": set()
    }
