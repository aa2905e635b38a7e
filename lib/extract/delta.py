"""History pages stored as a line delta against the previous response of the same request.

A page re-read while its day is still filling (new messages at the end, sessions closing in place)
differs from the stored one in a few lines. Such a page is stored as

    {"format":"csv","version":2,"base":<raw id>,"depth":n,"delta":[[a, b], "lines", …], …}

where `[a, b]` copies lines a..b-1 of the base page's text and a string is inserted as is; lines end
at "\\n" (kept). The base is the latest stored response of the same request (itself full text or a
delta, `depth` links from a full text, at most `MAX_DEPTH`). The text is rebuilt exactly
(`page_text`), so raw still holds every distinct response, at the cost of the lines that changed.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 16
MAX_LINES = 20_000  # larger pages (backfill weeks) are stored whole: the diff would cost more than it saves

Fetch = Callable[[int], dict[str, Any]]  # raw id -> {"text"} or {"base", "delta"} of that page


def split_lines(text: str) -> list[str]:
    """Lines with their "\\n" kept; "".join() gives the text back exactly."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def make_delta(old: str, new: str) -> list[Any] | None:
    """The delta turning `old` into `new`, or None when it would not save a fifth of `new`."""
    a, b = split_lines(old), split_lines(new)
    if len(a) > MAX_LINES or len(b) > MAX_LINES:
        return None
    ops: list[Any] = []
    inserted = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append([i1, i2])
        elif j2 > j1:  # replace / insert (a delete copies nothing)
            chunk = "".join(b[j1:j2])
            inserted += len(chunk)
            ops.append(chunk)
    return ops if inserted < len(new) * 0.8 else None


def apply_delta(base: str, delta: list[Any]) -> str:
    """The text a delta describes over its base's text."""
    lines = split_lines(base)
    return "".join(op if isinstance(op, str) else "".join(lines[op[0] : op[1]]) for op in delta)


def page_text(fetch: Fetch, raw_id: int) -> str:
    """The stored text of a v2 page (escaped form, see lib.extract.escape), following its delta chain."""
    chain: list[list[Any]] = []
    doc = fetch(raw_id)
    while doc.get("text") is None and doc.get("base") is not None:
        if len(chain) > MAX_DEPTH:
            raise ValueError(f"raw page {raw_id}: delta chain longer than {MAX_DEPTH}")
        chain.append(doc["delta"])
        doc = fetch(int(doc["base"]))
    text = doc.get("text")
    if text is None:
        raise ValueError(f"raw page {raw_id}: no text to rebuild from")
    for delta in reversed(chain):
        text = apply_delta(text, delta)
    return text
