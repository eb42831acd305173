"""The composition root: what building the services for a process sets up."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from scopeguard.bootstrap import SYNC_SWITCH_INTERVAL, Services
from scopeguard.config import parse_settings
from tests.unit.test_config import ENV, VALID


@pytest.fixture
def default_switch_interval() -> Iterator[float]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield 0.005
    sys.setswitchinterval(before)


def test_a_syncing_process_hands_the_gil_over_sooner(default_switch_interval: float) -> None:
    settings = parse_settings(VALID, env=ENV)
    Services(settings)
    assert sys.getswitchinterval() == default_switch_interval  # a web worker: untouched
    Services(settings, syncing=True)
    assert sys.getswitchinterval() == pytest.approx(SYNC_SWITCH_INTERVAL)
    sys.setswitchinterval(SYNC_SWITCH_INTERVAL / 2)
    Services(settings, syncing=True)  # a smaller one, set by whoever embeds us, stays
    assert sys.getswitchinterval() == pytest.approx(SYNC_SWITCH_INTERVAL / 2)
