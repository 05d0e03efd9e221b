"""A file loaded twice in one process is parsed once; each caller still gets its own series,
and a changed file is read again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import gridpilot.recorded as recorded
from gridpilot.inputs import recording_inputs
from gridpilot.recorded import load_data

_TEXT = "timestamp,load_w,pv_w\n2024-01-01T00:00:00Z,100,0\n2024-01-01T00:30:00Z,200,5\n"


def test_a_second_load_parses_nothing_and_gets_its_own_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.csv"
    path.write_text(_TEXT)
    parsed: list[Path] = []
    real = recorded.FORMATS["csv"]

    def counted(p: Path) -> recorded.TimeSeries:
        parsed.append(p)
        return real(p)

    monkeypatch.setitem(recorded.FORMATS, "csv", counted)
    first = load_data(path)
    first.columns["load_w"][0] = -1.0
    first.report.repairs.append("changed by its caller")
    with recording_inputs() as read:
        second = load_data(path)
    assert parsed == [path]
    assert read == [path]  # still an input of whatever loads it
    assert second.columns["load_w"].tolist() == [100.0, 200.0]
    assert "changed by its caller" not in second.report.repairs
    assert second.report == load_data(path).report

    path.write_text(_TEXT.replace("200", "300"))
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 10**9))
    assert load_data(path).columns["load_w"].tolist() == [100.0, 300.0]
    assert len(parsed) == 2
