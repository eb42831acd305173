"""Reading several page sequences at once, with a bounded number of results waiting.

A sync's reading is a few *streams*: sequences of requests that must run in
order among themselves (a ``nextPageToken`` chain, the bulkfetch pages of one
batch) but not with each other (another created-date range, every fourth Data
Center page). :func:`run_streams` runs each stream in a worker thread and hands
their results to the caller as they complete, so that while the caller parses
and stores one page, the next ones are already in flight.

The bounds that keep memory flat: at most ``workers`` streams run at once, each
holds at most one result it could not hand over yet, and at most ``buffer``
results wait for the caller. When the caller stops early or a stream fails, the
other streams stop at their next hand-over.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K")
R = TypeVar("R")

Stream = Callable[[], Iterator[T]]


class _Done:
    """A stream's end marker."""


class _Failed:
    """A stream's exception, carried to the caller's thread."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _StoppedError(Exception):
    """Raised inside a stream's thread when the caller has gone."""


class _Handover(Generic[T]):
    def __init__(self, buffer: int) -> None:
        self.queue: queue.Queue[T | _Done | _Failed] = queue.Queue(maxsize=buffer)
        self.stop = threading.Event()

    def put(self, item: T | _Done | _Failed) -> None:
        # A timed wait so a stream blocked on a full queue notices the caller left.
        while True:
            if self.stop.is_set():
                raise _StoppedError
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue


def run_streams(
    streams: Sequence[Stream[T]], *, workers: int, buffer: int = 2
) -> Generator[T, None, None]:
    """Every result of every stream: each stream's in its order, streams interleaved.

    ``workers`` threads run the streams (one stream per thread until it ends);
    ``buffer`` (≥ 1) results at most wait for the caller. The first exception of
    a stream is raised here once the results before it were taken; the other
    streams are then stopped. Even with one stream and one worker the stream runs
    ahead of the caller by up to ``buffer`` results: the overlap of I/O and CPU.
    """
    if not streams:
        return
    handover: _Handover[T] = _Handover(max(1, buffer))

    def run(stream: Stream[T]) -> None:
        try:
            for item in stream():
                handover.put(item)
            handover.put(_Done())
        except _StoppedError:
            return
        except BaseException as exc:  # carried to the caller, which re-raises it
            try:
                handover.put(_Failed(exc))
            except _StoppedError:
                return

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="jira-read")
    try:
        for stream in streams:
            pool.submit(run, stream)
        remaining = len(streams)
        while remaining:
            item = handover.queue.get()
            if isinstance(item, _Done):
                remaining -= 1
            elif isinstance(item, _Failed):
                raise item.error
            else:
                yield item
    finally:
        handover.stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


AHEAD = 3
"""Answers a chain read ahead fetches before the caller takes them: enough to keep one
request in flight while the caller parses a bulkfetch page (~3 round trips)."""


def chain(
    first: K,
    fetch: Callable[[K], bytes],
    decode: Callable[[bytes], R],
    follow: Callable[[R], K | None],
    *,
    glance: Callable[[bytes], K | None],
    ahead: bool = True,
    buffer: int = AHEAD,
) -> Iterator[R]:
    """The decoded answers of a request chain (page tokens, ``startAt`` steps).

    ``fetch(key)`` sends one request and ``decode`` reads its answer; the next key
    comes from ``follow(decoded)``, ``None`` at the end. With ``ahead`` a thread of
    its own sends the requests one after another, each as soon as the answer
    before it is in, up to ``buffer`` answers before the caller: it reads just
    the next key from the bytes (``glance``, a fraction of a full decode), so a
    chain of pages takes as long as its requests, not its requests plus the
    parsing. Without it each request waits for the caller to ask for its answer.
    """
    if not ahead:
        key: K | None = first
        while key is not None:
            page = decode(fetch(key))
            key = follow(page)
            yield page
            del page  # not kept alive while the next request is out
        return

    def answers() -> Iterator[bytes]:
        following: K | None = first
        while following is not None:
            answer = fetch(following)
            following = glance(answer)
            yield answer
            del answer

    pages = run_streams([answers], workers=1, buffer=buffer)
    try:
        for answer in pages:
            page = decode(answer)
            del answer
            yield page
            del page
    finally:
        pages.close()
