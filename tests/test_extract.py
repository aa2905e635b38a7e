"""Extractors against the simulator over HTTP, writing to a real PostgreSQL (the `db_url` fixture)."""

from __future__ import annotations

import csv
import io
import json
import secrets
import threading
import time
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from fixtures_sim import configure_tenant
from sqlalchemy import text

from lib.api import Backoff, ClientConfig, IndigitallClient, RetryPolicy
from lib.config import reload_settings
from lib.db import get_engine, tenant_tx
from lib.extract import EXTRACTORS, ExtractOptions, run_extractor, run_extractors
from lib.simulator import HISTORY_COLUMNS, Dataset, FaultConfig, start_in_thread


@pytest.fixture(scope="module")
def db_url(module_db_url: str) -> str:
    """This module loads tenants through the pipeline: its own database, not the session's."""
    return module_db_url


KEY = "9d5e3c1a-7b2f-4e8d-a6c4-13579bdf2468"
APP = "100274"
SCALE = 0.1
START, END = date(2026, 1, 5), date(2026, 2, 3)  # 30 days: 5 history windows, 1 conversations window
RAW_TABLES = [
    "raw_applications", "raw_chat_stats", "raw_contacts_api", "raw_push_stats", "raw_campaigns_api",
    "raw_sms_stats", "raw_email_stats", "raw_inapp_stats",
]  # fmt: skip


@pytest.fixture(scope="module")
def sim():
    with start_in_thread(seed=11, server_key=KEY, scale=SCALE) as running:
        yield running


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return Dataset(seed=11, tenant_id="demo", timezone="America/Bogota", application_id=APP, scale=SCALE)


@pytest.fixture
def tenant(db_url, sim, monkeypatch, tmp_path) -> str:
    """A fresh tenant id (RLS keeps tests apart) configured through the env, pointing at the simulator."""
    tid = f"t{secrets.token_hex(4)}"
    configure_tenant(monkeypatch, tmp_path, tenant=tid, url=sim.url, key=KEY, app=APP)
    yield tid
    reload_settings()


def fast_client(
    url: str, *, transport: httpx.BaseTransport | None = None, key: str = KEY
) -> IndigitallClient:
    policy = RetryPolicy(max_attempts=6, backoff=Backoff(base=0.01), max_wait=5)
    return IndigitallClient(
        url, key, config=ClientConfig(rate_limit=None, retry=policy), transport=transport,
        sleep=lambda s: time.sleep(min(s, 0.02)),
    )  # fmt: skip


def q(tenant_id: str, sql: str, **params):
    with tenant_tx(tenant_id, role="pipeline") as conn:  # raw is read by the pipeline (and dbt) only
        return conn.execute(text(sql), params).mappings().all()


def states(tenant_id: str) -> dict[str, dict]:
    return {r["entity"]: dict(r) for r in q(tenant_id, "SELECT * FROM public.sync_state")}


def page_rows(source_data: dict) -> list[dict]:
    """The rows of a raw history page, read independently of lib: v2 (the page's text) by the csv module."""
    if source_data.get("version") != 2:
        return source_data["rows"]
    reader = csv.reader(io.StringIO(source_data["text"], newline=""))
    header = next(reader)
    return [{k: (v or None) for k, v in zip(header, values, strict=True)} for values in reader if values]


def run_all(**kw) -> dict:
    return {name: run_extractor(name, date_from=START, date_to=END, **kw) for name in EXTRACTORS}


