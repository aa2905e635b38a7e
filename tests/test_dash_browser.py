"""Browser tests (headless Chromium via dash.testing): sign-in, every page renders with data, filters
change numbers and live in the URL, heatmap drill-down, CSV export, a viewer stays in their tenant."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fixtures_dash import END, PASSWORD, START, TENANT_A, TENANT_B

pytestmark = pytest.mark.browser
CHROME_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)
WINDOW = f"range=custom&from={START.isoformat()}&to={END.isoformat()}"

if not Path("/usr/bin/chromium").exists() and not Path("/usr/bin/chromedriver").exists():
    pytest.skip("headless Chromium/chromedriver not installed", allow_module_level=True)


@pytest.fixture
def dash_duo(request, dash_thread_server, tmp_path, dash_app_obj):
    """dash.testing's composite, always headless with sandbox-free Chromium flags (runs as root)."""
    from dash.testing.composite import DashComposite
    from selenium import webdriver

    opts = webdriver.ChromeOptions()
    for arg in CHROME_ARGS:
        opts.add_argument(arg)
    if Path("/usr/bin/chromium").exists():
        opts.binary_location = "/usr/bin/chromium"
    download = tmp_path / "download"
    download.mkdir()
    with DashComposite(
        server=dash_thread_server,
        browser="chrome",
        headless=True,
        options=[opts],
        download_path=str(download),
    ) as dc:
        from lib.db.pgcluster import free_port

        dc.start_server(dash_app_obj, navigate=False, port=free_port())  # other runs may hold 8050
        yield dc


def base(dash_duo) -> str:
    return dash_duo.server.url.rstrip("/")


def sign_in(dash_duo, username: str, path: str = "/", password: str = PASSWORD) -> None:
    from selenium.webdriver.common.by import By

    dash_duo.driver.get(base(dash_duo) + path)
    dash_duo.wait_for_element("#login-form", timeout=10)
    dash_duo.driver.find_element(By.ID, "username").send_keys(username)
    dash_duo.driver.find_element(By.ID, "password").send_keys(password)
    dash_duo.driver.find_element(By.ID, "login-button").click()


def kpi(dash_duo, key: str, timeout: float = 15) -> str:
    el = dash_duo.wait_for_element(f"#kpi-{key}-value", timeout=timeout)
    return el.text


