"""Raw layer v2 (issue 16, and issue 15's bad input) with real HTTP to the simulator and a real PostgreSQL:
v1 and v2 history pages give the same public tables; identical re-reads are logged, not stored; windows
cover the tenant's local days and public.data_coverage says which are complete (a zone west of UTC and
one east); first_contact and drafts; every form of bad input is stored losslessly and transformed, its
untypable fields counted as rejects."""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fixtures_sim import configure_tenant
from sqlalchemy import text

from lib.api import Backoff, ClientConfig, IndigitallClient, RetryPolicy
from lib.config import reload_settings
from lib.db import tenant_tx
from lib.extract import ExtractOptions, run_extractor
from lib.extract.delta import page_text
from lib.extract.escape import MARK, escape_value, original_bytes, public_text, storable_json, storable_text
from lib.simulator import Dataset, FaultConfig, start_in_thread
from lib.simulator.csvfmt import format_line
from lib.simulator.faults import bad_form
from lib.transform import run_all


@pytest.fixture(scope="module")
def db_url(module_db_url: str) -> str:
    return module_db_url


KEY = "5c1e0a2b-9f3d-4c7e-8a6b-2468ace13579"
APP = "100274"
SCALE = 0.1
START, END = date(2026, 1, 12), date(2026, 1, 25)  # two ISO weeks of local days


@pytest.fixture(scope="module")
def sim():
    with start_in_thread(seed=11, server_key=KEY, scale=SCALE) as running:
        yield running


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return Dataset(seed=11, tenant_id="demo", timezone="America/Bogota", application_id=APP, scale=SCALE)


@pytest.fixture
def make_tenant(db_url, monkeypatch, tmp_path):
    """make_tenant(url, tz) -> a fresh tenant id configured through the env (RLS keeps tests apart)."""

    def make(url: str, tz: str = "America/Bogota") -> str:
        tid = f"v{secrets.token_hex(4)}"
        configure_tenant(monkeypatch, tmp_path, tenant=tid, url=url, key=KEY, app=APP, TENANT_TIMEZONE=tz)
        return tid

    yield make
    reload_settings()


def q(tenant_id: str, sql: str, *, role: str = "pipeline", **params):
    with tenant_tx(tenant_id, role=role) as conn:  # raw is read by the pipeline (and dbt) only
        return [dict(r) for r in conn.execute(text(sql), params).mappings().all()]


def table(tenant_id: str, name: str) -> list[tuple]:
    """A public table's rows without id/updated_at/tenant_id, sorted."""
    rows = q(tenant_id, f"SELECT * FROM public.{name}")  # noqa: S608 - fixed names
    return sorted(tuple(sorted((k, repr(v)) for k, v in r.items() if k not in ("id", "updated_at", "tenant_id")))
                  for r in rows)  # fmt: skip


def transform_all(tenant_id: str) -> dict:
    results = {r.step: r for r in run_all(tenant_id=tenant_id)}
    assert all(r.ok for r in results.values()), {k: r.errors for k, r in results.items() if not r.ok}
    return results


def local_dates(rows: list[dict], tz: str) -> Counter:
    zone = ZoneInfo(tz)
    return Counter(datetime.fromisoformat(r["messageDate"]).astimezone(zone).date() for r in rows)


# -- formats ---------------------------------------------------------------------------------------------
@pytest.mark.slow  # 3-6 s each on 2 busy cores: simulator HTTP + extract + transform
def test_v1_and_v2_of_the_same_pages_give_identical_public_tables(sim, make_tenant):
    tenants, results = {}, {}
    for fmt in (1, 2):
        tid = make_tenant(sim.url)
        for name in ("chat", "contacts"):
            res = run_extractor(
                name, date_from=START, date_to=END, options=ExtractOptions(history_format=fmt)
            )
            assert res.ok, res.errors
        tenants[fmt], results[fmt] = tid, transform_all(tid)
    v1 = q(tenants[1], "SELECT source_data FROM raw.raw_chat_stats WHERE endpoint = '/v1/chat/history/csv'")
    v2 = q(tenants[2], "SELECT source_data FROM raw.raw_chat_stats WHERE endpoint = '/v1/chat/history/csv'")
    assert v1 and all("rows" in p["source_data"] and "text" not in p["source_data"] for p in v1)
    assert v2 and all(p["source_data"]["version"] == 2 and "rows" not in p["source_data"] for p in v2)
    assert results[2]["messages"].metrics["v2_pages"] == len(v2)
    assert results[1]["messages"].rows_out == results[2]["messages"].rows_out > 1000
    for name in ("messages", "contacts", "chat_conversations", "daily_stats", "agents", "chat_channels"):
        assert table(tenants[1], name) == table(tenants[2], name), name


