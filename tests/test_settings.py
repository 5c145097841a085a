"""The declared settings: one list, read in one place, validated, printed, documented."""

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citycarbon.cli import app
from citycarbon.config import settings as st
from citycarbon.errors import InputError

ROOT = Path(__file__).parents[1]


def _readme_rows() -> dict[str, tuple[str, str]]:
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(CITYCARBON_[A-Z_]+)` \| (.+?) \| (.+?) \|$", section, re.M)
    return {name: (meaning, default) for name, meaning, default in rows}


def test_readme_configuration_table_matches_the_declaration():
    rows = _readme_rows()
    assert list(rows) == [s.name for s in st.SETTINGS]
    for s in st.SETTINGS:
        meaning, default = rows[s.name]
        assert meaning == s.meaning, s.name
        literal = s.default_text is None and s.default
        assert default == (f"`{s.default}`" if literal else s.shown_default), s.name


def test_no_other_module_reads_the_environment():
    readers = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "src" / "citycarbon").rglob("*.py")
        if re.search(r"os\.environ|getenv\(", p.read_text("utf-8"))
    ]
    assert readers == ["src/citycarbon/config/settings.py"]


def test_every_declared_setting_is_read_and_defaults_apply():
    s = st.get_settings({})
    assert s.engine == "duckdb" and s.spark_shuffle_partitions == 4 and s.secure_cookies is False
    assert s.database_url == f"sqlite:///{Path('var').resolve() / 'catalog.sqlite'}"
    given = st.get_settings(
        {
            "CITYCARBON_HOME": "/srv/cc",
            "CITYCARBON_ENGINE": "Spark",
            "CITYCARBON_SECURE_COOKIES": "yes",
            "CITYCARBON_SPARK_SHUFFLE_PARTITIONS": "8",
            "CITYCARBON_FACTORS_PATH": "/a:/b",
        }
    )
    assert given.home == Path("/srv/cc") and given.engine == "spark"
    assert given.secure_cookies is True and given.spark_shuffle_partitions == 8
    assert given.factors_path == (Path("/a"), Path("/b"))
    assert given.database_url == "sqlite:////srv/cc/catalog.sqlite"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("CITYCARBON_ENGINE", "sprak", "did you mean 'spark'"),
        ("CITYCARBON_SPARK_SHUFFLE_PARTITIONS", "many", "positive whole number"),
        ("CITYCARBON_SECURE_COOKIES", "perhaps", "yes/no"),
        ("CITYCARBON_INGEST_MEMORY", "lots", "memory size"),
        ("CITYCARBON_DATABASE_URL", "catalog.db", "database URL"),
    ],
)
def test_a_bad_value_names_the_variable(name, value, says):
    with pytest.raises(InputError, match=rf"environment variable {name}: .*{says}"):
        st.get_settings({name: value})


def test_citycarbon_config_prints_settings_masks_secrets_and_names_the_city(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path))
    monkeypatch.setenv("CITYCARBON_SECRET_KEY", "s3cr3t-signing-key")
    monkeypatch.setenv("CITYCARBON_DATABASE_URL", "postgresql+psycopg://carbon:pw123@db:5432/cc")
    r = CliRunner().invoke(app, ["config"], env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    for s in st.SETTINGS:
        assert s.name in r.output
    assert "s3cr3t" not in r.output and "pw123" not in r.output
    assert "postgresql+psycopg://carbon:***@db:5432/cc" in r.output
    assert str(tmp_path) in r.output
    assert "city: xiamen 厦门市" in r.output and "xiamen.yaml" in r.output
    bad = CliRunner().invoke(app, ["config"], env={"CITYCARBON_ENGINE": "sprak"})
    assert bad.exit_code == 1 and "CITYCARBON_ENGINE" in bad.output
    assert "Traceback" not in bad.output


def test_settings_are_parsed_once_per_environment_and_follow_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "a"))
    first = st.get_settings()
    assert st.get_settings() is first  # the same environment: parsed once
    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "b"))
    assert st.get_settings().home == tmp_path / "b"
    monkeypatch.setenv("CITYCARBON_HOME", "rel")
    monkeypatch.chdir(tmp_path)
    assert st.get_settings().home == tmp_path / "rel"  # a relative path follows the directory
    monkeypatch.setenv("CITYCARBON_ENGINE", "sprak")
    for _ in range(2):  # a bad value is refused every time, never remembered as good
        with pytest.raises(InputError, match="CITYCARBON_ENGINE"):
            st.get_settings()