def wait_for(cond, timeout: float = 15, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            value = cond()
        except Exception:  # stale elements while Dash re-renders
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def count(dash_db: str, tenant: str, channel: str | None = None) -> str:
    from sqlalchemy import text

    from lib.db import get_engine

    sql = "SELECT count(*) FROM analytics.fct_messages WHERE tenant_id = :t AND date BETWEEN :s AND :e"
    if channel:
        sql += " AND channel = :c"
    with get_engine("owner", dash_db).connect() as conn:
        n = conn.execute(text(sql), {"t": tenant, "s": START, "e": END, "c": channel}).scalar()
    return f"{n:,}".replace(",", ".")


def test_sign_in_is_required_then_pages_render(dash_duo, dash_users):
    dash_duo.driver.get(base(dash_duo) + "/operations")
    assert "/login" in dash_duo.driver.current_url
    sign_in(dash_duo, "ana_admin", "/", password="wrong-password-1")
    assert dash_duo.wait_for_element("#login-error").text
    assert dash_duo.find_element("#username").get_attribute("value") == "ana_admin"  # kept after an error
    dash_duo.find_element("#username").clear()
    sign_in(dash_duo, "ana_admin", f"/operations?{WINDOW}")
    wait_for(lambda: "/operations" in dash_duo.driver.current_url, what="redirect back to the page")
    pages = {"/": "messages", "/operations": "wait", "/bot": "containment", "/campaigns": "push_ctr"}
    for path, key in pages.items():
        dash_duo.driver.get(f"{base(dash_duo)}{path}?{WINDOW}")
        value = wait_for(
            lambda key=key: kpi(dash_duo, key) not in ("", "—") and kpi(dash_duo, key), what=f"{path} KPI"
        )
        assert value
        charts = " ".join(e.text for e in dash_duo.driver.find_elements("css selector", ".js-plotly-plot"))
        assert "Sin datos para este periodo" not in charts
    dash_duo.driver.get(f"{base(dash_duo)}/runs?range=custom&from=2026-01-01&to=2026-01-31")
    wait_for(lambda: "acme01" in dash_duo.find_element("#runs-grid").text, what="runs grid")


def test_filter_change_updates_numbers_and_url(dash_duo, dash_users, dash_db):
    sign_in(dash_duo, "ana_admin", f"/?{WINDOW}")
    wait_for(lambda: kpi(dash_duo, "messages") == count(dash_db, TENANT_A), what="all-channel count")
    dash_duo.find_element("#f-channel").find_element("xpath", ".//label[normalize-space()='Webchat']").click()
    wait_for(lambda: "channel=webchat" in dash_duo.driver.current_url, what="URL updated")
    wait_for(lambda: kpi(dash_duo, "messages") == count(dash_db, TENANT_A, "webchat"), what="webchat count")
    assert "from=" + START.isoformat() in dash_duo.driver.current_url
    dash_duo.find_element("#f-range").find_element("xpath", ".//label[normalize-space()='7 días']").click()
    wait_for(lambda: "range=7" in dash_duo.driver.current_url, what="preset in URL")


def test_expired_session_sends_the_reader_to_sign_in_and_back(dash_duo, dash_users, dash_db):
    """Callbacks answer 401 once the session is gone: the page goes to /login, then back to itself."""
    sign_in(dash_duo, "ana_admin", f"/operations?{WINDOW}")
    wait_for(lambda: kpi(dash_duo, "wait") not in ("", "—"), what="operations KPI")
    dash_duo.driver.delete_all_cookies()  # the session ends (expiry, sign-out elsewhere)
    dash_duo.find_element("#f-channel").find_element("xpath", ".//label[normalize-space()='Webchat']").click()
    wait_for(lambda: "/login" in dash_duo.driver.current_url, what="redirect to sign-in")
    assert "next=%2Foperations" in dash_duo.driver.current_url
    from selenium.webdriver.common.by import By

    dash_duo.wait_for_element("#login-form", timeout=10)
    dash_duo.driver.find_element(By.ID, "username").send_keys("ana_admin")
    dash_duo.driver.find_element(By.ID, "password").send_keys(PASSWORD)
    dash_duo.driver.find_element(By.ID, "login-button").click()
    wait_for(lambda: "/operations" in dash_duo.driver.current_url and "/login" not in dash_duo.driver.current_url,
             what="back on the page")  # fmt: skip
    wait_for(lambda: kpi(dash_duo, "wait") not in ("", "—"), what="KPI after signing in again")


def test_url_with_filters_restores_controls(dash_duo, dash_users, dash_db):
    sign_in(dash_duo, "ana_admin", f"/bot?tenant={TENANT_B}&{WINDOW}&channel=cloudapi")
    wait_for(lambda: "/bot" in dash_duo.driver.current_url, what="bot page")
    wait_for(lambda: kpi(dash_duo, "bot_messages") not in ("", "—"), what="bot KPI")
    checked = dash_duo.driver.execute_script(
        "return [document.querySelector('#f-range input:checked').value,"
        " document.querySelector('#f-channel input:checked').value]"
    )
    assert checked == ["custom", "cloudapi"]
    assert TENANT_B in dash_duo.find_element("#f-tenant").text
    start = dash_duo.find_element("#f-dates").get_attribute("value")
    end = dash_duo.find_element("#f-dates-end-date").get_attribute("value")
    assert (start, end) == (START.strftime("%d/%m/%Y"), END.strftime("%d/%m/%Y"))


def test_heatmap_cell_drills_down_to_its_messages(dash_duo, dash_users, dash_db):
    from selenium.webdriver.common.action_chains import ActionChains
    from sqlalchemy import text

    from lib.db import get_engine

    sign_in(dash_duo, "ana_admin", f"/operations?{WINDOW}")
    dash_duo.wait_for_element("#ops-heatmap .nsewdrag", timeout=20)
    wait_for(lambda: "Hora pico" in dash_duo.find_element("#ops-heatmap").text, what="heatmap drawn")
    weekday, hour = 1, 9  # Monday 09:00
    drag = dash_duo.find_element("#ops-heatmap .nsewdrag")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", drag)
    time.sleep(0.3)
    rect = dash_duo.driver.execute_script("return arguments[0].getBoundingClientRect().toJSON()", drag)
    dx = rect["width"] * (hour + 0.5) / 24 - rect["width"] / 2
    dy = rect["height"] * (weekday - 0.5) / 7 - rect["height"] / 2
    ActionChains(dash_duo.driver).move_to_element(drag).move_by_offset(int(dx), int(dy)).click().perform()
    title = wait_for(
        lambda: "Lunes 09:00" in (t := dash_duo.find_element("#ops-drill-title").text) and t,
        what="drill-down title",
    )
    with get_engine("owner", dash_db).connect() as conn:
        n = conn.execute(
            text(
                "SELECT count(*) FROM analytics.fct_messages WHERE tenant_id='acme' AND "
                "direction='Inbound' AND weekday_num=1 AND hour=9 AND date BETWEEN :s AND :e"
            ),
            {"s": START, "e": END},
        ).scalar()
    assert f"{n} mensajes" in title.replace(".", "")
    wait_for(lambda: dash_duo.driver.find_elements("css selector", "#ops-drill-grid .ag-row"), what="rows")


def test_agent_table_csv_export(dash_duo, dash_users):
    sign_in(dash_duo, "ana_admin", f"/operations?{WINDOW}")
    wait_for(lambda: dash_duo.driver.find_elements("css selector", "#ops-agents-grid .ag-row"), what="agents")
    button = dash_duo.find_element("#ops-agents-export")
    dash_duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()", button
    )
    folder = Path(dash_duo.download_path)
    found = wait_for(lambda: [p for p in folder.glob("agentes_acme_*.csv") if p.stat().st_size > 0],
                     what="agentes CSV downloaded")  # fmt: skip
    raw = found[0].read_bytes()
    assert raw.startswith("\ufeff".encode())  # UTF-8 BOM: Excel reads the accents
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].split(";")[:3] == ["Agente", "ID agente", "Mensajes"] and "Espera mediana (s)" in lines[0]
    assert "@demo.co" in lines[1] and " s;" not in lines[1] and "min" not in lines[1]  # raw values, no units


