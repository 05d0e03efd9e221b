"""``gridpilot log [--since 2h|ISO] [--json] [--kind KIND]``: read the scheduler's audit log.

Times are shown in the site's zone with their UTC offset: the zone the scheduler recorded when it
started (UTC for a log written before it did so).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gridpilot.cli.terminal import stdout
from gridpilot.errors import GridpilotError
from gridpilot.exitcodes import ExitCode
from gridpilot.scheduler.holds import winner_label
from gridpilot.timefmt import format_time

__all__ = ["format_record", "register"]


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Read the audit log of `gridpilot run`: every tick's decision, every command "
        "attempt, every device response and error."
    )
    parser.add_argument("--state-dir", metavar="DIR", help="the scheduler's state directory")
    parser.add_argument("--policy", metavar="POLICY", help="find the state dir from this policy")
    parser.add_argument("--since", metavar="WHEN", type=_since_arg,
                        help="only records from this time on: a duration back from now (2h, "
                        "30m) or an ISO time")
    parser.add_argument("--kind", action="append", metavar="KIND",
                        help="only these record kinds (tick, command_attempt, command_failed, "
                        "error, ...); repeatable")
    parser.add_argument("--json", action="store_true", help="print the raw JSON lines")
    parser.set_defaults(handler=handle)


def _since_arg(text: str) -> datetime:
    from gridpilot.clock import SystemClock

    try:
        since = _since(text, SystemClock().now())
    except GridpilotError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--since ")) from None
    if since is None:
        raise argparse.ArgumentTypeError("empty: use a duration (2h, 30m) or an ISO time")
    return since


def _since(text: str | None, now: datetime) -> datetime | None:
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text)
        return t if t.tzinfo else t.astimezone()
    except ValueError:
        pass
    from gridpilot.timeutil import parse_duration_s

    try:
        return now - timedelta(seconds=parse_duration_s(text))
    except (ValueError, OverflowError):  # OverflowError: before the year 1
        raise GridpilotError(f"--since {text!r}: use a duration (2h, 30m) or an ISO time") from None


def _cmd(c: Any) -> str:
    if not isinstance(c, dict) or not c:
        return "-"
    kind = str(c.get("kind"))
    if kind in ("charge", "discharge") and c.get("power_w") is not None:
        return f"{kind} {_number(c['power_w'], 'g')} W"
    return kind


def _number(value: Any, spec: str) -> str:
    # NaN and infinity reach the log as text ("nan"): show whatever is there. None is a reading
    # nobody knows (rejected, or never read): "?", as the live console shows it.
    if value is None:
        return "?"
    return format(value, spec) if isinstance(value, int | float) else str(value)


def format_record(r: dict[str, Any], tz: tzinfo | None = None) -> str:
    """One readable line for an audit record, its time in ``tz`` (UTC when ``None``) with the
    offset (any JSON object: a field of an unexpected type is shown as it is rather than
    stopping the listing)."""
    try:
        return _format(r, tz)
    except (TypeError, ValueError, KeyError, AttributeError):
        return _generic(r, tz)


def _when(r: dict[str, Any], tz: tzinfo | None) -> str:
    raw = str(r.get("ts", ""))
    try:
        t = datetime.fromisoformat(raw)
        if t.utcoffset() is None:
            return f"{raw[:25]:<25}"
        return format_time(t, tz)
    except (ValueError, OverflowError):  # OverflowError: a year at the calendar's edge
        return f"{raw[:25]:<25}"


def run_zone(directory: Path) -> tzinfo:
    """The site zone of the newest ``started`` record in the audit log of ``directory``."""
    from gridpilot.scheduler.audit import audit_files

    for path in reversed(audit_files(directory)):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in reversed(lines):
            if '"kind":"started"' not in line:
                continue
            try:
                name = json.loads(line).get("timezone")
                if isinstance(name, str):
                    return ZoneInfo(name)
            except (ValueError, AttributeError, OSError, ZoneInfoNotFoundError):
                continue
    return UTC


def _generic(r: dict[str, Any], tz: tzinfo | None = None) -> str:
    head = f"{_when(r, tz)} {r.get('kind')!s:<17}"
    rest = " ".join(f"{k}={v}" for k, v in r.items()
                    if k not in ("ts", "kind") and v not in (None, ""))
    return head + rest


def _format(r: dict[str, Any], tz: tzinfo | None) -> str:
    kind = str(r.get("kind"))
    if kind == "corrupt":
        return f"{r.get('file')}:{r.get('line')}: skipped, not an audit record: {r.get('why')}"
    head = f"{_when(r, tz)} {kind:<17}"
    if kind == "tick":
        text = f"#{r.get('tick')} {r.get('status')}"
        state = r.get("state")
        if isinstance(state, dict):
            text += (f" SOC {_number(state.get('soc_pct'), '.1f')} % grid "
                     f"{_number(state.get('grid_w'), '+.0f')} W")
        dec = r.get("decision")
        if isinstance(dec, dict):
            who = winner_label(dec.get("winner"), dec.get("candidates"))
            text += f" -> {dec.get('describe')} ({who})"
        disp = r.get("dispatch")
        if isinstance(disp, dict):
            text += f" [{disp.get('status')}]"
        if r.get("error"):
            text += f" {r['error']}"
        return head + text
    if kind in ("command_attempt", "command_dry_run", "command_invalid", "command_failed"):
        text = _cmd(r.get("command"))
        for key in ("why", "stage", "error"):
            if r.get(key):
                text += f" {key}={r[key]}"
        return head + text
    if kind == "policy_invalid":
        return head + str(r.get("error", "")).replace("\n", " | ")
    return _generic(r, tz)


def handle(args: argparse.Namespace) -> ExitCode:
    from gridpilot.scheduler.audit import audit_files, read_audit
    from gridpilot.scheduler.locate import resolve_state_dir

    state_dir = resolve_state_dir(args.state_dir, args.policy)
    if not audit_files(Path(state_dir)):
        raise GridpilotError(f"no audit log in {state_dir}; has `gridpilot run` run there? "
                             "(use --policy or --state-dir)")
    since = args.since
    kinds = dict.fromkeys(args.kind, True) if args.kind else None
    tz = run_zone(Path(state_dir))
    try:
        for record in read_audit(Path(state_dir), since=since, kinds=kinds):
            if args.json:
                print(json.dumps(record, separators=(",", ":")), file=stdout())
            else:
                print(format_record(record, tz), file=stdout())
    except BrokenPipeError:
        raise
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise GridpilotError(f"{exc.filename or state_dir}: cannot read the audit log: {reason} "
                             "(check --state-dir)") from None
    return ExitCode.OK
