"""Process helpers of the runner: children that die with their parent, liveness of a pid.

A run's workers, their kernels and dbt are started with `die_with_parent` (Linux `PR_SET_PDEATHSIG`),
so a runner killed by SIGKILL or the OOM killer leaves no step running: nothing writes after the run
ended. Elsewhere (no prctl) it is a no-op and the reaper plus the ledger's fence still apply.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
forked_by: int | None = None  # a `bi run` forked by its batch's fork server: the server's pid


def die_with_parent() -> None:
    """In a child before exec: ask the kernel to SIGKILL this process when its parent exits."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def watch_parent(on_gone: Callable[[], None], interval_s: float = 0.5) -> None:
    """Call `on_gone` (from a daemon thread) once this process's parent has exited: the fallback of
    `die_with_parent` where the signal was missed (set too late, or no prctl)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        on_gone()

    threading.Thread(target=watch, name="bi-parent-watch", daemon=True).start()


def pid_alive(pid: int | None) -> bool:
    """True when a process with this pid exists on this host (False for None/0)."""
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except (OSError, ValueError):
        return False
    try:  # a zombie is gone for our purposes
        with open(f"/proc/{int(pid)}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
