"""The device registry and the policy's ``device:`` section."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gridpilot.clock import ManualClock
from gridpilot.devices.base import DeviceAdapter
from gridpilot.devices.registry import DEVICES
from gridpilot.devices.xstorage import XStorageAdapter
from gridpilot.errors import DeviceTypeError, PolicyError
from gridpilot.scheduler.site_device import device_for_policy
from gridpilot.scheduler.site_device import load_site_policy as load_policy

HEAD = """\
version: 1
site:
  name: test house
  timezone: Europe/London
  battery: {capacity_kwh: 4.2, max_charge_w: 3600, max_discharge_w: 3600}
tariff:
  import: {default: 0.25}
"""

TYPES = ("composite", "homeassistant", "mqtt", "simulated", "sunspec", "xbattery", "xstorage")


def test_available_types() -> None:
    assert DEVICES.names() == list(TYPES)
    assert "host" in DEVICES.settings_model("xstorage").model_fields
    with pytest.raises(DeviceTypeError, match="valid: " + ", ".join(TYPES)):
        DEVICES.settings_model("tesla")


def test_simulated_is_the_default(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(HEAD)
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    device = device_for_policy(load_policy(path), clock=clock)
    assert isinstance(device, DeviceAdapter)
    assert device.name == "simulated"


def test_xstorage_from_policy_with_env_password(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + """\
device:
  type: xstorage
  name: garage
  host: 192.168.1.50
  password: ${XS_PW}
  tls_fingerprint_sha256: "%s"
""" % ("AB:" * 31 + "AB"))
    policy = load_policy(path, environ={"XS_PW": "s3cret"})
    device = device_for_policy(policy)
    assert isinstance(device, XStorageAdapter)
    assert device.name == "garage"
    assert device.settings.password is not None
    assert device.settings.password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(device.settings)


def test_bad_device_settings_are_located_errors(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + """\
device:
  type: xstorage
  host: 192.168.1.50
  password: x
  timeout: 5
""")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    text = str(info.value)
    assert "p.yaml:12" in text and "timeout" in text and "timeout_s" in text


def test_unknown_type_lists_valid_ones(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + "device:\n  type: xstorge\n")
    with pytest.raises(PolicyError, match="valid: " + ", ".join(TYPES)):
        load_policy(path)


def test_xstorage_mode_memory_lives_in_the_state_dir(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + """\
run: {state_dir: var/gp}
device: {type: xstorage, name: "garage unit", host: 10.0.0.2, password: x, insecure: true}
""")
    device = device_for_policy(load_policy(path))
    assert isinstance(device, XStorageAdapter)
    assert device._own_ids.path == tmp_path / "var" / "gp" / "xstorage-garage_unit-modes.json"
