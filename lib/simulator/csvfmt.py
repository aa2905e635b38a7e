"""History CSV format: the 24 columns, RFC 4180 quoting, LF line ends, UTF-8 without BOM."""

from __future__ import annotations

from collections.abc import Sequence

from lib.api.history_csv import HISTORY_COLUMNS  # the API's column contract, one owner

HEADER_LINE = ",".join(HISTORY_COLUMNS) + "\n"
_SPECIAL = frozenset(',"\r\n')


def format_line(values: Sequence[str | None]) -> str:
    """One CSV record terminated by LF."""
    plain = _SPECIAL.isdisjoint
    return (
        ",".join([(v if plain(v) else '"' + v.replace('"', '""') + '"') if v else "" for v in values]) + "\n"
    )
