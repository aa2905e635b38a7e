"""The dashboards over HTTP (Flask test client): sign-in before any data, callbacks refused without a
session, the tenant decided server-side, archived notebooks served only inside RUNS_DIR and tenant."""

from __future__ import annotations

import json
import re

import pytest
from fixtures_dash import (  # fixtures; first: puts dash_app on sys.path
    END,
    PASSWORD,
    RUN_A_FAIL,
    RUN_A_OK,
    RUN_B_OK,
    START,
    TENANT_A,
    TENANT_B,
    live_server,
    store,
)

EXEC_OUTPUT = "..exec-kpis.children...exec-daily.figure...exec-donut.figure...exec-kpis-2.children...exec-league.rowData.."


def login(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/operations?range=7"},
    )


def exec_payload(tenant: str) -> dict:
    outputs = [
        {"id": i, "property": p}
        for i, p in (
            ("exec-kpis", "children"),
            ("exec-daily", "figure"),
            ("exec-donut", "figure"),
            ("exec-kpis-2", "children"),
            ("exec-league", "rowData"),
        )
    ]
    return {
        "output": EXEC_OUTPUT,
        "outputs": outputs,
        "inputs": [{"id": "filters", "property": "data", "value": store(tenant=tenant)}],
        "changedPropIds": ["filters.data"],
        "state": [],
    }


@pytest.fixture
def client(dash_app_obj):
    return dash_app_obj.server.test_client()


def test_pages_redirect_to_login_and_callbacks_get_401(client):
    for path in ("/", "/operations?range=7", "/runs", "/_dash-layout", "/assets/10_style.css"):
        r = client.get(path)
        assert r.status_code in (302, 401), path
        if r.status_code == 302:
            assert r.headers["Location"].startswith("/login")
    r = client.post("/_dash-update-component", json=exec_payload(TENANT_A))
    assert r.status_code == 401
    assert client.get(f"/notebooks/{RUN_A_OK}/extract_chat").status_code in (302, 401)


