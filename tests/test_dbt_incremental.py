"""The chat chain's incremental models (int_messages__sessionized, fct_messages, int_conversations,
mart_daily_kpis): after new and changed rows, an incremental build leaves every model exactly as a full
rebuild would, while re-grouping only the contacts that changed and rewriting only the days that did.
Its own database: the session's dbt build is shared."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fixtures_dbt import EDGE, EDGE_TZ, edge_rows, insert_rows, load_raw, tenants_configured
from sqlalchemy import text

from lib.db import get_engine
from lib.dbt_runner import run_dbt
from lib.simulator import Dataset

COOP = {"tenant_id": "coop", "seed": 7, "timezone": "Europe/Madrid", "application_id": "300007", "scale": 0.3}
# the models a message change reaches, and what they are compared on (all but the build stamps)
CHECKED = ("int_messages__sessionized", "fct_messages", "int_conversations", "fct_conversations",
           "int_agent_sessions", "int_intents", "mart_daily_kpis", "mart_intent_performance")  # fmt: skip
STAMPED = (
    "int_messages__sessionized",
    "fct_messages",
    "int_conversations",
    "int_agent_sessions",
    "int_intents",
)


def _local(day: str, hms: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hms}").replace(tzinfo=EDGE_TZ)


def _load_coop(url: str, folder: Path, date_from: str, date_to: str) -> None:
    """The simulator tenant's window through raw.* and the pipeline's transforms."""
    from lib.transform import run_all

    ds = Dataset(seed=COOP["seed"], tenant_id=COOP["tenant_id"], timezone=COOP["timezone"],
                 application_id=COOP["application_id"], scale=COOP["scale"])  # fmt: skip
    with tenants_configured([COOP], folder):
        load_raw(COOP["tenant_id"], ds, date_from, date_to, app=COOP["application_id"])
        failed = [(r.step, r.errors) for r in run_all(tenant_id=COOP["tenant_id"]) if not r.ok]
    assert not failed, failed


def _edge_changes(url: str) -> None:
    """What the next hours bring to the EDGE tenant (public rows, as the transforms write them):
    an earlier message of e2 joins (and renames) its first conversation; e3's bot answer moves to a
    new contact e6; e1's queued session gets assigned (its messages unchanged); e7 writes a day later,
    which moves the tenant's end of data (e3 and e5 close and their repeat window gets loaded)."""
    rows = edge_rows()
    template = next(r for r in rows["messages"] if r[1] == "e2-1")
    late = _local("2026-03-10", "10:40:00")
    e7 = _local("2026-03-13", "12:00:00")
    insert_rows(url, {"messages": [
        (EDGE, "e2-0", late, late.date(), late.hour, late.strftime("%A"), *template[6:]),
        (EDGE, "e7-1", e7, e7.date(), e7.hour, e7.strftime("%A"), *template[6:10], "Contacto e7", "e7",
         *template[12:]),
    ]})  # fmt: skip
    with get_engine("owner", url).begin() as conn:
        conn.execute(text("UPDATE public.messages SET contact_id = 'e6', updated_at = now() "
                          "WHERE tenant_id = :t AND message_id = 'e3-2'"), {"t": EDGE})  # fmt: skip
        conn.execute(
            text("UPDATE public.chat_conversations SET assigned_at = queued_at + interval '40 seconds', "
                 "updated_at = now() WHERE tenant_id = :t AND session_id = 'es1'"), {"t": EDGE}
        )  # fmt: skip
        # a late copy of a coop message inside the second conversation of a contact with three or more:
        # the contact is re-grouped from that conversation's start, its first conversation kept as built
        inserted = conn.execute(text(MIDDLE_INSERT), {"t": COOP["tenant_id"], "suffix": MIDDLE}).rowcount
        # for mart_daily_kpis' days: a coop message corrected to the next day (its old day loses it), and
        # an agent session whose new first message is a day earlier (the old first one is unchanged)
        moved = conn.execute(text(DAY_MOVE), {"t": COOP["tenant_id"], "tz": COOP["timezone"]}).rowcount
        earlier = conn.execute(
            text(SESSION_EARLIER), {"t": COOP["tenant_id"], "tz": COOP["timezone"]}
        ).rowcount
    assert inserted == 1 and moved == 1 and earlier == 1


