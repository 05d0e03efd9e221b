"""``type=`` converters for command-line flags.

A malformed flag value is a usage error: argparse turns :class:`argparse.ArgumentTypeError`
into ``gridpilot CMD: error: argument --flag: <message>`` and exit status 2, before any file is
read or any device is touched. Every converter here says what a good value looks like.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from gridpilot.simulator.sweep import SweepSetting

FIRST_YEAR = 1970
LAST_YEAR = 9000

__all__ = [
    "FIRST_YEAR",
    "LAST_YEAR",
    "column_map",
    "data_format",
    "date_or_time",
    "delimiter",
    "duration_s",
    "finite_float",
    "positive_int",
    "sim_step_s",
    "sweep_setting",
    "timezone_name",
]


def finite_float(
    *, min_value: float | None = None, max_value: float | None = None, positive: bool = False
) -> Callable[[str], float]:
    """A finite number within ``[min_value, max_value]`` (above 0 with ``positive``)."""

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r}: give a finite number")
        if positive and value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r}: must be above 0")
        if min_value is not None and value < min_value:
            raise argparse.ArgumentTypeError(f"{text!r}: must be at least {min_value:g}")
        if max_value is not None and value > max_value:
            raise argparse.ArgumentTypeError(f"{text!r}: must be at most {max_value:g}")
        return value

    convert.__name__ = "number"  # argparse names the converter in some of its messages
    return convert


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be 1 or more")
    return value


def duration_s(
    *, min_s: float = 0.0, max_s: float = 366 * 86_400.0, example: str = "2h, 90m"
) -> Callable[[str], float]:
    """A duration (``90s``, ``500ms``, ``5m``, ``1h30m``; see
    :func:`gridpilot.timeutil.parse_duration_s`) in seconds: above 0, within ``[min_s, max_s]``
    (by default at most a year, so that adding it to a time stays in range)."""

    def convert(text: str) -> float:
        from gridpilot.timeutil import parse_duration_s

        try:
            seconds = parse_duration_s(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{exc} (e.g. {example})") from None
        if seconds <= 0:
            raise argparse.ArgumentTypeError(f"{text!r}: must be above 0 (e.g. {example})")
        if seconds < min_s or seconds > max_s:
            raise argparse.ArgumentTypeError(
                f"{text!r}: must be between {_human_s(min_s)} and {_human_s(max_s)}"
            )
        return seconds

    convert.__name__ = "duration"
    return convert


def _human_s(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def sim_step_s(text: str) -> int:
    """A simulation step: ``1m``, ``5m``, ``15m``, ``30m`` or ``1h``, in seconds."""
    from gridpilot.errors import DataError
    from gridpilot.recorded.resample import parse_step

    try:
        return parse_step(text)
    except DataError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def date_or_time(text: str) -> str:
    """A date (``YYYY-MM-DD``) or ISO 8601 time; the text is kept, since how a value without an
    offset is read depends on the site's timezone, known only once the policy is loaded."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD) or ISO 8601 time (YYYY-MM-DDTHH:MM[+01:00])"
        ) from None
    # Near datetime's limits a timezone shift or a day's horizon leaves its range.
    if not FIRST_YEAR <= value.year < LAST_YEAR:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a time from {FIRST_YEAR} to before {LAST_YEAR}"
        )
    return text


def timezone_name(text: str) -> str:
    """An IANA timezone name such as ``Europe/London`` or ``UTC``."""
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an IANA timezone name (e.g. Europe/London, UTC)"
        ) from None
    return text


def sweep_setting(text: str) -> SweepSetting:
    """``PATH=A:B:STEP`` or ``PATH=a,b,c``."""
    from gridpilot.errors import DataError
    from gridpilot.simulator.sweep import parse_setting

    try:
        return parse_setting(text)
    except DataError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--set ")) from None


def data_format(text: str) -> str:
    """``auto`` or one of the recorded-data formats the loaders know."""
    from gridpilot.recorded import FORMATS

    if text != "auto" and text not in FORMATS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a data format; use auto or one of {', '.join(FORMATS)}"
        )
    return text


def column_map(text: str) -> str:
    """``FIELD=COLUMN`` or ``FIELD=COLUMN:UNIT`` (kept as text: the loader reads it)."""
    field, sep, rest = text.partition("=")
    if not sep or not field.strip() or not rest.strip() or rest.strip().startswith(":"):
        raise argparse.ArgumentTypeError(
            f"{text!r}: use FIELD=COLUMN or FIELD=COLUMN:UNIT, e.g. load_w=House:kW"
        )
    return text


_NAMED_DELIMITERS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def delimiter(text: str) -> str:
    """One character, or ``tab`` (also ``\\t``), ``comma``, ``semicolon``, ``pipe``."""
    value = _NAMED_DELIMITERS.get(text, text)
    if len(value) != 1 or value in "\r\n\"":
        raise argparse.ArgumentTypeError(
            f"{text!r}: give one character (e.g. ';'), or tab, comma, semicolon or pipe"
        )
    return value
