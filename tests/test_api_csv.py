"""History CSV parsing: UTF-8 regardless of headers, RFC 4180 quoting, empty → None, header checks."""

from __future__ import annotations

import json

import httpx
import pytest

from lib.api import HISTORY_COLUMNS, ClientConfig, CsvFormatError, IndigitallClient, parse_history_csv

HEADER = ",".join(HISTORY_COLUMNS)


def row(**values: str) -> str:
    return ",".join(values.get(c, "") for c in HISTORY_COLUMNS)


def test_header_has_the_24_known_columns():
    assert (
        len(HISTORY_COLUMNS) == 24
        and HISTORY_COLUMNS[0] == "messageId"
        and HISTORY_COLUMNS[-1] == "sendingId"
    )


def test_quoting_newlines_emoji_and_empty_fields():
    content = '{"eventName":"FLOW_RESPONSE_EVENT","eventParameters":{"flowResponse":{"¿La atención fue rápida?":"⏱️ Sí "}}}'
    quoted = '"' + content.replace('"', '""') + '"'
    body = "\n".join(
        [
            HEADER,
            row(
                messageId="12345678",
                content='"Hola, ¿cómo estás?\nSegunda línea"',
                profileName="José 😀 Núñez",
            ),
            row(messageId="12345679", content=quoted, isFallback="No"),
            "",
        ]
    ).encode("utf-8")
    page = parse_history_csv(body)
    assert page.header == list(HISTORY_COLUMNS) and page.extra_columns == []
    first, second = page.rows
    assert first["content"] == "Hola, ¿cómo estás?\nSegunda línea"
    assert first["profileName"] == "José 😀 Núñez"
    assert first["status"] is None and first["agentId"] is None
    assert second["content"] == content
    assert second["isFallback"] == "No"


def test_header_only_page_is_empty():
    assert parse_history_csv((HEADER + "\n").encode()).rows == []
    assert parse_history_csv(b"").rows == []


def test_unknown_extra_column_is_kept():
    body = (HEADER + ",newColumn\n" + row(messageId="1") + ",extra\n").encode()
    page = parse_history_csv(body)
    assert page.extra_columns == ["newColumn"]
    assert page.rows[0]["newColumn"] == "extra" and page.rows[0]["messageId"] == "1"


def test_missing_column_is_a_clear_error():
    cols = [c for c in HISTORY_COLUMNS if c != "agentId"]
    with pytest.raises(CsvFormatError, match="agentId"):
        parse_history_csv((",".join(cols) + "\n").encode())


def test_ragged_row_is_an_error():
    with pytest.raises(CsvFormatError, match="line 2"):
        parse_history_csv((HEADER + "\n1,2,3\n").encode())


def test_broken_quoting_is_an_error():
    with pytest.raises(CsvFormatError):
        parse_history_csv((HEADER + '\n"12"x,' + "," * 23 + "\n").encode())


def test_crlf_and_bom_tolerated():
    body = ("\ufeff" + HEADER + "\r\n" + row(messageId="9", profileName="Ana") + "\r\n").encode()
    page = parse_history_csv(body)
    assert page.rows[0]["messageId"] == "9" and page.header[0] == "messageId"


def test_source_data_shape():
    page = parse_history_csv((HEADER + "\n" + row(messageId="1") + "\n").encode())
    doc = page.to_source_data(page=3, limit=500)
    assert doc["format"] == "csv" and doc["page"] == 3 and doc["limit"] == 500
    assert doc["header"] == list(HISTORY_COLUMNS) and doc["rows"][0]["messageId"] == "1"


def test_source_json_is_the_source_data_as_text():
    """The raw row's text: same document (non-ASCII kept as UTF-8, quotes and newlines escaped)."""
    content = '{"eventName":"FLOW","q":"¿Rápida?\n⏱️ Sí"}'
    page = parse_history_csv(
        (
            HEADER
            + "\n"
            + row(messageId="7", content='"' + content.replace('"', '""') + '"', profileName="Peña 💬")
            + "\n"
        ).encode()
    )
    text = page.to_source_json(page=0, limit=100_000)
    assert json.loads(text) == page.to_source_data(page=0, limit=100_000)
    assert "Peña 💬" in text and json.loads(text)["rows"][0]["content"] == content
    assert json.loads(text)["rows"][0]["error"] is None  # empty field → null, key kept


def test_client_decodes_utf8_even_when_headers_say_latin1():
    """A Latin-1 decode would turn 'Peña 💬' into mojibake: the client must force UTF-8."""
    name = "Peña Ñandú 💬"
    body = (HEADER + "\n" + row(messageId="1", profileName=name) + "\n").encode("utf-8")
    assert body.decode("latin-1") != body.decode("utf-8")

    def handler(request):
        return httpx.Response(200, content=body, headers={"Content-Type": "text/csv; charset=ISO-8859-1"})

    client = IndigitallClient(
        "https://am1.example.test",
        "k" * 36,
        config=ClientConfig(rate_limit=None),
        transport=httpx.MockTransport(handler),
    )
    from datetime import date

    pages = list(client.history_csv("100274", date(2026, 1, 1), date(2026, 1, 7), limit=10))
    assert len(pages) == 1 and pages[0].csv.rows[0]["profileName"] == name
    no_charset = httpx.Response(200, content=body, headers={"Content-Type": "text/csv"})
    assert no_charset.content.decode("utf-8").count(name) == 1


def test_records_of_a_page_kept_as_text_are_counted_without_parsing_rows():
    """count_csv_records: quoted newlines and commas do not count, blank lines do not; exact near the limit."""
    from lib.api.body import count_csv_records, csv_header, parse_json_body

    lines = [row(messageId=str(i), content='"a, ""b""\nc\n"' if i % 3 else "x") for i in range(10)]
    body = ("\ufeff" + HEADER + "\n" + "\n".join(lines) + "\n").encode()
    assert len(parse_history_csv(body).rows) == 10
    assert count_csv_records(body) == 10 and count_csv_records(body, at_least=10) == 10
    assert count_csv_records(body.rstrip(b"\n")) == 10  # no final newline
    assert count_csv_records((HEADER + "\n").encode()) == 0 and count_csv_records(b"") == 0
    assert csv_header(body.decode()) == list(HISTORY_COLUMNS)
    # a JSON body that is not UTF-8 or holds a raw control character is bad input, not a truncated body
    assert parse_json_body(b'{"a":"\xff\x01"}') == {"a": "\udcff\x01"}
    with pytest.raises(ValueError):
        parse_json_body(b'{"a":')


def test_history_pages_are_kept_as_sent(tmp_path):
    body = (HEADER + "\n" + row(messageId="1", content="\x00 hola") + "\n").encode() + b"\xff\n"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"Content-Type": "text/csv"})

    client = IndigitallClient("https://am1.api.indigitall.com", "k", transport=httpx.MockTransport(handler),
                              config=ClientConfig(rate_limit=None))  # fmt: skip
    [page] = list(client.history_pages("100274", __import__("datetime").date(2026, 1, 1),
                                       __import__("datetime").date(2026, 1, 1), limit=10))  # fmt: skip
    assert page.content == body and page.csv is None and page.records == 2 and page.size == 2
