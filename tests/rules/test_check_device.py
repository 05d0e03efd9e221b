"""``gridpilot check`` refuses a device that ``gridpilot run`` could not start, at its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridpilot.cli import main
from gridpilot.devices.preflight import DeviceProblem, device_problems
from gridpilot.rules.loader import load_policy
from gridpilot.scheduler.site_device import device_context
from tests.rules.conftest import BASE, write

DEFAULT = "default:\n  action: {kind: self_consumption}\n"


def _problems(path: Path) -> list[DeviceProblem]:
    policy = load_policy(path)
    return device_problems(policy.doc.device.model_dump(), device_context(policy))


def _check(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, list[str]]:
    code = main(["check", *map(str, paths)])
    return code, capsys.readouterr().out.splitlines()


def test_missing_data_file_is_an_error_at_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, BASE + DEFAULT + "device:\n  type: simulated\n  data_file: nope.csv\n")
    code, out = _check(capsys, path)
    assert code == 1
    assert len(out) == 1
    assert out[0].startswith(f"{path}:20:3: device.data_file: file ")
    assert "nope.csv" in out[0] and "not found" in out[0] and "(hint: " in out[0]


def test_unreadable_data_is_an_error_at_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data.csv").write_text("timestamp,foo\n2018-01-01T00:00:00Z,1\n")
    path = write(tmp_path, BASE + DEFAULT + "device:\n  data_file: data.csv\n")
    code, out = _check(capsys, path)
    assert code == 1
    assert out[0].startswith(f"{path}:19:3: device.data_file: ")


def test_valid_data_file_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data.csv").write_text(
        "timestamp,load_w,pv_w\n2018-01-01T00:00:00Z,300,0\n2018-01-01T00:30:00Z,310,0\n"
    )
    path = write(tmp_path, BASE + DEFAULT + "device:\n  data_file: data.csv\n")
    assert _check(capsys, path) == (0, [f"{path}: ok"])


def test_secret_files_of_every_part_are_checked(tmp_path: Path) -> None:
    pin = "a" * 64
    path = write(tmp_path, BASE + DEFAULT + f"""\
device:
  type: composite
  state: {{type: xbattery, device_id: D1, api_key_file: key.txt}}
  control: {{type: xstorage, host: 10.0.0.2, password_file: pw.txt,
            tls_fingerprint_sha256: "{pin}"}}
""")
    problems = _problems(path)
    assert [p.path for p in problems] == [
        ("device", "state", "api_key_file"), ("device", "control", "password_file"),
    ]
    (tmp_path / "key.txt").write_text("k\n")
    (tmp_path / "pw.txt").write_text("p\n")
    assert _problems(path) == []
