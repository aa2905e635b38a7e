"""The dashboards in a real browser: first load and filter change in headless Chromium.

    python benchmarks/bench_browser.py [--days 90] [--per-day 1440] [--iterations 3] [--json out.json]

A scratch database with synthetic marts (dash_app.synthetic: one tenant, `--days` of data at
`--per-day` messages a day), the app under gunicorn exactly as `bi serve dash` runs it, on a free
port. Per page: the cold first load (a fresh browser profile: empty cache, sign-in included in the
session but not in the time), the warm load (same browser, cached assets) and a filter change (the
channel switch: from the click until every KPI and chart has re-rendered). Also the JavaScript bytes
on the wire against their decoded size. Targets on this machine: first load ≤ 3 s, filter change ≤ 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = {"/": "messages", "/operations": "wait", "/bot": "containment", "/campaigns": "push_ctr"}
PASSWORD = "bench-" + secrets.token_hex(8)
READY_JS = """
const key = arguments[0];
const v = document.querySelector('#kpi-' + key + '-value');
if (!v || !v.innerText || v.innerText === '—') return false;
if (document.querySelector('[data-dash-is-loading="true"]')) return false;
const graphs = Array.from(document.querySelectorAll('.dash-graph'));
if (!graphs.length || graphs.some(g => !g.querySelector('.main-svg'))) return false;
return v.innerText;
"""


def chrome(profile: str):  # selenium WebDriver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", f"--user-data-dir={profile}", "--disable-background-networking",
                "--no-first-run", "--lang=es-CO"):  # fmt: skip
        opts.add_argument(arg)
    if Path("/usr/bin/chromium").exists():
        opts.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def wait_ready(driver, key: str, timeout: float = 60.0, previous: str | None = None) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        value = driver.execute_script(READY_JS, key)
        if value and value != previous:
            return time.perf_counter() - t0
        time.sleep(0.02)
    raise TimeoutError(f"page not ready: {key}")


def sign_in(driver, base: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(base + "/login?next=/healthz")  # no dashboard page yet: the first one is really cold
    driver.find_element(By.ID, "username").send_keys("bench_admin")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-button").click()
    time.sleep(0.3)


def js_bytes(driver) -> tuple[int, int]:
    """(bytes on the wire, decoded bytes) of the JavaScript this page loaded."""
    entries = driver.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.name.includes('.js'))"
        ".map(e => [e.transferSize, e.decodedBodySize])"
    )
    return sum(e[0] for e in entries), sum(e[1] for e in entries)


def measure(base: str, query: str, iterations: int) -> dict:
    from selenium.webdriver.common.by import By

    out: dict = {}
    for path, key in PAGES.items():
        cold, warm, change, wire, decoded = [], [], [], 0, 0
        for _ in range(iterations):
            with tempfile.TemporaryDirectory(prefix="bench-chrome-") as profile:
                driver = chrome(profile)
                try:
                    sign_in(driver, base)
                    driver.execute_script("window.localStorage.clear()")
                    t0 = time.perf_counter()
                    driver.get(base + path + query)
                    wait_ready(driver, key)
                    cold.append(time.perf_counter() - t0)
                    wire, decoded = js_bytes(driver)
                    t0 = time.perf_counter()
                    driver.get(base + path + query + "&_=1")
                    wait_ready(driver, key)
                    warm.append(time.perf_counter() - t0)
                    if path != "/campaigns":  # push has no chat channel
                        before = driver.find_element(By.ID, f"kpi-{key}-value").text
                        label = driver.find_element(
                            By.XPATH, "//*[@id='f-channel']//label[normalize-space()='Webchat']"
                        )
                        t0 = time.perf_counter()
                        label.click()
                        wait_ready(driver, key, previous=before)
                        change.append(time.perf_counter() - t0)
                finally:
                    driver.quit()
        out[path] = {
            "first_load_cold_s": statistics.median(cold), "first_load_warm_s": statistics.median(warm),
            "filter_change_s": statistics.median(change) if change else None,
            "js_wire_mb": wire / 1e6, "js_decoded_mb": decoded / 1e6,
        }  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--per-day", type=int, default=1440)
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--json")
    args = p.parse_args(argv)

    from dash_app import synthetic
    from lib.db import get_engine
    from lib.db.pgcluster import free_port
    from lib.db.scratch import scratch_database
    from lib.serve import build_command, child_env

    tenant = "bench"
    with (
        tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp,
        scratch_database("bi_bench_browser") as url,
    ):
        root = Path(tmp)
        (root / "tenants.yml").write_text(
            f"tenants:\n  - id: {tenant}\n    name: Bench\n    timezone: America/Bogota\n"
        )
        env = {"DATABASE_URL": url, "TENANTS_FILE": str(root / "tenants.yml"), "TENANT_ID": tenant,
               "RUNS_DIR": str(root / "runs"), "DASH_SECRET_KEY": secrets.token_hex(32), "BI_DATA_DIR": str(root)}  # fmt: skip
        os.environ.update(env)
        from lib.config import reload_settings

        reload_settings()
        from lib.analysis.periods import local_today

        end = local_today("America/Bogota") - timedelta(days=1)
        start = end - timedelta(days=args.days - 1)
        owner = get_engine("owner", url)
        synthetic.create_tables(owner)
        synthetic.seed_tenant(owner, tenant, start, args.days, args.per_day)
        from lib.auth import add_user

        add_user("bench_admin", PASSWORD, "admin")
        port = free_port()
        argv_ = build_command("dash", port=port)
        log = open(root / "gunicorn.log", "wb")  # handed to the server
        proc = subprocess.Popen(argv_, env=child_env("dash"), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            import requests

            for _ in range(300):
                try:
                    if requests.get(base + "/healthz", timeout=10).status_code in (200, 503):
                        break
                except requests.RequestException:
                    time.sleep(0.1)
            query = f"?range=custom&from={start.isoformat()}&to={end.isoformat()}&channel=all"
            figures = measure(base, query, args.iterations)
        except Exception:
            print((root / "gunicorn.log").read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
    print(f"bench_browser: {args.days} days × {args.per_day} messages/day, gunicorn, headless Chromium, "
          f"median of {args.iterations}")  # fmt: skip
    print(f"{'page':<12} {'cold load':>10} {'warm load':>10} {'filter':>8} {'JS wire':>9} {'JS decoded':>11}")
    for path, f in figures.items():
        change = "—" if f["filter_change_s"] is None else f"{f['filter_change_s']:.2f} s"
        print(f"{path:<12} {f['first_load_cold_s']:>8.2f} s {f['first_load_warm_s']:>8.2f} s {change:>8} "
              f"{f['js_wire_mb']:>6.2f} MB {f['js_decoded_mb']:>8.2f} MB")  # fmt: skip
    worst_cold = max(f["first_load_cold_s"] for f in figures.values())
    worst_change = max(f["filter_change_s"] or 0 for f in figures.values())
    print(
        f"targets: first load ≤ 3 s (worst {worst_cold:.2f} s), filter change ≤ 1 s (worst {worst_change:.2f} s)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
