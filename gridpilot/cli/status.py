"""``gridpilot status``: what the running scheduler is doing, and why.

    gridpilot status [--policy POLICY | --state-dir DIR] [--json] [--open]

It asks the running ``gridpilot run`` over its control API (found through ``control.json`` in
its state directory, as ``gridpilot override`` does). ``--json`` prints the ``/api/status``
document (docs/dashboard.md); ``--open`` prints a one-time login link to the dashboard. When no
scheduler runs, it says so and exits 1.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gridpilot.cli.terminal import stdout
from gridpilot.errors import GridpilotError
from gridpilot.exitcodes import ExitCode

__all__ = ["format_status", "register"]


class NotRunning(GridpilotError):
    """No scheduler answers for this state directory."""


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Show what the running `gridpilot run` is doing: its mode, the command and why, the "
        "readings, prices, the plan ahead, overrides, the last error and today's cost."
    )
    parser.add_argument("--state-dir", metavar="DIR", help="the running instance's state dir")
    parser.add_argument("--policy", metavar="POLICY", help="find the state dir from this policy")
    parser.add_argument("--json", action="store_true",
                        help="print the status document as JSON (see docs/dashboard.md)")
    parser.add_argument("--open", action="store_true",
                        help="print a one-time login link to the dashboard (good for 2 minutes)")
    parser.set_defaults(handler=_status)


def _request(args: argparse.Namespace, method: str, path: str) -> Any:
    import httpx

    from gridpilot.scheduler.locate import find_control, resolve_state_dir

    try:
        endpoint = find_control(resolve_state_dir(args.state_dir, args.policy))
    except GridpilotError as exc:
        raise NotRunning(str(exc)) from None
    transport = httpx.HTTPTransport(uds=endpoint.socket) if endpoint.socket else None
    try:
        with httpx.Client(transport=transport, timeout=15.0) as client:
            response = client.request(method, endpoint.url + path,
                                      headers={"Authorization": f"Bearer {endpoint.token}"})
    except httpx.HTTPError as exc:
        raise NotRunning(f"no scheduler answers at {endpoint.socket or endpoint.url} ({exc}); "
                         "start `gridpilot run POLICY`") from None
    try:
        data = response.json()
    except ValueError:
        data = {"error": response.text[:200]}
    if response.status_code == 404:
        raise GridpilotError("the running gridpilot has no status API; restart it with this "
                             "version of gridpilot")
    if response.status_code >= 400:
        raise GridpilotError(f"the running gridpilot refused: {data.get('error', data)}")
    return data


def _status(args: argparse.Namespace) -> ExitCode:
    try:
        if args.open:
            link = _request(args, "POST", "/api/login-link")
            print(f"Open this link in a browser on this machine (once, within 2 minutes):\n"
                  f"  {link['url']}", file=stdout())
            return ExitCode.OK
        doc = _request(args, "GET", "/api/status")
    except NotRunning as exc:
        print(f"gridpilot is not running: {exc}", file=stdout())
        return ExitCode.INVALID
    if args.json:
        print(json.dumps(doc, indent=1), file=stdout())
    else:
        print(format_status(doc), file=stdout())
    return ExitCode.OK


def _zone(doc: dict[str, Any]) -> tzinfo | None:
    try:
        return ZoneInfo(str(doc.get("timezone")))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _t(text: Any, tz: tzinfo | None, fmt: str = "%H:%M") -> str:
    try:
        return datetime.fromisoformat(str(text)).astimezone(tz).strftime(fmt)
    except ValueError:
        return "?"


def _w(value: Any, sign: bool = False) -> str:
    if not isinstance(value, int | float):
        return "?"
    return f"{value:+.0f} W" if sign else f"{value:.0f} W"


def _price(slot: Any, tz: tzinfo | None, currency: str) -> str:
    if not isinstance(slot, dict):
        return "unknown"
    return (f"{slot['import_per_kwh']:.4f} {currency}/kWh import, "
            f"{slot['export_per_kwh']:.4f} export ({_t(slot['start'], tz, '%a %H:%M')})")


def format_status(doc: dict[str, Any]) -> str:
    """The status document as a page of text."""
    tz = _zone(doc)
    lines = [f"{doc.get('site')}: {str(doc.get('mode')).upper()}"
             f"{' (dry run: nothing is sent)' if doc.get('dry_run') else ''}"
             f"  tick {doc.get('tick')} at {_t(doc.get('last_tick'), tz, '%Y-%m-%d %H:%M:%S %Z')}"]
    d = doc.get("decision")
    if d:
        lines.append(f"command  {d['describe']}  (winner {d['winner']}, layer {d['layer']})")
        if d.get("reason"):
            lines.append(f"  why    {d['reason']}")
        for hit in d.get("limits", []):
            lines.append(f"  limit  {hit['limit']}: {hit['field']} {hit['before']} -> "
                         f"{hit['after']}{' (' + hit['note'] + ')' if hit.get('note') else ''}")
    else:
        lines.append("command  none yet")
    r = doc.get("readings") or {}
    soc = r.get("soc_pct")
    soc_text = "?" if soc is None else f"{soc:.1f} %"
    lines.append(f"now      SOC {soc_text}  load {_w(r.get('load_w'))}"
                 f"  PV {_w(r.get('pv_w'))}  grid {_w(r.get('grid_w'), True)}"
                 f"  battery {_w(r.get('battery_w'), True)}")
    p = doc.get("prices") or {}
    cur = str(p.get("currency", ""))
    lines.append(f"price    now {_price(p.get('now'), tz, cur)}")
    lines.append(f"         next cheapest {_price(p.get('next_cheap'), tz, cur)}")
    lines.append(f"         next dearest  {_price(p.get('next_dear'), tz, cur)}")
    plan = doc.get("plan") or []
    if plan:
        lines.append("plan     time   import  command             battery    SOC")
        for slot in plan[:16]:
            lines.append(f"         {_t(slot['start'], tz)}  {slot['import_per_kwh']:6.3f}  "
                         f"{slot['kind']:<18}  {slot['battery_w']:+7.0f} W  "
                         f"{slot['soc_pct']:5.1f} %")
        if len(plan) > 16:
            lines.append(f"         ... {len(plan) - 16} more slots (--json, or the dashboard)")
    else:
        lines.append("plan     none (no fresh state or no known prices)")
    overrides = doc.get("overrides") or []
    if not overrides:
        lines.append("override none")
    for o in overrides:
        lines.append(f"override {o['name']}: {o['action']['kind']} until "
                     f"{_t(o['until'], tz, '%a %H:%M')}{' (force)' if o.get('force') else ''}")
    health = doc.get("health") or {}
    err = health.get("last_error")
    lines.append("error    none" if not err else
                 f"error    {_t(err.get('ts'), tz, '%a %H:%M:%S')} {err.get('kind')}: "
                 f"{err.get('error')}")
    c = doc.get("cost_today") or {}
    if c:
        lines.append(f"today    {c['cost']:.2f} {c.get('currency', '')} against "
                     f"{c['cost_without_battery']:.2f} without the battery (saved "
                     f"{c['saving']:.2f}, over {c['hours_covered']:.1f} h)")
    return "\n".join(lines)
