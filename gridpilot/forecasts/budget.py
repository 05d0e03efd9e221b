"""A call budget for a rate-limited forecast service: at most ``calls`` requests per ``per_s``
seconds (forecast.solar's free tier: 12 an hour; Solcast's hobbyist tier: 10 a day), and no
request before the time a 429 answer asked us to wait. A refused call is not sent: answering 429s
in a loop is what gets a client's key or IP blocked, and it wiped other tools' forecasts."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

__all__ = ["CallBudget"]


class CallBudget:
    def __init__(self, calls: int, per_s: float, *, spent_s: Iterable[float] = ()) -> None:
        if calls < 1 or per_s <= 0:
            raise ValueError("a budget needs at least one call per positive period")
        self.calls = calls
        self.per_s = per_s
        self._spent: deque[float] = deque(sorted(spent_s))
        self.not_before_s = 0.0

    def _forget(self, now_s: float) -> None:
        while self._spent and self._spent[0] <= now_s - self.per_s:
            self._spent.popleft()

    def wait_s(self, now_s: float) -> float:
        """How long until a call may be sent (0: now)."""
        self._forget(now_s)
        wait = max(0.0, self.not_before_s - now_s)
        if len(self._spent) >= self.calls:
            wait = max(wait, self._spent[0] + self.per_s - now_s)
        return wait

    def remaining(self, now_s: float) -> int:
        """Calls the budget still allows now (0 while a 429's wait lasts)."""
        self._forget(now_s)
        return 0 if now_s < self.not_before_s else max(0, self.calls - len(self._spent))

    def spend(self, now_s: float) -> None:
        """Count a call sent at ``now_s``."""
        self._forget(now_s)
        self._spent.append(now_s)

    def back_off(self, now_s: float, retry_after_s: float) -> None:
        """The service said 429: no call before ``now_s + retry_after_s``."""
        self.not_before_s = max(self.not_before_s, now_s + retry_after_s)

    def spent_s(self) -> list[float]:
        """The times of the calls still counted (persisted with the cache across restarts)."""
        return list(self._spent)
