"""The 碳效码 badge: a public link anyone can open without signing in to verify an enterprise's
carbon-efficiency grade, its period and who issued it — and nothing else.

The link is ``/badge/<period>/<grade>/<subject>/<signature>``:

- ``period``: ``2024`` (annual grade) or ``2024-03`` (monthly grade);
- ``subject``: the first 16 hex digits of HMAC-SHA256(secret, "subject:" + credit code) — it
  tells one enterprise's badges apart without naming the enterprise;
- ``signature``: HMAC-SHA256(secret, "badge:<period>:<grade>:<subject>") in hex, made with the
  platform's secret key (the one that signs sessions and CSRF tokens).

A link verifies when its signature is right *and* the subject's grade of that period in the
current results is still the grade the link states (a regraded enterprise's old link stops
verifying). Anything else is *not found*, whatever was wrong. The pages draw the link as a QR
code (segno, in the web layer) beside the link itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from citycarbon.config import load_city
from citycarbon.read import rating as rq
from citycarbon.read.access import NotVisible, Principal

PERIOD_RE = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2]))?$")
SUBJECT_HEX = 16


def _hmac(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def subject_of(credit_code: str, secret: str) -> str:
    """The opaque subject of an enterprise's badges."""
    return _hmac(secret, f"subject:{credit_code}")[:SUBJECT_HEX]


def signature(period: str, grade: int, subject: str, secret: str) -> str:
    """The signature of a badge link."""
    return _hmac(secret, f"badge:{period}:{int(grade)}:{subject}")


def _period_text(year: int, month: int) -> str:
    return f"{int(year)}" if int(month) == 0 else f"{int(year)}-{int(month):02d}"


def badge_path(principal: Principal, credit_code: str, secret: str) -> str | None:
    """The badge link (path) of the newest annual grade of a visible enterprise; None when it
    has none."""
    rows = rq.grades(principal, enterprise=credit_code)  # visible, else NotVisible
    annual = rows[(rows["period_type"] == "year") & (rows["grade"] > 0)]
    if annual.empty:
        return None
    period = _period_text(annual["year"].iat[0], 0)
    grade = int(annual["grade"].iat[0])
    subject = subject_of(credit_code, secret)
    return f"/badge/{period}/{grade}/{subject}/{signature(period, grade, subject, secret)}"


def verify(period: str, grade: int, subject: str, sig: str, secret: str) -> dict[str, Any]:
    """What a badge link discloses — grade, period, issuer — when it verifies; NotVisible
    otherwise (no reason given)."""
    missing = NotVisible("badge not found")
    m = PERIOD_RE.match(period or "")
    if m is None or not hmac.compare_digest(
        signature(period, grade, subject, secret), (sig or "").lower()
    ):
        raise missing
    year, month = int(m.group(1)), int(m.group(2) or 0)
    g = rq.all_grades()
    g = g[
        (g["period_type"].to_numpy() == ("year" if month == 0 else "month"))
        & (g["year"].to_numpy() == year)
        & (g["month"].to_numpy() == month)
        & (g["grade"].to_numpy() == int(grade))
    ]
    # one HMAC per graded enterprise of the period (hashing does not vectorise; <= thousands)
    subjects = g["enterprise_code"].map(lambda c: subject_of(c, secret))
    if not subjects.eq(subject).any():
        raise missing
    city = load_city()
    rules = str(g["rules"].iat[0]) if len(g) else ""
    return {
        "grade": int(grade),
        "period": period,
        "period_type": "year" if month == 0 else "month",
        "issuer_zh": f"{city.name.zh}碳达峰碳中和管理决策平台",
        "issuer_en": f"{city.name.en} carbon peaking and neutrality platform",
        "rules": rules,
    }