def test_login_page_and_wrong_password(client, dash_users):
    assert client.get("/login").status_code == 200
    r = login(client, "victor_acme", "wrong-password-x")
    assert r.status_code == 401 and "incorrectos" in r.get_data(as_text=True)
    r = client.post("/login", data={"username": "victor_acme", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 400
    assert client.get("/").status_code == 302


def test_login_then_pages_and_logout(client, dash_users):
    r = login(client, "victor_acme")
    assert r.status_code == 302 and r.headers["Location"] == "/operations?range=7"
    assert client.get("/operations?range=7").status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    client.get("/logout")
    assert client.get("/").status_code == 302


def test_open_redirect_is_refused(client, dash_users):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    r = client.post(
        "/login",
        data={
            "username": "victor_acme",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
    )
    assert r.headers["Location"] == "/"


def _messages_card(resp) -> str:  # a Flask test response or an httpx one
    body = json.loads(resp.get_data(as_text=True) if hasattr(resp, "get_data") else resp.text)
    blob = json.dumps(body["response"]["exec-kpis"]["children"])
    return re.search(r'"children": "([0-9.]+)", "id": "kpi-messages-value"', blob).group(1)


def test_viewer_forging_another_tenant_in_a_callback_post_gets_own_data(client, dash_users, dash_db):
    from sqlalchemy import text

    from lib.db import get_engine

    with get_engine("owner", dash_db).connect() as conn:
        counts = dict(
            conn.execute(
                text(
                    "SELECT tenant_id, count(*) FROM analytics.fct_messages WHERE date BETWEEN :s AND :e GROUP BY 1"
                ),
                {"s": START, "e": END},
            ).all()
        )
    fmt = {t: f"{n:,}".replace(",", ".") for t, n in counts.items()}
    login(client, "victor_acme")
    client.get("/")
    r = client.post("/_dash-update-component", json=exec_payload(TENANT_B))
    assert r.status_code == 200
    assert _messages_card(r) == fmt[TENANT_A] != fmt[TENANT_B]
    client.get("/logout")
    login(client, "ana_admin")
    r = client.post("/_dash-update-component", json=exec_payload(TENANT_B))
    assert _messages_card(r) == fmt[TENANT_B]


def test_notebook_route_serves_only_tenant_files_inside_runs_dir(client, dash_users):
    login(client, "victor_acme")
    ok = client.get(f"/notebooks/{RUN_A_OK}/extract_chat")
    assert ok.status_code == 200 and b"extract chat notebook" in ok.data
    assert "sandbox" in ok.headers["Content-Security-Policy"]
    # a path outside RUNS_DIR in the ledger (absolute or ../) is never served
    assert client.get(f"/notebooks/{RUN_A_OK}/transform_messages").status_code == 404
    assert client.get(f"/notebooks/{RUN_A_FAIL}/transform_messages").status_code == 404
    # another tenant's run: the viewer's tenant is enforced, asking for globex does not help
    assert client.get(f"/notebooks/{RUN_B_OK}/extract_chat").status_code == 404
    assert client.get(f"/notebooks/{RUN_B_OK}/extract_chat?tenant={TENANT_B}").status_code == 404
    traversal = client.get("/notebooks/..%2F..%2Fetc/passwd")  # not our route: Dash's index at most
    assert b"root:" not in traversal.data
    client.get("/logout")
    login(client, "ana_admin")
    r = client.get(f"/notebooks/{RUN_B_OK}/extract_chat?tenant={TENANT_B}")
    assert r.status_code == 200 and b"globex secret notebook" in r.data


def test_safe_notebook_path(tmp_path):
    from dash_app.notebooks import safe_notebook_path

    root = tmp_path / "runs"
    (root / "d").mkdir(parents=True)
    good = root / "d" / "a.html"
    good.write_text("x")
    (root / "d" / "a.ipynb").write_text("{}")
    (tmp_path / "secret.html").write_text("x")
    (root / "d" / "link.html").symlink_to(tmp_path / "secret.html")
    assert safe_notebook_path(str(good), root) == good.resolve()
    assert safe_notebook_path("d/a.html", root) == good.resolve()
    # a notebook is a valid source: the route renders it to HTML (never sends the file itself)
    assert safe_notebook_path("d/a.ipynb", root) == (root / "d" / "a.ipynb").resolve()
    (root / "d" / "a.txt").write_text("x")
    for bad in (
        str(tmp_path / "secret.html"),
        "../secret.html",
        "d/a.txt",
        "d/link.html",
        "",
        None,
        "/etc/passwd",
    ):
        assert safe_notebook_path(bad, root) is None, bad


def _archive_run(url: str, run_id: str, steps: list[tuple[str, str | None]], state: str = "local") -> None:
    from sqlalchemy import text

    from lib.db import tenant_tx

    with tenant_tx(TENANT_A, "loader", url) as conn:
        conn.execute(
            text(
                "INSERT INTO ops.pipeline_runs (run_id, tenant_id, mode, status, archive_state, created_at) "
                "VALUES (:r, :t, 'full', 'success', :a, now())"
            ),
            {"r": run_id, "t": TENANT_A, "a": state},
        )
        for seq, (step, path) in enumerate(steps, start=1):
            conn.execute(
                text(
                    "INSERT INTO ops.pipeline_steps (run_id, tenant_id, seq, step, kind, status, notebook_path) "
                    "VALUES (:r, :t, :q, :s, 'extract', 'success', :p)"
                ),
                {"r": run_id, "t": TENANT_A, "q": seq, "s": step, "p": path},
            )


def _notebook_gz(marker: str) -> bytes:
    import gzip

    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("run_step('x')", outputs=[nbformat.v4.new_output("stream", text=marker)])
    ]
    return gzip.compress(nbformat.writes(nb).encode())


def test_notebook_route_renders_archived_notebooks_on_demand(client, dash_users, dash_db, monkeypatch):
    """New runs keep only `.ipynb.gz`: the route renders it; moved archives open from RUNS_ARCHIVE_URL;
    pruned ones answer 410 with the reason; a rendered page holding a secret is never served."""
    import fsspec

    from lib.config import get_settings

    folder = get_settings().runs_path / "2026-02-01" / "20260201T000000Z-gz0001"
    folder.mkdir(parents=True)
    (folder / "01_extract_chat.ipynb.gz").write_bytes(_notebook_gz("rendered from the gz notebook"))
    (folder / "02_extract_push.ipynb.gz").write_bytes(_notebook_gz("leaks server-key-of-acme-0b1c2d3e4f"))
    monkeypatch.setenv(
        "ACME_EXTRA_SERVER_KEY", "server-key-of-acme-0b1c2d3e4f"
    )  # a secret the web process holds
    _archive_run(dash_db, "20260201T000000Z-gz0001", [
        ("extract_chat", str(folder / "01_extract_chat.ipynb.gz")), ("extract_push", str(folder / "02_extract_push.ipynb.gz"))])  # fmt: skip
    monkeypatch.setenv("RUNS_ARCHIVE_URL", "memory://bench-archive/runs")
    with fsspec.open("memory://bench-archive/runs/2026-01-01/r-moved/01_extract_chat.ipynb.gz", "wb") as fh:
        fh.write(_notebook_gz("opened from object storage"))
    _archive_run(dash_db, "20260101T000000Z-moved1", [
        ("extract_chat", "memory://bench-archive/runs/2026-01-01/r-moved/01_extract_chat.ipynb.gz"),
        ("extract_push", "memory://elsewhere/01_extract_chat.ipynb.gz")], state="moved")  # fmt: skip
    _archive_run(
        dash_db, "20251201T000000Z-pruned", [("extract_chat", "/gone/01_extract_chat.ipynb.gz")], "pruned"
    )
    login(client, "victor_acme")
    r = client.get("/notebooks/20260201T000000Z-gz0001/extract_chat")
    assert r.status_code == 200 and b"rendered from the gz notebook" in r.data and b"run_step(" not in r.data
    assert r.headers["Cache-Control"] == "no-store"
    assert client.get("/notebooks/20260201T000000Z-gz0001/extract_push").status_code == 404  # holds a secret
    moved = client.get("/notebooks/20260101T000000Z-moved1/extract_chat")
    assert moved.status_code == 200 and b"opened from object storage" in moved.data
    assert (
        client.get("/notebooks/20260101T000000Z-moved1/extract_push").status_code == 404
    )  # not under the URL
    pruned = client.get("/notebooks/20251201T000000Z-pruned/extract_chat")
    assert pruned.status_code == 410 and "política de retención" in pruned.get_data(as_text=True)
    assert (
        client.get(f"/notebooks/{RUN_A_OK}/extract_chat").status_code == 200
    )  # an old .html link still works


def test_runs_page_shows_skip_reasons_and_links_gz_notebooks():
    from dash_app.pages.runs import steps_table

    table = steps_table("acme", {"run_id": "r1", "mode": "transform-only", "status": "success"}, [
        {"seq": 11, "step": "transform_contacts", "kind": "transform", "status": "skipped",
         "reason": "sin datos nuevos desde la ejecución r0: raw.raw_contacts_api hasta id 9 (9 filas)"},
        {"seq": 90, "step": "dbt_build", "kind": "dbt", "status": "success", "notebook_path": "/x/90_dbt_build.ipynb.gz"},
    ])  # fmt: skip
    text_ = json.dumps(
        table.to_plotly_json(),
        ensure_ascii=False,
        default=lambda o: o.to_plotly_json() if hasattr(o, "to_plotly_json") else str(o),
    )
    assert "sin datos nuevos desde la ejecución r0" in text_ and "omitido" in text_
    assert text_.count("/notebooks/r1/") == 1  # the dbt step links its notebook, the skipped one has none


# -- identity and sessions over real HTTP (a threaded server in this process: env changes reach it) --
@pytest.fixture(scope="module")
def live(dash_app_obj):
    """The app on a free loopback port."""
    with live_server(dash_app_obj.server) as url:
        yield url


@pytest.fixture(autouse=True)
def fresh_throttle(dash_db):
    """Each test starts with no failed attempts counted (they are shared by every worker)."""
    from sqlalchemy import text

    from lib.db import get_engine

    with get_engine("owner", dash_db).begin() as conn:
        conn.execute(text("DELETE FROM ops.dashboard_sign_in_throttle"))


def http_sign_in(base: str, username: str, password: str = PASSWORD, *, next_url: str = "/", headers=None):
    """A fresh httpx client, signed in (or not: the POST's response is returned with it)."""
    import httpx

    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30, headers=headers or {})
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    resp = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token, "next": next_url}
    )
    return client, resp


