"""Per-tenant settings stay per tenant (time zone, application ids, key variable, service-level T),
and dates/hours are derived in each tenant's zone across daylight-saving changes: Europe/Madrid
(2026-03-29 and 2026-10-25) and America/Mexico_City before 2022 (2021-04-04, 2021-10-31; none
after its abolition in 2022) next to America/Bogota (no DST)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from test_transform import by_key, history, hrow, run

TENANTS = {
    # id: (time zone, application ids, key env var, service-level T)
    "ts_bog": ("America/Bogota", ["100274"], "TS_KEY_BOG", 45),
    "ts_mad": ("Europe/Madrid", ["200001", "200002"], "TS_KEY_MAD", 90),
    "ts_mex": ("America/Mexico_City", ["300003"], "TS_KEY_MEX", None),
}
KEYS = {"TS_KEY_BOG": "key-bogota-1111", "TS_KEY_MAD": "key-madrid-2222", "TS_KEY_MEX": "key-mexico-3333"}


@pytest.fixture(scope="module")
def db_url(module_db_url: str) -> str:
    return module_db_url


@pytest.fixture(scope="module", autouse=True)
def tenants_file(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from lib.config import reload_settings

    path = tmp_path_factory.mktemp("tenants") / "tenants.yml"
    lines = ["tenants:"]
    for tid, (tz, apps, key_env, sl) in TENANTS.items():
        lines += [f"  - id: {tid}", f"    name: Coop {tid}", f"    timezone: {tz}",
                  f"    application_ids: {apps}", f"    server_key_env: {key_env}"]  # fmt: skip
        if sl is not None:
            lines.append(f"    service_level_seconds: {sl}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {"TENANTS_FILE": str(path), **KEYS}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    reload_settings()
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    reload_settings()


def test_each_tenant_keeps_its_own_settings(db_url: str) -> None:
    from sqlalchemy import text

    from lib.config import get_tenant, load_tenants
    from lib.db import get_engine
    from lib.db.tenants import ensure_tenant

    assert [t.id for t in load_tenants()] == list(TENANTS)
    for tid, (tz, apps, key_env, _sl) in TENANTS.items():
        t = get_tenant(tid)
        assert (t.timezone, list(t.application_ids), t.server_key_env) == (tz, apps, key_env)
        assert t.server_key().get_secret_value() == KEYS[key_env]  # its own key, nobody else's
        ensure_tenant(t)
    with get_engine("owner", db_url).connect() as conn:
        rows = {
            r.id: (r.timezone, r.service_level_seconds)
            for r in conn.execute(text("SELECT id, timezone, service_level_seconds FROM public.tenants"))
        }
    assert rows["ts_bog"] == ("America/Bogota", 45)
    assert rows["ts_mad"] == ("Europe/Madrid", 90)
    assert rows["ts_mex"] == ("America/Mexico_City", 60)  # the default T


# UTC instants on both sides of each change (and one where the old rule would have applied).
INSTANTS = [
    "2026-03-29T00:30:00+00:00",  # Madrid 01:30 CET
    "2026-03-29T01:30:00+00:00",  # Madrid 03:30 CEST (02:xx does not exist)
    "2026-10-25T00:30:00+00:00",  # Madrid 02:30 CEST
    "2026-10-25T01:30:00+00:00",  # Madrid 02:30 CET (the repeated hour)
    "2026-10-24T22:30:00+00:00",  # Madrid 00:30 on the 25th, Bogota 17:30 on the 24th
    "2021-04-04T07:30:00+00:00",  # Mexico City 01:30 CST
    "2021-04-04T08:30:00+00:00",  # Mexico City 03:30 CDT
    "2021-10-31T06:30:00+00:00",  # Mexico City 01:30 CDT
    "2021-10-31T07:30:00+00:00",  # Mexico City 01:30 CST
    "2023-04-02T08:30:00+00:00",  # Mexico City 02:30 CST: no DST after 2022
    "2021-10-31T05:30:00+00:00",  # Mexico City 00:30 CDT on the 31st, Bogota 00:30 on the 31st
]


def expected(ts: str, tz: str) -> tuple[date, int, str]:
    local = datetime.fromisoformat(ts).astimezone(ZoneInfo(tz))
    return local.date(), local.hour, local.strftime("%A")


def test_dates_and_hours_across_dst_changes(db_url: str) -> None:
    rows = [
        hrow(str(i), ts, sendType="input", integration="df", contentType="text", contactId=f"57{i}",
             channel="cloudapi")
        for i, ts in enumerate(INSTANTS, start=1)
    ]  # fmt: skip
    got = {}
    for tid in TENANTS:
        history(tid, rows)
        run("messages", tid)
        got[tid] = by_key(tid, "messages", "message_id")
    for tid, (tz, *_rest) in TENANTS.items():
        for i, ts in enumerate(INSTANTS, start=1):
            m = got[tid][str(i)]
            assert (m["date"], m["hour"], m["day_of_week"]) == expected(ts, tz), (tid, ts)
    mad, mex, bog = got["ts_mad"], got["ts_mex"], got["ts_bog"]
    # literal checks, so a wrong helper cannot agree with a wrong transform
    assert [mad[k]["hour"] for k in ("1", "2", "3", "4")] == [1, 3, 2, 2]
    assert (mad["5"]["date"], bog["5"]["date"], bog["5"]["hour"]) == (
        date(2026, 10, 25),
        date(2026, 10, 24),
        17,
    )
    assert [mex[k]["hour"] for k in ("6", "7", "8", "9", "10")] == [1, 3, 1, 1, 2]
    assert (mex["11"]["date"], mex["11"]["hour"], bog["11"]["hour"]) == (date(2021, 10, 31), 0, 0)
