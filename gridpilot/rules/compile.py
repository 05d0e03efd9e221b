"""Turn a validated :class:`PolicyDoc` into the runtime :class:`Policy`.

Compiling runs the cross-field checks, loads the price files, builds windows, strategy instances
and the forecast provider, and collects every problem it finds into one :class:`PolicyError`.
The plugin registries it builds from are a parameter; the device section is kept as written,
for the device floor to validate and build (see :mod:`gridpilot.devices.registry`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from gridpilot.calendar.spec import CalendarSpec
from gridpilot.calendar.window import Window
from gridpilot.engine.battery import BatteryParams
from gridpilot.engine.guards import GuardLimit
from gridpilot.engine.program import CompiledOverride, CompiledRule, Layer, Tuning
from gridpilot.engine.proposal import Strategy
from gridpilot.errors import Issue, PluginError, PolicyError, StrategyError
from gridpilot.forecasts.registry import FORECASTS, ForecastFactory, ForecastKind, forecast_factory
from gridpilot.prices.base import PriceProviderKind
from gridpilot.prices.registry import PRICE_PROVIDERS
from gridpilot.registry import Registry
from gridpilot.rules.checks import check_policy
from gridpilot.rules.policy import Policy
from gridpilot.rules.prices import PriceFileError
from gridpilot.rules.schema import (
    BatterySpec,
    ExportCapGuard,
    Guard,
    ImportCapGuard,
    PolicyDoc,
    PowerCapGuard,
    PriceSchedule,
    ReserveGuard,
    SocCeilingGuard,
)
from gridpilot.rules.tariff import PriceSide, Tariff, find_gap
from gridpilot.rules.tariff_live import compile_composition, compile_providers
from gridpilot.rules.validation import issues_from_validation_error, suggest
from gridpilot.rules.yamlsource import NodePath, SourceMap
from gridpilot.strategies.registry import STRATEGIES, create_strategy

__all__ = ["DEFAULT_PLUGINS", "Plugins", "compile_policy"]


@dataclass(frozen=True, slots=True)
class Plugins:
    """The registries a policy's plugin types are looked up in."""

    strategies: Registry[type[Any]] = STRATEGIES
    forecasts: Registry[ForecastKind] = FORECASTS
    prices: Registry[PriceProviderKind] = PRICE_PROVIDERS


DEFAULT_PLUGINS = Plugins()


def compile_policy(
    doc: PolicyDoc,
    smap: SourceMap,
    data: Mapping[str, Any],
    path: Path | None,
    plugins: Plugins = DEFAULT_PLUGINS,
) -> Policy:
    """Compile ``doc`` (validated from ``data``, read from ``path``) with the plugin types of
    ``plugins``. Raises :class:`PolicyError` listing every problem found."""
    issues: list[Issue] = check_policy(doc, smap, data)
    tz = ZoneInfo(doc.site.timezone)
    base_dir = path.parent if path is not None else Path.cwd()
    tariff = _tariff(doc, data, tz, base_dir, smap, issues, plugins.prices)
    strategies = _strategies(doc, data, plugins.strategies, smap, issues)
    forecast = _forecast(doc, data, tz, base_dir, plugins.forecasts, smap, issues)

    rules: list[CompiledRule] = []
    for i, rule in enumerate(doc.rules):
        strategy = _rule_strategy(rule.strategy, ("rules", i, "strategy"), strategies,
                                  doc.strategies, plugins.strategies, smap, issues)
        if not rule.enabled:
            continue
        rules.append(CompiledRule(
            name=rule.name,
            layer=rule.layer,
            index=i,
            window=Window.from_spec(rule.when, tz),
            action=rule.action,
            strategy=strategy,
            force=rule.force,
        ))
    default = CompiledRule(
        name="default",
        layer=Layer.DEFAULT,
        index=-1,
        window=None,
        action=doc.default.action,
        strategy=_rule_strategy(doc.default.strategy, ("default", "strategy"), strategies,
                                doc.strategies, plugins.strategies, smap, issues),
    )
    guards = tuple(_guard(i, guard, tz) for i, guard in enumerate(doc.guards))
    overrides = _overrides(doc, tz, smap, issues)
    if issues:
        raise PolicyError(issues)
    # Built once the checks passed: the battery refuses contradictory facts by raising.
    battery = _battery(doc.site.battery)
    control = doc.control
    return Policy(
        doc=doc,
        source=smap,
        path=path,
        tz=tz,
        battery=battery,
        limits=battery.limits(doc.site.grid.max_import_w, doc.site.grid.max_export_w),
        tuning=Tuning(
            min_dwell_s=control.min_dwell_s,
            hysteresis_w=control.hysteresis_w,
            hysteresis_pct=control.hysteresis_pct,
            demand_charge_per_kw=doc.tariff.demand_charge_per_kw,
        ),
        tariff=tariff,
        rules=tuple(rules),
        guards=guards,
        default=default,
        overrides=overrides,
        strategies=strategies,
        forecast_factory=forecast,
    )