def test_escape_round_trips_any_bytes_and_postgres_agrees(db_url):
    """storable_text/storable_json keep every byte (original_bytes), and ops.raw_text = public_text."""
    rng = __import__("random").Random(7)
    samples = [
        b"plain",
        b"\x00",
        b"100%\x00",
        b"\xff\xfe",
        b"\xed\xa0\x80",
        MARK.encode() + b"x",
        b"caf\xc3\xa9%",
    ]
    samples += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))) for _ in range(300)]
    stored = []
    for raw in samples:
        s, _ = storable_text(raw)
        assert original_bytes(s) == raw
        stored.append(s)
    body = b'{"a":"x\\u0000y","b":"\\ud800z","c":"\xff","\\u0000k":NaN,"d":"ok"}'
    doc, escaped = storable_json(body)
    assert escaped == 4 and '"c":"\ue000%FF"' in doc and '"d":"ok"' in doc
    assert storable_json(b'{"a":"ok"}') == ('{"a":"ok"}', 0)  # nothing to escape: stored as sent
    with tenant_tx("nobody") as conn:
        got = conn.execute(
            text("SELECT ops.raw_text(v) FROM unnest(CAST(:v AS text[])) v"), {"v": stored}
        ).scalars()
        assert list(got) == [public_text(s) for s in stored]
        row = conn.execute(text("SELECT CAST(:d AS jsonb) AS j"), {"d": doc}).scalar_one()
    assert public_text(row["a"]) == "x\ufffdy" and public_text(row["b"]) == "\ufffd\ufffd\ufffdz"
    assert escape_value("100%") == "100%" and public_text(escape_value("\ue000100%")) == "\ue000100%"


# -- re-extraction -----------------------------------------------------------------------------------------
@pytest.mark.slow  # 3-6 s each on 2 busy cores: simulator HTTP + extract + transform
def test_identical_re_reads_are_logged_not_stored_and_raw_grows_by_distinct_responses(sim, ds, make_tenant):
    tid = make_tenant(sim.url)
    now = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)  # 07:00 in Bogota
    options = ExtractOptions(backfill_days=10)

    def extract(run_id: str, at: datetime) -> None:
        res = run_extractor("chat", run_id=run_id, now=at, options=options)
        assert res.ok, res.errors

    def raw_ids() -> set[int]:
        return {r["id"] for r in q(tid, "SELECT id FROM raw.raw_chat_stats")}

    def logged(run_id: str) -> list[dict]:
        return q(tid, "SELECT l.raw_id, l.repeated, l.request_params, l.endpoint, r.run_id AS stored_by "
                      "FROM raw.extraction_log l LEFT JOIN raw.raw_chat_stats r ON r.id = l.raw_id "
                      "WHERE l.run_id = :r AND l.http_status = 200", r=run_id)  # fmt: skip

    extract("backfill", now)  # ISO-week windows
    extract("inc-1", now)  # the lookback days one window per day: new requests, stored
    before = raw_ids()
    extract("inc-2", now)  # the same requests, the same answers
    assert raw_ids() == before
    second = logged("inc-2")
    assert second and all(r["repeated"] and r["stored_by"] in ("backfill", "inc-1") for r in second)
    history = [r for r in second if r["endpoint"] == "/v1/chat/history/csv"]
    # the cursor is local 02-10: local 02-08..02-10 -> UTC 02-08..02-10 (02-11 has not begun)
    assert sorted(r["request_params"]["dateFrom"] for r in history) == [
        "2026-02-08",
        "2026-02-09",
        "2026-02-10",
    ]
    assert all(r["request_params"]["dateFrom"] == r["request_params"]["dateTo"] for r in history)

    extract("next-day", now + timedelta(days=1))  # 02-08..02-10 unchanged; 02-11 is new
    third = logged("next-day")
    stored = [r for r in third if not r["repeated"]]
    assert len(raw_ids()) - len(before) == len(stored)  # raw grows by the distinct responses only
    assert {(r["endpoint"], r["request_params"].get("dateFrom")) for r in stored} >= {
        ("/v1/chat/history/csv", "2026-02-11"),
        ("/v1/chat/agent/conversations", "2026-02-11"),
    }
    assert not [r for r in stored if r["request_params"].get("dateFrom", "2026-02-11") < "2026-02-11"]
    repeated = [r for r in third if r["repeated"] and r["endpoint"] == "/v1/chat/history/csv"]
    assert sorted(r["request_params"]["dateFrom"] for r in repeated) == [
        "2026-02-08",
        "2026-02-09",
        "2026-02-10",
    ]
    # the transforms read what raw holds: the same messages as the generator's, each once
    transform_all(tid)
    n = q(tid, "SELECT count(*) AS n FROM public.messages")[0]["n"]
    assert n == len(ds.history_rows("2026-02-01", "2026-02-11"))


