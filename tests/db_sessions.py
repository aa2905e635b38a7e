"""Helpers of the pg_stat_activity tests (no tests here): watch a database's sessions, serve a process."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import requests

from lib.db import login_url, to_dsn
from lib.db.logins import KINDS
from lib.serve import child_env

ROOT = Path(__file__).resolve().parents[1]


class SessionWatch:
    """Polls pg_stat_activity of one database (as the owner) and keeps every new session's role."""

    def __init__(self, owner_url: str) -> None:
        self.conn = psycopg2.connect(to_dsn(owner_url), application_name="test-session-watch")
        self.conn.autocommit = True
        self.before = {r[0] for r in self._rows()}
        self.seen: dict[int, tuple[str, bool, bool, str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _rows(self) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT a.pid, a.usename, r.rolsuper, r.rolbypassrls, a.application_name "
                "FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid "
                "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
            )
            return cur.fetchall()

    def _loop(self) -> None:
        while not self._stop.is_set():
            for pid, user, sup, bypass, app in self._rows():
                if pid not in self.before:
                    self.seen[pid] = (user, sup, bypass, app)
            time.sleep(0.05)

    def __enter__(self) -> SessionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.conn.close()


def server_env(kind: str, db_url: str) -> dict[str, str]:
    """The environment of a server: no owner URL, no other login's URL, only its own."""
    drop = {"DATABASE_URL", *(k.env for k in KINDS.values())}
    app = {"app": "dash", "analyst": "voila"}[kind]  # the served app of that login (lib.childenv's kinds)
    env = child_env(app, {k: v for k, v in os.environ.items() if k not in drop})
    env[KINDS[kind].env] = login_url(kind, db_url)
    return env


@contextmanager
def serve(argv: list[str], env: dict[str, str], ready_url: str, log: Path) -> Iterator[None]:
    with log.open("w") as fh:
        proc = subprocess.Popen(argv, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(ready_url, timeout=30).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv[2]} did not start: {log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def assert_least_privilege(watch: SessionWatch, login: str) -> None:
    sessions = list(watch.seen.values())
    assert any(user == login for user, *_ in sessions), f"no session of {login}: {sessions}"
    elevated = [s for s in sessions if s[1] or s[2]]
    assert elevated == [], f"sessions with SUPERUSER or BYPASSRLS: {elevated}"
    assert {user for user, *_ in sessions} == {login}, sessions
