"""`bi serve dash|voila|lab`: the serving processes, one command line each.

- dash  → gunicorn `dash_app.app:server` (port 8050; workers from DASH_WORKERS / WEB_CONCURRENCY, default 2)
- voila → Voila on `notebooks/analysis` with the code hidden (port 8866; sources stripped, no tracebacks),
  behind the dashboards' sign-in (`lib/voila_config/voila.py`, `lib.voila_auth`)
- lab   → JupyterLab on the project root (port 8888) with this venv's ipykernel, so `lib` imports

The project's `.env` is merged into the child's environment (existing variables win), so kernels
started from notebook folders see the same settings as `bi`. Secrets stay in the environment: no
command line carries one (Jupyter reads JUPYTER_TOKEN itself).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from lib.config import PROJECT_ROOT

ANALYSIS_DIR = PROJECT_ROOT / "notebooks" / "analysis"
VOILA_CONFIG_DIR = PROJECT_ROOT / "lib" / "voila_config"
DEFAULT_PORTS = {"dash": 8050, "voila": 8866, "lab": 8888}
APPS = tuple(DEFAULT_PORTS)


def _workers() -> int:
    raw = os.environ.get("DASH_WORKERS") or os.environ.get("WEB_CONCURRENCY") or "2"
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
            "--timeout", os.environ.get("DASH_TIMEOUT", "120"),
            "--access-logfile", "-",
            "--forwarded-allow-ips", os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
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
        base_url = os.environ.get("VOILA_BASE_URL")
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
    base_url = os.environ.get("LAB_BASE_URL")
    if base_url:
        argv.append(f"--ServerApp.base_url={base_url}")
    return argv


def child_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a served app: `base` (os.environ) + the project's `.env` + PYTHONPATH."""
    env = dict(os.environ if base is None else base)
    dotenv = PROJECT_ROOT / ".env"
    if dotenv.exists():
        from dotenv import dotenv_values

        for key, value in dotenv_values(dotenv).items():
            if value is not None and key not in env:
                env[key] = value
    paths = [str(PROJECT_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def serve_app(what: str, host: str = "127.0.0.1", port: int | None = None, *, replace: bool = True) -> int:
    """Serve dash | voila | lab in the foreground; `replace` execs (signals reach the server directly)."""
    argv = build_command(what, host=host, port=port)
    env = child_env()
    print(f"bi serve {what}: {shlex.join(argv[1:])}", file=sys.stderr, flush=True)
    if replace and hasattr(os, "execve"):
        os.chdir(PROJECT_ROOT)
        os.execve(argv[0], argv, env)  # noqa: S606 - our own interpreter and argv
    return subprocess.call(argv, cwd=Path(PROJECT_ROOT), env=env)  # noqa: S603