def owner_sql(dash_db: str, sql: str, **params):
    from sqlalchemy import text

    from lib.db import get_engine

    with get_engine("owner", dash_db).begin() as conn:
        return conn.execute(text(sql), params)


def test_public_routes_are_matched_exactly(live, dash_users):
    import httpx

    from dash_app.security import is_public

    for path in ("/login", "/logout", "/healthz", "/auth/verify", "/api/run-pipeline", "/api/runs/r1"):
        assert is_public(path), path
    for path in ("/login/x", "/loginx", "/api/x", "/api/", "/api/runs/a/b", "/healthzx", "/healthz/",
                 "/logout/x", "/auth/verify/x", "/favicon.ico", "/_dash-layout"):  # fmt: skip
        assert not is_public(path), path
        r = httpx.get(live + path, follow_redirects=False)
        assert r.status_code in (302, 401), (path, r.status_code)
        assert r.status_code == 401 or r.headers["Location"].startswith("/login?next=")
        assert "_dash-config" not in r.text and "react" not in r.text.lower(), path  # no app shell
    assert httpx.get(live + "/healthz").status_code == 200
    assert httpx.get(live + "/login").status_code == 200


def test_no_store_on_pages_and_callbacks(live, dash_users):
    client, resp = http_sign_in(live, "victor_acme")
    assert resp.status_code == 302
    for path in ("/", "/operations?range=7", "/_dash-layout", "/_dash-dependencies", "/login"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store", path
    r = client.post("/_dash-update-component", json=exec_payload(TENANT_A))
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    logout = client.get("/logout")
    assert logout.headers["Cache-Control"] == "no-store" and "cache" in logout.headers["Clear-Site-Data"]
    css = client.get("/assets/10_style.css")  # static and data-free: may be cached
    assert "no-store" not in css.headers.get("Cache-Control", "")


def test_auth_verify_answers(live, dash_users, monkeypatch):
    import httpx

    monkeypatch.setenv("DASH_PUBLIC_URL", "https://bi.example.test")
    monkeypatch.setenv("DASH_SIBLING_HOSTS", "https://voila.example.test, lab.example.test")
    fwd = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "voila.example.test",
           "X-Forwarded-Uri": "/voila/render/02.ipynb?tenant=globex", "X-Forwarded-Method": "GET"}  # fmt: skip
    browser = httpx.get(live + "/auth/verify", headers={**fwd, "Accept": "text/html,*/*"})
    assert browser.status_code == 302
    from urllib.parse import parse_qs, urlsplit

    loc = urlsplit(browser.headers["Location"])
    assert (loc.scheme, loc.netloc, loc.path) == ("https", "bi.example.test", "/login")
    assert parse_qs(loc.query)["next"] == ["https://voila.example.test/voila/render/02.ipynb?tenant=globex"]
    evil = httpx.get(
        live + "/auth/verify", headers={**fwd, "X-Forwarded-Host": "evil.test", "Accept": "text/html"}
    )
    assert evil.status_code == 302 and evil.headers["Location"] == "https://bi.example.test/login"
    for headers in (
        {"Accept": "application/json"},
        {**fwd, "X-Forwarded-Method": "POST", "Accept": "text/html"},
    ):
        assert httpx.get(live + "/auth/verify", headers=headers).status_code == 401
    viewer, _ = http_sign_in(live, "victor_acme")
    ok = viewer.get("/auth/verify")
    assert ok.status_code == 200
    assert (ok.headers["X-BI-User"], ok.headers["X-BI-Role"], ok.headers["X-BI-Tenant"]) == (
        "victor_acme", "viewer", TENANT_A)  # fmt: skip
    assert viewer.get("/auth/verify?role=admin").status_code == 403
    assert viewer.get("/auth/verify?role=root").status_code == 400
    admin, _ = http_sign_in(live, "ana_admin")
    ok = admin.get("/auth/verify?role=admin")
    assert ok.status_code == 200 and ok.headers["X-BI-Role"] == "admin" and ok.headers["X-BI-Tenant"] == ""
    viewer.get("/logout")
    assert viewer.get("/auth/verify").status_code == 401


