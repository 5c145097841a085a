"""The home directory (``CITYCARBON_HOME``) is private to the account that runs citycarbon, and
so are the server's paths.

It holds the catalog (password and token hashes), the lake (enterprises' energy data), the
quarantine, the reports, the job queue and the uploads. :func:`make_private` makes this process
create every file readable and writable by its owner only (umask 077: files 0600, directories
0700) and closes a home that others can read (0700). The command line calls it before any
command, the web application when it is created; processes they start (server workers, the job
worker) inherit the umask. :func:`without_server_paths` takes the server's directories out of
a message before a user sees it.
"""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from citycarbon.config.settings import Settings, get_settings

#: Permission bits every new file and directory lacks: nothing for the group or others.
PRIVATE_UMASK = 0o077
HOME_MODE = 0o700


def make_private(settings: Settings | None = None) -> Path:
    """Set the process umask to :data:`PRIVATE_UMASK` and make an existing home directory
    :data:`HOME_MODE` (a home created later is private through the umask). Returns the home."""
    os.umask(PRIVATE_UMASK)
    home = (settings or get_settings()).home
    try:
        st = home.stat()
    except FileNotFoundError:
        return home
    if stat.S_IMODE(st.st_mode) & PRIVATE_UMASK and st.st_uid == os.getuid():  # ours to close
        home.chmod(HOME_MODE)
    return home


#: What stands for each server directory in a message users see.
HOME_LABEL, PACKAGE_LABEL, TEMP_LABEL = "$CITYCARBON_HOME", "<citycarbon>", "<temp>"
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def without_server_paths(text: str, settings: Settings | None = None) -> str:
    """``text`` with the home, the installed package and the temporary directory named by
    placeholders (``$CITYCARBON_HOME/lake/...``): a message shows what went wrong and where in
    the platform, never where the server keeps its files."""
    home = (settings or get_settings()).home
    for path, label in (
        (home, HOME_LABEL),
        (PACKAGE_DIR, PACKAGE_LABEL),
        (Path(tempfile.gettempdir()), TEMP_LABEL),
    ):
        text = text.replace(str(path), label)
    return text


def stored_secret(home: Path, name: str, make: Callable[[], str]) -> str:
    """A key kept in ``home/name`` (mode 600), made by ``make`` on first use. Processes starting
    together agree on one key: each writes a private file and links it into place, which only
    the first succeeds at (a link never replaces a file)."""
    path = home / name
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        mine = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(mine, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(make())
        try:
            os.link(mine, path)
        except FileExistsError:
            pass  # another process was first: use its key
        finally:
            mine.unlink()
    return path.read_text().strip()
