"""The public citizen view (/public, /api/public/...): no sign-in, city aggregates only.

Walks every route of the public module as an anonymous visitor and checks that no enterprise
(credit code or name), no district figure of the inventory and no resident (pseudonymous id)
appears; the rate limit answers 429; the CSV downloads carry their licence."""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from citycarbon.config import load_city
from citycarbon.read import public
from citycarbon.runs import credits as credit_runs
from citycarbon.runs import map_layers as ml
from citycarbon.store import catalog
from citycarbon.store import credits as ledger
from citycarbon.web.app import route_table
from citycarbon.web.routes import public as public_routes

SECRET_SUBJECT = "resident-7f3a9c-never-public"


@pytest.fixture(scope="module")
def anonymous(app, web_home) -> TestClient:
    events = pd.DataFrame(
        [
            {
                "event_id": "p1",
                "account": SECRET_SUBJECT,
                "method": "recyclables",
                "at": pd.Timestamp.now(tz="UTC") - pd.Timedelta(hours=1),
                "quantity": 3,
                "district_code": "350203",
            }
        ]
    )
    ledger.record_consent("recycler", SECRET_SUBJECT)  # the resident consents to the recycler
    out = credit_runs.credit_partner_events("recycler", events, city=load_city())
    assert out["status"].tolist() == ["credited"]
    public.invalidate()
    return TestClient(app)


def _public_gets(app) -> list[str]:
    paths = [r.path for r in route_table(app) if r.module == "public" and "GET" in r.methods]
    return [p.replace("{key}", name) for p in paths for name in public.DATASETS] + [
        p for p in paths if "{" not in p
    ]


def test_every_public_route_shows_aggregates_only(app, anonymous):
    ents = catalog.registry_frame("enterprises")
    assert len(ents)
    codes, names = set(ents["credit_code"]), set(ents["name"])
    paths = sorted(set(_public_gets(app)))
    assert "/public" in paths and "/api/public/summary" in paths
    for path in paths:
        r = anonymous.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:200])
        text = r.text
        assert SECRET_SUBJECT not in text, path
        assert not codes & set(re.findall(r"[0-9A-Z]{18}", text)), path
        assert not any(n in text for n in names), path
        assert "recycler" not in text, path  # not even which partner sent what


def test_summary_has_the_city_figures(anonymous):
    summary = anonymous.get("/api/public/summary").json()
    assert summary["emissions_trend"], "the demo city has an inventory"
    assert {r["basis"] for r in summary["emissions_trend"]} <= {
        "territorial",
        "incl_net_imported_electricity",
    }
    # recyclables: 3 kg x 0.5 kgCO2e/kg = 1.5 kg
    assert summary["credits"]["credited_kgco2e"] == pytest.approx(1.5)
    assert summary["licence"]["assumption"] is True


