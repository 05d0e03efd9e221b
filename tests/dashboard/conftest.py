"""One live scheduler per test module: starting it costs a policy load and a few ticks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dashboard.live import Live, start_live, stop_live


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    running = start_live(tmp_path_factory.mktemp("state"))
    try:
        yield running
    finally:
        stop_live(running)
