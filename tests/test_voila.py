"""The analysis notebooks: committed clean, executed on simulator data, served by Voila (HTTP + Chromium).

One dbt-built session database (fixtures_dbt.dbt_build) and one Voila server for all notebooks.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
import requests

from lib.analysis.display import PLOTLY_MIME
from lib.serve import ANALYSIS_DIR, build_command, child_env

NOTEBOOKS = sorted(p.name for p in ANALYSIS_DIR.glob("*.ipynb"))
PARAMS = {"TENANT": "demo", "DATE_FROM": "2026-03-02", "DATE_TO": "2026-03-15"}
QUERY = "?tenant=demo&date_from=2026-03-02&date_to=2026-03-15"
BAD_QUERY = "?tenant=demo&date_from=2026-03-15&date_to=2026-03-01"
CHROMEDRIVER = "/usr/bin/chromedriver"


def test_five_notebooks_committed_without_outputs() -> None:
    assert len(NOTEBOOKS) >= 5
    for name in NOTEBOOKS:
        nb = nbformat.read(ANALYSIS_DIR / name, as_version=4)
        tags = [c.metadata.get("tags", []) for c in nb.cells]
        assert ["parameters"] in tags, f"{name}: no parameters cell"
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{name} has outputs"
                assert "password" not in cell.source.lower() and "DATABASE_URL" not in cell.source
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "from lib.analysis" in code and "view.render()" in code  # thin: logic lives in lib


# -- notebook execution (papermill) ----------------------------------------------------------------
def _execute(name: str, params: dict, out_dir: Path) -> nbformat.NotebookNode:
    import papermill as pm

    out = out_dir / name
    pm.execute_notebook(
        str(ANALYSIS_DIR / name),
        str(out),
        parameters=params,
        kernel_name="python3",
        cwd=str(ANALYSIS_DIR),
        progress_bar=False,
        log_output=False,
    )
    return nbformat.read(out, as_version=4)


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def _html_of(outputs: list[dict]) -> str:
    return "\n".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes_on_simulator_data(dbt_build, name: str, tmp_path: Path) -> None:
    assert dbt_build.result.ok, dbt_build.result.errors
    outputs = _outputs(_execute(name, PARAMS, tmp_path))
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = _html_of(outputs)
    assert "bi-error" not in html, html[:2000]
    figures = [o for o in outputs if PLOTLY_MIME in o.get("data", {})]
    assert len(figures) >= 2 and any(f["data"][PLOTLY_MIME]["data"] for f in figures)
    assert "bi-kpi" in html and "bi-header" in html
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)  # controls


@pytest.mark.slow
def test_failing_notebook_shows_an_error_box_not_a_traceback(dbt_build, tmp_path: Path) -> None:
    params = dict(PARAMS, DATE_FROM="2026-03-15", DATE_TO="2026-03-01")
    outputs = _outputs(_execute(NOTEBOOKS[0], params, tmp_path))
    assert not [
        o for o in outputs if o.get("output_type") in ("error", "stream") and "Traceback" in json.dumps(o)
    ]
    html = _html_of(outputs)
    assert "No se pudieron cargar los datos: la fecha inicial (2026-03-15) es posterior" in html


# -- Voila behind the dashboards' sign-in ------------------------------------------------------------
USERS = {"admin": ("vo_admin", "admin", None), "demo": ("vo_demo", "viewer", "demo"),
         "acme": ("vo_acme", "viewer", "acme")}  # fmt: skip
PASSWORD = "voila-test-password"


def _free_port() -> int:
    from lib.db.pgcluster import free_port

    return free_port()


def _start(argv: list[str], env: dict[str, str], log: Path, ready: str) -> subprocess.Popen:
    with log.open("w") as fh:
        proc = subprocess.Popen(
            argv,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=ANALYSIS_DIR.parent.parent,
        )
    deadline = time.monotonic() + 120
    while True:
        try:
            if requests.get(ready, timeout=10, allow_redirects=False).status_code < 500:
                return proc
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.terminate()
            raise RuntimeError(f"{argv[2]} did not start: {log.read_text()[-3000:]}")
        time.sleep(0.5)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def web(dbt_build, tmp_path_factory: pytest.TempPathFactory):
    """The dashboards (`bi serve dash`, gunicorn) and Voila (`bi serve voila`) on free ports; Voila
    checks every browser's session with the dashboards (BI_AUTH_URL). Two tenants, three users."""
    import secrets

    from lib.auth import add_user, remove_user

    root = tmp_path_factory.mktemp("voila")
    tenants = root / "tenants.yml"
    tenants.write_text(
        "tenants:\n  - id: demo\n    timezone: America/Bogota\n  - id: acme\n    timezone: America/Mexico_City\n",
        encoding="utf-8",
    )
    for name, role, tenant in USERS.values():
        add_user(name, PASSWORD, role, tenant)
    dash_port, voila_port = _free_port(), _free_port()
    dash, voila = f"http://127.0.0.1:{dash_port}", f"http://127.0.0.1:{voila_port}"
    env = {  # each server gets its kind's allow-list of this (Voila: no signing key)
        **os.environ,
        "TENANTS_FILE": str(tenants),
        "BI_DATA_DIR": str(root / "data"),
        "DASH_SECRET_KEY": secrets.token_hex(32),
        "DASH_WORKERS": "1",
        "DASH_SESSION_CHECK_S": "1",
        "DASH_SIBLING_HOSTS": voila,
        "BI_AUTH_URL": f"{dash}/auth/verify",
        "VOILA_AUTH_CACHE_S": "1",
    }
    procs = []
    try:
        procs.append(
            _start(
                build_command("dash", port=dash_port),
                child_env("dash", env),
                root / "dash.log",
                f"{dash}/healthz",
            )
        )
        procs.append(
            _start(
                build_command("voila", port=voila_port),
                child_env("voila", env),
                root / "voila.log",
                f"{voila}/",
            )
        )
        yield {"dash": dash, "voila": voila, "logs": root}
    finally:
        for proc in procs:
            _stop(proc)
        for name, _, _ in USERS.values():
            remove_user(name)


