"""``gridpilot check`` warns about a secret written into the policy instead of ``${VAR}``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gridpilot.cli import main
from tests.rules.conftest import BASE, write

PIN = "a" * 64
POLICY = BASE + "default:\n  action: {kind: self_consumption}\n"


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_literal_password_is_warned_about_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, POLICY + f"""\
device:
  type: xstorage
  host: 10.0.0.2
  password: hunter2-secret
  tls_fingerprint_sha256: "{PIN}"
""")
    code, out, err = _check(capsys, str(path))
    assert code == 0
    assert out.splitlines() == [
        f"{path}: ok",
        f"{path}:21:3: device.password: warning: the password is written here in plain text; "
        "anyone who can read this policy (or its history in version control) can read it "
        "(hint: write password: ${XSTORAGE_PASSWORD} and set XSTORAGE_PASSWORD in the "
        "environment, or put it in a file named by 'password_file')",
    ]
    assert "1 warning(s)" in err
    assert "hunter2" not in out + err


def test_secrets_from_the_environment_or_a_file_are_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XS_PASSWORD", "from-env")
    (tmp_path / "key.txt").write_text("k\n")
    path = write(tmp_path, POLICY + f"""\
device:
  type: composite
  state: {{type: xbattery, device_id: D1, api_key_file: key.txt}}
  control: {{type: xstorage, host: 10.0.0.2, password: "${{XS_PASSWORD}}",
            tls_fingerprint_sha256: "{PIN}"}}
""")
    code, out, err = _check(capsys, str(path))
    assert (code, out) == (0, f"{path}: ok\n")
    assert "warning" not in err


def test_a_literal_key_in_a_composite_part_is_warned_about_in_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pw.txt").write_text("p\n")
    path = write(tmp_path, POLICY + f"""\
device:
  type: composite
  state: {{type: xbattery, device_id: D1, api_key: abc123}}
  control: {{type: xstorage, host: 10.0.0.2, password_file: pw.txt,
            tls_fingerprint_sha256: "{PIN}"}}
""")
    code, out, _ = _check(capsys, "--json", str(path))
    assert code == 0
    doc = json.loads(out)
    assert doc["ok"] is True and doc["warning_count"] == 1
    (warning,) = doc["files"][0]["warnings"]
    assert (warning["line"], warning["path"]) == (20, "device.state.api_key")
    assert "${XBATTERY_API_KEY}" in warning["hint"]
    assert "abc123" not in out
