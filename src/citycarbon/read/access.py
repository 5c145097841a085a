"""The access layer: who may read and change what. Every web page and API endpoint reads
through these functions, so a rule lives here once and not in templates.

Roles (``citycarbon.store.models.USER_ROLES``) and what they see
----------------------------------------------------------------
admin              everything; manages users, API tokens, reads the audit log; uploads data
city_analyst       everything in the city; uploads data
viewer             everything in the city, read only
district_manager   enterprises (and their results) of one district (``scope_code`` = GB/T 2260)
park_manager       enterprises of one park (``scope_code`` = park code)
enterprise_user    one enterprise (``scope_code`` = 统一社会信用代码); grants and revokes its
                   consents to banks
unit_user          a 责任单位 of the action plan (``scope_code`` = unit code): reports the status
                   of its own tasks; sees no enterprise
bank               the enterprises whose consent to this bank user is valid now: on the 绿色金融
                   views under any consent, on the other pages only under a ``full`` consent;
                   every read of an enterprise is audited (:mod:`citycarbon.store.consents`)

Objects outside a user's scope are reported as *not found* (:class:`NotVisible`, HTTP 404), so
their existence does not leak; functions a role lacks raise :class:`AccessDenied` (HTTP 403).
Ingest batches and quarantined rows belong to city-wide roles, and to the user who uploaded them
(matched by user id).

Results are read from the latest run of ``enterprise_month_fuel_emissions`` in the lake and
kept in memory (per run), as is the registry (re-read every :data:`CACHE_TTL_S` seconds).
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from citycarbon.config import mode_of_method
from citycarbon.config.settings import get_settings
from citycarbon.contract.codes import industry_names
from citycarbon.contract.results import ENTERPRISE_MONTH_FUEL
from citycarbon.errors import CitycarbonError
from citycarbon.store import catalog, consents, lake, users
from citycarbon.store import results as store_results
from citycarbon.store.models import USER_ROLES, Batch

CITY_WIDE_ROLES = frozenset({"admin", "city_analyst", "viewer"})
#: permission -> roles that have it (one place for every role rule).
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(USER_ROLES),
    # the emission, energy and target pages; a 责任单位 user has none of that data in scope
    "read_emissions": frozenset(USER_ROLES) - {"unit_user"},
    "read_city": CITY_WIDE_ROLES,
    "upload": frozenset({"admin", "city_analyst"}),
    "retract": frozenset({"admin", "city_analyst"}),
    "manage_users": frozenset({"admin"}),
    "read_audit": frozenset({"admin"}),
    "edit_scenarios": frozenset({"admin", "city_analyst"}),  # 情景分析 pages
    "read_all_jobs": frozenset({"admin", "city_analyst"}),  # others see their own jobs
    "manage_tokens": frozenset(USER_ROLES),  # one's own API tokens (admins: everyone's)
    "grant_consent": frozenset({"enterprise_user"}),  # to banks, for their own enterprise
    "read_finance": CITY_WIDE_ROLES | {"bank"},  # 绿色金融 views
    "report_tasks": frozenset({"admin", "city_analyst", "unit_user"}),  # 行动任务 status
    "review_credits": frozenset({"admin", "city_analyst"}),  # 碳普惠 held events
}
#: Roles from the least to the most privileged: fewest permissions first, then the narrowest
#: scope (one enterprise, one park, one district, the city). A new user gets the first.
ROLES_BY_PRIVILEGE = (
    "enterprise_user",
    "park_manager",
    "district_manager",
    "unit_user",  # the tasks of one 责任单位 of the action plan
    "bank",  # consented enterprises only, and their ratings
    "viewer",
    "city_analyst",
    "admin",
)
#: Permissions only a signed-in person has, never an API token (a token cannot mint tokens).
SESSION_ONLY = frozenset({"manage_tokens"})
#: What a token of each scope (citycarbon.store.models.TOKEN_SCOPES) may do, within its user's
#: role: None = everything the role may.
TOKEN_SCOPES: dict[str, frozenset[str] | None] = {
    "full": None,
    "read": frozenset({"read", "read_city", "read_audit", "read_all_jobs", "read_finance"}),
}
FUEL_RESULT = ENTERPRISE_MONTH_FUEL.name
RESULT_SUMS = ("energy_tce", "scope1_co2_t", "scope2_co2_t", "co2_t")
CACHE_TTL_S = 10.0


class AccessDenied(CitycarbonError):
    """The user's role does not allow this (HTTP 403); ``permission`` and ``role`` name the
    refusal so that pages can say it in their language."""

    def __init__(self, message: str, *, permission: str = "", role: str = "") -> None:
        super().__init__(message)
        self.permission = permission
        self.role = role


class NotVisible(CitycarbonError):
    """The object does not exist or lies outside the user's scope (HTTP 404)."""


