"""A fork server for step kernels: one process that has imported ipykernel and the steps' modules forks
each new kernel, instead of every kernel starting a Python and importing them again (~1.3 s of CPU a
kernel here, two kernels a tenant run, so most of a batch's start-up cost).

`python -m lib.pipeline.kernel_forkserver <socket>` serves its parent's (the batch's) runs. A batch
starts one (`start`) and tells its tenant runs where it listens (`FORKSERVER_ENV`); their workers'
kernels then come from it (`ForkProvisioner`), and any failure to reach it falls back to a normal
launch. The server holds no secret: its environment is a transform kernel's (no key, no token), and each
kernel's own environment (its tenant's key for an extract kernel, `lib.childenv`) is written by the
worker into a socket pair whose other end is passed with the request (SCM_RIGHTS): only the forked
child reads it, never the server, and never a command line.

A forked kernel is what a launched one is: its own session (process group = pid, so a stop kills the
dbt it started too), stdio on /dev/null, the requested cwd and environment. It dies with the server
(`PR_SET_PDEATHSIG`) and with the worker that asked for it (it watches that pid), as a launched kernel
dies with its worker. The server stops serving when the batch ends (or dies) and exits once the
kernels it forked have ended.
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


def _recv_with_fd(conn: socket.socket) -> tuple[dict[str, Any], int]:
    """A request and the descriptor sent with it (the kernel's environment, for the child only)."""
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 1)
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise ConnectionError("a request without its environment")
    while len(data) < _LEN.size or len(data) < _LEN.size + _LEN.unpack(data[: _LEN.size])[0]:
        chunk = conn.recv(65536)
        if not chunk:
            os.close(fds[0])
            raise ConnectionError("fork server connection closed")
        data += chunk
    return json.loads(data[_LEN.size :]), fds[0]


def _read_all(fd: int) -> bytes:
    with socket.socket(fileno=fd) as sock:
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


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


def _become_kernel(req: dict[str, Any], env_fd: int) -> None:
    """In the forked child: the kernel's session, stdio, cwd and environment (read from `env_fd`,
    which the server never reads), then ipykernel."""
    env = json.loads(_read_all(env_fd))
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
    sys.argv = ["ipykernel_launcher", *req["argv"]]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


def _fork(listener: socket.socket, conn: socket.socket, req: dict[str, Any], env_fd: int) -> int:
    """Fork a kernel for `req`; return its pid once it runs in its own session."""
    from lib.pipeline.procs import die_with_parent

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the kernel
        code = 1
        try:
            os.close(r)
            os.setsid()
            die_with_parent()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            listener.close()
            conn.close()
            os.write(w, b"1")
            os.close(w)
            _become_kernel(req, env_fd)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    ready, _, _ = select.select([r], [], [], _CONNECT_TIMEOUT_S)
    ok = bool(ready) and os.read(r, 1) == b"1"
    os.close(r)
    if not ok:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        raise RuntimeError("the forked kernel did not start")
    return pid


def serve(path: str) -> None:
    """Preload, listen on `path` and fork one kernel per request until SIGTERM or the parent's exit;
    then exit once the kernels forked so far have ended (a batch that died leaves its detached runs
    their kernels)."""
    from lib.pipeline import _fastimport
    from lib.pipeline.procs import watch_parent

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # no BLAS threads in a process that forks
    _fastimport.trim()
    import ipykernel.debugger  # noqa: F401 - what every kernel imports before its first cell
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    from jupyter_client import localinterfaces

    from lib.pipeline import kernel_preload  # noqa: F401 - every kind's modules (BI_KERNEL_PRELOAD unset)

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
                req, env_fd = _recv_with_fd(conn)
                try:
                    pid = _fork(listener, conn, req, env_fd)
                finally:
                    os.close(env_fd)  # the child's copy is the only one left: it reads the environment
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


def fork_kernel(path: str, argv: list[str], env: dict[str, str], cwd: str) -> ForkedProcess:
    """Ask the fork server at `path` for a kernel (`argv` after `-m ipykernel_launcher`)."""
    mine, theirs = socket.socketpair()
    with mine, theirs, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(_CONNECT_TIMEOUT_S)
        conn.connect(path)
        mine.sendall(json.dumps(env).encode())  # read by the forked kernel only, through `theirs`
        mine.shutdown(socket.SHUT_WR)
        data = json.dumps({"argv": argv, "cwd": cwd, "watch_pid": os.getpid()}).encode()
        socket.send_fds(conn, [_LEN.pack(len(data)) + data], [theirs.fileno()])
        reply = _recv(conn)
    if "pid" not in reply:
        raise RuntimeError(f"fork server: {reply.get('error', 'no kernel')}")
    return ForkedProcess(int(reply["pid"]))


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
    serve(sys.argv[1])