@pytest.mark.slow  # a live gunicorn and many bcrypt rounds: 20-90 s
def test_sign_in_returns_to_sibling_hosts_only(live, dash_users, monkeypatch):
    monkeypatch.setenv("DASH_SIBLING_HOSTS", "https://voila.example.test,http://127.0.0.1:8866")
    good = "https://voila.example.test/voila/render/01.ipynb?date_from=2026-01-05"
    for target, expected in (
        (good, good),
        ("http://127.0.0.1:8866/voila/tree", "http://127.0.0.1:8866/voila/tree"),
        ("http://voila.example.test/x", "/"),  # scheme differs
        ("https://voila.example.test:8443/x", "/"),  # port differs
        ("https://voila.example.test@evil.test/x", "/"),
        ("https://evil.test/", "/"),
        ("//evil.test/x", "/"),
        ("/\\evil.test", "/"),
        ("javascript:alert(1)", "/"),
        ("/runs?range=7", "/runs?range=7"),
    ):
        _, resp = http_sign_in(live, "victor_acme", next_url=target)
        assert resp.status_code == 302 and resp.headers["Location"] == expected, target


def test_sign_out_ends_every_copy_of_the_cookie(live, dash_users):
    import httpx

    client, _ = http_sign_in(live, "victor_acme")
    copy = httpx.Client(base_url=live, follow_redirects=False, cookies=dict(client.cookies))
    assert copy.get("/").status_code == 200
    client.get("/logout")
    assert copy.get("/").status_code == 302  # this worker forgets at once; others within the cache
    assert copy.post("/_dash-update-component", json=exec_payload(TENANT_A)).status_code == 401
    again, _ = http_sign_in(live, "victor_acme")  # a new sign-in works, with a new version
    assert again.get("/").status_code == 200


