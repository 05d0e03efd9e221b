"""The MQTT link of a run against a real Mosquitto broker: discovery and states retained, only
changes published, the override controls acting as the control API does, the last will, and
everything republished after the connection or the broker comes back."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gridpilot.clock import ManualClock
from gridpilot.mqtt.attach import attach_mqtt
from gridpilot.mqtt.publisher import MqttPublisher
from gridpilot.rules.loader import load_policy
from gridpilot.scheduler.audit import read_audit
from gridpilot.scheduler.loop import Scheduler
from tests.mqtt.conftest import PASSWORD, USER, Broker, Subscriber, wait_for
from tests.scheduler.fakes import POLICY_YAML, FakeDevice

pytestmark = pytest.mark.xdist_group("mqtt")

T0 = datetime(2018, 6, 1, 12, 0, tzinfo=UTC)
BASE = "gridpilot/test_site"
NODE = "gridpilot_test_site"


async def flushed(port: int) -> None:
    """Wait until the tick's last value reached the broker (paho sends from its own thread)."""
    probe = Subscriber(port, [f"{BASE}/price_next/attributes"])
    await wait_for(lambda: probe.last(f"{BASE}/price_next/attributes"))
    probe.close()


def make(tmp_path: Path, port: int, extra: str = "") -> tuple[Scheduler, MqttPublisher]:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_YAML + f"mqtt:\n  host: 127.0.0.1\n  port: {port}\n{extra}")
    policy = load_policy(path)
    clock = ManualClock(T0)
    sched = Scheduler(policy, FakeDevice(clock, policy.limits), clock=clock,
                      state_dir=tmp_path / "state", watch_policy=False)
    publisher = attach_mqtt(sched)
    assert publisher is not None
    return sched, publisher


async def test_discovery_states_and_only_changes(tmp_path: Path, broker: Broker) -> None:
    sched, pub = make(tmp_path, broker.port)
    try:
        await wait_for(lambda: pub.ready)
        await sched.tick()
        await flushed(broker.port)
        sub = Subscriber(broker.port, [f"{BASE}/#", f"homeassistant/+/{NODE}/+/config"])
        # Subscribed after the fact: all it gets is what the broker retained.
        await wait_for(lambda: sub.last(f"{BASE}/soc") is not None
                       and sub.last(f"homeassistant/select/{NODE}/override_mode/config"))
        assert sub.last(f"{BASE}/availability") == "online"
        assert sub.last(f"{BASE}/soc") == "50"
        assert sub.last(f"{BASE}/command") == "self_consumption"
        assert sub.last(f"{BASE}/winner") == "default"
        assert sub.last(f"{BASE}/failsafe") == "OFF"
        assert sub.last(f"{BASE}/stale") == "OFF"
        assert sub.last(f"{BASE}/price_now") == "0.25"
        slots = json.loads(sub.last(f"{BASE}/plan/attributes") or "{}")["slots"]
        assert sub.last(f"{BASE}/plan") == str(len(slots)) and slots
        assert set(slots[0]) == {"start", "battery_w", "soc_pct", "import_per_kwh", "kind"}
        assert sub.last(f"{BASE}/cost_today") == "0"
        cost = json.loads(sub.last(f"{BASE}/cost_today/attributes") or "{}")
        assert cost["currency"] == "GBP" and "cost_without_battery" in cost
        live = [(t, p) for t, m in sub.messages.items() for p, r in m if not r]
        assert live == [], live
        soc = json.loads(sub.last(f"homeassistant/sensor/{NODE}/soc/config") or "{}")
        assert soc["unique_id"] == f"{NODE}_soc"
        assert (soc["unit_of_measurement"], soc["device_class"], soc["state_class"]) == (
            "%", "battery", "measurement")
        assert soc["state_topic"] == f"{BASE}/soc"
        assert soc["availability_topic"] == f"{BASE}/availability"
        assert soc["device"]["identifiers"] == [NODE]
        price = json.loads(sub.last(f"homeassistant/sensor/{NODE}/price_now/config") or "{}")
        assert price["unit_of_measurement"] == "GBP/kWh"
        select = json.loads(sub.last(f"homeassistant/select/{NODE}/override_mode/config") or "")
        assert select["options"] == ["auto", "charge", "discharge", "hold"]
        assert select["command_topic"] == f"{BASE}/override_mode/set"
        number = json.loads(sub.last(f"homeassistant/number/{NODE}/override_power/config") or "")
        assert number["max"] == 3000
        ids = [json.loads(p)["unique_id"] for t, m in sub.messages.items() if t.endswith("/config")
               for p, _ in m]
        assert len(ids) == len(set(ids)) == 19

        before = sum(len(m) for m in sub.messages.values())
        await sched.tick()  # nothing changed: nothing is published
        sched.device.soc_pct = 61.0  # type: ignore[attr-defined]
        await sched.tick()
        await wait_for(lambda: sub.last(f"{BASE}/soc") == "61"
                       and len(sub.messages[f"{BASE}/plan/attributes"]) == 2)
        await flushed(broker.port)
        new = [t for t, m in sub.messages.items() for p, r in m if not r]
        # The SOC changed, and with it the plan ahead; nothing else.
        assert sorted(new) == [f"{BASE}/plan/attributes", f"{BASE}/soc"], new
        assert sum(len(m) for m in sub.messages.values()) == before + 2
        sub.close()
    finally:
        pub.close()


