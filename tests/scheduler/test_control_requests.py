"""Whatever body a client POSTs to /overrides, the control API answers 201 or a 400 that names
the field; never a 500."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridpilot.clock import ManualClock
from gridpilot.engine.commands import CommandKind
from gridpilot.scheduler.audit import AuditLog
from gridpilot.scheduler.control import ControlServer
from gridpilot.scheduler.metrics import Metrics
from gridpilot.scheduler.overrides import OverrideStore

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TOKEN = "t" * 32


class _Writer:
    """Collects what the server writes back."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        return None

    async def wait_closed(self) -> None:
        return None


def _server(directory: Path) -> ControlServer:
    return ControlServer(token=TOKEN, overrides=OverrideStore(directory), metrics=Metrics(),
                         audit=AuditLog(directory), clock=ManualClock(T0),
                         health=lambda: (True, {"status": "ok"}))


async def _post(srv: ControlServer, body: bytes) -> tuple[int, dict[str, Any]]:
    head = (f"POST /overrides HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    reader = asyncio.StreamReader()
    reader.feed_data(head + body)
    reader.feed_eof()
    writer = _Writer()
    await srv._handle(reader, writer)  # type: ignore[arg-type]
    status_line, _, rest = writer.data.partition(b"\r\n")
    payload = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(payload)


def post(srv: ControlServer, body: Any) -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body, allow_nan=True).encode()
    return asyncio.run(_post(srv, raw))


@pytest.mark.parametrize("for_s", [1e300, -1e300, 10**400, -(10**400), float("inf"),
                                   float("-inf"), float("nan"), True, "7200", [60], 86_400 * 15],
                         ids=repr)
def test_a_bad_for_s_is_a_400_naming_it(tmp_path: Path, for_s: Any) -> None:
    status, doc = post(_server(tmp_path), {"action": {"kind": "hold"}, "for_s": for_s})
    assert status == 400, doc
    assert doc["error"].startswith("for_s: "), doc


@pytest.mark.parametrize(("body", "field"), [
    ({"action": {"kind": "hold"}, "until": "9999-12-31T23:59:59-14:00"}, "until"),
    ({"action": {"kind": "hold"}, "until": "0001-01-01T00:00:00+14:00"}, "until"),
    ({"action": {"kind": "hold"}, "until": 1_800_000_000}, "until"),
    ({"action": {"kind": "hold"}, "for_s": 60, "force": "false"}, "force"),
    ({"action": {"kind": "hold"}, "for_s": 60, "name": {"a": 1}}, "name"),
    ({"action": {"kind": "charge", "power_w": 1e300}, "for_s": 60}, "action.power_w"),
    ({"action": {"kind": "charge", "power_w": 10**400}, "for_s": 60}, "action.power_w"),
    (b'{"for_s": ' + b"9" * 5000 + b"}", "not valid JSON"),
    (b"[" * 60_000, "not valid JSON"),
], ids=lambda v: repr(v)[:40])
def test_other_out_of_range_fields_are_400s_naming_them(tmp_path: Path, body: Any,
                                                        field: str) -> None:
    status, doc = post(_server(tmp_path), body)
    assert status == 400, doc
    assert field in doc["error"], doc


def test_a_good_request_still_works(tmp_path: Path) -> None:
    status, doc = post(_server(tmp_path), {"action": {"kind": "charge", "power_w": 2000},
                                           "for_s": 3600, "name": "n", "force": True})
    assert status == 201, doc
    assert doc["override"]["until"] == "2026-03-01T10:00:00+00:00"


_json_scalar = (st.none() | st.booleans() | st.integers(-(10**30), 10**30)
                | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
                | st.sampled_from([10**400, -(10**400), "", "7200", "2026-03-01T10:00:00+00:00"]))
_json = st.recursive(_json_scalar, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)
_number = (st.integers(-(10**30), 10**30) | st.floats(allow_nan=True, allow_infinity=True)
           | st.sampled_from([10**400, -(10**400), 0, 1, 1_209_600, 1_209_601]))
_times = (st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat())
          | st.sampled_from(["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
                             "2026-03-01T10:00:00", "2026-03-01T10:00:00+00:00"]))
_action = st.fixed_dictionaries(
    {"kind": st.sampled_from([k.value for k in CommandKind]) | _json},
    optional={name: _number | _json for name in ("power_w", "target_soc_pct", "floor_soc_pct",
                                                 "max_import_w", "max_export_w")},
) | _json
_body = st.fixed_dictionaries({}, optional={
    "action": _action, "for_s": _number | _json, "until": _times | _json,
    "name": st.text(max_size=250) | _json, "force": st.booleans() | _json,
}) | _json


@given(body=_body)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
def test_no_request_body_gets_a_500(tmp_path: Path, body: Any) -> None:
    status, doc = post(_server(tmp_path), body)
    assert status in (201, 400), (status, doc)
    if status == 400:
        assert doc["error"]
