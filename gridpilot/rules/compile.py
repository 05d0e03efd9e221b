"""Turn a validated :class:`PolicyDoc` into the runtime :class:`Policy`.

Compiling runs the cross-field checks, loads the price files, builds windows, strategy instances
and the device settings, and collects every problem it finds into one :class:`PolicyError`.
The strategy and device registries are imported here, lazily, so the schema stays importable on
its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from gridpilot.engine.commands import DeviceLimits
from gridpilot.errors import Issue, PolicyError, StrategyError
from gridpilot.rules.calendar import CalendarSpec
from gridpilot.rules.checks import check_policy
from gridpilot.rules.policy import CompiledGuard, CompiledOverride, CompiledRule, Policy
from gridpilot.rules.prices import PriceFileError
from gridpilot.rules.schema import (
    ExportCapGuard,
    Guard,
    ImportCapGuard,
    Layer,
    PolicyDoc,
    PowerCapGuard,
    PriceSchedule,
    ReserveGuard,
    SocCeilingGuard,
)
from gridpilot.rules.tariff import PriceSide, Tariff, find_gap
from gridpilot.rules.validation import issues_from_validation_error, suggest
from gridpilot.rules.windows import Window
from gridpilot.rules.yamlsource import NodePath, SourceMap

if TYPE_CHECKING:
    from gridpilot.engine.forecast_registry import ForecastFactory
    from gridpilot.strategies.base import Strategy

__all__ = ["compile_policy"]


def compile_policy(
    doc: PolicyDoc, smap: SourceMap, data: Mapping[str, Any], path: Path | None
) -> Policy:
    """Compile ``doc`` (validated from ``data``, read from ``path``). Raises :class:`PolicyError`
    listing every problem found."""
    issues: list[Issue] = check_policy(doc, smap, data)
    tz = ZoneInfo(doc.site.timezone)
    base_dir = path.parent if path is not None else Path.cwd()
    b, g = doc.site.battery, doc.site.grid
    limits = DeviceLimits(
        capacity_kwh=b.capacity_kwh,
        max_charge_w=b.max_charge_w,
        max_discharge_w=b.max_discharge_w,
        min_soc_pct=b.min_soc_pct,
        max_soc_pct=b.max_soc_pct,
        max_import_w=g.max_import_w,
        max_export_w=g.max_export_w,
    )
    tariff = _tariff(doc, tz, base_dir, smap, issues)
    strategies = _strategies(doc, data, smap, issues)
    _device(doc, data, smap, issues)
    forecast = _forecast(doc, data, tz, smap, issues)

    rules: list[CompiledRule] = []
    for i, rule in enumerate(doc.rules):
        strategy = _rule_strategy(rule.strategy, ("rules", i, "strategy"), strategies,
                                  doc.strategies, smap, issues)
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
            spec=rule,
        ))
    default = CompiledRule(
        name="default",
        layer=Layer.DEFAULT,
        index=-1,
        window=None,
        action=doc.default.action,
        strategy=_rule_strategy(doc.default.strategy, ("default", "strategy"), strategies,
                                doc.strategies, smap, issues),
    )
    guards = tuple(_guard(i, guard, tz) for i, guard in enumerate(doc.guards))
    overrides = _overrides(doc, tz, smap, issues)
    if issues:
        raise PolicyError(issues)
    return Policy(
        doc=doc,
        source=smap,
        path=path,
        tz=tz,
        limits=limits,
        tariff=tariff,
        rules=tuple(rules),
        guards=guards,
        default=default,
        overrides=overrides,
        strategies=strategies,
        forecast_factory=forecast,
    )


def _tariff(doc: PolicyDoc, tz: ZoneInfo, base_dir: Path, smap: SourceMap,
            issues: list[Issue]) -> Tariff:
    sides: dict[str, PriceSide] = {}
    spec = doc.tariff
    for key, schedule in (("import", spec.import_), ("export", spec.export)):
        path: NodePath = ("tariff", key)
        _check_gap(schedule, path, smap, issues)
        try:
            sides[key] = PriceSide.from_spec(schedule, tz, base_dir)
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


def _registry() -> tuple[Callable[[str, Mapping[str, Any]], Strategy], list[str]] | None:
    try:
        from gridpilot.strategies.registry import available_strategies, create_strategy
    except ImportError:
        return None
    return create_strategy, list(available_strategies())


def _strategies(doc: PolicyDoc, data: Mapping[str, Any], smap: SourceMap,
                issues: list[Issue]) -> dict[str, Strategy]:
    out: dict[str, Strategy] = {}
    if not doc.strategies:
        return out
    reg = _registry()
    if reg is None:
        issues.append(smap.issue(("strategies",), "strategy plugins are not available in this "
                                 "installation", "reinstall gridpilot"))
        return out
    create, _ = reg
    raw = data.get("strategies", {}) if isinstance(data, Mapping) else {}
    for name, config in doc.strategies.items():
        path: NodePath = ("strategies", name)
        try:
            out[name] = create(name, config)
        except StrategyError as exc:
            where = (*path, "type") if "type" in config else path
            issues.append(smap.issue(where, str(exc)))
        except ValidationError as exc:
            issues.extend(issues_from_validation_error(
                exc, smap, raw.get(name, config), _settings_model(config, name), path
            ))
    return out


def _settings_model(config: Mapping[str, Any], name: str) -> type[BaseModel] | None:
    """The settings model of the strategy type ``config`` names (for "did you mean")."""
    try:
        from gridpilot.strategies.registry import strategy_class

        model = strategy_class(str(config.get("type", name))).settings_model
    except (ImportError, StrategyError, AttributeError):
        return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _rule_strategy(name: str | None, path: NodePath, strategies: dict[str, Strategy],
                   doc_entries: Mapping[str, Any], smap: SourceMap,
                   issues: list[Issue]) -> Strategy | None:
    if name is None:
        return None
    if name in strategies:
        return strategies[name]
    if name in doc_entries:
        return None  # the entry itself failed and is reported at strategies.<name>
    reg = _registry()
    types = reg[1] if reg is not None else []
    if reg is not None and name in types:
        try:
            strategies[name] = reg[0](name, {})
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


def _device(doc: PolicyDoc, data: Mapping[str, Any], smap: SourceMap,
            issues: list[Issue]) -> None:
    try:
        from gridpilot.devices.registry import (  # type: ignore[import-not-found,unused-ignore]
            available_devices,
            device_settings_model,
        )
    except ImportError:
        return  # without adapters installed there is nothing to check the settings against
    dtype = doc.device.type
    try:
        model = device_settings_model(dtype)
    except KeyError:
        valid = sorted(available_devices())
        issues.append(smap.issue(
            ("device", "type"),
            f"unknown device type {dtype!r} (valid: {', '.join(valid)})",
            suggest(dtype, valid),
        ))
        return
    except ImportError as exc:
        issues.append(smap.issue(
            ("device", "type"),
            f"the {dtype!r} device adapter cannot be loaded ({exc.__class__.__name__}: {exc})",
            "reinstall gridpilot",
        ))
        return
    raw = data.get("device", {}) if isinstance(data, Mapping) else {}
    # Adapter settings models describe the whole section, 'type' and 'name' included.
    settings = dict(raw) if isinstance(raw, Mapping) else {}
    try:
        model.model_validate(settings)
    except ValidationError as exc:
        issues.extend(issues_from_validation_error(exc, smap, settings, model, ("device",)))


def _forecast(doc: PolicyDoc, data: Mapping[str, Any], tz: ZoneInfo, smap: SourceMap,
              issues: list[Issue]) -> ForecastFactory | None:
    from gridpilot.engine.forecast_registry import (
        available_forecasts,
        forecast_factory,
        forecast_settings_model,
    )

    ftype = doc.forecast.type
    raw = data.get("forecast", {}) if isinstance(data, Mapping) else {}
    settings = {k: v for k, v in raw.items() if k != "type"} if isinstance(raw, Mapping) else {}
    try:
        return forecast_factory(ftype, settings, tz)
    except KeyError:
        valid = available_forecasts()
        issues.append(smap.issue(
            ("forecast", "type"),
            f"unknown forecast type {ftype!r} (valid: {', '.join(valid)})",
            suggest(ftype, valid),
        ))
    except StrategyError as exc:
        issues.append(smap.issue(("forecast", "type"), str(exc)))
    except ValidationError as exc:
        model = forecast_settings_model(ftype)
        issues.extend(issues_from_validation_error(exc, smap, settings, model, ("forecast",)))
    return None


def _guard(i: int, guard: Guard, tz: ZoneInfo) -> CompiledGuard:
    common: dict[str, Any] = {
        "name": guard.name or f"{guard.kind}[{i}]",
        "kind": guard.kind,
        "priority": i,
        "window": Window.from_spec(guard.when, tz),
    }
    if isinstance(guard, ReserveGuard):
        return CompiledGuard(**common, min_soc_pct=guard.min_soc_pct)
    if isinstance(guard, ImportCapGuard):
        return CompiledGuard(**common, max_import_w=guard.max_import_w)
    if isinstance(guard, ExportCapGuard):
        return CompiledGuard(**common, max_export_w=guard.max_export_w)
    if isinstance(guard, PowerCapGuard):
        return CompiledGuard(
            **common, max_charge_w=guard.max_charge_w, max_discharge_w=guard.max_discharge_w
        )
    assert isinstance(guard, SocCeilingGuard)
    return CompiledGuard(**common, max_soc_pct=guard.max_soc_pct)


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
