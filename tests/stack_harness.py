"""Machinery of the stack test (tests/test_stack.py): the cached tools, the compose file turned into
loopback processes, and a supervisor that stops everything it started.

- Tools come from `scripts/stack/install.sh` (the Makefile's `stack-deps`), one directory per version
  under `~/.cache/indigitall-bi/`; `tools()` finds them and says what is missing.
- `ComposeEnv` runs Debian's docker-compose v1 `config` on docker-compose.yml with a generated `.env`,
  then gives each service's environment and command with the compose network replaced by loopback:
  `db:5432` → the test cluster's port, `dash:8050` → gunicorn's port, container paths of bind mounts →
  the repository's files, named volumes and image directories → scratch directories.
- `Supervisor` starts every process in its own session with a log file; `stop_all()` ends each process
  group (TERM, then KILL) and every process they left behind: while it runs the test process is a
  child subreaper (prctl), so orphans (detached pipeline runs, kernels, task runners) stay its
  descendants and are found. SIGTERM and SIGHUP are turned into KeyboardInterrupt (as SIGINT is) so
  pytest's teardown runs; while it stops everything, further signals are held off, and no process
  starts once stopping began (a set-up thread cannot start one behind its back).
- `abandon_guard` covers what no handler can: the test process killed outright (SIGKILL, OOM, a CI
  job cancelled). A watchdog process notes the test process's descendants twice a second; when the
  test process dies without saying it is done, it stops them and every process whose command line,
  environment or working directory lies under the guarded scratch directories (the PostgreSQL
  cluster, detached runs), then removes those directories.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
VERSIONS_FILE = ROOT / "scripts" / "stack" / "versions.env"
PR_SET_CHILD_SUBREAPER = 36


def versions() -> dict[str, str]:
    """scripts/stack/versions.env as a mapping (NAME=value lines)."""
    out = {}
    for line in VERSIONS_FILE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Z0-9_]+)=(\S+)$", line.strip())
        if m:
            out[m.group(1)] = m.group(2)
    return out


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "indigitall-bi"


@dataclass(frozen=True)
class Tools:
    node: Path
    meta_node: Path
    n8n: Path
    pg_meta: Path
    caddy: Path
    pg_root: Path  # dpkg -x root of Debian's postgresql-15 + client

    @property
    def node_dir(self) -> Path:
        return self.node.parent.parent

    def missing(self) -> list[str]:
        paths = (
            self.node,
            self.n8n,
            self.pg_meta,
            self.caddy,
            self.pg_root / "usr/lib/postgresql/15/bin/psql",
        )
        return [str(p) for p in paths if not p.exists()]


def tools() -> Tools:
    v, c = versions(), cache_root()
    return Tools(
        node=c / f"node-{v['NODE_VERSION']}" / "package" / "bin" / "node",
        meta_node=c / f"node-{v['META_NODE_VERSION']}" / "package" / "bin" / "node",
        n8n=c / f"n8n-{v['N8N_VERSION']}" / "node_modules" / ".bin" / "n8n",
        pg_meta=c
        / f"postgres-meta-{v['PG_META_VERSION']}"
        / "node_modules/@supabase/postgres-meta/dist/server/server.js",
        caddy=c / f"caddy-{v['CADDY_VERSION']}" / "venv" / "bin" / "caddy",
        pg_root=c / f"postgresql-{v['POSTGRES_VERSION']}" / "root",
    )


def pg_bin_for_postgres_user(t: Tools, scratch: Path) -> Path:
    """The cached PostgreSQL binaries where the `postgres` user can run them (the cache is under /root,
    which it cannot enter): hard links in `scratch` (a copy across file systems)."""
    dest = scratch / "pg"
    try:
        subprocess.run(["cp", "-al", str(t.pg_root), str(dest)], check=True, capture_output=True)  # noqa: S607
    except subprocess.CalledProcessError:
        shutil.copytree(t.pg_root, dest, symlinks=True)
    scratch.chmod(0o755)
    return dest / "usr/lib/postgresql/15/bin"


def free_port(pairs: int = 1) -> int:
    """A free TCP port of 127.0.0.1 (with `pairs` consecutive free ports, for servers that take N+1)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if all(_port_free(port + i) for i in range(1, pairs)):
            return port
    raise RuntimeError("no free port range")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# -- *.localhost names in this process --------------------------------------------------------------
