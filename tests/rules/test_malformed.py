"""Malformed input gives located errors, never a traceback, and never echoes secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridpilot.errors import PolicyError
from gridpilot.rules.loader import load_policy

from .conftest import BASE, write


def issues(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(PolicyError) as info:
        load_policy(path, environ=environ)
    return [i.format() for i in info.value.issues]


def test_missing_file(tmp_path: Path) -> None:
    assert issues(tmp_path / "nope.yaml") == [
        f"{tmp_path / 'nope.yaml'}: file not found (hint: check the path)"
    ]


def test_directory(tmp_path: Path) -> None:
    assert issues(tmp_path) == [f"{tmp_path}: is a directory, not a policy file"]


def test_binary(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert issues(path) == [f"{path}: this is a binary file, not YAML"]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"version: 1\nsite: \xff\xfe\n")
    assert issues(path) == [f"{path}: not valid UTF-8 text (byte 17)"]


def test_scalar_at_top(tmp_path: Path) -> None:
    path = write(tmp_path, "just some text\n")
    assert "the top level must be a mapping of sections, not a text" in issues(path)[0]


def test_tabs_and_bad_indentation(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nsite:\n\tname: x\n")
    (msg,) = issues(path)
    assert msg.startswith(f"{path}:3:1: not valid YAML")


def test_missing_env_var_names_it_and_a_set_one_never_shows(tmp_path: Path) -> None:
    text = BASE + "device:\n  type: simulated\n  password: \"${GP_SECRET_A}\"\n" \
                  "  token: \"${GP_SECRET_MISSING}\"\n"
    path = write(tmp_path, text)
    got = "\n".join(issues(path, environ={"GP_SECRET_A": "hunter2-very-secret"}))
    assert "environment variable GP_SECRET_MISSING is not set" in got
    assert "device.token" in got
    assert "hunter2" not in got


def test_secret_value_never_echoed_by_validation(tmp_path: Path) -> None:
    text = BASE.replace("    capacity_kwh: 10", "    capacity_kwh: \"${GP_SECRET_B}\"")
    got = "\n".join(issues(write(tmp_path, text), environ={"GP_SECRET_B": "s3cr3t-value"}))
    assert "site.battery.capacity_kwh" in got
    assert "s3cr3t-value" not in got


def test_duplicate_secret_never_echoed(tmp_path: Path) -> None:
    text = BASE + "device:\n  type: simulated\n  password: one-secret\n  password: two-secret\n"
    got = "\n".join(issues(write(tmp_path, text)))
    assert "duplicate key 'password'" in got
    assert "one-secret" not in got and "two-secret" not in got


@pytest.mark.parametrize(
    ("replacement", "fragment"),
    [
        ("    capacity_kwh: [1, 2]", "site.battery.capacity_kwh: should be a number"),
        ("    capacity_kwh: 1e999", "site.battery.capacity_kwh: inf is not allowed here"),
        ("    capacity_kwh: -.inf", "site.battery.capacity_kwh: -inf is not allowed here"),
        ("    capacity_kwh: 99999999999999999999999", "number is too large"),
        ("    capacity_kwh: true", "site.battery.capacity_kwh: should be a number"),
        ("    capacity_kwh: {a: 1}", "site.battery.capacity_kwh: should be a number"),
    ],
)
def test_wrong_types_and_numbers(tmp_path: Path, replacement: str, fragment: str) -> None:
    text = BASE.replace("    capacity_kwh: 10", replacement)
    got = issues(write(tmp_path, text))
    assert any(fragment in line and ":6:" in line for line in got), got


def test_deep_nesting_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nx: " + "[" * 600 + "]" * 600 + "\n")
    (msg,) = issues(path)
    assert msg == f"{path}: not valid YAML: nesting is too deep"


def test_endless_device_file_is_refused_not_read_forever() -> None:
    zero = Path("/dev/zero")
    if not zero.exists():
        pytest.skip("no /dev/zero on this system")
    (msg,) = issues(zero)
    assert msg == "/dev/zero: file is larger than 10 MiB"


def test_endless_price_file_is_refused(tmp_path: Path) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero on this system")
    text = BASE.replace("    default: 0.25\n", "    default: 0.25\n    dynamic:\n"
                        "      file: /dev/zero\n")
    (msg,) = issues(write(tmp_path, text))
    assert "tariff.import.dynamic.file: /dev/zero: larger than 50 MiB" in msg


def test_device_settings_never_in_a_repr(tmp_path: Path) -> None:
    from gridpilot.rules.loader import load_policy as load

    text = BASE + "device:\n  type: simulated\n"
    policy = load(write(tmp_path, text))
    spec = policy.doc.device.model_copy(update={"password": "pa55-word-value"})
    assert "pa55-word-value" not in repr(spec) and "pa55-word-value" not in str(spec)
    assert "password='***'" in repr(spec)
    assert "pa55-word-value" not in repr(policy.doc.model_copy(update={"device": spec}))
