"""Sequence checks over recorded ticks: change counting, dwell and deadlines agree with a brute
force reading of the same ticks."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.decision import Decision
from gridpilot.rules.scenario import Check
from gridpilot.testing.sequence_checks import Tick, evaluate_check, kind_changes

START = datetime(2026, 1, 15, tzinfo=UTC)
STEP_S = 300.0
KINDS = [CommandKind.CHARGE, CommandKind.HOLD, CommandKind.SELF_CONSUMPTION]


def _ticks(kinds: list[CommandKind], socs: list[float]) -> list[Tick]:
    out = []
    for i, (kind, soc) in enumerate(zip(kinds, socs, strict=True)):
        decision = Decision(command=Command(kind), winner="default", layer="default", reason="")
        after = socs[i + 1] if i + 1 < len(socs) else soc
        out.append(Tick(START + timedelta(seconds=i * STEP_S), STEP_S, soc, 0.0, 0.0,
                        decision, 0.0, 0.0, after))
    return out


sequences = st.integers(1, 40).flatmap(
    lambda n: st.tuples(
        st.lists(st.sampled_from(KINDS), min_size=n, max_size=n),
        st.lists(st.floats(0, 100, allow_nan=False), min_size=n, max_size=n),
    )
)


def _check(data: dict[str, object], ticks: list[Tick]) -> bool:
    until = START + timedelta(seconds=len(ticks) * STEP_S)
    return not evaluate_check(UTC, Check.model_validate(data), ticks, START, until, (None, None))


@given(sequences)
def test_max_changes_counts_every_change_of_kind(
    seq: tuple[list[CommandKind], list[float]],
) -> None:
    kinds, socs = seq
    ticks = _ticks(kinds, socs)
    brute = sum(a != b for a, b in itertools.pairwise(kinds))
    assert len(kind_changes(ticks, None)) == brute
    assert _check({"max_changes": brute}, ticks)
    if brute:
        assert not _check({"max_changes": brute - 1}, ticks)


@given(sequences)
def test_min_dwell_is_the_shortest_gap_between_changes(
    seq: tuple[list[CommandKind], list[float]]
) -> None:
    kinds, socs = seq
    ticks = _ticks(kinds, socs)
    change_idx = [i for i in range(1, len(kinds)) if kinds[i] != kinds[i - 1]]
    gaps = [(b - a) * STEP_S for a, b in itertools.pairwise(change_idx)]
    if not gaps:
        assert _check({"min_dwell": "1d"}, ticks)
        return
    shortest = min(gaps)
    assert _check({"min_dwell": shortest}, ticks)
    assert not _check({"min_dwell": shortest + 1}, ticks)


@given(sequences, st.integers(0, 40))
def test_by_reads_the_soc_when_the_clock_reaches_the_deadline(
    seq: tuple[list[CommandKind], list[float]], k: int
) -> None:
    kinds, socs = seq
    ticks = _ticks(kinds, socs)
    k = min(k, len(ticks))
    deadline = START + timedelta(seconds=k * STEP_S)
    # after k whole ticks the SOC is the SOC going into tick k (the last value for k = len)
    expected = ticks[k].soc_pct if k < len(ticks) else ticks[-1].soc_after_pct
    at = deadline.isoformat()
    assert _check({"by": at, "soc_pct": {"approx": expected, "tol": 1e-9}}, ticks)
    assert not _check({"by": at, "soc_pct": {"min": expected + 0.5}}, ticks)
