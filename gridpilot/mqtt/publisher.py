"""The MQTT link of a run: availability, discovery, changed values, override commands.

paho-mqtt runs its network loop in its own thread and reconnects by itself with a doubling
wait (``reconnect_min_s`` .. ``reconnect_max_s``). Everything else happens on the run's event
loop: paho's callbacks only hand their news over (``call_soon_threadsafe``), so the overrides,
the audit log and the published-values memory are touched by one thread. Publishing never
waits for the broker: a tick hands its values over and goes on; values that changed while the
broker was away are published (retained) as soon as it is back, together with the discovery
configs, so Home Assistant sees the present state after a broker restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Mapping
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from gridpilot.mqtt.controls import OverrideControls
from gridpilot.mqtt.entities import CONTROLS
from gridpilot.mqtt.settings import MqttSettings

__all__ = ["MqttPublisher"]

log = logging.getLogger("gridpilot.mqtt")

CLOSE_WAIT_S = 2.0
"""How long stopping waits for ``offline`` to reach the broker (the last will covers the rest)."""


class MqttPublisher:
    """Publishes a run's values to one broker; see the module doc for the threading."""

    def __init__(self, settings: MqttSettings, *, discovery: list[tuple[str, str]],
                 controls: OverrideControls | None,
                 client_factory: Callable[..., paho.Client] = paho.Client) -> None:
        self.settings = settings
        self.discovery = discovery
        self.controls = controls
        self._factory = client_factory
        self._client: paho.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._current: dict[str, str] = {}
        self._sent: dict[str, str] = {}
        self.ready = False
        """Connected, and everything current has been handed to the broker at least once."""
        self.connects = 0
        self.last_error: str | None = None

    def __repr__(self) -> str:
        s = self.settings
        return f"MqttPublisher({s.host}:{s.port}, base_topic={s.base_topic!r}, ready={self.ready})"

    @property
    def availability_topic(self) -> str:
        return f"{self.settings.base_topic}/availability"

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background; returns at once, whether the broker is up or not."""
        s = self.settings
        self._loop = asyncio.get_running_loop()
        client = self._factory(callback_api_version=CallbackAPIVersion.VERSION2,
                               client_id=s.client_id)
        if s.username is not None:
            client.username_pw_set(
                s.username, s.password.get_secret_value() if s.password is not None else None)
        if s.tls is not None:
            client.tls_set(ca_certs=s.path(s.tls.ca_file), certfile=s.path(s.tls.cert_file),
                           keyfile=s.path(s.tls.key_file), cert_reqs=ssl.CERT_REQUIRED)
            if s.tls.insecure:
                # Only when the user asked for it in the policy (mqtt.tls.insecure: true).
                log.warning("MQTT: mqtt.tls.insecure is set: the broker's certificate and name "
                            "are not checked")
                client.tls_insecure_set(True)
        client.will_set(self.availability_topic, "offline", qos=1, retain=True)
        client.reconnect_delay_set(s.reconnect_min_s, s.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_connect_fail = self._on_connect_fail
        self._client = client
        client.connect_async(s.host, s.port, s.keepalive_s)
        client.loop_start()

    def close(self) -> None:
        """Say ``offline`` (retained), disconnect and stop the network thread."""
        client, self._client = self._client, None
        if client is None:
            return
        self.ready = False
        with contextlib.suppress(Exception):
            if client.is_connected():
                info = client.publish(self.availability_topic, "offline", qos=1, retain=True)
                info.wait_for_publish(CLOSE_WAIT_S)
        with contextlib.suppress(Exception):
            client.disconnect()
        client.loop_stop()

    # -- values ---------------------------------------------------------------------------------
    def publish(self, values: Mapping[str, str]) -> int:
        """Take this tick's values; publish those that changed. Returns how many were sent."""
        self._current.update(values)
        return self._flush()

    def _flush(self) -> int:
        client = self._client
        if client is None or not self.ready:
            return 0
        sent = 0
        base = self.settings.base_topic
        for key, payload in self._current.items():
            if self._sent.get(key) == payload:
                continue
            info = client.publish(f"{base}/{key}", payload, qos=0, retain=True)
            if info.rc != paho.MQTT_ERR_SUCCESS:
                # The connection went away mid-flush: the rest goes out on reconnect.
                return sent
            self._sent[key] = payload
            sent += 1
        return sent

    # -- paho's thread -> the event loop ---------------------------------------------------------
    def _hand_over(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop stopped: the run is ending
            loop.call_soon_threadsafe(fn, *args)

    def _on_connect(self, client: paho.Client, _userdata: Any, _flags: Any, reason: Any,
                    _props: Any) -> None:
        if reason.is_failure:
            self._hand_over(self._failed, f"the broker refused the connection: {reason} "
                            "(check mqtt.username and mqtt.password)")
            return
        client.publish(self.availability_topic, "online", qos=1, retain=True)
        if self.controls is not None:
            base = self.settings.base_topic
            client.subscribe([(f"{base}/{c.key}/set", 1) for c in CONTROLS])
        self._hand_over(self._connected)

    def _on_connect_fail(self, _client: paho.Client, _userdata: Any) -> None:
        self._hand_over(self._failed, "cannot connect to the broker (is it running, and the "
                        "mqtt.host and mqtt.port right?)")

    def _on_disconnect(self, _client: paho.Client, _userdata: Any, _flags: Any, reason: Any,
                       _props: Any) -> None:
        self._hand_over(self._disconnected, str(reason))

    def _on_message(self, _client: paho.Client, _userdata: Any, msg: paho.MQTTMessage) -> None:
        if msg.retain:
            # A retained command is an old press replayed by the broker, not a person now.
            return
        self._hand_over(self._command, msg.topic, bytes(msg.payload))

    # -- on the event loop -----------------------------------------------------------------------
    def _connected(self) -> None:
        self.connects += 1
        log.info("MQTT connected to %s:%d (connection %d)", self.settings.host,
                 self.settings.port, self.connects)
        client = self._client
        if client is None:
            return
        for topic, payload in self.discovery:
            client.publish(topic, payload, qos=1, retain=True)
        # The broker may have lost (or never had) what was sent before: send it all again.
        self._sent.clear()
        if self.controls is not None:
            self._current.update(self.controls.states())
        self.ready = True
        self._flush()

    def _disconnected(self, why: str) -> None:
        if self.ready:
            log.warning("MQTT connection to %s:%d lost (%s); reconnecting", self.settings.host,
                        self.settings.port, why)
        self.ready = False

    def _failed(self, why: str) -> None:
        self.ready = False
        if why != self.last_error:
            log.error("MQTT %s:%d: %s; retrying in the background", self.settings.host,
                      self.settings.port, why)
        self.last_error = why

    def _command(self, topic: str, payload: bytes) -> None:
        if self.controls is None:
            return
        key = topic.removeprefix(self.settings.base_topic + "/").removesuffix("/set")
        self.controls.handle(key, payload)
        self.publish(self.controls.states())
