"""Errors point at the right place, from every entry (CLI account and ingest, the 数据 page, the
API, a 205-1 workbook): the file, the sheet of a workbook, the line or row as the user sees it
in the file (a CSV's line with the header as line 1, a workbook's Excel row), the field, the
value as written, the reason and a way forward, in Chinese and in English
(:mod:`citycarbon.errors`)."""

from __future__ import annotations

import html

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from citycarbon.cli import app as cli
from citycarbon.contract.codes import credit_code_check_char
from citycarbon.errors import InputError, Location, cli_lang
from citycarbon.ingest import excel205
from tests.web_fixtures import page_csrf, sign_in, wait_job

runner = CliRunner()
WIDE = {"COLUMNS": "400"}  # no wrapped lines in the printed message


def _code(n: int) -> str:
    head = f"91350203MA{n:07d}"
    return head + credit_code_check_char(head)


def test_the_model_says_place_value_reason_and_hint_in_both_languages():
    err = InputError(
        code="negative",
        source="能源.xlsx!能源",
        row=np.int64(37),
        field="consumed_total",
        value=np.float64(-5.0),
    )
    assert (err.source, err.sheet, err.row, err.value) == ("能源.xlsx", "能源", 37, "-5")
    assert err.render("en") == (
        "能源.xlsx, sheet 能源, row 37, field consumed_total, value '-5': consumed_total must "
        "not be negative (write the quantity used, 0 or more; a correction is a new file of the "
        "corrected rows)"
    )
    assert err.render("zh").startswith(
        "文件 能源.xlsx，工作表 能源，第 37 行，字段 consumed_total，值 '-5'：consumed_total 不能为负数"
    )
    again = InputError.from_record(err.to_record())  # as a job keeps it
    assert again is not None and again.render("zh") == err.render("zh")
    assert cli_lang({"LANG": "zh_CN.UTF-8"}) == "zh" and cli_lang({"LANG": "C.UTF-8"}) == "en"
    assert cli_lang({"LANG": "zh_CN.UTF-8", "CITYCARBON_LANG": "en"}) == "en"


# ----------------------------------------------------------------------------- CLI account
def test_cli_account_names_the_file_line_field_and_value_as_written(tmp_path):
    f = tmp_path / "energy.csv"
    f.write_text(
        "enterprise_code,fuel,quantity,unit\nE1,柴油,20,吨\nE1,原煤,5,吨\nE1,柴油,-10000,吨\n",
        encoding="utf-8",
    )
    r = runner.invoke(cli, ["account", str(f), "--year", "2023"], env={**WIDE, "LANG": "C"})
    assert r.exit_code == 1
    assert (
        f"error: {f}, line 4, field quantity, value '-10000': quantity must not be negative"
        in r.output
    ), r.output
    assert "write the quantity used" in r.output  # the way forward
    assert "np.int64" not in r.output and "row 2" not in r.output
    r = runner.invoke(cli, ["--lang", "zh", "account", str(f), "--year", "2023"], env=WIDE)
    assert r.exit_code == 1
    assert f"错误: 文件 {f}，第 4 行，字段 quantity，值 '-10000'：quantity 不能为负数" in r.output
    f.write_text("enterprise_code,fuel,quantity,unit\nE1,柴油,1 000,吨\n", encoding="utf-8")
    r = runner.invoke(
        cli, ["account", str(f), "--year", "2023"], env={**WIDE, "CITYCARBON_LANG": "zh"}
    )
    assert "第 2 行，字段 quantity，值 '1 000'：quantity 不是数字" in r.output, r.output


# ------------------------------------------------------------------------------ CLI ingest
@pytest.fixture
def cli_home(tmp_path, monkeypatch):
    from citycarbon.store import catalog

    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    (tmp_path / "ent.csv").write_text(
        f"统一社会信用代码,企业名称,行业代码,所属区\n{_code(1)},企业,C3974,350203\n",
        encoding="utf-8",
    )
    r = runner.invoke(cli, ["ingest", "enterprises", str(tmp_path / "ent.csv")])
    assert r.exit_code == 0, r.output
    yield tmp_path
    catalog.dispose_engines()


