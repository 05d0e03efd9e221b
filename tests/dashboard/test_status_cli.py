"""`gridpilot status` against a live scheduler, and without one."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from gridpilot.cli import main
from tests.dashboard.live import Live


def test_status_prints_mode_command_readings_prices_plan_and_cost(
        live: Live, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--state-dir", str(live.state_dir)]) == 0
    out = capsys.readouterr().out
    report = live.scheduler.last_report
    assert report is not None and report.decision is not None
    assert out.startswith("Agile home (Oxford): RUNNING")
    assert f"command  {report.decision.command.describe()}" in out
    for limit in report.decision.limits:
        assert limit.limit in out
    assert report.snapshot is not None and report.snapshot.soc_pct is not None
    assert f"SOC {report.snapshot.soc_pct:.1f} %" in out
    assert "next cheapest" in out and "next dearest" in out
    assert "plan     time   import  command" in out
    assert "override none" in out and "error    none" in out
    assert "without the battery" in out


def test_status_json_is_the_status_document(live: Live, capsys: pytest.CaptureFixture[str],
                                            ) -> None:
    assert main(["status", "--state-dir", str(live.state_dir), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"mode", "decision", "readings", "prices", "plan", "overrides",
                        "cost_today", "health"}
    assert doc["tick"] == live.scheduler.tick_count


def test_status_open_prints_a_link_that_logs_in_once(
        live: Live, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--state-dir", str(live.state_dir), "--open"]) == 0
    link = capsys.readouterr().out.split()[-1]
    assert link.startswith(live.url + "/login?code=")
    with httpx.Client() as c:
        assert c.get(link).status_code == 200
        assert c.get(live.url + "/api/status").status_code == 200


def test_no_scheduler_says_so_and_exits_1(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--state-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("gridpilot is not running:") and "gridpilot run" in out
    # A control file left behind by a scheduler that is gone: nothing answers.
    token = tmp_path / "control.token"
    token.write_text("x" * 43)
    token.chmod(0o600)
    (tmp_path / "control.json").write_text(json.dumps(
        {"url": "http://127.0.0.1:9", "token_file": str(token)}))
    assert main(["status", "--state-dir", str(tmp_path), "--json"]) == 1
    assert "no scheduler answers" in capsys.readouterr().out
