"""The CLI as a user calls it: every command has --help; factors and account work end to end."""

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
