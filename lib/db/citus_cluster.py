"""A throwaway Citus cluster on loopback: one coordinator and N workers (tests, benchmarks).

Citus is built from `../shared/vendor` by `scripts/citus/build.sh` into a relocatable Debian
PostgreSQL 15 root (cached by version; the server must be the minor version of the headers).
Every node is a `lib.db.pgcluster.LocalCluster` on a free TCP port of 127.0.0.1 with
`shared_preload_libraries = 'citus'`; the database gets `CREATE EXTENSION citus` on each node, then
the coordinator registers itself and the workers.

Nodes authenticate each other like clients do (scram-sha-256): Citus opens its connections to the
workers as the session's login, with the password libpq finds in the node's own password file
(`PGPASSFILE`, 0600 in the node's directory, given to the postmaster only). `allow_login` adds a
login there on every node; no password goes through SQL, a catalog or a command line.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from lib.config import PROJECT_ROOT
from lib.db.pgcluster import LocalCluster, free_port

BUILD_SCRIPT = PROJECT_ROOT / "scripts" / "citus" / "build.sh"
PG_BIN = Path("usr/lib/postgresql/15/bin")


class CitusUnavailable(RuntimeError):
    """The build cannot run on this machine (no Citus source, no PostgreSQL 15 packages): exit 2."""


@functools.cache
def citus_root() -> Path:
    """The PostgreSQL 15 root holding Citus (built once, ~6 min on 2 cores; then cached by version)."""
    proc = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, check=False)
    if proc.returncode == 2:
        raise CitusUnavailable(proc.stderr.strip()[-500:])
    if proc.returncode != 0:
        raise RuntimeError(f"scripts/citus/build.sh failed: {proc.stderr.strip()[-2000:]}")
    root = Path(proc.stdout.strip().splitlines()[-1])
    if not (root / PG_BIN / "postgres").exists():
        raise RuntimeError(f"scripts/citus/build.sh printed {root}, which holds no postgres")
    return root


def socket_dsn(node: LocalCluster, database: str = "postgres") -> str:
    """libpq DSN of the superuser over the node's unix socket (trust: the socket dir is the node's)."""
    return f"host={node.sock} port={node.port or 5432} dbname={database} user={node.superuser}"


def set_password(node: LocalCluster, user: str, password: str) -> None:
    """ALTER ROLE ... PASSWORD with a SCRAM verifier computed here (never the password in SQL or argv)."""
    import psycopg2
    from psycopg2 import sql
    from psycopg2.extensions import encrypt_password

    conn = psycopg2.connect(socket_dsn(node))
    try:
        conn.autocommit = True
        verifier = encrypt_password(password, user, conn, "scram-sha-256")
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(user), sql.Literal(verifier))
            )
    finally:
        conn.close()


@dataclass
class CitusNode(LocalCluster):
    """A cluster whose postmaster reads its own password file (`PGPASSFILE`) for Citus' connections."""

    @property
    def passfile(self) -> Path:
        return self.base / "pgpass"

    def add_password(self, user: str, password: str = "") -> None:
        """Let this node's outgoing connections (to 127.0.0.1) log in as `user` (no user: create the file)."""
        fd = os.open(self.passfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            if user:
                esc = password.replace("\\", "\\\\").replace(":", "\\:")
                fh.write(f"127.0.0.1:*:*:{user}:{esc}\nlocalhost:*:*:{user}:{esc}\n")
        if os.geteuid() == 0:
            shutil.chown(self.passfile, "postgres")

    def start(self) -> CitusNode:
        self.add_password("")  # libpq skips a missing file: create it, owned by the server, mode 0600
        argv = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.base / "log"), "-w",
                "-o", f"-k {self.sock}", "start"]  # fmt: skip
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PGPASSFILE": str(self.passfile),
            "LANG": "C.UTF-8",
        }
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {proc.stderr.strip()[-2000:]}")
        self._started = True
        return self


@dataclass
class CitusCluster:
    """A started coordinator + workers; `database` has the citus extension on every node."""

    coordinator: CitusNode
    workers: list[CitusNode]
    database: str
    owner_password: str = field(repr=False)

    @property
    def nodes(self) -> list[CitusNode]:
        return [self.coordinator, *self.workers]

    def url(self, user: str | None = None, password: str | None = None, database: str | None = None) -> str:
        """A SQLAlchemy URL of the coordinator (TCP); the owner's when no user is given."""
        if user is None:
            user, password = self.coordinator.superuser, self.owner_password
        return self.coordinator.url(database or self.database, user=user, password=password)

    def allow_login(self, user: str, password: str) -> None:
        """Every node may connect to the others as `user` (Citus opens them as the session's login)."""
        for node in self.nodes:
            node.add_password(user, password)

    def psql(self, sql: str) -> str:
        """SQL as the superuser on the coordinator's database."""
        return self.coordinator.psql(sql, self.database)