class AsAt(httpx.HTTPTransport):
    """Real HTTP; history answers as the API would at `cut`: later messages are not there yet, and a
    session still open then has no agentClosedAt (the rows change in place when it closes)."""

    cut = "9999"

    def handle_request(self, request):
        response = super().handle_request(request)
        if request.url.path != "/v1/chat/history/csv":
            return response
        reader = csv.reader(io.StringIO(response.read().decode(), newline=""))
        header = next(reader)
        at = {n: i for i, n in enumerate(header)}
        lines = [",".join(header) + "\n"]
        for values in reader:
            if values[at["messageDate"]][:19] > self.cut:
                continue
            if values[at["agentClosedAt"]][:19] > self.cut:
                values[at["agentClosedAt"]] = values[at["agentCloseReason"]] = ""
            lines.append(format_line([v or None for v in values]))
        return httpx.Response(200, headers={"Content-Type": "text/csv"}, content="".join(lines).encode())


def test_a_day_still_filling_is_stored_as_a_delta_that_rebuilds_the_page_exactly(sim, ds, make_tenant):
    tid = make_tenant(sim.url)
    transport = AsAt()
    policy = RetryPolicy(max_attempts=3, backoff=Backoff(base=0.01))
    client = IndigitallClient(
        sim.url, KEY, config=ClientConfig(rate_limit=None, retry=policy), transport=transport
    )
    day = "2026-02-10"
    sent = {}
    with client:
        for hour in ("13", "20", "23"):  # the same request (UTC day 02-10) three times as the day fills
            transport.cut = f"{day}T{hour}:00:00"
            res = run_extractor("chat", date_from=day, date_to=day, client=client, run_id=f"h{hour}",
                                now=datetime.fromisoformat(f"{day}T{hour}:00:00+00:00"))  # fmt: skip
            assert res.ok, res.errors
            page = next(client.history_pages(APP, date(2026, 2, 10), date(2026, 2, 10)))
            sent[hour] = page.content
    pages = q(tid, "SELECT r.id, r.run_id, r.source_data, r.response_sha256 FROM raw.raw_chat_stats r "
                   "WHERE endpoint = '/v1/chat/history/csv' AND date_from = :d ORDER BY id", d=date(2026, 2, 10))  # fmt: skip
    assert [p["run_id"] for p in pages] == ["h13", "h20", "h23"]
    full, *deltas = pages
    assert "text" in full["source_data"] and all("delta" in p["source_data"] for p in deltas)
    assert [p["source_data"]["base"] for p in deltas] == [full["id"], deltas[0]["id"]]
    assert sent["13"] != sent["20"] and not sent["23"].startswith(sent["20"])  # rows appended and changed

    def fetch(raw_id: int) -> dict:
        return next(p["source_data"] for p in pages if p["id"] == raw_id)

    for p in pages:
        rebuilt = original_bytes(page_text(fetch, p["id"]))
        assert (
            rebuilt == sent[p["run_id"][1:]] and hashlib.sha256(rebuilt).hexdigest() == p["response_sha256"]
        )
    for p in deltas:  # a delta holds the lines that changed, not the page
        inserted = sum(len(op.encode()) for op in p["source_data"]["delta"] if isinstance(op, str))
        assert inserted < 0.8 * len(sent[p["run_id"][1:]])
    transform_all(tid)
    got = {r["message_id"]: r for r in q(tid, "SELECT message_id, close_reason FROM public.messages")}
    want = {
        r["messageId"]: r for r in ds.history_rows(day, day) if r["messageDate"][:19] <= f"{day}T23:00:00"
    }
    assert set(got) == set(want)
    closed_late = [
        m
        for m, r in want.items()
        if r["agentClosedAt"] and "20:00:00" < r["agentClosedAt"][11:19] <= "23:00:00"
    ]
    assert closed_late and all(got[m]["close_reason"] == want[m]["agentCloseReason"] for m in closed_late)


