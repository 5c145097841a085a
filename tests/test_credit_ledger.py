"""The 碳普惠 ledger (citycarbon.store.credits) on SQLite and on a real PostgreSQL server:
balanced postings, idempotency, balances never negative, reversals as new entries,
reconciliation, and 1,000 concurrent redemptions that spend exactly the balance."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from citycarbon.errors import InputError
from citycarbon.store import catalog
from citycarbon.store import credits as ledger
from citycarbon.store.models import CreditAccount, CreditEntry


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalog_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """URL of an empty, migrated catalog database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    catalog.upgrade(url)
    yield url
    catalog.dispose_engines()


def test_accounts_are_pseudonymous_and_partner_scoped(catalog_url):
    a = ledger.open_account("metro", "u-7f3a", url=catalog_url)
    assert ledger.open_account("metro", "u-7f3a", url=catalog_url) == a
    assert ledger.open_account("bikes", "u-7f3a", url=catalog_url) != a
    columns = {
        c["name"]
        for c in sa.inspect(catalog.get_engine(catalog_url)).get_columns("credit_accounts")
    }
    assert columns == {"id", "partner", "subject", "kind", "balance", "created_at"}
    with pytest.raises(InputError):
        ledger.open_account("system", "issuance", url=catalog_url)


def test_postings_reconcile(catalog_url):
    a = ledger.open_account("metro", "a", url=catalog_url)
    b = ledger.open_account("bikes", "b", url=catalog_url)
    # a: +1500 +960 -300 redeemed -200 donated -100 expired = 1860; b: +50
    first = ledger.post("issuance", a, 1500, key="metro:e1", methodology="m@1", url=catalog_url)
    ledger.post("issuance", a, 960, key="metro:e2", url=catalog_url)
    ledger.post("issuance", b, 50, key="bikes:e1", url=catalog_url)
    ledger.post("redemption", a, 300, key="shop:r1", url=catalog_url)
    ledger.post("donation", a, 200, key="don:1", url=catalog_url)
    ledger.post("expiry", a, 100, key="exp:1", url=catalog_url)
    assert ledger.balance(a, url=catalog_url) == 1860
    assert ledger.balance(b, url=catalog_url) == 50
    rec = ledger.reconciliation(url=catalog_url)
    # issued 2510 - redeemed 300 - expired 100 = 2110 = 1860 + 50 + 200 (pool)
    assert rec == {
        "issued": 2510,
        "redeemed": 300,
        "expired": 100,
        "donated": 200,
        "outstanding": 2110,
        "balanced": True,
        "stored_outstanding": 2110,
        "drifted_accounts": 0,
    }
    assert first.created


def test_the_same_key_posts_once(catalog_url):
    a = ledger.open_account("metro", "a", url=catalog_url)
    one = ledger.post("issuance", a, 100, key="metro:e1", url=catalog_url)
    two = ledger.post("issuance", a, 100, key="metro:e1", url=catalog_url)
    assert one.created and not two.created and one.entry_id == two.entry_id
    assert ledger.balance(a, url=catalog_url) == 100


def test_overspending_posts_nothing(catalog_url):
    a = ledger.open_account("metro", "a", url=catalog_url)
    ledger.post("issuance", a, 100, key="i1", url=catalog_url)
    with pytest.raises(ledger.InsufficientCreditsError):
        ledger.post("redemption", a, 101, key="r1", url=catalog_url)
    assert ledger.balance(a, url=catalog_url) == 100
    with catalog.get_engine(catalog_url).connect() as conn:
        kinds = conn.execute(sa.select(CreditEntry.kind)).scalars().all()
    assert kinds == ["issuance"]  # the refused redemption left no entry
    for bad in (0, -5, 1.5):
        with pytest.raises(InputError):
            ledger.post("redemption", a, bad, url=catalog_url)


def test_reversal_is_a_new_entry(catalog_url):
    a = ledger.open_account("metro", "a", url=catalog_url)
    issued = ledger.post("issuance", a, 500, key="i1", url=catalog_url)
    redeemed = ledger.post("redemption", a, 200, key="r1", url=catalog_url)
    back = ledger.reverse(redeemed.entry_id, note="merchant refund", url=catalog_url)
    assert ledger.balance(a, url=catalog_url) == 500
    # reversing twice is refused (the first reversal is returned), a reversal is not reversible
    assert ledger.reverse(redeemed.entry_id, note="again", url=catalog_url) == ledger.Posting(
        back.entry_id, created=False
    )
    with pytest.raises(InputError):
        ledger.reverse(back.entry_id, note="no", url=catalog_url)
    # the issuance can be reversed only while the points are there
    ledger.post("redemption", a, 400, key="r2", url=catalog_url)
    with pytest.raises(ledger.InsufficientCreditsError):
        ledger.reverse(issued.entry_id, note="fraud", url=catalog_url)
    rec = ledger.reconciliation(url=catalog_url)
    # issued 500; redeemed 200 - 200 + 400 = 400; outstanding 100
    assert (rec["issued"], rec["redeemed"], rec["outstanding"]) == (500, 400, 100)
    assert rec["balanced"] and rec["drifted_accounts"] == 0
    with catalog.get_engine(catalog_url).connect() as conn:
        amounts = conn.execute(sa.select(CreditEntry.amount).order_by(CreditEntry.id)).all()
    assert [r.amount for r in amounts] == [500, 200, 200, 400]  # nothing was edited


