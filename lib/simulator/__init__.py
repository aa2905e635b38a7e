"""Offline simulator of the Indigitall API: deterministic data + a loopback HTTP server.

Public API (stable; other modules and tests code against it)::

    from lib.simulator import Dataset, FaultConfig, SimTenant, start_in_thread, HISTORY_COLUMNS

    # Data without a server (fixtures, benchmarks). Dates are `date` or "YYYY-MM-DD".
    ds = Dataset(seed=42, tenant_id="demo", timezone="America/Bogota",
                 application_id="100274", scale=1.0)
    ds.history_rows(date_from, date_to, contact_id=None) -> list[dict[str, str | None]]
        # keyed by the 24 HISTORY_COLUMNS, values exactly as in the CSV (empty -> None),
        # rows whose messageDate (UTC) falls in [date_from, date_to], ordered by messageDate, messageId
    ds.history_csv(date_from, date_to, *, limit=None, page=0, contact_id=None) -> str  # endpoint body
    ds.agent_sessions(date_from, date_to) -> list[dict]   # /v1/chat/agent/conversations items,
        # sessions whose queuedAt (UTC date) is in range; agentSessionId == CSV agentConversationId
    ds.contacts() -> list[dict]          # ordered by id asc (/v1/chat/contacts items)
    ds.contacts_page(limit, page=0, last_id=None) -> list[dict]   # what one contacts call returns
    ds.agents() -> list[dict]            # {"agentId": int, "email", "name"}; ~15 agents
    ds.date_stats(date_from, date_to, periodicity="daily") -> list[dict]   # dateStats rows
    ds.push_heatmap(date_from, date_to) -> dict           # pushHeatmap `data` object
    ds.device_stats(date_from, date_to) -> list[dict]     # stats/device rows [ours]
    ds.campaigns() -> list[dict]         # /v1/campaign items
    ds.applications() -> list[dict]; ds.application_stats() -> dict
    ds.sms_stats(date_from, date_to) -> list[dict]; ds.sms_campaigns() -> list[dict]
    ds.sms_sendings() -> list[dict]
    ds.channels(); ds.topics(); ds.integrations() -> list[dict]
    ds.configuration() -> dict; ds.agent_status() -> dict

    # A real HTTP server on loopback (ephemeral port with port=0).
    with start_in_thread(port=0, seed=42, server_key="k", faults=None, tenants=None, scale=1.0) as sim:
        sim.url        # "http://127.0.0.1:<port>"
        sim.stats()    # same as GET /__sim/stats (no key): request counts by path/status, faults
        sim.reset_stats()                  # also resets the fault attempt counters
        sim.dataset(tenant_id=None, application_id=None) -> Dataset   # what the server answers from
    serve(host="127.0.0.1", port=8765, *, seed=42, server_key=None, faults=None, tenants=None,
          scale=1.0)   # blocking; used by `bi serve simulator`

CLI: `bi serve simulator --port N` calls `serve`; `python -m lib.simulator --help` adds --scale and
the fault options (--rate-429, --retry-after, --rate-5xx, --latency-ms, --drop-rate,
--bandwidth-mbps, --bad-input).

Keys: `serve(server_key=None)` uses INDIGITALL_SERVER_KEY from `lib.config.get_settings()`;
`start_in_thread(server_key=None)` does not read settings. With no key configured any non-empty
`Authorization: ServerKey <x>` is accepted. A `SimTenant(server_key=...)` binds a key to a tenant.
Tenant choice per request: the tenants whose key matches, then the one listing the request's
`applicationId` (else the first). `tenants=None` -> one tenant "demo", app "100274" for
`start_in_thread`; tenants from `lib.config.load_tenants()` for `serve`. Any applicationId is served
(data are seeded by seed + tenant id + application id).

Behaviour beyond indigitall_api.md ([ours], documented here):
- `applicationId` is required (400 "request/query must have required property 'applicationId'")
  on every route but `/v1/application` and the `/v1/application/{id}/…` ones. `page` defaults to 0.
  Required `limit`: /v1/application, /v1/application/stats, /v1/campaign, /v1/chat/contacts (<=1000),
  /v1/chat/history/csv (<=100000), /v2/sms/send (<=1000). Unknown routes answer 404 before auth.
- Days are UTC days: the CSV returns rows whose messageDate falls in [dateFrom, dateTo] (UTC);
  volumes and peak hours follow the tenant's time zone. Rows are ordered by messageDate, messageId.
- dateStats `periodicity=hourly`: rows per date x hour x platform with an extra `statsHour`.
- 7-day rule (stats/device, history CSV): 403 when `dateTo - dateFrom > 7 days`
  (so an 8-day inclusive window is the largest allowed; clients should use 7).
- Agent conversations: exactly one of agentId/email/contactId (an empty `email=` means every agent),
  else 400; `dateTo - dateFrom > 30 days` -> 403 "Operation forbidden, more 30 days".
  `limit` optional (all rows when absent), `page` optional (0-based).
  `initialAgentSession` equals the session's own id for a first session.
- CSV timestamps are the JSON ones truncated to the second.
- SMS stats: span > 99 days -> 403 "Operation forbidden, more 99 days".
- Contacts' internal ids grow with their createdAt, and a conversation only picks a contact created
  before it starts (no data before the first contact, 2025-01-01).
- `FaultConfig(bandwidth_bps=2_000_000)` sends each response at that rate; `bad_input=True` puts
  NUL, bytes that are not UTF-8, surrogates and untypable timestamps in chosen records (faults.py).
- Faults (FaultConfig) hit /v1/* and /v2/* except /v1/status; one is drawn per (URL, attempt n)
  from the seed, and never more than `max_consecutive` (2) in a row for one URL, so retries
  succeed. 429 carries `Retry-After` (seconds or HTTP-date); 5xx is 500/502/503; a drop sends the
  headers and half the body, then resets the connection (httpx raises ReadError).
- Clock: data exist only up to the simulator's now (`lib.clock.now()`, i.e. BI_CLOCK_NOW when set, or
  `RunningSimulator.set_clock(dt)`): history rows and agent sessions after it are not served, dated
  stats stop at its UTC date.
- Speed: ~1,440 rows a day are generated in ~30 ms; days are cached (LRU), so paging a window is
  cheap. At scale 10 a day costs ~0.3 s the first time.
"""

from lib.simulator.csvfmt import HISTORY_COLUMNS
from lib.simulator.data import Dataset
from lib.simulator.faults import FaultConfig
from lib.simulator.server import RunningSimulator, SimTenant, serve, start_in_thread

__all__ = [
    "HISTORY_COLUMNS",
    "Dataset",
    "FaultConfig",
    "RunningSimulator",
    "SimTenant",
    "serve",
    "start_in_thread",
]
