"""Exports and error pages over HTTP (Flask test client): CSV for Excel in Spanish and XLSX with raw
values, the tenant enforced on every export, a Spanish page when the database is down at sign-in."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fixtures_dash import END, START, TENANT_A, TENANT_B, session_user

WINDOW = f"range=custom&from={START.isoformat()}&to={END.isoformat()}"


@pytest.fixture
def client(dash_app_obj):
    return dash_app_obj.server.test_client()


def signed(client, role: str = "admin", tenant: str | None = None):
    with client.session_transaction() as s:
        s["user"] = session_user(role, tenant)
    return client


def test_csv_is_for_excel_in_spanish_with_raw_values(client, dash_db):
    resp = signed(client).get(f"/export/campanas.csv?tenant={TENANT_A}&{WINDOW}")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert resp.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["Posición", "Campaña"] and "CTR ÷ enviados (%)" in rows[0]
    ctr = rows[1][rows[0].index("CTR ÷ enviados (%)")]
    assert re.fullmatch(r"\d+(,\d+)?", ctr), ctr  # a number with a decimal comma, no "%" in the cell
    assert 'filename="campanas_acme_' in resp.headers["Content-Disposition"]


def test_xlsx_has_numeric_cells(client, dash_db):
    from openpyxl import load_workbook

    resp = signed(client).get(f"/export/agentes.xlsx?tenant={TENANT_A}&{WINDOW}")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.data)).active
    header = [c.value for c in ws[1]]
    assert header[:3] == ["Agente", "ID agente", "Mensajes"] and "Espera mediana (s)" in header
    row = [c.value for c in ws[2]]
    assert isinstance(row[2], int) and isinstance(row[header.index("Espera mediana (s)")], int | float)


def test_exports_keep_the_viewer_in_their_tenant(client, dash_db):
    own = signed(client, "viewer", TENANT_A).get(f"/export/agentes.csv?tenant={TENANT_B}&{WINDOW}")
    assert own.status_code == 200 and "agentes_acme_" in own.headers["Content-Disposition"]
    client.get("/logout")
    assert client.get(f"/export/agentes.csv?{WINDOW}").status_code in (302, 401)


def test_database_down_at_sign_in_is_a_spanish_page(client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def down(*_a, **_k):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr("dash_app.security.verify_user", down)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/login", data={"username": "ana", "password": "x", "csrf_token": token, "next": "/"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 503 and 'lang="es-CO"' in body
    assert "No podemos conectar con la base de datos" in body and "Internal Server Error" not in body
    missing = client.get("/no-such-page-here")
    assert "Página no encontrada" in missing.get_data(as_text=True) or missing.status_code == 302
