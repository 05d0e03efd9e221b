"""``gridpilot override set|clear|list``: manual overrides of a running ``gridpilot run``.

    gridpilot override set charge --power-w 3000 --target-soc-pct 90 --for 2h
    gridpilot override set hold --until 18:30
    gridpilot override clear [NAME]
    gridpilot override list [--json]

The command finds the running instance through ``control.json`` in its state directory
(``--state-dir``, ``--policy POLICY``, ``$GRIDPILOT_STATE_DIR`` or ``./.gridpilot``).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from gridpilot.cli.argtypes import FIRST_YEAR, LAST_YEAR, duration_s, finite_float
from gridpilot.cli.terminal import stdout
from gridpilot.engine.commands import CommandKind
from gridpilot.errors import GridpilotError
from gridpilot.exitcodes import ExitCode

__all__ = ["parse_until", "register"]


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Manual overrides for a running `gridpilot run`: they win over the policy's "
        "rules until they expire."
    )
    parser.add_argument("--state-dir", metavar="DIR", help="the running instance's state dir")
    parser.add_argument("--policy", metavar="POLICY", help="find the state dir from this policy")
    sub = parser.add_subparsers(dest="override_command", metavar="set|clear|list")

    p_set = sub.add_parser("set", help="set an override")
    p_set.add_argument("action", choices=[k.value for k in CommandKind], metavar="ACTION",
                       help="one of: " + ", ".join(k.value for k in CommandKind))
    watts = finite_float(min_value=0.0)
    pct = finite_float(min_value=0.0, max_value=100.0)
    p_set.add_argument("--power-w", type=finite_float(positive=True),
                       help="charge or discharge power [W]")
    p_set.add_argument("--target-soc-pct", type=pct, help="charge target [%%]")
    p_set.add_argument("--floor-soc-pct", type=pct, help="discharge floor [%%]")
    p_set.add_argument("--max-import-w", type=watts, help="peak_shave threshold [W]")
    p_set.add_argument("--max-export-w", type=watts, help="limit_export cap [W]")
    length = p_set.add_mutually_exclusive_group(required=True)
    length.add_argument("--for", dest="for_s", metavar="DURATION", type=duration_s(),
                        help="e.g. 2h, 90m")
    length.add_argument("--until", metavar="TIME", type=_until,
                        help="ISO time, or HH:MM (the next such local time)")
    p_set.add_argument("--force", action="store_true",
                       help="may break through guards (never the device's hard limits)")
    p_set.add_argument("--name", help="a name to clear it by later")
    p_set.set_defaults(handler=_set)

    p_clear = sub.add_parser("clear", help="remove one override (by name) or all")
    p_clear.add_argument("name", nargs="?")
    p_clear.set_defaults(handler=_clear)

    p_list = sub.add_parser("list", help="list the overrides")
    p_list.add_argument("--json", action="store_true")
    p_list.set_defaults(handler=_list)
    parser.set_defaults(handler=_usage, override_parser=parser)


def _usage(args: argparse.Namespace) -> ExitCode:
    args.override_parser.print_help()
    return ExitCode.USAGE


def _until(text: str) -> datetime:
    from gridpilot.clock import SystemClock

    try:
        until = parse_until(text, SystemClock().now())
    except GridpilotError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--until ")) from None
    except (OverflowError, ValueError, OSError):  # beyond what this computer's clock can show
        raise argparse.ArgumentTypeError(f"{text!r}: out of range") from None
    if not FIRST_YEAR <= until.year < LAST_YEAR:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a time from {FIRST_YEAR} to before {LAST_YEAR}"
        )
    return until


def parse_until(text: str, now: datetime) -> datetime:
    """An ISO time (local time of this computer when it has no offset), or ``HH:MM``: the next
    such local wall-clock time after ``now``."""
    local_now = now.astimezone()
    try:
        if len(text) <= 5 and ":" in text:
            hh, mm = (int(x) for x in text.split(":"))
            candidate = local_now.replace(hour=hh, minute=mm, second=0, microsecond=0)
            if candidate <= local_now:
                candidate += timedelta(days=1)
            return candidate
        t = datetime.fromisoformat(text)
    except ValueError:
        raise GridpilotError(f"--until {text!r}: use HH:MM or an ISO time "
                             "(2026-05-01T18:30+01:00)") from None
    return t if t.tzinfo else t.astimezone()


def _request(args: argparse.Namespace, method: str, path: str,
             body: dict[str, Any] | None = None) -> Any:
    import httpx

    from gridpilot.scheduler.locate import find_control, resolve_state_dir

    endpoint = find_control(resolve_state_dir(args.state_dir, args.policy))
    transport = httpx.HTTPTransport(uds=endpoint.socket) if endpoint.socket else None
    try:
        with httpx.Client(transport=transport, timeout=10.0) as client:
            response = client.request(method, endpoint.url + path, json=body,
                                      headers={"Authorization": f"Bearer {endpoint.token}"})
    except httpx.HTTPError as exc:
        raise GridpilotError(f"cannot reach the running gridpilot at "
                             f"{endpoint.socket or endpoint.url} ({exc}); is it running?") from None
    try:
        data = response.json()
    except ValueError:
        data = {"error": response.text}
    if response.status_code >= 400:
        raise GridpilotError(f"the running gridpilot refused: {data.get('error', data)}")
    return data


def _set(args: argparse.Namespace) -> ExitCode:
    action: dict[str, Any] = {"kind": args.action}
    for name in ("power_w", "target_soc_pct", "floor_soc_pct", "max_import_w", "max_export_w"):
        value = getattr(args, name)
        if value is not None:
            action[name] = value
    body: dict[str, Any] = {"action": action, "force": args.force}
    if args.name:
        body["name"] = args.name
    if args.for_s is not None:
        body["for_s"] = args.for_s
    else:
        body["until"] = args.until.isoformat()
    data = _request(args, "POST", "/overrides", body)
    o = data["override"]
    print(f"override {o['name']}: {o['action']['kind']} until {o['until']}", file=stdout())
    return ExitCode.OK


def _clear(args: argparse.Namespace) -> ExitCode:
    path = "/overrides" if args.name is None else "/overrides/" + quote(args.name, safe="")
    data = _request(args, "DELETE", path)
    print(f"removed {data['removed']} override(s)", file=stdout())
    return ExitCode.OK


def _list(args: argparse.Namespace) -> ExitCode:
    data = _request(args, "GET", "/overrides")
    if args.json:
        print(json.dumps(data, indent=1), file=stdout())
        return ExitCode.OK
    if not data["overrides"]:
        print("no overrides", file=stdout())
    for o in data["overrides"]:
        extra = {k: v for k, v in o["action"].items() if k != "kind"}
        detail = " ".join(f"{k}={v:g}" for k, v in extra.items())
        print(f"{o['name']}: {o['action']['kind']} {detail} from {o['start']} until {o['until']}"
              f"{' (force)' if o['force'] else ''}".replace("  ", " "), file=stdout())
    return ExitCode.OK
