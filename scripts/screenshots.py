"""Save a screenshot of every dashboard page into docs/screenshots/ (headless Chromium).

    python scripts/screenshots.py                  # scratch database with synthetic marts (default)
    python scripts/screenshots.py --source current # the configured database (e.g. after `bi demo`)
    python scripts/screenshots.py --url http://127.0.0.1:8050 --username demo --password-env DEMO_PW

Self-hosted modes start the app on a free loopback port with a temporary admin sign-in that is
removed afterwards; the scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import sys
import threading
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = [
    ("executive", "/"),
    ("operations", "/operations"),
    ("bot", "/bot"),
    ("campaigns", "/campaigns"),
    ("runs", "/runs"),
]


def chrome(width: int = 1440, height: int = 1000):  # selenium driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--window-size={width},{height}",
        "--hide-scrollbars",
        "--lang=es",
    ):
        opts.add_argument(arg)
    if Path("/usr/bin/chromium").exists():
        opts.binary_location = "/usr/bin/chromium"
    if Path("/usr/bin/chromedriver").exists():
        return webdriver.Chrome(options=opts, service=Service(executable_path="/usr/bin/chromedriver"))
    return webdriver.Chrome(options=opts)


def sign_in(driver, base: str, username: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(base + "/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-button").click()
    time.sleep(0.5)


def wait_rendered(driver, timeout: float = 20.0) -> None:
    """Until no Dash callback is pending and the KPI/graph placeholders are filled."""
    deadline = time.time() + timeout
    time.sleep(0.8)
    while time.time() < deadline:
        busy = driver.execute_script(
            "return document.querySelectorAll('[data-dash-is-loading=\"true\"]').length "
            "+ (document.body.innerText.includes('Cargando…') ? 1 : 0)"
        )
        if not busy:
            break
        time.sleep(0.3)
    time.sleep(1.2)


def shoot(base: str, username: str, password: str, out: Path, query: str = "") -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    driver = chrome()
    saved = []
    try:
        sign_in(driver, base, username, password)
        for name, path in PAGES:
            driver.get(base + path + query)
            wait_rendered(driver)
            if name == "runs":
                _select_first_run(driver)
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1440, min(max(int(height) + 40, 900), 4000))
            time.sleep(0.8)
            target = out / f"{name}.png"
            driver.save_screenshot(str(target))
            saved.append(target)
            driver.set_window_size(1440, 1000)
            print(f"saved {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    finally:
        driver.quit()
    return saved


def _select_first_run(driver) -> None:
    from selenium.webdriver.common.by import By

    cells = driver.find_elements(By.CSS_SELECTOR, "#runs-grid .ag-row .ag-cell")
    if cells:
        cells[0].click()
        time.sleep(1.5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def synthetic_database():
    """A migrated scratch database with synthetic marts for one tenant (180 days to today) and runs."""
    from dash_app import synthetic
    from lib.config import get_settings, get_tenant
    from lib.db import get_database_url, get_engine
    from lib.db.scratch import scratch_database

    with scratch_database("bi_screens", server_url=get_database_url()) as url:
        tenant = get_tenant(get_settings().tenant_id)
        owner = get_engine("owner", url)
        synthetic.create_tables(owner)
        today = date.today()
        synthetic.seed_tenant(
            owner, tenant.id, today - timedelta(days=179), 180, 1440, timezone=tenant.timezone
        )
        _seed_demo_runs(url, tenant.id)
        yield url


def _seed_demo_runs(url: str, tenant: str) -> None:
    from sqlalchemy import text

    from lib.db import tenant_tx

    steps = [
        "extract_applications",
        "extract_chat",
        "extract_contacts",
        "extract_push",
        "extract_campaigns",
        "transform_messages",
        "transform_chat_conversations",
        "dbt_build",
    ]
    with tenant_tx(tenant, "loader", url) as conn:
        for i, status in enumerate(["success", "failed", "success", "success"]):
            run_id = f"demo-run-{i + 1:02d}"
            conn.execute(
                text(
                    "INSERT INTO ops.pipeline_runs (run_id, tenant_id, mode, status, started_at, finished_at, "
                    "duration_ms, error, created_at) VALUES (:r, :t, :m, :s, now() - make_interval(hours => :h), "
                    "now() - make_interval(hours => :h) + interval '4 minutes', 240000, :e, "
                    "now() - make_interval(hours => :h))"
                ),
                {
                    "r": run_id,
                    "t": tenant,
                    "m": "full" if i % 2 == 0 else "transform-only",
                    "s": status,
                    "h": 6 * (i + 1),
                    "e": "step transform_messages failed" if status == "failed" else None,
                },
            )
            for seq, step in enumerate(steps, start=1):
                failed = status == "failed" and step == "transform_messages"
                skipped = status == "failed" and seq > 6
                conn.execute(
                    text(
                        "INSERT INTO ops.pipeline_steps (run_id, tenant_id, seq, step, kind, status, duration_ms, "
                        "rows_in, rows_out, rejects, error_name, error_message, error_cell) VALUES "
                        "(:r, :t, :q, :st, :k, :s, :d, :ri, :ro, 0, :en, :em, :ec)"
                    ),
                    {
                        "r": run_id,
                        "t": tenant,
                        "q": seq,
                        "st": step,
                        "k": step.split("_")[0],
                        "s": "failed" if failed else ("skipped" if skipped else "success"),
                        "d": 1000 * (seq * 7 % 30 + 2),
                        "ri": 1000 * seq,
                        "ro": 990 * seq,
                        "en": "StepFailed" if failed else None,
                        "em": "12 rows rejected: missing messageId" if failed else None,
                        "ec": 3 if failed else None,
                    },
                )


@contextmanager
def local_server(username: str, password: str):
    from werkzeug.serving import make_server

    from dash_app.app import create_app
    from lib.auth import add_user, remove_user

    add_user(username, password, "admin")
    app = create_app()
    port = _free_port()
    httpd = make_server("127.0.0.1", port, app.server, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        httpd.shutdown()
        remove_user(username)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", choices=["synthetic", "current"], default="synthetic")
    p.add_argument("--url", help="an already running server")
    p.add_argument("--username")
    p.add_argument("--password-env", help="env var holding the password for --url")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    p.add_argument("--query", default="?range=90", help="query string appended to every page")
    args = p.parse_args(argv)
    if args.url:
        password = os.environ.get(args.password_env or "", "")
        if not args.username or not password:
            p.error("--url needs --username and --password-env")
        shoot(args.url.rstrip("/"), args.username, password, args.out, args.query)
        return 0
    user, password = f"screens_{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    if args.source == "synthetic":
        with synthetic_database(), local_server(user, password) as base:
            shoot(base, user, password, args.out, args.query)
    else:
        with local_server(user, password) as base:
            shoot(base, user, password, args.out, args.query)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
