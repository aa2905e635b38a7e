"""Throwaway PostgreSQL clusters from Debian's binaries (tests, the stack test, Citus).

Debian's `initdb`/`pg_ctl` refuse to run as root, so as root every command runs as the `postgres`
system user (`runuser -u postgres --`) in a directory it owns. A cluster listens on a unix socket in
its own directory and, when asked, on a free TCP port of 127.0.0.1 (never a fixed one).

`supabase_roles(url)` gives a cluster the roles Supabase's PostgreSQL 15 image has: `postgres`
(NOSUPERUSER, BYPASSRLS, CREATEROLE, CREATEDB), `authenticator`, `anon`, `authenticated`,
`service_role` (BYPASSRLS), and `supabase_admin` (the image's superuser), so production's role
shape can be tested here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

PG15_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass
class LocalCluster:
    """One cluster under `base` (data, socket, log), run with the binaries in `bin_dir`."""

    base: Path
    bin_dir: Path = PG15_BIN
    port: int | None = None  # TCP on 127.0.0.1 when set; unix socket always
    superuser: str = "postgres"
    settings: dict[str, str] = field(default_factory=dict)
    _started: bool = False

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def sock(self) -> Path:
        return self.base / "sock"

    def url(self, database: str = "postgres", user: str | None = None, password: str | None = None) -> str:
        """A SQLAlchemy URL over the unix socket (TCP when the cluster has a port)."""
        who = quote(user or self.superuser, safe="")
        if password:
            who += ":" + quote(password, safe="")
        if self.port:
            return f"postgresql+psycopg2://{who}@127.0.0.1:{self.port}/{database}"
        return f"postgresql+psycopg2://{who}@/{database}?host={quote(str(self.sock))}"

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*_as_postgres(), *argv], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            log = (
                (self.base / "log").read_text(errors="replace")[-2000:]
                if (self.base / "log").exists()
                else ""
            )
            raise RuntimeError(f"{Path(argv[0]).name} failed: {proc.stderr.strip()[-2000:]}\n{log}")
        return proc

    def init(self) -> LocalCluster:
        """initdb (trust auth on the socket, scram on TCP) with the extra `settings` in postgresql.conf."""
        if not (self.bin_dir / "initdb").exists():
            raise FileNotFoundError(f"no PostgreSQL binaries in {self.bin_dir}")
        self.base.mkdir(parents=True, exist_ok=True)
        self.sock.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            for p in (self.base, self.sock):
                shutil.chown(p, "postgres")
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", self.superuser,
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        conf = {"listen_addresses": "'127.0.0.1'" if self.port else "''", "fsync": "off", **self.settings}
        if self.port:
            conf["port"] = str(self.port)
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as fh:
            fh.write("".join(f"{k} = {v}\n" for k, v in conf.items()))
        return self

    def start(self) -> LocalCluster:
        """pg_ctl start (waits until it accepts connections)."""
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.base / "log"), "-w",
            "-o", f"-k {self.sock}", "start",
        )  # fmt: skip
        self._started = True
        return self

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop (no error when it is not running)."""
        if self.data.exists():
            subprocess.run(
                [*_as_postgres(), str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "stop"],
                capture_output=True, check=False,
            )  # fmt: skip
        self._started = False

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser over the socket; return psql's output (raises on error)."""
        psql = self.bin_dir / "psql"
        proc = subprocess.run(
            [*_as_postgres(), str(psql), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", str(self.sock),
             "-p", str(self.port or 5432), "-U", self.superuser, "-d", database, "-c", sql],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"psql failed: {proc.stderr.strip()[-2000:]}")
        return proc.stdout


@contextmanager
def local_cluster(
    prefix: str = "bi-pg",
    *,
    bin_dir: Path = PG15_BIN,
    tcp: bool = False,
    superuser: str = "postgres",
    settings: dict[str, str] | None = None,
) -> Iterator[LocalCluster]:
    """A started cluster in a fresh temp dir (short path: unix socket length), stopped and removed after."""
    base = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir="/tmp"))
    cluster = LocalCluster(base, bin_dir, free_port() if tcp else None, superuser, dict(settings or {}))
    try:
        cluster.init().start()
        yield cluster
    finally:
        from lib.db.engine import dispose_engines

        dispose_engines()
        cluster.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


SUPABASE_ROLES_SQL = Path(__file__).with_name("supabase_roles.sql")


def supabase_roles(cluster: LocalCluster, database: str = "postgres") -> None:
    """Give a cluster made with superuser `supabase_admin` the role shape of Supabase's image."""
    cluster.psql(SUPABASE_ROLES_SQL.read_text(encoding="utf-8"), database)
