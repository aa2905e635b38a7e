"""A batch's fork server: one process that has imported what a tenant run and a step kernel import
forks each tenant's `bi run` and each step kernel, instead of every one starting a Python and
importing them again (~1.3 s of CPU a kernel, two a tenant run, and ~1 s a run: most of a batch's
start-up cost).

`python -m lib.pipeline.kernel_forkserver <socket>` serves its parent (the batch). A batch starts one
(`start`), forks its tenants' runs from it (`fork_run`, from `lib.pipeline.launch`) and tells the runs
where it listens (`FORKSERVER_ENV`); their workers' kernels then come from it (`ForkProvisioner`).
Any failure to reach it falls back to a normal launch. The server holds no secret: its environment is a
transform kernel's (no key, no token), and each child's own environment (its tenant's key for a run or
an extract kernel, `lib.childenv`) is written by the requester into a socket pair whose other end is
passed with the request (SCM_RIGHTS): only the forked child reads it, never the server, and never a
command line.

A forked kernel is what a launched one is: its own session (process group = pid, so a stop kills the
dbt it started too), stdio on /dev/null, the requested cwd and environment. It dies with the server
(`PR_SET_PDEATHSIG`) and with the worker that asked for it (it watches that pid), as a launched kernel
dies with its worker. A forked run is what a launched `python -m lib run` is: its own session, stdin on
/dev/null, stdout and stderr on its run.log (the descriptor passed with the request), and detached: it
outlives the batch and the server, as a launched run does. The server stops serving when the batch
ends (or dies) and exits once the children it forked have ended.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from lib.childenv import KERNEL_FORKSERVER_ENV as FORKSERVER_ENV  # its socket, set for a batch's runs

_LEN = struct.Struct("!I")
_CONNECT_TIMEOUT_S = 10.0


def server_path() -> str | None:
    """The socket of the fork server this process's kernels come from (`FORKSERVER_ENV`), or None:
    unset or `off` (kernels launch as new Pythons)."""
    path = os.environ.get(FORKSERVER_ENV)
    return path if path and path != "off" else None


def _send(conn: socket.socket, obj: dict[str, Any]) -> None:
    data = json.dumps(obj).encode()
    conn.sendall(_LEN.pack(len(data)) + data)


def _recv(conn: socket.socket) -> dict[str, Any]:
    head = _recv_exact(conn, _LEN.size)
    return json.loads(_recv_exact(conn, _LEN.unpack(head)[0]))


def _recv_with_fds(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """A request and the descriptors sent with it: the child's environment first (for the child only),
    then a run's log."""
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 2)
    if not fds:
        raise ConnectionError("a request without its environment")
    try:
        while len(data) < _LEN.size or len(data) < _LEN.size + _LEN.unpack(data[: _LEN.size])[0]:
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError("fork server connection closed")
            data += chunk
        return json.loads(data[_LEN.size :]), fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def _read_all(fd: int) -> bytes:
    with socket.socket(fileno=fd) as sock:
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _close(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("fork server connection closed")
        buf += chunk
    return buf


# -- the server ------------------------------------------------------------------------------------
def _reap(_signum: int = 0, _frame: object = None) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


def _watch(pid: int) -> None:
    """Kill this kernel's session once `pid` (the worker that asked for it) has exited."""
    try:
        fd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        fd = None
    if fd is not None:  # else gone already (or no pidfd)
        select.select([fd], [], [])
    os.killpg(0, signal.SIGKILL)


def _as_kernel(req: dict[str, Any], fds: list[int]) -> Callable[[], int]:
    """In the forked child: the kernel's stdio, cwd and environment (read from the first descriptor,
    which the server never reads) and its worker watch; returns what runs ipykernel."""
    env = json.loads(_read_all(fds[0]))
    _close(fds[1:])
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(env)
    threading.Thread(
        target=_watch, args=(int(req["watch_pid"]),), name="bi-worker-watch", daemon=True
    ).start()

    def kernel() -> int:
        code = 1
        try:
            sys.argv = ["ipykernel_launcher", *req["argv"]]
            from ipykernel import kernelapp

            kernelapp.launch_new_instance()
            code = 0
        finally:
            os._exit(code)  # as before the fork server: a kernel ends without the interpreter's exit

    return kernel


def _as_run(req: dict[str, Any], fds: list[int]) -> Callable[[], int]:
    """In the forked child: the run's stdio (its log), cwd, environment and time zone; returns what
    runs `bi` with the request's arguments (the interpreter then exits as a launched run's does)."""
    if len(fds) != 2:
        raise ConnectionError("a run request without its log")
    env = json.loads(_read_all(fds[0]))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(fds[1], 1)
    os.dup2(fds[1], 2)
    _close(fds[1:])
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    from lib.config import get_settings
    from lib.pipeline import procs

    get_settings.cache_clear()  # read from the run's environment, not the server's
    procs.forked_by = os.getppid()
    argv = [str(a) for a in req["argv"]]

    def run() -> int:
        from lib.cli import main

        sys.argv = ["bi", *argv]
        return main(argv)

    return run


def _fork(
    listener: socket.socket, conn: socket.socket, req: dict[str, Any], fds: list[int]
) -> tuple[int, Callable[[], int] | None]:
    """Fork a child for `req`: in the server, its pid once it runs in its own session (and None); in
    the child, 0 and what it runs once it has left the server's loop."""
    from lib.pipeline.procs import die_with_parent

    is_run = req.get("kind") == "run"
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        _close([r, w])  # the request's descriptors are the caller's to close
        raise
    if pid == 0:  # the child: nothing here may return into the server's loop but the job
        try:
            os.close(r)
            os.setsid()
            if not is_run:  # a run is detached: it outlives the batch and this server
                die_with_parent()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            listener.close()
            conn.close()
            job = (_as_run if is_run else _as_kernel)(req, fds)
            os.write(w, b"1")
            os.close(w)
        except BaseException:  # noqa: BLE001 - the server's parent sees "did not start"
            os._exit(1)
        return 0, job
    os.close(w)
    ready, _, _ = select.select([r], [], [], _CONNECT_TIMEOUT_S)
    ok = bool(ready) and os.read(r, 1) == b"1"
    os.close(r)
    if not ok:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        raise RuntimeError("the forked child did not start")
    return pid, None


RUN_PRELOAD = (
    "lib.cli", "lib.pipeline.cli", "lib.pipeline.runner", "lib.pipeline.worker", "lib.pipeline.retention",
    "lib.identity", "multiprocessing.popen_fork", "multiprocessing.synchronize",
)  # fmt: skip
"""What a `bi run` imports before its first step (argparse to the worker pool): ~1 s of CPU a run."""


def serve(path: str) -> Callable[[], int] | None:
    """Preload, listen on `path` and fork one child per request until SIGTERM or the parent's exit;
    then exit once the children forked so far have ended (a batch that died leaves its detached runs
    their kernels). In a forked child it returns what the child runs (see `__main__` below)."""
    import importlib

    from lib.pipeline import _fastimport
    from lib.pipeline.procs import watch_parent

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # no BLAS threads in a process that forks
    _fastimport.trim()
    import ipykernel.debugger  # noqa: F401 - what every kernel imports before its first cell
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    from jupyter_client import localinterfaces

    from lib.pipeline import kernel_preload  # noqa: F401 - every kind's modules (BI_KERNEL_PRELOAD unset)

    for name in RUN_PRELOAD:  # imports only: no settings read, no connection opened
        importlib.import_module(name)
    localinterfaces.localhost()  # the host's addresses (psutil), looked up once for every kernel

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(16)

    def stop_serving(_signum: int = 0, _frame: object = None) -> None:
        listener.close()  # the blocked accept() then fails: the loop below ends

    signal.signal(signal.SIGCHLD, _reap)
    signal.signal(signal.SIGTERM, stop_serving)
    watch_parent(lambda: os.kill(os.getpid(), signal.SIGTERM))
    print("ready", flush=True)
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            break
        with conn:
            try:
                req, fds = _recv_with_fds(conn)
                job = None
                try:
                    pid, job = _fork(listener, conn, req, fds)
                finally:
                    if job is None:  # the server's copies go (the child has taken its own)
                        _close(fds)
                if job is not None:  # in the forked child
                    return job
                _send(conn, {"pid": pid})
            except Exception as exc:  # noqa: BLE001 - the client falls back to a normal launch
                with contextlib.suppress(OSError):
                    _send(conn, {"error": type(exc).__name__})
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    with contextlib.suppress(ChildProcessError):
        while True:
            os.waitpid(-1, 0)
    os._exit(0)


class ForkServer:
    """A running fork server (`start`): its socket path and process; `stop` ends both."""

    def __init__(self, path: str, proc: subprocess.Popen, folder: str) -> None:
        self.path, self.proc, self.folder = path, proc, folder

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop serving; the server exits once its kernels have ended (killed after `timeout_s`)."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.terminate()
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
            os.rmdir(self.folder)


def start(timeout_s: float = 60.0) -> ForkServer | None:
    """Start a fork server for this process's runs (None when it did not come up: kernels launch
    as usual). Its environment is a transform kernel's: no key, no token."""
    from lib.childenv import child_env
    from lib.config import PROJECT_ROOT

    folder = tempfile.mkdtemp(prefix="bi-kfs-")
    path = str(Path(folder) / "kernels.sock")
    env = child_env("kernel-transform")
    env.pop("PIPELINE_DATABASE_URL", None)  # the server never connects; each kernel gets its own env
    proc = subprocess.Popen(  # noqa: S603 - our own module, no shell
        [sys.executable, "-m", "lib.pipeline.kernel_forkserver", path], cwd=str(PROJECT_ROOT), env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server = ForkServer(path, proc, folder)
    out = proc.stdout
    assert out is not None  # stdout=PIPE
    ready, _, _ = select.select([out], [], [], timeout_s)
    if not ready or out.readline().strip() != b"ready":
        server.stop()
        return None
    out.close()
    return server


# -- the client: a provisioner whose kernels come from the fork server ------------------------------
class ForkedProcess:
    """The Popen-like handle of a kernel the fork server forked (not our child: watched by pidfd)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._fd: int | None = os.pidfd_open(pid)

    def _done(self, timeout: float | None) -> bool:
        if self.returncode is not None or self._fd is None:
            return True
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if ready:
            self.returncode = -signal.SIGKILL  # the server reaps it: its status is not ours to read
            os.close(self._fd)
            self._fd = None
        return self.returncode is not None

    def poll(self) -> int | None:
        return self.returncode if self._done(0) else None

    def wait(self, timeout: float | None = None) -> int | None:
        if not self._done(timeout):
            raise subprocess.TimeoutExpired("kernel", timeout or 0)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.send_signal(signal.SIGTERM)


def _request(path: str, req: dict[str, Any], env: dict[str, str], fds: tuple[int, ...] = ()) -> int:
    """Ask the fork server at `path` for a child; its pid. `env` goes through a socket pair whose end
    is passed with the request (read by the child only), then `fds`."""
    mine, theirs = socket.socketpair()
    with mine, theirs, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(_CONNECT_TIMEOUT_S)
        conn.connect(path)
        mine.sendall(json.dumps(env).encode())  # read by the forked child only, through `theirs`
        mine.shutdown(socket.SHUT_WR)
        data = json.dumps(req).encode()
        socket.send_fds(conn, [_LEN.pack(len(data)) + data], [theirs.fileno(), *fds])
        reply = _recv(conn)
    if "pid" not in reply:
        raise RuntimeError(f"fork server: {reply.get('error', 'no child')}")
    return int(reply["pid"])


def fork_kernel(path: str, argv: list[str], env: dict[str, str], cwd: str) -> ForkedProcess:
    """Ask the fork server at `path` for a kernel (`argv` after `-m ipykernel_launcher`)."""
    pid = _request(path, {"kind": "kernel", "argv": argv, "cwd": cwd, "watch_pid": os.getpid()}, env)
    return ForkedProcess(pid)


def fork_run(path: str, argv: list[str], env: dict[str, str], cwd: str, log_fd: int) -> int:
    """Ask the fork server at `path` for a `bi` process (`argv` after `python -m lib`) writing its
    stdout and stderr to `log_fd`; its pid (the server reaps it: watch it with `procs.pid_alive`)."""
    return _request(path, {"kind": "run", "argv": argv, "cwd": cwd}, env, (log_fd,))


class ForkProvisioner(LocalProvisioner):
    """LocalProvisioner whose kernel process comes from the fork server (`FORKSERVER_ENV`); a
    normal launch when the server is unset or does not answer."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):  # noqa: ANN201 - KernelConnectionInfo
        path = server_path()
        if path is None or cmd[1:3] != ["-m", "ipykernel_launcher"]:
            return await super().launch_kernel(cmd, **kwargs)
        try:
            proc = fork_kernel(
                path, cmd[3:], dict(kwargs.get("env") or {}), str(kwargs.get("cwd") or os.getcwd())
            )
        except (OSError, RuntimeError, ValueError):
            return await super().launch_kernel(cmd, **kwargs)
        self.process = proc  # type: ignore[assignment]  # Popen-like
        self.pid = self.pgid = proc.pid  # type: ignore[assignment]
        self.cwd = kwargs.get("cwd", Path.cwd())
        return self.connection_info


if __name__ == "__main__":
    child = serve(sys.argv[1])  # returns in a forked child only: it runs at the top, as a new process would
    if child is not None:
        sys.exit(child())