def test_cli_ingest_names_the_file_line_of_a_refused_file_and_of_quarantined_rows(cli_home):
    bad = cli_home / "月报.csv"
    bad.write_text("enterprise_code,period,unit\nx,2024-01,t\n", encoding="utf-8")
    r = runner.invoke(cli, ["ingest", "energy_monthly", str(bad)], env={**WIDE, "LANG": "C"})
    assert r.exit_code == 1
    assert "月报.csv, line 1, field consumed_total: missing required column(s) consumed_total" in (
        r.output
    ), r.output
    assert "the file has columns: enterprise_code, period, unit" in r.output
    r = runner.invoke(
        cli, ["--lang", "zh", "ingest", "energy_monthly", str(bad)], env={**WIDE, "LANG": "C"}
    )
    assert "文件 月报.csv，第 1 行，字段 consumed_total：缺少必填列 consumed_total" in r.output
    assert "文件中的列：enterprise_code, period, unit" in r.output
    rows = cli_home / "rows.csv"
    said = {"en": ("rows.csv, line 3", "is negative"), "zh": ("文件 rows.csv，第 3 行", "为负数")}
    for month, lang in ((1, "en"), (2, "zh")):
        first, reason = said[lang]
        rows.write_text(  # another file each time (the same file again adds nothing)
            "enterprise_code,period,fuel,unit,consumed_total\n"
            f"{_code(1)},2024-0{month},diesel,t,5\n{_code(1)},2024-03,diesel,t,-7\n",
            encoding="utf-8",
        )
        r = runner.invoke(
            cli, ["ingest", "energy_monthly", str(rows)], env={**WIDE, "CITYCARBON_LANG": lang}
        )
        assert r.exit_code == 0, r.output
        assert first in r.output and reason in r.output, r.output  # the reason in its language
    r = runner.invoke(cli, ["--lang", "zh", "quarantine"], env=WIDE)
    row = next(line for line in r.output.splitlines() if "第 3 行" in line)
    assert "文件 rows.csv，第 3 行" in row and "-7" in row and "consumed_total" in row, r.output
    # the command's own --lang: column heads and reasons in that language (message catalog)
    for lang, (place, reason) in said.items():
        r = runner.invoke(cli, ["quarantine", "--lang", lang], env=WIDE)
        assert r.exit_code == 0, r.output
        rows = [line for line in r.output.splitlines() if place in line]
        assert rows and all(reason in line for line in rows), r.output
        assert ("原因" in r.output) == (lang == "zh") and ("reason" in r.output) == (lang == "en")


def test_a_205_1_workbook_names_the_sheet_and_the_excel_row(cli_home):
    for good, lang in ((5.0, "en"), (6.0, "zh")):  # another file each time
        rows = pd.DataFrame(
            {
                "enterprise_code": [_code(1)] * 2,
                "period": pd.to_datetime(["2024-01-01", "2024-02-01"]).date,
                "fuel": ["diesel", "diesel"],
                "unit": ["t", "t"],
                "consumed_total": [good, -7.0],
                "consumed_industrial": [good, 0.0],
            }
        )
        path = excel205.write_template(cli_home / "205.xlsx", rows=rows)
        sheet = openpyxl.load_workbook(path).worksheets[0]
        excel_row = next(c.row for line in sheet.iter_rows() for c in line if c.value == -7)
        first = {
            "en": f"205.xlsx, sheet {sheet.title}, row {excel_row}",
            "zh": f"文件 205.xlsx，工作表 {sheet.title}，第 {excel_row} 行",
        }[lang]
        r = runner.invoke(
            cli, ["ingest", "energy_monthly", str(path)], env={**WIDE, "CITYCARBON_LANG": lang}
        )
        assert r.exit_code == 0, r.output
        reason = {"en": "is negative", "zh": "为负数"}[lang]  # said in the command's language
        assert first in r.output and reason in r.output, r.output


