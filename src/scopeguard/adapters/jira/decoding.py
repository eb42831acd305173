"""Jira's JSON as plain values, and checks of its shape: bodies, histories, batches.

Everything here is about the shape of what Jira sends; a shape we cannot
read is a :class:`~scopeguard.adapters.jira.errors.JiraMalformedResponse`,
never a ``KeyError`` deep inside the sync.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, TypeGuard, TypeVar

import msgspec
import requests

from scopeguard.adapters.jira.errors import JiraMalformedResponse
from scopeguard.domain.timeparse import parse_jira_datetime

JsonObject = dict[str, Any]
"""A decoded JSON object as Jira sent it (the adapter's edge; parsed into domain types)."""


T = TypeVar("T")


def rebatch(pages: Iterable[list[T]], size: int) -> Iterator[list[T]]:
    """The items of ``pages`` regrouped into lists of ``size`` (the last may be shorter)."""
    pending: list[T] = []
    for issues in pages:
        pending.extend(issues)
        while len(pending) >= size:
            batch, pending = pending[:size], pending[size:]
            yield batch
    if pending:
        yield pending


def decode_body(content: bytes, response: requests.Response, what: str) -> Any:
    """The JSON body (``content``) as plain values; a body that is not JSON says what it
    was instead.

    msgspec's decoder, several times faster than :func:`json.loads`. The large
    pages a sync reads are decoded into typed structs instead
    (:mod:`scopeguard.adapters.jira.wire`).
    """
    try:
        return msgspec.json.decode(content)
    except msgspec.DecodeError:
        content_type = response.headers.get("Content-Type", "")
        hint = (
            " (an HTML page: a login or proxy page? check jira.url)"
            if "html" in content_type.lower()
            else ""
        )
        text = content[:200].decode(response.encoding or "utf-8", errors="replace")
        raise JiraMalformedResponse(
            f"{what}: Jira answered HTTP {response.status_code} with a body that is not JSON"
            f"{hint}: {text!r}"
        ) from None


def expect_object(value: Any, what: str) -> JsonObject:
    """``value`` if it is a JSON object, else a malformed-response error naming ``what``."""
    if not isinstance(value, dict):
        raise JiraMalformedResponse(f"{what} is not a JSON object but {kind(value)}")
    return value


def history_id_of(history: Any, issue_label: str) -> str:
    """A changelog history's id as text."""
    if not isinstance(history, Mapping):
        raise JiraMalformedResponse(f"a history of issue {issue_label} is {kind(history)}")
    value = history.get("id")
    if is_int(value):
        return str(value)
    if not isinstance(value, str) or not value:
        raise JiraMalformedResponse(f"a history of issue {issue_label} has no id")
    return value


def set_changelog(issue: JsonObject, histories: list[JsonObject]) -> None:
    """Store the complete history on the issue, oldest first, with total == len(histories)."""
    label = str(issue.get("key") or issue.get("id"))

    def order(history: JsonObject) -> tuple[datetime, int, str]:
        ident = history_id_of(history, label)
        created = history.get("created")
        try:
            moment = parse_jira_datetime(created) if isinstance(created, str) else None
        except ValueError:
            moment = None
        if moment is None:
            raise JiraMalformedResponse(
                f"issue {label}: history {ident} has no valid created timestamp ({created!r})"
            )
        return (moment, int(ident) if ident.isdigit() else 0, ident)

    ordered = sorted(histories, key=order)
    issue["changelog"] = {
        "startAt": 0,
        "maxResults": len(ordered),
        "total": len(ordered),
        "histories": ordered,
    }


def field_order(field_id: str) -> tuple[int, str]:
    """Custom fields oldest first (``customfield_10016`` before ``customfield_10200``)."""
    digits = field_id.rsplit("_", 1)[-1]
    return (int(digits) if digits.isdigit() else 1 << 62, field_id)


def is_int(value: Any) -> TypeGuard[int]:
    """A JSON integer (not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool)


def kind(value: Any) -> str:
    """What a JSON value is, for messages (``null``, ``list``, ``str``…)."""
    if value is None:
        return "null"
    return type(value).__name__


def snippet(value: Any) -> str:
    """A short JSON rendering of ``value`` for an error message."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:197] + "..."