@dataclass(frozen=True)
class Principal:
    """The signed-in user (or API token holder) a request acts for.

    ``scope_code`` is the district, park or enterprise code of scoped roles (None otherwise).
    ``token_scope`` narrows what a request made with an API token may do (:data:`TOKEN_SCOPES`);
    a token never has more than its user's role, nor :data:`SESSION_ONLY` permissions.
    """

    user_id: int | None
    username: str
    role: str
    scope_code: str | None = None
    display_name: str | None = None
    via: str = "session"  # 'session', 'token', 'cli' or 'system'
    token_scope: str = "full"

    @property
    def city_wide(self) -> bool:
        return self.role in CITY_WIDE_ROLES

    def can(self, permission: str) -> bool:
        if self.role not in PERMISSIONS[permission]:
            return False
        if self.via != "token":
            return True
        allowed = TOKEN_SCOPES[self.token_scope]
        return permission not in SESSION_ONLY and (allowed is None or permission in allowed)

    @classmethod
    def of(cls, user: Any, via: str = "session", token_scope: str = "full") -> Principal:
        return cls(
            user.id, user.username, user.role, user.scope_code, user.display_name, via, token_scope
        )


SYSTEM = Principal(None, "system", "admin", via="system")


def principal_named(username: str) -> Principal:
    """The active platform user ``username`` (the CLI acting for a user: ``--as``); a name that
    is no active user is :class:`NotVisible`."""
    user = users.get_user_by_name(username)
    if user is None or not user.active:
        raise NotVisible(f"no active user {username!r}: add it with `citycarbon users add`")
    return Principal.of(user, via="cli")


def require(principal: Principal, permission: str) -> None:
    """Raise :class:`AccessDenied` unless the principal (its role, and a token its scope)
    has ``permission``."""
    if not principal.can(permission):
        who = (
            f"an API token (scope {principal.token_scope!r})"
            if principal.via == "token" and principal.role in PERMISSIONS[permission]
            else f"the role {principal.role!r}"
        )
        raise AccessDenied(
            f"{who} may not {permission.replace('_', ' ')}",
            permission=permission,
            role=principal.role,
        )


# --------------------------------------------------------------------------- cached inputs
_lock = threading.RLock()
_registry_cache: dict[str, tuple[float, Registry]] = {}
_results_cache: dict[str, tuple[tuple, Results | None]] = {}
_generation = itertools.count(1)


@dataclass(frozen=True)
class Registry:
    """Regions, parks and enterprises of the catalog (pandas, indexed by their codes)."""

    regions: pd.DataFrame
    parks: pd.DataFrame
    enterprises: pd.DataFrame
    gen: int = 0  # snapshot number (memo keys)


def registry(*, refresh: bool = False) -> Registry:
    """The registry, re-read from the catalog at most every :data:`CACHE_TTL_S` seconds."""
    url = catalog.database_url()
    now = time.monotonic()
    with _lock:
        hit = _registry_cache.get(url)
        if hit and not refresh and now - hit[0] < CACHE_TTL_S:
            return hit[1]
    frames = (
        catalog.registry_frame("regions").set_index("code", drop=False),
        catalog.registry_frame("parks").set_index("code", drop=False),
        catalog.registry_frame("enterprises").set_index("credit_code", drop=False),
    )
    old = hit[1] if hit else None
    if old is not None and all(
        a.equals(b) for a, b in zip(frames, (old.regions, old.parks, old.enterprises), strict=True)
    ):
        reg = old  # unchanged: same snapshot number, so memoized answers stay valid
    else:
        reg = Registry(*frames, gen=next(_generation))
    with _lock:
        _registry_cache[url] = (now, reg)
    return reg


