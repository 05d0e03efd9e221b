"""A real Mosquitto broker on a free loopback port, started per test module, and a subscriber
that records what the broker delivers (retained or live).

Skips, saying why, where the ``mosquitto`` package is missing; CI sets
``GRIDPILOT_REQUIRE_MOSQUITTO`` so that there a missing broker fails instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto"
                                          if os.access("/usr/sbin/mosquitto", os.X_OK) else None)
PASSWD = shutil.which("mosquitto_passwd")
USER, PASSWORD = "gridpilot", "s3cret-broker-pass"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Broker:
    directory: Path
    with_password: bool
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        conf = self.directory / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", "log_dest none"]
        if os.geteuid() == 0:
            # Run as root it would switch to the 'mosquitto' user, who cannot read tmp files.
            lines.append("user root")
        if self.with_password:
            pw = self.directory / "passwd"
            if not pw.exists():
                assert PASSWD is not None
                subprocess.run([PASSWD, "-b", "-c", str(pw), USER, PASSWORD], check=True,
                               capture_output=True)
            lines += [f"password_file {pw}", "allow_anonymous false"]
        else:
            lines.append("allow_anonymous true")
        conf.write_text("\n".join(lines) + "\n")
        assert MOSQUITTO is not None
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"mosquitto exited: {err}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError("mosquitto did not listen within 5 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.proc = None


def _broker(tmp_path_factory: pytest.TempPathFactory, with_password: bool) -> Iterator[Broker]:
    missing = [name for name, path in (("mosquitto", MOSQUITTO), ("mosquitto_passwd", PASSWD))
               if path is None]
    if missing:
        why = (f"{' and '.join(missing)} not installed (Debian package mosquitto: "
               "apt-get install mosquitto)")
        if os.environ.get("GRIDPILOT_REQUIRE_MOSQUITTO"):
            pytest.fail(why)
        pytest.skip(why)
    broker = Broker(tmp_path_factory.mktemp("broker"), with_password)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    yield from _broker(tmp_path_factory, False)


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    yield from _broker(tmp_path_factory, True)


class Subscriber:
    """Records every message on ``topics``: ``topic -> [(payload, retained), ...]``."""

    def __init__(self, port: int, topics: list[str], *, username: str | None = None,
                 password: str | None = None) -> None:
        self.messages: dict[str, list[tuple[str, bool]]] = {}
        self.client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        self.messages.setdefault(msg.topic, []).append((msg.payload.decode(), bool(msg.retain)))

    def last(self, topic: str) -> str | None:
        got = self.messages.get(topic)
        return got[-1][0] if got else None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def wait_for(cond: Callable[[], object], timeout_s: float = 5.0) -> None:
    """Yield to the event loop (paho's news is handed over to it) until ``cond()`` holds."""
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the timeout")
        await asyncio.sleep(0.01)