@pytest.mark.slow  # 3-6 s each on 2 busy cores: simulator HTTP + extract + transform
def test_every_raw_table_filled_and_rows_equal_responses(tenant, ds):
    results = run_all()
    for name, res in results.items():
        assert res.ok, (name, res.errors)
    assert results["email"].warnings and results["inapp"].warnings
    for table in RAW_TABLES[:6]:
        n = q(tenant, f"SELECT count(*) AS n FROM raw.{table}")[0]["n"]  # noqa: S608 - fixed names
        assert n > 0, table
    for table in RAW_TABLES[6:]:  # upstream fails: logged, not stored
        assert q(tenant, f"SELECT count(*) AS n FROM raw.{table}")[0]["n"] == 0  # noqa: S608
    logs = q(tenant, "SELECT endpoint, http_status, error FROM raw.extraction_log WHERE endpoint IN "
                     "('/v1/email/stats', '/v1/inApp/stats')")  # fmt: skip
    assert {(r["endpoint"], r["http_status"]) for r in logs} == {
        ("/v1/email/stats", 404),
        ("/v1/inApp/stats", 500),
    }
    assert all(r["error"] for r in logs)

    # history CSV: the local days START..END of Bogota (UTC-5) need the UTC dates START..END+1; windows
    # are ISO weeks (START is a Monday), without gap or overlap; rows equal the simulator's data
    pages = q(tenant, "SELECT date_from, date_to, source_data, request_params FROM raw.raw_chat_stats "
                      "WHERE endpoint = '/v1/chat/history/csv' ORDER BY date_from")  # fmt: skip
    windows = sorted({(p["date_from"], p["date_to"]) for p in pages})
    assert windows[0][0] == START and windows[-1][1] == END + timedelta(days=1)
    for (_, hi), (lo, _) in zip(windows, windows[1:], strict=False):
        assert lo == hi + timedelta(days=1)
    assert all((hi - lo).days <= 6 and lo.weekday() == 0 for lo, hi in windows)
    for lo, hi in windows:
        rows = [
            r
            for p in pages
            if (p["date_from"], p["date_to"]) == (lo, hi)
            for r in page_rows(p["source_data"])
        ]
        assert rows == ds.history_rows(lo, hi)
    doc = pages[0]["source_data"]
    assert (doc["format"], doc["version"], doc["page"], doc["limit"]) == ("csv", 2, 0, 100_000)
    assert doc["header"] == list(HISTORY_COLUMNS) and doc["records"] == len(ds.history_rows(*windows[0]))
    assert doc["text"] == ds.history_csv(*windows[0])  # the page exactly as sent
    assert pages[0]["request_params"]["dateFrom"] == str(START)

    # JSON endpoints: the whole envelope as returned
    date_stats = q(tenant, "SELECT source_data, date_from, date_to FROM raw.raw_push_stats "
                           "WHERE endpoint = '/v1/application/{id}/dateStats' ORDER BY date_from")  # fmt: skip
    got = [row for r in date_stats for row in r["source_data"]["data"]]
    assert got == ds.date_stats(START, END)
    assert (
        date_stats[0]["source_data"]["statusCode"] == 200 and date_stats[0]["source_data"]["message"] == "OK"
    )
    contacts = q(tenant, "SELECT source_data FROM raw.raw_contacts_api ORDER BY id")
    assert [c for r in contacts for c in r["source_data"]["data"]] == ds.contacts()
    camp = q(tenant, "SELECT source_data FROM raw.raw_campaigns_api")
    assert [c for r in camp for c in r["source_data"]["data"]] == ds.campaigns()
    assert "count" in camp[0]["source_data"]
    conv = q(
        tenant,
        "SELECT source_data FROM raw.raw_chat_stats WHERE endpoint = '/v1/chat/agent/conversations' "
        "ORDER BY date_from",
    )  # sessions are filtered by the UTC date of queuedAt too: local END needs END + 1
    assert [s for r in conv for s in r["source_data"]["data"]] == ds.agent_sessions(
        START, END + timedelta(days=1)
    )

    # every successful call has a log row pointing at its raw row
    orphan = q(tenant, "SELECT count(*) AS n FROM raw.raw_chat_stats r WHERE NOT EXISTS (SELECT 1 FROM "
                       "raw.extraction_log l WHERE l.raw_table = 'raw_chat_stats' AND l.raw_id = r.id)")  # fmt: skip
    assert orphan[0]["n"] == 0

    st = states(tenant)
    for entity in ("messages", "chat_conversations", "contacts", "toques_daily", "campaigns"):
        assert st[entity]["status"] == "success" and st[entity]["records_synced"] > 0, entity
    assert st["messages"]["last_cursor"] == str(END)
    assert st["contacts"]["last_cursor"] == str(ds.contacts()[-1]["id"])
    assert st["email_stats"]["status"] == "error" and "404" in st["email_stats"]["last_error"]
    assert st["inapp_stats"]["status"] == "error"
    # entities: the table an endpoint feeds, else its raw table's subject (one row for several endpoints)
    assert set(st) == {
        "messages", "contacts", "chat_conversations", "chat_channels", "toques_daily", "toques_heatmap",
        "campaigns", "applications", "sms_stats", "email_stats", "inapp_stats", "chat_stats", "push_stats",
    }  # fmt: skip
    assert st["chat_stats"]["status"] == "success" and st["chat_stats"]["last_cursor"] == str(
        datetime.now(UTC).date()
    )
    assert st["sms_stats"]["status"] == "success" and st["sms_stats"]["last_cursor"] == str(END)
    sms_records = sum(
        results["sms"].metrics["entities"][n]["records"] for n in ("sms_stats", "sms_campaigns", "sms_sends")
    )
    assert st["sms_stats"]["records_synced"] == sms_records > 0


