"""The analysis notebooks: committed clean, executed on simulator data, served by Voila (HTTP + Chromium).

One dbt-built session database (test_dbt_fixtures.dbt_build) and one Voila server for all notebooks.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
import requests
from test_dbt_fixtures import dbt_build  # noqa: F401 - session fixture: simulator data + dbt build

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
def test_notebook_executes_on_simulator_data(dbt_build, name: str, tmp_path: Path) -> None:  # noqa: F811
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
def test_failing_notebook_shows_an_error_box_not_a_traceback(dbt_build, tmp_path: Path) -> None:  # noqa: F811
    params = dict(PARAMS, DATE_FROM="2026-03-15", DATE_TO="2026-03-01")
    outputs = _outputs(_execute(NOTEBOOKS[0], params, tmp_path))
    assert not [
        o for o in outputs if o.get("output_type") in ("error", "stream") and "Traceback" in json.dumps(o)
    ]
    html = _html_of(outputs)
    assert "No se pudieron cargar los datos: la fecha inicial (2026-03-15) es posterior" in html


# -- Voila -------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def voila_url(dbt_build, tmp_path_factory: pytest.TempPathFactory):  # noqa: F811
    """One Voila server (the `bi serve voila` command line) for every notebook."""
    port = _free_port()
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    argv = build_command("voila", host="127.0.0.1", port=port)
    with log.open("w") as fh:
        proc = subprocess.Popen(
            argv,
            env=child_env("voila"),
            stdout=fh,
            stderr=subprocess.STDOUT,  # noqa: S603
            cwd=ANALYSIS_DIR.parent.parent,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(url + "/", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"voila did not start: {log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _get(url: str) -> requests.Response:
    return requests.get(url, timeout=180)


@pytest.mark.slow
def test_voila_serves_every_notebook_with_rendered_outputs(voila_url: str) -> None:
    urls = [f"{voila_url}/voila/render/{name}{QUERY}" for name in NOTEBOOKS]
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        pages = list(pool.map(_get, urls))
    for name, page in zip(NOTEBOOKS, pages, strict=True):
        assert page.status_code == 200, name
        body = page.text
        assert body.count(PLOTLY_MIME) >= 2, f"{name}: charts missing"
        assert "bi-kpi" in body and ("bi-table" in body or "bi-note" in body), name
        assert "bi-error" not in body and "Traceback" not in body, name
        assert "from lib.analysis" not in body, f"{name}: code is shown"  # sources stripped
        assert "2026-03-02" in body and "2026-03-15" in body  # the header (JSON-escaped in the page)


@pytest.mark.slow
def test_voila_failure_is_a_readable_message(voila_url: str) -> None:
    page = _get(f"{voila_url}/voila/render/{NOTEBOOKS[0]}{BAD_QUERY}")
    assert page.status_code == 200
    assert "No se pudieron cargar los datos" in page.text
    assert "Traceback" not in page.text


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMEDRIVER).exists(), reason="chromedriver not installed")
def test_voila_screenshots(voila_url: str, tmp_path: Path) -> None:
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
