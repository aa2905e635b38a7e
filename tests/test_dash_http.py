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
    for bad in (
        str(tmp_path / "secret.html"),
        "../secret.html",
        "d/a.ipynb",
        "d/link.html",
        "",
        None,
        "/etc/passwd",
    ):
        assert safe_notebook_path(bad, root) is None, bad