def test_faults_lose_nothing(tenant, ds):
    faults = FaultConfig(rate_429=0.15, rate_5xx=0.15, drop_rate=0.15, seed=5, retry_after_s=1)
    with start_in_thread(seed=11, server_key=KEY, faults=faults, scale=SCALE) as noisy:
        client = fast_client(noisy.url)
        for name in ("chat", "contacts", "push", "campaigns"):
            res = run_extractor(name, date_from=START, date_to=END, client=client)
            assert res.ok, res.errors
    pages = q(tenant, "SELECT date_from, source_data FROM raw.raw_chat_stats "
                      "WHERE endpoint = '/v1/chat/history/csv' ORDER BY date_from")  # fmt: skip
    rows = [r for p in pages for r in page_rows(p["source_data"])]
    assert rows == ds.history_rows(START, END + timedelta(days=1))
    contacts = q(tenant, "SELECT source_data FROM raw.raw_contacts_api ORDER BY id")
    assert [c for r in contacts for c in r["source_data"]["data"]] == ds.contacts()
    failed = q(tenant, "SELECT http_status, error, raw_id FROM raw.extraction_log WHERE error IS NOT NULL")
    assert failed and all(r["raw_id"] is None for r in failed)
    assert {r["http_status"] for r in failed} & {429, 500, 502, 503}
    assert any(r["http_status"] is None for r in failed)  # dropped connections
    st = states(tenant)
    assert all(st[e]["status"] == "success" for e in ("messages", "chat_conversations", "contacts",
                                                      "toques_daily", "campaigns"))  # fmt: skip


class EditHistory(httpx.HTTPTransport):
    """Real HTTP; history pages come back with one message's content changed (the data moved on)."""

    def handle_request(self, request):
        response = super().handle_request(request)
        if request.url.path != "/v1/chat/history/csv":
            return response
        header, first, rest = response.read().split(b"\n", 2)
        body = b"\n".join([header, first + b"EDITED", rest])
        return httpx.Response(response.status_code, headers=response.headers, content=body)


