"""Compiling a price schedule's live part: ``provider(s)`` and ``compose``.

Each provider reference is looked up in the price-provider registry and its settings validated
by the type's own model, every problem located in the policy file. The provider is built once,
offline (a client that refuses every request), to ask its publication time; ``published_at`` and
``covers_until`` in the policy override it in site time. A provider whose currency is known
before it answers (the built-ins but Tibber, or a ``currency`` setting) must match the tariff's
unless ``compose.fx_rate`` converts it; a currency only known from the answer is checked when
the prices arrive, and refused then.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from gridpilot.calendar.spec import CalendarSpec
from gridpilot.calendar.text import parse_clock_min
from gridpilot.errors import Issue, PluginError
from gridpilot.prices.base import PriceProviderKind, PriceSlots, Publication
from gridpilot.prices.cache import PriceCache, cache_key
from gridpilot.prices.compose import Composition, CurrencyMismatchError
from gridpilot.prices.spec import ProviderSpec, offline_context
from gridpilot.registry import Registry
from gridpilot.rules.schema import PriceSchedule
from gridpilot.rules.schema_tariff import ProviderRef
from gridpilot.rules.tariff import Tariff
from gridpilot.rules.validation import issues_from_validation_error
from gridpilot.rules.yamlsource import NodePath, SourceMap
from gridpilot.timeutil import parse_duration_s

__all__ = [
    "BUILTIN_CURRENCY",
    "compile_composition",
    "compile_providers",
    "load_cached",
    "side_slots",
]

BUILTIN_CURRENCY = {"octopus": "GBP", "entsoe": "EUR", "awattar": "EUR", "energy_charts": "EUR"}
"""The currency a built-in answers in, where its settings do not choose one."""
_REF_KEYS = frozenset({"type", "published_at", "covers_until", "stale_after"})


def compile_composition(schedule: PriceSchedule) -> Composition:
    c = schedule.compose
    if c is None:
        return Composition()
    fees = tuple((CalendarSpec.parse(p.time, p.days, p.months, p.dates), p.price)
                 for p in c.fees)
    return Composition(c.multiply, c.add_per_kwh, c.vat_pct, c.fx_rate, fees)


def _site_time(t: time, src: ZoneInfo, tz: ZoneInfo) -> time:
    # A provider's clock time seen on the site's clock (on an ordinary day: the offsets of a
    # clock-change day would move it for that day only).
    moment = datetime.combine(date(2025, 1, 15), t, tzinfo=src).astimezone(tz)
    return time(moment.hour, moment.minute)


def _publication(ref: ProviderRef, own: Publication, tz: ZoneInfo) -> Publication:
    if ref.published_at is None and ref.covers_until is None:
        return own
    def clock(text: str) -> time:
        minute = parse_clock_min(text)
        return time(minute // 60, minute % 60)
    published = (clock(ref.published_at) if ref.published_at is not None
                 else _site_time(own.local_time, own.tz, tz))
    covers = (clock(ref.covers_until) if ref.covers_until is not None
              else None if own.covers_until_local is None
              else _site_time(own.covers_until_local, own.tz, tz))
    return Publication(published, tz, covers)


def _declared_currency(ref: ProviderRef, settings: BaseModel, provider: object) -> str | None:
    found = getattr(provider, "currency", None) or getattr(settings, "currency", None)
    return str(found) if found else BUILTIN_CURRENCY.get(ref.type)


def compile_providers(
    schedule: PriceSchedule,
    raw: Mapping[str, Any],
    path: NodePath,
    tz: ZoneInfo,
    base_dir: Path,
    currency: str,
    registry: Registry[PriceProviderKind],
    smap: SourceMap,
    issues: list[Issue],
) -> tuple[ProviderSpec, ...]:
    """The schedule's providers in failover order; their problems appended to ``issues``."""
    refs = schedule.provider_refs
    out: list[ProviderSpec] = []
    fx_rate = schedule.compose.fx_rate if schedule.compose is not None else None
    for i, ref in enumerate(refs):
        if schedule.provider is not None:
            where: NodePath = (*path, "provider")
            raw_ref = raw.get("provider")
        else:
            where = (*path, "providers", i)
            raw_list = raw.get("providers")
            raw_ref = raw_list[i] if isinstance(raw_list, list) and i < len(raw_list) else None
        raw_settings = ({k: v for k, v in raw_ref.items() if k not in _REF_KEYS}
                        if isinstance(raw_ref, Mapping) else ref.settings)
        try:
            kind = registry.get(ref.type)
        except PluginError as exc:
            issues.append(smap.issue((*where, "type"), str(exc)))
            continue
        try:
            settings = kind.settings_model.model_validate(ref.settings)
        except ValidationError as exc:
            issues.extend(issues_from_validation_error(exc, smap, raw_settings,
                                                       kind.settings_model, where))
            continue
        context = offline_context(tz, base_dir)
        try:
            provider = kind(settings, context)
            own = provider.publication()
        except Exception as exc:  # a plugin's constructor: said, located, never a traceback
            issues.append(smap.issue(where, f"the {ref.type} provider cannot be set up: {exc}"))
            continue
        finally:
            context.client.close()
        declared = _declared_currency(ref, settings, provider)
        if declared is not None and declared.upper() != currency.upper() and fx_rate is None:
            issues.append(smap.issue(
                where, f"the {ref.type} provider prices in {declared}, the tariff is in "
                f"{currency}",
                f"set 'compose: {{fx_rate: <{currency} per {declared}>}}' on this schedule, or "
                f"'tariff.currency: {declared}'",
            ))
            continue
        same = sum(1 for r in refs[:i] if r.type == ref.type)
        out.append(ProviderSpec(
            type=ref.type,
            settings=settings,
            publication=_publication(ref, own, tz),
            stale_after_s=parse_duration_s(ref.stale_after),
            key=cache_key(ref.type, settings),
            label=ref.type if not same else f"{ref.type} #{same + 1}",
        ))
    return tuple(out)


def side_slots(side_providers: tuple[ProviderSpec, ...],
               held: Mapping[str, tuple[PriceSlots | None, str]]) -> list[
                   tuple[PriceSlots | None, str]]:
    """The series held for each provider of a side, in failover order, for
    :meth:`~gridpilot.rules.tariff.PriceSide.set_live` (``held``: cache key -> series and
    where it came from)."""
    return [held.get(p.key, (None, p.label)) for p in side_providers]


def load_cached(tariff: Tariff, cache: PriceCache) -> list[str]:
    """Install every provider's cached series into ``tariff``; returns the problems (a damaged
    cache file, a currency the tariff cannot take), each already worded for a person."""
    problems: list[str] = []
    held: dict[str, tuple[PriceSlots | None, str]] = {}
    for side in (tariff.import_side, tariff.export_side):
        for spec in side.providers:
            if spec.key not in held:
                slots, problem = cache.load(spec.key)
                held[spec.key] = (slots, f"{spec.label} (cache)")
                if problem:
                    problems.append(problem)
    for name, side in (("import", tariff.import_side), ("export", tariff.export_side)):
        if side.providers:
            try:
                side.set_live(side_slots(side.providers, held))
            except CurrencyMismatchError as exc:
                problems.append(f"tariff.{name}: cached prices not used: {exc}")
    return problems
