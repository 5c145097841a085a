"""The command line after the penetration test (issue 14): no traceback after a successful
ingest, batches that belong to the operator who ran them, a private home, report file names
that no argument can steer."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citycarbon.cli import app
from citycarbon.contract.codes import credit_code_check_char
from citycarbon.store import catalog, users

runner = CliRunner()
HEAD = "91350203MA0000001"
CODE = HEAD + credit_code_check_char(HEAD)


@pytest.fixture
def restore_umask():
    """The CLI sets the process umask (077); give the test process its own back."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


@pytest.fixture
def home(tmp_path, monkeypatch, restore_umask) -> Path:
    """A new home (left open to others, as an administrator might create it) with one
    enterprise."""
    h = tmp_path / "home"
    h.mkdir(mode=0o755)
    h.chmod(0o755)
    monkeypatch.setenv("CITYCARBON_HOME", str(h))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    ent = tmp_path / "ent.csv"
    ent.write_text(
        f"统一社会信用代码,企业名称,行业代码,所属区\n{CODE},企业,C3974,350203\n", "utf-8"
    )
    r = runner.invoke(app, ["ingest", "enterprises", str(ent)])
    assert r.exit_code == 0, r.output
    yield h
    catalog.dispose_engines()


def _energy(path: Path, total: float = 10.0) -> Path:
    path.write_text(
        "enterprise_code,period,fuel,unit,consumed_total,consumed_industrial,"
        f"consumed_non_industrial\n{CODE},2024-01,diesel,t,{total},{total},0\n"
        f"{CODE},2024-02,=HYPERLINK(1),t,1,1,0\n",  # quarantined: an error report is written
        encoding="utf-8",
    )
    return path


def test_the_home_and_every_file_in_it_are_private(home, tmp_path):
    r = runner.invoke(app, ["ingest", "energy_monthly", str(_energy(tmp_path / "e.csv"))])
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    open_to_others = [
        f"{oct(stat.S_IMODE(p.stat().st_mode))} {p.relative_to(home)}"
        for p in home.rglob("*")
        if stat.S_IMODE(p.stat().st_mode) & 0o077
    ]
    assert not open_to_others, open_to_others
    kinds = {p.relative_to(home).parts[0] for p in home.rglob("*") if p.is_file()}
    assert {"catalog.sqlite", "lake", "reports"} <= kinds, kinds  # catalog, lake, quarantine


def test_a_cli_batch_belongs_to_the_operator_and_to_no_platform_user(home, tmp_path):
    r = runner.invoke(app, ["ingest", "energy_monthly", str(_energy(tmp_path / "e.csv"))])
    assert r.exit_code == 0, r.output
    batch = catalog.get_batch(2)
    assert batch.created_by.startswith("cli:") and batch.created_by_id is None
    users.create_user("wang", "wang-password", "city_analyst", actor="test")
    r = runner.invoke(
        app, ["ingest", "energy_monthly", str(_energy(tmp_path / "f.csv", 20)), "--as", "wang"]
    )
    assert r.exit_code == 0, r.output
    mine = catalog.get_batch(3)
    assert (mine.created_by, mine.created_by_id) == ("wang", users.get_user_by_name("wang").id)
    r = runner.invoke(app, ["ingest", "energy_monthly", str(tmp_path / "f.csv"), "--as", "nobody"])
    assert r.exit_code == 1 and "no active user 'nobody'" in r.output


def test_no_traceback_after_a_successful_ingest_when_a_step_fails(home, tmp_path):
    """The ingest commits; a later pipeline step fails with an internal error: one line on
    stderr (the step, the exception), the reason in the table, no traceback (a subprocess:
    logging's handlers write to the real stderr)."""
    program = (
        "import dataclasses\n"
        "from citycarbon.runs import pipeline\n"
        "def broken(ctx):\n"
        "    raise ValueError('disk on fire')\n"
        "pipeline.STEPS = tuple(dataclasses.replace(s, run=broken) if s.name == 'targets' "
        "else s for s in pipeline.STEPS)\n"
        "from citycarbon.cli import app\n"
        "app()\n"
    )
    parks = tmp_path / "parks.csv"
    parks.write_text("code,name_zh,district_code\nXM-TEST,测试园区,350203\n", encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-c", program, "ingest", "parks", str(parks)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )
    assert r.returncode == 1, r.stdout + r.stderr  # the pipeline failed, the ingest did not
    assert "Traceback" not in r.stderr and 'File "' not in r.stderr, r.stderr
    assert "pipeline step targets failed (ValueError: disk on fire)" in r.stderr
    assert "1 accepted" in r.stdout and "internal error (ValueError)" in r.stdout


def test_a_report_period_cannot_name_a_file_elsewhere(home, tmp_path):
    out = tmp_path / "reports"
    escape = tmp_path / "escaped-2025"
    r = runner.invoke(
        app, ["report", "targets", "--period", f"../{escape.name}", "--out", str(out)]
    )
    assert r.exit_code == 1 and "the period is the first and last year" in " ".join(
        r.output.split()
    )
    assert not list(tmp_path.glob("escaped-2025*")) and not out.exists()
