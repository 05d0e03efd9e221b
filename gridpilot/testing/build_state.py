"""Turning a case's partial description into the engine's inputs: the site state (through the
builder ``gridpilot decide`` uses too), the known prices and the manual overrides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

import numpy as np

from gridpilot.engine.commands import Command
from gridpilot.engine.partial_state import Readings, build_site_state, forecast_array
from gridpilot.engine.program import CompiledOverride
from gridpilot.engine.state import PriceOutlook, SiteState
from gridpilot.rules.policy import Policy
from gridpilot.rules.scenario import ScenarioCase
from gridpilot.rules.scenario_state import ActiveCommandSpec, OverrideSpec, PricesSpec, StateSpec
from gridpilot.rules.scenario_times import resolve_time
from gridpilot.rules.schema_rules import Action
from gridpilot.timeutil import parse_duration_s

__all__ = [
    "PriceSource",
    "active_from_spec",
    "build_overrides",
    "build_state",
    "price_source",
]

DEFAULT_ACTIVE_FOR_S = 86_400.0
DEFAULT_OVERRIDE_S = 3600.0
MAX_PRICE_SLOTS = 10_000

PriceSource = Callable[[datetime], tuple[PriceOutlook, int]]
"""``t -> (prices known at t, index of t's slot in the case's own price list)``."""


@dataclass(frozen=True, slots=True)
class _FixedPrices:
    start_s: int
    slot_s: int
    import_per_kwh: np.ndarray
    export_per_kwh: np.ndarray

    def __call__(self, t: datetime) -> tuple[PriceOutlook, int]:
        n = len(self.import_per_kwh)
        first = int((int(t.timestamp()) - self.start_s) // self.slot_s)
        if first < 0 or first >= n:
            return PriceOutlook.empty(), 0
        starts = self.start_s + self.slot_s * np.arange(first, n, dtype=np.int64)
        outlook = PriceOutlook(
            start_s=starts,
            end_s=self.start_s + self.slot_s * n,
            import_per_kwh=self.import_per_kwh[first:].copy(),
            export_per_kwh=self.export_per_kwh[first:].copy(),
        )
        return outlook, first


def _fixed_prices(spec: PricesSpec, at: datetime, tz: tzinfo) -> _FixedPrices:
    slot_s = int(parse_duration_s(spec.slot))
    if spec.start is not None:
        start_s = int(resolve_time(spec.start, tz, after=at).timestamp())
    else:
        start_s = int(at.timestamp()) // slot_s * slot_s
    if isinstance(spec.import_, list):
        imports = np.asarray(spec.import_, dtype=np.float64)
    else:
        n = max(1, int(spec.hours * 3600 // slot_s))
        imports = np.full(n, float(spec.import_), dtype=np.float64)
    if len(imports) > MAX_PRICE_SLOTS:
        raise ValueError(f"prices: at most {MAX_PRICE_SLOTS} slots")
    if isinstance(spec.export, list):
        exports = np.asarray(spec.export, dtype=np.float64)
    else:
        exports = np.full(len(imports), float(spec.export), dtype=np.float64)
    if len(exports) != len(imports):
        raise ValueError(
            f"prices: 'export' has {len(exports)} slots but 'import' has {len(imports)}"
        )
    return _FixedPrices(start_s, slot_s, imports, exports)


def price_source(policy: Policy, case: ScenarioCase, at: datetime) -> PriceSource:
    """The case's own prices, or what the policy's tariff had published at each tick."""
    if case.prices is not None:
        return _fixed_prices(case.prices, at, policy.tz)

    def from_tariff(t: datetime) -> tuple[PriceOutlook, int]:
        return policy.tariff.outlook(t), 0

    return from_tariff


def active_from_spec(
    spec: ActiveCommandSpec | None, at: datetime, tz: tzinfo
) -> tuple[Command | None, datetime | None]:
    if spec is None:
        return None, None
    command = spec.command()
    if spec.since is not None:
        since = resolve_time(spec.since, tz)
        if since > at:
            raise ValueError("state.active_command.since is after 'at'")
    else:
        duration_s = (
            DEFAULT_ACTIVE_FOR_S if spec.for_ is None else parse_duration_s(spec.for_)
        )
        since = at - timedelta(seconds=duration_s)
    return command, since


def _forecast(
    spec: StateSpec, outlook: PriceOutlook, offset: int, has_own_prices: bool
) -> np.ndarray | None:
    value = spec.forecast_net_load_w
    if isinstance(value, list) and not has_own_prices:
        raise ValueError(
            "state.forecast_net_load_w as a list needs the case's own 'prices' to align with; "
            "give a single number to use a flat forecast"
        )
    try:
        return forecast_array(value, len(outlook), offset)
    except ValueError as exc:
        raise ValueError(f"state.{exc}") from None


def build_state(
    case: ScenarioCase,
    t: datetime,
    *,
    prices: PriceSource,
    soc_pct: float,
    load_w: float,
    pv_w: float,
    battery_w: float,
    grid_w: float | None,
    active: Command | None,
    active_since: datetime | None,
    month_peak_import_w: float,
    active_layer: str | None = None,
) -> SiteState:
    """The case's state at tick ``t``, with the readings a sequence has moved on to."""
    spec = case.state
    outlook, offset = prices(t)
    readings = Readings(
        soc_pct=soc_pct,
        load_w=load_w,
        pv_w=pv_w,
        battery_w=battery_w,
        grid_w=grid_w,
        month_peak_import_w=month_peak_import_w,
    )
    return build_site_state(
        spec,
        t,
        outlook,
        readings=readings,
        forecast_net_load_w=_forecast(spec, outlook, offset, case.prices is not None),
        active_command=active,
        active_since=active_since,
        active_layer=active_layer,
        ages=spec.ages.reading_ages(),
    )


def build_overrides(
    specs: list[OverrideSpec], at: datetime, tz: tzinfo
) -> tuple[CompiledOverride, ...]:
    out = []
    for spec in specs:
        start = at if spec.start is None else resolve_time(spec.start, tz, after=at)
        if spec.until is not None:
            until = resolve_time(spec.until, tz, after=start)
        else:
            duration_s = DEFAULT_OVERRIDE_S if spec.for_ is None else parse_duration_s(spec.for_)
            until = start + timedelta(seconds=duration_s)
        if until <= start:
            raise ValueError(f"override {spec.name!r}: 'until' must be after 'start'")
        out.append(
            CompiledOverride(
                name=spec.name,
                action=Action.model_validate(spec.action),
                start_s=start.timestamp(),
                until_s=until.timestamp(),
                force=spec.force,
            )
        )
    return tuple(out)
