"""Every setting citycarbon reads from the environment, declared once (name, type, default,
meaning) and read here only: no other module reads ``os.environ`` for a citycarbon setting.

:data:`SETTINGS` is the declaration; :func:`get_settings` reads and validates it (a bad value is
an :class:`~citycarbon.errors.InputError` naming the variable); ``citycarbon config`` prints it
(secrets masked) and README's configuration table is checked against it by a test.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from citycarbon.errors import InputError, close_matches

SettingType = Literal["str", "path", "paths", "int", "bool", "choice", "size", "url", "networks"]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class Setting:
    """One environment variable: ``default`` is what applies when it is unset (as text; ``None``
    when the default is computed, then ``default_text`` says how)."""

    name: str
    field: str  # attribute of :class:`Settings`
    type: SettingType
    default: str | None
    meaning: str
    default_text: str | None = None
    secret: bool = False
    choices: tuple[str, ...] = ()

    @property
    def shown_default(self) -> str:
        return self.default_text or (self.default if self.default not in (None, "") else "—")


#: The declaration: every environment variable citycarbon reads.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "CITYCARBON_CITY",
        "city",
        "str",
        "xiamen",
        "city name (a packaged config) or path to a city YAML",
    ),
    Setting(
        "CITYCARBON_HOME",
        "home",
        "path",
        "./var",
        "data directory: `lake/` (Parquet), catalog, reports",
    ),
    Setting(
        "CITYCARBON_DATABASE_URL",
        "database_url",
        "url",
        None,
        "catalog database (SQLAlchemy URL; PostgreSQL in production)",
        default_text="SQLite in the home",
        secret=True,  # its password part
    ),
    Setting(
        "CITYCARBON_DATABASE_POOL",
        "database_pool",
        "int",
        "20",
        "connections each process keeps open to a PostgreSQL catalog (10 more are opened "
        "for a burst, then closed): about the requests a server worker runs at once",
    ),
    Setting(
        "CITYCARBON_ENGINE",
        "engine",
        "choice",
        "duckdb",
        "query engine for the lake: `duckdb` or `spark`",
        choices=("duckdb", "spark"),
    ),
    Setting("CITYCARBON_SPARK_MASTER", "spark_master", "str", "local[2]", "Spark master URL"),
    Setting(
        "CITYCARBON_SPARK_SHUFFLE_PARTITIONS",
        "spark_shuffle_partitions",
        "int",
        "4",
        "Spark SQL shuffle partitions",
    ),
    Setting(
        "CITYCARBON_SPARK_DRIVER_MEMORY",
        "spark_driver_memory",
        "size",
        "2g",
        "memory of the Spark driver",
    ),
    Setting(
        "CITYCARBON_FACTORS_PATH",
        "factors_path",
        "paths",
        "",
        "extra directories with factor sets (separated by `:`, `;` on Windows)",
    ),
    Setting(
        "CITYCARBON_QUEUE",
        "queue",
        "str",
        "sqlite",
        "background job queue (huey): `sqlite` (embedded, `$CITYCARBON_HOME/jobs.sqlite`) or a "
        "`redis://host:port/db` URL",
    ),
    Setting(
        "CITYCARBON_WORKER",
        "worker",
        "choice",
        "off",
        "`embedded` runs the job worker inside the web server process (tests, development); "
        "`off` leaves the queue to `citycarbon jobs worker` (which `citycarbon serve` starts "
        "beside itself unless `--no-worker`)",
        choices=("embedded", "off"),
    ),
    Setting(
        "CITYCARBON_SECRET_KEY",
        "secret_key",
        "str",
        "",
        "key of the web forms' CSRF tokens (an HMAC of the session id)",
        default_text="a key kept in `$CITYCARBON_HOME/secret_key`",
        secret=True,
    ),
    Setting(
        "CITYCARBON_PARTNER_SECRETS_KEY",
        "partner_secrets_key",
        "str",
        "",
        "Fernet key (32 url-safe base64 bytes) that encrypts the 碳普惠 partners' HMAC secrets "
        "in the catalog",
        default_text="a key kept in `$CITYCARBON_HOME/partner_secrets_key`",
        secret=True,
    ),
    Setting(
        "CITYCARBON_SECURE_COOKIES",
        "secure_cookies",
        "bool",
        "0",
        "`1` marks session cookies Secure (HTTPS only)",
    ),
    Setting(
        "CITYCARBON_SESSION_IDLE_MINUTES",
        "session_idle_minutes",
        "int",
        "60",
        "a web session ends after this many minutes without a request",
    ),
    Setting(
        "CITYCARBON_SESSION_MAX_HOURS",
        "session_max_hours",
        "int",
        "8",
        "a web session ends this many hours after sign-in, however busy",
    ),
    Setting(
        "CITYCARBON_TOKEN_DAYS",
        "token_days",
        "int",
        "90",
        "lifetime of a new API token when its maker gives none, in days",
    ),
    Setting(
        "CITYCARBON_TOKEN_MAX_DAYS",
        "token_max_days",
        "int",
        "365",
        "longest lifetime an API token may be given, in days",
    ),
    Setting(
        "CITYCARBON_LOGIN_ADDRESS_LIMIT",
        "login_address_limit",
        "int",
        "20",
        "sign-in attempts from one address (any user names) before each further one waits "
        "(30 s, doubling up to 15 min; a success gives its attempt back)",
    ),
    Setting(
        "CITYCARBON_LOGIN_USER_LIMIT",
        "login_user_limit",
        "int",
        "5",
        "failed sign-ins of one user name from one address before each further one waits "
        "(30 s, doubling up to 15 min; other addresses are not slowed)",
    ),
    Setting(
        "CITYCARBON_TRUSTED_PROXIES",
        "trusted_proxies",
        "networks",
        "",
        "reverse proxies whose `X-Forwarded-For` names the client (comma-separated addresses "
        "or CIDR networks); without them the peer address is the client",
    ),
    Setting(
        "CITYCARBON_INGEST_MEMORY",
        "ingest_memory",
        "size",
        "512MB",
        "DuckDB memory limit of an ingest",
    ),
    Setting(
        "CITYCARBON_XLSX_MAX_UNCOMPRESSED",
        "xlsx_max_uncompressed",
        "size",
        "1GB",
        "largest size of an uploaded .xlsx workbook when unzipped, all its parts (the sheets "
        "are read streaming); a larger workbook is refused before it is parsed",
    ),
    Setting(
        "CITYCARBON_XLSX_MAX_PART",
        "xlsx_max_part",
        "size",
        "128MB",
        "largest unzipped part of an .xlsx workbook that is read whole into memory (shared "
        "strings, styles, workbook)",
    ),
    Setting(
        "CITYCARBON_XLSX_MAX_RATIO",
        "xlsx_max_ratio",
        "int",
        "200",
        "largest compression ratio of a part of an .xlsx workbook over 1 MB unzipped (a zip bomb "
        "expands thousands of times)",
    ),
    Setting(
        "CITYCARBON_XLSX_MAX_ROWS",
        "xlsx_max_rows",
        "int",
        "1048576",
        "most rows of a sheet of an uploaded .xlsx workbook (Excel's own limit by default)",
    ),
    Setting(
        "CITYCARBON_XLSX_MAX_COLUMNS",
        "xlsx_max_columns",
        "int",
        "1000",
        "most columns of a sheet of an uploaded .xlsx workbook",
    ),
    Setting(
        "CITYCARBON_XLSX_MAX_SHARED_STRINGS",
        "xlsx_max_shared_strings",
        "int",
        "1000000",
        "most shared strings (distinct texts) of an uploaded .xlsx workbook",
    ),
    Setting(
        "CITYCARBON_DEBUG",
        "debug",
        "bool",
        "0",
        "`1` prints tracebacks behind the CLI's one-line error messages",
    ),
    Setting(
        "CITYCARBON_INGEST_PAUSE",
        "ingest_pause",
        "str",
        "",
        "test hook: `<stage>:<seconds>` sleeps an ingest at a stage (`staged`, `published`)",
    ),
)
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    database_pool: int = 20
    engine: str = "duckdb"
    spark_master: str = "local[2]"
    city: str = "xiamen"
    spark_shuffle_partitions: int = 4
    spark_driver_memory: str = "2g"
    factors_path: tuple[Path, ...] = ()
    secret_key: str = ""
    partner_secrets_key: str = ""
    secure_cookies: bool = False
    debug: bool = False
    ingest_memory: str = "512MB"
    xlsx_max_uncompressed: str = "1GB"
    xlsx_max_part: str = "128MB"
    xlsx_max_ratio: int = 200
    xlsx_max_rows: int = 1_048_576
    xlsx_max_columns: int = 1000
    xlsx_max_shared_strings: int = 1_000_000
    ingest_pause: str = ""
    queue: str = "sqlite"
    worker: str = "off"
    session_idle_minutes: int = 60
    session_max_hours: int = 8
    token_days: int = 90
    token_max_days: int = 365
    login_address_limit: int = 20
    login_user_limit: int = 5
    trusted_proxies: tuple[IPNetwork, ...] = ()

    @property
    def lake(self) -> Path:
        return self.home / "lake"

    @property
    def queue_file(self) -> Path:
        """The embedded (SQLite) job queue's database."""
        return self.home / "jobs.sqlite"

    @property
    def uploads(self) -> Path:
        """Private directory of uploaded files waiting for their job (mode 0700)."""
        return self.home / "uploads"


