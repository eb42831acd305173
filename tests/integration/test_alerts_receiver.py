"""A real HTTP receiver on loopback for the alert tests, and the README's signature check.

:class:`Receiver` is imported by the other alert tests. It records every
request and answers from a script of statuses; it can hold one request (the
"gate") so a test can kill the sender mid-delivery, and then tells whether the
sender was still there to get the answer (``accepted``) or had gone
(``aborted``), as a real receiver would see it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import pytest
import urllib3

from scopeguard.adapters.delivery.channels import sign
from tests.support.receiver import Receiver, readme_verifier, receiver_running


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiver_running()


def test_readme_snippet_accepts_our_signature_and_rejects_tampering() -> None:
    verify = readme_verifier()
    body = b'{"id":"a","event":"scope_creep_threshold"}'
    header = sign("s3cret", body)
    assert header == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert verify("s3cret", body, header)
    assert not verify("s3cret", body + b" ", header)
    assert not verify("other", body, header)
    assert not verify("s3cret", body, None)
    assert not verify("s3cret", body, header.replace("sha256=", "sha1="))


def test_receiver_scripts_answers_and_records(receiver: Receiver) -> None:
    receiver.responses.append((503, {"Retry-After": "3"}))
    pool = urllib3.PoolManager()
    first = pool.request("POST", receiver.url + "/x", body=b"one", retries=False)
    second = pool.request("POST", receiver.url + "/x", body=b"two", retries=False)
    assert (first.status, first.headers["Retry-After"], second.status) == (503, "3", 200)
    assert [r.body for r in receiver.requests] == [b"one", b"two"]
    assert [r.body for r in receiver.accepted()] == [b"two"]
