"""The dependency rule of ARCHITECTURE.md, enforced: the import contracts of pyproject.toml
(``[tool.importlinter]``) checked by import-linter over every module-level and function-level
import of the sources."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import citycarbon

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(citycarbon.__file__).resolve().parents[1]
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def _contracts() -> list[dict]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["importlinter"]["contracts"]


def _lint_imports(src: Path, cwd: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` with the project's contracts over the package found in ``src``."""
    return subprocess.run(
        [sys.executable, "-c", LINT, str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_contracts_are_kept():
    done = _lint_imports(SRC, ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(_contracts())} kept, 0 broken." in done.stdout


def test_contracts_state_the_rule():
    by_id = {c["id"]: c for c in _contracts()}
    layers = by_id["layers"]["layers"]
    # faces on top, runs | read below the faces, domain below config, the ground floor last
    # (errors and the stdlib-only message records, which every layer writes)
    assert layers[0] == "cli" and layers[-3:] == ["factors", "units", "errors | records"]
    assert layers.index("reports") < layers.index("runs | read") < layers.index("store")
    assert layers.index("config") < layers.index(
        "accounting | power | pathways | targets | geo | rating | credits | finance | techmap"
    )
    assert by_id["layers"]["exhaustive"] is True  # every package has its place
    read = set(by_id["read-no-formulas"]["forbidden_modules"])
    assert {"citycarbon.runs", "citycarbon.ingest", "citycarbon.accounting"} <= read
    assert by_id["no-cycles"]["type"] == "acyclic_siblings"


def test_a_read_model_importing_a_formula_breaks_the_contract(tmp_path):
    """The check is live: in a copy of the sources where a read model imports a domain formula
    inside a function, lint-imports fails and names the import."""
    shutil.copytree(SRC / "citycarbon", tmp_path / "citycarbon")
    bad = tmp_path / "citycarbon" / "read" / "pages.py"
    bad.write_text(
        bad.read_text() + "\n\ndef _tce(q, c):\n"
        "    from citycarbon.accounting.energy import energy_tce\n\n"
        "    return energy_tce(q, c)\n"
    )
    done = _lint_imports(tmp_path, tmp_path)
    assert done.returncode == 1, done.stdout
    assert "citycarbon.read.pages -> citycarbon.accounting.energy" in done.stdout
    assert "Read models only read" in done.stdout
