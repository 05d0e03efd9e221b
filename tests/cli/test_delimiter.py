"""``--delimiter`` is honoured whenever the data is CSV, with or without ``--map``, and refused,
not ignored, where the format's layout is fixed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gridpilot.cli import main


def _simulate(capsys: pytest.CaptureFixture[str], policy: Path, data: Path,
              *extra: str) -> tuple[int, dict[str, Any] | None, str]:
    code = main(["simulate", str(policy), "--data", str(data), "--step", "30m", "--json",
                 *extra])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def _semicolons(two_days: Path, tmp_path: Path) -> Path:
    path = tmp_path / "two-days-semicolon.csv"
    text = two_days.read_text(encoding="utf-8").replace(",", ";")
    path.write_text(text, encoding="utf-8")
    return path


def test_a_semicolon_csv_reads_like_the_comma_one(
    capsys: pytest.CaptureFixture[str], policy: Path, two_days: Path, tmp_path: Path
) -> None:
    code, comma, err = _simulate(capsys, policy, two_days)
    assert code == 0, err
    semi = _semicolons(two_days, tmp_path)
    code, by_flag, err = _simulate(capsys, policy, semi, "--delimiter", ";")
    assert code == 0, err
    assert comma is not None and by_flag is not None
    assert by_flag["results"] == comma["results"]
    assert by_flag["period"] == comma["period"]
    # With --format csv named, and with fewer --map flags than columns, the same.
    code, named, err = _simulate(capsys, policy, semi, "--format", "csv", "--delimiter", ";")
    assert code == 0, err
    assert named is not None and named["results"] == comma["results"]
    code, mapped, err = _simulate(capsys, policy, semi, "--delimiter", "semicolon",
                                  "--map", "load_w=load_w", "--map", "pv_w=pv_w")
    assert code == 0, err
    assert mapped is not None and mapped["results"] == comma["results"]


def test_a_delimiter_the_file_does_not_use_is_an_error(
    capsys: pytest.CaptureFixture[str], policy: Path, two_days: Path
) -> None:
    code, _, err = _simulate(capsys, policy, two_days, "--delimiter", ";")
    assert code == 1
    assert str(two_days) in err and "Traceback" not in err


def test_a_delimiter_for_a_fixed_layout_is_refused_not_ignored(
    capsys: pytest.CaptureFixture[str], policy: Path, two_days: Path
) -> None:
    code, _, err = _simulate(capsys, policy, two_days, "--format", "elexon", "--delimiter", ";")
    assert code == 1
    assert "--delimiter" in err and "elexon" in err and "Traceback" not in err
