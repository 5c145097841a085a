"""The 碳效码 badge: a public link (no sign-in) that shows grade, period and issuer only,
signed with the platform secret; tampering gives 404."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from citycarbon.read import badge
from citycarbon.read.access import NotVisible
from citycarbon.store import catalog
from tests.web_fixtures import SETTINGS, sign_in


def test_hmac_is_rfc_4231_hmac_sha256():
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    assert badge._hmac("Jefe", "what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    # the signed message is "badge:<period>:<grade>:<subject>"
    assert badge.signature("2024", 2, "ab", "Jefe") == badge._hmac("Jefe", "badge:2024:2:ab")


@pytest.fixture(scope="module")
def link(app):
    client = sign_in(app, "enterprise")
    code = client.get("/api/v1/me").json()["scope_code"]
    page = client.get(f"/enterprises/{code}").text
    m = re.search(r'id="badge-link" href="([^"]+)"', page)
    if m is None:
        pytest.skip("the demo enterprise user's enterprise has no annual grade")
    return m.group(1), code


def test_anyone_verifies_the_badge_without_signing_in(app, link):
    path, code = link
    anon = TestClient(app, raise_server_exceptions=False)
    r = anon.get(path)
    assert r.status_code == 200
    _, period, grade, _, _ = path.strip("/").split("/")
    assert f'data-grade="{grade}"' in r.text and f">{period} (" in r.text
    assert "厦门市" in r.text  # issuer
    name = catalog.registry_frame("enterprises").set_index("credit_code").at[code, "name"]
    assert code not in r.text and name not in r.text
    # the page draws its own link as a QR code (the same symbol segno makes of that URL)
    import segno

    qr = segno.make(f"http://testserver{path}", error="m").svg_inline(scale=4, title="QR")
    assert qr in r.text


def test_the_enterprise_page_draws_the_badge_link_as_a_qr_code(app, link):
    import segno

    path, code = link
    page = sign_in(app, "enterprise").get(f"/enterprises/{code}").text
    qr = page.split('id="badge-qr">', 1)[1].split("</div>", 1)[0]
    assert qr == segno.make(f"http://testserver{path}", error="m").svg_inline(scale=4, title="QR")
    assert qr.startswith("<svg") and "<script" not in qr


@pytest.mark.parametrize("part", [1, 2, 3, 4])
def test_a_tampered_link_is_not_found(app, link, part):
    path, _ = link
    pieces = path.strip("/").split("/")  # badge, period, grade, subject, sig
    tampered = {1: "2019", 2: str(int(pieces[2]) % 5 + 1), 3: "f" * 16, 4: "0" * 64}[part]
    pieces[part] = tampered
    anon = TestClient(app, raise_server_exceptions=False)
    assert anon.get("/" + "/".join(pieces)).status_code == 404


def test_another_secret_does_not_verify(link):
    path, _ = link
    _, period, grade, subject, sig = path.strip("/").split("/")
    assert badge.verify(period, int(grade), subject, sig, SETTINGS.secret_key)["grade"] == int(
        grade
    )
    with pytest.raises(NotVisible):
        badge.verify(period, int(grade), subject, sig, "another-secret")
