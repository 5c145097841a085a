"""Reports: the inventory and targets PDFs render Chinese and charts (checked on a PNG of a page),
the Excel workbook holds every table, the GPC table adds up, and the CLI writes the files."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from citycarbon.cli import app
from citycarbon.contract.records import messages, record_text
from citycarbon.read.presentation import table_title
from citycarbon.records import parse_record
from citycarbon.reports.excel import write_excel
from citycarbon.reports.pdf import cjk_font, inventory_pdf, targets_pdf
from citycarbon.runs.reports import inventory_report, targets_report
from citycarbon.runs.targets_inputs import latest_result


@pytest.fixture
def home(small_demo_dir, tmp_path, monkeypatch) -> Path:
    h = tmp_path / "h"
    shutil.copytree(small_demo_dir, h)
    monkeypatch.setenv("CITYCARBON_HOME", str(h))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    return h


def _page_png(pdf: Path, page: int, out: Path) -> np.ndarray:
    from PIL import Image

    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-f", str(page), "-l", str(page), str(pdf), str(out)],
        check=True,
        timeout=60,
    )
    png = sorted(out.parent.glob(out.name + "*.png"))[0]
    return np.asarray(Image.open(png).convert("L"), dtype="float64")


def test_inventory_pdf_is_not_blank_and_renders_chinese(home, tmp_path):
    data = inventory_report(2024)
    pdf = inventory_pdf(data, tmp_path / "inv.pdf")
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "厦门市温室气体排放清单报告" in text  # the CJK font maps the glyphs back to Unicode
    px = _page_png(pdf, 1, tmp_path / "p1")
    dark = (px < 128).mean()
    assert px.std() > 20 and 0.01 < dark < 0.6  # text, table lines and chart bars, not blank
    assert cjk_font() in ("CityCJK", "STSong-Light")
    # the provenance of every total closes the report (its methods said in Chinese: it may
    # take more than the last page)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    tail = text[text.rindex("数据来源与可追溯性") :].replace("\n", "")
    _inv, run_id = latest_result("city_inventory")
    assert run_id in tail


def test_excel_holds_every_table_and_gpc_adds_up(home, tmp_path):
    data = inventory_report(2024)
    path = write_excel(data, tmp_path / "inv.xlsx")
    sheets = pd.read_excel(path, sheet_name=None)
    titles = {table_title(name, "zh") for name in data.tables}  # Chinese sheet names
    assert titles <= set(sheets) and "数据来源" in sheets
    gpc = data.tables["gpc"]
    ind = data.tables["indicators"].set_index("indicator")["value"]
    for flag, indicator in (("basic", "gpc_basic_tco2e"), ("basic_plus", "gpc_basic_plus_tco2e")):
        total = gpc.loc[gpc[flag].astype(bool), "total_tco2e"].sum()
        assert total == pytest.approx(ind[indicator], rel=1e-9)
    assert set(gpc["gpc_ref"]) >= {"I.1.1", "I.2.2", "I.3.3", "I.4.4", "IV.1", "M.II.4"}
    gas_cols = gpc.columns[gpc.columns.get_loc("name_en") + 1 : gpc.columns.get_loc("total_tco2e")]
    empty = gpc[gpc[list(gas_cols)].isna().all(axis=1)]  # every gas, F-gases of IPPU too
    assert len(empty) and empty["total_tco2e"].isna().all()  # blank, never a silent zero
    assert (empty["notation_key"].fillna("") != "").all()  # ... and says why (NE, NO, IE)


def _pdf_text(pdf: Path) -> str:
    run = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    return re.sub(r"\s+", "", run.stdout)  # table cells wrap: compare without white space


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_provenance_says_the_method_records_in_the_report_language(home, tmp_path, lang):
    """The inventory and targets reports (Excel and PDF) show each result's method record in
    their language, never the record's keys; free text of runs not converted is shown as
    stored."""
    assert runner_ok(["targets", "recompute", "--no-notify"])
    known = {k.split(".", 1)[1] for k in messages(lang) if k.startswith("run_method.")}
    for data, pdf in ((inventory_report(2024), inventory_pdf), (targets_report(), targets_pdf)):
        stored = data.provenance["method"]
        records = [
            m for m in stored if parse_record(m) and {k for k, _ in parse_record(m)} <= known
        ]
        assert len(records) >= 2, stored.tolist()  # records said from the catalog
        said = [record_text(m, lang) for m in records]
        sheet = pd.read_excel(write_excel(data, tmp_path / f"r.{lang}.xlsx", lang), sheet_name=None)
        cells = set(sheet[table_title("provenance", lang)].astype(str).stack())
        assert set(said) <= cells, set(said) - cells
        assert not {m for m in records if "?" in m} & cells  # none as stored
        assert all(bool(re.search("[\u4e00-\u9fff]", t)) == (lang == "zh") for t in said)
        text = _pdf_text(pdf(data, tmp_path / f"r.{lang}.pdf", lang))
        for record, say in zip(records, said, strict=True):
            assert re.sub(r"\s+", "", say)[:10] in text  # said (its beginning: cells wrap)
            assert "?" not in record or record.split("?")[0] + "?" not in text  # not as stored
    first = {"zh": "自上而下（能源平衡表）", "en": "top-down from the energy balance"}[lang]
    assert first in record_text("city_top_down", lang)


def runner_ok(args: list[str]) -> bool:
    r = CliRunner().invoke(app, args)
    return r.exit_code == 0


def test_cli_reports(home):
    runner = CliRunner()
    r = runner.invoke(app, ["report", "inventory", "--year", "2024"])
    assert r.exit_code == 0, r.output
    reports = home / "reports"
    assert (reports / "inventory-2024.pdf").stat().st_size > 10_000
    assert (reports / "inventory-2024-gpc.csv").exists()
    r = runner.invoke(app, ["report", "inventory", "--year", "2024", "--month", "3"])
    assert r.exit_code == 0, r.output
    assert (reports / "inventory-2024-03.pdf").exists()
    assert runner.invoke(app, ["targets", "recompute", "--no-notify"]).exit_code == 0
    r = runner.invoke(app, ["report", "targets", "--period", "2021-2025"])
    assert r.exit_code == 0, r.output
    data = targets_report("2021-2025")  # progress from the demo's hook, then the recompute
    assert set(data.tables["progress"]["period_label"]) == {"14th FYP 2021-2025"}
    r = runner.invoke(app, ["report", "targets", "--period", "1990-1995"])
    assert r.exit_code == 1 and "known" in r.output
    r = runner.invoke(app, ["report", "inventory", "--year", "1999"])
    assert r.exit_code == 1 and "1999" in r.output
