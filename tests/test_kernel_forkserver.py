"""A batch's step kernels come from its fork server (lib.pipeline.kernel_forkserver): they run steps as
launched kernels do, each with its own environment only (the server holds no key), in their own
session, and die with the worker that asked for them; an unreachable server means a normal launch."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lib.childenv import KERNEL_FORKSERVER_ENV
from lib.config import PROJECT_ROOT
from lib.pipeline import kernel, kernel_forkserver, worker
from lib.pipeline.procs import pid_alive
from tests.test_kernel_reuse import KEYS, _step, steps_root  # noqa: F401 - the fixture is used below


def _ppid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _environ(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes()


def _gone(pid: int, within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[kernel_forkserver.ForkServer]:
    srv = kernel_forkserver.start()
    assert srv is not None, "the fork server did not start"
    monkeypatch.setenv(KERNEL_FORKSERVER_ENV, srv.path)
    yield srv
    worker._drop_idle()
    srv.stop()


def test_forked_kernels_run_steps_with_their_own_environment_only(steps_root: Path, server) -> None:  # noqa: F811
    for value in KEYS.values():  # the server never holds a key
        assert value.encode() not in _environ(server.proc.pid)
    assert b"PIPELINE_DATABASE_URL=" not in _environ(server.proc.pid)

    ext_a = _step(steps_root, 2, "extract", "chat", "coop_a")
    pid = ext_a["probe"]["pid"]
    assert ext_a["status"] == "success" and ext_a["probe"]["keys"] == ["KEY_REUSE_A"]
    assert _ppid(pid) == server.proc.pid, "the kernel was launched, not forked"
    assert os.getpgid(pid) == pid, "a forked kernel runs in its own session"
    assert KEYS["KEY_REUSE_A"].encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ext_b = _step(steps_root, 3, "extract", "chat", "coop_b")
    assert ext_b["probe"]["keys"] == ["KEY_REUSE_B"] and ext_b["probe"]["pid"] != pid

    t1 = _step(steps_root, 11, "transform", "one", "coop_a")
    t2 = _step(steps_root, 12, "transform", "two", "coop_a")
    assert t1["probe"]["keys"] == [] and _ppid(t1["probe"]["pid"]) == server.proc.pid
    assert t2["kernel_reused"] and t2["probe"]["pid"] == t1["probe"]["pid"] and t2["probe"]["leftover"] == []

    bad = _step(steps_root, 13, "transform", "bad", "coop_a", fail=True)
    assert bad["status"] == "failed"
    assert _gone(bad["probe"]["pid"]), "a failed step's forked kernel was not stopped"


def test_the_server_never_reads_a_kernels_environment(tmp_path: Path) -> None:
    """What reaches the server's socket holds no value of the environment: that travels in the socket
    pair passed with it, which only the forked child reads."""
    import socket
    import threading

    path = str(tmp_path / "fake.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    seen: dict = {}

    def fake_server() -> None:
        conn, _ = listener.accept()
        with conn:
            req, fds = kernel_forkserver._recv_with_fds(conn)
            seen["request"] = req
            seen["env"] = kernel_forkserver._read_all(fds[0])
            kernel_forkserver._send(conn, {"error": "test"})

    t = threading.Thread(target=fake_server)
    t.start()
    with pytest.raises(RuntimeError, match="test"):
        kernel_forkserver.fork_kernel(path, ["-f", "conn.json"], {"KEY_X": "s3cr3t-value-77"}, "/")
    t.join(5)
    listener.close()
    assert "s3cr3t" not in repr(seen["request"]) and seen["request"]["argv"] == ["-f", "conn.json"]
    assert b"s3cr3t-value-77" in seen["env"]


def test_a_forked_kernel_dies_with_the_worker_that_asked_for_it(server) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from lib.pipeline import kernel
        km = kernel.start_kernel(kind="transform")
        kernel.wait_ready(km)
        print(km.provisioner.pid, flush=True)
        time.sleep(120)
        """
    )
    env = {**os.environ, KERNEL_FORKSERVER_ENV: server.path}
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=str(PROJECT_ROOT), env=env,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        pid = int(proc.stdout.readline())
        assert _ppid(pid) == server.proc.pid and pid_alive(pid)
        proc.kill()
        proc.wait()
        assert _gone(pid), "the kernel outlived its worker"
    finally:
        proc.kill()


