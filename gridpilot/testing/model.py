"""The scenario-test language: what a policy's ``tests:`` section and a ``*.gridpilot-test.yaml``
file may hold.

A *case* sets up one instant (``at``) and a partial site state, asks the engine for a decision and
checks it against ``expect`` / ``expect_not``. A *sequence case* (one with ``until``) runs a tick
every ``step`` from ``at`` to ``until``, moving the state of charge through the battery model, and
checks ``checks`` along the way: the decision at a time, the SOC reached by a deadline, what holds
during a window, dwell time and the number of mode changes.

This module depends only on pydantic and the command types so that the policy schema can use it
without an import cycle; the override actions are validated against the policy's ``Action`` model
when a case is validated.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from gridpilot.engine.commands import CommandKind
from gridpilot.engine.state import ModeSource
from gridpilot.testing.times import check_time_text

__all__ = [
    "COMMAND_FIELDS",
    "ActiveCommandSpec",
    "AgesSpec",
    "Check",
    "DataSpec",
    "DeviceModeSpec",
    "Expectation",
    "NumberExpectation",
    "OverrideSpec",
    "PricesSpec",
    "ProfilePoint",
    "ScenarioCase",
    "StateSpec",
    "TestFileDoc",
    "TimeText",
    "parse_duration_s",
]

COMMAND_FIELDS = ("power_w", "target_soc_pct", "floor_soc_pct", "max_import_w", "max_export_w")

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
_DURATION_UNITS_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_NUM = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
_RANGE_RE = re.compile(rf"^\s*{_NUM}\s*(?:\+-|±|\+/-)\s*{_NUM}\s*$")
_BOUND_RE = re.compile(rf"^\s*(>=|<=|>|<)\s*{_NUM}\s*$")


def parse_duration_s(value: float | int | str) -> float:
    """``"90s"``, ``"15m"``, ``"1.5h"``, ``"1d"`` or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text such as '15m' or '2h'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION_RE.match(value)
        if match is None:
            raise ValueError(
                f"cannot read duration {value!r}; write it like '90s', '15m', '2h' or '1d'"
            )
        seconds = float(match.group(1)) * _DURATION_UNITS_S[match.group(2) or "s"]
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("a duration must be a finite, non-negative number of seconds")
    return seconds


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _time_ok(value: Any) -> Any:
    if isinstance(value, datetime | date | str):
        check_time_text(value)
    return value


TimeText = Annotated[datetime | str, BeforeValidator(_time_ok)]
"""A time: ``"2026-01-15 17:30"`` (site-local), ISO 8601 with an offset, or, inside a sequence,
``"16:00"`` for the next such wall-clock time at or after the case's start."""

Duration = Annotated[float | str, Field(union_mode="left_to_right")]


