"""The demo end to end: generate -> ingest (real path) -> compute (query layer) -> summarise."""

import pytest
from typer.testing import CliRunner

from citycarbon.cli import app
from citycarbon.demo.pipeline import run_demo, summarise


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    return tmp_path


def test_demo_pipeline_conserves_rows_and_chains_agree(home):
    run = run_demo(enterprises=80, years=1)
    for r in run.ingests:
        assert r.rows_in == r.rows_accepted + r.rows_quarantined
        assert r.rows_accepted > 0 and r.status == "committed"
    t = summarise(run)
    latest = t["by_year"].iloc[-1]
    # districts partition the enterprises: their sum is the total, nothing counted twice
    assert t["by_district"]["co2_t"].sum() == pytest.approx(latest["co2_t"], rel=1e-9)
    assert latest["co2_t"] == pytest.approx(latest["scope1_co2_t"] + latest["scope2_co2_t"])
    # meters are generated within +-0.5 % of each enterprise's 205-1 electricity (class 0.5S)
    assert (t["power_check"]["difference_pct"].abs() <= 0.5).all()


def test_demo_command_and_rerun_is_idempotent(home):
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--enterprises", "40", "--years", "1"])
    assert first.exit_code == 0, first.output
    assert "合成数据" in first.output and "committed" in first.output
    again = runner.invoke(app, ["demo", "--enterprises", "40", "--years", "1"])
    assert again.exit_code == 0, again.output
    assert "unchanged" in again.output  # same files: the ledger adds nothing