@dataclass(frozen=True)
class Results:
    """The latest results run of the fuel returns, with annual sums precomputed."""

    run_id: str
    factor_profile: str
    method: str
    monthly: pd.DataFrame  # enterprise_code, year, month, energy_tce, scope1/2, co2_t
    annual: pd.DataFrame  # enterprise_code, year, sums (index: range)
    gen: int = 0  # snapshot number (memo keys)


def invalidate() -> None:
    """Forget cached registry and results (after an upload, in tests)."""
    with _lock:
        _registry_cache.clear()
        _results_cache.clear()
        _memo.clear()


def results() -> Results | None:
    """The current ``enterprise_month_fuel_emissions`` rows with annual sums, or None when
    none were computed (cached until the next commit of a run)."""
    lake = get_settings().lake
    gen = store_results.fingerprint(ENTERPRISE_MONTH_FUEL, lake=lake)
    with _lock:
        hit = _results_cache.get(str(lake))
        if hit and hit[0] == gen:
            return hit[1]
    res = None
    if store_results.has(ENTERPRISE_MONTH_FUEL, lake=lake):
        cols = ["enterprise_code", "year", "month", *RESULT_SUMS]
        frame = store_results.current(ENTERPRISE_MONTH_FUEL, lake=lake)
        monthly = frame[cols].copy()
        monthly["year"] = monthly["year"].astype("int64")
        monthly["month"] = monthly["month"].astype("int64")
        annual = monthly.groupby(["enterprise_code", "year"], as_index=False)[
            list(RESULT_SUMS)
        ].sum()
        runs = store_results.current_runs(ENTERPRISE_MONTH_FUEL, lake=lake)
        first = frame.iloc[0] if len(frame) else None
        res = Results(
            run_id="+".join(runs),
            factor_profile=str(first["factor_profile"]) if first is not None else "",
            method=str(first["method"]) if first is not None else "",
            monthly=monthly,
            annual=annual,
            gen=next(_generation),
        )
    with _lock:
        _results_cache[str(lake)] = (gen, res)
    return res


def warm() -> None:
    """Open the catalog's connection pool, load the registry and the results and answer the
    city-wide dashboard questions once, so the first visit (or partner request) after a server
    start is as fast as later ones (called in a thread at start-up; failures are logged, not
    raised)."""
    try:
        catalog.open_pool()
        registry()
        if results() is not None:
            for fn in (totals_by_year, totals_by_month, year_to_date, totals_by_district):
                fn(SYSTEM)
            top_emitters(SYSTEM)
    except Exception:
        logging.getLogger(__name__).exception("warming the read caches failed")


# --------------------------------------------------------------------------- scope
def visible_enterprise_codes(principal: Principal) -> frozenset[str] | None:
    """Credit codes the principal may see; None = all (city-wide roles)."""
    if principal.city_wide:
        return None
    ents = registry().enterprises
    code = principal.scope_code
    if principal.role == "district_manager":
        return frozenset(ents.index[ents["district_code"].to_numpy() == code])
    if principal.role == "park_manager":
        return frozenset(ents.index[ents["park_code"].to_numpy() == code])
    if principal.role == "enterprise_user":
        return frozenset([code]) if code in ents.index else frozenset()
    if principal.role == "bank":
        return consented_codes(principal, scopes=("full",))
    return frozenset()


def require_task_unit(principal: Principal, task_units: list[str]) -> None:
    """The principal may report the status of a task whose 责任单位 are ``task_units``:
    admins and city analysts for every task, a ``unit_user`` for its own unit's tasks only
    (others: :class:`NotVisible`); other roles: :class:`AccessDenied`."""
    require(principal, "report_tasks")
    if principal.role == "unit_user" and principal.scope_code not in task_units:
        raise NotVisible("task not found")


def consented_codes(
    principal: Principal, scopes: tuple[str, ...] = ("rating", "full")
) -> frozenset[str]:
    """Credit codes whose consent to this bank user is valid now, with one of ``scopes``
    (empty for other roles)."""
    if principal.role != "bank":
        return frozenset()
    valid = consents.valid_for(principal.user_id)
    return frozenset(code for code, scope in valid.items() if scope in scopes)