def test_csv_downloads_carry_the_licence(anonymous):
    r = anonymous.get("/api/public/data/credits.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["x-data-licence"] == public.LICENCE["id"]
    assert "public" in r.headers["cache-control"]
    header = r.content.decode("utf-8-sig").splitlines()[0].split(",")
    assert header == ["period", "method", "region_code", "points", "events", "credited_kgco2e"]
    listing = anonymous.get("/api/public/datasets").json()
    assert {d["name"] for d in listing} == set(public.DATASETS)
    assert all(d["basis"] and d["licence"]["id"] for d in listing)
    assert anonymous.get("/api/public/data/enterprises.csv").status_code == 422


def test_the_page_is_one_language(anonymous):
    zh = anonymous.get("/public?lang=zh").text
    en = anonymous.get("/public?lang=en").text
    assert "公众视图" in zh and "Public view" in en
    assert "已包含在上方实测排放中" in zh and "already inside the measured emissions" in en
    for text in (zh, en):  # no missing keys
        assert not re.search(r"\b(public|targets|inventory|common)\.[a-z_]+\b", text)
    # figures in 万吨 with units in the page's language, never raw unit codes
    emissions = zh.split('id="public-emissions"', 1)[1].split("</section>", 1)[0]
    assert "万吨CO2当量" in emissions and "tCO2e" not in emissions
    dual = zh.split('id="public-dual-control"', 1)[1].split("</section>", 1)[0]
    assert "10^4" not in dual and "万吨" in dual
    assert "10^4" not in en.split('id="public-dual-control"', 1)[1].split("</section>", 1)[0]


def test_rate_limit(anonymous, monkeypatch):
    monkeypatch.setattr(public_routes, "RATE_LIMIT", 3)
    monkeypatch.setattr(public_routes, "_hits", {})
    codes = [anonymous.get("/api/public/datasets").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    r = anonymous.get("/api/public/datasets")
    assert int(r.headers["retry-after"]) >= 1


#: Routes outside the public module that answer a visitor without sign-in, and why.
OPEN_ELSEWHERE = {
    "/login": "the sign-in form",
    "/healthz": "status and version",
    "/docs": "the API documentation (no data)",
    "/openapi.json": "the API description (no data)",
}
#: Public routes that verify a signature in their path: an unsigned path is not found.
SIGNED = {"/badge/{period}/{grade}/{subject}/{sig}": "碳效码 badge (HMAC-signed link)"}


def test_nothing_else_answers_a_visitor(app, anonymous):
    """Every GET route of the app, path parameters filled, as a visitor without sign-in: the
    public module's routes answer, a few documented pages do, signed links without a valid
    signature are not found, every other route answers 401 or sends to the sign-in page — no
    scoped or personal data is reachable without signing in."""
    unexpected = []
    for r in route_table(app):
        if "GET" not in r.methods or r.module == "public" or r.path.startswith("/static"):
            continue
        path = re.sub(r"{[^}]+}", "1", r.path)
        got = anonymous.get(path, follow_redirects=False)
        if r.path in OPEN_ELSEWHERE:
            ok = got.status_code == 200
        elif r.path in SIGNED:
            ok = got.status_code == 404
        else:
            signing_in = got.status_code == 303 and got.headers["location"].startswith("/login")
            ok = signing_in or got.status_code == 401
        if not ok:
            unexpected.append((r.module, path, got.status_code))
    assert unexpected == []


def test_district_map_shows_district_aggregates_only(anonymous):
    outline = anonymous.get("/api/public/map/boundaries").json()
    codes = {d.code for d in load_city().districts}
    assert {f["properties"]["code"] for f in outline["features"]} == codes
    periods = anonymous.get("/api/public/map/periods").json()
    assert periods["months"] and periods["days"] is None and "provenance" not in periods
    latest = anonymous.get("/api/public/map/districts")
    assert latest.status_code == 200 and "public" in latest.headers["cache-control"]
    body = latest.json()
    assert body["period"] == periods["months"][-1] and body["kind"] == "month"
    shown = {"code", "name_zh", "name_en", "area_km2", "visible", *ml.PUBLIC_DISTRICT_VALUES}
    assert {d["code"] for d in body["districts"]} == codes
    assert all(set(d) == shown for d in body["districts"])  # no enterprise sums, no counts
    assert all(d["visible"] and d["electricity_co2_t"] is not None for d in body["districts"])
    year = anonymous.get(f"/api/public/map/districts?period={periods['years'][-1]}").json()
    assert any(d["ghg_tco2e"] for d in year["districts"])
    assert anonymous.get("/api/public/map/districts?period=1990").status_code == 404
    assert anonymous.get("/api/public/map/districts?period=2024-06-01").status_code == 422


@pytest.mark.parametrize(
    ("lang", "words"), [("zh", ("口径", "许可协议", "全部年份")), ("en", ("Basis", "Licence"))]
)
def test_csv_for_people_has_basis_and_licence(anonymous, lang, words):
    r = anonymous.get(f"/api/public/data/credits.csv?lang={lang}")
    assert r.status_code == 200 and "public" in r.headers["cache-control"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    header, first = rows[0], rows[1]
    assert all(w in ",".join(header + first) for w in words)
    licence = first[next(i for i, h in enumerate(header) if words[1] in h)]
    assert licence.startswith(public.LICENCE["id"] + " " + public.LICENCE["url"])
    assert "period" not in header  # labelled columns
    assert SECRET_SUBJECT not in r.text and "recycler" not in r.text
