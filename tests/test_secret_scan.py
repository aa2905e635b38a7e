"""The secret scan: every encoded form a reader can undo, every secret value, quarantine that fails clearly."""

from __future__ import annotations

import base64
import html
import json
import os
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from lib.config import PROJECT_ROOT, reload_settings, secret_values
from lib.pipeline.scan import QuarantineUnavailable, build_index, find_secret, quarantine, scan_tree

KEY = "5f1c7a52-9d3e-4b7a-8a61-0c2f9e7d4b13"  # a UUID ServerKey
PASSWORD = "S3cr:t/p@ss w0rd+x"  # a database password with characters URLs must encode


def _b64_in_blob(secret: str, offset: int) -> str:
    return base64.b64encode(
        b"prefix!"[:offset] + b"Basic auth " + secret.encode() + b" trailing bytes"
    ).decode()


FORMS = {
    "upper_case": KEY.upper(),
    "mixed_case": "".join(c.upper() if i % 2 else c for i, c in enumerate(KEY)),
    "base64": base64.b64encode(KEY.encode()).decode(),
    "base64_upper_variant": base64.b64encode(KEY.upper().encode()).decode(),
    "base64_urlsafe": base64.urlsafe_b64encode(PASSWORD.encode()).decode().rstrip("="),
    "base64_blob_align_0": _b64_in_blob(KEY, 0),
    "base64_blob_align_1": _b64_in_blob(KEY, 1),
    "base64_blob_align_2": _b64_in_blob(KEY, 2),
    "base64_basic_auth": "Authorization: Basic " + base64.b64encode(f"bi_app:{PASSWORD}".encode()).decode(),
    "base64_line_breaks": "\n".join(
        base64.b64encode(b"x" + KEY.encode() * 2).decode()[i : i + 10] for i in range(0, 100, 10)
    ),
    "url_encoded": quote(PASSWORD, safe=""),
    "url_encoded_lower_hex": quote(PASSWORD, safe="").lower(),
    "url_plus_for_space": "q=" + quote_plus(PASSWORD),
    "database_url": f"postgresql://bi_app:{quote(PASSWORD, safe='')}@db.example:5432/postgres",
    "json_unicode_escapes": json.dumps("".join(f"\\u{ord(c):04x}" for c in KEY)),
    "json_in_json": json.dumps({"text": json.dumps({"k": KEY.upper()}, ensure_ascii=True)}),
    "html_entities_hex": "".join(f"&#x{ord(c):x};" for c in PASSWORD),
    "html_entities_dec": "".join(f"&#{ord(c)};" for c in KEY),
    "hex": KEY.encode().hex(),
    "split_concatenation": f'key = "{KEY[:12]}" + "{KEY[12:]}"',
    "split_python_adjacent": f'key = ("{KEY[:8]}"\n       "{KEY[8:20]}"\n       "{KEY[20:]}")',
    "split_notebook_stream": json.dumps({"name": "stdout", "text": [KEY[:15] + "\n", KEY[15:] + "\n"]}),
    "split_html_tags": f"<span>{KEY[:10]}</span><span class='x'>{KEY[10:]}</span>",
    "split_line_break": f"{KEY[:18]}\n{KEY[18:]}",
}


def _legacy_contains(data: str, secrets: list[str]) -> bool:
    """The scan before this change: the value, JSON-escaped and HTML-escaped only."""
    forms = {
        f for s in secrets for f in (s, json.dumps(s)[1:-1], html.escape(s), html.escape(s, quote=False))
    }
    return any(f in data for f in forms)


@pytest.mark.parametrize("form", sorted(FORMS))
def test_scan_finds_each_encoded_form(form: str) -> None:
    text = f"some output before\n{FORMS[form]}\nand after"
    secrets = [KEY, PASSWORD]
    assert find_secret(text, build_index(secrets)) is not None, form
    assert find_secret(text.encode(), secrets) is not None  # bytes too
    assert not _legacy_contains(text, secrets), "the old scanner already caught this form"