def audit_bank_read(principal: Principal, what: str, codes: Any) -> None:
    """Write a bank's read of consented enterprises to the audit log (no-op for other roles)."""
    if principal.role == "bank":
        consents.record_access(principal.username, what, codes)


def visible_district_codes(principal: Principal) -> frozenset[str] | None:
    """District codes the principal's data lie in; None = all."""
    if principal.city_wide:
        return None
    reg = registry()
    code = principal.scope_code
    if principal.role == "district_manager":
        return frozenset([code])
    if principal.role == "park_manager" and code in reg.parks.index:
        return frozenset([reg.parks.at[code, "district_code"]])
    if principal.role == "enterprise_user" and code in reg.enterprises.index:
        return frozenset([reg.enterprises.at[code, "district_code"]])
    return frozenset()


def visible_park_codes(principal: Principal) -> frozenset[str] | None:
    """Park codes the principal may see; None = all."""
    if principal.city_wide:
        return None
    parks = registry().parks
    if principal.role == "district_manager":
        return frozenset(parks.index[parks["district_code"].to_numpy() == principal.scope_code])
    if principal.role == "park_manager":
        return frozenset([principal.scope_code])
    return frozenset()


def _mask(codes: pd.Series, visible: frozenset[str] | None) -> np.ndarray:
    if visible is None:
        return np.ones(len(codes), dtype=bool)
    return codes.isin(visible).to_numpy()


def scope_label(principal: Principal, lang: str = "zh") -> str:
    """A short description of what the principal sees (for page headers)."""
    if principal.city_wide:
        return "全市" if lang == "zh" else "whole city"
    reg = registry()
    code = principal.scope_code
    if principal.role == "district_manager" and code in reg.regions.index:
        return str(reg.regions.at[code, "name_zh" if lang == "zh" else "name_en"] or code)
    if principal.role == "park_manager" and code in reg.parks.index:
        return str(reg.parks.at[code, "name_zh"] or code)
    if principal.role == "enterprise_user" and code in reg.enterprises.index:
        return str(reg.enterprises.at[code, "name"])
    if principal.role == "bank":
        return "已授权企业" if lang == "zh" else "consenting enterprises"
    return str(code)


# --------------------------------------------------------------------------- memo
_memo: dict[tuple, Any] = {}
MEMO_SIZE = 512


def _scope_key(principal: Principal) -> tuple:
    if principal.role == "bank":  # consents change without a registry change
        return ("bank", principal.user_id, visible_enterprise_codes(principal))
    return ("city",) if principal.city_wide else (principal.role, principal.scope_code)


def memoized(fn: Any) -> Any:
    """Cache a scoped read per (scope, arguments, registry and results snapshot): the
    dashboards ask the same questions over and over, the answers change only with new data.
    Callers get the same frame object and must not modify it."""

    @functools.wraps(fn)
    def wrapper(principal: Principal, *args: Any, **kwargs: Any) -> Any:
        require(principal, "read")
        if principal.role == "bank":  # cached or not, a bank's read is audited
            audit_bank_read(principal, fn.__name__, visible_enterprise_codes(principal))
        key = (
            fn.__name__,
            _scope_key(principal),
            args,
            tuple(sorted(kwargs.items())),
            registry().gen,
            getattr(results(), "gen", None),
        )
        with _lock:
            if key in _memo:
                return _memo[key]
        value = fn(principal, *args, **kwargs)
        with _lock:
            if len(_memo) >= MEMO_SIZE:
                _memo.clear()
            _memo[key] = value
        return value

    return wrapper


# --------------------------------------------------------------------------- enterprises
ENTERPRISE_COLUMNS = [
    "credit_code",
    "name",
    "industry_code",
    "district_code",
    "district",
    "district_en",
    "park_code",
    "is_key",
    "lon",
    "lat",
]


