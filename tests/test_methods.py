"""方法说明: every headline number's method (口径) is declared once, every 口径 link on a page
names a declared method, and a method page leads to the factor sets and ingest batches of the
current run (two clicks from a number to its inputs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from citycarbon.contract import methods as contract_methods
from citycarbon.contract.results import RESULTS
from citycarbon.factors import FactorProfile, load_factor_set
from citycarbon.read import methods as read_methods
from tests import web_fixtures
from tests.web_fixtures import sign_in

app, web_home = web_fixtures.app, web_fixtures.web_home  # shared fixtures
TEMPLATES = Path(contract_methods.__file__).parents[1] / "web" / "templates"


def test_every_method_reads_a_declared_result_and_cites_a_source():
    declared = contract_methods.methods()
    assert declared, "no methods declared"
    for m in declared.values():
        assert m.result in RESULTS
        assert m.sources and all(s.title for s in m.sources)
        assert m.name["zh"] != m.name["en"]  # both languages given


def test_every_method_link_on_a_page_names_a_declared_method():
    used = set()
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"method_link\(t, '([a-z0-9_]+)'", text))
        used |= set(
            re.findall(r"\('[a-z0-9_]+', '[a-z.0-9_]+', '[a-z._0-9]+', '([a-z0-9_]+)'\)", text)
        )
        for keys in re.findall(r"methods_panel\(t, lang, \[([^\]]*)\]", text):
            used |= set(re.findall(r"'([a-z0-9_]+)'", keys))
    assert used, "no page links a method"
    assert used <= set(contract_methods.methods()), used - set(contract_methods.methods())


def test_a_profile_label_and_source_batches_parse_back():
    sets = [load_factor_set("ipcc-2006-energy"), load_factor_set("ipcc-ar5-gwp100")]
    label = FactorProfile(sets, name="somecity").version  # the label runs record
    parsed = read_methods.parse_profile(label)
    assert parsed["city"] == "somecity"
    assert [s["id"] for s in parsed["sets"]] == ["ipcc-2006-energy", "ipcc-ar5-gwp100"]
    assert all(s["version"] for s in parsed["sets"]) and parsed["digest"]
    assert read_methods.parse_batches("energy_monthly:5-9,enterprises:3") == [
        {"kind": "energy_monthly", "first": 5, "last": 9},
        {"kind": "enterprises", "first": 3, "last": 3},
    ]


@pytest.fixture(scope="module")
def clients(app):
    return {u: sign_in(app, u) for u in ("analyst", "enterprise")}


def test_two_clicks_from_a_number_to_its_factor_sets_and_batches(clients):
    analyst = clients["analyst"]
    home = analyst.get("/").text
    link = re.search(r'href="(/methods/enterprise_co2)"', home)
    assert link, "the overview's CO2 figure has no 口径 link"
    page = analyst.get(link.group(1)).text  # click 1
    assert "GB/T 32150-2015" in page
    factor_set = re.search(r'href="(/factors/[a-z0-9-]+)"', page)
    batch = re.search(r'href="(/data/batches/\d+)"', page)
    assert factor_set and batch
    assert analyst.get(factor_set.group(1)).status_code == 200  # click 2: the factors used
    assert analyst.get(batch.group(1)).status_code == 200  # click 2: the data read


def test_an_enterprise_user_sees_the_method_but_not_the_city_batches(clients):
    page = clients["enterprise"].get("/methods/enterprise_co2").text
    assert "GB/T 32150-2015" in page
    assert "/data/batches/" not in page
    api = clients["enterprise"].get("/api/v1/methods/enterprise_co2").json()
    assert api["batches"] and all(set(b) == {"kind"} for b in api["batches"])


def test_an_unknown_method_is_not_found(clients):
    assert clients["analyst"].get("/methods/no_such_method").status_code == 404
    assert clients["analyst"].get("/api/v1/methods/..%2F..").status_code in (404, 422)


def test_an_incomplete_year_is_compared_with_the_same_months_of_the_year_before(monkeypatch):
    """总览 compares 2025 Jan–Mar with 2024 Jan–Mar, not with all of 2024."""
    import pandas as pd

    from citycarbon.read import access

    months = pd.DataFrame(
        {
            "year": [2024] * 12 + [2025] * 3,
            "month": [*range(1, 13), 1, 2, 3],
            **{k: [10.0] * 12 + [11.0] * 3 for k in access.RESULT_SUMS},
        }
    )
    monkeypatch.setattr(access, "totals_by_month", lambda principal: months)
    ytd = access.year_to_date.__wrapped__(access.SYSTEM)
    assert ytd["year"] == 2025 and ytd["months"] == [1, 2, 3] and not ytd["complete"]
    assert ytd["this"]["co2_t"] == 33.0 and ytd["prev"]["co2_t"] == 30.0  # +10 %, not -72.5 %
