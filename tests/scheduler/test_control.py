"""The control API as a real HTTP server on loopback and on a unix socket."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gridpilot.clock import ManualClock
from gridpilot.scheduler.audit import AuditLog, read_audit
from gridpilot.scheduler.control import ControlError, ControlServer, ensure_token, read_token
from gridpilot.scheduler.metrics import Metrics
from gridpilot.scheduler.overrides import OverrideStore

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def server(tmp_path: Path, changes: list[int]) -> tuple[ControlServer, str, OverrideStore]:
    token = ensure_token(tmp_path / "control.token")
    store = OverrideStore(tmp_path)
    metrics = Metrics()
    metrics.soc_pct = 42.5
    metrics.commands_sent = 3
    metrics.current_kind = "hold"
    metrics.error("timeout")
    srv = ControlServer(
        token=token, overrides=store, metrics=metrics, audit=AuditLog(tmp_path),
        clock=ManualClock(T0), health=lambda: (True, {"status": "ok"}),
        on_change=lambda: changes.append(1),
    )
    return srv, token, store


async def test_overrides_over_loopback_http_need_the_token(tmp_path: Path) -> None:
    changes: list[int] = []
    srv, token, store = server(tmp_path, changes)
    addr = await srv.start_tcp("127.0.0.1", 0)
    auth = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(base_url=addr["url"]) as client:
            r = await client.get("/healthz")
            assert r.status_code == 200 and r.json() == {"status": "ok"}
            for method, path in [("GET", "/metrics"), ("GET", "/overrides"),
                                 ("POST", "/overrides"), ("DELETE", "/overrides")]:
                r = await client.request(method, path)
                assert r.status_code == 401, (method, path)
                r = await client.request(method, path,
                                         headers={"Authorization": "Bearer " + "x" * 43})
                assert r.status_code == 401, (method, path)
            assert store.all() == []

            body = {"action": {"kind": "charge", "power_w": 2000, "target_soc_pct": 80},
                    "for_s": 7200, "name": "cheap-night"}
            r = await client.post("/overrides", json=body, headers=auth)
            assert r.status_code == 201, r.text
            assert r.json()["override"]["until"] == "2026-03-01T11:00:00+00:00"
            assert [o.name for o in store.all()] == ["cheap-night"]
            assert changes == [1]

            r = await client.post("/overrides", json={"action": {"kind": "charge"}},
                                  headers=auth)
            assert r.status_code == 400 and "for_s" in r.json()["error"]
            r = await client.post("/overrides", json={"action": {"kind": "peak_shave"},
                                                      "for_s": 60}, headers=auth)
            assert r.status_code == 400 and "max_import_w" in r.json()["error"]
            r = await client.post("/overrides", content=b"{not json", headers=auth)
            assert r.status_code == 400

            r = await client.get("/overrides", headers=auth)
            assert [o["name"] for o in r.json()["overrides"]] == ["cheap-night"]
            r = await client.delete("/overrides/nope", headers=auth)
            assert r.status_code == 404
            r = await client.delete("/overrides/cheap-night", headers=auth)
            assert r.json() == {"removed": 1} and store.all() == []
            r = await client.get("/nowhere", headers=auth)
            assert r.status_code == 404
    finally:
        await srv.close()
    kinds = [r["kind"] for r in read_audit(tmp_path)]
    assert kinds == ["override_set", "override_cleared", "override_cleared"]


async def test_metrics_are_prometheus_text(tmp_path: Path) -> None:
    srv, token, _ = server(tmp_path, [])
    addr = await srv.start_tcp("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=addr["url"]) as client:
            r = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    finally:
        await srv.close()
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, float] = {}
    for line in r.text.splitlines():
        if line.startswith("#"):
            assert line.split()[1] in ("HELP", "TYPE")
            continue
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
    assert samples["gridpilot_soc_percent"] == 42.5
    assert samples["gridpilot_commands_sent_total"] == 3
    assert samples['gridpilot_current_command{kind="hold"}'] == 1
    assert samples['gridpilot_current_command{kind="charge"}'] == 0
    assert samples['gridpilot_errors_total{kind="timeout"}'] == 1
    for name in ("gridpilot_tick_duration_seconds", "gridpilot_state_age_seconds",
                 "gridpilot_commands_failed_total"):
        assert name in samples


async def test_unix_socket_is_owner_only(tmp_path: Path) -> None:
    srv, token, store = server(tmp_path, [])
    sock = tmp_path / "control.sock"
    await srv.start_unix(sock)
    try:
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        transport = httpx.AsyncHTTPTransport(uds=str(sock))
        async with httpx.AsyncClient(transport=transport, base_url="http://gridpilot") as client:
            r = await client.post("/overrides", json={"action": {"kind": "hold"}, "for_s": 60},
                                  headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 201
    finally:
        await srv.close()
    assert [o.action.kind.value for o in store.all()] == ["hold"]


def test_token_file_is_created_owner_only_and_refused_when_others_can_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sub" / "control.token"
    token = ensure_token(path)
    assert len(token) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_token(path) == token  # kept, not regenerated
    os.chmod(path, 0o644)
    with pytest.raises(ControlError, match="chmod 600"):
        read_token(path)
    with pytest.raises(ControlError, match="does not exist"):
        read_token(tmp_path / "missing.token")


async def test_a_request_larger_than_allowed_is_refused(tmp_path: Path) -> None:
    srv, token, store = server(tmp_path, [])
    addr = await srv.start_tcp("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=addr["url"]) as client:
            big: dict[str, Any] = {"action": {"kind": "hold"}, "for_s": 60, "name": "x" * 70_000}
            r = await client.post("/overrides", json=big,
                                  headers={"Authorization": f"Bearer {token}"})
    finally:
        await srv.close()
    assert r.status_code == 413
    assert store.all() == []


def test_repr_does_not_show_the_token(tmp_path: Path) -> None:
    srv, token, _ = server(tmp_path, [])
    assert token not in repr(srv) and token not in str(vars(srv).get("address"))