@contextlib.contextmanager
def localhost_names() -> Iterator[None]:
    """Resolve `*.localhost` to 127.0.0.1 in this process (RFC 6761; browsers do it, glibc here not)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any):  # noqa: ANN202
        if isinstance(host, str) and (host == "localhost" or host.rstrip(".").endswith(".localhost")):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


# -- processes ------------------------------------------------------------------------------------
def _set_subreaper(on: bool) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def descendants(pid: int) -> set[int]:
    """Every live descendant of `pid` (by parent links, read from /proc)."""
    kids, out, todo = _children_map(), set(), [pid]
    while todo:
        for child in kids.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass
class Supervisor:
    logdir: Path
    procs: dict[str, Proc] = field(default_factory=dict)
    _before: set[int] = field(default_factory=set)
    stop_timeout: float = 20.0  # n8n waits for its running executions on SIGTERM
    _old_handlers: dict[int, Any] = field(default_factory=dict)
    _closed: bool = False

    def __enter__(self) -> Supervisor:
        self.logdir.mkdir(parents=True, exist_ok=True)
        self._before = descendants(os.getpid())
        _set_subreaper(True)

        def on_signal(signum: int, frame: Any) -> None:  # noqa: ARG001
            raise KeyboardInterrupt(f"signal {signum}")

        for sig in STOP_SIGNALS[1:]:
            self._old_handlers[sig] = signal.signal(sig, on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop_all(self.stop_timeout)
        finally:
            for sig, old in self._old_handlers.items():
                signal.signal(sig, old if old is not None else signal.SIG_DFL)
            _set_subreaper(False)

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> Proc:
        """Start `argv` in its own session; stdout+stderr go to `<logdir>/<name>.log`."""
        if self._closed:
            raise RuntimeError(f"not starting {name}: the stack is being stopped")
        log = self.logdir / f"{name}.log"
        with open(log, "ab") as fh:
            popen = subprocess.Popen(  # noqa: S603
                argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        proc = Proc(name, popen, log)
        self.procs[name] = proc
        return proc

    def stop(self, name: str, timeout: float = 15.0) -> int | None:
        """TERM the process group of `name`, KILL it after `timeout`; returns the exit code."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return None
        tree = descendants(proc.popen.pid) | {proc.popen.pid}
        if proc.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.popen.pid, signal.SIGTERM)
            try:
                proc.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait(5)
        self._kill(tree - {proc.popen.pid})
        return proc.popen.returncode

    def stop_all(self, timeout: float | None = None) -> list[int]:
        """Stop every process at once (TERM to each group, KILL after `timeout`), then whatever they
        left behind; returns the leftovers that had to be killed (pids). A second Ctrl-C or SIGTERM
        meanwhile waits until this is done (stopping half-way would leave processes behind)."""
        self._closed = True
        with _signals_held():
            procs = list(self.procs.values())
            self.procs.clear()
            trees = set()
            for proc in procs:
                trees |= descendants(proc.popen.pid)
                if proc.popen.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.popen.pid, signal.SIGTERM)
            deadline = time.monotonic() + (self.stop_timeout if timeout is None else timeout)
            for proc in procs:
                try:
                    proc.popen.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.popen.pid, signal.SIGKILL)
                    proc.popen.wait(5)
            self._kill(trees)
            left = {p for p in descendants(os.getpid()) - self._before if _alive(p)}
            self._kill(left)
        return sorted(left)

    def _kill(self, pids: set[int]) -> None:
        _terminate(pids, reap=True)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Defer SIGINT/SIGTERM/SIGHUP until the block ends; one that came meanwhile is raised after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    old = {sig: signal.signal(sig, lambda signum, _f: got.append(signum)) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    if got:
        raise KeyboardInterrupt(f"signal {got[0]} (while stopping the stack)")


def _terminate(pids: set[int], *, reap: bool = False, grace: float = 5.0) -> None:
    """TERM `pids` (PostgreSQL postmasters: SIGQUIT, its immediate shutdown), then KILL what is left."""
    live = {p for p in pids if _alive(p)}
    for first in (True, False):
        for p in live:
            sig = signal.SIGKILL
            if first:
                sig = signal.SIGQUIT if _is_postmaster(p) else signal.SIGTERM
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(p, sig)
        deadline = time.monotonic() + grace
        while live and time.monotonic() < deadline:
            for p in list(live):
                if reap:
                    with contextlib.suppress(ChildProcessError, OSError):
                        os.waitpid(p, os.WNOHANG)  # orphans adopted by this subreaper
                if not _alive(p):
                    live.discard(p)
            time.sleep(0.05)
        if not live:
            return


def _is_postmaster(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return argv[0].endswith(b"/postgres") and b"-D" in argv


# -- the watchdog: the test process killed outright ----------------------------------------------
def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _under(pid: int, markers: list[str]) -> bool:
    """Whether the process's command line, environment or working directory names a guarded dir."""
    if not markers:
        return False
    try:
        blobs = [Path(f"/proc/{pid}/cmdline").read_bytes(), Path(f"/proc/{pid}/environ").read_bytes()]
        blobs.append(os.readlink(f"/proc/{pid}/cwd").encode())
    except OSError:
        return False
    return any(m.encode() in blob for m in markers for blob in blobs)


def watchdog(parent: int, markers: list[str]) -> None:
    """Run by `abandon_guard` in its own process: stdin is a pipe from the test process. Lines
    `add <dir>` guard one more directory, `done` ends the watch; EOF without `done` means the test
    process died: its noted descendants and everything under the guarded dirs are stopped."""
    me, seen, before, pending = os.getpid(), {}, descendants(parent), b""
    while True:
        ready, _, _ = select.select([0], [], [], 0.5)
        if ready:
            chunk = os.read(0, 4096)
            if not chunk:
                break  # the test process is gone
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                cmd, _, arg = line.decode().strip().partition(" ")
                if cmd == "done":
                    return
                if cmd == "add" and arg:
                    markers.append(arg)
        for pid in descendants(parent) - before - {me}:
            seen.setdefault(pid, _start_time(pid))
    victims = {p for p, started in seen.items() if started is not None and _start_time(p) == started}
    victims |= {
        int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit() and _under(int(e.name), markers)
    }
    _terminate(victims - {me}, grace=10.0)
    for m in markers:
        if Path(m).is_absolute() and Path(m).name.startswith("bi-"):  # only scratch dirs it was given
            shutil.rmtree(m, ignore_errors=True)
    with contextlib.suppress(OSError):  # the test's terminal or pipe may be gone too
        print(
            f"stack watchdog: test process {parent} died; stopped {len(victims)} processes", file=sys.stderr
        )


class AbandonGuard:
    """The test process's side of the watchdog (see `watchdog`)."""

    def __init__(self, *dirs: Path) -> None:
        self.popen = subprocess.Popen(  # noqa: S603
            [sys.executable, __file__, "watchdog", str(os.getpid()), *map(str, dirs)],
            stdin=subprocess.PIPE, text=True, start_new_session=True, close_fds=True,
        )  # fmt: skip

    def add(self, path: Path) -> None:
        self.popen.stdin.write(f"add {path}\n")
        self.popen.stdin.flush()

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.popen.stdin.write("done\n")
            self.popen.stdin.close()
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)


@contextlib.contextmanager
def abandon_guard(*dirs: Path) -> Iterator[AbandonGuard]:
    """A watchdog for the block: if this process is killed outright inside it, the processes it started
    and everything under `dirs` (scratch directories named `bi-…`) are stopped, and the dirs removed."""
    guard = AbandonGuard(*dirs)
    try:
        yield guard
    finally:
        guard.close()


def wait_until(check: Callable[[], Any], timeout: float, what: str, proc: Proc | None = None) -> Any:
    """Poll `check` until it returns a truthy value; fail with `what` (and the process log) on timeout."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}) before {what}:\n{proc.tail()}")
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last = exc
        time.sleep(0.25)
    detail = f"\nlast error: {last!r}" if last else ""
    raise TimeoutError(f"{what}: not within {timeout:.0f} s{detail}\n{proc.tail() if proc else ''}")


# -- docker-compose.yml on loopback ---------------------------------------------------------------
def compose_config(env_file: Path, project: Path = ROOT) -> tuple[dict, str]:
    """`docker-compose config` (Debian's v1) on the repository's file: (document, stderr)."""
    exe = shutil.which("docker-compose")
    if exe is None:
        raise FileNotFoundError("docker-compose (Debian package docker-compose) is not installed")
    proc = subprocess.run(  # noqa: S603
        [exe, "--project-directory", str(project), "--env-file", str(env_file),
         "-f", str(project / "docker-compose.yml"), "config"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"docker-compose config failed:\n{proc.stderr}")
    return yaml.safe_load(proc.stdout), proc.stderr


def filled_env_example(overrides: dict[str, str]) -> str:
    """.env.example with every empty setting given a value (secrets random) and `overrides` applied."""
    lines = []
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Z_][A-Z0-9_]*)=(.*)$", line)
        if m:
            name, value = m.groups()
            if name in overrides:
                value = overrides[name]
            elif value == "":
                value = secrets.token_hex(24)
            line = f"{name}={value}"
        lines.append(line)
    return "\n".join(lines) + "\n"


@dataclass
class ComposeEnv:
    """Services of the compose document with the network, mounts and volumes mapped to loopback."""

    doc: dict
    ports: dict[str, int]  # "host:containerport" → local port, e.g. {"db:5432": 45001, "dash:8050": …}
    scratch: Path
    public: dict[str, int] = field(default_factory=dict)  # public host → the port Caddy serves it on

    def _volumes(self, service: str) -> dict[str, Path]:
        out: dict[str, Path] = {}
        for vol in self.doc["services"][service].get("volumes") or []:
            if isinstance(vol, str):
                source, target = vol.split(":")[:2]
                kind = "bind" if source.startswith("/") else "volume"
            else:
                source, target, kind = vol.get("source", ""), vol["target"], vol.get("type", "volume")
            if kind == "bind":
                out[target] = Path(source)
            else:
                path = self.scratch / "volumes" / source
                path.mkdir(parents=True, exist_ok=True)
                out[target] = path
        return out

    def translate(self, service: str, value: str) -> str:
        """One value as this machine sees it: service addresses → 127.0.0.1:port, mounts → host paths."""
        for addr, port in self.ports.items():
            value = value.replace(f"@{addr}/", f"@127.0.0.1:{port}/").replace(
                f"//{addr}", f"//127.0.0.1:{port}"
            )
        for host, port in self.public.items():  # https://host → https://host:port (Caddy's loopback port)
            value = re.sub(rf"https://{re.escape(host)}(?![\w.:-])", f"https://{host}:{port}", value)
        for target, source in sorted(self._volumes(service).items(), key=lambda kv: -len(kv[0])):
            if value == target or value.startswith(target + "/"):
                return str(source) + value[len(target) :]
        return value

    def environment(self, service: str, **extra: str) -> dict[str, str]:
        """The service's environment from compose, translated, plus `extra`."""
        env = {
            k: self.translate(service, str(v))
            for k, v in (self.doc["services"][service].get("environment") or {}).items()
        }
        env.update(extra)
        return env

    def command(self, service: str, key: str = "command") -> list[str]:
        raw = self.doc["services"][service].get(key) or []
        argv = raw if isinstance(raw, list) else raw.split()
        return [self.translate(service, a) for a in argv]

    def image_tag(self, service: str) -> str:
        return self.doc["services"][service]["image"].rsplit(":", 1)[1]


def base_env(scratch: Path) -> dict[str, str]:
    """What every process gets besides its service's environment: PATH, a scratch HOME, UTF-8."""
    home = scratch / "home"
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "XDG_CACHE_HOME": str(home / ".cache"),
    }


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


if __name__ == "__main__" and len(sys.argv) >= 3 and sys.argv[1] == "watchdog":
    watchdog(int(sys.argv[2]), sys.argv[3:])
