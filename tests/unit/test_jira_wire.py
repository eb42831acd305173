"""Reading a bulkfetch page's ``nextPageToken`` from its bytes, against a full decode."""

from __future__ import annotations

import json

import pytest

from scopeguard.adapters.jira import JiraMalformedResponse
from scopeguard.adapters.jira.cloud import _Answer, _decoded_pages
from scopeguard.adapters.jira.wire import BulkfetchNext, bulkfetch_next_token, decode_as

HISTORY = {
    "id": "1",
    "created": "2026-09-01T10:00:00.000+0300",
    "items": [{"field": "status", "toString": "nextPageToken"}],
}
LOGS = [{"issueId": "10001", "changeHistories": [HISTORY]}]


@pytest.mark.parametrize(
    "body",
    [
        # Jira's layout: the token last.
        json.dumps({"issueChangeLogs": LOGS, "nextPageToken": "eyJ9"}),
        json.dumps({"issueChangeLogs": LOGS, "nextPageToken": 'a"b\\c\u00e9'}),
        json.dumps({"issueChangeLogs": LOGS, "nextPageToken": None}),
        '{"issueChangeLogs": [] ,\n "nextPageToken" : "t" }\n',
        # The last page: no token at all (a history's text "nextPageToken" is no key).
        json.dumps({"issueChangeLogs": LOGS}),
        # Other layouts, read by the full decode.
        json.dumps({"nextPageToken": "first", "issueChangeLogs": LOGS}),
        json.dumps({"issueChangeLogs": [{**LOGS[0], "nextPageToken": "nested"}]}),
        json.dumps({"issueChangeLogs": LOGS, "nextPageToken": "t", "extra": 1}),
    ],
)
def test_the_token_read_from_the_bytes_is_the_decoded_one(body: str) -> None:
    data = body.encode()
    expected = decode_as(data, BulkfetchNext, "bulkfetch").nextPageToken
    assert bulkfetch_next_token(data, "bulkfetch") == expected


def test_a_body_that_is_not_a_page_is_malformed() -> None:
    with pytest.raises(JiraMalformedResponse, match="bulkfetch"):
        bulkfetch_next_token(b'{"issueChangeLogs": [], "nextPageToken": 5}', "bulkfetch")
    with pytest.raises(JiraMalformedResponse, match="not JSON"):
        bulkfetch_next_token(b'{"issueChangeLogs": [{"nextPageToken"', "bulkfetch")


def test_a_page_whose_token_reads_two_ways_is_refused() -> None:
    # A key written with escapes is one the byte search cannot see: the reader took
    # the page for the batch's last, and the full decode must not let that pass.
    data = b'{"issueChangeLogs": [], "next\\u0050ageToken": "more"}'
    assert bulkfetch_next_token(data, "bulkfetch") is None
    pages = _decoded_pages(_Answer([], [], data, None), iter(()))
    with pytest.raises(JiraMalformedResponse, match="nextPageToken"):
        next(pages)


def test_a_token_that_is_not_json_text_is_malformed() -> None:
    with pytest.raises(JiraMalformedResponse, match="not JSON"):
        bulkfetch_next_token(b'{"issueChangeLogs": [], "nextPageToken": "bad \\q"}', "bulkfetch")