class NumberExpectation(_Model):
    """An expected number. In a policy file write it as:

    * ``3000``: equal within a relative 1e-6;
    * ``"3000 +- 50"`` (or ``±``): within 50 of 3000;
    * ``">= 80"``, ``"< 20"``: a bound;
    * ``{approx: 3000, tol: 50}``, ``{min: 80}``, ``{max: 20, min: 10}``;
    * ``null``: the field is unset (a power ``null`` means the device's own limit).
    """

    approx: float | None = None
    tol: Annotated[float, Field(ge=0)] | None = None
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    is_null: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if value is None:
            return {"is_null": True}
        if isinstance(value, bool):
            raise ValueError("expected a number, a text such as '>= 80' or '3000 +- 50', or null")
        if isinstance(value, int | float):
            return {"approx": value}
        if isinstance(value, str):
            text = value.strip()
            m = _RANGE_RE.match(text)
            if m:
                return {"approx": float(m.group(1)), "tol": float(m.group(2))}
            b = _BOUND_RE.match(text)
            if b:
                op, num = b.group(1), float(b.group(2))
                if op.startswith(">"):
                    return {"min": num, "min_exclusive": op == ">"}
                return {"max": num, "max_exclusive": op == "<"}
            try:
                return {"approx": float(text)}
            except ValueError:
                raise ValueError(
                    f"cannot read {value!r}; write 3000, '3000 +- 50', '>= 80' or '< 20'"
                ) from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> NumberExpectation:
        if self.is_null:
            return self
        if self.tol is not None and self.approx is None:
            raise ValueError("'tol' goes with 'approx'")
        if self.approx is None and self.min is None and self.max is None:
            raise ValueError("give a value ('approx') or a bound ('min', 'max')")
        if self.approx is not None and (self.min is not None or self.max is not None):
            raise ValueError("give either 'approx' (with 'tol') or 'min'/'max', not both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"'min' {self.min:g} is above 'max' {self.max:g}")
        return self

    def matches(self, actual: float | None) -> bool:
        if self.is_null:
            return actual is None
        if actual is None or not math.isfinite(actual):
            return False
        if self.approx is not None:
            tol = self.tol if self.tol is not None else 1e-6 * max(1.0, abs(self.approx))
            return abs(actual - self.approx) <= tol + 1e-12
        if self.min is not None and (
            actual <= self.min if self.min_exclusive else actual < self.min - 1e-9
        ):
            return False
        return not (
            self.max is not None
            and (actual >= self.max if self.max_exclusive else actual > self.max + 1e-9)
        )

    def describe(self) -> str:
        if self.is_null:
            return "null"
        if self.approx is not None:
            return f"{self.approx:g}" if self.tol is None else f"{self.approx:g} ± {self.tol:g}"
        parts = []
        if self.min is not None:
            parts.append(f"{'>' if self.min_exclusive else '>='} {self.min:g}")
        if self.max is not None:
            parts.append(f"{'<' if self.max_exclusive else '<='} {self.max:g}")
        return " and ".join(parts)


class Expectation(_Model):
    """What the decision must look like. Every given key must hold; omitted keys are not checked."""

    kind: CommandKind | list[CommandKind] | None = None
    """The command kind, or a list of acceptable kinds."""
    power_w: NumberExpectation | None = None
    """The command's power [W] (``null`` = the device's own limit)."""
    target_soc_pct: NumberExpectation | None = None
    floor_soc_pct: NumberExpectation | None = None
    max_import_w: NumberExpectation | None = None
    max_export_w: NumberExpectation | None = None
    winner: str | None = None
    """Who won: ``rule:<name>``, ``override:<name>``, ``default``, ``device``; a bare name means
    ``rule:<name>``."""
    layer: Literal["manual", "schedule", "default"] | None = None
    bound_by: str | list[str] | None = None
    """Limits that must have changed the command, e.g. ``guard:reserve`` (any field of that
    guard), ``guard:reserve.floor_soc_pct`` or ``device.max_charge_w``; a bare name means
    ``guard:<name>``."""
    not_bound_by: str | list[str] | None = None
    """Limits that must not have changed the command."""
    reason: str | None = None
    """Text the decision's reason must contain (case-insensitive)."""
    note: str | None = None
    """Text one of the decision's notes must contain (case-insensitive)."""
    yielded: bool | None = None
    """``true``: gridpilot yields to a mode a person set on the device and sends nothing."""
    outcomes: dict[str, str] | None = None
    """``{source: outcome}`` for candidates in the trace, e.g. ``{"rule:cheap night": outranked}``;
    outcomes are ``won``, ``outranked``, ``not_active``, ``no_proposal``, ``held``."""

    @model_validator(mode="before")
    @classmethod
    def _kind_shorthand(cls, value: Any) -> Any:
        # ``expect: hold`` reads better than ``expect: {kind: hold}`` for the common case.
        if isinstance(value, str):
            return {"kind": value}
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Expectation:
        if not any(getattr(self, name) is not None for name in type(self).model_fields):
            raise ValueError("an expectation needs at least one key, e.g. kind: charge")
        return self


def _one_or_many(value: Expectation | list[Expectation] | None) -> list[Expectation]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class ActiveCommandSpec(_Model):
    """The command gridpilot sent last (what anti-flap and hysteresis compare against)."""

    kind: CommandKind
    power_w: float | None = None
    target_soc_pct: float = 100.0
    floor_soc_pct: float = 0.0
    max_import_w: float | None = None
    max_export_w: float | None = None
    layer: Literal["manual", "schedule", "default"] | None = None
    """The layer of the decision that produced it (a higher layer may skip the dwell time)."""
    since: TimeText | None = None
    """When its kind started; default: ``for`` before ``at``."""
    for_: Duration | None = Field(default=None, alias="for")
    """How long it has been running (``"10m"``); default ``1d``, i.e. well past any dwell time."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )

    @field_validator("for_")
    @classmethod
    def _duration(cls, value: float | str | None) -> float | str | None:
        if value is not None:
            parse_duration_s(value)
        return value

    @model_validator(mode="after")
    def _one_time(self) -> ActiveCommandSpec:
        if self.since is not None and self.for_ is not None:
            raise ValueError("give either 'since' or 'for', not both")
        return self


class DeviceModeSpec(_Model):
    """The mode the device reports it runs (``source: person`` = set by hand on the device)."""

    kind: CommandKind | None = None
    source: ModeSource = ModeSource.GRIDPILOT
    native: str = ""


class AgesSpec(_Model):
    """Age of each reading [s] at ``at``; ``null`` = missing. Default 0 (fresh)."""

    soc_s: float | None = 0.0
    load_s: float | None = 0.0
    pv_s: float | None = 0.0
    grid_s: float | None = 0.0
    battery_s: float | None = 0.0


class StateSpec(_Model):
    """The site at ``at``. Everything is optional; the defaults describe a quiet site: SOC 50 %,
    no load, no PV, the battery idle, the grid balancing the rest."""

    soc_pct: Annotated[float, Field(ge=0, le=100)] = 50.0
    load_w: Annotated[float, Field(ge=0)] = 0.0
    pv_w: Annotated[float, Field(ge=0)] = 0.0
    battery_w: float = 0.0
    """+ discharging, - charging."""
    grid_w: float | None = None
    """+ importing; default ``load_w - pv_w - battery_w`` (the energy balance)."""
    month_peak_import_w: Annotated[float, Field(ge=0)] = 0.0
    """The highest grid import so far this month [W] (for demand-charge peak shaving)."""
    active_command: ActiveCommandSpec | None = None
    device_mode: DeviceModeSpec | None = None
    ages: AgesSpec = AgesSpec()
    forecast_net_load_w: float | list[float] | None = None
    """Expected ``load - pv`` [W] per price slot (a single number = flat); default none."""


class PricesSpec(_Model):
    """Prices known at the tick, replacing the tariff's for this case: one price per ``slot``
    from ``start`` (default: the slot holding ``at``). A single number means the same price for
    ``hours``."""

    import_: float | list[float] = Field(alias="import")
    """[currency/kWh]"""
    export: float | list[float] = 0.0
    slot: Duration = "30m"
    start: TimeText | None = None
    hours: Annotated[float, Field(gt=0, le=24 * 14)] = 24.0
    """Horizon covered when ``import`` is a single number."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )

    @field_validator("slot")
    @classmethod
    def _slot(cls, value: float | str) -> float | str:
        if parse_duration_s(value) < 60:
            raise ValueError("a price slot is at least one minute")
        return value

    @model_validator(mode="after")
    def _lengths(self) -> PricesSpec:
        if isinstance(self.import_, list) and not self.import_:
            raise ValueError("'import' needs at least one price")
        if (
            isinstance(self.import_, list)
            and isinstance(self.export, list)
            and len(self.export) != len(self.import_)
        ):
            raise ValueError(
                f"'export' has {len(self.export)} prices but 'import' has {len(self.import_)}"
            )
        return self


class OverrideSpec(_Model):
    """A manual override active in this case (as ``gridpilot override set`` makes them)."""

    name: str = "test override"
    action: dict[str, Any]
    """An action as in a rule: ``{kind: charge, power_w: 3000, target_soc_pct: 90}``."""
    start: TimeText | None = None
    """Default: ``at``."""
    until: TimeText | None = None
    for_: Duration | None = Field(default=None, alias="for")
    """Default ``1h`` when ``until`` is not given."""
    force: bool = False

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )

    @field_validator("action")
    @classmethod
    def _action(cls, value: dict[str, Any]) -> dict[str, Any]:
        # Imported here: the policy schema imports this module.
        from pydantic import ValidationError

        from gridpilot.rules.schema import Action

        try:
            Action.model_validate(value)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            msg = str(first.get("msg", "invalid action")).removeprefix("Value error, ")
            raise ValueError(f"{where + ': ' if where else ''}{msg}") from None
        return value

    @model_validator(mode="after")
    def _one_end(self) -> OverrideSpec:
        if self.until is not None and self.for_ is not None:
            raise ValueError("give either 'until' or 'for', not both")
        return self


