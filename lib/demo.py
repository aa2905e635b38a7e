"""`bi demo [--days 90] [--no-serve]`: the whole job on the embedded defaults.

Embedded PostgreSQL up and migrated, the API simulator in a background process (a fresh demo ServerKey
passed through its environment), tenant `demo` / app `100274`, a full pipeline run over the last
`--days` days through the notebooks, then the archive's location and (unless --no-serve) the apps.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx

from lib.config import PROJECT_ROOT, reload_settings

if TYPE_CHECKING:
    from lib.pipeline.runner import RunOutcome

DEMO_TENANT = "demo"
DEMO_APP_ID = "100274"


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_simulator(
    server_key: str, port: int | None = None, timeout_s: float = 30.0
) -> tuple[subprocess.Popen, str]:
    """`python -m lib serve simulator --port N` in the background; returns (process, base URL) once it answers."""
    port = port or free_port()
    from lib.childenv import child_env

    env = {**child_env("simulator"), "INDIGITALL_SERVER_KEY": server_key}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lib", "serve", "simulator", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the simulator exited at start (code {proc.returncode})")
        try:
            httpx.get(f"{url}/v1/status", timeout=1.0)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"the simulator did not answer on {url} within {timeout_s:.0f}s")


def stop_process(proc: subprocess.Popen | None) -> None:
    """Terminate a child we started (kill after 5 s)."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


def demo_pipeline_token() -> str:
    """Make sure the demo's pipeline API has a token; return how to pass it (never the token itself).

    A token set in PIPELINE_API_TOKEN is used as is. Otherwise a fresh one is written to
    `<data dir>/demo_pipeline_token`, readable by the owner only, and exported to the served apps.
    """
    if os.environ.get("PIPELINE_API_TOKEN"):
        return "$PIPELINE_API_TOKEN"
    from lib.config import get_settings

    path = get_settings().data_dir / "demo_pipeline_token"
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token)
    path.chmod(0o600)  # an older file may have had other permissions
    os.environ["PIPELINE_API_TOKEN"] = token
    return f"$(cat {path})"


def serve_demo_apps(sim: subprocess.Popen | None = None) -> int:
    """Serve the dashboards (:8050, foreground) and Voila (:8866, background) over the demo's data.

    A demo sign-in is created for this demo only (a viewer of the demo tenant, fresh password) and
    printed with the URLs. The simulator stays up so `POST /api/run-pipeline` works in the demo.
    Ctrl-C stops everything.
    """
    from lib.auth import reset_demo_user
    from lib.serve import build_command, child_env

    user, password = reset_demo_user(DEMO_TENANT)
    token_hint = demo_pipeline_token()
    voila = subprocess.Popen(
        build_command("voila"),
        cwd=PROJECT_ROOT,
        env=child_env("voila"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(
        "\n== the demo is served (Ctrl-C stops it) ==\n"
        "dashboards: http://127.0.0.1:8050   sign in as "
        f"{user} / {password}   (demo-only credentials, a new password every demo)\n"
        "voila:      http://127.0.0.1:8866   (exploratory views)\n"
        "pipeline API: POST http://127.0.0.1:8050/api/run-pipeline with "
        f"'Authorization: Bearer {token_hint}'\n",
        flush=True,
    )

    def _stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the demo as Ctrl-C does: children included

    signal.signal(signal.SIGTERM, _stop)
    dash = subprocess.Popen(
        build_command("dash"),
        cwd=PROJECT_ROOT,
        env=child_env("dash"),
        stdin=subprocess.DEVNULL,
    )
    try:
        return dash.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in (dash, voila, sim):
            stop_process(proc)


def main(args: argparse.Namespace) -> int:
    """Run the demo; exit code of the pipeline run (0 when every step succeeded)."""
    days = int(getattr(args, "days", 90) or 90)
    t0 = time.perf_counter()
    from lib.db import get_database_url, mask, migrate
    from lib.db.logins import describe

    reload_settings()
    url = get_database_url()
    logins: list = []
    migrate(url, logins=logins)
    print(f"database: {mask(url)} (migrated; the owner's login, for migrations only)")
    for line in describe(logins, url):  # each process's own login, password hidden
        print(f"  {line}")
    key = f"demo-{secrets.token_hex(16)}"  # a throwaway ServerKey shared by the simulator and the run
    sim, base_url = start_simulator(key)
    print(f"simulator: {base_url} (pid {sim.pid})")
    os.environ.update(
        INDIGITALL_BASE_URL=base_url, INDIGITALL_SERVER_KEY=key, TENANT_ID=DEMO_TENANT,
        INDIGITALL_APP_ID=DEMO_APP_ID, TENANTS_FILE=str(PROJECT_ROOT / ".data" / "demo-has-no-tenants.yml"),
    )  # fmt: skip
    reload_settings()
    from lib.pipeline.runner import RunOptions, run_pipeline

    today = datetime.now(UTC).date()
    try:
        outcome = run_pipeline(
            RunOptions(
                mode="full",
                tenant=DEMO_TENANT,
                date_from=(today - timedelta(days=days)).isoformat(),
                date_to=today.isoformat(),
            )  # fmt: skip
        )
    except BaseException:
        stop_process(sim)
        raise
    if outcome.exit_code == 3:
        stop_process(sim)
        print(outcome.message, file=sys.stderr)
        return 3
    print(summary(outcome, days, time.perf_counter() - t0))
    if outcome.exit_code == 0 and not getattr(args, "no_serve", False):
        return serve_demo_apps(sim)
    stop_process(sim)
    return outcome.exit_code


def summary(outcome: RunOutcome, days: int, wall_s: float) -> str:
    """The demo's closing block: status, steps, rows, slowest steps, archive and what to run next."""
    steps = outcome.steps or []
    counts: dict[str, int] = {}
    for s in steps:
        counts[s.get("status") or "?"] = counts.get(s.get("status") or "?", 0) + 1
    rows_out = sum(int(s.get("rows_out") or 0) for s in steps if s.get("step", "").startswith("transform_"))
    slowest = sorted(steps, key=lambda s: -(s.get("duration_ms") or 0))[:3]
    lines = [
        "",
        f"== bi demo: {outcome.status.upper()} (exit {outcome.exit_code}) ==",
        f"run:      {outcome.run_id} (tenant {outcome.tenant_id}, full run over the last {days} days)",
        f"steps:    {', '.join(f'{n} {k}' for k, n in sorted(counts.items())) or 'none'}; wall {wall_s:.1f} s",
        f"rows:     {rows_out} rows out of the transforms (public.*)",
        "slowest:  " + ", ".join(f"{s['step']} {(s.get('duration_ms') or 0) / 1000:.1f}s" for s in slowest),
    ]
    failed = [s for s in steps if s.get("status") == "failed"]
    for s in failed[:3]:
        cell = f" (cell {s['error_cell']})" if s.get("error_cell") is not None else ""
        lines.append(
            f"failed:   {s['step']}{cell}: {s.get('error_name')}: {(s.get('error_message') or '')[:200]}"
        )
    if outcome.archive_dir:
        lines.append(f"archive:  {outcome.archive_dir} (executed notebooks, HTML, manifest.json)")
    if outcome.manifest_path:
        lines.append(f"manifest: {outcome.manifest_path}")
    lines.append(f"ledger:   bi runs show {outcome.run_id}")
    if outcome.exit_code != 0 and not failed:
        lines.append(f"message:  {outcome.message}")
    return "\n".join(lines)
