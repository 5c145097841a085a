"""One language per page (issue 19): every HTML page, as every demo role, in Chinese and in
English, holds no text of the other language outside names from the data and the allow-list of
:mod:`tests.page_language`.

Pages are the app's GET routes outside ``/api``; a route with path parameters is filled from the
links the role's pages show (an enterprise, a batch, a job, a factor set, a method, a badge), so
every page a role can reach is read. The roles are the demo users' and a bank (fixture
``bank_user``: the demo has none; it sees one enterprise, under a ``full`` consent). Text still
untranslated would be listed in ``tests/data/one_language_leftovers.txt`` as
``lang<TAB>route<TAB>word`` (the list is empty now): a finding outside it fails, and a line
nobody finds any more fails too (remove it), so the list only shrinks.
``CITYCARBON_REWRITE_LEFTOVERS=1`` rewrites the list from what the walk finds (after fixing
texts; review the diff: it must only lose lines).
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
import yaml

import citycarbon.accounting as accounting
import citycarbon.factors as factors
import citycarbon.finance as finance
from citycarbon.config import load_city
from citycarbon.contract.methods import methods
from citycarbon.contract.results import GREEN_PROJECT_REDUCTION
from citycarbon.demo.users import DEMO_USERNAMES, demo_password
from citycarbon.runs.scenarios import list_scenarios
from citycarbon.store import catalog, consents, lake, results, users
from citycarbon.store.targets import targets_frame
from citycarbon.web.app import create_app, route_table
from tests.page_language import foreign_words, names_pattern, visible_text
from tests.web_fixtures import SETTINGS, sign_in

LEFTOVERS = Path(__file__).parent / "data" / "one_language_leftovers.txt"
PARAM_RE = re.compile(r"{(\w+)}")
PAGES = [
    r.path
    for r in route_table(create_app(SETTINGS))
    if "GET" in r.methods and not r.path.startswith("/api")
]
#: Pages whose every instance is read (for one role): their texts differ from one to the next.
EVERY_INSTANCE = ("/methods/{key}", "/factors/{set_id}")
HREF_RE = re.compile(r'href="(?:http://testserver)?(/[^"?#]*)"')
#: The bank user of the walk (not a demo user: banks join with their own accounts), its name
#: and the purpose of the consent it holds (text users typed: names on every page).
BANK, BANK_NAME, PURPOSE = "bank", "示例银行", "授信审查"


# --------------------------------------------------------------------------- the helper
def test_visible_text_skips_scripts_and_keeps_tooltips():
    html = (
        "<html><head><title>总览</title><style>body{color:red}</style></head><body>"
        '<p title="提示">排放<b>总量</b></p><script>var x = "hello";</script>'
        '<input type="submit" value="保存"><input placeholder="搜索">'
        '<pre class="json">{"status": "committed"}</pre><pre>文本</pre><code>va_gdp</code>末'
        "<p>see <cite>《综合能耗计算通则》</cite></p></body>"
    )
    assert visible_text(html) == [
        "总览",
        "提示",
        "排放",
        "总量",
        "保存",
        "搜索",
        "文本",
        "末",
        "see",
    ]


def test_latin_words_on_a_chinese_page_are_found_outside_codes_units_and_names():
    chunks = ["排放 1,234 tCO₂e（2024）", "状态: committed", "va_tertiary 占比", "Acme 公司 GDP"]
    found = foreign_words(chunks, "zh", names_pattern(["Acme 公司", "city"]))
    assert [w for w, _ in found] == ["committed", "va_tertiary"]
    # identifiers as stored: factor profiles, batch ranges, addresses, file names
    codes = [
        "配置 xiamen:enterprise[cn-a@1,cn-b@2]#ab12 · parks:3-5",
        "http://x/badge 下载 a_b.csv",
    ]
    assert foreign_words(codes, "zh") == []
    # a Latin name is taken out only as a whole word
    assert foreign_words(["citycarbon 0.1"], "zh", names_pattern(["city"])) == []


def test_han_text_on_an_english_page_is_found_outside_names():
    chunks = ["Emissions of 思明区: 12 t", "status: 已提交", "中文", "Target 思明区“十四五”目标"]
    found = foreign_words(chunks, "en", names_pattern(["思明区", "思明区“十四五”目标"]))
    assert found == [("已提交", "status: 已提交")]


# --------------------------------------------------------------------------- every page
@pytest.fixture(scope="module")
def bank_user(web_home) -> str:
    """A bank user whom the demo enterprise user's enterprise gave a ``full`` consent: it reads
    the finance views and that enterprise's pages, nothing else."""
    users.create_user(BANK, demo_password(BANK), "bank", display_name=BANK_NAME, actor="admin")
    own = users.get_user_by_name("enterprise").scope_code
    consents.grant(own, BANK, scope="full", purpose=PURPOSE, days=30, actor="enterprise")
    return BANK