@memoized
def enterprises(
    principal: Principal,
    *,
    q: str | None = None,
    district: str | None = None,
    park: str | None = None,
    industry: str | None = None,
    key_only: bool = False,
    year: int | None = None,
) -> pd.DataFrame:
    """The enterprises the principal may see, filtered, with their latest-year (or ``year``)
    energy and CO2 from the results (NaN when not reported), largest CO2 first.

    ``q`` matches the name or the credit code (case-insensitive substring); ``industry`` a
    GB/T 4754 prefix ('C26' or '26').
    """
    require(principal, "read")
    reg = registry()
    ents = reg.enterprises
    ents = ents[_mask(ents["credit_code"], visible_enterprise_codes(principal))]
    if q:
        text = q.strip().lower()
        ents = ents[
            ents["name"].str.lower().str.contains(text, regex=False).to_numpy()
            | ents["credit_code"].str.lower().str.contains(text, regex=False).to_numpy()
        ]
    if district:
        ents = ents[ents["district_code"].to_numpy() == district]
    if park:
        ents = ents[ents["park_code"].to_numpy() == park]
    if industry:
        ind = industry.strip().upper()
        codes = ents["industry_code"].fillna("").str.upper()
        ents = ents[
            (
                codes.str.startswith(ind)
                | codes.str.lstrip("ABCDEFGHIJKLMNOPQRST").str.startswith(
                    ind.lstrip("ABCDEFGHIJKLMNOPQRST")
                )
            ).to_numpy()
        ]
    if key_only:
        ents = ents[ents["is_key"].fillna(False).astype(bool).to_numpy()]
    out = ents.reset_index(drop=True).copy()
    out["district"] = reg.regions["name_zh"].reindex(out["district_code"]).to_numpy()
    out["district_en"] = reg.regions["name_en"].reindex(out["district_code"]).to_numpy()
    out = out[ENTERPRISE_COLUMNS]
    out["industry"] = industry_names(out["industry_code"], "zh").to_numpy()
    out["industry_en"] = industry_names(out["industry_code"], "en").to_numpy()
    res = results()
    if res is not None and len(res.annual):
        y = int(year) if year else int(res.annual["year"].max())
        annual = res.annual[res.annual["year"].to_numpy() == y].set_index("enterprise_code")
        out["year"] = y
        out["energy_tce"] = annual["energy_tce"].reindex(out["credit_code"]).to_numpy()
        out["co2_t"] = annual["co2_t"].reindex(out["credit_code"]).to_numpy()
        out = out.sort_values(["co2_t", "credit_code"], ascending=[False, True], na_position="last")
    return out.reset_index(drop=True)


def result_years() -> list[int]:
    """Years with enterprise results (year selectors), oldest first."""
    res = results()
    return [] if res is None else sorted(int(y) for y in res.annual["year"].unique())


@memoized
def industry_divisions(principal: Principal, lang: str = "zh") -> pd.DataFrame:
    """The GB/T 4754 divisions (大类) of the enterprises the principal sees: code, name."""
    codes = enterprises(principal)["industry_code"].dropna().astype(str)
    divisions = pd.Series(sorted({c[:3] for c in codes if len(c) >= 3}), dtype=str)
    return pd.DataFrame({"code": divisions, "name": industry_names(divisions, lang).to_numpy()})


def enterprise(principal: Principal, credit_code: str) -> dict[str, Any]:
    """One enterprise's registry row (plus district and park names); NotVisible otherwise."""
    require(principal, "read")
    reg = registry()
    visible = visible_enterprise_codes(principal)
    if credit_code not in reg.enterprises.index or (
        visible is not None and credit_code not in visible
    ):
        raise NotVisible(f"enterprise {credit_code} not found")
    audit_bank_read(principal, f"enterprise {credit_code}", [credit_code])
    row = reg.enterprises.loc[credit_code].to_dict()
    row["district"] = reg.regions["name_zh"].get(row["district_code"])
    park = row.get("park_code")
    row["park"] = reg.parks["name_zh"].get(park) if isinstance(park, str) else None
    codes = pd.Series([row.get("industry_code")])
    row["industry"] = industry_names(codes, "zh").iloc[0]
    row["industry_en"] = industry_names(codes, "en").iloc[0]
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}


