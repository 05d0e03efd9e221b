"""The wheel a user installs: it carries the demo's policy and data, and ``gridpilot demo`` runs
from an installed wheel in a directory that is not a checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

# Both tests use the one wheel: under xdist (--dist loadgroup) they run on one worker, which
# builds it once.
pytestmark = pytest.mark.xdist_group("wheel")

ROOT = Path(__file__).resolve().parent.parent
DEMO_FILES = (
    "gridpilot/demo/policies/agile-dynamic.yaml",
    "gridpilot/demo/data/uk-2018-halfhourly.csv",
    "gridpilot/demo/data/LICENSE-3YP.txt",
    "gridpilot/demo/README.md",
    "gridpilot/py.typed",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy of what a build reads, so nothing left in the checkout's build/ can
    # slip into the wheel, and the wheel cannot lean on examples/.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "gridpilot", source / "gridpilot",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
         "--disable-pip-version-check", "--wheel-dir", str(out), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = out.glob("gridpilot-*.whl")
    return built


def test_the_wheel_carries_the_demo(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for name in DEMO_FILES:
            assert name in names, f"{name} is not in {wheel.name}"
        # The data itself, not a link to it: every half hour of 2018 and the header.
        rows = zf.read("gridpilot/demo/data/uk-2018-halfhourly.csv").decode().splitlines()
        assert len(rows) == 17_521
        policy = zf.read("gridpilot/demo/policies/agile-dynamic.yaml").decode()
        assert "file: ../data/uk-2018-halfhourly.csv" in policy


def test_demo_runs_from_the_installed_wheel_outside_a_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)],
                   check=True, timeout=120)
    python = venv / "bin" / "python"
    # The dependencies come from the running environment (no download); gridpilot itself only
    # from the wheel: the environment's editable install is not on the new one's path.
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip())
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_outer_environment.pth").write_text("\n".join(sorted(outer)) + "\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--quiet", "--disable-pip-version-check", str(wheel)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GRIDPILOT_STATE_DIR")}
    where = subprocess.run([str(python), "-c", "import gridpilot; print(gridpilot.__file__)"],
                           capture_output=True, text=True, cwd=work, env=env, timeout=60,
                           check=True).stdout
    assert Path(where).resolve().is_relative_to(venv.resolve()), where
    proc = subprocess.run(
        [str(venv / "bin" / "gridpilot"), "demo", "--from", "2018-01-15", "--to", "2018-01-18",
         "--no-optimal", "--out", "report"],
        capture_output=True, text=True, cwd=work, env=env, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Saving against no battery" in proc.stdout
    assert (work / "report" / "report.json").is_file()
