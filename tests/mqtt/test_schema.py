"""The policy's ``mqtt:`` section: defaults, and every mistake located in the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridpilot.errors import PolicyError
from gridpilot.mqtt.settings import MqttError, resolve_settings
from gridpilot.rules.loader import load_policy_doc
from tests.scheduler.fakes import POLICY_YAML


def doc(tmp_path: Path, section: str) -> object:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_YAML + "mqtt:\n" + section)
    return load_policy_doc(path)[0]


def test_defaults(tmp_path: Path) -> None:
    d = doc(tmp_path, "  host: broker.local\n")
    s = resolve_settings(d.mqtt, d.site.name, tmp_path)  # type: ignore[attr-defined]
    assert (s.port, s.base_topic, s.discovery_prefix, s.client_id, s.node) == (
        1883, "gridpilot/test_site", "homeassistant", "gridpilot-test_site", "gridpilot_test_site")
    d = doc(tmp_path, "  host: b\n  tls: {}\n  discovery: false\n")
    s = resolve_settings(d.mqtt, d.site.name, tmp_path)  # type: ignore[attr-defined]
    assert (s.port, s.discovery_prefix) == (8883, None)


@pytest.mark.parametrize(("section", "message"), [
    ("  host: b\n  base_topic: home/#\n", "wildcards"),
    ("  host: b\n  base_topic: /home\n", "levels must not be empty"),
    ("  host: b\n  password: x\n", "a password needs a 'username'"),
    ("  host: b\n  username: u\n  password: x\n  password_file: f\n", "not both"),
    ("  host: b\n  tls:\n    cert_file: c.pem\n", "both 'cert_file' and 'key_file'"),
    ("  host: b\n  port: 0\n", "greater than or equal to 1"),
    ("  host: b\n  prot: 1883\n", "prot"),
])
def test_mistakes_are_located(tmp_path: Path, section: str, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        doc(tmp_path, section)
    text = str(err.value)
    assert "policy.yaml:" in text and "mqtt" in text and message in text, text


def test_unreadable_password_file(tmp_path: Path) -> None:
    d = doc(tmp_path, "  host: b\n  username: u\n  password_file: missing.txt\n")
    with pytest.raises(MqttError, match=r"mqtt.password_file: cannot read .*missing.txt"):
        resolve_settings(d.mqtt, d.site.name, tmp_path)  # type: ignore[attr-defined]
