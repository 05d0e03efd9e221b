"""One duration grammar: the policy (a cron window's ``for``), the scenario tests (``step``,
``min_dwell``, ``for``), the command line (``--for``, ``--interval``, ``--since``, ``--step``) all
read durations with :func:`gridpilot.timeutil.parse_duration_s`."""

from __future__ import annotations

import argparse
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from gridpilot.calendar.text import window_for_s
from gridpilot.calendar.when import When
from gridpilot.cli import argtypes
from gridpilot.recorded.resample import parse_step
from gridpilot.rules.scenario import Check
from gridpilot.rules.scenario_base import Duration
from gridpilot.timeutil import parse_duration_s

YEAR_S = 366 * 86_400
UNITS_S = {"d": 86_400, "h": 3600, "m": 60, "min": 60, "s": 1, "ms": 0.001}
ORDER = ("d", "h", "m", "s", "ms")


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90), ("90s", 90), ("500ms", 0.5), ("15m", 900), ("15min", 900), ("1.5h", 5400),
    ("1h30m", 5400), ("1h 30m", 5400), ("2d", 172_800), ("2D12H", 216_000), (" 3h ", 10_800),
    ("1m30s250ms", 90.25), ("0", 0), (30, 30), (2.5, 2.5),
])
def test_the_grammar(text: str | float, seconds: float) -> None:
    assert parse_duration_s(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "message"), [
    ("", "write a number of seconds"), ("h", "write a number of seconds"),
    ("1hx", "write a number of seconds"), ("-5", "write a number of seconds"),
    ("1e3", "write a number of seconds"), ("inf", "write a number of seconds"),
    ("30m1h", "longest first"), ("1h1h", "longest first"), ("1m1min", "longest first"),
    (-1, "negative"), (float("nan"), "finite"), (True, "write a number of seconds"),
    ("1" + "0" * 400 + "d", "finite"),
])
def test_what_is_refused_says_how_to_write_it(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration_s(text)  # type: ignore[arg-type]


def test_the_examples_that_used_to_disagree() -> None:
    # 1h30m was read by the policy but refused by the scenario tests; 500ms the other way round.
    When.model_validate({"cron": "0 1 * * *", "for": "500ms"})
    When.model_validate({"cron": "0 1 * * *", "for": "1h30m"})
    assert Check.model_validate({"min_dwell": "1h30m"}).min_dwell == "1h30m"
    assert Check.model_validate({"min_dwell": "500ms"}).min_dwell == "500ms"
    assert argtypes.duration_s()("1h30m") == 5400
    assert argtypes.duration_s()("500ms") == 0.5
    assert parse_step("1h") == 3600 and parse_step("60min") == 3600


# Duration text as people write it: parts from the longest unit down, with some noise.
_PART = st.tuples(st.integers(min_value=0, max_value=400),
                  st.sampled_from(["", ".5", ".25"]))


@st.composite
def duration_texts(draw: st.DrawFn) -> str:
    units = draw(st.lists(st.sampled_from(ORDER), min_size=1, max_size=4, unique=True))
    units.sort(key=ORDER.index)
    parts = []
    for unit in units:
        whole, frac = draw(_PART)
        spelt = draw(st.sampled_from(["min", "m", "M"])) if unit == "m" else unit
        spelt = spelt.upper() if draw(st.booleans()) else spelt
        parts.append(f"{whole}{frac}{spelt}")
    return draw(st.sampled_from(["", " "])).join(parts)


ANY_TEXT = duration_texts() | st.text(alphabet="0123456789.dhmsin -", max_size=10)


@settings(max_examples=150, deadline=None)
@given(duration_texts())
def test_well_formed_text_is_the_sum_of_its_parts(text: str) -> None:
    expected = 0.0
    rest = text.replace(" ", "").lower()

    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|min|d|h|m|s)", rest):
        expected += float(number) * UNITS_S[unit]
    assert parse_duration_s(text) == pytest.approx(expected)


def _read(convert: object, text: str) -> float | None:
    try:
        return float(convert(text))  # type: ignore[operator]
    except (ValueError, ValidationError, argparse.ArgumentTypeError):
        return None


_SCENARIO_DURATION: TypeAdapter[float | str] = TypeAdapter(Duration)


def _scenario_duration_s(text: str) -> float:
    return parse_duration_s(_SCENARIO_DURATION.validate_python(text))


@settings(max_examples=150, deadline=None)
@given(ANY_TEXT)
def test_the_policy_the_tests_and_the_command_line_agree(text: str) -> None:
    seconds = _read(parse_duration_s, text)
    in_tests = _read(_scenario_duration_s, text)
    assert in_tests == seconds
    window = _read(window_for_s, text)
    # The policy bounds a cron window to (0, a year]; inside those bounds it reads the same.
    if seconds is not None and 0 < seconds <= YEAR_S:
        assert window == seconds
        When.model_validate({"cron": "0 1 * * *", "for": text})
    else:
        assert window is None
        with pytest.raises(ValidationError):
            When.model_validate({"cron": "0 1 * * *", "for": text})
    check_ok = _read(lambda t: Check.model_validate({"min_dwell": t}) and 0, text) is not None
    assert check_ok == (seconds is not None)
    flag = _read(argtypes.duration_s(), text)
    assert flag == (seconds if seconds is not None and 0 < seconds <= YEAR_S else None)
    assert flag is None or math.isfinite(flag)