def test_rerun_appends_only_what_changed_and_never_changes_old_rows(tenant, sim):
    window = dict(date_from=START, date_to=START + timedelta(days=5))
    run_extractor("chat", run_id="first", **window)
    before = q(tenant, "SELECT id, loaded_at, source_data::text AS s FROM raw.raw_chat_stats ORDER BY id")
    run_extractor("chat", run_id="same", **window)  # identical responses: logged, not stored again
    assert (
        q(tenant, "SELECT id, loaded_at, source_data::text AS s FROM raw.raw_chat_stats ORDER BY id")
        == before
    )
    logs = q(tenant, "SELECT l.raw_id, l.repeated, l.response_sha256 = r.response_sha256 AS same "
                     "FROM raw.extraction_log l JOIN raw.raw_chat_stats r ON r.id = l.raw_id "
                     "WHERE l.run_id = 'same'")  # fmt: skip
    assert len(logs) == len(before) and all(r["repeated"] and r["same"] for r in logs)
    assert {r["raw_id"] for r in logs} == {r["id"] for r in before}
    run_extractor("chat", run_id="edited", client=fast_client(sim.url, transport=EditHistory()), **window)
    after = q(
        tenant, "SELECT id, loaded_at, source_data::text AS s, endpoint FROM raw.raw_chat_stats ORDER BY id"
    )
    assert [{k: r[k] for k in ("id", "loaded_at", "s")} for r in after[: len(before)]] == [
        dict(r) for r in before
    ]
    new = after[len(before) :]
    assert {r["endpoint"] for r in new} == {"/v1/chat/history/csv"}  # only the changed responses
    assert len(new) == 1 and "EDITED" in new[0]["s"]  # local 01-05..01-10 = UTC 01-05..01-11: one ISO week
    assert min(r["loaded_at"] for r in new) > max(r["loaded_at"] for r in before)
    with pytest.raises(Exception, match="append-only|permission denied"):  # any DB error naming the rule
        with tenant_tx(tenant) as conn:
            conn.execute(text("UPDATE raw.raw_chat_stats SET endpoint = 'x'"))


def test_server_key_is_nowhere_in_the_database(tenant):
    run_extractor("contacts", date_from=START, date_to=END)
    run_extractor("inapp", date_from=START, date_to=END)
    bad = fast_client(get_tenant_url(), key="wrong-key-" + KEY[:8])
    res = run_extractor("campaigns", client=bad)
    assert not res.ok and "401" in res.errors[0]
    assert KEY not in json.dumps(res.to_dict(), default=str)
    dump = []
    with get_engine("owner").connect() as conn:
        tables = conn.execute(text(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )).all()  # fmt: skip
        for schema, table in tables:
            rows = conn.execute(text(f'SELECT t::text FROM "{schema}"."{table}" t')).scalars().all()  # noqa: S608
            dump.extend(rows)
    blob = "\n".join(dump)
    assert "/v1/chat/contacts" in blob  # the scan does see the extraction data
    assert KEY not in blob and "wrong-key-" not in blob


def get_tenant_url() -> str:
    from lib.config import get_tenant

    return get_tenant().base_url


def test_incremental_resumes_from_cursor_minus_lookback(tenant):
    today = date.today()
    res = run_extractor("push", date_from=today - timedelta(days=20), date_to=today - timedelta(days=5))
    assert res.ok
    assert states(tenant)["toques_daily"]["last_cursor"] == str(today - timedelta(days=5))
    res2 = run_extractor("push", run_id="second-run", options=ExtractOptions(lookback_days=2))
    assert res2.ok
    params = q(tenant, "SELECT endpoint, request_params FROM raw.extraction_log WHERE run_id = 'second-run'")
    daily = [p["request_params"] for p in params if p["endpoint"] == "/v1/application/{id}/dateStats"]
    assert min(p["dateFrom"] for p in daily) == str(today - timedelta(days=7))
    devices = [p["request_params"] for p in params if p["endpoint"] == "/v1/application/{id}/stats/device"]
    assert min(p["dateFrom"] for p in devices) == str(today - timedelta(days=7))
    from datetime import UTC, datetime

    assert states(tenant)["toques_daily"]["last_cursor"] == str(datetime.now(UTC).date())


