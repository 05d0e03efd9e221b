"""``gridpilot run POLICY [--once] [--dry-run] [--interval 60s] [--speed N]``: the scheduler.

Runs until SIGTERM or SIGINT (then finishes the tick, optionally hands the device back to its
default mode, and exits 0). With the default simulated device it replays the bundled data on an
accelerated clock, printing one line per tick.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import importlib
import logging
import os
import sys
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import IO, TYPE_CHECKING

from gridpilot.cli.argtypes import date_or_time, duration_s, finite_float, positive_int
from gridpilot.cli.outputs import prepare_output_dir, write_failed
from gridpilot.cli.terminal import stdout
from gridpilot.clock import AcceleratedClock, Clock, SystemClock
from gridpilot.errors import GridpilotError, PolicyError
from gridpilot.exitcodes import ExitCode

if TYPE_CHECKING:
    from gridpilot.devices.base import DeviceAdapter
    from gridpilot.mqtt.publisher import MqttPublisher
    from gridpilot.rules.policy import Policy
    from gridpilot.scheduler.loop import Scheduler
    from gridpilot.scheduler.web_api import WebFront

__all__ = ["register"]

SIMULATED_DEFAULT_SPEED = 300.0
"""One real second is five simulated minutes: with 60 s ticks a new user sees five ticks a
second and a whole day in under five minutes."""

log = logging.getLogger("gridpilot.scheduler")


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run the scheduler: read the device, decide, send, audit, every interval. "
        "Stops cleanly on SIGTERM or Ctrl-C."
    )
    parser.add_argument("policy", metavar="POLICY", help="the policy file")
    parser.add_argument("--once", action="store_true", help="run a single tick and exit")
    parser.add_argument("--dry-run", action="store_true",
                        help="decide and audit, but send nothing to the device")
    parser.add_argument("--interval", metavar="DURATION",
                        type=duration_s(min_s=1, max_s=3600, example="60s, 5m"),
                        help="time between ticks, e.g. 60s, 5m (default: run.interval_s)")
    parser.add_argument("--speed", type=finite_float(positive=True), metavar="N",
                        help="run the clock N times faster (simulated device only; default "
                        f"{SIMULATED_DEFAULT_SPEED:g} for it, 1 otherwise)")
    parser.add_argument("--start", metavar="ISO-TIME", type=date_or_time,
                        help="with an accelerated clock: the simulated time to start at")
    parser.add_argument("--max-ticks", type=positive_int, metavar="N", help="stop after N ticks")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="audit log, overrides and memory (default: run.state_dir)")
    parser.add_argument("--quiet", action="store_true", help="print no line per tick")
    schedule = parser.add_mutually_exclusive_group()
    schedule.add_argument("--sync-schedule", action="store_true",
                          help="write the policy's static time-window rules into the device's "
                          "own schedule, then exit")
    schedule.add_argument("--remove-schedule", action="store_true",
                          help="remove exactly the device schedule events gridpilot wrote, "
                          "then exit")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.set_defaults(handler=handle)


def _start_time(text: str | None, device_type: str) -> datetime:
    if text:
        try:
            t = datetime.fromisoformat(text)
        except ValueError:
            raise GridpilotError(f"--start {text!r}: not an ISO 8601 time") from None
        return t if t.tzinfo else t.replace(tzinfo=UTC)
    if device_type == "simulated":
        try:
            simulated = importlib.import_module("gridpilot.devices.simulated")
            start = getattr(simulated, "DEFAULT_START", None)
            if isinstance(start, datetime):
                return start
        except ImportError:
            pass
    return SystemClock().now()


def make_clock(args: argparse.Namespace, device_type: str) -> tuple[Clock, float]:
    speed = args.speed
    if speed is None:
        speed = SIMULATED_DEFAULT_SPEED if device_type == "simulated" else 1.0
    if speed <= 0:
        raise GridpilotError("--speed must be positive")
    if speed != 1.0 and device_type != "simulated":
        raise GridpilotError(
            f"--speed {speed:g} needs the simulated device; a real {device_type!r} device "
            "runs in real time"
        )
    if speed == 1.0 and not args.start:
        return SystemClock(), 1.0
    return AcceleratedClock(_start_time(args.start, device_type), speed), speed


def handle(args: argparse.Namespace) -> ExitCode:
    from gridpilot.scheduler.site_device import load_site_policy

    path = Path(args.policy)
    policy = load_site_policy(path)
    interval_s: float | None = args.interval
    device_type = policy.doc.device.type
    _refuse_unstartable_device(policy)
    # The clock starts after the checks: at --speed 3000 their half second is 25 minutes.
    clock, speed = make_clock(args, device_type)
    _configure_logging(args.log_level, clock, policy.tz)
    return asyncio.run(_run(args, policy, clock, speed, interval_s))


def _configure_logging(level: str, clock: Clock, tz: tzinfo) -> None:
    """Log lines stamped by the run's own clock in the site's zone: under ``--speed`` the wall
    clock would disagree with the tick lines and the audit log."""
    from gridpilot.timefmt import ClockFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ClockFormatter(clock, tz))
    logging.basicConfig(level=getattr(logging, level), handlers=[handler])


def _refuse_unstartable_device(policy: Policy) -> None:
    """Whatever would break every tick (a missing data or secret file, settings the adapter
    refuses) stops the start, located in the policy as ``gridpilot check`` reports it."""
    from gridpilot.scheduler.site_device import device_issues

    issues = device_issues(policy)
    if issues:
        raise PolicyError(issues)


def _start_device(policy: Policy, clock: Clock) -> tuple[DeviceAdapter, list[Path]]:
    """The adapter, ready for its first tick, and the files it read on the way (watched for
    changes that need a restart)."""
    from gridpilot.inputs import recording_inputs
    from gridpilot.scheduler.site_device import device_for_policy

    with recording_inputs() as read:
        device = device_for_policy(policy, clock=clock)
        preflight = getattr(device, "preflight", None)
        if callable(preflight):
            preflight()
    return device, read


async def _run(args: argparse.Namespace, policy: Policy, clock: Clock, speed: float,
               interval_s: float | None) -> ExitCode:
    from gridpilot.scheduler.control import ControlServer, ensure_token
    from gridpilot.scheduler.locate import state_dir_for_policy
    from gridpilot.scheduler.loop import Scheduler
    from gridpilot.scheduler.tick import TickReport

    run = policy.doc.run
    state_dir = (Path(args.state_dir) if args.state_dir
                 else state_dir_for_policy(Path(args.policy), run.state_dir))
    lock = _lock_state_dir(state_dir)
    try:
        device, device_inputs = _start_device(policy, clock)
    except BaseException:
        lock.close()
        raise
    if args.sync_schedule or args.remove_schedule:
        try:
            return await _schedule(args, policy, device, state_dir)
        finally:
            await device.aclose()
    if run.sync_device_schedule and not args.dry_run:
        await _startup_sync(policy, device, state_dir)

    def show(report: TickReport) -> None:
        if not args.quiet:
            print(report.line(policy.tz), flush=True, file=stdout())

    scheduler = Scheduler(policy, device, clock=clock, state_dir=state_dir, dry_run=args.dry_run,
                          interval_s=interval_s, on_tick=show, device_inputs=device_inputs)
    control: ControlServer | None = None
    mqtt: MqttPublisher | None = None
    where = "off"
    try:
        mqtt = _start_mqtt(scheduler)
        if run.control_enabled and not args.once:
            token_file = state_dir / run.token_file
            control = ControlServer(
                token=ensure_token(token_file), overrides=scheduler.overrides,
                metrics=scheduler.metrics, audit=scheduler.audit, clock=clock,
                health=scheduler.health, on_change=scheduler.wake,
                web=_web_front(scheduler, clock, unix=bool(run.control_socket)),
            )
            if run.control_socket:
                address = await control.start_unix(state_dir / run.control_socket)
            else:
                address = await control.start_tcp(run.control_host, run.control_port)
            control.publish(state_dir, token_file)
            where = f"{address.get('url') or address.get('socket')} (token in {token_file})"
        print(
            f"gridpilot run: {policy.name} | device {getattr(device, 'name', device_type(policy))}"
            f" | every {scheduler.interval_s:g} s{f' at {speed:g}x speed' if speed != 1 else ''}"
            f"{' | DRY RUN: nothing is sent' if args.dry_run else ''} | control API {where}"
            f" | state in {state_dir}",
            flush=True, file=stdout(),
        )
        return await scheduler.run(once=args.once, max_ticks=args.max_ticks)
    finally:
        if mqtt is not None:
            mqtt.close()
        if control is not None:
            await control.close()
            (state_dir / "control.json").unlink(missing_ok=True)
        lock.close()


def _start_mqtt(scheduler: Scheduler) -> MqttPublisher | None:
    """The MQTT link when the policy has an ``mqtt:`` section; imported only then, since it
    needs the ``mqtt`` extra (refused, naming it, when missing)."""
    if scheduler.policy.doc.mqtt is None:
        return None
    from gridpilot.mqtt import require_client

    require_client()
    from gridpilot.mqtt.attach import attach_mqtt

    return attach_mqtt(scheduler)


def _web_front(scheduler: Scheduler, clock: Clock, *, unix: bool) -> WebFront:
    """The dashboard and the status API; the Host check guards TCP only (a unix socket has
    no DNS name to rebind)."""
    from gridpilot.scheduler.status_view import StatusView
    from gridpilot.scheduler.web_api import WebFront
    from gridpilot.scheduler.websession import WebSessions

    # Logins last in wall-clock time even when the run's clock is sped up (--speed).
    return WebFront(StatusView(scheduler), WebSessions(SystemClock()), scheduler.audit, clock,
                    check_host=not unix)


async def _schedule(args: argparse.Namespace, policy: Policy, device: DeviceAdapter,
                    state_dir: Path) -> ExitCode:
    from gridpilot.scheduler.schedule_sync import (
        ScheduleDevice,
        remove_device_schedule,
        sync_device_schedule,
    )

    if not isinstance(device, ScheduleDevice):
        raise GridpilotError(f"device {device.name!r} has no schedule of its own to write into")
    if args.remove_schedule:
        removed = await remove_device_schedule(device, state_dir)
        print(f"removed {removed} device schedule event(s) that gridpilot wrote", file=stdout())
        return ExitCode.OK
    await device.read_state()  # the adapter learns the inverter rating on first contact
    written = await sync_device_schedule(device, policy, state_dir)
    print(f"wrote {written} event(s) into the device schedule of {device.name!r}", file=stdout())
    return ExitCode.OK


async def _startup_sync(policy: Policy, device: DeviceAdapter, state_dir: Path) -> None:
    """``run.sync_device_schedule``: refresh the device's copy of the static rules at start.

    Rules the device cannot express stop the start (a configuration error); a device that
    cannot be reached now only delays the sync to the next start.
    """
    from gridpilot.errors import DeviceError
    from gridpilot.scheduler.schedule_sync import ScheduleDevice, sync_device_schedule

    if not isinstance(device, ScheduleDevice):
        raise GridpilotError(f"run.sync_device_schedule: device {device.name!r} has no schedule "
                             "of its own; turn the setting off")
    try:
        await device.read_state()
        written = await sync_device_schedule(device, policy, state_dir)
    except DeviceError as exc:
        log.warning("device schedule not synced this time: %s", exc)
        return
    log.info("wrote %d event(s) into the device schedule", written)


def _lock_state_dir(state_dir: Path) -> IO[str]:
    """One scheduler per state directory: two would fight over the device and the audit log."""
    from gridpilot.scheduler.persist import STATE_DIR_MODE

    # Created private here; the scheduler tightens or warns about an existing one.
    with contextlib.suppress(OSError):
        state_dir.mkdir(mode=STATE_DIR_MODE, parents=True, exist_ok=True)
    prepare_output_dir(state_dir, "--state-dir (or run.state_dir)")
    try:
        fh = (state_dir / "run.lock").open("a+", encoding="utf-8")
    except OSError as exc:
        raise write_failed(state_dir / "run.lock", exc, "--state-dir (or run.state_dir)") from None
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        other = fh.read().strip() or "?"
        fh.close()
        raise GridpilotError(
            f"another gridpilot run (pid {other}) already uses {state_dir}; stop it first, or "
            "give this one its own --state-dir"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    return fh


def device_type(policy: Policy) -> str:
    return str(policy.doc.device.type)