MIDDLE = "late-middle"
MIDDLE_INSERT = """
WITH convs AS (
    SELECT contact_key, conversation_key, min(message_ts) AS started, count(*) AS n,
           row_number() OVER (PARTITION BY contact_key ORDER BY min(message_ts)) AS seq,
           count(*) OVER (PARTITION BY contact_key) AS of_contact
    FROM analytics.int_messages__sessionized WHERE tenant_id = :t AND contact_key <> ''
    GROUP BY contact_key, conversation_key
), target AS (
    SELECT s.message_id FROM convs JOIN analytics.int_messages__sessionized s
        ON s.tenant_id = :t AND s.conversation_key = convs.conversation_key
    WHERE convs.seq = 2 AND convs.of_contact >= 3 AND convs.n >= 2 AND NOT s.is_conversation_start
    ORDER BY convs.contact_key, s.message_ts LIMIT 1
)
INSERT INTO public.messages (tenant_id, message_id, "timestamp", date, hour, day_of_week, send_type,
    direction, content_type, status, contact_name, contact_id, conversation_id, agent_id, close_reason,
    intent, is_fallback, message_body, is_bot, is_human, wait_time_seconds, handle_time_seconds, channel,
    integration)
SELECT tenant_id, message_id || '-' || :suffix, "timestamp" + interval '1 second', date, hour, day_of_week,
    send_type, direction, content_type, status, contact_name, contact_id, conversation_id, agent_id,
    close_reason, intent, is_fallback, message_body, is_bot, is_human, wait_time_seconds,
    handle_time_seconds, channel, integration
FROM public.messages WHERE tenant_id = :t AND message_id = (SELECT message_id FROM target)
"""

DAY_MOVE = """
UPDATE public.messages SET "timestamp" = "timestamp" + interval '1 day',
    date = (("timestamp" + interval '1 day') AT TIME ZONE :tz)::date, updated_at = now()
WHERE id = (SELECT id FROM public.messages WHERE tenant_id = :t AND conversation_id IS NULL
            AND contact_id IS NOT NULL ORDER BY contact_id DESC, "timestamp" LIMIT 1)
"""
SESSION_EARLIER = """
INSERT INTO public.messages (tenant_id, message_id, "timestamp", date, hour, day_of_week, send_type,
    direction, content_type, status, contact_name, contact_id, conversation_id, agent_id, close_reason,
    intent, is_fallback, message_body, is_bot, is_human, wait_time_seconds, handle_time_seconds, channel,
    integration)
SELECT tenant_id, message_id || '-early', "timestamp" - interval '1 day',
    (("timestamp" - interval '1 day') AT TIME ZONE :tz)::date, hour, day_of_week, send_type, direction,
    content_type, status, contact_name, contact_id, conversation_id, agent_id, close_reason, intent,
    is_fallback, message_body, is_bot, is_human, wait_time_seconds, handle_time_seconds, channel, integration
FROM public.messages
WHERE id = (SELECT id FROM public.messages WHERE tenant_id = :t AND conversation_id IS NOT NULL
            ORDER BY conversation_id DESC, "timestamp" LIMIT 1)
"""

LATE_COPY = """
INSERT INTO public.messages (tenant_id, message_id, "timestamp", date, hour, day_of_week, send_type,
    direction, content_type, status, contact_name, contact_id, conversation_id, agent_id, close_reason,
    intent, is_fallback, message_body, is_bot, is_human, wait_time_seconds, handle_time_seconds, channel,
    integration)
SELECT tenant_id, message_id || '-copy', "timestamp" + interval '1 second', date, hour, day_of_week,
    send_type, direction, content_type, status, contact_name, contact_id, conversation_id, agent_id,
    close_reason, intent, is_fallback, message_body, is_bot, is_human, wait_time_seconds,
    handle_time_seconds, channel, integration
FROM public.messages
WHERE id = (SELECT id FROM public.messages WHERE tenant_id = :t AND conversation_id IS NULL
            AND contact_id IS NOT NULL ORDER BY "timestamp" LIMIT 1)
RETURNING date
"""


def _columns(conn, table: str) -> list[str]:
    """The table's columns but the build stamps (built_at, computed_at); sums of doubles rounded (their
    last digit depends on the order PostgreSQL adds them in, which differs between two builds)."""
    rows = conn.execute(
        text("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'analytics' "
             "AND table_name = :t AND column_name NOT IN ('built_at', 'computed_at') "
             "ORDER BY ordinal_position"), {"t": table}
    ).all()  # fmt: skip
    return [f'round("{c}"::numeric, 6) AS "{c}"' if t == "double precision" else f'"{c}"' for c, t in rows]