def signed_in(web: dict, who: str) -> requests.Session:
    """A browser-like session signed in to the dashboards (its cookie also reaches Voila's port)."""
    session = requests.Session()
    page = session.get(f"{web['dash']}/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = session.post(
        f"{web['dash']}/login",
        data={"username": USERS[who][0], "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=60,
    )
    assert r.status_code == 302, r.text[:500]
    return session


@pytest.fixture(scope="module")
def voila_url(web) -> str:
    """Voila's URL (the admin's session is used for the rendering tests)."""
    return web["voila"]


def _get(url: str, session: requests.Session | None = None) -> requests.Response:
    return (session or requests).get(url, timeout=180)


@pytest.mark.slow
def test_voila_serves_every_notebook_with_rendered_outputs(web, voila_url: str) -> None:
    admin = signed_in(web, "admin")
    urls = [f"{voila_url}/voila/render/{name}{QUERY}" for name in NOTEBOOKS]
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        pages = list(pool.map(lambda url: _get(url, admin), urls))
    for name, page in zip(NOTEBOOKS, pages, strict=True):
        assert page.status_code == 200, name
        body = page.text
        assert body.count(PLOTLY_MIME) >= 2, f"{name}: charts missing"
        assert "bi-kpi" in body and ("bi-table" in body or "bi-note" in body), name
        assert "bi-error" not in body and "Traceback" not in body, name
        assert "from lib.analysis" not in body, f"{name}: code is shown"  # sources stripped
        assert "2026-03-02" in body and "2026-03-15" in body  # the header (JSON-escaped in the page)


@pytest.mark.slow
def test_voila_failure_is_a_readable_message(web, voila_url: str) -> None:
    page = _get(f"{voila_url}/voila/render/{NOTEBOOKS[0]}{BAD_QUERY}", signed_in(web, "demo"))
    assert page.status_code == 200
    assert "No se pudieron cargar los datos" in page.text
    assert "Traceback" not in page.text


WINDOW = "date_from=2026-03-09&date_to=2026-03-12"  # both tenants have data in it


def _header(tenant: str) -> str:
    """The start of a page's filter label for WINDOW (JSON-escaped in the page): tenant · 09/03/2026."""
    return f"{tenant} \\u00b7 09/03/2026 \\u2013 12/03/2026"


INTENTS = "02_intents_fallbacks.ipynb"


def _cloudapi_occurrences(page: str) -> int:
    """The WhatsApp row's intent occurrences in the page's "Por canal" table (JSON-escaped HTML, es-CO)."""
    match = re.search(r"\\u003ctd\\u003ecloudapi\\u003c/td\\u003e\\n\s*\\u003ctd\\u003e([0-9.]+)", page)
    assert match, "no channel table in the page"
    return int(match.group(1).replace(".", ""))


def _truth_cloudapi(dbt_build, tenant: str) -> int:
    from sqlalchemy import text

    from lib.db import get_engine

    with get_engine("owner", dbt_build.db_url).connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT sum(occurrences) FROM analytics.mart_intent_performance WHERE tenant_id = :t "
                    "AND channel = 'cloudapi' AND date BETWEEN '2026-03-09' AND '2026-03-12'"
                ),
                {"t": tenant},
            ).scalar()
        )


