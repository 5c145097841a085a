"""因子库 pages and ``/api/v1/factor-sets``: keys are found by their Chinese and English names
(grid regions from ``grid_regions.csv``, fuels from ``fuels.csv``), the sets and values the
city's configuration uses are marked per context, the compare form never proposes A = B, and
titles, descriptions and notes are shown in the page's (and the file's) language."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from citycarbon import factors
from citycarbon.config import CONTEXTS, load_city
from citycarbon.web.app import data_text_html
from citycarbon.web.routes.api import factor_values
from tests import web_fixtures
from tests.page_language import foreign_words, visible_text
from tests.web_fixtures import sign_in

app, web_home = web_fixtures.app, web_fixtures.web_home  # shared fixtures


@pytest.fixture(scope="module")
def viewer(app):
    return sign_in(app, "viewer")


def _items(client, set_id: str, **params) -> list[dict]:
    r = client.get(f"/api/v1/factor-sets/{set_id}", params={"limit": 1000, **params})
    assert r.status_code == 200, r.text[:300]
    return r.json()["items"]


def test_chinese_names_find_grid_regions_and_fuels(viewer):
    fujian = _items(viewer, "cn-mee-grid", q="福建")
    assert {i["key"] for i in fujian} == {"fujian"}
    assert {i["year"] for i in fujian} >= {2021, 2022, 2023}
    assert all(i["name_zh"] == "福建省" and i["name_en"] == "Fujian" for i in fujian)
    assert _items(viewer, "cn-mee-grid", q="fujian") == fujian  # the key itself still works
    assert {i["key"] for i in _items(viewer, "cn-mee-grid", q="华东")} == {"east_china"}
    coal = _items(viewer, "cn-enterprise-guide", q="原煤")
    assert {i["key"] for i in coal} == {"raw_coal"}
    assert {"ncv", "carbon_content", "oxidation"} <= {i["parameter"] for i in coal}
    html = viewer.get("/factors/cn-mee-grid", params={"q": "福建", "lang": "zh"}).text
    rows = re.findall(r'<tr data-key="(\w+)">', html)
    assert rows and set(rows) == {"fujian"}
    assert '<div class="muted key-name" style="white-space: nowrap">福建省</div>' in html
    en = viewer.get("/factors/cn-mee-grid", params={"q": "福建", "lang": "en"}).text
    assert '<div class="muted key-name" style="white-space: nowrap">Fujian</div>' in en


def test_sets_carry_their_place_in_the_city_priority(viewer, web_home):
    city = load_city()
    html = viewer.get("/factors", params={"lang": "zh"}).text
    for context, label in zip(CONTEXTS, ("城市清单", "企业核算"), strict=True):
        order = [*city.factors.sets_of(context), city.factors.gwp]
        for n, set_id in enumerate(order, start=1):
            row = html.split(f'data-set="{set_id}"', 1)[1].split("</tr>", 1)[0]
            assert f"{label}第 {n} 位" in row, (context, set_id)
    unused = html.split('data-set="ipcc-ar6-gwp100"', 1)[1].split("</tr>", 1)[0]
    assert "badge" not in unused  # the city adds gases up with AR5


def test_values_the_city_takes_are_marked_per_context(viewer, web_home):
    # raw coal NCV: the enterprise accounts look in cn-enterprise-guide first; the inventory
    # looks in cn-provincial-inventory and GB/T 2589-2020 before it (xiamen.yaml priority)
    ncv = next(
        i for i in _items(viewer, "cn-enterprise-guide", q="raw_coal") if i["parameter"] == "ncv"
    )
    assert ncv["used_enterprise"] is True and ncv["used_inventory"] is False
    gbt = [i for i in _items(viewer, "cn-gbt2589-2020", q="原煤") if i["parameter"] == "ncv"]
    assert gbt and all(i["used_inventory"] for i in gbt)
    ar6 = _items(viewer, "ipcc-ar6-gwp100")
    assert not any(i["used_inventory"] or i["used_enterprise"] for i in ar6)
    # of the grid factors only the declared region (national) and, for the inventory, the
    # regions of the sensitivity table (east_china, fujian) are the city's
    grid = pd.DataFrame(_items(viewer, "cn-mee-grid", parameter="grid_ef"))
    inventory = set(grid.loc[grid["used_inventory"], "key"])
    assert inventory == {"national", "east_china", "fujian"}
    assert set(grid.loc[grid["used_enterprise"], "key"]) == {"national"}
    # one value per parameter, key, context and year across all the sets of a context
    city = load_city()
    for context in CONTEXTS:
        used = pd.concat(
            [
                factor_values(s).query(f"used_{context}")
                for s in [*city.factors.sets_of(context), city.factors.gwp]
            ]
        )
        assert not used.duplicated(["parameter", "key", "context", "year"]).any(), context
        assert len(used) > 0


def test_compare_form_does_not_default_to_the_same_set(viewer):
    html = viewer.get("/factors").text
    form = html.split('id="compare-form"', 1)[1].split("</form>", 1)[0]
    a, b = re.findall(r"<option selected>([^<]+)</option>", form)
    assert a != b
    same = viewer.get("/factors", params={"a": "cn-mee-grid", "b": "cn-mee-grid"}).text
    assert 'id="same-set"' in same and 'id="factor-diff"' not in same
    diff = viewer.get("/factors", params={"a": "ipcc-ar5-gwp100", "b": "ipcc-ar6-gwp100"}).text
    assert 'id="factor-diff"' in diff and 'id="same-set"' not in diff


def test_every_grid_key_has_a_name():
    """grid_regions.csv names every key of the grid_ef series (provinces with their GB/T 2260
    codes), so no grid value is left findable only by its pinyin."""
    grid = factors.load_factor_set("cn-mee-grid").table
    regions = factors.grid_regions()
    assert set(grid.loc[grid["parameter"] == "grid_ef", "key"]) <= set(regions.index)
    provinces = regions[regions["kind"] == "provincial"]
    assert provinces["adcode"].str.fullmatch(r"\d{2}0000").all()
    assert regions.at["fujian", "adcode"] == "350000"  # as the city config's province
    assert (regions["name_zh"] != "").all() and (regions["name_en"] != "").all()


@pytest.mark.parametrize("set_id", factors.available_ids())
def test_every_text_of_a_set_is_in_one_language(set_id):
    """Title, description and every note of a built-in set read in Chinese on a Chinese page
    and in English on an English page, as rendered: cited documents (《…》, 文号) stay as
    published in <cite>, identifiers in backticks become <code> (tests/page_language.py)."""
    fs = factors.load_factor_set(set_id)
    for lang in factors.LANGS:
        notes = factors.in_language(fs.table, lang)["note"].unique()
        for text in [fs.text("title", lang), fs.text("description", lang), *notes]:
            chunks = visible_text(f"<p>{data_text_html(text)}</p>")
            assert foreign_words(chunks, lang) == [], (lang, text)
    assert (fs.table["note"] == "").eq(fs.table["note_zh"] == "").all()
    assert (fs.table["note"] == "").eq(fs.table["note_en"] == "").all()


def test_notes_follow_the_page_and_the_file_language(viewer):
    page = {
        lang: viewer.get("/factors/cn-gbt2589-2020", params={"q": "raw_coal", "lang": lang}).text
        for lang in factors.LANGS
    }
    assert "平均低位发热量 5000 千卡/千克；原煤" in page["zh"]
    assert "average net calorific value" not in page["zh"]
    assert "average net calorific value 5000 kcal/kg; raw coal" in page["en"]
    assert "平均低位发热量" not in page["en"]
    assert "<cite>《综合能耗计算通则》</cite>" in page["en"]  # a cited title, as published
    assert "<code>raw_coal</code>" in page["zh"]
    assert "General rules for calculation" in viewer.get("/factors", params={"lang": "en"}).text
    # a file for people holds the note of its language; the API the record and both languages
    csv = viewer.get(
        "/api/v1/factor-sets/cn-gbt2589-2020",
        params={"q": "raw_coal", "format": "csv", "lang": "en"},
    ).content.decode("utf-8-sig")
    assert "average net calorific value 5000 kcal/kg; raw coal" in csv
    assert "平均低位发热量" not in csv
    ncv = next(
        i for i in _items(viewer, "cn-gbt2589-2020", q="raw_coal") if i["parameter"] == "ncv"
    )
    assert ncv["note"] == "平均低位发热量 5000 kcal/kg; 原煤"
    assert ncv["note_zh"] == "平均低位发热量 5000 千卡/千克；原煤"
    assert ncv["note_en"] == "average net calorific value 5000 kcal/kg; raw coal"
