"""Invariants of the flag converters and the audit reader: whatever the text, the answer is a
valid value or the one error type the command line turns into a clear message."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.cli import argtypes
from gridpilot.cli.log import _since_arg as log_since
from gridpilot.cli.log import format_record
from gridpilot.cli.override import _until as override_until
from gridpilot.scheduler.audit import read_audit

TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["nan", "-nan", "inf", "-inf", "1e999", "0", "-0", "1h", "5m", "0:1:1",
                     "x=0:nan:1", "a=1,2", "2018-01-01", "25:99", "1_000", "0x10", "",
                     "0001-01-01T00:00", "9999-12-31T23:59", "9999-12-31T23:59+14:00", "24:00",
                     "1900-01-01"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@given(TEXT, st.floats(-1e6, 1e6), st.floats(0, 1e6), st.booleans())
def test_finite_float_gives_a_finite_value_in_bounds_or_a_usage_error(
    text: str, low: float, span: float, positive: bool
) -> None:
    convert = argtypes.finite_float(min_value=low, max_value=low + span, positive=positive)
    try:
        value = convert(text)
    except argparse.ArgumentTypeError as exc:
        assert str(exc)
        return
    assert math.isfinite(value)
    assert low <= value <= low + span
    assert not positive or value > 0


@given(TEXT)
def test_every_converter_answers_a_value_or_a_usage_error(text: str) -> None:
    converters = [
        argtypes.positive_int, argtypes.sim_step_s, argtypes.date_or_time,
        argtypes.timezone_name, argtypes.sweep_setting, argtypes.data_format,
        argtypes.column_map, argtypes.delimiter, override_until, log_since,
        argtypes.duration_s(min_s=1, max_s=3600),
    ]
    for convert in converters:
        try:
            value = convert(text)
        except argparse.ArgumentTypeError as exc:
            assert str(exc)
            continue
        if convert is argtypes.positive_int:
            assert isinstance(value, int) and value >= 1
        if convert is argtypes.sim_step_s:
            assert value in (60, 300, 900, 1800, 3600)
        if convert is argtypes.delimiter:
            assert len(value) == 1


@given(st.text(max_size=12))
def test_durations_stay_within_their_bounds(text: str) -> None:
    convert = argtypes.duration_s(min_s=1, max_s=3600)
    try:
        seconds = convert(text)
    except argparse.ArgumentTypeError:
        return
    assert 1 <= seconds <= 3600


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["ts", "kind", "state", "decision", "dispatch", "command",
                                       "soc_pct", "grid_w", "power_w", "error", "x"]),
                      children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(JSON.map(json.dumps), st.text(max_size=20)), max_size=8))
def test_any_audit_file_reads_and_formats_without_an_exception(lines: list[str]) -> None:
    import tempfile

    # One file line per entry: the reader splits at \n and \r alike.
    lines = [line.replace("\n", " ").replace("\r", " ") for line in lines]
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "audit.jsonl").write_text("".join(line + "\n" for line in lines),
                                               encoding="utf-8")
        records = list(read_audit(directory))
        for record in records:
            assert isinstance(record, dict)
            assert isinstance(record["kind"], str) and isinstance(record["ts"], str)
            assert isinstance(format_record(record), str)
            json.dumps(record)
        written = sum(1 for line in lines if line.strip())
        assert len(records) == written, "every non-blank line is a record or flagged"
