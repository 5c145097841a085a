"""Catalog database: migrations, registry, batch ledger and audit log on SQLite and PostgreSQL.

Every test taking ``catalog_url`` runs twice: on a fresh SQLite file and on a fresh database of
the real PostgreSQL server the session starts (tests/pgserver.py; marked ``postgres``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from typer.testing import CliRunner

from citycarbon.cli import app
from citycarbon.config import load_city
from citycarbon.contract.codes import credit_code_check_char
from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.store import catalog
from citycarbon.store.models import AuditLog, Base, Batch, Park

HASH_A = "a" * 64
HASH_B = "b" * 64


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalog_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """URL of an empty catalog database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    yield url
    catalog.dispose_engines()


def _code(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


def _tables(url: str) -> set[str]:
    with catalog.get_engine(url).connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_migrations_create_all_tables(catalog_url):
    assert catalog.current_revision(catalog_url) is None
    catalog.upgrade(catalog_url)
    assert _tables(catalog_url) == {*Base.metadata.tables, "alembic_version"}
    assert catalog.current_revision(catalog_url) == catalog.head_revision()


def test_migrations_match_the_models(catalog_url):
    catalog.upgrade(catalog_url)
    with catalog.get_engine(catalog_url).connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []


def test_downgrade_to_base_and_upgrade_again(catalog_url):
    catalog.upgrade(catalog_url)
    catalog.sync_regions(url=catalog_url)
    catalog.downgrade(catalog_url, "base")
    assert catalog.current_revision(catalog_url) is None
    assert _tables(catalog_url) <= {"alembic_version"}
    catalog.upgrade(catalog_url)
    assert _tables(catalog_url) == {*Base.metadata.tables, "alembic_version"}
    assert catalog.registry_frame("regions", url=catalog_url).empty
    assert catalog.sync_regions(url=catalog_url) == 1 + len(load_city().districts)


def test_ensure_catalog_migrates_once(catalog_url):
    catalog.ensure_catalog(catalog_url)
    catalog.ensure_catalog(catalog_url)
    assert catalog.current_revision(catalog_url) == catalog.head_revision()


def test_batch_lifecycle(catalog_url):
    first = catalog.begin_batch("parks", "parks.csv", HASH_A, "tester", url=catalog_url)
    info = catalog.get_batch(first, url=catalog_url)
    assert (info.status, info.created_by, info.finished_at) == ("running", "tester", None)
    assert info.created_at.tzinfo is not None
    assert catalog.find_committed_batch("parks", HASH_A, url=catalog_url) is None

    catalog.commit_batch(
        first,
        {"rows_in": 3, "rows_accepted": 2, "rows_quarantined": 1},
        [("parks", "parks/b1-0.parquet", 2)],
        url=catalog_url,
    )
    found = catalog.find_committed_batch("parks", HASH_A, url=catalog_url)
    assert (found.id, found.status, found.rows_in, found.rows_accepted, found.rows_quarantined) == (
        first,
        "committed",
        3,
        2,
        1,
    )
    assert found.finished_at >= found.created_at
    assert catalog.committed_files("parks", url=catalog_url) == [(first, "parks/b1-0.parquet")]

    # The same content again: found before ingest, and refused at commit if ingested anyway.
    again = catalog.begin_batch("parks", "copy of parks.csv", HASH_A, "tester", url=catalog_url)
    assert again > first
    with pytest.raises(InputError, match=f"already committed as batch {first}"):
        catalog.commit_batch(
            again, {"rows_in": 3}, [("parks", "parks/b2-0.parquet", 2)], url=catalog_url
        )
    catalog.fail_batch(again, "duplicate", url=catalog_url)
    assert catalog.batch_ids("committed", url=catalog_url) == [first]
    assert catalog.batch_ids("failed", url=catalog_url) == [again]
    assert catalog.committed_files("parks", url=catalog_url) == [(first, "parks/b1-0.parquet")]
    # The same content under another kind is a different batch.
    other = catalog.begin_batch("meters", "m.csv", HASH_A, "tester", url=catalog_url)
    catalog.commit_batch(other, {}, [], url=catalog_url)
    assert catalog.find_committed_batch("meters", HASH_A, url=catalog_url).id == other


def test_retract_batch_on_both_backends(catalog_url):
    """'retracted' passes the status CHECK (SQLite and PostgreSQL, after migration 0005); the
    batch's files leave the committed list, its ledger row and files stay, the audit says who,
    when and why; retracting again, an unknown batch or a registry batch is refused."""
    bid = catalog.begin_batch("energy_monthly", "e.csv", HASH_A, "alice", url=catalog_url)
    path = "energy_monthly/year=2024/month=01/b1-0.parquet"
    catalog.commit_batch(
        bid, {"rows_in": 2, "rows_accepted": 2}, [("energy_monthly", path, 2)], url=catalog_url
    )
    done = catalog.retract_batch(bid, "bob", "wrong unit (×3)", url=catalog_url)
    assert (done.batch.status, done.files) == ("retracted", [("energy_monthly", path, 2)])
    assert "retracted by bob" in done.batch.message and "wrong unit" in done.batch.message
    assert catalog.committed_files("energy_monthly", url=catalog_url) == []
    assert catalog.batch_ids("retracted", url=catalog_url) == [bid]
    audit = catalog.registry_frame("audit_log", url=catalog_url).query("action == 'retract'")
    assert audit["actor"].tolist() == ["bob"] and audit["entity_id"].tolist() == [str(bid)]
    assert audit["after"].iloc[0]["reason"] == "wrong unit (×3)"
    with pytest.raises(InputError, match="already retracted"):
        catalog.retract_batch(bid, "bob", url=catalog_url)
    with pytest.raises(InputError, match="does not exist"):
        catalog.retract_batch(999, "bob", url=catalog_url)
    # the same content may be committed again after its retraction
    again = catalog.begin_batch("energy_monthly", "e.csv", HASH_A, "alice", url=catalog_url)
    catalog.commit_batch(again, {}, [], url=catalog_url)
    reg = catalog.begin_batch("parks", "p.csv", HASH_B, "alice", url=catalog_url)
    catalog.commit_batch(reg, {}, [], url=catalog_url)
    with pytest.raises(InputError, match="registry"):
        catalog.retract_batch(reg, "bob", url=catalog_url)
    failed = catalog.begin_batch("parks", "q.csv", HASH_A, "alice", url=catalog_url)
    catalog.fail_batch(failed, "bad", url=catalog_url)
    with pytest.raises(InputError, match="only a committed batch"):
        catalog.retract_batch(failed, "bob", url=catalog_url)


def test_failed_batch_leaves_no_committed_batch(catalog_url):
    bid = catalog.begin_batch("energy_monthly", "205-1.xlsx", HASH_B, "tester", url=catalog_url)
    catalog.fail_batch(bid, "sheet 能源 missing", url=catalog_url)
    info = catalog.get_batch(bid, url=catalog_url)
    assert (info.status, info.message) == ("failed", "sheet 能源 missing")
    assert catalog.find_committed_batch("energy_monthly", HASH_B, url=catalog_url) is None
    assert catalog.committed_files("energy_monthly", url=catalog_url) == []
    with pytest.raises(InputError, match="only a running batch"):
        catalog.commit_batch(bid, {}, [], url=catalog_url)
    with pytest.raises(InputError, match="does not exist"):
        catalog.fail_batch(10_000, "x", url=catalog_url)


def test_commit_rejects_paths_outside_the_lake(catalog_url):
    bid = catalog.begin_batch("parks", "parks.csv", HASH_A, "tester", url=catalog_url)
    with pytest.raises(InputError, match="relative to the lake"):
        catalog.commit_batch(bid, {}, [("parks", "/etc/passwd", 1)], url=catalog_url)
    with pytest.raises(InputError, match="unknown batch count"):
        catalog.commit_batch(bid, {"rows": 1}, [], url=catalog_url)
    assert catalog.get_batch(bid, url=catalog_url).status == "running"  # rolled back


def test_batch_ids_never_reused(catalog_url):
    ids = [
        catalog.begin_batch("parks", f"p{i}.csv", f"{i}" * 64, "t", url=catalog_url)
        for i in range(3)
    ]
    with catalog.session_scope(catalog_url) as s:
        s.execute(sa.delete(Batch).where(Batch.id == ids[-1]))
    assert catalog.begin_batch("parks", "p.csv", HASH_B, "t", url=catalog_url) > ids[-1]


def test_database_refuses_two_committed_batches_of_same_content(catalog_url):
    # The partial unique index guards against a race between two committers.
    with catalog.session_scope(catalog_url) as s:
        s.add_all(
            [
                Batch(
                    kind="parks",
                    source_name="a",
                    content_hash=HASH_A,
                    status="failed",
                    created_by="t",
                )
                for _ in range(2)
            ]
        )
    with pytest.raises(sa.exc.IntegrityError), catalog.session_scope(catalog_url) as s:
        s.add_all(
            [
                Batch(
                    kind="parks",
                    source_name="a",
                    content_hash=HASH_A,
                    status="committed",
                    created_by="t",
                )
                for _ in range(2)
            ]
        )


def test_registry_upsert_and_read_back(catalog_url):
    assert catalog.sync_regions(load_city(), url=catalog_url) == 7
    parks = pd.DataFrame(
        {
            "code": ["XM-P1", "XM-P2"],
            "name_zh": ["火炬高新区", "海沧生物医药港"],
            "name_en": ["Torch Hi-tech Zone", None],
            "district_code": ["350206", "350205"],
            "lon": [118.18, np.nan],
            "lat": [24.52, 24.48],
        }
    )
    assert catalog.upsert_registry("parks", parks, url=catalog_url) == 2
    ent = pd.DataFrame(
        {
            "credit_code": [_code("91350200MA3XXXXX0"), _code("91350203000000001")],
            "name": ["厦门甲公司", "厦门乙公司"],
            "industry_code": ["C3974", "4411"],
            "district_code": ["350206", "350203"],
            "park_code": ["XM-P1", None],
            "lon": [118.1, 118.09],
            "lat": [24.5, 24.45],
            "is_key": [True, False],
        }
    )
    catalog.upsert_registry("enterprises", ent, url=catalog_url)
    catalog.upsert_registry(
        "grid_nodes",
        pd.DataFrame(
            {
                "node_id": ["SS-1"],
                "name": ["湖里变"],
                "district_code": ["350206"],
                "voltage_kv": [110.0],
            }
        ),
        url=catalog_url,
    )
    catalog.upsert_registry(
        "meters",
        pd.DataFrame(
            {"meter_id": ["M1"], "enterprise_code": [ent.credit_code[0]], "grid_node_id": ["SS-1"]}
        ),
        url=catalog_url,
    )

    got = catalog.registry_frame("parks", url=catalog_url)
    pd.testing.assert_frame_equal(got, parks.astype({"name_en": object}))
    # An update with only some columns leaves the others unchanged.
    catalog.upsert_registry(
        "parks", pd.DataFrame({"code": ["XM-P2"], "name_en": ["Haicang"]}), url=catalog_url
    )
    got = catalog.registry_frame("parks", url=catalog_url).set_index("code")
    assert got.loc["XM-P2", "name_en"] == "Haicang"
    assert got.loc["XM-P2", "name_zh"] == "海沧生物医药港" and math.isnan(got.loc["XM-P2", "lon"])
    e = catalog.registry_frame("enterprises", url=catalog_url)
    assert e["is_key"].dtype == bool and e.set_index("name")["is_key"].to_dict() == {
        "厦门甲公司": True,
        "厦门乙公司": False,
    }
    assert catalog.registry_frame("meters", url=catalog_url).iloc[0].to_dict() == {
        "meter_id": "M1",
        "enterprise_code": ent.credit_code[0],
        "grid_node_id": "SS-1",
    }
    regions = catalog.registry_frame("regions", url=catalog_url)
    assert regions.set_index("code").loc["350200", "level"] == "city"
    assert set(regions[regions.level == "district"].parent_code) == {"350200"}


def test_empty_registry_frame_has_typed_columns(catalog_url):
    frame = catalog.registry_frame("grid_nodes", url=catalog_url)
    assert frame.empty and frame["voltage_kv"].dtype == np.float64
    assert list(frame.columns) == ["node_id", "name", "district_code", "voltage_kv", "lon", "lat"]


def test_upsert_names_bad_rows(catalog_url):
    catalog.sync_regions(url=catalog_url)
    parks = pd.DataFrame(
        {"code": ["P1", "P2"], "name_zh": ["a", "b"], "district_code": ["350206", "350299"]},
        index=[2, 3],
    )
    with pytest.raises(UnknownCodeError) as err:
        catalog.upsert_registry("parks", parks, url=catalog_url)
    assert (err.value.row, err.value.field, err.value.value) == (3, "district_code", "350299")
    with pytest.raises(UnknownCodeError, match="distict_code"):
        catalog.upsert_registry(
            "parks", parks.rename(columns={"district_code": "distict_code"}), url=catalog_url
        )
    with pytest.raises(InputError, match="more than once"):
        catalog.upsert_registry("parks", pd.concat([parks.iloc[:1]] * 2), url=catalog_url)
    with pytest.raises(UnknownCodeError, match="catalog table"):
        catalog.upsert_registry("park", parks, url=catalog_url)
    assert catalog.registry_frame("parks", url=catalog_url).empty  # nothing half-written


def test_foreign_key_violation_raises(catalog_url):
    catalog.sync_regions(url=catalog_url)
    with pytest.raises(sa.exc.IntegrityError), catalog.session_scope(catalog_url) as s:
        s.add(Park(code="P9", name_zh="无此区", district_code="999999"))
    with catalog.session_scope(catalog_url) as s:
        assert s.get(Park, "P9") is None


def test_session_scope_rolls_back_on_error(catalog_url):
    with pytest.raises(RuntimeError), catalog.session_scope(catalog_url) as s:
        catalog.sync_regions(url=catalog_url, session=s)
        raise RuntimeError("boom")
    assert catalog.registry_frame("regions", url=catalog_url).empty


def test_audit_record_round_trip(catalog_url):
    before = {"name": "厦门甲公司", "lon": float("nan"), "is_key": np.bool_(False)}
    after = {"name": "厦门甲有限公司", "employees": np.int64(120), "tags": ("重点", "C3974")}
    with catalog.session_scope(catalog_url) as s:
        entry = catalog.record_audit(
            s, "admin", "update", "enterprises", "91350200MA3XXXXX0X", before, after
        )
        entry_id = entry.id
    with catalog.session_scope(catalog_url) as s:
        got = s.get(AuditLog, entry_id)
        assert (got.actor, got.action, got.entity, got.entity_id) == (
            "admin",
            "update",
            "enterprises",
            "91350200MA3XXXXX0X",
        )
        assert got.before == {"name": "厦门甲公司", "lon": None, "is_key": False}
        assert got.after == {"name": "厦门甲有限公司", "employees": 120, "tags": ["重点", "C3974"]}
        assert got.at.tzinfo is not None
        assert abs((datetime.now(UTC) - got.at).total_seconds()) < 60
    with catalog.session_scope(catalog_url) as s:
        created = catalog.record_audit(s, "admin", "create", "parks", "P1", None, {"code": "P1"})
    assert created.before is None


def test_status_counts_rows_and_hides_password(catalog_url):
    url = catalog_url
    if url.startswith("postgresql"):  # trust authentication ignores the password
        url = url.replace("postgres@", "postgres:s3cret@")
    assert catalog.status(url).revision is None
    catalog.sync_regions(url=url)
    st = catalog.status(url)
    assert st.revision == st.head == catalog.head_revision()
    assert st.row_counts["regions"] == 7 and st.row_counts["batches"] == 0
    assert "s3cret" not in st.url


def test_cli_db_upgrade_and_status(catalog_url, monkeypatch):
    monkeypatch.setenv("CITYCARBON_DATABASE_URL", catalog_url)
    monkeypatch.setenv("COLUMNS", "300")  # the heads of every migration branch on one line
    runner = CliRunner()
    done = runner.invoke(app, ["db", "upgrade"])
    assert done.exit_code == 0, done.output
    assert catalog.current_revision(catalog_url) == catalog.head_revision()
    done = runner.invoke(app, ["db", "status"], env={"COLUMNS": "250"})  # one line per head list
    assert done.exit_code == 0, done.output
    assert catalog.head_revision() in done.output and "audit_log" in done.output


def test_database_url_defaults_to_psycopg3():
    assert catalog.database_url("postgresql://u@h:5432/d") == "postgresql+psycopg://u@h:5432/d"
    assert catalog.database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_catalog_newer_than_the_code_is_refused(catalog_url):
    catalog.upgrade(catalog_url)
    with catalog.get_engine(catalog_url).begin() as conn:
        # one row per migration branch head: replace them all by an unknown revision
        conn.execute(sa.text("DELETE FROM alembic_version"))
        conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES ('9999')"))
    catalog.dispose_engines()
    with pytest.raises(InputError, match="does not know"):
        catalog.ensure_catalog(catalog_url)


def test_finance_migration_admits_banks_and_consents_and_reverts(catalog_url):
    """0009_finance: the users' role CHECK admits 'bank' (SQLite edits the stored definition,
    PostgreSQL re-creates the constraint), consents reference an enterprise and a user; the
    downgrade removes bank users and the consents and restores the old CHECK."""
    from citycarbon.store import consents, users

    catalog.upgrade(catalog_url)
    catalog.sync_regions(url=catalog_url)
    district = load_city().districts[0].code
    code = _code("91350200MA2XXXXX0")
    catalog.upsert_registry(
        "enterprises",
        pd.DataFrame([{"credit_code": code, "name": "甲公司", "district_code": district}]),
        url=catalog_url,
    )
    users.create_user("b1", "bank-password", "bank", url=catalog_url)
    users.create_user("e1", "ent-password", "enterprise_user", scope_code=code, url=catalog_url)
    cid = consents.grant(
        code, "b1", scope="rating", purpose="授信", days=30, actor="e1", url=catalog_url
    )
    assert consents.of_enterprise(code, url=catalog_url)["valid"].tolist() == [True]
    with pytest.raises(InputError, match="not an active bank user"):
        consents.grant(code, "e1", scope="rating", purpose="x", days=1, actor="e1", url=catalog_url)
    catalog.downgrade(catalog_url, "0002_access")
    with catalog.get_engine(catalog_url).connect() as conn:
        roles = set(conn.execute(sa.text("SELECT role FROM users")).scalars())
        assert roles == {"enterprise_user"}
        assert "consents" not in sa.inspect(conn).get_table_names()
    with pytest.raises(sa.exc.IntegrityError), catalog.get_engine(catalog_url).begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (username, password_hash, role, active, created_at) "
                "VALUES ('b2', 'x', 'bank', true, CURRENT_TIMESTAMP)"
            )
        )
    catalog.upgrade(catalog_url)
    assert cid == 1
    users.create_user("b2", "bank-password", "bank", url=catalog_url)  # admitted again
