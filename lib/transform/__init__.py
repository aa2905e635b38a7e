"""Transform bridge: raw.* -> public.* as set-based, time-zone-aware, idempotent, incremental SQL.

One `.sql` per target table, declared in `_ORDERED`/`_POST` below (see `_core` for the statement
contract). Entry point:
`run_transform(name, *, tenant_id=None, run_id=None, full_refresh=False) -> StepResult`; names in
`TRANSFORMS` (data model order) then `POST_TRANSFORMS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from lib.steps import StepResult
from lib.transform._core import Transform, execute
from lib.transform.history_stage import stage_history

SQL_DIR = Path(__file__).parent  # each table's one statement: <name>.sql


def _table(name: str, *, sources: tuple[str, ...] = (), kind: Literal["transform", "post"] = "transform",
           work_mem: str = "64MB", doc: str = "", prepare: Any = None) -> Transform:  # fmt: skip
    """A target table's transform: `<name>.sql` beside this module, the raw tables it reads."""
    return Transform(name, SQL_DIR / f"{name}.sql", sources, kind, work_mem, doc, prepare)


# Data model order (the FK order the runner follows), then the post-transforms.
_ORDERED: tuple[Transform, ...] = (
    _table(
        "contacts",
        sources=("raw_contacts_api", "raw_chat_stats"),
        doc="""public.contacts <- `/v1/chat/contacts` items (raw_contacts_api, and raw_chat_stats when the chat
        extractor stored them there). Key contactId; profileName, channel, createdAt, updatedAt. The totals
        columns belong to the `contacts_totals` post-transform.""",
    ),
    _table(
        "daily_stats",
        sources=("raw_push_stats",),
        doc="""public.daily_stats, push part (data model step 2) <- dateStats in raw_push_stats.

        For every date in new dateStats rows: `push_enviados` = Σ numDevicesSent over applications and
        platforms (latest loaded_at per application x date x platform, read with `ops.raw_push_date_stats`,
        the same reading `toques_daily` uses) and `total_messages` = chat_messages (so far) + push_enviados.
        The chat part, unique contacts, conversations and fallbacks come from the `daily_stats_totals`
        post-transform, which also re-derives push_enviados from toques_daily (same value). statsDate is the
        API's own day; chat dates are tenant-local.""",
    ),
    _table(
        "toques_daily",
        sources=("raw_push_stats",),
        doc="""public.toques_daily <- dateStats (`/v1/application/{id}/dateStats`) in raw_push_stats.

        numDevicesSent -> enviados, Success -> entregados, Received -> abiertos, Clicked -> clicks; canal =
        platformGroup; proyecto_cuenta = the application id. Rates in percent, 2 decimals: ctr = clicks /
        enviados, tasa_entrega = entregados / enviados, open_rate = abiertos / entregados; NULL on a 0
        denominator. Latest loaded_at wins per (date, canal, application).""",
    ),
    _table(
        "toques_heatmap",
        sources=("raw_push_stats",),
        doc="""public.toques_heatmap <- pushHeatmap `weekday-hour` in raw_push_stats.

        ctr = rate x 100 (2 decimals); dia_semana lowercase English as the API gives it; dia_orden 1 = monday
        ... 7 = sunday; canal = 'push'. The table is the current heatmap: the latest response of each
        application (older windows' cells are deleted), a cell's ctr the mean over the applications.""",
    ),
    _table(
        "campaigns",
        sources=("raw_campaigns_api",),
        doc="""public.campaigns <- `/v1/campaign` items in raw_campaigns_api (field names read defensively).

        campana_id = id|campaignId, campana_nombre = name|title, canal = channel|type, tipo_campana = status,
        fecha_inicio = tenant-local date of sendDate|createdAt, fecha_fin = of endDate, totals from
        stats.sent|delivered|clicked|opened (with fallbacks), ctr = clicks / enviados in percent.""",
    ),
    _table(
        "messages",
        sources=("raw_chat_stats",),
        work_mem="1GB",
        prepare=stage_history,
        doc="""public.messages <- history CSV pages (`/v1/chat/history/csv`) in raw_chat_stats, both raw formats:
        v1 rows as objects (`source_data->'rows'`), v2 the page's text (`source_data->'text'`, COPYed into a
        temp table first by `history_stage.stage_history`).

        direction by the data model table, is_bot/is_human/is_fallback, wait/handle seconds (NULL when a
        timestamp is missing or the interval negative), date/hour/day_of_week in the tenant's time zone.""",
    ),
    _table(
        "chat_conversations",
        sources=("raw_chat_stats",),
        doc="""public.chat_conversations <- `/v1/chat/agent/conversations` data[] in raw_chat_stats.

        session_id = agentSessionId; wait = assigned - queued, handle = closed - assigned (seconds); NULL when
        an end is missing; a negative interval is NULL and counted as an anomaly (metrics + warning).""",
    ),
    _table(
        "chat_channels",
        sources=("raw_chat_stats",),
        doc="""public.chat_channels <- `/v1/chat/channel` items in raw_chat_stats (whole item kept in `config`).""",
    ),
)
_POST: tuple[Transform, ...] = (
    _table(
        "contacts_totals",
        kind="post",
        work_mem="256MB",
        doc="""Post-transform: contacts.total_messages, total_conversations (distinct conversation ids),
        first_contact, last_contact (tenant-local dates) from messages, for the contacts queued as touched
        (all contacts on a full refresh).""",
    ),
    _table(
        "daily_stats_totals",
        kind="post",
        work_mem="256MB",
        doc="""Post-transform: daily_stats per tenant-local date, for the dates queued as touched (all on a
        full refresh): chat_messages, unique_contacts, conversations (distinct conversation ids) and
        fallback_count from messages; push_enviados = Σ toques_daily.enviados; total_messages = chat + push.
        A date with neither messages nor push rows has no daily_stats row.""",
    ),
    _table(
        "agents",
        kind="post",
        work_mem="256MB",
        doc="""Post-transform: agents from chat_conversations and messages, for the agents queued as touched
        (all on a full refresh): conversations_handled = sessions in chat_conversations,
        avg_handle_time_seconds = rounded mean of their handle times, total_messages = messages carrying the
        agent id, agent_email = the email of the agent's latest session. An agent found in neither table has
        no row.""",
    ),
)