def test_revocation_by_another_worker_is_seen_within_the_cache_window(live, dash_users, dash_db, monkeypatch):
    import time

    monkeypatch.setenv("DASH_SESSION_CHECK_S", "1.5")
    client, _ = http_sign_in(live, "gina_globex")
    assert client.get("/").status_code == 200  # the row is now cached for 1.5 s
    owner_sql(
        dash_db,
        "UPDATE ops.dashboard_users SET session_version = session_version + 1 WHERE username = 'gina_globex'",
    )  # fmt: skip  - a sign-out on another worker
    t0 = time.monotonic()
    while client.get("/").status_code == 200:
        assert time.monotonic() - t0 < 3.0, "the revoked session outlived the cache window"
        time.sleep(0.1)
    assert time.monotonic() - t0 <= 2.5


@pytest.mark.slow  # a live gunicorn and many bcrypt rounds: 20-90 s
def test_removed_or_demoted_users_lose_their_sessions(live, dash_users, dash_db, monkeypatch):
    from lib.auth import add_user, remove_user

    monkeypatch.setenv("DASH_SESSION_CHECK_S", "0")
    add_user("tmp_viewer", PASSWORD, "viewer", TENANT_A)
    viewer, _ = http_sign_in(live, "tmp_viewer")
    assert viewer.get("/").status_code == 200
    remove_user("tmp_viewer")
    assert viewer.get("/").status_code == 302
    add_user(
        "tmp_viewer", PASSWORD, "viewer", TENANT_A
    )  # same name again: a new row, the old cookie stays dead
    assert viewer.get("/").status_code == 302
    assert viewer.post("/_dash-update-component", json=exec_payload(TENANT_A)).status_code == 401

    add_user("tmp_admin", PASSWORD, "admin")
    admin, _ = http_sign_in(live, "tmp_admin")
    assert _messages_card(admin.post("/_dash-update-component", json=exec_payload(TENANT_B)))
    add_user("tmp_admin", PASSWORD, "viewer", TENANT_A)  # demoted to a viewer of acme
    assert admin.get("/").status_code == 302
    assert admin.post("/_dash-update-component", json=exec_payload(TENANT_B)).status_code == 401
    assert admin.get("/auth/verify?role=admin").status_code == 401
    demoted, _ = http_sign_in(live, "tmp_admin")
    own = demoted.post("/_dash-update-component", json=exec_payload(TENANT_A))
    forged = demoted.post("/_dash-update-component", json=exec_payload(TENANT_B))
    assert _messages_card(forged) == _messages_card(own)  # globex asked, acme's numbers served
    remove_user("tmp_admin")
    remove_user("tmp_viewer")