def _invalid(s: Setting, raw: str, reason: str, suggestions: list[str] | None = None) -> InputError:
    return InputError(
        f"{raw!r} {reason}",
        source=f"environment variable {s.name}",
        value=raw,
        suggestions=suggestions or (),
    )


def parse(s: Setting, raw: str) -> Any:
    """The typed value of ``raw`` for setting ``s`` (raises naming the variable)."""
    text = raw.strip()
    if s.type == "path":
        return Path(text).resolve()
    if s.type == "paths":
        return tuple(Path(p) for p in text.split(os.pathsep) if p)
    if s.type == "int":
        if not re.fullmatch(r"\d+", text) or int(text) < 1:
            raise _invalid(s, raw, "is not a positive whole number")
        return int(text)
    if s.type == "bool":
        if text.lower() not in (*_TRUE, *_FALSE):
            raise _invalid(s, raw, "is not a yes/no value; use 1 or 0")
        return text.lower() in _TRUE
    if s.type == "choice":
        if text.lower() not in s.choices:
            raise _invalid(
                s, raw, f"is not one of {', '.join(s.choices)}", close_matches(text, s.choices)
            )
        return text.lower()
    if s.type == "size":
        if not re.fullmatch(r"\d+(\.\d+)?\s*([kmgt]i?b?)?", text, re.IGNORECASE):
            raise _invalid(s, raw, "is not a memory size such as 512MB or 2g")
        return text
    if s.type == "networks":
        try:
            return tuple(ipaddress.ip_network(p.strip()) for p in text.split(",") if p.strip())
        except ValueError as err:
            raise _invalid(s, raw, f"is not a list of addresses or networks ({err})") from err
    if s.type == "url":
        if "://" not in text:
            raise _invalid(s, raw, "is not a database URL such as postgresql+psycopg://u@host/db")
        return text
    return text


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?", re.IGNORECASE)


