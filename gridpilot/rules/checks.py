"""Cross-field checks: problems pydantic cannot see one field at a time.

Each check returns located :class:`Issue` objects with a hint saying what to do:

- the battery's ``min_soc_pct`` must be below its ``max_soc_pct``;
- a ``backup_reserve`` guard below the battery's floor has no effect;
- a rule or guard that can never fire: an empty time range (``"10:00-10:00"``), an impossible date
  (``02-30``), a date range that ends before it starts, ``soc_below_pct`` at or under
  ``soc_above_pct``, ``price_below`` at or under ``price_above``, ``soc_below_pct: 0`` or
  ``soc_above_pct: 100``, ``days``/``months`` that no day of the ``dates`` has, a cron expression
  with no fire time (``"0 0 31 2 *"``), a cron window whose spans never meet its own
  ``time``/``days``/``months``/``dates`` (see :mod:`gridpilot.calendar.cron_overlap`), or a rule
  placed after an always-on action rule of the same layer, or whose times are all covered by
  earlier action rules of its layer that test no price or SOC (within a layer the first matching
  rule wins; a strategy rule can pass, so rules after it stay reachable; see
  :mod:`gridpilot.rules.coverage`);
- a tariff period whose end equals its start;
- two rules, guards or manual overrides with the same name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import TypeAdapter, ValidationError

from gridpilot.calendar.spec import CalendarSpec
from gridpilot.calendar.text import impossible_annual_dates, parse_dates, parse_time_range
from gridpilot.errors import Issue
from gridpilot.rules.coverage import LayerCoverage, calendar_never_matches, cron_never_fires
from gridpilot.rules.schema import (
    BatterySpec,
    Guard,
    PolicyDoc,
    PriceSchedule,
    ReserveGuard,
    Rule,
    When,
)
from gridpilot.rules.yamlsource import NodePath, SourceMap

__all__ = ["check_parts", "check_policy", "never_fires"]


def _cron_misses_calendar(when: When, tz: ZoneInfo | None) -> bool:
    # Imported here: only a policy with a cron window pays for the overlap analysis.
    from gridpilot.calendar.cron_overlap import cron_misses_calendar

    return cron_misses_calendar(when, tz)


def never_fires(when: When, tz: ZoneInfo | None = None) -> list[tuple[str, str, str]]:
    """Why ``when`` can never match: ``(field, message, hint)`` for each reason found.

    ``tz`` is the site's timezone, in which a cron window is checked against its calendar parts
    (UTC when the site's is not known).
    """
    out: list[tuple[str, str, str]] = []
    if when.time is not None and parse_time_range(when.time).empty:
        out.append((
            "time",
            f"the time range {when.time!r} starts where it ends, so it never matches",
            "use \"00:00-24:00\" for a whole day, or give a later end",
        ))
    if when.dates is not None:
        ranges = parse_dates(when.dates)
        for bad in impossible_annual_dates(ranges):
            out.append((
                "dates",
                f"{bad} does not exist in any year, so this never matches",
                "check the month and day",
            ))
        for r in ranges:
            if not r.annual and r.start > r.end:
                out.append((
                    "dates",
                    "a date range ends before it starts, so it never matches",
                    "write the earlier date first: START..END",
                ))
    if _calendar_ok(when) and calendar_never_matches(
        CalendarSpec.parse(None, when.days, when.months, when.dates)
    ):
        given = " and ".join(k for k in ("days", "months") if getattr(when, k) is not None)
        out.append((
            "dates",
            f"no day of these dates is in its {given}, so it never matches",
            f"make 'dates' and '{given.split()[0]}' agree, or drop one of them",
        ))
    if when.cron is not None and cron_never_fires(when.cron):
        out.append((
            "cron",
            f"cron {when.cron!r} names a date that never exists, so it never fires",
            "check the day of month against the month: February has no 30th, April no 31st",
        ))
    elif when.cron is not None and not out and _cron_misses_calendar(when, tz):
        parts = " and ".join(
            f"'{k}'" for k in ("time", "days", "months", "dates") if getattr(when, k) is not None
        )
        allow = "allow" if " and " in parts else "allows"
        out.append((
            "cron",
            f"cron {when.cron!r} with for {when.for_} is never open at a time its {parts} "
            f"{allow}, so it never fires",
            f"make the cron fire where {parts} {allow} (or lengthen 'for' so each window "
            f"reaches there), or remove {parts}",
        ))
    if when.soc_below_pct is not None and when.soc_below_pct <= 0:
        out.append((
            "soc_below_pct",
            f"soc_below_pct {when.soc_below_pct:g}: the state of charge is never below 0 %, "
            "so it never matches",
            "give a bound above 0, or remove the condition",
        ))
    if when.soc_above_pct is not None and when.soc_above_pct >= 100:
        out.append((
            "soc_above_pct",
            f"soc_above_pct {when.soc_above_pct:g}: the state of charge is never above 100 %, "
            "so it never matches",
            "give a bound below 100, or remove the condition",
        ))
    bounds = (
        ("soc_below_pct", when.soc_below_pct, "soc_above_pct", when.soc_above_pct, "SOC"),
        ("price_below", when.price_below, "price_above", when.price_above, "price"),
    )
    for below, upper, above, lower, what in bounds:
        if upper is not None and lower is not None and upper <= lower:
            out.append((
                below,
                f"{below} {upper:g} is not above {above} {lower:g}, so no {what} satisfies both",
                f"{above} is the lower bound and {below} the upper one",
            ))
    return out


def _calendar_ok(when: When) -> bool:
    """Whether the calendar parts parse (validation reports them otherwise)."""
    try:
        CalendarSpec.parse(when.time, when.days, when.months, when.dates)
    except ValueError:
        return False
    return True


def _calendar(when: When | None) -> CalendarSpec:
    if when is None:
        return CalendarSpec()
    return CalendarSpec.parse(when.time, when.days, when.months, when.dates)


def _unconditional(when: When | None) -> bool:
    """True when the window is a calendar only: no price, SOC or cron part."""
    return when is None or (
        when.cron is None
        and all(
            v is None
            for v in (when.price_below, when.price_above, when.soc_below_pct, when.soc_above_pct)
        )
    )


def _always(when: When | None) -> bool:
    if when is None:
        return True
    if when.cron is not None or any(
        v is not None
        for v in (when.price_below, when.price_above, when.soc_below_pct, when.soc_above_pct)
    ):
        return False
    return CalendarSpec.parse(when.time, when.days, when.months, when.dates).always


def _battery(b: BatterySpec | None, smap: SourceMap) -> Iterator[Issue]:
    if b is not None and b.min_soc_pct >= b.max_soc_pct:
        yield smap.issue(
            ("site", "battery", "min_soc_pct"),
            f"min_soc_pct {b.min_soc_pct:g} must be below max_soc_pct {b.max_soc_pct:g}",
            "min_soc_pct is the floor and max_soc_pct the ceiling of the usable range",
        )


def _guards(guards: Sequence[tuple[int, Guard]], floor: float | None,
            smap: SourceMap, tz: ZoneInfo | None = None) -> Iterator[Issue]:
    for i, guard in guards:
        if isinstance(guard, ReserveGuard) and floor is not None and guard.min_soc_pct < floor:
            yield smap.issue(
                ("guards", i, "min_soc_pct"),
                f"the backup reserve {guard.min_soc_pct:g} % is below the battery floor "
                f"{floor:g} % (site.battery.min_soc_pct), so it has no effect",
                f"raise the reserve to at least {floor:g} % or lower the battery floor",
            )
        if guard.when is not None:
            for key, message, hint in never_fires(guard.when, tz):
                label = guard.name or guard.kind
                yield smap.issue(("guards", i, "when", key), f"guard {label!r}: {message}", hint)


def _rules(rules: Sequence[tuple[int, Rule]], smap: SourceMap,
           tz: ZoneInfo | None = None) -> list[Issue]:
    return sorted(_rule_issues(rules, smap, tz), key=lambda i: (i.line, i.column))


def _rule_issues(rules: Sequence[tuple[int, Rule]], smap: SourceMap,
                 tz: ZoneInfo | None) -> Iterator[Issue]:
    always_on: dict[str, tuple[int, str]] = {}
    live: list[tuple[int, Rule]] = []
    for i, rule in rules:
        if not rule.enabled:
            continue
        reasons = never_fires(rule.when, tz) if rule.when is not None else []
        for key, message, hint in reasons:
            yield smap.issue(("rules", i, "when", key), f"rule {rule.name!r}: {message}", hint)
        layer = rule.layer.value
        if layer in always_on:
            j, name = always_on[layer]
            yield smap.issue(
                ("rules", i),
                f"rule {rule.name!r} can never fire: the always-on rule {name!r} (rules[{j}]) "
                f"comes first in the {layer} layer",
                f"give {name!r} a 'when', or move {rule.name!r} above it",
            )
        elif _always(rule.when) and rule.action is not None:
            # A strategy may have nothing to propose and let the next rule decide; an action never.
            always_on[layer] = (i, rule.name)
        if not reasons and (rule.when is None or _calendar_ok(rule.when)):
            live.append((i, rule))
    yield from _shadowed(live, always_on, smap)


def _shadowed(live: Sequence[tuple[int, Rule]], always_on: Mapping[str, tuple[int, str]],
              smap: SourceMap) -> Iterator[Issue]:
    """Rules whose every time is taken by earlier calendar-only action rules of their layer.

    The grid is only built for a layer once such a rule exists in it, and a layer with an
    always-on rule is reported above already.
    """
    names = {i: rule.name for i, rule in live}
    by_layer: dict[str, list[tuple[int, Rule]]] = {}
    for i, rule in live:
        by_layer.setdefault(rule.layer.value, []).append((i, rule))
    for layer, members in by_layer.items():
        if layer in always_on:
            # The rules after an always-on rule are reported above; those before it still count.
            members = [(i, r) for i, r in members if i < always_on[layer][0]]
        cov = LayerCoverage([_calendar(rule.when) for _, rule in members])
        for i, rule in members:
            spec = _calendar(rule.when)
            owners = None if cov.empty else cov.covering(spec)
            if owners:
                listed = ", ".join(f"{names[j]!r} (rules[{j}])" for j in owners)
                yield smap.issue(
                    ("rules", i),
                    f"rule {rule.name!r} can never fire: every time it covers is already taken "
                    f"by {listed}, earlier in the {layer} layer",
                    f"move {rule.name!r} above {names[owners[0]]!r}, or narrow its 'when'"
                    if len(owners) == 1
                    else f"move {rule.name!r} above them, or narrow their 'when'",
                )
                continue
            if rule.action is not None and _unconditional(rule.when):
                cov.add(i, spec)


def _periods(schedule: PriceSchedule, path: NodePath, smap: SourceMap) -> Iterator[Issue]:
    for i, period in enumerate(schedule.periods):
        ppath: NodePath = (*path, "periods", i)
        if period.time is not None and parse_time_range(period.time).empty:
            yield smap.issue(
                (*ppath, "time"),
                f"tariff period {period.time!r} ends where it starts, so it never applies",
                "use \"00:00-24:00\" for a whole day, or give a later end",
            )
        if period.dates is not None and calendar_never_matches(
            CalendarSpec.parse(None, period.days, period.months, period.dates)
        ):
            yield smap.issue(
                (*ppath, "dates"),
                "no day of these dates is in the period's days or months, so it never applies",
                "make 'dates', 'days' and 'months' agree, or drop one of them",
            )
        if period.dates is not None:
            for bad in impossible_annual_dates(parse_dates(period.dates)):
                yield smap.issue(
                    (*ppath, "dates"),
                    f"{bad} does not exist in any year, so this period never applies",
                    "check the month and day",
                )


_NAMED = (
    ("rules", "rule", "tests, the trace and the audit log name a rule by it"),
    ("guards", "guard", "tests and the trace name a guard by it"),
    ("manual", "override", "tests, the trace and 'gridpilot override' name an override by it"),
)


def _duplicate_names(data: Any, smap: SourceMap) -> Iterator[Issue]:
    """Two rules (guards, manual overrides) with one name: a test or an explanation naming it
    could mean either, so the second is an error at its ``name``."""
    for section, what, why in _NAMED:
        entries = _get(data, section)
        if not isinstance(entries, list):
            continue
        first: dict[str, int] = {}
        for i, entry in enumerate(entries):
            name = entry.get("name") if isinstance(entry, Mapping) else None
            if not isinstance(name, str) or not name:
                continue
            if name in first:
                yield smap.issue(
                    (section, i, "name"),
                    f"{what} name {name!r} is already used by {section}[{first[name]}]",
                    f"give each {what} its own name: {why}",
                )
            else:
                first[name] = i


def check_policy(doc: PolicyDoc, smap: SourceMap, data: Any = None) -> list[Issue]:
    """Every cross-field problem of ``doc`` (validated from ``data``), located through
    ``smap``."""
    issues: list[Issue] = []
    named = data if data is not None else doc.model_dump(by_alias=True)
    issues.extend(_duplicate_names(named, smap))
    issues.extend(_battery(doc.site.battery, smap))
    tz = _zone(doc.site.timezone)
    issues.extend(_guards(list(enumerate(doc.guards)), doc.site.battery.min_soc_pct, smap, tz))
    issues.extend(_rules(list(enumerate(doc.rules)), smap, tz))
    issues.extend(_periods(doc.tariff.import_, ("tariff", "import"), smap))
    issues.extend(_periods(doc.tariff.export, ("tariff", "export"), smap))
    return issues


def _zone(name: Any) -> ZoneInfo | None:
    """The site's timezone, or ``None`` when it is missing or unknown (validation says so)."""
    if not isinstance(name, str):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _part(model: Any, value: Any) -> Any:
    try:
        return model.validate_python(value)
    except (ValidationError, ValueError, TypeError):
        return None


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def check_parts(data: Any, smap: SourceMap) -> list[Issue]:
    """The cross-field checks on whichever sections of ``data`` are valid by themselves, for a
    document that failed validation as a whole: so one pass reports every problem."""
    issues: list[Issue] = list(_duplicate_names(data, smap))
    battery = _part(TypeAdapter(BatterySpec), _get(data, "site", "battery"))
    issues.extend(_battery(battery, smap))
    tz = _zone(_get(data, "site", "timezone"))
    guard_adapter: TypeAdapter[Guard] = TypeAdapter(Guard)
    raw_guards = _get(data, "guards")
    if isinstance(raw_guards, list):
        guards = [(i, g) for i, g in enumerate(_part(guard_adapter, x) for x in raw_guards)
                  if g is not None]
        floor = battery.min_soc_pct if battery is not None else None
        issues.extend(_guards(guards, floor, smap, tz))
    raw_rules = _get(data, "rules")
    if isinstance(raw_rules, list):
        rule_adapter = TypeAdapter(Rule)
        rules = [(i, r) for i, r in enumerate(_part(rule_adapter, x) for x in raw_rules)
                 if r is not None]
        issues.extend(_rules(rules, smap, tz))
    schedule_adapter = TypeAdapter(PriceSchedule)
    for key in ("import", "export"):
        schedule = _part(schedule_adapter, _get(data, "tariff", key))
        if schedule is not None:
            issues.extend(_periods(schedule, ("tariff", key), smap))
    return issues
