"""The scenario-test language: the case a policy's ``tests:`` section and a
``*.gridpilot-test.yaml`` file hold.

A *case* sets up one instant (``at``) and a partial site state, asks the engine for a decision and
checks it against ``expect`` / ``expect_not``. A *sequence case* (one with ``until``) runs a tick
every ``step`` from ``at`` to ``until``, moving the state of charge through the battery model, and
checks ``checks`` along the way: the decision at a time, the SOC reached by a deadline, what holds
during a window, dwell time and the number of mode changes.

The language is split by concern: durations and times in :mod:`gridpilot.rules.scenario_base`,
expectations in :mod:`gridpilot.rules.scenario_expectations`, the state, prices and overrides in
:mod:`gridpilot.rules.scenario_state`; this module holds the case and its sequence checks. It is
part of the policy language (the policy's ``tests:`` section); running a case is
:mod:`gridpilot.testing`'s work.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, field_validator, model_validator

from gridpilot.models import StrictModel
from gridpilot.rules.scenario_base import Duration, TimeText
from gridpilot.rules.scenario_expectations import Expectation, NumberExpectation, one_or_many
from gridpilot.rules.scenario_state import OverrideSpec, PricesSpec, StateSpec
from gridpilot.timeutil import parse_duration_s

__all__ = [
    "Check",
    "DataSpec",
    "ProfilePoint",
    "ScenarioCase",
    "TestFileDoc",
    "parse_hhmm_window",
]


class _Model(BaseModel):
    # Derived from BaseModel here, not from StrictModel, so linters see the pydantic model whose
    # list defaults are copied per instance.
    model_config = StrictModel.model_config


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

    @field_validator("during")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        if value is not None and value.strip() != "all":
            parse_hhmm_window(value)
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
        return one_or_many(self.expect_not)


def parse_hhmm_window(text: str) -> tuple[int, int]:
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
        return one_or_many(self.expect_not)

    @property
    def step_s(self) -> float:
        return parse_duration_s(self.step)


class TestFileDoc(_Model):
    """A ``*.gridpilot-test.yaml`` file: the policy it tests and its cases."""

    __test__ = False  # not a pytest test class

    policy: Annotated[str, Field(min_length=1)]
    """Path of the policy file, relative to this file."""
    tests: Annotated[list[ScenarioCase], Field(min_length=1)]