class ProfilePoint(_Model):
    """From ``at`` on (until the next point), the load and PV of a sequence case."""

    at: TimeText
    load_w: Annotated[float, Field(ge=0)] | None = None
    pv_w: Annotated[float, Field(ge=0)] | None = None


class DataSpec(_Model):
    """Recorded load and PV for a sequence case (columns ``load_w`` and ``pv_w``, in any format
    ``gridpilot simulate`` reads). Each tick takes the values of the interval holding it."""

    file: Annotated[str, Field(min_length=1)]
    """Path, relative to the file holding the case."""
    format: str = "auto"


class Check(_Model):
    """One check of a sequence case. Exactly one of ``at``, ``by``, ``during``, ``min_dwell``,
    ``max_changes`` says what is checked:

    * ``at: "17:30"`` with ``expect``/``expect_not``: the decision of the tick at (or first after)
      that time;
    * ``by: "16:00"`` with ``soc_pct``: the SOC when the clock reaches that time;
    * ``during: "16:00-19:00"`` (or ``all``) with ``expect``/``expect_not``/``soc_pct``/
      ``grid_w``/``battery_w``: every tick in the window (``soc_pct`` going into the tick, the
      powers the battery model gave over it);
    * ``min_dwell: 15m``: the command kind never changes sooner than this after a change;
    * ``max_changes: 2``: the command kind changes at most this often.
    """

    name: str = ""
    at: TimeText | None = None
    by: TimeText | None = None
    during: str | None = None
    min_dwell: Duration | None = None
    max_changes: Annotated[int, Field(ge=0)] | None = None
    expect: Expectation | None = None
    expect_not: Expectation | list[Expectation] | None = None
    soc_pct: NumberExpectation | None = None
    grid_w: NumberExpectation | None = None
    """Grid power over the tick [W], + import (``during`` only)."""
    battery_w: NumberExpectation | None = None
    """Battery power over the tick [W], + discharging (``during`` only)."""

    @field_validator("min_dwell")
    @classmethod
    def _duration(cls, value: float | str | None) -> float | str | None:
        if value is not None:
            parse_duration_s(value)
        return value

    @field_validator("during")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        if value is not None and value.strip() != "all":
            _parse_hhmm_window(value)
        return value

    @model_validator(mode="after")
    def _shape(self) -> Check:
        selectors = [
            n for n in ("at", "by", "during", "min_dwell", "max_changes")
            if getattr(self, n) is not None
        ]
        if len(selectors) != 1:
            raise ValueError(
                "a check needs exactly one of 'at', 'by', 'during', 'min_dwell', 'max_changes'"
                + (f" (got {', '.join(selectors)})" if selectors else "")
            )
        sel = selectors[0]
        has_decision = self.expect is not None or self.expect_not is not None
        has_power = self.grid_w is not None or self.battery_w is not None
        if has_power and sel != "during":
            raise ValueError("'grid_w' and 'battery_w' go with 'during'")
        if sel == "at" and (not has_decision or self.soc_pct is not None):
            raise ValueError("an 'at' check needs 'expect' or 'expect_not' (use 'by' for soc_pct)")
        if sel == "by" and (self.soc_pct is None or has_decision):
            raise ValueError("a 'by' check needs 'soc_pct' only, e.g. soc_pct: '>= 80'")
        if sel == "during" and not has_decision and self.soc_pct is None and not has_power:
            raise ValueError(
                "a 'during' check needs 'expect', 'expect_not', 'soc_pct', 'grid_w' or 'battery_w'"
            )
        if sel in ("min_dwell", "max_changes") and (has_decision or self.soc_pct is not None):
            raise ValueError(f"'{sel}' stands alone in a check")
        return self

    @property
    def expect_nots(self) -> list[Expectation]:
        return _one_or_many(self.expect_not)