def _node(prefix: str, root: Path, settings: dict[str, str]) -> CitusNode:
    base = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir="/tmp"))  # short path: unix socket length
    return CitusNode(base, root / PG_BIN, free_port(), "postgres", dict(settings))


@contextmanager
def citus_cluster(
    workers: int = 2,
    *,
    database: str = "bi",
    shard_count: int = 8,
    prefix: str = "bi-citus",
    settings: dict[str, str] | None = None,
) -> Iterator[CitusCluster]:
    """A coordinator and `workers` workers on free loopback ports, stopped and removed afterwards."""
    root = citus_root()
    conf = {
        "shared_preload_libraries": "'citus'",
        "citus.shard_count": str(shard_count),
        "max_connections": "200",
        "citus.local_hostname": "'127.0.0.1'",  # the coordinator's connections to itself
        **(settings or {}),
    }
    nodes = [
        _node(f"{prefix}-c", root, conf),
        *(_node(f"{prefix}-w{i + 1}", root, conf) for i in range(workers)),
    ]
    password = secrets.token_urlsafe(18)
    with ExitStack() as stack:
        for node in nodes:
            stack.callback(shutil.rmtree, node.base, True)
            stack.callback(node.stop, "immediate")
        for node in nodes:
            node.init()
            node.add_password(node.superuser, password)
            node.start()
            set_password(node, node.superuser, password)
            node.psql(f'CREATE DATABASE "{database}"')
            node.psql("CREATE EXTENSION citus", database)
        coordinator, *rest = nodes
        coordinator.psql(f"SELECT citus_set_coordinator_host('127.0.0.1', {coordinator.port})", database)
        for w in rest:
            coordinator.psql(f"SELECT citus_add_node('127.0.0.1', {w.port})", database)
        try:
            yield CitusCluster(coordinator, rest, database, password)
        finally:
            from lib.db.engine import dispose_engines

            dispose_engines()


@contextmanager
def single_node(database: str = "bi", prefix: str = "bi-pg15") -> Iterator[tuple[LocalCluster, str]]:
    """The same PostgreSQL 15 build without Citus, on a free loopback port: (cluster, owner URL).

    The like-for-like single node the Citus runs are compared with (same server version)."""
    from lib.db.pgcluster import local_cluster

    with local_cluster(prefix, bin_dir=citus_root() / PG_BIN, tcp=True) as node:
        password = secrets.token_urlsafe(18)
        set_password(node, node.superuser, password)
        node.psql(f'CREATE DATABASE "{database}"')
        yield node, node.url(database, user=node.superuser, password=password)


# --- a deployment: migrated by `bi db migrate`, with the four logins -----------------------------------
LOGIN_ENV = {"app": "APP_DATABASE_URL", "analyst": "ANALYST_DATABASE_URL",
             "pipeline": "PIPELINE_DATABASE_URL", "dbt": "DBT_DATABASE_URL"}  # fmt: skip


@dataclass
class Deployment:
    """A database `bi db migrate` set up, and the environment its processes use (owner + four logins)."""

    name: str
    owner_url: str = field(repr=False)
    logins: dict[str, str] = field(repr=False)  # kind -> URL (password included: never print)
    migrate_output: str = ""

    @property
    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.owner_url, **{LOGIN_ENV[k]: u for k, u in self.logins.items()}}


def bi(*args: str, env: dict[str, str], timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """Run the `bi` command line (`python -m lib`) from the project root with exactly `env`."""
    import sys

    return subprocess.run(
        [sys.executable, "-m", "lib", *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


def deploy(
    name: str,
    owner_url: str,
    *,
    login_url,
    allow=None,
    base_env: dict[str, str] | None = None,
) -> Deployment:
    """Logins with fresh passwords (`login_url(user, password)` builds each URL; `allow(user,
    password)` tells the Citus nodes), then `bi db migrate` as the owner. Raises when it fails."""
    logins = {}
    for kind in LOGIN_ENV:
        user, password = f"bi_{kind}_login", secrets.token_urlsafe(18)
        logins[kind] = login_url(user, password)
        if allow is not None:
            allow(user, password)
    dep = Deployment(name, owner_url, logins)
    proc = bi("db", "migrate", env={**(base_env or {}), **dep.env}, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"bi db migrate on {name} failed: {proc.stderr[-3000:]}")
    dep.migrate_output = proc.stdout
    return dep