TRANSFORMS: tuple[str, ...] = tuple(t.name for t in _ORDERED)
POST_TRANSFORMS: tuple[str, ...] = tuple(t.name for t in _POST)
REGISTRY: dict[str, Transform] = {t.name: t for t in (*_ORDERED, *_POST)}

__all__ = ["POST_TRANSFORMS", "REGISTRY", "TRANSFORMS", "Transform", "run_all", "run_transform"]


def run_transform(
    name: str, *, tenant_id: str | None = None, run_id: str | None = None, full_refresh: bool = False
) -> StepResult:
    """Run one transform or post-transform for a tenant (default: the configured one)."""
    from lib.config import get_tenant
    from lib.db import ensure_tenant

    if name not in REGISTRY:
        raise ValueError(f"unknown transform {name!r}; expected one of {', '.join(REGISTRY)}")
    tenant = get_tenant(tenant_id)
    ensure_tenant(tenant)  # the tenant's time zone must be in public.tenants for the SQL
    return execute(REGISTRY[name], tenant.id, run_id=run_id, full_refresh=full_refresh)


def run_all(
    *, tenant_id: str | None = None, run_id: str | None = None, full_refresh: bool = False
) -> list[StepResult]:
    """Every transform in data model order, then every post-transform."""
    return [
        run_transform(name, tenant_id=tenant_id, run_id=run_id, full_refresh=full_refresh)
        for name in (*TRANSFORMS, *POST_TRANSFORMS)
    ]