def enterprise_monthly(principal: Principal, credit_code: str) -> pd.DataFrame:
    """Monthly energy and CO2 of one visible enterprise (latest results run)."""
    enterprise(principal, credit_code)
    res = results()
    if res is None:
        return pd.DataFrame(columns=["year", "month", *RESULT_SUMS])
    m = res.monthly[res.monthly["enterprise_code"].to_numpy() == credit_code]
    return m.drop(columns="enterprise_code").sort_values(["year", "month"]).reset_index(drop=True)


def enterprise_basis(principal: Principal) -> dict:
    """How the enterprise results were computed: account ``mode`` (``guideline`` | ``inventory``,
    None if the results do not say), ``method`` and ``factor_profile`` of the latest run (all
    None when nothing was computed)."""
    require(principal, "read")
    res = results()
    if res is None:
        return {"mode": None, "method": None, "factor_profile": None}
    return {
        "mode": mode_of_method(res.method),
        "method": res.method,
        "factor_profile": res.factor_profile,
    }


def enterprise_rank(principal: Principal, credit_code: str, year: int | None = None) -> dict:
    """Rank of a visible enterprise's CO2 among all enterprises of its industry (GB/T 4754
    class) in a year: rank 1 = largest. Only the rank and the count are disclosed."""
    ent = enterprise(principal, credit_code)
    res = results()
    if res is None or not len(res.annual):
        return {"year": None, "rank": None, "of": 0, "industry_code": ent.get("industry_code")}
    y = int(year) if year else int(res.annual["year"].max())
    ents = registry().enterprises
    annual = res.annual[res.annual["year"].to_numpy() == y]
    ind = ents["industry_code"].reindex(annual["enterprise_code"]).to_numpy()
    peers = annual[ind == ent.get("industry_code")].sort_values("co2_t", ascending=False)
    codes = peers["enterprise_code"].tolist()
    rank = codes.index(credit_code) + 1 if credit_code in codes else None
    return {"year": y, "rank": rank, "of": len(codes), "industry_code": ent.get("industry_code")}


# --------------------------------------------------------------------------- totals
@memoized
def totals_by_year(principal: Principal) -> pd.DataFrame:
    """Energy and CO2 by year over the enterprises the principal sees (the city for city-wide
    roles), with the number of reporting enterprises."""
    require(principal, "read")
    res = results()
    cols = ["year", *RESULT_SUMS, "enterprises"]
    if res is None:
        return pd.DataFrame(columns=cols)
    a = res.annual[_mask(res.annual["enterprise_code"], visible_enterprise_codes(principal))]
    out = a.groupby("year")[list(RESULT_SUMS)].sum()
    out["enterprises"] = a.groupby("year")["enterprise_code"].nunique()
    return out.reset_index()[cols]


@memoized
def totals_by_month(principal: Principal) -> pd.DataFrame:
    """Monthly energy and CO2 over the enterprises the principal sees."""
    require(principal, "read")
    res = results()
    if res is None:
        return pd.DataFrame(columns=["year", "month", *RESULT_SUMS])
    m = res.monthly[_mask(res.monthly["enterprise_code"], visible_enterprise_codes(principal))]
    return m.groupby(["year", "month"], as_index=False)[list(RESULT_SUMS)].sum()


@memoized
def year_to_date(principal: Principal) -> dict[str, Any] | None:
    """The latest year's months so far and the same months of the year before (同期), over the
    enterprises the principal sees: a like-for-like comparison while the year is incomplete.
    ``prev`` is None unless the year before has every one of those months."""
    m = totals_by_month(principal)
    if m.empty:
        return None
    year = int(m["year"].max())
    months = sorted(int(x) for x in m.loc[m["year"] == year, "month"])
    before = m[(m["year"] == year - 1) & m["month"].isin(months)]
    sums = list(RESULT_SUMS)
    return {
        "year": year,
        "months": months,
        "complete": len(months) == 12,
        "this": m.loc[m["year"] == year, sums].sum().to_dict(),
        "prev_year": year - 1,
        "prev": before[sums].sum().to_dict() if len(before) == len(months) else None,
    }


