"""The storage form of per-issue facts: MessagePack, decoded straight into the domain's types.

Rebuilding 20,000 issues' facts is most of a fresh process's first summary
(a worker after a restart, the first sync that changes something). msgspec
writes each ``IssueFacts`` as a compact MessagePack map and reads it back into
the same frozen dataclasses in one call, instants as MessagePack timestamps in
UTC; that is several times faster than JSON rows rebuilt by hand.

Each blob carries :data:`~scopeguard.domain.facts.FACTS_SCHEMA_VERSION`: facts
written by another version are refused, and recomputed from the issue.
"""

from __future__ import annotations

import msgspec

from scopeguard.domain.facts import FACTS_SCHEMA_VERSION, IssueFacts

_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(tuple[int, IssueFacts])
_VERSION = msgspec.msgpack.Decoder(tuple[int, msgspec.Raw])


def encode_facts(facts: IssueFacts) -> bytes:
    """``facts`` as stored: ``[schema version, facts]`` in MessagePack."""
    return _ENCODER.encode((FACTS_SCHEMA_VERSION, facts))


def decode_facts(blob: bytes) -> IssueFacts:
    """Facts stored by :func:`encode_facts`.

    Raises ``ValueError`` for facts of another schema version or a blob that is
    not facts at all: the caller recomputes them.
    """
    try:
        version, _ = _VERSION.decode(blob)
        if version != FACTS_SCHEMA_VERSION:
            raise ValueError(f"cached facts have schema version {version!r}")
        return _DECODER.decode(blob)[1]
    except msgspec.DecodeError as exc:
        raise ValueError(f"cached facts cannot be read: {exc}") from exc