# -- local days and coverage ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tz", "first_utc"), [("America/Bogota", "2026-02-04"), ("Asia/Tokyo", "2026-02-03")]
)
@pytest.mark.slow  # 3-6 s each on 2 busy cores: simulator HTTP + extract + transform
def test_backfill_covers_whole_local_days_and_marks_the_partial_ones(sim, ds, make_tenant, tz, first_utc):
    tid = make_tenant(sim.url, tz)
    now = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)  # Bogota 07:00, Tokyo 21:00: 02-10 is not over in either
    res = run_extractor("chat", now=now, options=ExtractOptions(backfill_days=7), run_id="bf")
    assert res.ok, res.errors
    assert run_extractor("push", now=now, options=ExtractOptions(backfill_days=7)).ok
    asked = q(tid, "SELECT min(request_params->>'dateFrom') AS lo, max(request_params->>'dateTo') AS hi "
                   "FROM raw.extraction_log WHERE endpoint = '/v1/chat/history/csv'")[0]  # fmt: skip
    assert (asked["lo"], asked["hi"]) == (first_utc, "2026-02-10")  # one extra UTC day on the zone's side
    transform_all(tid)
    counts = {
        r["date"]: r["n"] for r in q(tid, "SELECT date, count(*) AS n FROM public.messages GROUP BY date")
    }
    truth = local_dates(ds.history_rows("2026-02-01", "2026-02-12"), tz)
    first = date(2026, 2, 4)
    assert counts[first] == truth[first] > 50  # the backfill's first local day is whole
    for day in range(4, 10):
        assert counts[date(2026, 2, day)] == truth[date(2026, 2, day)]
    cov = {r["entity"]: r for r in q(tid, "SELECT * FROM public.data_coverage")}
    for entity in ("messages", "chat_conversations", "toques_daily"):
        assert (cov[entity]["complete_from"], cov[entity]["complete_to"]) == (first, date(2026, 2, 9)), entity
        assert cov[entity]["loaded_through"] == now
    # the edge days present in public.messages are the partial ones, outside the complete range
    partial = [d for d in counts if not first <= d <= date(2026, 2, 9)]
    # (02-10 is partial by the clock only: the simulator serves a UTC day whole, future hours included)
    assert partial and all(counts[d] < truth[d] for d in partial if d != date(2026, 2, 10))
    # the next day's incremental run completes 02-10; the range joins the stored one
    later = now + timedelta(days=1)
    assert run_extractor("chat", now=later).ok
    cov = {r["entity"]: r for r in q(tid, "SELECT * FROM public.data_coverage")}
    assert (cov["messages"]["complete_from"], cov["messages"]["complete_to"]) == (first, date(2026, 2, 10))
    assert cov["messages"]["loaded_through"] == later
    # an explicit range away from the loaded days is stored but does not make its days complete
    assert run_extractor("chat", date_from="2026-01-05", date_to="2026-01-06", now=later).ok
    cov = {r["entity"]: r for r in q(tid, "SELECT * FROM public.data_coverage")}
    assert (cov["messages"]["complete_from"], cov["messages"]["complete_to"]) == (first, date(2026, 2, 10))
    # a tenant table the dashboards read: the app login sees its tenant's rows, another tenant none
    assert len(q(tid, "SELECT * FROM public.data_coverage", role="app")) == 3
    assert q(f"{tid}-other", "SELECT * FROM public.data_coverage", role="app") == []