def test_session_ends_twelve_hours_after_sign_in_however_busy(live, dash_users, monkeypatch):
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    monkeypatch.setenv("BI_CLOCK_NOW", t0.isoformat())
    client, _ = http_sign_in(live, "victor_acme")
    for hours in (1, 6, 11, 11.99):  # activity does not slide the end
        monkeypatch.setenv("BI_CLOCK_NOW", (t0 + timedelta(hours=hours)).isoformat())
        r = client.get("/")
        assert r.status_code == 200 and "set-cookie" not in r.headers, hours
    monkeypatch.setenv("BI_CLOCK_NOW", (t0 + timedelta(hours=12, seconds=1)).isoformat())
    assert client.get("/").status_code == 302
    assert client.get("/auth/verify").status_code == 401
    monkeypatch.setenv("DASH_SESSION_HOURS", "2")
    monkeypatch.setenv("BI_CLOCK_NOW", t0.isoformat())
    short, _ = http_sign_in(live, "victor_acme")
    monkeypatch.setenv("BI_CLOCK_NOW", (t0 + timedelta(hours=2, seconds=1)).isoformat())
    assert short.get("/").status_code == 302


@pytest.mark.slow  # a live gunicorn and many bcrypt rounds: 20-90 s
def test_throttling_per_user_and_per_address(live, dash_users):
    for attempt in range(1, 5):
        _, r = http_sign_in(live, "victor_acme", "wrong-password-x")
        assert r.status_code == 401, attempt
    _, fifth = http_sign_in(live, "victor_acme", "wrong-password-x")
    assert fifth.status_code == 429 and int(fifth.headers["Retry-After"]) > 0
    assert "Demasiados intentos fallidos. Espere 5 minutos" in fifth.text
    late, right = http_sign_in(live, "victor_acme", PASSWORD)  # right, but too late
    assert right.status_code == 429 and "Demasiados intentos" in right.text
    assert late.get("/").status_code == 302
    _, variant = http_sign_in(live, "Victor_Acme", PASSWORD)  # case variants share the count
    assert variant.status_code == 429
    _, elsewhere = http_sign_in(live, "victor_acme", headers={"X-Forwarded-For": "203.0.113.9"})
    assert elsewhere.status_code == 429  # the user's lock holds from any address
    other, ok = http_sign_in(live, "gina_globex")  # another user, same address: unaffected
    assert ok.status_code == 302 and other.get("/").status_code == 200

    spray = {"X-Forwarded-For": "198.51.100.7"}  # one address guessing many names
    codes = [
        http_sign_in(live, f"nobody{i}", "wrong-password-x", headers=spray)[1].status_code for i in range(20)
    ]
    assert codes[:19] == [401] * 19 and codes[19] == 429
    _, blocked = http_sign_in(live, "ana_admin", headers=spray)
    assert blocked.status_code == 429
    _, fine = http_sign_in(live, "ana_admin", headers={"X-Forwarded-For": "198.51.100.8"})
    assert fine.status_code == 302


