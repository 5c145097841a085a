"""The CLI as a user calls it: every command has --help; factors and account work end to end."""

import os
import subprocess
import sys

import pandas as pd
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from citycarbon.cli import app

runner = CliRunner()


def _commands(group, prefix=()):
    for name, cmd in getattr(group, "commands", {}).items():
        yield (*prefix, name)
        yield from _commands(cmd, (*prefix, name))


@pytest.mark.parametrize("path", list(_commands(get_command(app))))
def test_every_command_has_help(path):
    r = runner.invoke(app, [*path, "--help"])
    assert r.exit_code == 0 and "Usage" in r.output


def test_factors_list_show_diff():
    r = runner.invoke(app, ["factors", "list"])
    assert r.exit_code == 0 and "cn-gbt2589-2020" in r.output and "ipcc-ar6-gwp100" in r.output
    r = runner.invoke(app, ["factors", "show", "cn-gbt2589-2020", "--key", "raw_coal"])
    assert r.exit_code == 0 and "0.7143" in r.output  # GB/T 2589-2020 表A.1, 原煤
    r = runner.invoke(app, ["factors", "diff", "ipcc-ar5-gwp100", "ipcc-ar6-gwp100"])
    assert r.exit_code == 0 and "+6.43%" in r.output  # CH4: AR5 28 -> AR6 fossil 29.8
    r = runner.invoke(app, ["factors", "show", "ipcc-ar7"])
    assert r.exit_code == 1 and "unknown" in r.output


def test_account_of_a_file(tmp_path):
    f = tmp_path / "energy.csv"
    f.write_text(
        "enterprise_code,fuel,quantity,unit\nE1,柴油,20,吨\nE1,电力,100,万千瓦时\n",
        encoding="utf-8",
    )
    lines = tmp_path / "lines.csv"
    r = runner.invoke(
        app, ["account", str(f), "--year", "2023", "--lines", str(lines)], env={"COLUMNS": "200"}
    )
    assert r.exit_code == 0, r.output
    # scope 2: 100 万kWh = 1,000 MWh x 0.5306 tCO2/MWh (MEE/NBS 2023 national average) = 530.6 t
    assert "530.60" in r.output
    assert "cn-mee-grid@" in lines.read_text(encoding="utf-8-sig")
    bad = tmp_path / "bad.csv"
    bad.write_text("enterprise_code,fuel,quantity,unit\nE1,柴由,20,吨\n", encoding="utf-8")
    r = runner.invoke(app, ["account", str(bad), "--year", "2023"])
    assert r.exit_code == 1 and "柴由" in r.output and "diesel" in r.output


# ----------------------------------------------------------------------------- batches
@pytest.fixture
def cli_home(tmp_path, monkeypatch):
    from citycarbon.contract.codes import credit_code_check_char
    from citycarbon.store import catalog

    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    head = "91350203MA0000001"
    code = head + credit_code_check_char(head)
    (tmp_path / "ent.csv").write_text(
        f"统一社会信用代码,企业名称,行业代码,所属区\n{code},企业,C3974,350203\n", encoding="utf-8"
    )
    r = runner.invoke(app, ["ingest", "enterprises", str(tmp_path / "ent.csv")])
    assert r.exit_code == 0, r.output
    yield tmp_path, code
    catalog.dispose_engines()


def energy_file(path, code: str, total: float):
    path.write_text(
        "enterprise_code,period,fuel,unit,consumed_total,consumed_industrial,"
        f"consumed_non_industrial\n{code},2024-01,diesel,t,{total},{total},0\n",
        encoding="utf-8",
    )
    return path


def test_batches_lists_failed_killed_and_interrupted_batches(cli_home):
    import sqlalchemy as sa

    from citycarbon.store import catalog
    from citycarbon.store.models import Batch

    tmp_path, _ = cli_home
    bad = tmp_path / "bad.csv"
    bad.write_text("enterprise_code,period\nx,2024-01\n", encoding="utf-8")
    r = runner.invoke(app, ["ingest", "energy_monthly", str(bad)])
    assert r.exit_code == 1 and "missing required column" in r.output  # a failed batch
    killed = catalog.begin_batch("meter_readings", "r.csv", "c" * 64, "cli")  # left running
    old = catalog.begin_batch("meter_readings", "old.csv", "d" * 64, "cli")
    with catalog.session_scope() as s:  # begun two hours ago, never finished
        s.execute(
            sa.update(Batch)
            .where(Batch.id == old)
            .values(created_at=pd.Timestamp.now(tz="UTC") - pd.Timedelta(hours=2))
        )
    r = runner.invoke(app, ["batches"], env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    assert r.exception is None
    rows = {line.split("│")[1].strip(): line for line in r.output.splitlines() if "│" in line}
    assert "failed" in rows["2"] and "missing required column" in rows["2"]
    assert "running" in rows[str(killed)] and "interrupted" in rows[str(old)]
    assert "committed" in rows["1"] and "1" in rows["1"].split("│")[5]


def test_batches_retract_prints_what_it_retracted_and_refuses_twice(cli_home):
    from citycarbon.store import lake

    tmp_path, code = cli_home
    r = runner.invoke(
        app, ["ingest", "energy_monthly", str(energy_file(tmp_path / "a.csv", code, 10))]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["ingest", "energy_monthly", str(energy_file(tmp_path / "b.csv", code, 30))]
    )
    assert r.exit_code == 0 and "Traceback" not in r.output, r.output
    assert lake.read_current("energy_monthly")["consumed_total"].tolist() == [30.0]
    r = runner.invoke(
        app,
        ["batches", "retract", "3", "--reason", "x3 typo", "--user", "wang"],
        env={"COLUMNS": "250"},
    )
    assert r.exit_code == 0, r.output
    assert "retracted batch 3" in r.output and "b.csv" in r.output
    assert "energy_monthly: 1 rows" in r.output
    assert lake.read_current("energy_monthly")["consumed_total"].tolist() == [10.0]
    r = runner.invoke(app, ["batches"], env={"COLUMNS": "250"})
    line = next(
        x for x in r.output.splitlines() if x.split("│")[1:2] and x.split("│")[1].strip() == "3"
    )
    assert "retracted" in line and "wang" in line
    r = runner.invoke(app, ["batches", "retract", "3"])
    assert r.exit_code == 1 and "already retracted" in r.output
    r = runner.invoke(app, ["batches", "retract", "99"])
    assert r.exit_code == 1 and "batch 99 does not exist" in r.output


def test_a_failing_recompute_after_ingest_is_a_message_not_a_traceback(cli_home):
    """In a new home the targets recompute after an ingest fails (no results yet); the CLI
    says so in one line instead of printing a traceback, and the ingest still succeeds.
    (A subprocess: the traceback came from logging's last-resort handler, which pytest's
    log capture would hide.)"""
    tmp_path, code = cli_home
    f = energy_file(tmp_path / "a.csv", code, 10)
    cli = [sys.executable, "-c", "from citycarbon.cli import app; app()"]
    r = subprocess.run(
        [*cli, "ingest", "energy_monthly", str(f)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and 'File "' not in r.stderr, r.stderr
    assert "accepted" in r.stdout