def _tariff(doc: PolicyDoc, data: Mapping[str, Any], tz: ZoneInfo, base_dir: Path,
            smap: SourceMap, issues: list[Issue],
            registry: Registry[PriceProviderKind]) -> Tariff:
    sides: dict[str, PriceSide] = {}
    spec = doc.tariff
    raw_tariff = data.get("tariff", {}) if isinstance(data, Mapping) else {}
    for key, schedule in (("import", spec.import_), ("export", spec.export)):
        path: NodePath = ("tariff", key)
        raw = raw_tariff.get(key, {}) if isinstance(raw_tariff, Mapping) else {}
        live = compile_providers(schedule, raw if isinstance(raw, Mapping) else {}, path, tz,
                                 base_dir, spec.currency, registry, smap, issues)
        if not live:
            _check_gap(schedule, path, smap, issues)
        composition = compile_composition(schedule)
        try:
            sides[key] = PriceSide.from_spec(schedule, tz, base_dir, live, composition,
                                             spec.currency)
        except PriceFileError as exc:
            issues.append(smap.issue(
                (*path, "dynamic", "file"), str(exc),
                "fix the price file, or check 'format', 'column' and 'timestamp_column'",
            ))
            sides[key] = PriceSide(tz, schedule.default, ())
    return Tariff(
        tz,
        sides["import"],
        sides["export"],
        currency=spec.currency,
        standing_charge_per_day=spec.standing_charge_per_day,
        demand_charge_per_kw=spec.demand_charge_per_kw,
    )


def _check_gap(schedule: PriceSchedule, path: NodePath, smap: SourceMap,
               issues: list[Issue]) -> None:
    if schedule.default is not None:
        return
    cals = [CalendarSpec.parse(p.time, p.days, p.months, p.dates) for p in schedule.periods]
    gap = find_gap(cals)
    if gap is None:
        return
    where = "gaps or ends of the dynamic series" if schedule.dynamic is not None else "gaps"
    issues.append(smap.issue(
        path,
        f"no price for {gap.describe()} (and possibly more): no period covers it and there is "
        f"no 'default'",
        f"add 'default: <price>' (it also fills the {where}), or a period that covers it",
    ))


def _strategies(doc: PolicyDoc, data: Mapping[str, Any], registry: Registry[type[Any]],
                smap: SourceMap, issues: list[Issue]) -> dict[str, Strategy]:
    out: dict[str, Strategy] = {}
    raw = data.get("strategies", {}) if isinstance(data, Mapping) else {}
    for name, config in doc.strategies.items():
        path: NodePath = ("strategies", name)
        try:
            out[name] = create_strategy(name, config, registry)
        except StrategyError as exc:
            where = (*path, "type") if "type" in config else path
            issues.append(smap.issue(where, str(exc)))
        except ValidationError as exc:
            issues.extend(issues_from_validation_error(
                exc, smap, raw.get(name, config), _settings_model(registry, config, name), path
            ))
    return out


def _settings_model(registry: Registry[type[Any]], config: Mapping[str, Any],
                    name: str) -> type[BaseModel] | None:
    """The settings model of the strategy type ``config`` names (for "did you mean")."""
    try:
        return registry.settings_model(str(config.get("type", name)))
    except PluginError:
        return None


