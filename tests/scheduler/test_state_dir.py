"""The state directory holds the control token and the audit log: it is created 0700, an
existing one of gridpilot's is tightened, and a shared one is warned about."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gridpilot.cli import main
from gridpilot.clock import ManualClock
from gridpilot.scheduler.audit import read_audit
from gridpilot.scheduler.loop import Scheduler
from gridpilot.scheduler.persist import atomic_write_json, ensure_state_dir
from tests.scheduler.fakes import FakeDevice, fake_decide, load_fake_policy, write_policy

T0 = datetime(2018, 6, 1, 12, 0, tzinfo=UTC)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> object:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_state_dir_is_private(tmp_path: Path) -> None:
    assert ensure_state_dir(tmp_path / "a" / "state") is None
    assert mode(tmp_path / "a" / "state") == 0o700
    atomic_write_json(tmp_path / "b" / "state.json", {})
    assert mode(tmp_path / "b") == 0o700


def test_an_existing_gridpilot_state_dir_is_tightened(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    (state / "audit.jsonl").write_text("")
    warning = ensure_state_dir(state)
    assert warning is not None and "tightened to 700" in warning and "755" in warning
    assert mode(state) == 0o700


def test_a_shared_folder_is_left_alone_with_a_warning(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    (shared / "policy.yaml").write_text("")
    warning = ensure_state_dir(shared)
    assert warning is not None and "chmod 700" in warning and "run.state_dir" in warning
    assert mode(shared) == 0o755


async def test_the_scheduler_audits_what_it_did_to_its_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    (state / "state.json").write_text("{}")
    clock = ManualClock(T0)
    policy = load_fake_policy(write_policy(tmp_path))
    sched = Scheduler(policy, FakeDevice(clock, policy.limits), clock=clock, state_dir=state,
                      decide_fn=fake_decide)
    assert mode(state) == 0o700
    await sched.run(max_ticks=1)
    assert mode(state / "audit.jsonl") == 0o600
    kinds = [r["kind"] for r in read_audit(state)]
    assert kinds[:2] == ["started", "config_warning"]
    [warning] = [r for r in read_audit(state) if r["kind"] == "config_warning"]
    assert warning["setting"] == "state_dir"


def test_run_creates_its_state_dir_private(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "policies" / "economy7.yaml"
    policy = tmp_path / "economy7.yaml"
    policy.write_text(example.read_text() + "run:\n  control_enabled: false\n")
    code = main(["run", str(policy), "--once", "--dry-run", "--quiet"])
    assert code == 0, capsys.readouterr().err
    state = tmp_path / ".gridpilot"
    assert mode(state) == 0o700
    assert "config_warning" not in [r["kind"] for r in read_audit(state)]
