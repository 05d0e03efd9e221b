"""``gridpilot sweep`` writes a CSV only when asked to."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gridpilot.cli import main


def _sweep(policy: Path, data: Path, *extra: str) -> int:
    return main(["sweep", str(policy), "--data", str(data), "--step", "1h", "--jobs", "1",
                 "--set", "site.battery.capacity_kwh=5,10", *extra])


def test_without_csv_nothing_is_written(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    policy: Path, two_days: Path, tmp_path: Path,
) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    assert _sweep(policy, two_days) == 0
    out = capsys.readouterr().out
    assert "ranked by bill" in out
    assert list(work.iterdir()) == []


def test_with_csv_every_variant_is_written_there(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    policy: Path, two_days: Path, tmp_path: Path,
) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    target = tmp_path / "out" / "ranked.csv"
    assert _sweep(policy, two_days, "--csv", str(target)) == 0
    assert f"written to {target}" in capsys.readouterr().out.replace("\n", "")
    assert len(list(csv.DictReader(target.open(encoding="utf-8")))) == 2
    assert list(work.iterdir()) == []
