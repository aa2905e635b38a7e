"""Stage the v2 history pages of a batch for `messages.sql`: COPY each page's CSV text into a temp table.

PostgreSQL's COPY parses the CSV (RFC 4180; quoted commas and newlines), far cheaper than expanding
JSON rows. The text is first given its public form (`lib.extract.escape.public_text`: bytes PostgreSQL
text cannot hold become U+FFFD). A page COPY refuses (a ragged record, a blank line, a header COPY
cannot map) or could misread (a line holding only `\\.`, the end marker before PostgreSQL 18) is read
by Python's csv module instead: its aligned records are staged the same way, the others with a reason,
so messages.sql counts them as rejects and nothing is lost silently.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import psycopg2
from sqlalchemy import Connection, text

from lib.api.body import csv_header
from lib.api.history_csv import HISTORY_COLUMNS
from lib.extract.delta import page_text
from lib.extract.escape import public_text

_HERE = Path(__file__).parent
_DDL = text((_HERE / "history_stage.sql").read_text(encoding="utf-8"))
_PAGES = text((_HERE / "history_pages.sql").read_text(encoding="utf-8"))
_PAGE = text(
    "SELECT source_data ->> 'text' AS text, source_data ->> 'base' AS base, source_data -> 'delta' AS delta "
    "FROM raw.raw_chat_stats WHERE id = :id"
)
_SET_ID = "SELECT set_config('bi.stage_raw_id', %s, true)"
_SPARE = [f"x{i}" for i in range(1, 9)]
_END_MARKER = re.compile(r"(?:^|\n)\\\.\r?(?:\n|$)")


def _has_end_marker(body: str) -> bool:
    """A line holding only `\\.` (COPY's end of data before PostgreSQL 18); `in` first: it is fast."""
    return "\\." in body and _END_MARKER.search(body) is not None


def _columns(header: list[str]) -> list[str] | None:
    """Stage columns for the header's fields in order; None when COPY cannot map them."""
    if len(set(header)) != len(header):
        return None
    spare = iter(_SPARE)
    cols = []
    for name in header:
        if name in HISTORY_COLUMNS:
            cols.append(f'"{name}"')
        else:
            extra = next(spare, None)
            if extra is None:
                return None
            cols.append(extra)
    return cols


def _copy(cur: Any, columns: list[str], data: str, *, header: bool) -> None:
    option = ", HEADER true" if header else ""
    sql = f"COPY pg_temp.history_stage ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv{option})"
    cur.copy_expert(sql, io.BytesIO(data.encode("utf-8")))


def _stage_with_python(cur: Any, body: str, header: list[str]) -> int:
    """Stage a page record by record (csv module): aligned ones by field name, the others with a reason."""
    reader = csv.reader(io.StringIO(body.removeprefix("\ufeff"), newline=""), strict=False)
    next(reader, None)
    known = [(i, name) for i, name in enumerate(header) if name in HISTORY_COLUMNS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    records = 0
    for values in reader:
        if not values:
            continue
        records += 1
        if len(values) == len(header):
            writer.writerow(["", "", *(values[i] for i, _ in known)])
        else:
            reason = f"record has {len(values)} fields, the header {len(header)}"
            writer.writerow([reason, json.dumps(values, ensure_ascii=False)[:2000], *([""] * len(known))])
    _copy(cur, ["reason", "record", *(f'"{name}"' for _, name in known)], out.getvalue(), header=False)
    return records


def stage_history(conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
    """COPY the batch's v2 pages into `pg_temp.history_stage` (created for this transaction)."""
    conn.execute(_DDL)
    ids = conn.execute(_PAGES, params).scalars().all()
    cur = conn.connection.cursor()
    fallback = 0
    try:

        def fetch(page_id: int) -> dict[str, Any]:
            return dict(conn.execute(_PAGE, {"id": page_id}).mappings().one())

        for raw_id in ids:
            try:
                stored = page_text(fetch, raw_id)  # a delta page is rebuilt from its base
            except ValueError as exc:
                cur.execute(_SET_ID, (str(raw_id),))
                cur.execute("INSERT INTO pg_temp.history_stage (reason) VALUES (%s)", (str(exc),))
                continue
            cur.execute(_SET_ID, (str(raw_id),))
            body = public_text(stored)
            header = csv_header(body)
            columns = _columns(header) if header else None
            if columns is not None and not _has_end_marker(body):
                cur.execute("SAVEPOINT stage_page")
                try:
                    _copy(cur, columns, body, header=True)
                    cur.execute("RELEASE SAVEPOINT stage_page")
                    continue
                except psycopg2.Error:  # any COPY refusal: read the page with the csv module
                    cur.execute("ROLLBACK TO SAVEPOINT stage_page")
            fallback += 1
            _stage_with_python(cur, body, header)
    finally:
        cur.close()
    return {"v2_pages": len(ids), "v2_pages_read_by_python": fallback}