@memoized
def totals_by_district(principal: Principal, year: int | None = None) -> pd.DataFrame:
    """Energy and CO2 of a year (default the latest) by district, over visible enterprises."""
    require(principal, "read")
    res = results()
    cols = ["district_code", "district", "district_en", *RESULT_SUMS, "enterprises"]
    if res is None or not len(res.annual):
        return pd.DataFrame(columns=cols)
    reg = registry()
    y = int(year) if year else int(res.annual["year"].max())
    a = res.annual[res.annual["year"].to_numpy() == y]
    a = a[_mask(a["enterprise_code"], visible_enterprise_codes(principal))]
    a = a.assign(
        district_code=reg.enterprises["district_code"].reindex(a["enterprise_code"]).to_numpy()
    )
    out = a.groupby("district_code")[list(RESULT_SUMS)].sum()
    out["enterprises"] = a.groupby("district_code")["enterprise_code"].nunique()
    out = out.reset_index()
    out["district"] = reg.regions["name_zh"].reindex(out["district_code"]).to_numpy()
    out["district_en"] = reg.regions["name_en"].reindex(out["district_code"]).to_numpy()
    return out.sort_values("co2_t", ascending=False)[cols].reset_index(drop=True)


@memoized
def top_emitters(principal: Principal, year: int | None = None, n: int = 10) -> pd.DataFrame:
    """The ``n`` largest CO2 emitters of a year among visible enterprises."""
    frame = enterprises(principal, year=year)
    if "co2_t" not in frame:
        return frame.head(0)
    return frame.dropna(subset=["co2_t"]).head(n).reset_index(drop=True)


def city_statistics(principal: Principal) -> pd.DataFrame:
    """City-level statistics (GDP, population, energy ...) by year: city-wide roles only, and
    for district managers their district's rows."""
    require(principal, "read")
    districts = visible_district_codes(principal)
    if districts is None:
        return lake.read_current("city_statistics")
    if principal.role != "district_manager":
        return lake.read_current("city_statistics").head(0)
    return lake.read_current("city_statistics", {"region_code": sorted(districts)})


# --------------------------------------------------------------------------- batches
BATCH_COLUMNS = [
    "id",
    "kind",
    "source_name",
    "status",
    "rows_in",
    "rows_accepted",
    "rows_quarantined",
    "created_at",
    "finished_at",
    "created_by",
    "message",
]


def _owns(principal: Principal) -> Any:
    """The condition on ``batches`` of the principal's own batches: by user id, never by name
    (a user named ``cli`` or ``demo`` owns nothing of the command line or the demo)."""
    if principal.user_id is None:
        return sa.false()
    return Batch.created_by_id == principal.user_id


def _batch_visible(principal: Principal, batch: Any) -> bool:
    return principal.city_wide or (
        principal.user_id is not None and batch.created_by_id == principal.user_id
    )


def batches(
    principal: Principal, *, kind: str | None = None, status: str | None = None
) -> pd.DataFrame:
    """Ingest batches the principal may see (city-wide roles: all; others: their own), newest first."""
    require(principal, "read")
    query = sa.select(*(getattr(Batch, c) for c in BATCH_COLUMNS)).order_by(Batch.id.desc())
    if kind:
        query = query.where(Batch.kind == kind)
    if status:
        query = query.where(Batch.status == status)
    if not principal.city_wide:
        query = query.where(_owns(principal))
    with catalog._reading(None) as s:
        rows = s.execute(query).all()
    return pd.DataFrame(rows, columns=BATCH_COLUMNS)


def batch(principal: Principal, batch_id: int) -> catalog.BatchInfo:
    """One visible batch; NotVisible otherwise."""
    require(principal, "read")
    info = catalog.get_batch(int(batch_id))
    if info is None or not _batch_visible(principal, info):
        raise NotVisible(f"batch {batch_id} not found")
    return info


def quarantine(principal: Principal, batch_id: int | None = None) -> pd.DataFrame:
    """Quarantined rows of visible committed batches (one batch, or all visible ones)."""
    require(principal, "read")
    if batch_id is not None:
        batch(principal, batch_id)
        return lake.read_current(lake.QUARANTINE, {"batch_id": int(batch_id)})
    frame = lake.read_current(lake.QUARANTINE)
    if principal.city_wide:
        return frame
    own = batches(principal)["id"].tolist()
    return frame[frame["batch_id"].isin(own).to_numpy()].reset_index(drop=True)
