"""The audit log's rotation and reading, persisted memory, and run-time override parsing."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.engine.commands import (
    Command,
    CommandKind,
    DeviceLimits,
    charge,
    validate_command,
)
from gridpilot.errors import CommandError
from gridpilot.scheduler.audit import AuditLog, audit_files, read_audit
from gridpilot.scheduler.dispatcher import backoff_delay_s
from gridpilot.scheduler.overrides import OverrideError, OverrideStore, parse_override_request
from gridpilot.scheduler.persist import RunMemory, load_memory, save_memory

T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


def test_audit_rotates_by_size_keeps_n_files_and_reads_back_in_order(tmp_path: Path) -> None:
    log = AuditLog(tmp_path, max_bytes=2048, keep=3)
    for i in range(400):
        log.write("tick", T0 + timedelta(seconds=i), tick=i, pad="x" * 40)
    log.close()
    files = audit_files(tmp_path)
    # The current file exists unless the last write just rotated it away.
    assert [f.name for f in files if f.name != "audit.jsonl"] == [
        "audit.jsonl.3", "audit.jsonl.2", "audit.jsonl.1"]
    assert all(f.stat().st_size <= 2048 + 200 for f in files)
    ticks = [r["tick"] for r in read_audit(tmp_path)]
    assert ticks == sorted(ticks) and ticks[-1] == 399
    assert len(ticks) < 400  # the oldest were rotated away
    assert ticks == list(range(ticks[0], 400))  # nothing lost inside the kept window


def test_audit_since_filter_and_a_corrupt_line(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    for i in range(5):
        log.write("tick", T0 + timedelta(minutes=i), tick=i)
    log.close()
    with (tmp_path / "audit.jsonl").open("a") as fh:
        fh.write('{"ts": "2026-01-05T06:10:00+00:00", "kind": "ti')
    recs = list(read_audit(tmp_path, since=T0 + timedelta(minutes=3)))
    assert [r.get("tick") for r in recs] == [3, 4, None]
    assert recs[-1]["kind"] == "corrupt" and recs[-1]["line"] == 6


def test_audit_keeps_nan_and_infinity_as_text(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    log.write("command_invalid", T0, command={"power_w": float("nan"), "max_w": float("inf")})
    log.close()
    text = (tmp_path / "audit.jsonl").read_text()
    assert "NaN" not in text and "Infinity" not in text  # strict JSON
    (record,) = read_audit(tmp_path)
    assert record["command"] == {"power_w": "nan", "max_w": "inf"}


def test_memory_round_trips_and_a_broken_file_is_reported(tmp_path: Path) -> None:
    mem = RunMemory(active_command=charge(2000, 80), active_since=T0, sent_command=charge(2000, 80),
                    sent_expires=T0 + timedelta(hours=1), peak_month="2026-01",
                    month_peak_import_w=4200.0)
    save_memory(tmp_path, mem)
    again, err = load_memory(tmp_path)
    assert err is None and again == mem
    (tmp_path / "state.json").write_text("{broken")
    fresh, err = load_memory(tmp_path)
    assert fresh == RunMemory() and err is not None and "state.json" in err


def test_override_requests_are_checked() -> None:
    ok = parse_override_request({"action": {"kind": "discharge", "power_w": 1500},
                                 "until": "2026-01-05T08:00:00+00:00"}, T0)
    assert ok.until == T0 + timedelta(hours=2) and ok.name.startswith("manual-")
    bad = [
        ({"action": {"kind": "charge"}, "for_s": 60, "until": "2026-01-05T08:00:00+00:00"},
         "exactly one"),
        ({"action": {"kind": "charge"}, "until": "2026-01-05T08:00:00"}, "offset"),
        ({"action": {"kind": "charge"}, "for_s": -5}, "has passed"),
        ({"action": {"kind": "charge"}, "for_s": 86_400 * 30}, "14 days"),
        ({"action": {"kind": "boil"}, "for_s": 60}, "action.kind"),
        ({"action": {"kind": "hold", "power_w": 5}, "for_s": 60}, "does not apply"),
        ({"action": {"kind": "hold"}, "for_s": 60, "colour": "red"}, "unknown field"),
        ([], "JSON object"),
    ]
    for body, message in bad:
        with pytest.raises(OverrideError, match=message):
            parse_override_request(body, T0)


@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 10_000)), max_size=8),
       st.integers(0, 25_000))
@settings(max_examples=60, deadline=None)
def test_active_overrides_are_never_expired_and_persist(tmp_path_factory: pytest.TempPathFactory,
                                                        spans: list[tuple[int, int]],
                                                        at_s: int) -> None:
    directory = tmp_path_factory.mktemp("ovr")
    store = OverrideStore(directory)
    for i, (start_s, length_s) in enumerate(spans):
        start = T0 + timedelta(seconds=start_s)
        store.add(parse_override_request({"action": {"kind": "hold"}, "for_s": length_s,
                                          "name": f"o{i}"}, start))
    now = T0 + timedelta(seconds=at_s)
    active = store.active(now)
    assert all(o.start <= now < o.until for o in active)
    expected = {f"o{i}" for i, (s, n) in enumerate(spans) if s <= at_s < s + n}
    assert {o.name for o in active} == expected
    reloaded = OverrideStore(directory)
    assert {o.name for o in reloaded.all()} == {o.name for o in store.all()}
    data = json.loads((directory / "overrides.json").read_text()) if spans else {"overrides": []}
    assert all(datetime.fromisoformat(o["until"]) > now for o in data["overrides"])


@given(st.integers(0, 100), st.floats(0.1, 100), st.floats(1, 10_000))
def test_backoff_grows_and_is_capped(failures: int, initial: float, cap: float) -> None:
    d = backoff_delay_s(failures, initial, cap)
    assert 0 <= d <= cap
    if failures >= 1:
        assert d >= min(initial, cap)
        assert backoff_delay_s(failures + 1, initial, cap) >= d


@st.composite
def commands(draw: st.DrawFn) -> Command:
    maybe = st.one_of(st.none(), st.floats(-100, 20_000), st.just(float("nan")))
    return Command(
        kind=draw(st.sampled_from(list(CommandKind))),
        power_w=draw(maybe),
        target_soc_pct=draw(st.one_of(st.floats(-10, 110), st.just(float("nan")))),
        floor_soc_pct=draw(st.floats(-10, 110)),
        max_import_w=draw(maybe),
        max_export_w=draw(maybe),
    )


@given(st.lists(commands(), min_size=1, max_size=6))
@settings(max_examples=150, deadline=None)
def test_the_dispatcher_never_sends_a_command_outside_the_limits(cmds: list[Command]) -> None:
    import tempfile

    from gridpilot.clock import ManualClock
    from gridpilot.scheduler.dispatcher import Dispatcher
    from gridpilot.scheduler.metrics import Metrics
    from tests.scheduler.fakes import FakeDevice

    limits = DeviceLimits(10, 3000, 3000, 10, 95)
    clock = ManualClock(T0)
    device = FakeDevice(clock, limits)  # raises CommandError in apply on an invalid command
    with tempfile.TemporaryDirectory() as tmp:
        dispatcher = Dispatcher(device, audit=AuditLog(Path(tmp)), metrics=Metrics(),
                                memory=RunMemory(), valid_for_s=3600, refresh_before_s=120,
                                backoff_initial_s=1, backoff_max_s=1, call_timeout_s=1)

        async def run() -> list[str]:
            out = []
            for cmd in cmds:
                outcome = await dispatcher.dispatch(cmd, limits, device.mode, clock.now(), tick=1)
                out.append(outcome.status)
                clock.advance(60)
            return out

        statuses = asyncio.run(run())
        dispatcher.audit.close()
    for cmd, status in zip(cmds, statuses, strict=True):
        try:
            validate_command(cmd, limits)
            valid = True
        except CommandError:
            valid = False
        assert (status == "invalid") == (not valid)
    assert all(validate_command(c, limits) == c for c in device.applied)
    assert len(device.applied) == sum(s == "sent" for s in statuses)
