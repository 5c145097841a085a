"""Outputs fit to hand in: the inventory downloads for people (``lang=zh|en``) have labelled
headers with units, figures in 万吨 where tonnes reach eight digits, fractions as percentages,
the 口径 in the file and in its name (RFC 6266/5987); the numbers in the file are the result
values after the unit change and rounding; every page of the PDF reports renders (PNGs kept
under test-artifacts/reports/) and the first page carries the 口径 in the report's language."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from citycarbon.read.presentation import (
    in_display_units,
    labelled,
    present,
    present_with_unit,
    unit_label,
    value_label,
)
from citycarbon.reports.excel import write_excel
from citycarbon.reports.pdf import inventory_pdf, targets_pdf
from citycarbon.runs.reports import inventory_report, targets_report
from tests import web_fixtures
from tests.web_fixtures import sign_in

app, web_home = web_fixtures.app, web_fixtures.web_home  # shared fixtures
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "reports"
BASIS_WORD = {"zh": "口径说明", "en": "Basis of the figures"}
INCL = {"zh": "含调入电力", "en": "incl. net imported electricity"}


@pytest.fixture(scope="module")
def analyst(app):
    return sign_in(app, "analyst")


def _file_name(response) -> str:
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    return unquote(disposition.split("filename*=UTF-8''", 1)[1])


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_inventory_rows_download_for_people(analyst, lang, fmt):
    params = {"basis": "incl_net_imported_electricity", "format": fmt, "lang": lang}
    r = analyst.get("/api/v1/inventory/rows", params={**params, "year": 2024})
    assert r.status_code == 200
    name = _file_name(r)
    city = "厦门市" if lang == "zh" else "Xiamen"
    assert name.startswith(f"{city}_2024_") and INCL[lang].replace(" ", "_") in name
    assert name.endswith(f".{fmt}")
    if fmt == "csv":
        frame = pd.read_csv(io.BytesIO(r.content), encoding="utf-8-sig")
    else:
        sheets = pd.read_excel(io.BytesIO(r.content), sheet_name=None)
        frame, about = list(sheets.values())
        assert "说明" in sheets if lang == "zh" else "About" in sheets
        assert INCL[lang] in about.iloc[:, 1].tolist()
    # a sector's row reaches eight digits in tonnes: the column is in 万吨
    emissions = "排放量（万吨CO2当量）" if lang == "zh" else "Emissions (10⁴ tCO2e)"
    assert emissions in frame.columns
    assert not [c for c in frame.columns if "_" in str(c)]  # no raw field name
    if fmt == "csv":  # the 口径 as constant columns
        basis = "口径" if lang == "zh" else "Basis"
        assert set(frame[basis]) == {INCL[lang]}
    # round trip: the figures are the result values in 万吨, rounded to 0.01
    raw = analyst.get("/api/v1/inventory/rows", params={"year": 2024, "limit": 1000}).json()
    want = pd.DataFrame(raw["items"])
    want = want[want["basis"] == "incl_net_imported_electricity"]["emissions_tco2e"]
    got = frame[emissions].to_numpy(dtype="float64")
    assert want.max() >= 1e7
    assert np.allclose(got, (want / 1e4).round(2).to_numpy(dtype="float64"), equal_nan=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_trend_download_in_10k_tonnes(analyst, lang):
    r = analyst.get("/api/v1/inventory/trend", params={"format": "csv", "lang": lang})
    frame = pd.read_csv(io.BytesIO(r.content), encoding="utf-8-sig")
    total = "合计（万吨CO2当量）" if lang == "zh" else "Total (10⁴ tCO2e)"
    assert total in frame.columns
    raw = pd.DataFrame(analyst.get("/api/v1/inventory/trend").json())
    assert raw["total"].max() >= 1e7  # eight digits in tonnes: shown in 万吨
    assert np.allclose(frame[total], (raw["total"] / 1e4).round(2))
    assert _file_name(r).endswith(".csv")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_drilldown_and_gpc_downloads(analyst, lang):
    r = analyst.get("/api/v1/inventory/drilldown", params={"format": "xlsx", "lang": lang})
    sheets = pd.read_excel(io.BytesIO(r.content), sheet_name=None)
    frame = next(iter(sheets.values()))
    share = "占比（%）" if lang == "zh" else "Share (%)"
    raw = pd.DataFrame(
        analyst.get("/api/v1/inventory/drilldown", params={"limit": 1000}).json()["items"]
    )
    assert np.allclose(frame[share], (raw["share"] * 100).round(1), equal_nan=True)
    gpc = analyst.get("/api/v1/inventory/gpc", params={"format": "csv", "lang": lang})
    table = pd.read_csv(io.BytesIO(gpc.content), encoding="utf-8-sig")
    assert ("GPC编号" if lang == "zh" else "GPC ref.") in table.columns
    assert "GPC" in _file_name(gpc)


def test_api_files_without_lang_keep_field_names(analyst):
    r = analyst.get("/api/v1/inventory/rows", params={"format": "csv"})
    frame = pd.read_csv(io.BytesIO(r.content), encoding="utf-8-sig")
    assert "emissions_tco2e" in frame.columns
    assert r.headers["content-disposition"] == 'attachment; filename="inventory_rows.csv"'


def test_a_formula_in_a_labelled_download_is_neutralised():
    from citycarbon.read.presentation import Basis
    from citycarbon.web.app import table_download

    frame = pd.DataFrame({"entity_name": ["=1+1"], "emissions_tco2e": [2.5e7], "share": [0.5]})
    r = table_download(frame, "inventory_enterprise", "csv", "zh", Basis("厦门市", "2024"))
    text = r.body.decode("utf-8-sig")
    assert "'=1+1" in text and "2500.0" in text and "50.0" in text
    assert "排放量（万吨CO2当量）" in text


def _pages(pdf: Path, stem: str) -> list[Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(f"{stem}-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", str(pdf), str(ARTIFACTS / stem)], check=True, timeout=120
    )
    return sorted(ARTIFACTS.glob(f"{stem}-*.png"))


def _text(pdf: Path, page: int) -> str:
    out = subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.replace("\n", " ")


@pytest.fixture
def home(small_demo_dir, tmp_path, monkeypatch) -> Path:
    h = tmp_path / "h"
    shutil.copytree(small_demo_dir, h)
    monkeypatch.setenv("CITYCARBON_HOME", str(h))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    return h


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_pdf_page_renders_with_the_basis_first(home, tmp_path, lang):
    from PIL import Image

    for kind, data, write in (
        ("inventory", inventory_report(2024), inventory_pdf),
        ("targets", targets_report("2021-2025"), targets_pdf),
    ):
        pdf = write(data, tmp_path / f"{kind}-{lang}.pdf", lang)
        pages = _pages(pdf, f"{kind}-{lang}")
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        count = int(next(x for x in info.splitlines() if x.startswith("Pages")).split()[-1])
        assert len(pages) == count >= 2
        for png in pages:
            px = np.asarray(Image.open(png).convert("L"), dtype="float64")
            assert px.std() > 5 and (px < 128).mean() > 0.002, png.name  # not blank
        first = _text(pdf, 1)
        assert BASIS_WORD[lang] in first and data.period in first
        other = BASIS_WORD["en" if lang == "zh" else "zh"]
        assert other not in first
        if kind == "inventory":
            assert INCL[lang] in first


def test_report_tables_have_labels_and_excel_has_chinese_sheets(home, tmp_path):
    data = inventory_report(2024)
    for name, frame in data.tables.items():
        assert not [c for c in frame.columns if not labelled(str(c))], name
    sheets = pd.read_excel(write_excel(data, tmp_path / "r.xlsx"), sheet_name=None)
    assert {"说明", "分部门", "GPC报告表", "数据来源"} <= set(sheets)
    total = sheets["排放总量"]
    assert total.columns.tolist() == ["指标", "数值", "单位"]
    assert total["单位"].iat[0] == "万吨CO2当量"
    want = data.tables["total"]["value"].iat[0]
    assert total["数值"].iat[0] == pytest.approx(round(want / 1e4, 2))
    shown = present(data.tables["indicators"], "zh")
    assert "%" in set(shown.loc[shown["指标"] == "非化石能源占比（等价值）", "单位"].str[:1])


# ------------------------------------------------------------------ every other table download
#: (path, query) of the table downloads of the pages (their links send ``lang=``).
DOWNLOADS = [
    ("/api/v1/inventory/balance", {"tce_basis": "calorific"}),
    ("/api/v1/inventory/balance", {"tce_basis": "coal_equivalent"}),
    ("/api/v1/inventory/indicators", {"period": "year"}),
    ("/api/v1/inventory/scope2", {}),
    ("/api/v1/inventory/uncertainty", {}),
    ("/api/v1/inventory/reconciliation", {}),
    ("/api/v1/inventory/transport", {}),
    ("/api/v1/inventory/transport/facilities", {}),
    ("/api/v1/targets", {}),
    ("/api/v1/targets/indicators", {}),
    ("/api/v1/targets/progress", {}),
    ("/api/v1/targets/status", {}),
    ("/api/v1/targets/warnings", {}),
    ("/api/v1/power/nowcast", {}),
    ("/api/v1/power/backtest", {}),
    ("/api/v1/power/city-backtest", {}),
    ("/api/v1/power/scope2", {}),
    ("/api/v1/power/anomalies", {}),
    ("/api/v1/scenarios", {}),
    ("/api/v1/scenarios/measures", {}),
    ("/api/v1/finance/enterprises", {}),
    ("/api/v1/rating/grades", {}),
    ("/api/v1/rating/distribution", {}),
]
CITY = {"zh": "厦门市", "en": "Xiamen"}
CITY_LABEL = {"zh": "城市", "en": "City"}
FIELD_NAME = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)+")


def _csv(client, path: str, params: dict, **extra) -> tuple[pd.DataFrame, object]:
    r = client.get(path, params={**params, "format": "csv", **extra})
    assert r.status_code == 200, (path, r.text[:300])
    return pd.read_csv(io.BytesIO(r.content), encoding="utf-8-sig", dtype=str), r


def _tolerance(texts: pd.Series) -> np.ndarray:
    """Half the last shown digit of each figure of a file's column: the rounding bound (a
    figure rounded to d decimals shows at most d)."""
    fraction = texts.fillna("").str.partition(".")[2].str.rstrip("0")  # "1234.0": none
    decimals = fraction.str.len().to_numpy(dtype="float64")
    return 0.5 * 10.0**-decimals + 1e-9


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(("path", "params"), DOWNLOADS)
def test_every_table_download_for_people(analyst, path, params, lang):
    raw, _ = _csv(analyst, path, params)
    shown, r = _csv(analyst, path, params, lang=lang)
    name = _file_name(r)
    assert name.startswith(f"{CITY[lang]}_") and name.endswith(".csv"), name
    headers = [str(c) for c in shown.columns]
    assert len(set(headers)) == len(headers), headers  # every header names one column
    assert not [h for h in headers if FIELD_NAME.fullmatch(h)], headers  # no raw field name
    # the 口径 travels in the file: constant columns after the table's
    assert set(shown[CITY_LABEL[lang]]) == {CITY[lang]}
    assert len(shown) == len(raw)
    # round trip: each figure is the stored value in its display unit (万, 亿, %, or as is),
    # rounded to the decimals the column shows
    for i, field in enumerate(raw.columns):
        stored = pd.to_numeric(raw[field], errors="coerce")
        if stored.isna().all() or raw[field].str.lower().isin(["true", "false"]).any():
            continue
        got = pd.to_numeric(shown.iloc[:, i], errors="coerce")
        if got.isna().all():  # a code spelled out (level, year as text)
            continue
        tolerance = _tolerance(shown.iloc[:, i])
        # row by row: a long table (value, unit) shows each row in its unit's display unit
        factors = np.array([1, 100, 1e-4, 1e-5, 1e-8])
        off = np.abs(got.to_numpy()[:, None] - stored.to_numpy()[:, None] * factors).min(axis=1)
        both_empty = got.isna().to_numpy() & stored.isna().to_numpy()
        assert ((off <= tolerance) | both_empty).all(), (path, field, headers[i])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_balance_download_names_its_standard_coal_basis(analyst, lang):
    words = {"zh": ("当量值", "等价值"), "en": ("calorific", "coal-equivalent")}
    label = {"zh": "标准量折算", "en": "Standard coal"}[lang]
    for tce_basis, word in zip(("calorific", "coal_equivalent"), words[lang], strict=True):
        shown, r = _csv(analyst, "/api/v1/inventory/balance", {"tce_basis": tce_basis}, lang=lang)
        assert {v.split("（")[0].split(" (")[0] for v in shown[label]} == {
            {"zh": word, "en": f"{word} value"}[lang]
        }
        assert _file_name(r).startswith(f"{CITY[lang]}_2024_")


def test_columns_of_one_unit_share_their_display_unit():
    frame = pd.DataFrame({"CO2": [2.5e7, 1.0], "CH4": [3.0e5, 2.0], "share": [0.5, 0.25]})
    shown = present(frame, "zh")
    assert list(shown.columns) == ["CO2（万吨CO2当量）", "CH4（万吨CO2当量）", "占比（%）"]
    assert shown.iloc[0].tolist() == [2500.0, 30.0, 50.0]
    # a table of one unit (the GPC table): the unit once, for its title; bare headers
    gpc = pd.DataFrame({"gpc_ref": ["I.1.1"], "scope": [1], "CO2": [2.5e7], "total": [2.6e7]})
    bare, unit = present_with_unit(gpc, "en")
    assert unit == "10⁴ tCO2e" and list(bare.columns) == ["GPC ref.", "Scope", "CO2", "Total"]
    assert bare.iloc[0].tolist() == ["I.1.1", 1, 2500.0, 2600.0]


@given(st.integers(min_value=1900, max_value=2199))
def test_a_change_against_any_base_year_has_its_unit_in_both_languages(year):
    unit = f"% vs {year}"
    assert unit_label(unit, "zh") == f"%（较{year}年）"
    assert unit_label(unit, "en") == unit
    long = pd.DataFrame({"value": [-1.23456, 6.789], "unit": [unit, "tCO2e/person"]})
    shown = in_display_units(long, "zh")
    assert shown["unit"].tolist() == [f"%（较{year}年）", "吨CO2当量/人"]
    assert shown["value"].tolist() == [-1.23, 6.79]  # two decimals each (presentation.yaml)


def test_units_and_coded_values_in_the_page_language():
    assert unit_label("1 (local production)", "zh") == "%（本地生产）"
    assert unit_label("tce (coal_equivalent)", "zh") == "吨标准煤（等价值）"
    assert unit_label("no such unit", "zh") == "no such unit"  # shown as it is
    # IPCC tiers as the Chinese edition of the 2006 Guidelines writes them
    assert [value_label("tier", f"Tier {n}", "zh") for n in (1, 2)] == ["方法1", "方法2"]
    assert value_label("tier", "Tier 1", "en") == "Tier 1"
    assert value_label("flag", "reported 1 != computed 2", "zh") == "reported 1 != computed 2"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_reconciliation_and_drilldown_name_their_rows_in_the_file_language(analyst, lang):
    han = re.compile(r"[\u4e00-\u9fff]")
    shown, _ = _csv(analyst, "/api/v1/inventory/reconciliation", {"year": 2024}, lang=lang)
    zh, en = (
        shown["部门" if lang == "zh" else "Sector (Chinese name)"],
        shown["部门（英文名）" if lang == "zh" else "Sector"],
    )
    assert zh.notna().all() and zh.map(lambda s: bool(han.search(s))).all()  # every sector
    # English names are in English; IPPU product categories have a Chinese name only
    assert not en.fillna("").map(lambda s: bool(han.search(s))).any()
    assert en.notna().sum() > len(en) / 2
    district = {"district": "350211", "year": 2024}  # 集美区: parks and enterprises outside any
    drill, _ = _csv(analyst, "/api/v1/inventory/drilldown", district, lang=lang)
    code, name = ("主体代码", "主体名称") if lang == "zh" else ("Entity code", "Entity name")
    no_park = drill.loc[drill[code].str.lstrip("'") == "-", name].tolist()
    assert no_park == [{"zh": "不属于任何园区", "en": "Outside any park"}[lang]]
    city, _ = _csv(analyst, "/api/v1/inventory/drilldown", {"year": 2024}, lang=lang)
    rest = city.loc[city[code] == "unattributed", name].tolist()
    assert len(rest) == 1 and bool(han.search(rest[0])) == (lang == "zh")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_targets_report_names_the_dual_control_indicators(home, lang):
    from citycarbon.targets.indicators import INDICATORS

    data = targets_report("2021-2025")
    shown = present(data.tables["indicators"], lang)
    label = "指标" if lang == "zh" else "Indicator"
    assert not set(shown[label]) & set(INDICATORS)  # names, not codes
    roles = {"zh": {"考核", "报告", "构成项"}, "en": {"assessed", "reported", "component"}}
    assert set(shown["用途" if lang == "zh" else "Role"]) <= roles[lang]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_balance_workbook_for_people(analyst, lang):
    r = analyst.get("/api/v1/inventory/balance.xlsx", params={"year": 2024, "lang": lang})
    assert r.status_code == 200
    name = _file_name(r)
    assert (
        name == {"zh": "厦门市_2024_能源平衡表.xlsx", "en": "Xiamen_2024_Energy_balance.xlsx"}[lang]
    )
    sheets = pd.read_excel(io.BytesIO(r.content), sheet_name=None, header=None)
    about = sheets[{"zh": "说明", "en": "About"}[lang]]
    text = " ".join(about[1].astype(str))
    both = {"zh": ("当量值", "等价值"), "en": ("calorific", "coal-equivalent")}[lang]
    assert all(word in text for word in both) and CITY[lang] in text
    physical = sheets[{"zh": "实物量", "en": "Physical quantities"}[lang]]
    assert physical.iat[1, 0] == {"zh": "项目", "en": "Item"}[lang]
    assert (
        physical.iat[2, 0]
        == {"zh": "可供本地区消费的能源量", "en": "total energy available for consumption"}[lang]
    )
    # the raw API file keeps its ASCII name and the bureaus' sheets alone
    raw = analyst.get("/api/v1/inventory/balance.xlsx", params={"year": 2024})
    assert raw.headers["content-disposition"] == 'attachment; filename="energy_balance_2024.xlsx"'
    assert "说明" not in pd.read_excel(io.BytesIO(raw.content), sheet_name=None)


def test_cli_csv_files_are_labelled_unless_raw(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from citycarbon.cli import app as cli

    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "home"))
    energy = tmp_path / "energy.csv"
    energy.write_text(
        "enterprise_code,fuel,quantity,unit\nE1,柴油,20,吨\nE1,电力,100,万千瓦时\n",
        encoding="utf-8",
    )
    files = {}
    for option in (["--lang", "zh"], ["--lang", "en"], ["--raw"]):
        out = tmp_path / f"summary{option[-1]}.csv"
        args = ["account", str(energy), "--year", "2023", "--summary", str(out), *option]
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 0, r.output
        files[option[-1]] = pd.read_csv(out, encoding="utf-8-sig")
    raw = files["--raw"]
    assert {"enterprise_code", "scope1_tco2e", "total_tco2e"} <= set(raw.columns)
    for lang, header in (("zh", "范围一排放（吨CO2当量）"), ("en", "Scope 1 (tCO2e)")):
        shown = files[lang]
        assert not [c for c in shown.columns if FIELD_NAME.fullmatch(str(c))], shown.columns
        # 61.9182 t of diesel CO2 (20 t) shown rounded to 0.1 t
        assert shown[header].tolist() == raw["scope1_tco2e"].round(1).tolist()
    bad = CliRunner().invoke(cli, ["account", str(energy), "--lang", "fr"])
    assert bad.exit_code != 0 and "zh or en" in bad.output