def test_a_standing_clock_still_advances_the_cursor_and_the_next_run_resumes(tenant, monkeypatch, db_url):
    """The clock stands still (BI_CLOCK_NOW, as in benchmarks), and the stored state is stamped by a
    clock ahead of it: the run's states still land (success, cursor today), and the next run at the
    same instant resumes at cursor − lookback instead of backfilling again."""
    instant = datetime(2026, 3, 1, 12, tzinfo=UTC)
    monkeypatch.setenv("BI_CLOCK_NOW", instant.isoformat())
    with get_engine("owner", db_url).begin() as conn:  # a row stamped an hour ahead of the clock
        conn.execute(
            text("INSERT INTO public.sync_state (tenant_id, entity, status, updated_at) "
                 "VALUES (:t, 'toques_daily', 'success', :at)"),
            {"t": tenant, "at": instant + timedelta(hours=1)},
        )  # fmt: skip
    first = run_extractor("push", run_id="first", options=ExtractOptions(backfill_days=20))
    assert first.ok, first.errors
    state = states(tenant)["toques_daily"]
    assert state["status"] == "success" and state["last_cursor"] == "2026-03-01", state
    second = run_extractor("push", run_id="second", options=ExtractOptions(backfill_days=20, lookback_days=2))
    assert second.ok, second.errors
    assert second.metrics["entities"]["toques_daily"]["range"] == ["2026-02-27", "2026-03-01"]
    assert states(tenant)["toques_daily"]["updated_at"] > state["updated_at"]


def test_first_run_backfills_default_days(tenant):
    res = run_extractor("push", options=ExtractOptions(backfill_days=10), run_id="first")
    assert res.ok
    ranges = res.metrics["entities"]["toques_daily"]["range"]
    from datetime import UTC, datetime

    today = datetime.now(UTC).date()
    assert ranges == [str(today - timedelta(days=9)), str(today)]


class FailPath(httpx.BaseTransport):
    """Real HTTP, except one path answers `status` (a required endpoint broken upstream)."""

    def __init__(self, path: str, status: int = 400) -> None:
        self.inner = httpx.HTTPTransport()
        self.path, self.status = path, status

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == self.path:
            return httpx.Response(self.status, json={"statusCode": self.status, "message": "broken"})
        return self.inner.handle_request(request)


def test_required_endpoint_failing_fails_the_step_after_saving_the_rest(tenant, sim):
    client = fast_client(sim.url, transport=FailPath("/v1/chat/agent/conversations"))
    res = run_extractor("chat", date_from=START, date_to=END, client=client, run_id="req-fail")
    assert not res.ok and any("chat_conversations" in e and "broken" in e for e in res.errors)
    assert (
        q(tenant, "SELECT count(*) AS n FROM raw.raw_chat_stats WHERE endpoint = '/v1/chat/history/csv'")[0][
            "n"
        ]
        > 0
    )
    st = states(tenant)
    assert st["messages"]["status"] == "success"
    assert (
        st["chat_conversations"]["status"] == "error" and "broken" in st["chat_conversations"]["last_error"]
    )
    assert st["chat_conversations"]["last_cursor"] is None  # never advanced by a failure
    logs = q(tenant, "SELECT http_status, error FROM raw.extraction_log WHERE run_id = 'req-fail' "
                     "AND endpoint = '/v1/chat/agent/conversations'")  # fmt: skip
    assert logs and all(r["http_status"] == 400 and r["error"] for r in logs)


def test_optional_endpoint_failing_only_warns(tenant, sim):
    client = fast_client(sim.url, transport=FailPath("/v1/chat/topic", 500))
    res = run_extractor("chat", date_from=START, date_to=START + timedelta(days=6), client=client)
    assert res.ok and any("chat_topics" in w for w in res.warnings)
    st = states(tenant)["chat_stats"]  # topics share the row with status, configuration, integrations
    assert st["status"] == "error" and "/v1/chat/topic" in st["last_error"]
    for name in ("email", "inapp"):
        r = run_extractor(name, date_from=START, date_to=END)
        assert r.ok and r.warnings