# --------------------------------------------------------------------------- page and API
def test_the_upload_page_says_the_error_in_the_page_language(app, web_home, job_worker):
    client = sign_in(app, "analyst")
    r = client.post(
        "/data/upload",
        data={"kind": "energy_monthly", "csrf_token": page_csrf(client, "/data")},
        files={"file": ("旧表.xls", b"x", "application/vnd.ms-excel")},
    )
    assert r.status_code == 422
    page = html.unescape(r.text)
    assert "文件 旧表.xls：不支持的文件类型 '.xls'" in page and "另存为 .xlsx" in page
    body = b"enterprise_code,period,unit\nx,2024-01,t\n"
    r = client.post(
        "/data/upload",
        data={"kind": "energy_monthly", "csrf_token": page_csrf(client, "/data")},
        files={"file": ("月报.csv", body, "text/csv")},
        follow_redirects=False,
    )
    job_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert wait_job(client, job_id)["status"] == "failed"
    zh = client.get(f"/data/jobs/{job_id}", params={"lang": "zh"}).text
    assert "文件 月报.csv，第 1 行，字段 consumed_total：缺少必填列 consumed_total" in zh
    en = client.get(f"/data/jobs/{job_id}", params={"lang": "en"}).text
    assert "月报.csv, line 1, field consumed_total: missing required column(s)" in en
    assert "缺少必填列" not in en and "missing required" not in zh  # a page in one language


def test_the_api_error_body_names_the_place_in_the_request_language(app, web_home, job_worker):
    client = sign_in(app, "analyst")
    headers = {"X-CSRF-Token": page_csrf(client)}
    r = client.post(
        "/api/v1/uploads",
        params={"lang": "en"},
        data={"kind": "energy_monthly"},
        files={"file": ("old.xls", b"x", "application/vnd.ms-excel")},
        headers=headers,
    )
    assert r.status_code == 422
    error = r.json()["error"]
    assert (error["file"], error["code"]) == ("old.xls", "file_type")
    assert error["reason"] == "unsupported file type '.xls'" and ".xlsx" in error["hint"]
    assert r.json()["detail"] == error["message"]
    r = client.post(
        "/api/v1/uploads",
        data={"kind": "energy_monthly"},
        files={"file": ("短.csv", b"enterprise_code,period,unit\nx,2024-01,t\n", "text/csv")},
        headers=headers,
    )
    assert r.status_code == 202
    job_id = r.json()["job_id"]
    job = wait_job(client, job_id, params={"lang": "zh"})
    detail = job["error_detail"]
    assert (detail["file"], detail["line"], detail["field"]) == ("短.csv", 1, "consumed_total")
    assert detail["reason"] == "缺少必填列 consumed_total" and job["error"] == detail["message"]
    en = client.get(f"/api/v1/jobs/{job_id}", params={"lang": "en"}).json()
    assert en["error_detail"]["reason"] == "missing required column(s) consumed_total"
    assert en["error"].startswith("短.csv, line 1, field consumed_total: missing required")


def test_location_of_a_quarantine_row_is_the_same_model():
    loc = Location.of("205.xlsx!能源", 12, "consumed_total", "-7")
    assert loc.text("en") == "205.xlsx, sheet 能源, row 12, field consumed_total, value '-7'"
    assert Location.of("a.csv", 3).text("zh") == "文件 a.csv，第 3 行"


def test_cli_names_a_missing_file_in_the_chosen_language(tmp_path):
    missing = tmp_path / "nowhere.csv"
    runner = CliRunner()
    zh = runner.invoke(cli, ["--lang", "zh", "account", str(missing)], env=WIDE)
    assert zh.exit_code == 1 and f"找不到文件 {missing}" in zh.output and "Errno" not in zh.output
    en = runner.invoke(cli, ["--lang", "en", "account", str(missing)], env=WIDE)
    assert en.exit_code == 1 and f"no such file: {missing}" in en.output
