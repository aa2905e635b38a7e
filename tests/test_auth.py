"""Dashboard users: bcrypt hashes in an owner-only table, `bi users` CLI, no password ever printed."""

from __future__ import annotations

import argparse

import pytest
from fixtures_dash import PASSWORD, TENANT_A
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from lib import auth


def test_hash_is_bcrypt_and_salted():
    h1, h2 = auth.hash_password(PASSWORD, rounds=4), auth.hash_password(PASSWORD, rounds=4)
    assert h1.startswith("$2") and h1 != h2 and PASSWORD not in h1
    assert auth.check_password(PASSWORD, h1) and not auth.check_password("wrong-password", h1)
    assert not auth.check_password(PASSWORD, "not-a-hash")


def test_short_or_overlong_passwords_are_refused():
    with pytest.raises(auth.UserError):
        auth.hash_password("short")
    with pytest.raises(auth.UserError):
        auth.hash_password("x" * 73)


def test_add_verify_list_remove(dash_db):
    auth.add_user("t_viewer", PASSWORD, "viewer", TENANT_A)
    user = auth.verify_user("t_viewer", PASSWORD)
    assert user == auth.User("t_viewer", "viewer", TENANT_A) and not user.is_admin
    assert auth.verify_user("t_viewer", "wrong-password") is None
    assert auth.verify_user("nobody", PASSWORD) is None
    auth.add_user("t_viewer", "another-password", "admin")  # update: new password and role
    assert auth.verify_user("t_viewer", PASSWORD) is None
    assert auth.verify_user("t_viewer", "another-password").is_admin
    assert "t_viewer" in [u.username for u in auth.list_users()]
    assert auth.remove_user("t_viewer") and not auth.remove_user("t_viewer")


def test_viewer_needs_a_tenant_and_names_are_checked(dash_db):
    with pytest.raises(auth.UserError):
        auth.add_user("lonely", PASSWORD, "viewer", None)
    with pytest.raises(auth.UserError):
        auth.add_user("bad name; drop", PASSWORD, "admin")


def test_hashes_are_stored_not_passwords_and_reader_cannot_read_them(dash_db):
    from lib.db import get_engine, tenant_tx

    auth.add_user("t_hash", PASSWORD, "viewer", TENANT_A)
    with get_engine("owner", dash_db).connect() as conn:
        stored = conn.execute(
            text("SELECT password_hash FROM ops.dashboard_users WHERE username='t_hash'")
        ).scalar()
    assert stored.startswith("$2") and PASSWORD not in stored
    for role in ("reader", "loader"):
        with pytest.raises(ProgrammingError, match="permission denied"), tenant_tx(TENANT_A, role) as conn:
            conn.execute(text("SELECT password_hash FROM ops.dashboard_users"))
    auth.remove_user("t_hash")


def test_session_rows_reach_the_dashboards_login_only_through_its_functions(dash_db):
    """The app login checks a session by id (no hash) and ends it by version; the analyst and pipeline
    logins can call none of the sign-in, session or throttle functions."""
    from lib.db import get_engine

    user = auth.add_user("t_session", PASSWORD, "viewer", TENANT_A)
    signed = auth.verify_user("t_session", PASSWORD)
    assert signed == user and signed.uid and signed.session_version
    row = auth.session_user(signed.uid)
    assert (row.username, row.tenant_id, row.session_version) == (
        "t_session",
        TENANT_A,
        signed.session_version,
    )
    with get_engine("app").connect() as conn:
        cols = conn.execute(text("SELECT * FROM ops.session_lookup(:i)"), {"i": signed.uid}).keys()
    assert "password_hash" not in cols
    assert not auth.end_sessions(signed.uid, signed.session_version + 7)  # not the current version
    assert auth.end_sessions(signed.uid, signed.session_version)
    assert auth.session_user(signed.uid).session_version == signed.session_version + 1
    auth.add_user("t_session", PASSWORD, "admin")  # a change of role (and password) moves it on too
    assert auth.session_user(signed.uid).session_version == signed.session_version + 2
    calls = (
        "SELECT * FROM ops.session_lookup(1)",
        "SELECT ops.session_end(1, 1)",
        "SELECT * FROM ops.dashboard_user_for_sign_in('t_session')",
        "SELECT ops.signin_wait('x', 'y', now())",
        "SELECT ops.signin_failed('x', 'y', now(), 5, 20, 900, 300)",
        "SELECT count(*) FROM ops.dashboard_sign_in_throttle",
    )
    for role in ("analyst", "pipeline"):
        for sql in calls:
            with pytest.raises(ProgrammingError, match="permission denied"), get_engine(role).begin() as conn:
                conn.execute(text(sql))
    auth.remove_user("t_session")
    assert auth.session_user(signed.uid) is None


def test_cli_add_reads_env_and_never_prints_the_password(dash_db, monkeypatch, capsys):
    monkeypatch.setenv("T_PW", PASSWORD)
    ns = argparse.Namespace(
        action="add", username="t_cli", role="viewer", tenant=TENANT_A, password_env="T_PW"
    )
    assert auth.cli_main(ns) == 0
    assert (
        auth.cli_main(
            argparse.Namespace(action="list", username=None, role="viewer", tenant=None, password_env=None)
        )
        == 0
    )
    out = capsys.readouterr()
    assert PASSWORD not in out.out + out.err and "t_cli" in out.out
    assert auth.verify_user("t_cli", PASSWORD) is not None
    missing = argparse.Namespace(
        action="add", username="t_cli2", role="admin", tenant=None, password_env="NOPE_PW"
    )
    assert auth.cli_main(missing) == 2
    assert (
        auth.cli_main(
            argparse.Namespace(
                action="remove", username="t_cli", role="viewer", tenant=None, password_env=None
            )
        )
        == 0
    )


def test_cli_through_bi_entry_point(dash_db, monkeypatch, capsys):
    from lib.cli import main

    monkeypatch.setenv("T_PW2", PASSWORD)
    assert main(["users", "add", "t_entry", "--role", "admin", "--password-env", "T_PW2"]) == 0
    assert main(["users", "remove", "t_entry"]) == 0
    assert PASSWORD not in capsys.readouterr().out


def test_demo_user_gets_a_fresh_random_password(dash_db):
    from lib.auth import reset_demo_user as ensure_demo_user

    name, pw1 = ensure_demo_user(TENANT_A)
    _, pw2 = ensure_demo_user(TENANT_A)
    assert pw1 != pw2 and len(pw1) >= 12
    assert auth.verify_user(name, pw1) is None
    user = auth.verify_user(name, pw2)
    assert user is not None and user.role == "viewer" and user.tenant_id == TENANT_A