def test_middle_window_failure_holds_the_cursor(tenant, sim):
    class FailWindow(FailPath):
        def handle_request(self, request):
            if request.url.path == "/v1/chat/history/csv" and request.url.params["dateFrom"] == "2026-01-12":
                return httpx.Response(503, json={"statusCode": 503, "message": "down"})
            return self.inner.handle_request(request)

    client = fast_client(sim.url, transport=FailWindow(""))
    res = run_extractor("chat", date_from=START, date_to=END, client=client)
    assert not res.ok
    st = states(tenant)["messages"]
    # UTC dates through 01-11 fetched: the last whole Bogota day is 01-10 (01-11 ends 01-12 05:00 UTC)
    assert st["status"] == "error" and st["last_cursor"] == "2026-01-10"
    n = q(tenant, "SELECT count(*) AS n FROM raw.raw_chat_stats WHERE endpoint = '/v1/chat/history/csv'")[0][
        "n"
    ]
    assert n == 4  # the other windows were saved


def test_stage_runs_every_extractor_at_once_on_one_client(tenant, sim, ds):
    """`run_extractors`: one run id, the same raw data as one by one, never more than 2 calls in flight."""
    live = {"now": 0, "peak": 0}
    lock = threading.Lock()

    class Counting(httpx.HTTPTransport):
        def handle_request(self, request):
            with lock:
                live["now"] += 1
                live["peak"] = max(live["peak"], live["now"])
            try:
                response = super().handle_request(request)
                response.read()
                return response
            finally:
                with lock:
                    live["now"] -= 1

    policy = RetryPolicy(max_attempts=6, backoff=Backoff(base=0.01), max_wait=5)
    client = IndigitallClient(
        sim.url, KEY, config=ClientConfig(rate_limit=None, retry=policy, concurrency=2), transport=Counting()
    )
    with client:
        results = run_extractors(date_from=START, date_to=END, client=client, run_id="stage-run")
    assert list(results) == list(EXTRACTORS)
    assert all(r.ok for r in results.values()), {n: r.errors for n, r in results.items()}
    assert {r.metrics["run_id"] for r in results.values()} == {"stage-run"}
    assert 1 <= live["peak"] <= 2
    pages = q(tenant, "SELECT source_data FROM raw.raw_chat_stats "
                      "WHERE endpoint = '/v1/chat/history/csv' AND run_id = 'stage-run' ORDER BY date_from")  # fmt: skip
    assert [r for p in pages for r in page_rows(p["source_data"])] == ds.history_rows(
        START, END + timedelta(days=1)
    )
    st = states(tenant)
    assert st["messages"]["status"] == "success" and st["email_stats"]["status"] == "error"
    calls = sum(r.calls for r in results.values())
    logged = q(tenant, "SELECT count(*) AS n FROM raw.extraction_log WHERE run_id = 'stage-run'")[0]["n"]
    assert logged == calls


def test_stage_rejects_unknown_names(tenant):
    with pytest.raises(ValueError, match="unknown extractor"):
        run_extractors(["chat", "nope"])


def test_parallel_writers_commit_in_order_so_a_failed_batch_holds_everything_after_it(tenant, monkeypatch):
    """Two DB writers: when a history batch fails, no later batch commits and the cursor stays put."""
    import lib.extract.runner as runner

    real = runner.write_batch
    failed = threading.Event()

    def flaky(tenant_id, run_id, outcomes, states, **kw):
        if not failed.is_set() and any(o.endpoint == "/v1/chat/history/csv" for o in outcomes):
            failed.set()
            time.sleep(0.3)  # the next batch runs meanwhile on the other writer
            raise RuntimeError("disk full")
        return real(tenant_id, run_id, outcomes, states, **kw)

    monkeypatch.setattr(runner, "write_batch", flaky)
    options = ExtractOptions(db_writers=2, batch_max_bytes=1)  # one call per batch
    with pytest.raises(RuntimeError, match="disk full"):
        run_extractor("chat", date_from=START, date_to=END, run_id="ordered", options=options)
    assert failed.is_set()
    pages = q(tenant, "SELECT count(*) AS n FROM raw.raw_chat_stats WHERE endpoint = '/v1/chat/history/csv'")
    assert pages[0]["n"] == 0
    assert states(tenant).get("messages", {}).get("last_cursor") is None
    monkeypatch.setattr(runner, "write_batch", real)  # and a clean re-run fetches the whole range
    res = run_extractor("chat", date_from=START, date_to=END, run_id="again", options=options)
    assert res.ok and states(tenant)["messages"]["last_cursor"] == str(END)


