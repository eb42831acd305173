"""The sample agency, synced once per module on the pinned clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.agency import Agency, build_agency


@pytest.fixture(scope="module")
def agency(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agency]:
    yield from build_agency(tmp_path_factory.mktemp("agency"))
