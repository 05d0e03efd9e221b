"""Joins a running scheduler to its ``mqtt:`` section: after every tick its values go out, and
the override controls act on the scheduler's override store."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from gridpilot import __version__
from gridpilot.mqtt.controls import OverrideControls
from gridpilot.mqtt.discovery import DiscoveryContext, discovery_messages
from gridpilot.mqtt.publisher import MqttPublisher
from gridpilot.mqtt.settings import resolve_settings
from gridpilot.mqtt.values import TickFacts, tick_values
from gridpilot.scheduler.loop import Scheduler
from gridpilot.scheduler.plan_ahead import PlanSlot
from gridpilot.scheduler.status_view import StatusView
from gridpilot.scheduler.tick import TickReport
from gridpilot.timefmt import format_time

__all__ = ["ERROR_OUTCOMES", "attach_mqtt", "plan_attributes"]

log = logging.getLogger("gridpilot.mqtt")

ERROR_OUTCOMES = frozenset({"failed", "invalid", "unconfirmed", "mode_unknown"})
"""Dispatch outcomes that are an error worth showing as the last error."""

PlanFn = Callable[[], Sequence[Mapping[str, Any]]]
CostFn = Callable[[], Mapping[str, Any]]

PLAN_HOURS = 24.0
"""The plan published as attributes: a day of slots stays under Home Assistant's 16 KB limit
on the attributes it records."""


def plan_attributes(slots: Sequence[PlanSlot]) -> list[dict[str, Any]]:
    """The slots as compact attributes: what a dashboard chart needs, units in the names."""
    return [{"start": p.start.isoformat(), "battery_w": round(p.battery_w),
             "soc_pct": round(p.soc_pct, 1), "import_per_kwh": p.import_per_kwh,
             "kind": p.kind} for p in slots]


class _LastError:
    """The most recent error of the run, kept until another one replaces it."""

    def __init__(self) -> None:
        self.text: str | None = None

    def note(self, report: TickReport, tz: Any) -> str | None:
        why = None
        if report.status in ("error", "failsafe", "no_state") and report.message:
            why = report.message
        elif report.outcome is not None and report.outcome.status in ERROR_OUTCOMES:
            why = f"{report.outcome.status}: {report.outcome.detail}"
        if why:
            self.text = f"{format_time(report.time, tz)}: {why}"
        return self.text


T = TypeVar("T")


def _quietly(fn: Callable[[], T], what: str) -> T | None:
    """``fn()``, or ``None`` (published as unknown) when it fails: the other values still go."""
    try:
        return fn()
    except Exception:
        log.exception("MQTT: computing the %s failed", what)
        return None


def attach_mqtt(scheduler: Scheduler, *, plan: PlanFn | None = None,
                cost: CostFn | None = None) -> MqttPublisher | None:
    """Start publishing ``scheduler``'s ticks to the policy's broker (``None``: no ``mqtt:``).

    ``plan`` and ``cost`` give the plan ahead and today's cost (default: the status API's,
    from a :class:`StatusView` of ``scheduler``).
    Returns at once: the connection is made (and remade) in the background.
    """
    policy = scheduler.policy
    spec = policy.doc.mqtt
    if spec is None:
        return None
    path = getattr(policy, "path", None)
    settings = resolve_settings(spec, policy.doc.site.name,
                                path.parent if path is not None else None)
    limits = policy.limits
    max_power_w = max(limits.max_charge_w, limits.max_discharge_w)
    controls = OverrideControls(
        scheduler.overrides, scheduler.audit, scheduler.clock, for_s=spec.override_for_s,
        power_w=min(spec.override_power_w or max_power_w, max_power_w), max_power_w=max_power_w,
        broker_user=spec.username, on_change=scheduler.wake)
    discovery = [] if settings.discovery_prefix is None else list(discovery_messages(
        DiscoveryContext(base_topic=settings.base_topic, prefix=settings.discovery_prefix,
                         node=settings.node, site_name=policy.doc.site.name,
                         currency=policy.doc.tariff.currency, max_power_w=max_power_w,
                         version=__version__)))
    publisher = MqttPublisher(settings, discovery=discovery, controls=controls)
    if plan is None or cost is None:
        view = StatusView(scheduler)
        plan = plan or (lambda: plan_attributes(view.plan(PLAN_HOURS)))
        cost = cost or view.cost
    last_error = _LastError()
    previous = scheduler.on_tick

    def on_tick(report: TickReport) -> None:
        if previous is not None:
            previous(report)
        state = scheduler.last_state
        facts = TickFacts(
            time=report.time, status=report.status, snapshot=report.snapshot,
            decision=report.decision,
            prices=state.prices if state is not None and report.status == "ok" else None,
            failsafe=scheduler.failsafe_active, last_error=last_error.note(report, policy.tz),
            plan=_quietly(plan, "plan"), cost=_quietly(cost, "cost"),
            extra=controls.states())
        publisher.publish(tick_values(facts))

    scheduler.on_tick = on_tick
    publisher.start()
    return publisher