def test_viewer_cannot_reach_another_tenant(dash_duo, dash_users, dash_db):
    sign_in(dash_duo, "victor_acme", f"/?tenant={TENANT_B}&{WINDOW}")
    wait_for(lambda: kpi(dash_duo, "messages") == count(dash_db, TENANT_A), what="own tenant's count")
    assert count(dash_db, TENANT_A) != count(dash_db, TENANT_B)
    assert not dash_duo.find_element("#f-tenant").is_displayed()
    assert TENANT_A in dash_duo.find_element("#user-badge").text


def test_network_page_row_click_opens_that_tenants_dashboards(dash_duo, dash_users, dash_db):
    """`/red` in the browser: both cooperatives' rows with their SQL counts; a click on the second
    tenant's row opens its executive dashboard with the same window (the URL and the KPI say so)."""
    sign_in(dash_duo, "ana_admin", f"/red?{WINDOW}")
    grid = "#red-grid"
    wait_for(lambda: TENANT_B in dash_duo.find_element(grid).text, what="the network grid's rows")
    row = dash_duo.find_element(f"{grid} .ag-center-cols-container [row-id='{TENANT_B}']")
    assert count(dash_db, TENANT_B) in row.text.split("\n"), row.text
    row.find_element("css selector", "[col-id='messages']").click()
    wait_for(lambda: f"tenant={TENANT_B}" in dash_duo.driver.current_url, what="the tenant's dashboards")
    url = dash_duo.driver.current_url
    assert f"from={START.isoformat()}" in url and f"to={END.isoformat()}" in url and "range=custom" in url
    wait_for(lambda: kpi(dash_duo, "messages") == count(dash_db, TENANT_B), what="the tenant's own count")


def test_a_viewer_gets_no_network_page(dash_duo, dash_users, dash_db):
    sign_in(dash_duo, "victor_acme", f"/?{WINDOW}")
    wait_for(lambda: kpi(dash_duo, "messages") == count(dash_db, TENANT_A), what="own tenant's count")
    assert not dash_duo.driver.find_elements("css selector", "a[href^='/red']")
    dash_duo.driver.get(f"{base(dash_duo)}/red?{WINDOW}")
    body = wait_for(lambda: dash_duo.driver.find_element("tag name", "body").text, what="the 404 page")
    assert TENANT_B not in body and not dash_duo.driver.find_elements("css selector", "#red-grid")