def _names() -> set[str]:
    """Names the pages may show in either language: registry entries, targets, users, sectors,
    blue-carbon sites (as their owners name them), balance-table items, fuels, grid regions,
    factor set ids, the documents that factor values and methods cite, city and district
    names, airports and ports, the purposes of consents (as their enterprise wrote them)."""
    frames = [catalog.registry_frame(t) for t in ("regions", "parks", "enterprises", "grid_nodes")]
    frames.append(targets_frame()[["code", "name"]])
    data = [Path(accounting.__file__).parent / "data", Path(factors.__file__).parent / "data"]
    for csv in (p for d in data for p in d.glob("*.csv")):
        table = pd.read_csv(csv, dtype=str)
        frames.append(table[[c for c in table.columns if c in ("zh", "name_zh", "aliases")]])
    projects = results.current(GREEN_PROJECT_REDUCTION)  # names of the project reserve
    frames.append(projects[["name", "owner_name"]])
    frames.append(lake.read_current("enterprise_offsets")[["reference"]])  # serials, sites
    frames.append(lake.read_current("blue_carbon_sites")[["site_name"]])  # the sites' own names
    frames.append(lake.read_current("transport_fuel")[["facility"]])  # airports and ports
    own = users.get_user_by_name("enterprise").scope_code  # consents' purposes, as written
    frames.append(consents.of_enterprise(own)[["purpose"]])
    subsidy = yaml.safe_load(
        (Path(finance.__file__).parent / "data" / "subsidies.yaml").read_text(encoding="utf-8")
    )
    for rule in subsidy["sets"].values():  # programme titles, cooperating banks
        frames.append(
            pd.DataFrame({"name": [rule.get("title_zh"), *rule.get("cooperating_banks", [])]})
        )
    names = {
        str(v)
        for f in frames
        for c in f.columns
        if f[c].dtype == object
        for v in f[c].dropna().unique()
    }
    names |= {n for v in list(names) for n in str(v).split(";")}  # aliases
    names |= {users.get_user_by_name(u).display_name for u in DEMO_USERNAMES} | set(DEMO_USERNAMES)
    names |= {"system", "demo"}  # the actors of runs and of the demo's changes (audit, batches)
    names |= set(list_scenarios()["name"])  # scenario names (chosen by their authors)
    sets = [p for p in data[1].iterdir() if p.is_dir()]
    names |= {p.name for p in sets}  # factor set ids
    for p in sets:  # the documents factor values cite (citations are names)
        cited = pd.read_csv(p / "factors.csv", dtype=str, usecols=["source", "clause"])
        names |= set(cited.stack().dropna())
        names |= set(
            re.split(r",\s*", yaml.safe_load((p / "manifest.yaml").read_text())["publisher"])
        )
    names |= {t for m in methods().values() for s in m.sources for t in (s.title, s.title_en)}
    city = load_city()
    names |= {city.id, city.name.zh, city.province.zh, *(d.zh for d in city.districts)}
    return {n for n in names if len(n) > 1}


def _read_every_page(app, names: set[str], roles: tuple[str, ...]) -> set[tuple[str, str, str]]:
    pattern, found = names_pattern(names), set()
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for username in roles:
        client = sign_in(app, username)
        queue, done, links = [p for p in PAGES if "{" not in p], set(), set()
        while queue:
            path = queue.pop(0)
            if path in done:
                continue
            done.add(path)
            route = next(p for p in PAGES if re.fullmatch(PARAM_RE.sub(r"[^/]+", p), path))
            for lang in ("zh", "en"):
                r = client.get(path, params={"lang": lang})
                assert r.status_code < 500, (username, path, lang)
                if not r.headers["content-type"].startswith("text/html"):
                    break
                links |= set(HREF_RE.findall(r.text))
                chunks = set(visible_text(r.text)) - seen[lang, route]  # once per route
                seen[lang, route] |= chunks
                for word, _chunk in foreign_words(chunks, lang, pattern):
                    found.add((lang, route, word))
            for p in PAGES:
                if "{" in p:
                    hits = sorted(h for h in links if re.fullmatch(PARAM_RE.sub(r"[^/]+", p), h))
                    queue += hits if username == "admin" and p in EVERY_INSTANCE else hits[:1]
    return found


def test_every_page_is_in_one_language(app, web_home, bank_user):
    names = _names() | {bank_user, BANK_NAME, PURPOSE}  # of the demo home (fixture web_home)
    found = _read_every_page(app, names, (*DEMO_USERNAMES, bank_user))
    listed = {
        tuple(line.split("\t"))
        for line in LEFTOVERS.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    if os.environ.get("CITYCARBON_REWRITE_LEFTOVERS") == "1":  # a developer's tool, never CI
        header = [
            ln for ln in LEFTOVERS.read_text(encoding="utf-8").splitlines() if ln.startswith("#")
        ]
        body = ["\t".join(f) for f in sorted(found)]
        LEFTOVERS.write_text("\n".join([*header, *body]) + "\n", encoding="utf-8")
        listed = found
    new = sorted(found - listed)
    assert not new, "text of the other language:\n" + "\n".join("\t".join(f) for f in new)
    gone = sorted(listed - found)
    assert not gone, "fixed, remove from the leftovers:\n" + "\n".join("\t".join(f) for f in gone)
