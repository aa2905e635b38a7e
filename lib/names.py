"""Names several packages share, each defined once: run modes and raw tables."""

from __future__ import annotations

# `bi run --mode`: every step, the transforms and marts only, the weekly report only.
RUN_MODES: tuple[str, ...] = ("full", "transform-only", "report")
# The modes `POST /api/run-pipeline` accepts (n8n's workflows).
API_RUN_MODES: tuple[str, ...] = ("full", "transform-only")


def one_of(names: tuple[str, ...]) -> str:
    """`a, b or c` (for error messages)."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


# How an extractor picks its range: from the stored cursor, or the whole backfill.
EXTRACT_MODES: tuple[str, ...] = ("incremental", "full")

# The `raw.*` tables the extract appends to (a whitelist: table names are formatted into SQL).
RAW_TABLES: frozenset[str] = frozenset(
    {
        "raw_contacts_api",
        "raw_push_stats",
        "raw_chat_stats",
        "raw_campaigns_api",
        "raw_applications",
        "raw_sms_stats",
        "raw_email_stats",
        "raw_inapp_stats",
    }
)
# Those the transforms read into `public.*` (the others are kept raw only).
TRANSFORMED_RAW_TABLES: frozenset[str] = frozenset(
    {"raw_contacts_api", "raw_push_stats", "raw_chat_stats", "raw_campaigns_api"}
)
assert TRANSFORMED_RAW_TABLES <= RAW_TABLES
