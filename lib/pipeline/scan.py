"""Secret scan: no archived file may hold a secret, literally or in a form a reader can undo.

`contains_secret(data, secrets)` looks at the text as written and at its decoded views (HTML entities,
JSON/Python string escapes, %-encoding with `+` for spaces, HTML tags stripped; up to three layers
deep, e.g. a JSON-escaped, %-encoded value inside a notebook), case-insensitively, so it sees:

- the value itself, any upper/lower-case variant (hex keys, UUIDs), JSON `\\uXXXX` and HTML `&#x..;`
  escapes, %-encoding (`%40`, `%2F`, either case) of passwords as written in database URLs;
- base64, standard and URL-safe, with or without padding or line breaks, of the value (and of its
  lower/upper-case variants) alone or inside a longer blob at any of the three byte alignments
  (e.g. `Basic base64(user:password)`), and its hex encoding;
- split forms: the value cut by whitespace, line breaks, quotes, commas, `+` or backslashes, as in
  `"abc" + "def"`, `"abc" "def"`, a notebook's stream output split over lines `["abc\\n", "def"]`,
  or HTML tags between the parts (only for values of 10+ characters after the cut, so short
  values cannot match by chance).

What no scanner here tries (documented in the README): values split by other characters or out of
order, reversed, hashed, encrypted, compressed, base32/base85, or base64 of each fragment apart.

A hit sends the file to the quarantine folder instead of the archive; messages name the step and the
file, never the secret. Quarantine that cannot be written raises QuarantineUnavailable
(its message says so; the file is discarded, never archived).
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote_plus

from lib.config import secret_values

MAX_DEPTH = 3  # decoding layers applied on top of each other
MAX_VIEWS = 24
SPLIT_MIN = 10  # a split form needs this many characters left after removing the separators

_SPLIT_CHARS = re.compile(r"[\s\"'`,+\\]+")
_TAGS = re.compile(r"<[^<>]{0,400}>")
_WHITESPACE = re.compile(r"\s+")
_STR_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|U[0-9a-fA-F]{8}|[\\\"'/bfnrt])")
_SIMPLE = {"\\": "\\", '"': '"', "'": "'", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class QuarantineUnavailable(RuntimeError):
    """A leaking file could not be quarantined (the folder is not writable); it was discarded."""


@dataclass(frozen=True)
class SecretIndex:
    """The needles of a set of secrets: casefolded literal forms, exact base64 cores, split forms."""

    literal: tuple[str, ...]
    encoded: tuple[str, ...]
    split: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.literal or self.encoded or self.split)


def current_secrets() -> list[str]:
    """The values to look for (settings, `.env`, tenants' keys, DB passwords, signing key, .data)."""
    return secret_values()


def _b64_cores(raw: bytes) -> set[str]:
    """Base64 of `raw` as it appears inside any longer blob: one core per byte alignment."""
    cores = set()
    for offset, skip in ((0, 0), (1, 2), (2, 3)):  # chars that still mix in the bytes before
        data = b"\0" * offset + raw
        full = (len(data) // 3) * 4  # a trailing partial group mixes in the bytes after
        core = base64.b64encode(data).decode("ascii")[skip:full]
        if len(core) >= 6:
            cores.add(core)
    return cores


def build_index(secrets: Iterable[str]) -> SecretIndex:
    """Precompute every form to look for (call once per scan of several files)."""
    literal: set[str] = set()
    encoded: set[str] = set()
    split: set[str] = set()
    for s in secrets:
        if not s:
            continue
        forms = {s, quote(s, safe=""), quote(s), quote_plus(s), json.dumps(s)[1:-1], html.escape(s)}
        literal |= {f.casefold() for f in forms}
        for variant in {s, s.lower(), s.upper()}:
            raw = variant.encode("utf-8")
            literal.add(raw.hex())
            for core in _b64_cores(raw):
                encoded |= {core, core.translate(str.maketrans("+/", "-_"))}
        cut = _SPLIT_CHARS.sub("", s.casefold())
        if len(cut) >= SPLIT_MIN:
            split.add(cut)
    return SecretIndex(tuple(sorted(literal)), tuple(sorted(encoded)), tuple(sorted(split)))


def _unescape_strings(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        token = m.group(1)
        if token[0] in "uxU" and len(token) > 1:
            try:
                return chr(int(token[1:], 16))
            except (ValueError, OverflowError):
                return m.group(0)
        return _SIMPLE.get(token, m.group(0))

    return _STR_ESCAPE.sub(one, text)


def _decoders(text: str) -> list[str]:
    out = []
    if "&" in text:
        out.append(html.unescape(text))
    if "\\" in text:
        out.append(_unescape_strings(text))
    if "%" in text or "+" in text:
        out.append(unquote_plus(text))
    if "<" in text:
        out.append(_TAGS.sub("", text))
    return out


def _views(text: str) -> list[str]:
    """The text and its decoded variants (breadth first, deduplicated, bounded)."""
    seen = {text}
    views = [text]
    frontier = [text]
    for _ in range(MAX_DEPTH):
        nxt = []
        for view in frontier:
            for decoded in _decoders(view):
                if decoded not in seen and len(views) < MAX_VIEWS:
                    seen.add(decoded)
                    views.append(decoded)
                    nxt.append(decoded)
        frontier = nxt
    return views


def _as_text(data: str | bytes) -> str:
    if isinstance(data, bytes):
        if data[:2] == b"\x1f\x8b":  # an archived .gz file
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError):
                pass
        data = data.decode("utf-8", errors="replace")
    return data


def find_secret(data: str | bytes, secrets: Sequence[str] | SecretIndex) -> str | None:
    """The kind of form a secret was found in (`literal`, `encoded`, `split`), or None."""
    index = secrets if isinstance(secrets, SecretIndex) else build_index(secrets)
    if not index:
        return None
    for view in _views(_as_text(data)):
        folded = view.casefold()
        if any(n in folded for n in index.literal):
            return "literal"
        compact = _WHITESPACE.sub("", view)
        if any(n in view or n in compact for n in index.encoded):
            return "encoded"
        if index.split:
            cut = _SPLIT_CHARS.sub("", folded)
            if any(n in cut for n in index.split):
                return "split"
    return None


def contains_secret(data: str | bytes, secrets: Sequence[str] | SecretIndex) -> bool:
    """True when any secret occurs in `data` in any form the scan knows (see the module doc)."""
    return find_secret(data, secrets) is not None


def quarantine(data: bytes, folder: Path, name: str) -> Path:
    """Write `data` to `folder/name` (0700 folder, written once; a numbered name if taken).

    Raises QuarantineUnavailable (naming the folder and the user) when the folder cannot be written.
    """
    try:
        created = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        if created or folder.stat().st_uid == os.geteuid():
            os.chmod(folder, 0o700)
        path, n = folder / name, 1
        while True:
            try:
                with open(path, "xb") as fh:
                    fh.write(data)
                os.chmod(path, 0o600)
                return path
            except FileExistsError:
                n += 1
                path = folder / f"{name}.{n}"
    except OSError as exc:
        raise QuarantineUnavailable(
            f"quarantine folder {folder} is not writable by uid {os.geteuid()} "
            f"({exc.strerror or type(exc).__name__}): the leaking file {name} was discarded, not archived; "
            "make the folder writable by the pipeline's user (RUNS_QUARANTINE_DIR sets another one)"
        ) from None


def file_stamp(path: str | Path) -> tuple[int, int] | None:
    """(size, mtime in ns) of a file, None when it is gone: what `scan_tree(scanned=...)` compares."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def scan_tree(
    folder: Path,
    quarantine_folder: Path,
    secrets: Sequence[str] | SecretIndex,
    scanned: Mapping[str, tuple[int, int]] | None = None,
) -> list[str]:
    """Scan every file under `folder`; move each one holding a secret to quarantine. Returns what moved.

    The sweep at the end of a run: catches what the per-step scan cannot see (run.log, manifests).
    `scanned` maps the files a step's scan already passed to their `file_stamp` then: one still the
    same is not read again. A quarantine that fails still removes the file from the archive and
    reports it.
    """
    index = secrets if isinstance(secrets, SecretIndex) else build_index(secrets)
    moved: list[str] = []
    if not index or not folder.is_dir():
        return moved
    scanned = scanned or {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stamp = scanned.get(str(path))
        if stamp is not None and file_stamp(path) == stamp:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if not contains_secret(data, index):
            continue
        rel = path.relative_to(folder).as_posix().replace("/", "__")
        try:
            moved.append(str(quarantine(data, quarantine_folder, rel)))
        except QuarantineUnavailable as exc:
            moved.append(f"{path.name} (discarded: {exc})")
        path.unlink(missing_ok=True)
    return moved
