"""`bi serve dash|voila|lab`: the serving processes, one command line each.

- dash  → gunicorn `dash_app.app:server` (port 8050; workers from DASH_WORKERS / WEB_CONCURRENCY, default 2)
- voila → Voila on `notebooks/analysis` with the code hidden (port 8866; sources stripped, no tracebacks),
  behind the dashboards' sign-in (`lib/voila_config/voila.py`, `lib.voila_auth`)
- lab   → JupyterLab on the project root (port 8888) with this venv's ipykernel, so `lib` imports

Each app gets the allow-list of its kind (`lib.childenv.child_env`): the project's `.env` is read like
the environment (existing variables win), the owner's DATABASE_URL never reaches an app, Voila and
Lab get the analyst login and no other secret. No command line carries a secret (Jupyter reads
JUPYTER_TOKEN itself).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from lib.childenv import child_env as allowed_env
from lib.config import PROJECT_ROOT, env_value

ANALYSIS_DIR = PROJECT_ROOT / "notebooks" / "analysis"
VOILA_CONFIG_DIR = PROJECT_ROOT / "lib" / "voila_config"
DEFAULT_PORTS = {"dash": 8050, "voila": 8866, "lab": 8888}
APPS = tuple(DEFAULT_PORTS)


def _workers() -> int:
    raw = env_value("DASH_WORKERS") or env_value("WEB_CONCURRENCY") or "2"
    try:
        return max(1, int(raw))
    except ValueError as exc:
        raise ValueError(f"DASH_WORKERS must be a whole number, got {raw!r}") from exc


def build_command(what: str, host: str = "127.0.0.1", port: int | None = None) -> list[str]:
    """The argv that serves `what` (dash | voila | lab)."""
    if what not in DEFAULT_PORTS:
        raise ValueError(f"unknown app {what!r}; expected one of {', '.join(APPS)}")
    port = int(port or DEFAULT_PORTS[what])
    py = sys.executable
    if what == "dash":
        return [
            py, "-m", "gunicorn", "dash_app.app:server",
            "--bind", f"{host}:{port}",
            "--workers", str(_workers()),
            "--timeout", env_value("DASH_TIMEOUT", "120"),
            "--access-logfile", "-",
            "--forwarded-allow-ips", env_value("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        ]  # fmt: skip
    if what == "voila":
        argv = [
            py, "-m", "voila", str(ANALYSIS_DIR),
            "--no-browser",
            f"--port={port}",
            f"--Voila.ip={host}",
            "--strip_sources=True",
            "--show_tracebacks=False",
            "--theme=light",
            f"--Voila.config_file_paths={VOILA_CONFIG_DIR}",  # only ours: the sign-in cannot be switched off
            "--Voila.identity_provider_class=lib.voila_auth.BIIdentityProvider",
        ]  # fmt: skip
        base_url = env_value("VOILA_BASE_URL")
        if base_url:
            argv.append(f"--Voila.base_url={base_url}")
        return argv
    argv = [
        py, "-m", "jupyterlab",
        "--no-browser",
        f"--port={port}",
        f"--ServerApp.ip={host}",
        f"--ServerApp.root_dir={PROJECT_ROOT}",
        "--ServerApp.allow_remote_access=True" if host not in ("127.0.0.1", "localhost") else "--ServerApp.allow_remote_access=False",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")  # dev containers run as root; the production image does not
    base_url = env_value("LAB_BASE_URL")
    if base_url:
        argv.append(f"--ServerApp.base_url={base_url}")
    return argv


def child_env(what: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a served app (dash | voila | lab): its allow-list from `lib.childenv`, with
    the project's `.env` read the same way as the environment, PYTHONPATH on the project root."""
    return allowed_env(what, base=base)


def serve_app(what: str, host: str = "127.0.0.1", port: int | None = None, *, replace: bool = True) -> int:
    """Serve dash | voila | lab in the foreground; `replace` execs (signals reach the server directly)."""
    argv = build_command(what, host=host, port=port)
    env = child_env(what)
    print(f"bi serve {what}: {shlex.join(argv[1:])}", file=sys.stderr, flush=True)
    if replace and hasattr(os, "execve"):
        os.chdir(PROJECT_ROOT)
        os.execve(argv[0], argv, env)  # our own interpreter and argv
    return subprocess.call(argv, cwd=Path(PROJECT_ROOT), env=env)