def _rule_strategy(name: str | None, path: NodePath, strategies: dict[str, Strategy],
                   doc_entries: Mapping[str, Any], registry: Registry[type[Any]],
                   smap: SourceMap, issues: list[Issue]) -> Strategy | None:
    if name is None:
        return None
    if name in strategies:
        return strategies[name]
    if name in doc_entries:
        return None  # the entry itself failed and is reported at strategies.<name>
    types = registry.names()
    if name in types:
        try:
            strategies[name] = create_strategy(name, {}, registry)
        except (StrategyError, ValidationError) as exc:
            issues.append(smap.issue(path, f"strategy {name!r} cannot run with its defaults: "
                                     f"{exc}", f"configure it under strategies.{name}"))
            return None
        return strategies[name]
    known = sorted({*strategies, *types})
    hint = suggest(name, known)
    valid = ", ".join(known) if known else "none are installed"
    issues.append(smap.issue(
        path,
        f"unknown strategy {name!r}: it is neither an entry under 'strategies' nor a strategy "
        f"type (valid: {valid})",
        hint,
    ))
    return None


def _forecast(doc: PolicyDoc, data: Mapping[str, Any], tz: ZoneInfo, base_dir: Path,
              registry: Registry[ForecastKind], smap: SourceMap,
              issues: list[Issue]) -> ForecastFactory | None:
    ftype = doc.forecast.type
    raw = data.get("forecast", {}) if isinstance(data, Mapping) else {}
    settings = {k: v for k, v in raw.items() if k != "type"} if isinstance(raw, Mapping) else {}
    try:
        kind = registry.get(ftype)
    except PluginError as exc:
        issues.append(smap.issue(("forecast", "type"), str(exc), exc.hint))
        return None
    try:
        return forecast_factory(kind, settings, tz, base_dir)
    except ValidationError as exc:
        issues.extend(issues_from_validation_error(
            exc, smap, settings, kind.Settings, ("forecast",)))
    return None


def _battery(spec: BatterySpec) -> BatteryParams:
    return BatteryParams(
        capacity_kwh=spec.capacity_kwh,
        max_charge_w=spec.max_charge_w,
        max_discharge_w=spec.max_discharge_w,
        charge_efficiency=spec.charge_efficiency,
        discharge_efficiency=spec.discharge_efficiency,
        min_soc_pct=spec.min_soc_pct,
        max_soc_pct=spec.max_soc_pct,
        cycle_cost_per_kwh=spec.cycle_cost_per_kwh,
    )


def _guard(i: int, guard: Guard, tz: ZoneInfo) -> GuardLimit:
    common: dict[str, Any] = {
        "name": guard.name or f"{guard.kind}[{i}]",
        "kind": guard.kind,
        "priority": i,
        "window": Window.from_spec(guard.when, tz),
    }
    if isinstance(guard, ReserveGuard):
        return GuardLimit(**common, min_soc_pct=guard.min_soc_pct)
    if isinstance(guard, ImportCapGuard):
        return GuardLimit(**common, max_import_w=guard.max_import_w)
    if isinstance(guard, ExportCapGuard):
        return GuardLimit(**common, max_export_w=guard.max_export_w)
    if isinstance(guard, PowerCapGuard):
        return GuardLimit(
            **common, max_charge_w=guard.max_charge_w, max_discharge_w=guard.max_discharge_w
        )
    assert isinstance(guard, SocCeilingGuard)
    return GuardLimit(**common, max_soc_pct=guard.max_soc_pct)


def _local(t: datetime, tz: ZoneInfo) -> datetime:
    return t.replace(tzinfo=tz) if t.tzinfo is None else t


def _overrides(doc: PolicyDoc, tz: ZoneInfo, smap: SourceMap,
               issues: list[Issue]) -> tuple[CompiledOverride, ...]:
    out: list[CompiledOverride] = []
    for i, o in enumerate(doc.manual):
        start, until = _local(o.start, tz), _local(o.until, tz)
        if until <= start:
            issues.append(smap.issue(("manual", i, "until"), "'until' must be after 'start'",
                                     "times without an offset are read in the site's timezone"))
            continue
        out.append(CompiledOverride(o.name, o.action, start.timestamp(), until.timestamp(),
                                    o.force))
    return tuple(out)