def test_phone_width_menu_spanish_and_no_cloud_share(dash_duo, dash_users):
    """390 px: no sideways scroll, "Salir" on screen, the menu opens; Spanish modebar and calendar;
    no button that sends a chart to Plotly's cloud."""
    dash_duo.driver.set_window_size(390, 844)
    try:
        sign_in(dash_duo, "ana_admin", f"/?{WINDOW}")
        wait_for(lambda: kpi(dash_duo, "messages") not in ("", "—"), what="executive KPI")
        wait_for(lambda: dash_duo.driver.find_elements("css selector", "#exec-daily .main-svg"), what="chart")
        time.sleep(0.5)
        width = dash_duo.driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert width[0] <= width[1], width
        salir = dash_duo.find_element("#logout-link")
        rect = dash_duo.driver.execute_script("return arguments[0].getBoundingClientRect().toJSON()", salir)
        assert salir.is_displayed() and 0 <= rect["left"] and rect["right"] <= width[1]
        assert not dash_duo.find_element("#nav-operations").is_displayed()
        dash_duo.find_element("#nav-toggle").click()
        wait_for(lambda: dash_duo.find_element("#nav-operations").is_displayed(), what="menu opened")
        titles = dash_duo.driver.execute_script(
            "return Array.from(document.querySelectorAll('.modebar-btn')).map(b => b.getAttribute('data-title'))"
        )
        assert titles and not [
            t for t in titles if "Chart Studio" in t or "cloud" in t.lower() or "Share" in t
        ]
        assert any("Descargar" in t for t in titles), titles  # the Spanish plotly locale is active
        dash_duo.driver.set_window_size(1400, 1000)
        dash_duo.find_element("#f-dates").click()
        month = wait_for(lambda: dash_duo.driver.execute_script(
            "var c = document.querySelector('.dash-datepicker-calendar-container, [class*=calendar]');"
            "return c && c.innerText"), what="calendar open")  # fmt: skip
        assert any(m in month.lower() for m in ("enero", "febrero", "marzo", "abril")), month[:200]
        assert "January" not in month and "February" not in month
    finally:
        dash_duo.driver.set_window_size(1400, 1000)


def test_page_prints_to_a_clean_pdf(dash_duo, dash_users):
    import base64
    import io

    from pypdf import PdfReader

    sign_in(dash_duo, "ana_admin", f"/operations?{WINDOW}")
    value = wait_for(lambda: kpi(dash_duo, "wait") not in ("", "—") and kpi(dash_duo, "wait"), what="KPI")
    wait_for(lambda: dash_duo.driver.find_elements("css selector", "#ops-heatmap .main-svg"), what="charts")
    time.sleep(0.5)
    pdf = base64.b64decode(dash_duo.driver.print_page())
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert pdf[:4] == b"%PDF" and "Operaciones" in text and value in text
    assert "Datos al" in text  # the window and the freshness stay on paper
    for control in ("Salir", "Incluir hoy", "Exportar", "Imprimir", "Generar"):
        assert control not in text, control  # navigation, filters and buttons are not printed


def test_back_after_sign_out_shows_no_numbers(dash_duo, dash_users, dash_db):
    """Pages are `no-store` and sign-out ends the session: Back re-asks the server, which sends the
    browser to the sign-in page; no figure of the previous page is shown."""
    sign_in(dash_duo, "victor_acme", f"/?{WINDOW}")
    expected = count(dash_db, TENANT_A)
    wait_for(lambda: kpi(dash_duo, "messages") == expected, what="the page's numbers")
    dash_duo.find_element("#logout-link").click()
    wait_for(lambda: "/login" in dash_duo.driver.current_url, what="the sign-in page")
    dash_duo.driver.back()
    time.sleep(1.5)  # let a cached page (if any) show itself
    wait_for(lambda: "/login" in dash_duo.driver.current_url, what="Back lands on the sign-in page")
    body = dash_duo.driver.find_element("css selector", "body").text
    assert expected not in body and not dash_duo.driver.find_elements("css selector", "#kpi-messages-value")
