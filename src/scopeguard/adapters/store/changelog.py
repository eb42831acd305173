"""An issue's change items packed into one compressed value of its row.

A row per change item cost ~125 bytes of table and ~30 of indexes each (800,000
rows for 20,000 issues with 30 histories), and inserting them was most of a sync's
CPU. Nothing queries single change items: the metrics, evidence trails and reports
read an issue's whole history at once (:func:`~scopeguard.adapters.store.repository.load_issues`),
so the history is stored the way it is read, as one value per issue.

Format: one version byte, then zlib-compressed MessagePack of the histories in
order, each ``[history_id, created (UTC epoch microseconds), author_account,
author_name, [[field, field_id, from_id, from_string, to_id, to_string], ...]]``.
Items of one history are consecutive in an issue's sorted changes, so grouping
runs of one history loses nothing and stores its time and author once.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from scopeguard.domain.model import ChangeItem

FORMAT_1 = b"\x01"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_LEVEL = 6
"""zlib's default: level 1 saves little CPU here (values are small) and stores ~20 % more."""

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder()


def encode_changes(changes: Sequence[ChangeItem]) -> bytes:
    """The stored form of an issue's change items (in their order)."""
    histories: list[list[Any]] = []
    last: ChangeItem | None = None
    items: list[tuple[str, str | None, str | None, str | None, str | None, str | None]] = []
    for change in changes:
        if (
            last is None
            or change.history_id != last.history_id
            or change.created != last.created
            or change.author_account != last.author_account
            or change.author_name != last.author_name
        ):
            items = []
            histories.append(
                [
                    change.history_id,
                    (change.created - _EPOCH) // _MICRO,
                    change.author_account,
                    change.author_name,
                    items,
                ]
            )
            last = change
        items.append(
            (
                change.field,
                change.field_id,
                change.from_id,
                change.from_string,
                change.to_id,
                change.to_string,
            )
        )
    return FORMAT_1 + zlib.compress(_encoder.encode(histories), _LEVEL)


def decode_changes(data: bytes | None) -> tuple[ChangeItem, ...]:
    """The change items :func:`encode_changes` stored (``None``: no history stored)."""
    if not data:
        return ()
    if data[:1] != FORMAT_1:
        raise ValueError(f"unknown stored changelog format {data[:1]!r}")
    histories = _decoder.decode(zlib.decompress(data[1:]))
    changes: list[ChangeItem] = []
    append = changes.append
    for history_id, micros, account, name, items in histories:
        created = _EPOCH + micros * _MICRO
        for field, field_id, from_id, from_string, to_id, to_string in items:
            append(
                ChangeItem(
                    history_id,
                    created,
                    field,
                    field_id,
                    from_id,
                    from_string,
                    to_id,
                    to_string,
                    account,
                    name,
                )
            )
    return tuple(changes)