async def test_controls_set_and_clear_overrides(tmp_path: Path, broker: Broker) -> None:
    sched, pub = make(tmp_path, broker.port)
    try:
        await wait_for(lambda: pub.ready)
        sub = Subscriber(broker.port, [f"{BASE}/#"])
        await wait_for(lambda: sub.last(f"{BASE}/override_mode") == "auto")
        sub.client.publish(f"{BASE}/override_power/set", "1500", qos=1)
        await wait_for(lambda: sub.last(f"{BASE}/override_power") == "1500")
        sub.client.publish(f"{BASE}/override_mode/set", "charge", qos=1)
        await wait_for(lambda: sched.overrides.all())
        (override,) = sched.overrides.all()
        assert (override.name, override.action.kind.value, override.action.power_w) == (
            "mqtt", "charge", 1500.0)
        assert (override.until - override.start).total_seconds() == 4 * 3600
        await wait_for(lambda: sub.last(f"{BASE}/override_mode") == "charge")
        report = await sched.tick()
        assert report.decision is not None and report.decision.command.kind.value == "charge"
        await wait_for(lambda: sub.last(f"{BASE}/command") == "charge")

        assert sched.overrides.all() == [override]  # projecting the plan keeps it
        sub.client.publish(f"{BASE}/override_mode/set", "turbo", qos=1)
        sub.client.publish(f"{BASE}/override_clear/set", "PRESS", qos=1)
        await wait_for(lambda: not sched.overrides.all())
        await wait_for(lambda: sub.last(f"{BASE}/override_mode") == "auto")
        audit = [r for r in read_audit(tmp_path / "state") if r["kind"].startswith("override")]
        assert [(r["kind"], r["source"]) for r in audit] == [
            ("override_set", "mqtt"), ("override_refused", "mqtt"),
            ("override_cleared", "mqtt")]
        assert "not one of auto, charge, discharge, hold" in audit[1]["error"]
        sub.close()
    finally:
        pub.close()


async def test_last_will_reconnect_and_broker_restart(tmp_path: Path, broker: Broker) -> None:
    sched, pub = make(tmp_path, broker.port)
    try:
        await wait_for(lambda: pub.ready)
        await sched.tick()
        sub = Subscriber(broker.port, [f"{BASE}/availability"])
        await wait_for(lambda: sub.last(f"{BASE}/availability") == "online")
        # The connection dies without a goodbye: the broker publishes the last will.
        sock = pub._client.socket() if pub._client is not None else None
        assert isinstance(sock, socket.socket)
        sock.shutdown(socket.SHUT_RDWR)
        await wait_for(lambda: sub.last(f"{BASE}/availability") == "offline")
        await wait_for(lambda: sub.last(f"{BASE}/availability") == "online", 8)
        sub.close()

        broker.stop()
        await wait_for(lambda: not pub.ready)
        sched.device.soc_pct = 72.0  # type: ignore[attr-defined]
        started = time.perf_counter()
        report = await sched.tick()  # the broker is down: the tick does not wait for it
        assert report.status == "ok" and time.perf_counter() - started < 0.5
        broker.start()  # a fresh broker: it retained nothing
        await wait_for(lambda: pub.ready, 8)
        sub = Subscriber(broker.port, [f"{BASE}/#", f"homeassistant/+/{NODE}/+/config"])
        await wait_for(lambda: sub.last(f"{BASE}/soc") == "72"
                       and sub.last(f"homeassistant/sensor/{NODE}/soc/config"))
        assert sub.last(f"{BASE}/availability") == "online"
        sub.close()
    finally:
        pub.close()
    sub = Subscriber(broker.port, [f"{BASE}/availability"])
    await wait_for(lambda: sub.last(f"{BASE}/availability") == "offline")
    sub.close()


async def test_password_broker(tmp_path: Path, secure_broker: Broker,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQTT_PASSWORD", PASSWORD)
    good = tmp_path / "good"
    good.mkdir()
    sched, pub = make(good, secure_broker.port,
                      f"  username: {USER}\n  password: ${{MQTT_PASSWORD}}\n")
    assert PASSWORD not in repr(sched.policy.doc.mqtt) and PASSWORD not in repr(pub.settings)
    try:
        await wait_for(lambda: pub.ready)
        await sched.tick()
        sub = Subscriber(secure_broker.port, [f"{BASE}/soc"], username=USER, password=PASSWORD)
        await wait_for(lambda: sub.last(f"{BASE}/soc") == "50")
        sub.close()
    finally:
        pub.close()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "pw").write_text("wrong\n")
    sched, pub = make(tmp_path / "bad", secure_broker.port,
                      f"  username: {USER}\n  password_file: pw\n")
    try:
        await wait_for(lambda: pub.last_error is not None)
        assert not pub.ready and "Not authorized" in (pub.last_error or "")
        report = await sched.tick()  # a refusing broker does not stop the run
        assert report.status == "ok"
    finally:
        pub.close()


def test_gridpilot_run_publishes_and_says_offline(tmp_path: Path, broker: Broker) -> None:
    from tests.cli.runner import run_cli

    policy = tmp_path / "economy7.yaml"
    source = Path(__file__).resolve().parents[2] / "examples" / "policies" / "economy7.yaml"
    policy.write_text(source.read_text(encoding="utf-8")
                      + f"mqtt:\n  host: 127.0.0.1\n  port: {broker.port}\n"
                        "  base_topic: test/run\n", encoding="utf-8")
    proc = run_cli("run", str(policy), "--dry-run", "--max-ticks", "3", "--speed", "600",
                   "--state-dir", str(tmp_path / "state"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    sub = Subscriber(broker.port, ["test/run/#"])
    try:
        deadline = time.monotonic() + 5
        while sub.last("test/run/availability") != "offline" or not sub.last("test/run/soc"):
            assert time.monotonic() < deadline, sub.messages
            time.sleep(0.02)
        assert sub.last("test/run/command") in ("charge", "discharge", "hold",
                                                "self_consumption")
    finally:
        sub.close()