def _snapshot(url: str) -> None:
    with get_engine("owner", url).begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS snap CASCADE; CREATE SCHEMA snap"))
        for t in CHECKED:
            cols = ", ".join(_columns(conn, t))
            conn.execute(text(f"CREATE TABLE snap.{t} AS SELECT {cols} FROM analytics.{t}"))  # noqa: S608


def _differences(url: str) -> dict[str, tuple[int, int, int]]:
    """table -> (rows only in the snapshot, rows only in analytics, rows) for the tables that differ."""
    out = {}
    with get_engine("owner", url).connect() as conn:
        for t in CHECKED:
            cols = ", ".join(_columns(conn, t))
            names = ", ".join(c.rsplit(" AS ", 1)[-1] for c in _columns(conn, t))
            a, b, n = conn.execute(text(
                f"SELECT (SELECT count(*) FROM (SELECT {names} FROM snap.{t} EXCEPT ALL "  # noqa: S608
                f"SELECT {cols} FROM analytics.{t}) x), (SELECT count(*) FROM (SELECT {cols} FROM "
                f"analytics.{t} EXCEPT ALL SELECT {names} FROM snap.{t}) y), (SELECT count(*) FROM snap.{t})"
            )).one()  # fmt: skip
            if a or b or not n:
                out[t] = (a, b, n)
    return out


def _build(**kw) -> None:
    res = run_dbt("build", **kw)
    assert res.ok, res.errors