@pytest.mark.slow  # a live gunicorn and many bcrypt rounds: 20-90 s
def test_unknown_and_known_users_cost_the_same(live, dash_users, monkeypatch):
    """Over HTTP, attempts in pairs (known and unknown user, back to back in a random order, so both
    see the same load): the median of the pairs' time ratios is within 20 %, for short and for
    over-long passwords; every attempt costs a real bcrypt check (no early return)."""
    import random
    import statistics
    import time

    import httpx

    monkeypatch.setenv("DASH_LOGIN_MAX_FAILURES", "1000")
    monkeypatch.setenv("DASH_LOGIN_MAX_FAILURES_PER_ADDRESS", "1000")
    pairs = {
        "short password": (("victor_acme", "wrong-password-x"), ("nobody_at_all", "wrong-password-x")),
        "80 bytes": (("victor_acme", "p" * 80), ("nobody_at_all", "p" * 80)),
        "4000 characters": (("victor_acme", "ü" * 4000), ("bad name;--", "ü" * 4000)),  # not even a name
    }
    client = httpx.Client(base_url=live, timeout=60)

    def attempt(name: str, password: str) -> float:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        t0 = time.perf_counter()
        r = client.post("/login", data={"username": name, "password": password, "csrf_token": token})
        elapsed = time.perf_counter() - t0
        assert r.status_code == 401, name
        return elapsed

    rng = random.Random(13)
    ratios: dict[str, list[float]] = {k: [] for k in pairs}
    fastest = float("inf")
    for _ in range(15):
        for kind, (known, unknown) in pairs.items():
            if rng.random() < 0.5:
                t_known, t_unknown = attempt(*known), attempt(*unknown)
            else:
                t_unknown, t_known = attempt(*unknown), attempt(*known)
            ratios[kind].append(t_unknown / t_known)
            fastest = min(fastest, t_known, t_unknown)
    medians = {k: round(statistics.median(v), 3) for k, v in ratios.items()}
    print("sign-in time ratios unknown/known (median of 15 pairs):", medians, f"fastest {fastest:.3f} s")
    for kind, ratio in medians.items():
        assert 1 / 1.2 <= ratio <= 1.2, (kind, medians)
    assert fastest > 0.05  # one real bcrypt check each (~0.25 s at cost 12), not an early return


def test_a_short_signing_key_is_refused(monkeypatch):
    from dash_app.security import secret_key
    from lib.config import ConfigError

    monkeypatch.setenv("DASH_SECRET_KEY", "k" * 31)
    with pytest.raises(ConfigError, match="at least 32 bytes") as err:
        secret_key()
    assert "k" * 31 not in str(err.value)
    monkeypatch.setenv("DASH_SECRET_KEY", "k" * 32)
    assert secret_key() == "k" * 32


def test_cookie_domain_scopes_the_session_for_sibling_hosts(dash_users, monkeypatch):
    import flask

    from dash_app.security import init_auth

    monkeypatch.setenv("DASH_COOKIE_DOMAIN", ".bi.localhost")
    monkeypatch.setenv("DASH_COOKIE_SECURE", "true")
    server = flask.Flask("cookie-domain-test")
    init_auth(server)
    cookie = server.test_client().get("/login").headers["Set-Cookie"]
    assert cookie.startswith("bi_session=")
    for attr in ("Domain=bi.localhost", "Secure", "HttpOnly", "SameSite=Lax"):  # subdomains included
        assert attr in cookie, attr
