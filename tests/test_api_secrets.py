"""The ServerKey never shows: not in errors (str/repr/cause), call records, log records or reprs."""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest

from lib.api import (
    ApiError,
    Backoff,
    ClientConfig,
    IndigitallClient,
    RetryPolicy,
    redact_headers,
    render_request,
)

KEY = "5f1c7a52-9d3e-4b7a-8a61-0c2f9e7d4b13"


def client_with(handler, records) -> IndigitallClient:
    return IndigitallClient(
        "https://am1.example.test",
        KEY,
        config=ClientConfig(rate_limit=None, retry=RetryPolicy(max_attempts=3, backoff=Backoff(base=0.001))),
        transport=httpx.MockTransport(handler),
        on_call=records.append,
    )


def echo_key_500(request):
    # A hostile server echoing the key back in its error message.
    return httpx.Response(500, json={"statusCode": 500, "message": f"bad {request.headers['Authorization']}"})


def echo_key_401(request):
    return httpx.Response(401, json={"statusCode": 401, "message": f"Access token is not valid: {KEY}"})


def raise_with_request(request):
    raise httpx.ReadError(f"dropped while sending {request.headers}", request=request)


def cut_body(request):
    return httpx.Response(200, content=f'{{"data": "{KEY}'.encode())


@pytest.mark.parametrize("handler", [echo_key_500, echo_key_401, raise_with_request, cut_body])
def test_key_never_leaks(handler, caplog):
    caplog.set_level(logging.DEBUG)
    records = []
    client = client_with(handler, records)
    with pytest.raises(ApiError) as info:
        client.request("/v1/chat/history/csv", params={"applicationId": "100274", "page": 0})
    err = info.value
    texts = [str(err), repr(err), "".join(traceback.format_exception(err)), repr(client)]
    texts += [repr(r) for r in records] + [repr(c) for c in err.calls]
    texts += [r.getMessage() for r in caplog.records] + [str(r.args) for r in caplog.records]
    texts += [str(err.__cause__), repr(err.__cause__), str(err.__context__)]
    for text in texts:
        assert KEY not in text
    assert records and all(r.error for r in records)


def test_header_rendering_is_redacted():
    request = httpx.Request(
        "GET", "https://am1.example.test/v1/campaign", headers={"Authorization": f"ServerKey {KEY}"}
    )
    assert KEY not in render_request(request)
    assert KEY not in str(redact_headers(request.headers))
    assert KEY not in repr(request) and KEY not in repr(request.headers)


def test_key_in_params_is_masked_in_records():
    records = []
    client = client_with(lambda r: httpx.Response(200, json={"data": []}), records)
    resp = client.request("/v1/campaign", params={"serverKey": KEY, "applicationId": "1"})
    assert KEY not in repr(records) and KEY not in repr(resp.params)
