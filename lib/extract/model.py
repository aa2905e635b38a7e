"""What an extractor is made of: entity specs, tasks (one window × application), call outcomes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from lib import clock, names
from lib.api import ApiError, ApiResponse, CallRecord
from lib.api.body import csv_header, decode_body
from lib.extract.escape import MARK, escape_value, storable_json, storable_text

if TYPE_CHECKING:
    from lib.api import IndigitallClient
    from lib.extract.options import ExtractOptions

Kind = Literal["dated", "snapshot", "cursor"]
RangeRule = Literal["incremental", "trailing"]
Window = tuple[date, date]
FetchFn = Callable[["IndigitallClient", "Task", "ExtractOptions"], Iterator[ApiResponse]]

RAW_TABLES = names.RAW_TABLES  # one owner: lib.names


@dataclass(frozen=True)
class EntitySpec:
    """One `sync_state.entity`: its raw table, how it is fetched and whether failing fails the step.

    `name` identifies the endpoint's progress within a run; `entity` is its `sync_state` row, shared
    by endpoints that feed no table of their own (e.g. chat configuration, topics → `chat_stats`).
    `kind`: dated (date windows of `window_days`, None = the whole range at once), snapshot (no
    dates, fetched whole each run) or cursor (contacts' lastId). `rule="trailing"` always fetches
    the last `heatmap_days` (an aggregate over a period, e.g. pushHeatmap).

    `local_days`: the API filters by the UTC date of a timestamp (history, agent sessions) while the
    data are read by the tenant's local date: the range is in local days and the UTC dates fetched
    cover them whole (one extra UTC day on the side the zone needs). `split_recent`: incremental runs
    fetch the recent days (the lookback) one day per window, so a re-read of a day that did not change
    is recognised (`response_sha256`) and not stored again, and the day still filling is stored as a
    line delta against its previous read (lib.extract.delta).
    `coverage`: the entity's complete local days are recorded in `public.data_coverage`.
    """

    name: str
    raw_table: str
    endpoint: str
    fetch: FetchFn
    required: bool = False
    kind: Kind = "snapshot"
    window_days: int | None = None
    rule: RangeRule = "incremental"
    weight: int = 1
    entity: str | None = None  # the sync_state row, when several endpoints share one (default: name)
    local_days: bool = False
    split_recent: bool = False
    coverage: bool = False

    def __post_init__(self) -> None:
        if self.raw_table not in RAW_TABLES:
            raise ValueError(f"unknown raw table {self.raw_table!r}")

    @property
    def state_entity(self) -> str:
        """`sync_state.entity`: the table the endpoint feeds, else its raw table's subject."""
        return self.entity or self.name


@dataclass(frozen=True)
class Task:
    """One unit of fetching: an entity for one application and one window (or the cursor start)."""

    spec: EntitySpec
    app_id: str
    window: Window | None = None
    start_cursor: int | None = None
    primary: bool = True  # the tenant's first application: account-wide lists are fetched once

    @property
    def date_from(self) -> date | None:
        return self.window[0] if self.window else None

    @property
    def date_to(self) -> date | None:
        return self.window[1] if self.window else None

    def label(self) -> str:
        span = f" {self.window[0]}..{self.window[1]}" if self.window else ""
        return f"{self.spec.name} app={self.app_id}{span}"


@dataclass
class Outcome:
    """One finished API call: its attempts, and the raw row to store when it succeeded."""

    task: Task
    endpoint: str
    params: dict[str, Any]
    calls: list[CallRecord]
    source_data: str | None = None
    records: int = 0
    error: str | None = None
    last_id: int | None = None
    sha256: str | None = None  # of the response bytes as sent
    escaped: int = 0  # values escaped to fit JSONB (see lib.extract.escape)
    repeat_of: int | None = None  # set by the writer: the raw row this identical response repeats
    page: dict[str, Any] | None = None  # a v2 history page's fields (the writer may store it as a delta)
    loaded_at: datetime = field(default_factory=lambda: clock.now())

    @property
    def ok(self) -> bool:
        return self.error is None and (self.source_data is not None or self.page is not None)

    @property
    def bytes(self) -> int:
        if self.source_data is not None:
            return len(self.source_data)
        return len(self.page["text"]) if self.page else 0


@dataclass(frozen=True)
class TaskDone:
    """Marker sent after a task's last outcome: whether every call of it succeeded."""

    task: Task
    ok: bool


def history_source(response: ApiResponse) -> tuple[str | None, int, dict[str, Any] | None]:
    """(source_data JSON, escaped values, the v2 page's fields) of a history CSV page.

    v2 (`records` set: the page kept as text) is `{"format":"csv","version":2,"header":[…],"records":N,
    "text":"<the page as sent>","page":P,"limit":L}`, built by PostgreSQL from the fields (no JSON
    encoding here, no JSON parse there: source_data None); v1 (`csv` parsed) is the rows as objects.
    """
    page = int(response.params.get("page", 0))
    limit = int(response.params.get("limit", 0))
    if response.csv is None:
        text, escaped = storable_text(response.content)
        header = [escape_value(h) for h in csv_header(decode_body(response.content[:65536])[0])]
        doc = {"format": "csv", "version": 2, "header": header, "records": response.records or 0,
               "text": text, "page": page, "limit": limit}  # fmt: skip
        return None, int(escaped), doc
    parsed = response.csv
    if b"\x00" in response.content or MARK.encode() in response.content:
        rows = [{k: escape_value(v) if v else v for k, v in r.items()} for r in parsed.rows]
        escaped = sum(v is not o for r, rr in zip(rows, parsed.rows, strict=True) for v, o in
                      zip(r.values(), rr.values(), strict=True))  # fmt: skip
        parsed = type(parsed)(parsed.header, rows, parsed.extra_columns)
        return parsed.to_source_json(page, limit), escaped, None
    return parsed.to_source_json(page, limit), 0, None


def success(task: Task, response: ApiResponse) -> Outcome:
    """The outcome of a successful call, with `source_data` in the contracts' format."""
    page_doc = None
    if response.csv is not None or response.records is not None:
        source, escaped, page_doc = history_source(response)
        records = response.size
    else:
        source, escaped = storable_json(response.content)
        data = response.data
        records = response.size if isinstance(data, list | dict) and response.items else (1 if data else 0)
    last_id = None
    if task.spec.kind == "cursor":
        ids = [int(i["id"]) for i in response.items if isinstance(i, dict) and i.get("id") is not None]
        last_id = max(ids) if ids else None
    return Outcome(
        task=task,
        endpoint=response.endpoint,
        params=response.params,
        calls=response.calls,
        source_data=source,
        records=records,
        last_id=last_id,
        sha256=hashlib.sha256(response.content).hexdigest(),
        escaped=escaped,
        page=page_doc,
    )


def failure(task: Task, error: BaseException) -> Outcome:
    """The outcome of a failed call (its attempts are logged; no raw row)."""
    if isinstance(error, ApiError):
        text = str(error)
        return Outcome(task, error.endpoint or task.spec.endpoint, error.params, error.calls, error=text)
    return Outcome(task, task.spec.endpoint, {}, [], error=f"{type(error).__name__}: {error}")


def trailing_window(end: date, days: int) -> Window:
    """The last `days` days ending at `end` (inclusive)."""
    return (end - timedelta(days=days - 1), end)