def _parse_hhmm_window(text: str) -> tuple[int, int]:
    """``"16:00-19:00"`` -> minutes of day (start, end); end may be before start (wraps)."""
    m = re.match(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$", text)
    if m is None:
        raise ValueError(f"cannot read window {text!r}; write it like '16:00-19:00' or 'all'")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{text!r} is not a valid time window")
    return h1 * 60 + m1, h2 * 60 + m2


class ScenarioCase(_Model):
    """One scenario test. A case with ``until`` is a sequence case and uses ``checks``; any other
    case uses ``expect`` and/or ``expect_not``."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    at: TimeText
    """The tick's time: ``"2026-01-15 17:30"`` in the site's timezone, or ISO 8601 with an
    offset."""
    state: StateSpec = StateSpec()
    prices: PricesSpec | None = None
    """Default: the prices the policy's tariff has published at ``at``."""
    overrides: list[OverrideSpec] = []
    expect: Expectation | None = None
    expect_not: Expectation | list[Expectation] | None = None
    """The decision must match none of these."""
    until: TimeText | None = None
    """Makes this a sequence case: ticks run from ``at`` up to (not including) ``until``."""
    step: Duration = "5m"
    """Tick interval of a sequence case."""
    profile: list[ProfilePoint] = []
    """Load and PV over a sequence case (piecewise constant); before the first point, ``state``."""
    data: DataSpec | None = None
    """Recorded load and PV for a sequence case, instead of ``profile``."""
    checks: list[Check] = []
    skip: str | None = None
    """Skip this case, giving the reason."""

    @field_validator("step")
    @classmethod
    def _step(cls, value: float | str) -> float | str:
        seconds = parse_duration_s(value)
        if not 1 <= seconds <= 86_400:
            raise ValueError("'step' must be between 1s and 1d")
        return value

    @field_validator("at")
    @classmethod
    def _dated(cls, value: datetime | str) -> datetime | str:
        if isinstance(value, str) and ":" in value and "-" not in value:
            raise ValueError(
                f"'at' needs a date, e.g. '2026-01-15 {value.strip()}' (site time)"
            )
        return value

    @model_validator(mode="after")
    def _shape(self) -> ScenarioCase:
        has_decision = self.expect is not None or self.expect_not is not None
        if self.data is not None and self.profile:
            raise ValueError("give either 'data' or 'profile', not both")
        if self.until is None:
            if self.checks or self.profile or self.data is not None:
                raise ValueError("'checks', 'profile' and 'data' need 'until' (a sequence case)")
            if not has_decision:
                raise ValueError("a case needs 'expect' or 'expect_not' (or 'until' and 'checks')")
        else:
            if has_decision:
                raise ValueError(
                    "a sequence case (with 'until') checks through 'checks', "
                    "e.g. checks: [{at: '17:00', expect: discharge}]"
                )
            if not self.checks:
                raise ValueError("a sequence case needs 'checks'")
        return self

    @property
    def is_sequence(self) -> bool:
        return self.until is not None

    @property
    def expect_nots(self) -> list[Expectation]:
        return _one_or_many(self.expect_not)

    @property
    def step_s(self) -> float:
        return parse_duration_s(self.step)


class TestFileDoc(_Model):
    """A ``*.gridpilot-test.yaml`` file: the policy it tests and its cases."""

    __test__ = False  # not a pytest test class

    policy: Annotated[str, Field(min_length=1)]
    """Path of the policy file, relative to this file."""
    tests: Annotated[list[ScenarioCase], Field(min_length=1)]
