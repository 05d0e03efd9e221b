"""A symlink loop is one file's error: ``check`` and ``test`` report it and go on."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridpilot.cli import main
from tests.rules.conftest import BASE, write

POLICY = BASE + "default:\n  action: {kind: self_consumption}\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write(tmp_path, POLICY, "good.yaml")
    (tmp_path / "loop.yaml").symlink_to("loop.yaml")
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    return tmp_path


def test_check_reports_a_loop_and_checks_the_rest(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", str(tree / "loop.yaml"), str(tree)])
    out, err = capsys.readouterr()
    assert code == 1
    lines = out.splitlines()
    assert f"{tree / 'good.yaml'}: ok" in lines
    for name in ("loop.yaml", "a.yaml", "b.yaml"):
        mine = [line for line in lines if line.startswith(f"{tree / name}: ")]
        assert mine == [f"{tree / name}: cannot read file: Too many levels of symbolic links "
                        "(hint: fix or remove the symlink)"], out
    assert "internal error" not in err
    assert "4 file(s) checked, 3 error(s) in 3 file(s)" in err


def test_test_reports_a_loop_and_runs_the_rest(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tree, POLICY + """\
tests:
  - name: runs
    at: "2026-01-15 10:00"
    expect: self_consumption
""", "good.yaml")
    code = main(["test", str(tree / "loop.yaml"), str(tree)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "1 passed, 3 failed" in out
    assert "internal error" not in err
