"""企业 list: filters (district, park, industry, key energy users, year), sorting by any
column, and GB/T 4754-2017 industry names beside the codes."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from citycarbon.contract.codes import industries, industry_names
from tests import web_fixtures
from tests.web_fixtures import sign_in

app, web_home = web_fixtures.app, web_fixtures.web_home  # shared fixtures


def test_industry_names_are_those_of_gbt_4754_2017():
    """Names as printed in GB/T 4754-2017 (classes, a division and a section)."""
    codes = pd.Series(["C3974", "3841", "D4430", "C26", "C", "Z9999"])
    assert industry_names(codes).tolist() == [
        "显示器件制造",
        "锂离子电池制造",
        "热力生产和供应",
        "化学原料和化学制品制造业",
        "制造业",
        "",
    ]
    table = industries()
    assert (table["level"] == "section").sum() == 20 and (table["level"] == "division").sum() == 97
    assert (table["name_en"] != "").all()  # every code has an English name


@pytest.fixture(scope="module")
def analyst(app):
    return sign_in(app, "analyst")


def _rows(html: str) -> list[str]:
    body = html.split('id="enterprise-table"', 1)[1].split("</tbody>", 1)[0]
    return [r for r in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S) if "<td" in r]


def _num(cell: str) -> float:
    text = re.sub(r"<[^>]+>", "", cell).replace(",", "").strip()
    return float("nan") if text in ("", "–") else float(text)


def test_sorting_by_energy_both_ways(analyst):
    for desc in ("false", "true"):
        html = analyst.get(f"/enterprises?sort=energy_tce&desc={desc}").text
        values = [_num(re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S)[5]) for r in _rows(html)]
        values = [v for v in values if v == v]
        assert len(values) > 10
        assert values == sorted(values, reverse=desc == "true")


def test_filters_narrow_the_list_and_show_industry_names(analyst):
    all_rows = analyst.get("/enterprises").text
    total = int(re.search(r"共 (\d+) 行", all_rows).group(1))
    key = analyst.get("/enterprises?key_only=true").text
    keyed = int(re.search(r"共 (\d+) 行", key).group(1))
    assert 0 < keyed < total
    assert all("✓" in r for r in _rows(key))
    c39 = analyst.get("/enterprises?industry=C39").text
    assert _rows(c39) and all("C39" in r for r in _rows(c39))
    assert "计算机、通信和其他电子设备制造业" in c39  # the division's name in the filter
    english = analyst.get("/enterprises?industry=C39&lang=en").text
    analyst.get("/enterprises?lang=zh")  # the language sticks to the session: back to zh
    assert "Manufacture of computers, communication and other electronic equipment" in english


def test_a_year_can_be_chosen(analyst):
    select = analyst.get("/enterprises").text.split('id="year"', 1)[1].split("</select>", 1)[0]
    oldest = min(int(y) for y in re.findall(r'value="(\d{4})"', select))
    html = analyst.get(f"/enterprises?year={oldest}&lang=zh").text
    assert f"年份 {oldest}" in html and f'value="{oldest}" selected' in html
    assert analyst.get("/enterprises?year=1800").status_code == 422
    assert analyst.get("/enterprises?sort=password").status_code == 422