def test_reconciliation_as_of_a_day(catalog_url):
    a = ledger.open_account("metro", "a", url=catalog_url)
    day1, day2 = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    ledger.post("issuance", a, 100, key="i1", at=day1, url=catalog_url)
    ledger.post("redemption", a, 30, key="r1", at=day2, url=catalog_url)
    rec = ledger.reconciliation(as_of=day1, url=catalog_url)
    assert (rec["issued"], rec["redeemed"], rec["outstanding"], rec["balanced"]) == (
        100,
        0,
        100,
        True,
    )
    assert "stored_outstanding" not in rec


def test_system_accounts_come_with_the_migration(catalog_url):
    """0013_redeem makes the system accounts (a posting names them by subject); its downgrade
    removes those no entry uses. A posting's resident leg must be a resident account, and a
    donation's reversal moves the points back out of the pool."""
    accounts = CreditAccount.__table__

    def system() -> dict[str, str]:
        with catalog.get_engine(catalog_url).connect() as conn:
            rows = conn.execute(
                sa.select(accounts.c.subject, accounts.c.kind).where(accounts.c.partner == "system")
            )
            return dict(rows.all())

    assert system() == ledger.SYSTEM_ACCOUNTS
    a = ledger.open_account("metro", "a", url=catalog_url)
    ledger.post("issuance", a, 10, url=catalog_url)
    catalog.downgrade(catalog_url, "0012_credits_privacy")
    assert system() == {"issuance": "system"}
    catalog.upgrade(catalog_url)
    assert system() == ledger.SYSTEM_ACCOUNTS
    with catalog.get_engine(catalog_url).connect() as conn:
        source = conn.execute(
            sa.select(accounts.c.id).where(accounts.c.subject == "issuance")
        ).scalar_one()
    with pytest.raises(InputError, match="no resident credit account"):
        ledger.post("redemption", source, 1, url=catalog_url)
    gift = ledger.post("donation", a, 4, url=catalog_url)
    ledger.reverse(gift.entry_id, note="donated by mistake", url=catalog_url)
    assert ledger.balance(a, url=catalog_url) == 10
    rec = ledger.reconciliation(url=catalog_url)
    assert (rec["donated"], rec["outstanding"], rec["drifted_accounts"]) == (0, 10, 0)


@pytest.mark.postgres
def test_concurrent_redemptions_spend_exactly_the_balance(fresh_postgres_url):
    """1,000 redemptions of 3 points each, 16 at a time, against one account holding 1,000
    points: exactly floor(1000 / 3) = 333 succeed, 667 are refused, 1 point remains."""
    url = fresh_postgres_url
    catalog.upgrade(url)
    account = ledger.open_account("metro", "hot", url=url)
    ledger.post("issuance", account, 1000, key="i", url=url)

    def redeem(i: int) -> bool:
        try:
            ledger.post("redemption", account, 3, key=f"r{i}", url=url)
        except ledger.InsufficientCreditsError:
            return False
        return True

    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            done = list(pool.map(redeem, range(1000)))
        assert sum(done) == 333
        assert ledger.balance(account, url=url) == 1
        rec = ledger.reconciliation(url=url)
        assert (rec["issued"], rec["redeemed"], rec["outstanding"]) == (1000, 999, 1)
        assert rec["balanced"] and rec["drifted_accounts"] == 0
    finally:
        catalog.dispose_engines()


def test_partner_secrets_encrypted_by_the_migration_and_back(catalog_url, monkeypatch):
    """0012_credits_privacy encrypts the stored partner secrets (Fernet, CITYCARBON_PARTNER_SECRETS_KEY)
    and its downgrade restores them; a wrong key is an error naming the variable."""
    from cryptography.fernet import Fernet

    monkeypatch.setenv("CITYCARBON_PARTNER_SECRETS_KEY", Fernet.generate_key().decode())
    key_id, secret = ledger.add_partner_key("metro", url=catalog_url)
    engine = catalog.get_engine(catalog_url)

    def stored() -> str:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT secret FROM credit_partner_keys")).scalar_one()

    assert stored() != secret and secret not in stored()
    catalog.downgrade(catalog_url, "0010_credits")
    assert stored() == secret
    catalog.upgrade(catalog_url)
    assert stored() != secret
    assert ledger.partner_secret("metro", key_id, url=catalog_url) == secret
    monkeypatch.setenv("CITYCARBON_PARTNER_SECRETS_KEY", Fernet.generate_key().decode())
    with pytest.raises(InputError, match="CITYCARBON_PARTNER_SECRETS_KEY"):
        ledger.partner_secret("metro", key_id, url=catalog_url)
    monkeypatch.setenv("CITYCARBON_PARTNER_SECRETS_KEY", "not-a-key")
    with pytest.raises(InputError, match="not a Fernet key"):
        ledger.add_partner_key("metro", url=catalog_url)
