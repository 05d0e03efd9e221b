"""Calendar answers for a block of minutes, computed at once and read one minute at a time.

A window's calendar part changes at most once a minute, and a tick asks about one instant; the
vectorised evaluation is cheap per minute but costly per call, so a week of minutes is computed
at once and each tick then costs one index.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["BLOCK_MIN", "MinuteBlock"]

BLOCK_MIN = 7 * 1440
"""Minutes of calendar answers computed at once."""

T = TypeVar("T")


class MinuteBlock(Generic[T]):
    """The answers of one block of minutes, recomputed when an instant falls outside it."""

    __slots__ = ("_block",)

    def __init__(self) -> None:
        # (first minute, answers) in one attribute, so a reader never pairs one block's start
        # with another block's answers.
        self._block: tuple[int, list[T]] = (0, [])

    def at(self, t_s: float, compute: Callable[[npt.NDArray[np.int64]], list[T]]) -> T:
        """The answer for the minute holding ``t_s`` [UNIX s]; ``compute`` gives the answers
        for an array of minute starts [UNIX s] when that minute is not in the block."""
        minute = int(t_s // 60)
        base, answers = self._block
        i = minute - base
        if 0 <= i < len(answers):
            return answers[i]
        fresh = compute((minute + np.arange(BLOCK_MIN, dtype=np.int64)) * 60)
        self._block = (minute, fresh)
        return fresh[0]
