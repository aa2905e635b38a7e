"""Response bodies as sent: tolerant decoding, lenient JSON, CSV record counts without parsing rows."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

_BOM = "\ufeff"
_QUOTED = re.compile(rb'"[^"]*"')  # a doubled quote inside a field splits it in two quoted runs


def decode_body(content: bytes) -> tuple[str, bool]:
    """(text, raw_bytes): UTF-8 as sent (a BOM kept); bytes that are not UTF-8 are kept by
    surrogateescape (U+DC80..U+DCFF), and `raw_bytes` says so."""
    try:
        return content.decode("utf-8"), False
    except UnicodeDecodeError:
        return content.decode("utf-8", "surrogateescape"), True


def parse_json_body(content: bytes) -> Any:
    """A JSON body as Python values. Strict first; then tolerant of bytes that are not UTF-8 and of raw
    control characters inside strings (bad input to store, not a truncated body). ValueError if not JSON."""
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        text, _ = decode_body(content)
        return json.loads(text.removeprefix(_BOM), strict=False, parse_constant=str)


def csv_header(text: str) -> list[str]:
    """The header row of a CSV page (BOM dropped); [] for an empty body."""
    line = text.removeprefix(_BOM)
    if '"' not in line.split("\n", 1)[0]:
        first = line.split("\n", 1)[0].rstrip("\r")
        return first.split(",") if first else []
    return next(csv.reader(io.StringIO(line, newline=""), strict=False), [])


def count_csv_records(content: bytes, *, at_least: int | None = None) -> int:
    """Data records of a CSV page (header excluded, blank lines ignored), without building rows.

    Newlines inside quoted fields are discounted (RFC 4180: quotes toggle, a doubled quote toggles
    twice). When the quick count reaches `at_least` - 1 (a page that may be full: the paging decision
    depends on it) the records are counted exactly by the csv module.
    """
    if not content.strip():
        return 0
    if b'"' in content:
        content = _QUOTED.sub(b"", content)
    lines = content.count(b"\n")
    quick = max(0, lines - 1 + (0 if content.endswith(b"\n") else 1) - content.count(b"\n\n"))
    if at_least is None or quick < at_least - 1:
        return quick
    text, _ = decode_body(content)
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    next(reader, None)
    return sum(1 for row in reader if row)
