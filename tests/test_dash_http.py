"""The dashboards over HTTP (Flask test client): sign-in before any data, callbacks refused without a
session, the tenant decided server-side, archived notebooks served only inside RUNS_DIR and tenant."""

# ruff: noqa: F811 - pytest fixtures imported from test_dash_fixtures are redefined as arguments

from __future__ import annotations

import json
import re

import pytest
from test_dash_fixtures import (  # noqa: F401, I001 - fixtures; first: puts dash_app on sys.path
    END,
    PASSWORD,
    RUN_A_FAIL,
    RUN_A_OK,
    RUN_B_OK,
    START,
    TENANT_A,
    TENANT_B,
    dash_app_obj,
    dash_db,
    dash_env,
    dash_users,
    store,
)

EXEC_OUTPUT = "..exec-kpis.children...exec-daily.figure...exec-donut.figure...exec-kpis-2.children...exec-league.rowData.."


def login(client, username: str, password: str = PASSWORD):  # noqa: ANN001, ANN201
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
def client(dash_app_obj):  # noqa: ANN001, ANN201
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


def _messages_card(resp) -> str:  # noqa: ANN001
    body = json.loads(resp.get_data(as_text=True))
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