def test_contacts_resume_after_last_id_and_sweep_from_the_start_when_due(tenant, ds):
    """Incremental contacts read only new ids, but re-read everything once the sweep interval passed."""

    def first_params(run_id: str) -> dict:
        rows = q(tenant, "SELECT request_params FROM raw.extraction_log WHERE run_id = :r "
                         "AND endpoint = '/v1/chat/contacts' ORDER BY id LIMIT 1", r=run_id)  # fmt: skip
        return rows[0]["request_params"]

    last = ds.contacts()[-1]["id"]
    assert run_extractor("contacts", run_id="c1").ok
    assert "lastId" not in first_params("c1")  # first run: from the first contact
    assert run_extractor("contacts", run_id="c2").ok
    assert first_params("c2")["lastId"] == str(last)  # within the sweep interval: only ids after the cursor
    res = run_extractor("contacts", run_id="c3", options=ExtractOptions(contacts_sweep_hours=0))
    assert res.ok and "lastId" not in first_params("c3") and res.rows_in == len(ds.contacts())
    assert states(tenant)["contacts"]["last_cursor"] == str(last)


@pytest.mark.slow  # 3-6 s each on 2 busy cores: simulator HTTP + extract + transform
def test_bi_extract_all_runs_the_stage_and_prints_every_summary(tenant, capsys):
    from lib.cli import main

    rc = main(["extract", "all", "--date-from", str(START), "--date-to", str(END)])
    out = capsys.readouterr().out
    assert rc == 0  # email and in-app fail upstream: optional, warnings only
    assert all(f"extract_{name}" in out for name in EXTRACTORS)
    runs = q(tenant, "SELECT DISTINCT run_id FROM raw.extraction_log")
    assert len(runs) == 1  # one stage, one run id
    assert main(["extract", "nope"]) == 1
    assert "unknown extractor(s) nope" in capsys.readouterr().err


def test_merged_state_row_of_endpoints_sharing_an_entity():
    """sms_stats = daily stats (dated) + campaigns + sends (snapshots): one row, merged."""
    from lib.extract.model import EntitySpec
    from lib.extract.state import EntityRun, merged_state_rows

    def noop(*_):  # never called: the runs are driven by hand
        return iter(())

    dated = EntitySpec(
        "sms_stats", "raw_sms_stats", "/v2/sms/stats/application", noop, kind="dated", window_days=30
    )
    camps = EntitySpec("sms_campaigns", "raw_sms_stats", "/v2/sms/campaign", noop, entity="sms_stats")
    sends = EntitySpec("sms_sends", "raw_sms_stats", "/v2/sms/send", noop, entity="sms_stats")
    today = date(2026, 3, 10)
    runs = [EntityRun(s, "2026-02-20", today) for s in (dated, camps, sends)]
    for run in runs:
        run.plan(["1"], ExtractOptions(), date_from=None, date_to=None, mode="incremental")
    [row] = merged_state_rows("t", runs, ["sms_stats"])
    assert (row["status"], row["last_cursor"], row["entity"]) == ("running", "2026-02-20", "sms_stats")

    for task in runs[0].tasks:  # the daily stats succeed through today
        runs[0].task_done(task, True)
    runs[0].records = 19
    runs[1].task_done(runs[1].tasks[0], True)
    runs[1].records = 4
    [row] = merged_state_rows("t", runs, ["sms_stats"])
    assert row["status"] == "running" and row["last_sync_at"] is None  # sends still pending

    runs[2].errors.append("GET /v2/sms/send -> 500")
    runs[2].task_done(runs[2].tasks[0], False)
    [row] = merged_state_rows("t", runs, ["sms_stats"])
    assert row["status"] == "error" and row["last_error"] == "GET /v2/sms/send -> 500"
    assert row["last_cursor"] == str(today)  # the dated endpoint's progress is kept; snapshots have none
    assert row["records_synced"] == 23
