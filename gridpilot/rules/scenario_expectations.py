"""Expectations of a scenario test: what a decision, or a number it leads to, must look like."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from gridpilot.engine.commands import CommandKind
from gridpilot.models import StrictModel

__all__ = ["COMMAND_FIELDS", "Expectation", "NumberExpectation", "one_or_many"]

COMMAND_FIELDS = ("power_w", "target_soc_pct", "floor_soc_pct", "max_import_w", "max_export_w")

_NUM = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
_RANGE_RE = re.compile(rf"^\s*{_NUM}\s*(?:\+-|±|\+/-)\s*{_NUM}\s*$")
_BOUND_RE = re.compile(rf"^\s*(>=|<=|>|<)\s*{_NUM}\s*$")



class NumberExpectation(StrictModel):
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


class Expectation(StrictModel):
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


def one_or_many(value: Expectation | list[Expectation] | None) -> list[Expectation]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
