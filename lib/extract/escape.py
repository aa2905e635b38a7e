"""Any bytes the API sends fit in raw JSONB: the escape of what PostgreSQL text cannot hold.

JSONB strings cannot hold U+0000, a lone surrogate (`\\ud800` in a JSON body) or bytes that are not
UTF-8. A string value holding any of them, or beginning with the marker U+E000 itself, is stored as

    U+E000 + the value with each such byte and each '%' written as %XX (upper-case hex)

where the value's bytes are its UTF-8, a lone surrogate taking its 3-byte generalized UTF-8 form
(ED A0 80 for U+D800) and a byte that is not UTF-8 standing for itself. Everything else is stored as
is, so ordinary values cost nothing. The escape is lossless (`original_bytes` gives back the bytes
sent). Transforms read values through `ops.raw_text()` (migration 060), which gives the text
PostgreSQL can hold: '%25' becomes '%', every other escaped byte U+FFFD (`public_text` here).

One ambiguity is accepted and documented: in a JSON body that is not valid UTF-8, an escaped lone
low surrogate U+DC80..U+DCFF reads as the raw byte 80..FF (Python's surrogateescape).
"""

from __future__ import annotations

import json
import re
from typing import Any

from lib.api.body import decode_body

MARK = "\ue000"
_MARK_BYTES = MARK.encode()
_REPLACEMENT = "\ufffd"
# A JSON body needs the slow path when it may hold a NUL, an escaped NUL or surrogate, raw control
# characters (which PostgreSQL's JSON parser rejects inside strings), the marker, or the constants
# NaN/Infinity that Python reads and JSONB refuses (the slow path keeps them as strings).
_JSON_SUSPECT = re.compile(rb"[\x00-\x1f]|\\u(?:0000|[dD][89a-fA-F])|\xee\x80\x80|NaN|Infinity")
_ESCAPED = re.compile(r"%([0-9A-F]{2})")


def _needs_escape(value: str) -> bool:
    if value.startswith(MARK) or "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # surrogates: lone ones, or bytes kept by surrogateescape
        return True
    return False


def _char_bytes(ch: str, *, raw_bytes: bool) -> bytes:
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        if raw_bytes and 0xDC80 <= code <= 0xDCFF:
            return bytes([code - 0xDC00])  # a byte that was not UTF-8 (surrogateescape)
        return ch.encode("utf-8", "surrogatepass")  # a lone surrogate: generalized UTF-8
    return ch.encode("utf-8")


def escape_value(value: str, *, raw_bytes: bool = True) -> str:
    """`value` as stored in raw (unchanged unless it holds what PostgreSQL text cannot).

    `raw_bytes`: surrogates U+DC80..U+DCFF stand for bytes that were not UTF-8 (the text was decoded
    with surrogateescape); False when every surrogate came from a JSON escape.
    """
    if not _needs_escape(value):
        return value
    out = [MARK]
    for ch in value:
        code = ord(ch)
        if ch == "%" or code == 0 or 0xD800 <= code <= 0xDFFF:
            out.append("".join(f"%{b:02X}" for b in _char_bytes(ch, raw_bytes=raw_bytes)))
        else:
            out.append(ch)
    return "".join(out)


def original_bytes(stored: str) -> bytes:
    """The bytes the API sent for a stored value (the inverse of `escape_value`)."""
    if not stored.startswith(MARK):
        return stored.encode("utf-8")
    parts = re.split(r"(%[0-9A-F]{2})", stored[1:])
    return b"".join(bytes([int(p[1:], 16)]) if _ESCAPED.fullmatch(p) else p.encode("utf-8") for p in parts)


def public_text(stored: str) -> str:
    """What the transforms write to public.* (as `ops.raw_text`): escaped bytes -> U+FFFD, '%25' -> '%'."""
    if not stored.startswith(MARK):
        return stored
    return _ESCAPED.sub(lambda m: "%" if m.group(1) == "25" else _REPLACEMENT, stored[1:])


def storable_text(content: bytes) -> tuple[str, bool]:
    """(stored string, escaped?) for a body kept whole as one string (a CSV page's text, BOM and all)."""
    if b"\x00" not in content and not content.startswith(_MARK_BYTES):
        try:
            return content.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    text, raw = decode_body(content)
    stored = escape_value(text, raw_bytes=raw)
    return stored, stored is not text


def _escape_tree(node: Any, raw: bool) -> tuple[Any, int]:
    if isinstance(node, str):
        out = escape_value(node, raw_bytes=raw)
        return out, int(out is not node)
    if isinstance(node, list):
        items = [_escape_tree(v, raw) for v in node]
        return [v for v, _ in items], sum(n for _, n in items)
    if isinstance(node, dict):
        count = 0
        obj = {}
        for key, value in node.items():
            k, nk = _escape_tree(key, raw)
            v, nv = _escape_tree(value, raw)
            obj[k] = v
            count += nk + nv
        return obj, count
    return node, 0


def storable_json(content: bytes) -> tuple[str, int]:
    """(JSON text PostgreSQL accepts as JSONB, number of escaped strings) for a JSON body.

    The body as sent when nothing needs escaping (the common case: no parse, no re-encoding), else
    parsed, every offending string (keys too) escaped, and encoded again. Raises ValueError when the
    body is not JSON at all.
    """
    if _JSON_SUSPECT.search(content) is None and not content.startswith(b"\xef\xbb\xbf"):
        try:
            return content.decode("utf-8"), 0
        except UnicodeDecodeError:
            pass
    text, raw = decode_body(content)
    body = json.loads(text.removeprefix("\ufeff"), strict=False, parse_constant=str)
    tree, count = _escape_tree(body, raw)
    return json.dumps(tree, ensure_ascii=False, separators=(",", ":")), count