@pytest.mark.slow
def test_voila_needs_a_dashboards_session(web) -> None:
    from urllib.parse import parse_qs, urlsplit
    from uuid import uuid4

    page = f"{web['voila']}/voila/render/{INTENTS}?tenant=acme&{WINDOW}"
    first = requests.get(page, allow_redirects=False, timeout=30)
    assert first.status_code == 302 and first.headers["Location"].startswith("/login?next=")
    second = requests.get(web["voila"] + first.headers["Location"], allow_redirects=False, timeout=30)
    loc = urlsplit(second.headers["Location"])
    assert second.status_code == 302 and f"{loc.scheme}://{loc.netloc}{loc.path}" == f"{web['dash']}/login"
    assert parse_qs(loc.query)["next"] == [page]
    # signing in there sends the browser back to the Voila page
    session = requests.Session()
    form = session.get(second.headers["Location"], timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    back = session.post(
        f"{web['dash']}/login",
        data={"username": "vo_demo", "password": PASSWORD, "csrf_token": token, "next": page},
        allow_redirects=False,
        timeout=60,
    )
    assert back.status_code == 302 and back.headers["Location"] == page
    # no session, a forged cookie, the API: nothing is served
    assert requests.get(f"{web['voila']}/", allow_redirects=False, timeout=30).status_code == 302
    forged = requests.get(page, cookies={"bi_session": "eyJ1c2VyIjp7fX0.forged.sig"}, allow_redirects=False,
                          timeout=30)  # fmt: skip
    assert forged.status_code == 302
    assert requests.get(f"{web['voila']}/api/kernels/{uuid4()}", timeout=30).status_code == 403


@pytest.mark.slow
def test_a_viewer_gets_its_own_tenant_whatever_the_url_asks(web, dbt_build) -> None:
    truth = {t: _truth_cloudapi(dbt_build, t) for t in ("demo", "acme")}
    assert truth["demo"] != truth["acme"]
    for who, other in (("demo", "acme"), ("acme", "demo")):
        page = _get(
            f"{web['voila']}/voila/render/{INTENTS}?tenant={other}&{WINDOW}", signed_in(web, who)
        ).text
        assert _header(who) in page and other not in page, who  # not even its name
        assert f"options=(\\u0027{who}\\u0027,)" in page  # the dropdown lists only its own tenant
        assert _cloudapi_occurrences(page) == truth[who] != truth[other]
    admin = _get(f"{web['voila']}/voila/render/{INTENTS}?tenant=acme&{WINDOW}", signed_in(web, "admin")).text
    assert _header("acme") in admin and _cloudapi_occurrences(admin) == truth["acme"]
    assert "options=(\\u0027demo\\u0027, \\u0027acme\\u0027)" in admin


@pytest.mark.slow
def test_a_cookie_from_before_removal_or_demotion_opens_nothing(web) -> None:
    from lib.auth import add_user, remove_user

    page = f"{web['voila']}/voila/render/{INTENTS}?tenant=demo&{WINDOW}"
    add_user("vo_temp", PASSWORD, "admin")
    try:
        USERS["temp"] = ("vo_temp", "admin", None)
        admin = signed_in(web, "temp")
        assert _header("demo") in _get(page, admin).text
        add_user("vo_temp", PASSWORD, "viewer", "acme")  # demoted to a viewer of acme
        time.sleep(2.5)  # both caches (dashboards 1 s, Voila 1 s) have expired
        assert requests.get(page, cookies=admin.cookies, allow_redirects=False, timeout=60).status_code == 302
        viewer = signed_in(web, "temp")
        assert _header("acme") in _get(page, viewer).text
        remove_user("vo_temp")
        time.sleep(2.5)
        assert (
            requests.get(page, cookies=viewer.cookies, allow_redirects=False, timeout=60).status_code == 302
        )
    finally:
        USERS.pop("temp", None)
        remove_user("vo_temp")


def _kernel_message(msg_type: str, content: dict) -> str:
    """A Jupyter message as the page's JavaScript sends it over the kernel websocket (JSON form)."""
    from uuid import uuid4

    header = {
        "msg_id": uuid4().hex,
        "username": "page",
        "session": "s1",
        "msg_type": msg_type,
        "version": "5.3",
    }
    return json.dumps({"header": {**header, "date": ""}, "parent_header": {}, "metadata": {},
                       "content": content, "channel": "shell", "buffers": []})  # fmt: skip


@pytest.mark.slow
def test_the_page_cannot_run_code_in_its_kernel(web, tmp_path: Path) -> None:
    """The kernel's identity cannot be changed from the page: over its kernel websocket a signed-in
    viewer gets widget and kernel-info answers, but an execute request is dropped (nothing runs)."""
    import asyncio

    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.websocket import websocket_connect

    session = signed_in(web, "demo")
    page = _get(f"{web['voila']}/voila/render/{INTENTS}?{WINDOW}", session).text
    kernel = re.search(r'"kernelId": "([0-9a-f-]+)"', page).group(1)
    url = web["voila"].replace("http://", "ws://") + f"/api/kernels/{kernel}/channels?session_id=s1"
    marker = tmp_path / "ran"
    code = (f"open({str(marker)!r}, 'w').write('x'); import lib.analysis.params as p; "
            "p._identity = None; p.set_identity('x', 'admin', None)")  # fmt: skip

    async def talk(cookie: str | None) -> list[str]:
        ws = await websocket_connect(HTTPRequest(url, headers={"Cookie": cookie} if cookie else {}))
        try:
            await ws.write_message(_kernel_message("execute_request", {"code": code, "silent": False}))
            await ws.write_message(_kernel_message("comm_info_request", {}))
            await ws.write_message(_kernel_message("kernel_info_request", {}))
            seen: list[str] = []
            while "kernel_info_reply" not in seen:  # the shell answers in order: the execute came first
                msg = await asyncio.wait_for(ws.read_message(), 30)
                assert msg is not None, f"websocket closed after {seen}"
                seen.append(json.loads(msg)["header"]["msg_type"])
            return seen
        finally:
            ws.close()

    with pytest.raises(HTTPClientError) as refused:  # no session: no websocket at all
        asyncio.run(talk(None))
    assert refused.value.code == 403
    seen = asyncio.run(talk("; ".join(f"{k}={v}" for k, v in session.cookies.items())))
    assert "comm_info_reply" in seen
    assert not {"execute_input", "execute_reply", "execute_result", "error"} & set(seen), seen
    time.sleep(1)
    assert not marker.exists()


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMEDRIVER).exists(), reason="chromedriver not installed")
def test_voila_screenshots(web, voila_url: str, tmp_path: Path) -> None:
    """In Chromium: Voila sends the browser to the dashboards' sign-in, which sends it back; then
    every notebook renders its charts (as a viewer of demo, the dropdown holding only demo)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    opts = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,2400",
        "--disable-gpu",
    ):
        opts.add_argument(arg)
    if os.path.exists("/usr/bin/chromium"):
        opts.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        driver.get(f"{voila_url}/voila/render/{NOTEBOOKS[0]}{QUERY}")
        WebDriverWait(driver, 30).until(ec.presence_of_element_located((By.ID, "login-form")))
        assert driver.current_url.startswith(web["dash"] + "/login?next=")
        driver.find_element(By.ID, "username").send_keys(USERS["demo"][0])
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.ID, "login-button").click()
        WebDriverWait(driver, 30).until(lambda d: d.current_url.startswith(voila_url + "/voila/render/"))
        for name in NOTEBOOKS:
            driver.get(f"{voila_url}/voila/render/{name}{QUERY}")
            WebDriverWait(driver, 150).until(
                ec.presence_of_element_located((By.CSS_SELECTOR, ".js-plotly-plot .main-svg"))
            )
            WebDriverWait(driver, 30).until(
                lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")) >= 2
            )
            time.sleep(1.0)  # let the last charts lay out
            assert not driver.find_elements(By.CSS_SELECTOR, ".bi-error")
            shot = tmp_path / f"{Path(name).stem}.png"
            assert driver.save_screenshot(str(shot))
            data = shot.read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 30_000, (name, len(data))
    finally:
        driver.quit()


# -- serve command lines ---------------------------------------------------------------------------------
def test_serve_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    voila = build_command("voila")
    assert str(ANALYSIS_DIR) in voila and "--no-browser" in voila and "--port=8866" in voila
    assert "--strip_sources=True" in voila and "--show_tracebacks=False" in voila
    lab = build_command("lab", host="0.0.0.0")
    assert "jupyterlab" in lab and "--port=8888" in lab and "--no-browser" in lab
    assert any(a.startswith("--ServerApp.root_dir=") for a in lab)
    monkeypatch.setenv("DASH_WORKERS", "5")
    dash = build_command("dash", port=9000)
    assert "dash_app.app:server" in dash and dash[dash.index("--workers") + 1] == "5"
    assert dash[dash.index("--bind") + 1] == "127.0.0.1:9000"
    monkeypatch.delenv("DASH_WORKERS")
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    assert build_command("dash")[build_command("dash").index("--workers") + 1] == "2"
    with pytest.raises(ValueError):
        build_command("nope")
    env = child_env("voila", {"PATH": "/bin"})
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(ANALYSIS_DIR.parent.parent)


def test_jupyterlab_first_start_needs_no_build() -> None:
    """No old-style extension left in the app dir: JupyterLab does not offer "Build Recommended"."""
    from jupyterlab.commands import build_check

    assert build_check() == []
