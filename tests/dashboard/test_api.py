"""The status API on its own: every document the page reads, and who may read and change."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from gridpilot.scheduler.audit import read_audit
from tests.dashboard.live import Live

ENDPOINTS = ["/api/status", "/api/plan", "/api/prices", "/api/decisions", "/api/actuals",
             "/api/trace", "/api/cost", "/api/health", "/api/session"]


def login(live: Live, client: httpx.Client) -> str:
    """Log in through a one-time link; the session's CSRF token."""
    link = client.post("/api/login-link", headers=live.auth).json()["url"]
    r = client.get(link)
    assert r.status_code == 200, r.text
    token = client.get("/api/session").json()["csrf_token"]
    assert isinstance(token, str)
    return token


def test_documents_hold_the_live_values(live: Live) -> None:
    with httpx.Client(base_url=live.url, headers=live.auth) as c:
        status = c.get("/api/status").json()
        trace = c.get("/api/trace").json()
        plan = c.get("/api/plan", params={"hours": 6}).json()
        prices = c.get("/api/prices").json()
        actuals = c.get("/api/actuals").json()
        decisions = c.get("/api/decisions", params={"q": "arbitrage", "limit": 3}).json()
        cost = c.get("/api/cost").json()
        health = c.get("/api/health").json()
    report = live.scheduler.last_report
    assert report is not None and report.decision is not None
    assert status["mode"] == "running" and status["tick"] == live.scheduler.tick_count
    assert status["decision"]["winner"] == report.decision.winner
    assert status["decision"]["describe"] == report.decision.command.describe()
    assert status["readings"]["soc_pct"] == pytest.approx(report.snapshot.soc_pct)  # type: ignore[union-attr]
    assert status["prices"]["currency"] == "GBP" and status["prices"]["now"]["start"]
    assert status["prices"]["next_cheap"]["import_per_kwh"] <= \
        status["prices"]["next_dear"]["import_per_kwh"]
    assert trace["decision"] == {**report.decision.as_dict(),
                                 "describe": report.decision.command.describe()}
    # The plan starts from the live SOC and keeps inside the battery's limits.
    assert 0 < len(plan["slots"]) <= 13  # 6 h of half-hours, the first one part gone
    first = plan["slots"][0]
    assert first["start"] == report.time.isoformat()
    for slot in plan["slots"]:
        assert 20.0 - 1e-6 <= slot["soc_pct"] <= 100.0
        assert -3300 - 1e-6 <= slot["battery_w"] <= 3300 + 1e-6
    assert len(prices["slots"]) >= len(plan["slots"])
    assert len(actuals["ticks"]) == live.scheduler.tick_count
    assert len(decisions["decisions"]) == 3
    assert all("arbitrage" in d["decision"]["reason"] for d in decisions["decisions"])
    assert decisions["decisions"][0]["ts"] >= decisions["decisions"][1]["ts"]
    assert cost["currency"] == "GBP" and cost["hours_covered"] > 0
    assert cost["saving"] == pytest.approx(cost["cost_without_battery"] - cost["cost"], abs=1e-3)
    assert health["failsafe"] is False and health["last_error"] is None


def test_no_cookie_or_token_gets_401(live: Live) -> None:
    with httpx.Client(base_url=live.url) as c:
        for path in [*ENDPOINTS, "/overrides", "/metrics"]:
            assert c.get(path).status_code == 401, path
        assert c.post("/overrides", json={}).status_code == 401
        assert c.post("/api/login-link").status_code == 401
        assert c.get("/api/status", headers={"Cookie": "gridpilot_session=forged"}
                     ).status_code == 401
        # The page itself holds no data: it loads, and asks for a login.
        page = c.get("/")
        assert page.status_code == 200 and "gridpilot status --open" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]


def test_the_login_link_works_once_and_sets_a_strict_session_cookie(live: Live) -> None:
    with httpx.Client(base_url=live.url) as c:
        link = c.post("/api/login-link", headers=live.auth).json()["url"]
        assert urlsplit(link).netloc == urlsplit(live.url).netloc
        r = c.get(link)
        cookie = r.headers["set-cookie"]
        for flag in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=3600"):
            assert flag in cookie
        assert c.get("/api/status").status_code == 200
        with httpx.Client(base_url=live.url) as other:
            assert other.get(link).status_code == 401  # spent
    kinds = [r["kind"] for r in read_audit(live.state_dir)]
    assert "web_login_link" in kinds and "web_login" in kinds


def test_changes_need_the_csrf_token_and_the_pages_own_origin(live: Live) -> None:
    body = {"action": {"kind": "hold"}, "for_s": 600, "name": "csrf-test"}
    with httpx.Client(base_url=live.url) as c:
        csrf = login(live, c)
        assert c.post("/overrides", json=body).status_code == 403
        assert c.post("/overrides", json=body, headers={"X-CSRF-Token": "wrong"}
                      ).status_code == 403
        evil = {"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
        assert c.post("/overrides", json=body, headers=evil).status_code == 403
        cross = {"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}
        assert c.delete("/overrides", headers=cross).status_code == 403
        assert live.scheduler.overrides.all() == []
        own = {"X-CSRF-Token": csrf, "Origin": live.url}
        r = c.post("/overrides", json=body, headers=own)
        assert r.status_code == 201, r.text
        assert c.delete("/overrides/csrf-test", headers=own).json() == {"removed": 1}
    refused = [r for r in read_audit(live.state_dir) if r["kind"] == "web_refused"]
    assert {r["reason"] for r in refused} >= {"csrf", "origin"}


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8787", "192.168.1.5",
                                  "localhost.evil.example"])
def test_a_foreign_host_header_is_refused(live: Live, host: str) -> None:
    with httpx.Client(base_url=live.url, headers=live.auth) as c:
        for path in ("/", "/api/status", "/overrides", "/healthz"):
            r = c.get(path, headers={"Host": host})
            assert r.status_code == 403, (host, path)
            assert "loopback" in r.json()["error"]
        for ok in ("localhost", "127.0.0.1:1", "[::1]:8787"):
            assert c.get("/api/health", headers={"Host": ok}).status_code == 200


def test_bad_query_values_are_clamped_not_errors(live: Live) -> None:
    with httpx.Client(base_url=live.url, headers=live.auth) as c:
        assert c.get("/api/plan", params={"hours": "nan"}).status_code == 200
        assert c.get("/api/decisions", params={"limit": "-5"}).json()["decisions"] == []
        assert c.get("/api/actuals", params={"hours": "1e309"}).status_code == 200
        assert c.get("/api/nothing").status_code == 404
        assert c.post("/api/status").status_code == 405
        assert c.get("/static/../control.token").status_code == 404


def test_projecting_the_plan_keeps_overrides_that_end_within_it(live: Live) -> None:
    body = {"action": {"kind": "hold"}, "for_s": 600, "name": "short"}
    with httpx.Client(base_url=live.url, headers=live.auth) as c:
        assert c.post("/overrides", json=body).status_code == 201
        try:
            live.call(live.scheduler.tick())
            slots = c.get("/api/plan", params={"hours": 2}).json()["slots"]
            assert slots[0]["kind"] == "hold" and slots[0]["winner"] == "override:short"
            assert slots[-1]["kind"] != "hold"  # over after 10 minutes
            assert [o["name"] for o in c.get("/overrides").json()["overrides"]] == ["short"]
        finally:
            c.delete("/overrides/short")