def test_scan_finds_gzipped_files_and_literal() -> None:
    import gzip

    assert find_secret(gzip.compress(f"x {KEY} y".encode()), [KEY]) == "literal"
    assert find_secret(f"x {KEY} y", [KEY]) == "literal"


def test_scan_has_no_false_positive_on_real_outputs() -> None:
    """Committed notebooks, an nbconvert HTML page and innocent base64 do not match real-looking secrets."""
    import nbformat

    from lib.pipeline.render import render_html

    index = build_index([KEY, PASSWORD, "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2])
    for nb_path in sorted((PROJECT_ROOT / "notebooks").rglob("*.ipynb")):
        text = nb_path.read_text(encoding="utf-8")
        assert find_secret(text, index) is None, nb_path
    page = render_html(nbformat.read(PROJECT_ROOT / "notebooks/transform/16_messages.ipynb", as_version=4))
    assert len(page) > 100_000 and find_secret(page, index) is None
    assert find_secret(base64.b64encode(os.urandom(300_000)).decode(), index) is None


def test_split_forms_need_ten_characters() -> None:
    """A short value is matched only whole: cut into pieces it would match innocent text by chance."""
    index = build_index(["abc123xy"])
    assert find_secret('"abc1" + "23xy"', index) is None
    assert find_secret("abc123xy", index) == "literal"


@pytest.fixture
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    data = tmp_path / "data"
    data.mkdir()
    for name in list(os.environ):
        if name.endswith(("DATABASE_URL", "_TOKEN", "_SECRET_KEY", "SERVER_KEY")) or name.startswith(
            "INDIGITALL_"
        ):
            monkeypatch.delenv(name, raising=False)
    tenants = tmp_path / "tenants.yml"
    tenants.write_text(
        "tenants:\n"
        "  - {id: coop_a, server_key_env: KEY_COOP_A}\n"
        "  - {id: coop_b, server_key_env: KEY_COOP_B}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("TENANTS_FILE", str(tenants))
    monkeypatch.setenv("BI_DATA_DIR", str(data))
    monkeypatch.chdir(tmp_path)  # the working directory's .env is read
    yield tmp_path
    reload_settings()


def test_secret_values_cover_every_secret(settings_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = settings_env / "data"
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres:owner-pw-0a9b8c@db:5432/postgres")
    monkeypatch.setenv("APP_DATABASE_URL", f"postgresql://bi_app:{quote(PASSWORD, safe='')}@db/postgres")
    monkeypatch.setenv("ANALYST_DATABASE_URL", "postgresql://bi_analyst:analyst-pw-77@db/postgres")
    monkeypatch.setenv("PIPELINE_DATABASE_URL", "postgresql://bi_pipeline:pipeline-pw-88@db/postgres")
    monkeypatch.setenv("KEY_COOP_A", "key-of-coop-a-1111")
    monkeypatch.setenv("PIPELINE_API_TOKEN", "api-token-2222")
    (settings_env / ".env").write_text(
        "DBT_DATABASE_URL=postgresql://bi_dbt:dbt-pw-from-dotenv@db/postgres\n"
        "KEY_COOP_B=key-of-coop-b-from-dotenv\n"
        "DASH_SECRET_KEY=dash-signing-key-from-dotenv-0123456789abcdef\n",
        encoding="utf-8",
    )
    (data / "dash_secret_key").write_text("generated-dash-key-" + "9" * 40)
    (data / "demo_pipeline_token").write_text("generated-demo-token-3333")
    (data / "logins").mkdir()  # the embedded default's generated logins (lib.db.logins' store)
    (data / "logins" / "logins.json").write_text(
        json.dumps({"pipeline": {"user": "bi_pipeline", "password": "generated-login-pw-4444"}})
    )
    (data / "secrets").mkdir()
    (data / "secrets" / "extra.env").write_text("PASSWORD=generated-extra-pw-7777\n")
    (data / "analyst_password").write_text("postgresql://bi_analyst:generated-url-pw-5555@/x\n")
    (data / "notes.txt").write_text("not-a-secret-file-6666")
    values = set(secret_values(reload_settings()))
    expected = {
        "owner-pw-0a9b8c", PASSWORD, quote(PASSWORD, safe=""), "analyst-pw-77", "pipeline-pw-88",
        "dbt-pw-from-dotenv", "key-of-coop-a-1111", "key-of-coop-b-from-dotenv", "api-token-2222",
        "dash-signing-key-from-dotenv-0123456789abcdef", "generated-dash-key-" + "9" * 40,
        "generated-demo-token-3333", "generated-login-pw-4444", "generated-url-pw-5555", "generated-extra-pw-7777",
    }  # fmt: skip
    assert expected <= values, expected - values
    assert "not-a-secret-file-6666" not in values
    assert "KEY_COOP_A" not in values and "coop_a" not in values  # names are not secrets


def test_quarantine_in_an_unwritable_folder_gives_a_clear_error(tmp_path: Path) -> None:
    """As another user (a forked child drops to `nobody`) the root-owned folder is not writable."""
    folder = tmp_path / "quarantine"
    folder.mkdir(mode=0o755)
    if os.geteuid() != 0:
        folder.chmod(0o500)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(read_fd)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            try:
                quarantine(b"LEAKED-DATA-x1", folder / "2025-01-01" / "run1", "01_x.ipynb")
                msg, code = "wrote it", 2
            except QuarantineUnavailable as exc:
                msg = str(exc)
            except Exception as exc:
                msg, code = f"{type(exc).__name__}: {exc}", 3
            os.write(write_fd, msg.encode())
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fh:
        message = fh.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, message
    assert "not writable" in message and str(folder) in message and "01_x.ipynb" in message
    assert (
        "LEAKED-DATA-x1" not in message and "PermissionError" not in message and not list(folder.rglob("*"))
    )


def test_scan_tree_quarantines_run_log(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "2025-01-01" / "r1"
    run.mkdir(parents=True)
    (run / "run.log").write_text("step ok\nerror: got " + base64.b64encode(KEY.encode()).decode() + "\n")
    (run / "01_a.ipynb.gz").write_bytes(b"clean")
    q = tmp_path / "quarantine" / "2025-01-01" / "r1"
    moved = scan_tree(run, q, [KEY])
    assert moved == [str(q / "run.log")] and not (run / "run.log").exists()
    assert (run / "01_a.ipynb.gz").exists() and (q / "run.log").stat().st_mode & 0o777 == 0o600


def test_scan_tree_skips_only_files_unchanged_since_their_step_scan(tmp_path: Path) -> None:
    """The end-of-run sweep trusts a step's scan of its own notebook only while the file is as the
    step wrote it: one changed after (size or time) is read again."""
    import os

    from lib.pipeline.scan import file_stamp

    run = tmp_path / "run"
    run.mkdir()
    kept, changed = run / "01_a.ipynb.gz", run / "02_b.ipynb.gz"
    kept.write_bytes(b"clean")
    changed.write_bytes(b"clean")
    scanned = {str(kept): file_stamp(kept), str(changed): file_stamp(changed)}
    kept_stamp = kept.stat()
    kept.write_bytes(b"xxxxx")  # same size and time: taken for the file the step scanned
    os.utime(kept, ns=(kept_stamp.st_atime_ns, kept_stamp.st_mtime_ns))
    changed.write_bytes(b"now " + KEY.encode())
    moved = scan_tree(run, tmp_path / "q", [KEY], scanned=scanned)
    assert moved == [str(tmp_path / "q" / "02_b.ipynb.gz")] and kept.exists() and not changed.exists()
    assert scan_tree(run, tmp_path / "q2", [KEY], scanned={}) == []  # nothing else held the key


def test_image_gives_the_quarantine_folder_to_its_user() -> None:
    """The Dockerfile's user owns the quarantine folder beside RUNS_DIR (a hit must not end in EACCES)."""
    text = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    user = next(line.split()[1] for line in text.splitlines() if line.startswith("USER "))
    chown = next(line for line in text.splitlines() if "chown" in line)
    assert "/app/quarantine" in chown and f"{user}:{user}" in chown
    assert "RUNS_QUARANTINE_DIR=/app/quarantine" in text and "RUNS_DIR=/app/runs" in text


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