def size_bytes(text: str) -> int:
    """Bytes of a size setting: ``512MB`` and ``2g`` are 512 x 10^6 and 2 x 10^9 bytes, ``1GiB``
    is 2^30 bytes, a bare number is bytes."""
    m = _SIZE.fullmatch(text.strip())
    if m is None:
        raise InputError(f"{text!r} is not a memory size such as 512MB or 2g")
    number, prefix, binary = m.groups()
    power = " kmgt".index(prefix.lower() or " ")
    return int(float(number) * (1024 if binary else 1000) ** power)


def get_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Current settings from the environment.

    Parsed once per distinct environment: the key is the raw values of the declared variables
    and the working directory (relative paths resolve against it), so a changed variable (a
    test's ``monkeypatch.setenv``) is seen at the next call, and a request path calling this
    several times pays a tuple of lookups, not a parse."""
    env = os.environ if environ is None else environ
    return _parsed(tuple(env.get(s.name) for s in SETTINGS), os.getcwd())


@lru_cache(maxsize=64)
def _parsed(raws: tuple[str | None, ...], cwd: str) -> Settings:
    """The settings of the raw values ``raws`` (in :data:`SETTINGS` order) read in ``cwd``."""
    values: dict[str, Any] = {}
    for s, raw in zip(SETTINGS, raws, strict=True):
        if raw is None or not raw.strip():  # set but empty counts as unset
            raw = s.default
        values[s.field] = None if raw is None else parse(s, raw)
    if values["database_url"] is None:
        values["database_url"] = f"sqlite:///{values['home'] / 'catalog.sqlite'}"
    if values["token_days"] > values["token_max_days"]:
        raise _invalid(
            BY_NAME["CITYCARBON_TOKEN_DAYS"],
            str(values["token_days"]),
            f"is more than CITYCARBON_TOKEN_MAX_DAYS ({values['token_max_days']})",
        )
    return Settings(**values)


def masked(s: Setting, value: Any) -> str:
    """A value as ``citycarbon config`` prints it: secrets hidden."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, tuple):
        value = ("," if s.type == "networks" else os.pathsep).join(map(str, value))
    text = "" if value is None else str(value)
    if not s.secret or not text:
        return text
    if s.type == "url":  # only the password part of a URL is secret
        return re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", text)
    return "***"


def env_secret(name: str) -> str:
    """A secret the city config names by its variable (e.g. ``notify.email.password_env``)."""
    return os.environ.get(name, "") if name else ""


def describe(environ: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """Every declared setting with its current value (secrets masked), default, meaning and
    whether the environment gives it (what ``citycarbon config`` prints)."""
    env = os.environ if environ is None else environ
    current = get_settings(env)
    return [
        {
            "name": s.name,
            "value": masked(s, getattr(current, s.field)),
            "default": s.shown_default,
            "meaning": s.meaning,
            "given": "environment" if env.get(s.name, "").strip() else "default",
        }
        for s in SETTINGS
    ]


def export(name: str, value: str) -> None:
    """Set a declared variable for this process and the processes it starts (``serve --city``)."""
    s = BY_NAME[name]
    parse(s, value)  # refuse what get_settings would refuse
    os.environ[s.name] = value


def environment() -> Mapping[str, str]:
    """The process environment, for the few readers of variables that are not settings (the
    CLI's locale, :func:`citycarbon.errors.cli_lang`): this module is the one that reads it."""
    return os.environ
