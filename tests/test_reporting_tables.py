"""The reporting tables of 清单 (issue 15, totals and reporting): the provincial guideline's 总表
and sector tables and GPC BASIC / BASIC+ in a CIRIS-like layout, downloaded as Excel in Chinese
and English, reconcile with the totals of 清单 (``city_indicators``, ``city_inventory``)."""

from __future__ import annotations

import io
import re
from urllib.parse import unquote

import openpyxl
import pandas as pd
import pytest

from citycarbon.contract.results import CITY_INDICATORS, CITY_INVENTORY
from citycarbon.store import results
from tests import web_fixtures
from tests.web_fixtures import sign_in

app, web_home = web_fixtures.app, web_fixtures.web_home  # shared fixtures

SECTOR_SHEETS = {
    "zh": ["能源活动", "工业生产过程", "农业", "土地利用变化和林业", "废弃物处理"],
    "en": [
        "Energy",
        "Industrial processes",
        "Agriculture",
        "Land-use change and forestry",
        "Waste",
    ],
}
TOTAL = {"zh": "合计（吨CO2当量）", "en": "Total (tCO2e)"}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def analyst(app):
    return sign_in(app, "analyst")


@pytest.fixture(scope="module")
def indicators(web_home) -> pd.Series:
    ind = results.current(CITY_INDICATORS, lake=web_home / "lake")
    ind = ind[ind["period_type"] == "year"]
    return ind.set_index(["indicator", "year"])["value"]


def _year(web_home) -> int:
    inv = results.current(CITY_INVENTORY, lake=web_home / "lake")
    return int(inv["year"].max())


def _workbook(client, name: str, year: int, lang: str) -> tuple[dict, str]:
    r = client.get(f"/api/v1/inventory/tables/{name}.xlsx", params={"year": year, "lang": lang})
    assert r.status_code == 200, r.text
    book = pd.read_excel(io.BytesIO(r.content), sheet_name=None)
    filename = unquote(r.headers["content-disposition"].split("filename*=UTF-8''")[1])
    return book, filename


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_guideline_tables_reconcile_with_the_inventory(analyst, web_home, indicators, lang):
    year = _year(web_home)
    book, filename = _workbook(analyst, "guideline", year, lang)
    summary_name = "总表" if lang == "zh" else "Summary table"
    assert list(book)[1:] == [summary_name, *SECTOR_SHEETS[lang]]
    summary = book[summary_name]
    total = summary[TOTAL[lang]]
    gross = indicators[("total_ghg_tco2e_territorial", year)]
    net = indicators[("net_ghg_tco2e_territorial", year)]
    assert total.iloc[0] == pytest.approx(gross, abs=0.1)  # first row: total without LUCF
    assert total.iloc[6] == pytest.approx(net, abs=0.1)  # net with LUCF
    removals = indicators[("removals_tco2e_territorial", year)]
    assert removals < 0 and total.iloc[4] == pytest.approx(removals, abs=0.1)  # LUCF
    for i, sheet in enumerate(SECTOR_SHEETS[lang], start=1):  # sector sheets add up
        expected = 0.0 if pd.isna(total.iloc[i]) else total.iloc[i]  # agriculture: NE
        assert book[sheet][TOTAL[lang]].sum() == pytest.approx(expected, abs=0.5)
    assert summary[TOTAL[lang]].iloc[1:6].sum() == pytest.approx(net, abs=0.5)
    gas_cols = [c for c in summary.columns if c not in summary.columns[:2] and c != TOTAL[lang]]
    assert summary[gas_cols].iloc[0].sum() == pytest.approx(gross, abs=0.5)  # gases add up
    # the memo row (net imported electricity) is the difference of the two bases
    incl = indicators[("total_ghg_tco2e", year)]
    assert total.iloc[7] == pytest.approx(incl - gross, abs=0.5)
    if lang == "zh":
        assert filename.startswith(f"厦门市_{year}_省级清单报告表") and filename.endswith(".xlsx")
        assert "制造业和建筑业" in set(book["能源活动"]["名称"])
        for sheet in SECTOR_SHEETS["zh"]:  # every category named, none by its code alone
            assert not (book[sheet]["部门代码"] == book[sheet]["名称"]).any(), sheet
    else:
        cells = [str(v) for f in book.values() for v in f.astype(str).to_numpy().ravel()]
        cells += [str(c) for f in book.values() for c in f.columns]
        assert not [c for c in cells if CJK.search(c)], "an English workbook is all English"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_gpc_ciris_table_reconciles_with_basic_and_basic_plus(analyst, web_home, indicators, lang):
    year = _year(web_home)
    book, filename = _workbook(analyst, "gpc", year, lang)
    sheet = book[list(book)[1]]
    basic = "BASIC合计（吨CO2当量）" if lang == "zh" else "BASIC total (tCO2e)"
    plus = "BASIC+合计（吨CO2当量）" if lang == "zh" else "BASIC+ total (tCO2e)"
    assert sheet[basic].sum() == pytest.approx(indicators[("gpc_basic_tco2e", year)], abs=1)
    assert sheet[plus].sum() == pytest.approx(indicators[("gpc_basic_plus_tco2e", year)], abs=1)
    quality = sheet["数据质量" if lang == "zh" else "Data quality"].dropna()
    assert set(quality) <= {"H", "M", "L"} and len(quality) >= 20
    scope_cols = [c for c in sheet.columns if c.startswith("范围" if lang == "zh" else "Scope")]
    assert len(scope_cols) == 3
    cells = sheet[scope_cols].astype(str).to_numpy().ravel()
    keys = {c for c in cells if c.isalpha()}
    assert keys and keys <= {"NE", "NO", "IE", "NA", "nan"}  # notation keys where no figure
    if lang == "zh":
        assert filename.startswith(f"厦门市_{year}_GPC报告表") and filename.endswith(".xlsx")


def test_tables_are_city_wide_only_and_linked_from_the_page(app, analyst):
    scoped = sign_in(app, "siming")
    assert scoped.get("/api/v1/inventory/tables/guideline.xlsx").status_code in (403, 404)
    assert analyst.get("/api/v1/inventory/tables/other.xlsx").status_code == 422
    page = analyst.get("/inventory", params={"lang": "zh"}).text
    assert 'id="tables-guideline"' in page and "省级清单报告表" in page
    en = analyst.get("/inventory?lang=en").text
    assert "Provincial guideline tables" in en and 'id="tables-gpc"' in en


def test_workbook_opens_with_openpyxl_without_formulas(analyst, web_home):
    r = analyst.get("/api/v1/inventory/tables/guideline.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[0] == "说明"
    values = [c.value for ws in wb for row in ws.iter_rows() for c in row]
    assert not [v for v in values if isinstance(v, str) and v.startswith("=")]