# -- contacts and campaigns ------------------------------------------------------------------------------
class LateCreated(httpx.HTTPTransport):
    """Real HTTP; one contact's createdAt comes back later than its messages (the data do not say so)."""

    def __init__(self, contact_id: str) -> None:
        super().__init__()
        self.contact_id = contact_id

    def handle_request(self, request):
        response = super().handle_request(request)
        if request.url.path != "/v1/chat/contacts":
            return response
        doc = __import__("json").loads(response.read())
        for item in doc["data"]:
            if item["contactId"] == self.contact_id:
                item["createdAt"] = "2026-12-31T12:00:00.000Z"
        return httpx.Response(200, headers={"Content-Type": "application/json"}, json=doc)


@pytest.mark.slow  # 3-6 s each on 2 busy cores: simulator HTTP + extract + transform
def test_first_contact_is_the_earlier_of_created_and_first_message_and_drafts_have_no_start(
    sim, ds, make_tenant
):
    tid = make_tenant(sim.url)
    rows = ds.history_rows(START, END + timedelta(days=1))
    busiest = Counter(r["contactId"] for r in rows).most_common(1)[0][0]
    policy = RetryPolicy(max_attempts=3, backoff=Backoff(base=0.01))
    client = IndigitallClient(sim.url, KEY, config=ClientConfig(rate_limit=None, retry=policy),
                              transport=LateCreated(busiest))  # fmt: skip
    with client:
        for name in ("chat", "contacts", "campaigns"):
            assert run_extractor(name, date_from=START, date_to=END, client=client).ok
    transform_all(tid)
    bogota = ZoneInfo("America/Bogota")
    first_msg: dict[str, date] = {}
    for r in rows:
        d = datetime.fromisoformat(r["messageDate"]).astimezone(bogota).date()
        first_msg[r["contactId"]] = min(first_msg.get(r["contactId"], d), d)
    got = {
        r["contact_id"]: r["first_contact"]
        for r in q(tid, "SELECT contact_id, first_contact FROM public.contacts")
    }
    for c in ds.contacts():
        created = datetime.fromisoformat(c["createdAt"].replace("Z", "+00:00")).astimezone(bogota).date()
        if c["contactId"] == busiest:
            created = date(2026, 12, 31)
        want = min(d for d in (created, first_msg.get(c["contactId"])) if d is not None)
        assert got[c["contactId"]] == want, c["contactId"]
    assert got[busiest] == first_msg[busiest]  # createdAt later than the messages: the first message
    assert sum(1 for cid, d in got.items() if d < START) > len(got) / 2  # not capped at the loaded window
    campaigns = {str(c["id"]): c for c in ds.campaigns()}
    public = q(tid, "SELECT campana_id, tipo_campana, fecha_inicio FROM public.campaigns")
    assert len(public) == len(campaigns) and any(p["tipo_campana"] == "draft" for p in public)
    for p in public:
        c = campaigns[p["campana_id"]]
        if c["status"] == "draft":
            assert p["fecha_inicio"] is None
        else:
            sent = datetime.fromisoformat(c["sendDate"].replace("Z", "+00:00")).astimezone(bogota).date()
            assert p["fecha_inicio"] == sent


