"""The pinned clock every test that builds dated data runs on.

No test may depend on today's date. The suite runs at a fixed moment, by
default :data:`DEFAULT_NOW`; ``SCOPEGUARD_TEST_NOW`` moves it. CI runs the
whole suite again at each moment of the Makefile's ``CLOCK_MATRIX``
(``make test-clock-matrix``): half an hour into a month (still the previous
day in UTC), half an hour before a month's and a year's end, the morning
Berlin's clocks go back, and a leap day. The agency's time zone comes with it:
``SCOPEGUARD_TEST_NOW=2026-10-25T03:30:00[Europe/Berlin]``.

The clock is pinned, not frozen: it starts at the pinned moment when the test
session starts and runs at the real pace, so leases, debounces and timeouts
behave as in production. Processes the tests start (``scopeguard worker``,
the CLI) run on the same clock through libfaketime with the same offset, so
every process agrees on what time it is.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ENV = "SCOPEGUARD_TEST_NOW"
DEFAULT_NOW = "2026-11-18T12:00:00[Europe/Moscow]"
DEFAULT_ZONE = "Europe/Moscow"
_FORM = re.compile(r"^(?P<moment>[^\[\]]+?)(?:\[(?P<zone>[A-Za-z_+\-/0-9]+)\])?$")
_LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


def _parse(text: str) -> tuple[datetime, ZoneInfo]:
    match = _FORM.match(text.strip())
    if match is None:
        raise ValueError(f"{ENV}={text!r}: expected YYYY-MM-DDTHH:MM:SS[Zone/Name]")
    zone = ZoneInfo(match["zone"] or DEFAULT_ZONE)
    moment = datetime.fromisoformat(match["moment"])
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment, zone


PINNED_AT, AGENCY_ZONE = _parse(os.environ.get(ENV) or DEFAULT_NOW)
"""The moment the test session starts at, and the agency's time zone of the scenarios."""
AGENCY_TZ = AGENCY_ZONE.key
OFFSET_SECONDS = round(PINNED_AT.timestamp() - time.time())
"""Pinned minus real time, whole seconds: the same for this process and its children."""


def now() -> datetime:
    """The pinned clock: :data:`PINNED_AT` when the session started, running since (UTC)."""
    return datetime.fromtimestamp(time.time() + OFFSET_SECONDS, UTC)


def frozen(moment: datetime) -> TestClock:
    """A clock standing still at ``moment`` until the test moves it."""
    return TestClock(moment)


class TestClock:
    """A clock a test sets and moves by hand."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("a test clock needs an aware moment")
        self.now = moment

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def subprocess_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process that must share the pinned clock.

    libfaketime shifts the child's wall clock by :data:`OFFSET_SECONDS`
    (monotonic clocks stay real, so timeouts and sleeps are unaffected).
    """
    if not _LIBFAKETIME.exists():
        raise RuntimeError(
            f"{_LIBFAKETIME} is missing: install Debian's libfaketime "
            "(scripts/install-system-deps.sh)"
        )
    env = dict(os.environ if base is None else base)
    preload = env.get("LD_PRELOAD", "")
    env["LD_PRELOAD"] = f"{_LIBFAKETIME}:{preload}" if preload else str(_LIBFAKETIME)
    env["FAKETIME"] = f"{OFFSET_SECONDS:+d}"
    env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
    env["FAKETIME_DONT_RESET"] = "1"
    env[ENV] = f"{PINNED_AT.isoformat()}[{AGENCY_TZ}]"
    return env