@pytest.fixture(scope="module")
def incremental_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database built once in full, then changed (`_edge_changes`, two more simulator days)."""
    from lib.db.scratch import scratch_database

    folder = tmp_path_factory.mktemp("dbt-incremental")
    # the whole test runs within minutes: with the default lookback every build would re-read it all
    old = os.environ.get("BI_DBT_LOOKBACK_MINUTES")
    os.environ["BI_DBT_LOOKBACK_MINUTES"] = "0"
    with scratch_database("bi_test_incr") as url:
        _load_coop(url, folder, "2026-03-09", "2026-03-10")
        insert_rows(url, edge_rows())
        _build()
        _load_coop(url, folder, "2026-03-11", "2026-03-12")
        _edge_changes(url)
        yield url
    if old is None:
        os.environ.pop("BI_DBT_LOOKBACK_MINUTES", None)
    else:
        os.environ["BI_DBT_LOOKBACK_MINUTES"] = old


def test_an_incremental_build_equals_a_full_rebuild(incremental_db: str) -> None:
    url = incremental_db
    _build()
    owner = get_engine("owner", url)
    with owner.connect() as conn:
        newest = {
            t: conn.execute(text(
                f"SELECT count(*) FILTER (WHERE built_at = (SELECT max(built_at) FROM analytics.{t})), "  # noqa: S608
                f"count(*) FROM analytics.{t}"
            )).one()
            for t in STAMPED
        }  # fmt: skip
        keys = dict(conn.execute(text(
            "SELECT message_id, conversation_key FROM analytics.fct_messages WHERE tenant_id = :t "
            "AND message_id IN ('e2-0', 'e2-1', 'e3-2', 'e7-1')"), {"t": EDGE}).all())  # fmt: skip
        e1_wait, e5_closed = conn.execute(text(
            "SELECT max(wait_seconds) FILTER (WHERE contact_id = 'e1'), "
            "bool_and(is_closed) FILTER (WHERE contact_id = 'e5') FROM analytics.fct_conversations "
            "WHERE tenant_id = :t"), {"t": EDGE}).one()  # fmt: skip
    # the changes reached the models ...
    assert keys == {"e2-0": "e2:e2-0", "e2-1": "e2:e2-0", "e3-2": "e6:e3-2", "e7-1": "e7:e7-1"}
    assert e1_wait == 40 and e5_closed is True
    # ... while the build rewrote only the contacts that changed, not every row
    for t, (rewritten, total) in newest.items():
        assert 0 < rewritten < total, (t, rewritten, total)
    # ... and of the contact changed in the middle of its history, only from that conversation on
    with owner.connect() as conn:
        kept, redone, first_kept = conn.execute(text(
            "WITH c AS (SELECT contact_key FROM analytics.int_messages__sessionized "
            "WHERE tenant_id = :t AND message_id LIKE :m), s AS (SELECT s.*, max(built_at) OVER () AS newest "
            "FROM analytics.int_messages__sessionized s WHERE s.tenant_id = :t) "
            "SELECT count(*) FILTER (WHERE built_at < newest), count(*) FILTER (WHERE built_at = newest), "
            "bool_and(built_at < newest) FILTER (WHERE message_ts < (SELECT min(message_ts) FROM s "
            "WHERE built_at = newest AND contact_key IN (SELECT contact_key FROM c))) "
            "FROM s WHERE contact_key IN (SELECT contact_key FROM c)"), {"t": COOP["tenant_id"], "m": f"%-{MIDDLE}"}
        ).one()  # fmt: skip
    assert kept > 0 and redone > 0 and first_kept, (kept, redone, first_kept)
    _snapshot(url)
    _build(full_refresh=True)
    assert _differences(url) == {}


def test_the_daily_mart_rewrites_only_the_days_that_changed(incremental_db: str) -> None:
    """One late message outside any agent session: mart_daily_kpis rewrites that tenant-day only (the
    change log, dbt/macros/change_log.sql), and still equals a full rebuild."""
    url = incremental_db
    _build()
    owner = get_engine("owner", url)
    with owner.begin() as conn:
        day = conn.execute(text(LATE_COPY), {"t": COOP["tenant_id"]}).scalar_one()
    _build()
    with owner.connect() as conn:
        rewritten = conn.execute(text(
            "SELECT DISTINCT tenant_id, date FROM analytics.mart_daily_kpis "
            "WHERE built_at = (SELECT max(built_at) FROM analytics.mart_daily_kpis)"
        )).all()  # fmt: skip
        days = conn.execute(
            text("SELECT count(DISTINCT (tenant_id, date)) FROM analytics.mart_daily_kpis")
        ).scalar()
        left = conn.execute(text("SELECT count(*) FROM analytics.bi_change_log")).scalar()
    assert rewritten == [(COOP["tenant_id"], day)] and days > 1 and left == 0, (rewritten, days, left)
    _snapshot(url)
    _build(full_refresh=True)
    assert _differences(url) == {}


def test_an_agent_session_that_now_starts_a_day_later_moves_in_the_daily_mart(incremental_db: str) -> None:
    """e4's agent session crosses midnight. Its first two messages leave it (their rows change, on
    03-11): it now starts on 03-12 with a message whose row did not change, and that day is rewritten
    too (the sessions a changed message left, from the change log)."""
    url = incremental_db
    _build()
    owner = get_engine("owner", url)
    count = (
        "SELECT date, sum(agent_conversations) FROM analytics.mart_daily_kpis WHERE tenant_id = :t "
        "AND date IN ('2026-03-11', '2026-03-12') GROUP BY date ORDER BY date"
    )
    with owner.begin() as conn:
        before = [(str(d), n) for d, n in conn.execute(text(count), {"t": EDGE}).all()]
        conn.execute(text("UPDATE public.messages SET conversation_id = NULL, updated_at = now() "
                          "WHERE tenant_id = :t AND message_id IN ('e4-2', 'e4-3')"), {"t": EDGE})  # fmt: skip
    _build()
    with owner.connect() as conn:
        after = [(str(d), n) for d, n in conn.execute(text(count), {"t": EDGE}).all()]
    assert before == [("2026-03-11", 1), ("2026-03-12", 0)] and after == [
        ("2026-03-11", 0),
        ("2026-03-12", 1),
    ]
    _snapshot(url)
    _build(full_refresh=True)
    assert _differences(url) == {}


def test_tables_built_before_the_stamp_are_rebuilt_in_full_once(incremental_db: str) -> None:
    """A deployment whose tables predate the incremental models (no built_at / contact_key): the next
    build rewrites them whole, with nothing left over from their old rows."""
    url = incremental_db
    _build(full_refresh=True)
    _snapshot(url)
    with get_engine("owner", url).begin() as conn:
        conn.execute(
            text("ALTER TABLE analytics.int_conversations DROP COLUMN contact_key, DROP COLUMN built_at")
        )
        for t in ("int_messages__sessionized", "fct_messages"):
            conn.execute(text(f"ALTER TABLE analytics.{t} DROP COLUMN built_at"))
    late = _local("2026-03-13", "12:10:00")
    insert_rows(url, {"messages": [(EDGE, "e7-2", late, late.date(), late.hour, late.strftime("%A"),
                                    *next(r for r in edge_rows()["messages"] if r[1] == "e2-1")[6:10],
                                    "Contacto e7", "e7", *next(r for r in edge_rows()["messages"])[12:])]})  # fmt: skip
    _build()
    with get_engine("owner", url).connect() as conn:
        dupes = conn.execute(text(
            "SELECT count(*) - count(DISTINCT (tenant_id, conversation_key)) FROM analytics.int_conversations"
        )).scalar_one()  # fmt: skip
        stamped = conn.execute(
            text("SELECT count(*) FILTER (WHERE built_at IS NULL) FROM analytics.fct_messages")
        ).scalar()
    assert dupes == 0 and stamped == 0
    _snapshot(url)
    _build(full_refresh=True)
    assert _differences(url) == {}


@pytest.mark.parametrize("table", ["fct_messages", "int_messages__sessionized"])
def test_the_message_tables_refuse_a_second_row_for_a_message(incremental_db: str, table: str) -> None:
    """Their key is a unique index (kept by every build, the old plain index gone), not a data test
    re-reading the table."""
    _build()
    with get_engine("owner", incremental_db).connect() as conn:
        defs = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE schemaname = 'analytics' AND tablename = :t "
                 "AND indexdef LIKE '%USING btree (tenant_id, message_id)'"), {"t": table}
        ).scalars().all()  # fmt: skip
        assert len(defs) == 1 and defs[0].startswith("CREATE UNIQUE INDEX"), defs
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(text(f"INSERT INTO analytics.{table} SELECT * FROM analytics.{table} LIMIT 1"))  # noqa: S608


def test_tests_of_incremental_models_check_the_rows_this_build_wrote(incremental_db: str) -> None:
    """`where: __built_this_run__` (dbt/macros/test_where.sql): a bad row among the newest build's
    fails its test; one written by an earlier build (checked then) is not re-read."""
    owner = get_engine("owner", incremental_db)
    with owner.begin() as conn:  # a new message: the next build rewrites part of one contact only
        conn.execute(text(MIDDLE_INSERT), {"t": COOP["tenant_id"], "suffix": "late-check"})
    _build()
    pick = (
        "SELECT message_pk FROM analytics.int_messages__sessionized s JOIN analytics.fct_messages f "
        "USING (tenant_id, message_id) WHERE f.built_at {} (SELECT max(built_at) FROM analytics.fct_messages) "
        "LIMIT 1"
    )
    bump = (
        "UPDATE analytics.fct_messages f SET hour = hour + :d FROM analytics.int_messages__sessionized s "
        "WHERE s.message_pk = :pk AND f.tenant_id = s.tenant_id AND f.message_id = s.message_id"
    )
    with owner.begin() as conn:
        new_pk = conn.execute(text(pick.format("="))).scalar_one()
        old_pk = conn.execute(text(pick.format("<"))).scalar_one()

    def hour_test_with_bad(pk: int) -> bool:
        with owner.begin() as conn:
            assert conn.execute(text(bump), {"pk": pk, "d": 100}).rowcount == 1
        try:
            return run_dbt("test", select=["fct_messages,test_name:accepted_range"]).ok
        finally:
            with owner.begin() as conn:
                conn.execute(text(bump), {"pk": pk, "d": -100})

    assert hour_test_with_bad(new_pk) is False
    assert hour_test_with_bad(old_pk) is True


def test_staged_message_tests_read_the_messages_written_since_the_last_build(incremental_db: str) -> None:
    """`where: __since_built__(int_messages__sessionized)`: a bad staged message written after the
    sessionizer's last build fails its test; the same value in a message that build already read is
    not re-read (it was checked before it was read)."""
    owner = get_engine("owner", incremental_db)
    _build()
    with owner.begin() as conn:
        pk = conn.execute(
            text("SELECT id FROM public.messages WHERE tenant_id = :t AND direction = 'Inbound' LIMIT 1"),
            {"t": COOP["tenant_id"]},
        ).scalar_one()

    def direction_test(days_ago: int) -> bool:
        with owner.begin() as conn:
            conn.execute(
                text(
                    "UPDATE public.messages SET direction = 'Sideways', "
                    "updated_at = now() - make_interval(days => :d) WHERE id = :pk"
                ),
                {"pk": pk, "d": days_ago},
            )
        try:
            return run_dbt("test", select=["stg_indigitall__messages,test_name:accepted_values"]).ok
        finally:
            with owner.begin() as conn:
                conn.execute(
                    text("UPDATE public.messages SET direction = 'Inbound' WHERE id = :pk"), {"pk": pk}
                )

    assert direction_test(1) is True  # written before the last build: that build read (and checked) it
    assert direction_test(0) is False
