"""Helpers of the tests that point the settings at the simulator: one tenant configured through the
environment (no tenants.yml), and the demo tenant's pipeline environment (simulator, RUNS_DIR, HOME)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lib.config import reload_settings

APP = "100274"


def configure_tenant(mp: pytest.MonkeyPatch, folder: Path, *, tenant: str, url: str, key: str, app: str = APP,
                     **extra: str) -> dict[str, str]:  # fmt: skip
    """Set TENANT_ID, the simulator's URL and key, the application (and `extra` settings) in the
    environment, with a TENANTS_FILE that does not exist; settings reloaded. Returns what it set."""
    env = {"TENANT_ID": tenant, "INDIGITALL_BASE_URL": url, "INDIGITALL_SERVER_KEY": key,
           "INDIGITALL_APP_ID": app, "TENANTS_FILE": str(folder / "none.yml"), **extra}  # fmt: skip
    for name, value in env.items():
        mp.setenv(name, value)
    reload_settings()
    return env


@contextmanager
def demo_pipeline_env(db_url: str, scratch: Path, *, server_key: str, backfill_days: int,
                      **sim_options: Any) -> Iterator[dict[str, str]]:  # fmt: skip
    """A simulator on loopback and the environment of tenant `demo` for runner tests (RUNS_DIR and
    HOME under `scratch`, no injected fault); yields the settings it made, DATABASE_URL included."""
    from lib.simulator import start_in_thread

    sim = start_in_thread(port=0, server_key=server_key, **sim_options)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.delenv("BI_PIPELINE_FAULT", raising=False)
            env = configure_tenant(mp, scratch, tenant="demo", url=sim.url, key=server_key,
                                   RUNS_DIR=str(scratch / "runs"), HOME=str(scratch / "home"),
                                   EXTRACT_BACKFILL_DAYS=str(backfill_days))  # fmt: skip
            yield {**env, "DATABASE_URL": db_url}
        reload_settings()
    finally:
        sim.stop()
