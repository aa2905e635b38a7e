"""The stack test's clean-up (tests/stack_harness.py), tried for real: a pytest run shaped like
tests/test_stack.py (a module fixture holding the watchdog, a daemon started outside the supervisor as
the PostgreSQL cluster is, and supervised servers, one of which leaves a detached child as the Dash app
does with a pipeline run, one that leaves an orphan, one that ignores SIGTERM) is interrupted by
Ctrl-C, SIGTERM, SIGHUP or SIGKILL, in set-up or in a test, or fails; afterwards no process it started
is alive, no port is still taken, and its scratch directory is gone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from stack_harness import _start_time, _terminate, _under

HERE = Path(__file__).resolve().parent

SCENARIO = textwrap.dedent(
    '''
    import contextlib, json, os, shutil, signal, subprocess, sys, time
    from pathlib import Path

    import pytest
    from stack_harness import Supervisor, _start_time, abandon_guard, free_port

    PHASE, HOW = os.environ["SCENARIO_PHASE"], os.environ["SCENARIO_HOW"]
    OUT, SCRATCH = Path(os.environ["SCENARIO_OUT"]), Path(os.environ["SCENARIO_SCRATCH"])
    SERVE = (
        "import socket, sys, time\\n"
        "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(600)"
    )
    STUBBORN = "import signal\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\n" + SERVE
    DETACH = (  # a server that starts a detached server (own session), then stays or exits
        "import subprocess, sys, time\\n"
        "subprocess.Popen([sys.executable, '-c', sys.argv[1], sys.argv[2]], start_new_session=True)\\n"
        "time.sleep(600 if sys.argv[3] == 'stay' else 0)"
    )


    def report(ports, pids):
        OUT.write_text(json.dumps({"ports": ports, "pids": {p: _start_time(p) for p in pids}}))


    def children_of(pid):
        out = []
        for e in Path("/proc").iterdir():
            with contextlib.suppress(OSError):
                if e.name.isdigit() and Path(f"/proc/{e.name}/stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                    out.append(int(e.name))
        return out


    @contextlib.contextmanager
    def daemon(port):
        """Like local_cluster: a server reparented to init, stopped by its own context manager."""
        subprocess.run(["setsid", "-f", sys.executable, "-c", SERVE, str(port), str(SCRATCH)], check=True)
        while _port_free(port):
            time.sleep(0.05)
        pid = next(int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit() and _is_daemon(e))
        try:
            yield pid
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


    def _is_daemon(entry):
        with contextlib.suppress(OSError):
            argv = (entry / "cmdline").read_bytes().split(b"\\0")
            return argv[1:2] == [b"-c"] and argv[2] == SERVE.encode() and argv[4:5] == [str(SCRATCH).encode()]
        return False


    def _port_free(port):
        import socket
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) != 0


    @pytest.fixture(scope="module")
    def stack():
        ports = [free_port() for _ in range(5)]
        try:
            with abandon_guard(SCRATCH), daemon(ports[0]) as dpid, Supervisor(SCRATCH / "logs", stop_timeout=2) as sup:
                a = sup.start("serve", [sys.executable, "-c", SERVE, str(ports[1])], dict(os.environ))
                b = sup.start("launcher", [sys.executable, "-c", DETACH, SERVE, str(ports[2]), "stay"], dict(os.environ))
                c = sup.start("orphaner", [sys.executable, "-c", DETACH, SERVE, str(ports[3]), "exit"], dict(os.environ))
                d = sup.start("stubborn", [sys.executable, "-c", STUBBORN, str(ports[4])], dict(os.environ))
                deadline = time.monotonic() + 30
                while any(_port_free(p) for p in ports):
                    assert time.monotonic() < deadline, [(p.name, p.popen.poll(), p.tail()) for p in (a, b, c, d)]
                    time.sleep(0.05)
                pids = [dpid, a.popen.pid, b.popen.pid, *children_of(b.popen.pid), d.popen.pid]
                pids += [p for p in children_of(os.getpid()) if p not in pids and p != c.popen.pid]
                if PHASE == "setup":
                    report(ports, pids)
                    if HOW == "fail":
                        time.sleep(3)  # while the outer test looks at what runs
                        raise RuntimeError("set-up failed")
                    time.sleep(120)
                yield ports, pids
                sup.stop_all()
        finally:
            shutil.rmtree(SCRATCH, ignore_errors=True)


    def test_runs(stack):
        report(*stack)
        if HOW == "fail":
            time.sleep(3)
            raise AssertionError("a failing test")
        time.sleep(120)
    '''
)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _gone(pid: int, started: str | None) -> bool:
    return _start_time(pid) != started  # dead, or the pid reused by another process


@pytest.mark.parametrize(
    ("how", "phase"),
    [
        ("SIGINT", "setup"),
        ("SIGINT", "test"),
        ("SIGTERM", "setup"),
        ("SIGTERM", "test"),
        ("SIGHUP", "test"),
        ("SIGKILL", "setup"),
        ("SIGKILL", "test"),
        ("fail", "setup"),
        ("fail", "test"),
    ],
)
def test_everything_the_stack_test_starts_is_stopped(tmp_path: Path, how: str, phase: str) -> None:
    (tmp_path / "test_scenario.py").write_text(SCENARIO, encoding="utf-8")
    scratch = Path(tempfile.mkdtemp(prefix="bi-harness-", dir="/tmp"))
    out = tmp_path / "started.json"
    env = {
        **os.environ, "PYTHONPATH": str(HERE), "SCENARIO_PHASE": phase, "SCENARIO_HOW": how,
        "SCENARIO_OUT": str(out), "SCENARIO_SCRATCH": str(scratch),
    }  # fmt: skip
    proc = subprocess.Popen(  # noqa: S603 - a pytest run of the scenario, in its own process group
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(tmp_path)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not out.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert out.exists(), proc.communicate(timeout=30)[0][-3000:]
        time.sleep(1.0)  # the report is whole, and the watchdog has noted every process
        started = json.loads(out.read_text())
        pids = {int(p): s for p, s in started["pids"].items()}
        assert len(pids) == 7, pids  # the daemon, 2 servers, their 2 detached children, stubborn, watchdog
        assert [p for p, s in pids.items() if _gone(p, s)] == []
        if how == "SIGINT":
            os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C goes to the foreground group
        elif how != "fail":
            os.kill(proc.pid, getattr(signal, how))
        t0 = time.monotonic()
        output = proc.communicate(timeout=90)[0]
        stopped_in = time.monotonic() - t0
        deadline = time.monotonic() + 30  # after SIGKILL the watchdog does the stopping
        while time.monotonic() < deadline and not all(_gone(p, s) for p, s in pids.items()):
            time.sleep(0.1)
        left = [p for p, s in pids.items() if not _gone(p, s)]
        assert left == [], f"still running after {how} in {phase}: {left}\n{output[-3000:]}"
        assert [p for p in started["ports"] if _listening(p)] == []
        while time.monotonic() < deadline and scratch.exists():
            time.sleep(0.1)
        assert not scratch.exists()
        if how == "SIGKILL":
            assert proc.returncode == -signal.SIGKILL
        else:
            assert proc.returncode in (1, 2), output[-3000:]  # failed, or interrupted
            assert how != "fail" or "1 failed" in output or "1 error" in output, output[-3000:]
            assert stopped_in < 40, stopped_in
    finally:  # whatever the outcome, nothing of the scenario survives this test
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        pids = {int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()}
        _terminate({p for p in pids if _under(p, [str(scratch)])}, grace=2)
        shutil.rmtree(scratch, ignore_errors=True)
