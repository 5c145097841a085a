"""Demo users of the web platform, one per role, created by ``citycarbon demo``.

The passwords are for the synthetic demo only and documented (README): ``<username>-demo``.
Scopes are chosen deterministically from the demo registry: the district manager manages 思明区
(the first district of the city config), the park manager the park with the most enterprises,
the enterprise user the largest emitter of that park (the lowest credit code when no results);
the bank user ``greenbank`` sees that enterprise, whose user gave it a ``full`` consent for a year,
and the responsible-unit user ``unit`` reports for 市科技局 (``sti``), the first unit of the
action plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from citycarbon.read import access
from citycarbon.read import finance as finance_reads
from citycarbon.runs import actions
from citycarbon.store import catalog, users


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    scope_code: str | None
    display_name: str


#: The demo users' names (one per role), in the order they are created.
DEMO_USERNAMES = ("admin", "analyst", "siming", "park", "enterprise", "viewer", "greenbank", "unit")
#: The demo bank's consent from the demo enterprise (store.consents).
DEMO_CONSENT = {"scope": "full", "purpose": "授信审查（演示）", "days": 365}


def demo_password(username: str) -> str:
    """The documented demo password of a demo user."""
    return f"{username}-demo"


def users_with_demo_password() -> list[str]:
    """Active users whose password is still the documented demo password (anyone can sign in
    as them: ``citycarbon serve`` warns, and refuses to start with ``--production``)."""
    return [u for u in DEMO_USERNAMES if users.password_is(u, demo_password(u))]


def create_demo_users(city_config) -> list[DemoUser]:
    """Create (or keep) the demo users; returns them with their passwords."""
    ents = catalog.registry_frame("enterprises")
    district = city_config.districts[0]
    by_park = ents.dropna(subset=["park_code"]).groupby("park_code").size()
    park = (
        str(by_park.sort_values(ascending=False, kind="stable").index[0]) if len(by_park) else None
    )
    members = ents[ents["park_code"] == park] if park else ents
    res = access.results()
    enterprise = str(members["credit_code"].min())
    if res is not None and len(res.annual):
        annual = res.annual[res.annual["enterprise_code"].isin(members["credit_code"])]
        if len(annual):
            totals = annual.groupby("enterprise_code")["co2_t"].sum().sort_index()
            enterprise = str(totals.idxmax())
    unit = next(iter(actions.unit_labels()))
    wanted = zip(
        DEMO_USERNAMES,
        (
            "admin",
            "city_analyst",
            "district_manager",
            "park_manager",
            "enterprise_user",
            "viewer",
            "bank",
            "unit_user",
        ),
        (None, None, district.code, park, enterprise, None, None, unit),
        (
            "管理员",
            "市级分析员",
            f"{district.zh}管理员",
            "园区管理员",
            "企业用户",
            "只读用户",
            "示例银行",
            "责任单位用户",
        ),
        strict=True,
    )
    out = []
    for username, role, scope, name in wanted:
        if role == "park_manager" and scope is None:
            continue
        if users.get_user_by_name(username) is None:
            users.create_user(
                username,
                demo_password(username),
                role,
                scope_code=scope,
                display_name=name,
                actor="demo",
            )
            if role == "bank":  # given by the enterprise user, as on its page
                owner = access.principal_named("enterprise")
                finance_reads.grant(owner, enterprise, grantee=username, **DEMO_CONSENT)
        out.append(DemoUser(username, demo_password(username), role, scope, name))
    access.invalidate()
    return out


def demo_users_frame(demo_users: list[DemoUser]) -> pd.DataFrame:
    """The demo users as a table (for the demo summary)."""
    return pd.DataFrame([u.__dict__ for u in demo_users]).set_index("username")
