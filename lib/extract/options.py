"""Extraction tunables (env overrides: EXTRACT_LOOKBACK_DAYS, EXTRACT_BACKFILL_DAYS, EXTRACT_CONCURRENCY,
EXTRACT_DB_WRITERS, EXTRACT_CONTACTS_SWEEP_HOURS, EXTRACT_HISTORY_FORMAT, EXTRACT_HEATMAP_DAYS), read
like every setting: environment, then `.env`, then the default (`lib.config.env_value`)."""

from __future__ import annotations

from dataclasses import dataclass

from lib.config import ConfigError, env_value


def _env_int(name: str, default: int) -> int:
    value = (env_value(name) or "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc


@dataclass(frozen=True)
class ExtractOptions:
    """How far back to look, how wide to fetch, how big a write batch may grow."""

    lookback_days: int = 2
    backfill_days: int = 90
    heatmap_days: int = 90
    concurrency: int = 4
    history_page_limit: int = 100_000
    conversations_limit: int = 50_000
    date_stats_window_days: int = 31
    batch_max_bytes: int = 8 * 1024 * 1024  # about one week of history: 2 writers overlap page by page
    # Parallel DB connections for raw writes (commits stay in batch order). 2 measured fastest on
    # 2 CPUs: PostgreSQL's JSONB parse of a week's page (~0.13 s) is the extract's largest cost.
    db_writers: int = 2
    # Incremental contacts fetch ids after the stored lastId only, which never sees profile changes of
    # known contacts; once this many hours have passed since the last sweep from the first id, sweep
    # again (~1.2K contacts = 2 calls). 0 = every run sweeps.
    contacts_sweep_hours: int = 24
    optional_max_attempts: int = 1  # email/in-app: known to fail upstream, no point retrying
    # Raw format of history CSV pages: 2 keeps each page's text as sent (docs/contracts.md); 1 is the
    # earlier rows-as-objects form (kept for comparison; the transforms read both).
    history_format: int = 2

    @classmethod
    def from_env(cls) -> ExtractOptions:
        """Defaults, overridden by the EXTRACT_* settings (environment or `.env`) when set."""
        return cls(
            lookback_days=_env_int("EXTRACT_LOOKBACK_DAYS", cls.lookback_days),
            backfill_days=_env_int("EXTRACT_BACKFILL_DAYS", cls.backfill_days),
            heatmap_days=_env_int("EXTRACT_HEATMAP_DAYS", cls.heatmap_days),
            concurrency=_env_int("EXTRACT_CONCURRENCY", cls.concurrency),
            db_writers=_env_int("EXTRACT_DB_WRITERS", cls.db_writers),
            contacts_sweep_hours=_env_int("EXTRACT_CONTACTS_SWEEP_HOURS", cls.contacts_sweep_hours),
            history_format=_env_int("EXTRACT_HISTORY_FORMAT", cls.history_format),
        )

    def __post_init__(self) -> None:
        if self.history_format not in (1, 2):
            raise ValueError(f"history_format must be 1 or 2, not {self.history_format!r}")
