"""The reading pipeline's guarantees: order within a stream, bounds, errors, lookahead."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from scopeguard.adapters.jira.pipeline import chain, run_streams


def _numbers(name: str, count: int, produced: list[str] | None = None) -> Iterator[str]:
    for n in range(count):
        if produced is not None:
            produced.append(f"{name}{n}")
        yield f"{name}{n}"


def test_every_item_comes_once_and_each_stream_in_its_order() -> None:
    streams = [lambda name=name: _numbers(name, 25) for name in "abcde"]
    got = list(run_streams(streams, workers=3, buffer=2))
    assert sorted(got) == sorted(f"{name}{n}" for name in "abcde" for n in range(25))
    for name in "abcde":
        assert [item for item in got if item[0] == name] == [f"{name}{n}" for n in range(25)]


def test_streams_run_at_most_buffer_plus_one_per_worker_ahead_of_the_caller() -> None:
    produced: list[str] = []
    results = run_streams([lambda: _numbers("a", 100, produced)], workers=1, buffer=2)
    assert next(results) == "a0"
    # Wait until the stream is stuck on the full hand-over, then count what it made.
    deadline = threading.Event()
    for _ in range(200):
        if len(produced) >= 4:
            break
        deadline.wait(0.01)
    deadline.wait(0.05)
    # a0 taken, two waiting in the buffer, one held by the blocked stream.
    assert len(produced) == 4
    results.close()


def test_a_failing_stream_raises_in_the_caller_after_what_came_before() -> None:
    def failing() -> Iterator[str]:
        yield "ok"
        raise ValueError("page 2 is malformed")

    got = []
    with pytest.raises(ValueError, match="page 2"):
        for item in run_streams([failing], workers=1):
            got.append(item)
    assert got == ["ok"]


def test_closing_early_stops_the_streams() -> None:
    produced: list[str] = []
    results = run_streams(
        [lambda: _numbers("a", 10_000, produced), lambda: _numbers("b", 10_000, produced)],
        workers=2,
        buffer=1,
    )
    assert next(results) in ("a0", "b0")
    results.close()  # joins the workers: they must notice and stop
    assert len(produced) < 10


def test_no_streams_is_no_items() -> None:
    assert list(run_streams([], workers=4)) == []


Counting = tuple[
    Callable[[int], bytes],
    Callable[[bytes], int],
    Callable[[int], int | None],
    Callable[[bytes], int | None],
]


def _count_to_three(sent: list[int], second_sent: threading.Event | None = None) -> Counting:
    """fetch, decode, follow and glance of a chain of requests 1, 2, 3."""

    def fetch(key: int) -> bytes:
        sent.append(key)
        if key == 2 and second_sent is not None:
            second_sent.set()
        return str(key).encode()

    def follow(page: int) -> int | None:
        return page + 1 if page < 3 else None

    return fetch, int, follow, lambda answer: follow(int(answer))


def test_a_chain_sends_the_next_request_before_the_caller_takes_the_answer() -> None:
    sent: list[int] = []
    second_sent = threading.Event()
    fetch, decode, follow, glance = _count_to_three(sent, second_sent)
    pages = chain(1, fetch, decode, follow, glance=glance)
    assert next(pages) == 1
    # The caller has not asked for the second page, yet its request is out.
    assert second_sent.wait(5)
    assert list(pages) == [2, 3]
    assert sent == [1, 2, 3]


def test_a_chain_without_lookahead_sends_each_request_when_asked() -> None:
    sent: list[int] = []
    fetch, decode, follow, glance = _count_to_three(sent)
    pages = chain(1, fetch, decode, follow, glance=glance, ahead=False)
    assert next(pages) == 1
    assert sent == [1]
    assert list(pages) == [2, 3]
