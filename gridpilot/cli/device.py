"""``gridpilot device probe POLICY`` and ``gridpilot device export POLICY --from --to --out``.

``probe`` is read-only: it connects to the policy's device, reads its state once and prints the
readings, the capabilities and the mode it runs. ``export`` downloads the device's recorded
history to a file ``gridpilot simulate`` loads (xStorage: JSON metric records, or its CSV export
when ``--out`` ends in ``.csv``; xBattery: JSON telemetry records; simulated: the recorded data).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gridpilot.cli.argtypes import date_or_time
from gridpilot.cli.outputs import prepare_output_file, write_failed
from gridpilot.cli.terminal import stdout
from gridpilot.devices.base import DeviceAdapter, DeviceReading, Exporter
from gridpilot.errors import CommandError
from gridpilot.exitcodes import ExitCode

__all__ = ["parse_when", "register"]


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Probe the device a policy names (read-only) or export its recorded "
        "history for the simulator."
    )
    sub = parser.add_subparsers(dest="device_command", metavar="ACTION", required=True)
    probe = sub.add_parser("probe", help="read the device once and print what it reports")
    probe.add_argument("policy", metavar="POLICY", help="the policy file")
    probe.add_argument("--json", action="store_true", help="print machine-readable JSON")
    probe.set_defaults(handler=run_probe)
    export = sub.add_parser("export", help="download the device's history to a file")
    export.add_argument("policy", metavar="POLICY", help="the policy file")
    export.add_argument("--from", dest="start", required=True, metavar="WHEN", type=date_or_time,
                        help="start: YYYY-MM-DD or an ISO time (site time unless it has an offset)")
    export.add_argument("--to", dest="end", required=True, metavar="WHEN", type=date_or_time,
                        help="end (exclusive), same forms as --from")
    export.add_argument("--out", required=True, metavar="FILE", help="where to write")
    export.set_defaults(handler=run_export)


def parse_when(text: str, tz: ZoneInfo, flag: str) -> datetime:
    """A date or ISO time; without an offset it is read in the site's timezone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"{flag} {text!r} is not a date (YYYY-MM-DD) or ISO time (YYYY-MM-DDTHH:MM)"
        ) from None
    if value.tzinfo is None:
        if len(text) == 10:
            value = datetime.combine(value.date(), time(0))
        value = value.replace(tzinfo=tz)
    return value


def _open(policy_path: str) -> tuple[Any, DeviceAdapter]:
    from gridpilot.scheduler.site_device import device_for_policy, load_site_policy

    policy = load_site_policy(policy_path)
    return policy, device_for_policy(policy)


def _reading_dict(reading: DeviceReading) -> dict[str, Any]:
    mode = reading.device_mode
    return {
        "time": reading.time.isoformat(),
        "soc_pct": reading.soc_pct,
        "load_w": reading.load_w,
        "pv_w": reading.pv_w,
        "grid_w": reading.grid_w,
        "battery_w": reading.battery_w,
        "mode": None if mode is None else {
            "kind": None if mode.kind is None else mode.kind.value,
            "source": mode.source.value,
            "native": mode.native,
            "expires": None if mode.expires is None else mode.expires.isoformat(),
        },
        "extra": {k: v for k, v in reading.extra.items() if _plain(v)},
    }


def _plain(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


async def _probe(
    adapter: DeviceAdapter,
) -> tuple[DeviceReading, dict[str, Any], dict[str, Any] | None]:
    try:
        reading = await adapter.read_state()
        # Adapters that discover a register map (SunSpec) also list what they found.
        lister = getattr(adapter, "probe_models", None)
        models = await lister() if callable(lister) else None
        return reading, adapter.capabilities.as_dict(), models
    finally:
        await adapter.aclose()


def run_probe(args: Any) -> ExitCode:
    _, adapter = _open(args.policy)
    reading, caps, models = asyncio.run(_probe(adapter))
    state = _reading_dict(reading)
    data: dict[str, Any] = {"device": adapter.name, "state": state, "capabilities": caps}
    if models is not None:
        data["models"] = models
    if args.json:
        print(json.dumps(data, indent=2, default=str), file=stdout())
        return ExitCode.OK
    out = stdout()
    print(f"device: {adapter.name}", file=out)
    print("state:", file=out)
    for key in ("soc_pct", "load_w", "pv_w", "grid_w", "battery_w"):
        value = state[key]
        print(f"  {key:<10} {'-' if value is None else f'{value:g}'}", file=out)
    mode = state["mode"]
    if mode is None:
        print("mode: unknown", file=out)
    else:
        until = f", until {mode['expires']}" if mode["expires"] else ""
        print(f"mode: {mode['native'] or mode['kind']} (kind {mode['kind']}, set by "
              f"{mode['source']}{until})", file=out)
    print("capabilities:", file=out)
    rating = caps["power_rating_w"]
    capacity = caps["capacity_kwh"]
    print(f"  power_rating_w {'-' if rating is None else f'{rating:g}'}", file=out)
    print(f"  capacity_kwh   {'-' if capacity is None else f'{capacity:g}'}", file=out)
    print(f"  kinds          {', '.join(caps['kinds']) or 'none (read-only)'}", file=out)
    for note in caps["notes"]:
        print(f"  note: {note}", file=out)
    for model, values in (models or {}).items():
        shown = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in values.items() if v is not None and k != "groups")
        print(f"model {model}: {shown}", file=out)
    return ExitCode.OK


async def _export(adapter: DeviceAdapter, start: datetime, end: datetime, out: Path) -> Any:
    try:
        if not isinstance(adapter, Exporter):
            raise CommandError(f"device {adapter.name!r} cannot export its history")
        return await adapter.export(start, end, out)
    finally:
        await adapter.aclose()


def run_export(args: Any) -> ExitCode:
    out = prepare_output_file(args.out, "--out")
    policy, adapter = _open(args.policy)
    start = parse_when(args.start, policy.tz, "--from")
    end = parse_when(args.end, policy.tz, "--to")
    if end <= start:
        raise CommandError("--to must be after --from")
    try:
        result = asyncio.run(_export(adapter, start, end, out))
    except OSError as exc:
        raise write_failed(exc.filename or out, exc, "--out") from None
    print(f"wrote {result.records} records ({result.format}) to {result.path}", file=stdout())
    return ExitCode.OK
