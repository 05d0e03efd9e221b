"""What a sweep or a fleet keeps between backtests: the least recently used goes first, and
threads of one process (an in-process Dask cluster) share it safely."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from gridpilot.simulator.kept import Kept


def test_the_least_recently_used_is_dropped_first() -> None:
    kept: Kept[str] = Kept(2)
    kept.put("a", "A")
    kept.put("b", "B")
    assert kept.get("a") == "A"  # now the most recent
    kept.put("c", "C")
    assert kept.get("b") is None and kept.get("a") == "A" and kept.get("c") == "C"
    assert len(kept) == 2
    kept.put("a", "A2")  # a key put again is replaced, not added
    assert len(kept) == 2 and kept.get("a") == "A2"
    kept.clear()
    assert len(kept) == 0 and kept.get("a") is None


def test_a_lookup_is_never_cut_by_another_thread_dropping_its_entry() -> None:
    kept: Kept[str] = Kept(1)
    looking = threading.Event()

    class Slow(OrderedDict[Any, str]):
        def get(self, key: Any, default: Any = None) -> Any:
            found = super().get(key, default)
            looking.set()
            time.sleep(0.1)  # the other thread tries to drop the entry found, now
            return found

    kept._items = Slow()
    kept.put("a", "A")
    got: list[str | None] = []
    errors: list[BaseException] = []

    def lookup() -> None:
        try:
            got.append(kept.get("a"))
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=lookup)
    reader.start()
    assert looking.wait(5.0)
    kept.put("b", "B")  # drops "a": it waits for the lookup to finish
    reader.join()
    assert not errors and got == ["A"]
    assert kept.get("a") is None
