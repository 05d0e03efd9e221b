"""The tick loop of ``gridpilot run``.

Every tick, aligned to the clock's wall time: notice policy edits, read the device's state (with
a timeout), call ``decide()``, hand the command to the dispatcher and write one audit record. An
exception inside a tick is logged and audited with its context; the next tick comes as usual.

Fail-safe: when the last fresh state is older than ``run.max_state_age_s`` (or there never was
one), the configured safe action is sent once; after that nothing is commanded until fresh data
returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import math
import signal
import time as _time
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from gridpilot.clock import Clock
from gridpilot.devices.base import DeviceAdapter
from gridpilot.engine.commands import Command
from gridpilot.engine.decision import Decision
from gridpilot.engine.program import CompiledOverride
from gridpilot.engine.state import DeviceMode, ModeSource, PriceOutlook, SiteState
from gridpilot.errors import GridpilotError
from gridpilot.exitcodes import ExitCode
from gridpilot.forecasts.providers import ForecastProvider
from gridpilot.scheduler.audit import AuditLog, decision_summary
from gridpilot.scheduler.device import Snapshot, snapshot_from_reading
from gridpilot.scheduler.dispatcher import Dispatcher, DispatchOutcome
from gridpilot.scheduler.forecasts import ForecastKeeper
from gridpilot.scheduler.metrics import Metrics
from gridpilot.scheduler.overrides import OverrideStore
from gridpilot.scheduler.persist import ensure_state_dir, load_memory, save_memory
from gridpilot.scheduler.prices import PriceRefresher
from gridpilot.scheduler.reload import PolicyWatcher
from gridpilot.scheduler.site_device import load_site_policy
from gridpilot.scheduler.tick import (
    TickReport,
    build_site_state,
    command_with_reserve,
    next_tick_at,
    note_month_peak,
    recognise_own_mode,
    remember_decision,
    stale_reason,
)
from gridpilot.timefmt import format_time

__all__ = ["Scheduler"]

log = logging.getLogger("gridpilot.scheduler")

DecideFn = Callable[[Any, SiteState, Sequence[CompiledOverride]], Decision]


def _default_decide() -> DecideFn:
    module = importlib.import_module("gridpilot.engine.decide")
    return cast(DecideFn, module.decide)


def _default_loader() -> Callable[[Path], Any]:
    return load_site_policy


class Scheduler:
    """Runs ticks against one device until stopped.

    Args:
        policy: the compiled policy (``load_policy``); replaced atomically on a valid edit.
        device: the adapter (``gridpilot.devices.registry.create_device``).
        clock: the only source of time.
        state_dir: audit log, overrides and memory.
        decide_fn / policy_loader: injected for tests; default to the engine's.
        forecast: the load/PV forecast fed every fresh tick (default: time-of-week average).
        watch_policy: reload the policy when ``policy.path`` or a file it read
            (``policy.inputs``: price files...) changes.
        device_inputs: the files the device adapter read when it was built (the simulated
            battery's data...): a change to one is reported as needing a restart.
        prices: keeps live provider prices in the tariff (default: one with a verified-TLS
            client, made when the policy names a provider).
    """

    def __init__(
        self,
        policy: Any,
        device: DeviceAdapter,
        *,
        clock: Clock,
        state_dir: Path,
        dry_run: bool = False,
        interval_s: float | None = None,
        decide_fn: DecideFn | None = None,
        policy_loader: Callable[[Path], Any] | None = None,
        watch_policy: bool = True,
        on_tick: Callable[[TickReport], None] | None = None,
        forecast: ForecastProvider | None = None,
        device_inputs: Sequence[Path] = (),
        prices: PriceRefresher | None = None,
    ) -> None:
        self.policy = policy
        self.device = device
        self.clock = clock
        self.state_dir = Path(state_dir)
        caps = getattr(device, "capabilities", None)
        if not dry_run and getattr(caps, "read_only", False):
            # A state source that cannot actuate: decide and audit, never try to send.
            log.warning("device %r is read-only: running as --dry-run",
                        getattr(device, "name", "?"))
            dry_run = True
        self.dry_run = dry_run
        run = policy.doc.run
        self.interval_s = float(interval_s or run.interval_s)
        self.decide_fn = decide_fn or _default_decide()
        self.on_tick = on_tick
        self.forecast: ForecastProvider | None = forecast or policy.new_forecast()
        self.metrics = Metrics()
        dir_warning = ensure_state_dir(self.state_dir)
        self.audit = AuditLog(self.state_dir, max_bytes=run.audit_max_bytes, keep=run.audit_keep)
        self.overrides = OverrideStore(self.state_dir)
        self.memory, memory_error = load_memory(self.state_dir)
        self._saved_memory: dict[str, Any] | None = None
        refresh_s = (
            run.refresh_before_s if run.refresh_before_s is not None else 2 * self.interval_s
        )
        self.dispatcher = Dispatcher(
            device,
            audit=self.audit,
            metrics=self.metrics,
            memory=self.memory,
            valid_for_s=max(run.command_valid_s, refresh_s + self.interval_s),
            refresh_before_s=refresh_s,
            backoff_initial_s=run.backoff_initial_s,
            backoff_max_s=run.backoff_max_s,
            call_timeout_s=run.read_timeout_s,
            dry_run=dry_run,
        )
        path = getattr(policy, "path", None)
        self.watcher = (
            PolicyWatcher(Path(path), policy_loader or _default_loader(),
                          inputs=getattr(policy, "inputs", ()), restart_inputs=device_inputs)
            if watch_policy and path is not None
            else None
        )
        tariff = policy.tariff
        has_live = any(getattr(getattr(tariff, side, None), "providers", ())
                       for side in ("import_side", "export_side"))
        self.prices = prices if prices is not None else (
            PriceRefresher(self.state_dir, clock, audit=self.audit) if has_live else None)
        if self.prices is not None:
            self.prices.audit = self.audit
            self.metrics.sections.append(self.prices.metric_lines)
        # Refreshes a live forecast and falls back down its chain: never the end of a tick.
        self.forecasts = (ForecastKeeper(self.forecast, self.state_dir, clock, policy.tz,
                                         audit=self.audit)
                          if self.forecast is not None else None)
        self.tick_count = 0
        self.last_fresh: datetime | None = None
        self.last_mode: DeviceMode | None = None
        self.failsafe_active = False
        self.failsafe_sent = False
        self.person_mode = False
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self.started = self.clock.now()
        # Said in the log now; audited right after the "started" record (or the first tick).
        self._start_warnings: list[tuple[str, str]] = []
        if dir_warning:
            self._start_warnings.append(("state_dir", dir_warning))
        for problem in (memory_error, self.overrides.load_error):
            if problem:
                log.warning("%s", problem)
                self.audit.write("error", self.started, error_kind="state_file", error=problem)
        if run.read_timeout_s >= self.interval_s:
            self._start_warnings.append((
                "run.read_timeout_s",
                f"run.read_timeout_s ({run.read_timeout_s:g} s) is not shorter than the tick "
                f"interval ({self.interval_s:g} s): a device that stops answering makes ticks "
                "miss their slots; set run.read_timeout_s below the interval",
            ))
        for _setting, text in self._start_warnings:
            log.warning("%s", text)

    def _audit_start_warnings(self) -> None:
        for setting, text in self._start_warnings:
            self.audit.write("config_warning", self.clock.now(), setting=setting, warning=text)
        self._start_warnings = []

    # -- control -----------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Finish the current tick, then stop (what SIGTERM and SIGINT do)."""
        self._stop.set()

    def wake(self) -> None:
        """Run a tick now (after an override changed) instead of at the next aligned time."""
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def health(self) -> tuple[bool, dict[str, Any]]:
        """The ``/healthz`` answer: healthy while ticks come on time and the state is fresh."""
        now = self.clock.now()
        last = self.metrics.last_tick_unix_s
        since_tick_s = now.timestamp() - last if self.tick_count else None
        if self.failsafe_active:
            status = "failsafe"
        elif since_tick_s is None:
            status = "starting"
        elif since_tick_s > 3 * self.interval_s:
            status = "stalled"
        else:
            status = "ok"
        age = self.metrics.state_age_s
        return status == "ok", {
            "status": status,
            "ticks": self.tick_count,
            "seconds_since_tick": since_tick_s,
            "state_age_s": None if math.isnan(age) else age,
            "person_mode": self.person_mode,
            "dry_run": self.dry_run,
            "current_command": self.metrics.current_kind,
        }

    # -- one tick ----------------------------------------------------------------------------
    async def tick(self) -> TickReport:
        """Run one tick; never raises (except cancellation)."""
        self._audit_start_warnings()
        self.tick_count += 1
        n = self.tick_count
        now = self.clock.now()
        started = _time.perf_counter()
        try:
            report = await self._tick(n, now)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            context = f"{where.filename}:{where.lineno} in {where.name}" if where else ""
            # gridpilot's own errors say what is wrong; a traceback is for the unexpected.
            log.error("tick %d at %s failed: %s", n, now.isoformat(), exc,
                      exc_info=not isinstance(exc, GridpilotError))
            self.metrics.error(type(exc).__name__)
            self.audit.write("tick", now, tick=n, status="error", error_kind=type(exc).__name__,
                             error=str(exc), where=context)
            report = TickReport(n, now, "error", message=f"{type(exc).__name__}: {exc}")
        duration_s = _time.perf_counter() - started
        m = self.metrics
        m.ticks_total += 1
        m.last_tick_duration_s = duration_s
        m.tick_duration_sum_s += duration_s
        m.last_tick_unix_s = now.timestamp()
        m.failsafe_active = self.failsafe_active
        m.person_mode_active = self.person_mode
        if self.on_tick is not None:
            try:
                self.on_tick(report)
            except Exception:
                log.exception("printing tick %d failed", n)
        return report

    async def _tick(self, n: int, now: datetime) -> TickReport:
        await self._check_reload(now)
        policy = self.policy
        run = policy.doc.run
        if self.prices is not None:
            # Before deciding: prices published since the last tick reach this decision.
            self.prices.bind(policy.tariff, self._base_dir())
            await self.prices.refresh(now)
        if self.forecasts is not None:
            await self.forecasts.refresh(now)
        snapshot, read_error = await self._read(now, n)
        if snapshot is not None:
            snapshot = recognise_own_mode(snapshot, self.memory)
        fresh = snapshot is not None and _fresh(snapshot, run.max_state_age_s)
        if snapshot is not None:
            self.last_mode = snapshot.device_mode
            self.metrics.soc_pct = snapshot.soc_pct
        if fresh:
            self.last_fresh = now
            if self.failsafe_active:
                self.failsafe_active = self.failsafe_sent = False
                log.info("fresh state is back; gridpilot commands again")
                self.audit.write("failsafe_cleared", now, tick=n)
        age_s = None if self.last_fresh is None else (now - self.last_fresh).total_seconds()
        self.metrics.state_age_s = math.nan if age_s is None else age_s
        self.metrics.last_state_unix_s = (
            math.nan if self.last_fresh is None else self.last_fresh.timestamp()
        )
        if not fresh:
            why = stale_reason(snapshot, read_error)
            if age_s is not None and age_s <= run.max_state_age_s:
                self.audit.write("tick", now, tick=n, status="no_state", error=why,
                                 state_age_s=age_s,
                                 state=None if snapshot is None else snapshot.as_dict())
                return TickReport(n, now, "no_state", snapshot, message=why)
            return await self._failsafe(n, now, snapshot, why, age_s)

        assert snapshot is not None
        self._track_person_mode(snapshot.device_mode, now, n)
        overrides = [o.compiled() for o in self.overrides.active(now)]
        state = self._site_state(policy, snapshot, now, n)
        decision = self.decide_fn(policy, state, overrides)
        outcome = await self.dispatcher.dispatch(
            decision.command, policy.limits, snapshot.device_mode, now, tick=n
        )
        remember_decision(self.memory, decision, outcome, now)
        if outcome.status == "yielded":
            log.info("tick %d: %s; not overwriting it", n, outcome.detail)
        self.audit.write(
            "tick", now, tick=n, status="ok", state=snapshot.as_dict(),
            overrides=[o.name for o in overrides],
            decision=decision_summary(decision, snapshot.device_mode),
            dispatch={"status": outcome.status, "detail": outcome.detail},
            **({"prices": self.prices.trace()} if self.prices is not None else {}),
            **(self.forecasts.trace() if self.forecasts is not None else {}),
        )
        self._save_memory()
        return TickReport(n, now, "ok", snapshot, decision, outcome)

    def _base_dir(self) -> Path:
        path = getattr(self.policy, "path", None)
        return Path(path).parent if path is not None else Path.cwd()

    def _save_memory(self) -> None:
        # fsync and rename cost milliseconds on small boards: write only what changed.
        data = self.memory.as_dict()
        if data != self._saved_memory:
            save_memory(self.state_dir, self.memory)
            self._saved_memory = data

    async def _read(self, now: datetime, n: int) -> tuple[Snapshot | None, str]:
        timeout_s = self.policy.doc.run.read_timeout_s
        try:
            reading = await asyncio.wait_for(self.device.read_state(), timeout_s)
            return snapshot_from_reading(reading, now), ""
        except Exception as exc:
            # Whatever went wrong, there is no state: the fail-safe must still see it as missing.
            kind = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
            text = f"reading the device failed ({kind}): {exc}" if str(exc) else (
                f"reading the device failed ({kind})")
            self.metrics.error(kind)
            self.audit.write("error", now, tick=n, stage="read_state", error_kind=kind,
                             error=str(exc))
            # gridpilot's own errors say what is wrong; a traceback is for the unexpected.
            expected = isinstance(exc, GridpilotError | TimeoutError | OSError)
            log.warning("tick %d: %s", n, text, exc_info=not expected)
            return None, text

    async def _failsafe(
        self, n: int, now: datetime, snapshot: Snapshot | None, why: str, age_s: float | None
    ) -> TickReport:
        if not self.failsafe_active:
            self.failsafe_active = True
            log.warning("no fresh state (%s); falling back to the safe action", why)
            self.audit.write("failsafe_entered", now, tick=n, reason=why, state_age_s=age_s)
        outcome: DispatchOutcome | None = None
        if not self.failsafe_sent:
            safe = self.safe_command()
            mode = snapshot.device_mode if snapshot is not None else self.last_mode
            self._track_person_mode(mode, now, n)
            outcome = await self.dispatcher.dispatch(
                safe, self.policy.limits, mode, now, tick=n, force_send=True, read_back=False
            )
            if outcome.status in ("sent", "dry_run", "yielded"):
                self.failsafe_sent = True
        self.audit.write(
            "tick", now, tick=n, status="failsafe", error=why, state_age_s=age_s,
            state=None if snapshot is None else snapshot.as_dict(),
            dispatch=None if outcome is None else {"status": outcome.status,
                                                   "detail": outcome.detail},
        )
        self._save_memory()
        return TickReport(n, now, "failsafe", snapshot, outcome=outcome, message=why)

    def safe_command(self) -> Command:
        """``run.safe_action`` as a command, above any always-on backup reserve."""
        return command_with_reserve(self.policy.doc.run.safe_action, self.policy)

    def _site_state(self, policy: Any, snap: Snapshot, now: datetime, n: int) -> SiteState:
        mem = self.memory
        note_month_peak(mem, now.astimezone(policy.tz).strftime("%Y-%m"), snap.grid_w)
        try:
            prices = policy.tariff.outlook(now)
        except Exception as exc:
            # A broken price source must not stop the battery being run by the other rules.
            self.metrics.error("prices")
            self.audit.write("error", now, tick=n, stage="prices", error_kind=type(exc).__name__,
                             error=str(exc))
            prices = PriceOutlook.empty()
        forecast = None
        if self.forecasts is not None:
            forecast = self.forecasts.predict(now, snap.load_w, snap.pv_w, prices.start_s)
        return build_site_state(snap, now, mem, prices, forecast)

    def _track_person_mode(self, mode: DeviceMode | None, now: datetime, n: int) -> None:
        person = mode is not None and mode.source is ModeSource.PERSON
        if person and not self.person_mode:
            assert mode is not None
            log.warning("a person set %s on the device; gridpilot will not overwrite it while "
                        "it lasts", mode.native or "a manual mode")
            self.audit.write("person_mode", now, tick=n, native=mode.native,
                             expires=None if mode.expires is None else mode.expires.isoformat())
            # Whatever we sent is no longer what runs: resend once the person's mode ends.
            self.memory.sent_command = None
        elif not person and self.person_mode:
            log.info("the person's manual mode on the device has ended; gridpilot resumes")
            self.audit.write("person_mode_ended", now, tick=n)
        self.person_mode = person

    async def _check_reload(self, now: datetime) -> None:
        if self.watcher is None:
            return
        result = await self.watcher.check()
        if result is None:
            return
        if result.restart_needed:
            files = ", ".join(str(p) for p in result.restart_needed)
            log.warning("%s changed; the device read it at start: restart gridpilot run to "
                        "apply it", files)
            self.audit.write("restart_needed", now, files=[str(p) for p in result.restart_needed],
                             why="the device adapter read these files at start")
        changed = [str(p) for p in result.changed]
        if not changed:
            return
        if result.policy is not None:
            old = self.policy.doc
            self.policy = result.policy
            fixed = [name for name in ("device", "run")
                     if getattr(old, name) != getattr(result.policy.doc, name)]
            if fixed:
                # The adapter, the audit log and the control API were built from these at start.
                log.warning("the %s section changed; restart gridpilot run to apply it",
                            " and ".join(fixed))
            self.metrics.policy_reloads += 1
            log.info("policy reloaded from %s (changed: %s)", self.watcher.path,
                     ", ".join(changed))
            self.audit.write("policy_reloaded", now, path=str(self.watcher.path), changed=changed)
        else:
            self.metrics.error("policy_invalid")
            log.error("the edited policy is invalid (changed: %s); keeping the running one:\n%s",
                      ", ".join(changed), result.error)
            self.audit.write("policy_invalid", now, path=str(self.watcher.path),
                             error=result.error, issues=list(result.issues), changed=changed)

    # -- the loop ----------------------------------------------------------------------------
    async def run(self, *, once: bool = False, max_ticks: int | None = None) -> ExitCode:
        """Tick until stopped; returns the process exit code."""
        installed = self._install_signals()
        # The zone and the clock's speed let `gridpilot log` show times as the run saw them.
        self.audit.write("started", self.clock.now(), interval_s=self.interval_s,
                         dry_run=self.dry_run, policy=str(getattr(self.policy, "path", "")),
                         timezone=str(getattr(self.policy, "tz", "UTC")),
                         clock_speed=float(getattr(self.clock, "speed", 1.0)))
        self._audit_start_warnings()
        try:
            while True:
                report = await self.tick()
                done = max_ticks is not None and self.tick_count >= max_ticks
                if once or self.stopping or done:
                    break
                due = next_tick_at(report.time, self.interval_s)
                now = self.clock.now()
                if now >= due:
                    self._note_skipped(due, now, f"tick {report.tick} took longer than the "
                                       f"{self.interval_s:g} s interval")
                target = await self._wait_next()
                if self.stopping:
                    break
                now = self.clock.now()
                if target is not None and (now - target).total_seconds() >= self.interval_s:
                    # Woken far past the slot slept for: the process was stopped or the
                    # machine slept. The tick now covers the current slot, not the missed ones.
                    self._note_skipped(target, now - timedelta(seconds=self.interval_s),
                                       "gridpilot did not run (the machine slept, or the "
                                       "process was paused)")
        finally:
            await self.shutdown()
            for sig in installed:
                with contextlib.suppress(Exception):
                    asyncio.get_running_loop().remove_signal_handler(sig)
        return ExitCode.OK

    def _note_skipped(self, first: datetime, until: datetime, why: str) -> None:
        """Audit the aligned slots from ``first`` up to ``until`` (inclusive) that got no tick."""
        slots = math.floor((until - first).total_seconds() / self.interval_s + 1e-9) + 1
        last = first + timedelta(seconds=(slots - 1) * self.interval_s)
        tz = getattr(self.policy, "tz", None)
        log.warning("%d tick slot(s) from %s to %s skipped: %s", slots, format_time(first, tz),
                    format_time(last, tz), why)
        self.audit.write("ticks_skipped", self.clock.now(), slots=slots, first=first.isoformat(),
                         last=last.isoformat(), interval_s=self.interval_s, reason=why)

    async def _wait_next(self) -> datetime | None:
        """Sleep until the next aligned slot; returns it, or ``None`` when woken early."""
        now = self.clock.now()
        target = next_tick_at(now, self.interval_s)
        delay_s = (target - now).total_seconds()
        self._wake.clear()
        sleeper = asyncio.ensure_future(self.clock.sleep(delay_s))
        stopper = asyncio.ensure_future(self._stop.wait())
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, stopper, waker}, return_when=asyncio.FIRST_COMPLETED)
            slept = sleeper.done() and not sleeper.cancelled()
        finally:
            for task in (sleeper, stopper, waker):
                task.cancel()
            await asyncio.gather(sleeper, stopper, waker, return_exceptions=True)
        return target if slept else None

    async def shutdown(self) -> None:
        now = self.clock.now()
        run = self.policy.doc.run
        if run.release_on_exit and not self.dry_run:
            await self.dispatcher.release(now)
        self._save_memory()
        self.audit.write("stopped", now, ticks=self.tick_count)
        self.audit.close()
        if self.prices is not None:
            self.prices.close()
        if self.forecasts is not None:
            self.forecasts.close()
        with contextlib.suppress(Exception):
            await self.device.aclose()

    def _install_signals(self) -> list[int]:
        loop = asyncio.get_running_loop()
        installed: list[int] = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self.request_stop)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        return installed


def _fresh(snapshot: Snapshot, max_age_s: float) -> bool:
    age_s = snapshot.state_age_s()
    return age_s is not None and age_s <= max_age_s
