"""The tick loop of ``gridpilot run``: it coordinates, the modules beside it do the work.

Every tick, aligned to the clock's wall time: notice policy edits (:mod:`.reload`), read the
device's state with a timeout (:mod:`.reading`), call ``decide()``, hand the command to the
dispatcher (:mod:`.dispatcher`) and write one audit record; the memory of what was sent is kept
across restarts (:mod:`.persist`). An exception inside a tick is logged and audited with its
context; the next tick comes as usual.

Fail-safe (:mod:`.failsafe`): when the last fresh state is older than ``run.max_state_age_s`` (or
there never was one), the configured safe action is sent once; after that nothing is commanded
until fresh data returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time as _time
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gridpilot.clock import Clock
from gridpilot.devices.base import DeviceAdapter
from gridpilot.engine.commands import Command
from gridpilot.engine.decide import decide
from gridpilot.engine.decision import Decision
from gridpilot.engine.program import CompiledOverride
from gridpilot.engine.state import DeviceMode, PriceOutlook, SiteState
from gridpilot.errors import GridpilotError
from gridpilot.exitcodes import ExitCode
from gridpilot.forecasts.providers import ForecastProvider, forecast_load_w
from gridpilot.rules.policy import Policy
from gridpilot.scheduler.audit import AuditLog, decision_summary
from gridpilot.scheduler.device import Snapshot
from gridpilot.scheduler.dispatcher import Dispatcher, DispatchOutcome
from gridpilot.scheduler.failsafe import FailSafe
from gridpilot.scheduler.forecasts import ForecastKeeper
from gridpilot.scheduler.health import health_report
from gridpilot.scheduler.metrics import Metrics
from gridpilot.scheduler.overrides import OverrideStore
from gridpilot.scheduler.pacing import skipped_slots, wait_next_slot
from gridpilot.scheduler.persist import MemoryFile, RunMemory, ensure_state_dir
from gridpilot.scheduler.person import PersonModeWatch
from gridpilot.scheduler.prices import PriceRefresher
from gridpilot.scheduler.reading import is_fresh, read_snapshot
from gridpilot.scheduler.reload import PolicyWatcher, apply_reload
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

__all__ = ["DecideFn", "Scheduler"]

log = logging.getLogger("gridpilot.scheduler")

DecideFn = Callable[[Policy, SiteState, Sequence[CompiledOverride]], Decision]


class Scheduler:
    """Runs ticks against one device until stopped.

    Args:
        policy: the compiled policy (``load_site_policy``); replaced atomically on a valid edit.
        device: the adapter (``gridpilot.scheduler.site_device.device_for_policy``).
        clock: the only source of time.
        state_dir: audit log, overrides and memory.
        decide_fn / policy_loader: injected for tests; default to the engine's.
        forecast: the load/PV forecast fed every fresh tick (default: the policy's).
        watch_policy: reload the policy when ``policy.path`` or a file it read
            (``policy.inputs``: price files...) changes.
        device_inputs: the files the device adapter read when it was built (the simulated
            battery's data...): a change to one is reported as needing a restart.
        prices: keeps live provider prices in the tariff (default: one with a verified-TLS
            client, made when the policy names a provider).
    """

    def __init__(
        self,
        policy: Policy,
        device: DeviceAdapter,
        *,
        clock: Clock,
        state_dir: Path,
        dry_run: bool = False,
        interval_s: float | None = None,
        decide_fn: DecideFn | None = None,
        policy_loader: Callable[[Path], Policy] | None = None,
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
        self.decide_fn: DecideFn = decide_fn or decide
        self.on_tick = on_tick
        self.forecast: ForecastProvider | None = forecast or policy.new_forecast()
        self.metrics = Metrics()
        dir_warning = ensure_state_dir(self.state_dir)
        self.audit = AuditLog(self.state_dir, max_bytes=run.audit_max_bytes, keep=run.audit_keep)
        self.overrides = OverrideStore(self.state_dir)
        self.memory_file = MemoryFile(self.state_dir)
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
        self.failsafe = FailSafe(self.audit, self.dispatcher)
        self.person = PersonModeWatch(self.audit, self.memory)
        self.watcher = (
            PolicyWatcher(policy.path, policy_loader or load_site_policy,
                          inputs=policy.inputs, restart_inputs=device_inputs)
            if watch_policy and policy.path is not None
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
        # What the status API and the dashboard show: the last tick and the state it decided on.
        self.last_report: TickReport | None = None
        self.last_state: SiteState | None = None
        self.last_fresh: datetime | None = None
        self.last_mode: DeviceMode | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self.started = self.clock.now()
        self._start_warnings = _start_warnings(dir_warning, run.read_timeout_s, self.interval_s)
        for problem in (self.memory_file.load_error, self.overrides.load_error):
            if problem:
                log.warning("%s", problem)
                self.audit.write("error", self.started, error_kind="state_file", error=problem)
        for _setting, text in self._start_warnings:
            log.warning("%s", text)

    @property
    def memory(self) -> RunMemory:
        return self.memory_file.memory

    @property
    def failsafe_active(self) -> bool:
        return self.failsafe.active

    @property
    def person_mode(self) -> bool:
        return self.person.active

    def _audit_start_warnings(self) -> None:
        """Said in the log at once; audited right after the "started" record (or the first
        tick), so the audit log reads in order."""
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
        return health_report(self.metrics, self.clock.now(), ticks=self.tick_count,
                             interval_s=self.interval_s, failsafe=self.failsafe.active,
                             person_mode=self.person.active, dry_run=self.dry_run)

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
            report = self._tick_failed(n, now, exc)
        self.last_report = report
        self.metrics.tick_done(now, _time.perf_counter() - started,
                               failsafe=self.failsafe.active, person_mode=self.person.active)
        if self.on_tick is not None:
            try:
                self.on_tick(report)
            except Exception:
                log.exception("printing tick %d failed", n)
        return report

    def _base_dir(self) -> Path:
        path = getattr(self.policy, "path", None)
        return Path(path).parent if path is not None else Path.cwd()

    def _tick_failed(self, n: int, now: datetime, exc: Exception) -> TickReport:
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        context = f"{where.filename}:{where.lineno} in {where.name}" if where else ""
        # gridpilot's own errors say what is wrong; a traceback is for the unexpected.
        log.error("tick %d at %s failed: %s", n, now.isoformat(), exc,
                  exc_info=not isinstance(exc, GridpilotError))
        self.metrics.error(type(exc).__name__)
        self.audit.write("tick", now, tick=n, status="error", error_kind=type(exc).__name__,
                         error=str(exc), where=context)
        return TickReport(n, now, "error", message=f"{type(exc).__name__}: {exc}")

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
        snapshot, read_error = await read_snapshot(
            self.device, timeout_s=run.read_timeout_s, now=now, tick=n, audit=self.audit,
            metrics=self.metrics)
        if snapshot is not None:
            snapshot = recognise_own_mode(snapshot, self.memory)
            self.last_mode = snapshot.device_mode
            self.metrics.soc_pct = snapshot.soc_pct
        fresh = is_fresh(snapshot, run.max_state_age_s)
        if fresh:
            self.last_fresh = now
            self.failsafe.clear(now, n)
        age_s = None if self.last_fresh is None else (now - self.last_fresh).total_seconds()
        self.metrics.state_seen(age_s, self.last_fresh)
        if not fresh:
            why = stale_reason(snapshot, read_error)
            if age_s is not None and age_s <= run.max_state_age_s:
                self.audit.write("tick", now, tick=n, status="no_state", error=why,
                                 state_age_s=age_s,
                                 state=None if snapshot is None else snapshot.as_dict())
                return TickReport(n, now, "no_state", snapshot, message=why)
            return await self._failsafe(n, now, snapshot, why, age_s)

        assert snapshot is not None
        self.person.track(snapshot.device_mode, now, n)
        overrides = [o.compiled() for o in self.overrides.active(now)]
        state = self._site_state(policy, snapshot, now, n)
        self.last_state = state
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
        self.memory_file.save()
        return TickReport(n, now, "ok", snapshot, decision, outcome)

    async def _failsafe(
        self, n: int, now: datetime, snapshot: Snapshot | None, why: str, age_s: float | None
    ) -> TickReport:
        self.failsafe.enter(now, n, why, age_s)
        outcome: DispatchOutcome | None = None
        if not self.failsafe.sent:
            mode = snapshot.device_mode if snapshot is not None else self.last_mode
            self.person.track(mode, now, n)
            outcome = await self.failsafe.send(self.safe_command(), self.policy.limits, mode,
                                               now, n)
        self.audit.write(
            "tick", now, tick=n, status="failsafe", error=why, state_age_s=age_s,
            state=None if snapshot is None else snapshot.as_dict(),
            dispatch=None if outcome is None else {"status": outcome.status,
                                                   "detail": outcome.detail},
        )
        self.memory_file.save()
        return TickReport(n, now, "failsafe", snapshot, outcome=outcome, message=why)

    def safe_command(self) -> Command:
        """``run.safe_action`` as a command, above any always-on backup reserve."""
        return command_with_reserve(self.policy.doc.run.safe_action, self.policy)

    def _site_state(self, policy: Policy, snap: Snapshot, now: datetime, n: int) -> SiteState:
        note_month_peak(self.memory, now.astimezone(policy.tz).strftime("%Y-%m"), snap.grid_w)
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
            # A metered controllable load (EV charger, heat pump) is not learnt as house load.
            load_w = forecast_load_w(snap.load_w, snap.controllable_load_w)
            forecast = self.forecasts.predict(now, load_w, snap.pv_w, prices.start_s)
        return build_site_state(snap, now, self.memory, prices, forecast)

    async def _check_reload(self, now: datetime) -> None:
        if self.watcher is None:
            return
        result = await self.watcher.check()
        if result is not None:
            self.policy = apply_reload(result, self.policy, self.watcher.path, now,
                                       audit=self.audit, metrics=self.metrics)

    # -- the loop ----------------------------------------------------------------------------
    async def run(self, *, once: bool = False, max_ticks: int | None = None) -> ExitCode:
        """Tick until stopped; returns the process exit code."""
        installed = self._install_signals()
        # The zone and the clock's speed let `gridpilot log` show times as the run saw them.
        self.audit.write("started", self.clock.now(), interval_s=self.interval_s,
                         dry_run=self.dry_run, policy=str(self.policy.path or ""),
                         timezone=str(self.policy.tz),
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
                target = await wait_next_slot(self.clock, self.interval_s, self._stop,
                                              self._wake)
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
        slots, last = skipped_slots(first, until, self.interval_s)
        tz = self.policy.tz
        log.warning("%d tick slot(s) from %s to %s skipped: %s", slots, format_time(first, tz),
                    format_time(last, tz), why)
        self.audit.write("ticks_skipped", self.clock.now(), slots=slots, first=first.isoformat(),
                         last=last.isoformat(), interval_s=self.interval_s, reason=why)

    async def shutdown(self) -> None:
        now = self.clock.now()
        if self.policy.doc.run.release_on_exit and not self.dry_run:
            await self.dispatcher.release(now)
        self.memory_file.save()
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


def _start_warnings(dir_warning: str | None, read_timeout_s: float,
                    interval_s: float) -> list[tuple[str, str]]:
    """``(setting, warning)`` for what the run's set-up gets wrong without being fatal."""
    warnings: list[tuple[str, str]] = []
    if dir_warning:
        warnings.append(("state_dir", dir_warning))
    if read_timeout_s >= interval_s:
        warnings.append((
            "run.read_timeout_s",
            f"run.read_timeout_s ({read_timeout_s:g} s) is not shorter than the tick interval "
            f"({interval_s:g} s): a device that stops answering makes ticks miss their slots; "
            "set run.read_timeout_s below the interval",
        ))
    return warnings