# -- bad input -------------------------------------------------------------------------------------------
@pytest.mark.slow  # 3-6 s each on 2 busy cores: simulator HTTP + extract + transform
def test_every_form_of_bad_input_is_stored_losslessly_and_transformed(db_url, make_tenant):
    with start_in_thread(seed=11, server_key=KEY, scale=0.2, faults=FaultConfig(bad_input=True)) as bad:
        tid = make_tenant(bad.url)
        for name in ("chat", "contacts"):
            res = run_extractor(name, date_from=START, date_to=START + timedelta(days=6))
            assert res.ok and not res.warnings, (res.errors, res.warnings)
        pages = q(tid, "SELECT date_from, date_to, request_params, source_data FROM raw.raw_chat_stats "
                       "WHERE endpoint = '/v1/chat/history/csv'")  # fmt: skip
        with httpx.Client(base_url=bad.url, headers={"Authorization": f"ServerKey {KEY}"}) as http:
            for p in pages:  # byte for byte what the API sent
                sent = http.get("/v1/chat/history/csv", params=p["request_params"]).content
                assert original_bytes(p["source_data"]["text"]) == sent
            contacts_sent = http.get(
                "/v1/chat/contacts", params={"applicationId": APP, "limit": 1000}
            ).content
    assert any(p["source_data"]["text"].startswith(MARK) for p in pages)
    results = transform_all(tid)
    clean = Dataset(seed=11, scale=0.2)
    rows = {r["messageId"]: r for r in clean.history_rows(START, START + timedelta(days=7))}
    public = {r["message_id"]: r for r in q(tid, "SELECT * FROM public.messages")}
    forms = Counter()
    for mid, r in rows.items():
        form = bad_form("history", mid)
        if form is None or mid not in public:
            continue
        forms[form] += 1
        body, content = public[mid]["message_body"], r["content"]
        expected = {"nul": content + "\ufffd 100%", "invalid_utf8": content + "\ufffd\ufffd(",
                    "surrogate": content + "\ufffd" * 3, "marker": "\ue000" + content,
                    "bad_agent_timestamp": content}[form]  # fmt: skip
        assert body == expected, (mid, form)
        if form == "bad_agent_timestamp":
            assert public[mid]["wait_time_seconds"] is None
    assert set(forms) == {"nul", "invalid_utf8", "surrogate", "marker", "bad_agent_timestamp"}
    assert len(public) == len([m for m in rows if m in public]) > 1000  # every row is loaded
    messages = results["messages"]
    assert messages.rejects == forms["bad_agent_timestamp"] == messages.metrics["kept_with_null_fields"]
    assert all("agentQueuedAt" in s["reason"] for s in messages.reject_samples)

    contacts = {r["contact_id"]: r for r in q(tid, "SELECT * FROM public.contacts")}
    cforms = Counter()
    for c in clean.contacts():
        form = bad_form("contacts", c["id"])
        if form is None:
            continue
        cforms[form] += 1
        got, name = contacts[c["contactId"]], c["profileName"] or ""
        if form == "bad_timestamp":
            assert got["source_created_at"] is None and got["contact_name"] == c["profileName"]
        else:
            tail = {"nul": "\ufffd", "surrogate": "\ufffd" * 3, "invalid_utf8": "\ufffd"}[form]
            assert got["contact_name"] == name + tail, form
    assert set(cforms) == {"nul", "surrogate", "invalid_utf8", "bad_timestamp"}
    assert len(contacts) == len(clean.contacts())
    assert results["contacts"].rejects == cforms["bad_timestamp"]
    raw_contacts = q(tid, "SELECT source_data::text AS s FROM raw.raw_contacts_api ORDER BY id")[0]["s"]
    assert "%00" in raw_contacts and "%ED%A0%80" in raw_contacts and "%FF" in raw_contacts
    assert b"\\u0000" in contacts_sent  # what was sent, escaped in raw

    sessions = {r["session_id"]: r for r in q(tid, "SELECT * FROM public.chat_conversations")}
    bad_sessions = [s for s in clean.agent_sessions(START, START + timedelta(days=7))
                    if bad_form("sessions", s["agentSessionId"]) and str(s["agentSessionId"]) in sessions]  # fmt: skip
    assert bad_sessions and all(sessions[str(s["agentSessionId"])]["queued_at"] is None for s in bad_sessions)
    assert results["chat_conversations"].rejects == len(bad_sessions)