def test_without_a_reachable_server_kernels_launch_as_usual(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(KERNEL_FORKSERVER_ENV, str(tmp_path / "no-server.sock"))
    km = kernel.start_kernel(kind="transform")
    try:
        kernel.wait_ready(km)
        assert isinstance(km.provisioner.process, subprocess.Popen)
        assert _ppid(km.provisioner.pid) == os.getpid()
        assert kernel.reset(km)
    finally:
        kernel.stop_kernel(km)


def test_a_stopped_server_serves_no_more_and_exits_once_its_kernels_ended(monkeypatch) -> None:
    srv = kernel_forkserver.start()
    assert srv is not None
    monkeypatch.setenv(KERNEL_FORKSERVER_ENV, srv.path)
    km = kernel.start_kernel(kind="transform")
    kernel.wait_ready(km)
    forked = km.provisioner.pid
    assert _ppid(forked) == srv.proc.pid
    srv.proc.terminate()  # what ForkServer.stop sends: no more kernels, the running ones stay
    time.sleep(0.5)
    assert srv.proc.poll() is None and pid_alive(forked)
    late = kernel.start_kernel(kind="transform")  # the socket is closed: a normal launch
    try:
        kernel.wait_ready(late)
        assert _ppid(late.provisioner.pid) == os.getpid()
    finally:
        kernel.stop_kernel(late)
    kernel.stop_kernel(km)
    assert srv.proc.wait(10) == 0
    srv.stop()


def test_a_forked_run_is_a_detached_bi_process_with_its_own_settings_and_log(tmp_path: Path) -> None:
    """`fork_run` (a batch's tenant runs): the child is `python -m lib <argv>` in its own session, its
    output on the log passed with the request, its settings read from its own environment (the key
    here), and it outlives the server, as a launched run does."""
    import re

    import httpx

    from lib.childenv import child_env

    srv = kernel_forkserver.start()
    assert srv is not None
    env = {**child_env("simulator"), "INDIGITALL_SERVER_KEY": "fork-run-key-5521"}
    log_path = tmp_path / "run.log"
    with open(log_path, "xb") as log:
        pid = kernel_forkserver.fork_run(
            srv.path,
            ["serve", "simulator", "--port", "0", "--scale", "0.1"],
            env,
            str(tmp_path),
            log.fileno(),
        )
    try:
        assert _ppid(pid) == srv.proc.pid and os.getsid(pid) == pid
        assert Path(f"/proc/{pid}/cwd").resolve() == tmp_path.resolve()
        assert b"fork-run-key-5521" not in _environ(srv.proc.pid)
        deadline = time.monotonic() + 30
        while not (m := re.search(r"http://127\.0\.0\.1:(\d+)", log_path.read_text())):
            assert time.monotonic() < deadline and pid_alive(pid), log_path.read_text()
            time.sleep(0.1)
        url = f"http://127.0.0.1:{m.group(1)}/v1/chat/topic"
        params = {"applicationId": "100274"}
        ok = httpx.get(url, params=params, headers={"Authorization": "ServerKey fork-run-key-5521"})
        bad = httpx.get(url, params=params, headers={"Authorization": "ServerKey another-key"})
        assert (ok.status_code, bad.status_code) == (200, 401)  # the key it was given, nobody else's
        assert "key: configured" in log_path.read_text()
        srv.proc.kill()  # the server dies: a run is detached, it goes on (a kernel would not)
        srv.proc.wait()
        time.sleep(0.3)
        assert pid_alive(pid)
        assert (
            httpx.get(
                url, params=params, headers={"Authorization": "ServerKey fork-run-key-5521"}
            ).status_code
            == 200
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
        srv.stop()
    assert _gone(pid)


def test_an_unreachable_fork_server_launches_the_run(tmp_path: Path, monkeypatch) -> None:
    from lib.pipeline import launch

    log_path = tmp_path / "run.log"
    with open(log_path, "xb") as log:
        pid = launch._start(["--help"], {**os.environ}, log.fileno(), str(tmp_path / "no-server.sock"))
    assert _ppid(pid) == os.getpid()
    os.waitpid(pid, 0)
    assert "usage:" in log_path.read_text()
