"""The runtime policy: a validated document compiled into fast objects.

``load_policy(path)`` is the one way in. It reads the YAML, validates the document, runs the
cross-field checks, loads dynamic price files, builds time windows and strategy instances, and
returns a frozen :class:`Policy` that ``decide()`` reads without further validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from gridpilot.engine.commands import DeviceLimits
from gridpilot.errors import PolicyError
from gridpilot.rules.schema import Action, Layer, PolicyDoc, Rule
from gridpilot.rules.yamlsource import SourceMap

if TYPE_CHECKING:
    from gridpilot.engine.forecast import ForecastProvider
    from gridpilot.engine.forecast_registry import ForecastFactory
    from gridpilot.rules.tariff import Tariff
    from gridpilot.rules.windows import Window
    from gridpilot.strategies.base import Strategy

__all__ = ["CompiledGuard", "CompiledOverride", "CompiledRule", "Policy", "load_policy"]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule (or the ``default``) ready for the engine.

    ``index`` is the rule's position in the file (``-1`` for ``default``); ``window`` is ``None``
    when the rule always applies. Exactly one of ``action`` and ``strategy`` is set.
    """

    name: str
    layer: Layer
    index: int
    window: Window | None
    action: Action | None
    strategy: Strategy | None
    force: bool = False
    spec: Rule | None = None


@dataclass(frozen=True, slots=True)
class CompiledGuard:
    """A guard with its window; ``priority`` is its position under ``guards`` (0 = highest)."""

    name: str
    kind: str
    priority: int
    window: Window | None
    min_soc_pct: float | None = None
    max_soc_pct: float | None = None
    max_import_w: float | None = None
    max_export_w: float | None = None
    max_charge_w: float | None = None
    max_discharge_w: float | None = None


@dataclass(frozen=True, slots=True)
class CompiledOverride:
    """An entry of the policy's ``manual`` section (or a run-time override), with aware times."""

    name: str
    action: Action
    start_s: float
    """Start, UNIX seconds."""
    until_s: float
    """Expiry, UNIX seconds (exclusive)."""
    force: bool = False


@dataclass(frozen=True)
class Policy:
    doc: PolicyDoc
    source: SourceMap
    path: Path | None
    tz: ZoneInfo
    limits: DeviceLimits
    tariff: Tariff
    rules: tuple[CompiledRule, ...]
    guards: tuple[CompiledGuard, ...]
    default: CompiledRule
    overrides: tuple[CompiledOverride, ...]
    strategies: Mapping[str, Strategy]
    forecast_factory: ForecastFactory | None = None
    """Makes the policy's load/PV forecast provider (``forecast:``); ``None`` = the default."""
    inputs: tuple[Path, ...] = ()
    """Every file loading the policy read (the policy itself, price files...), in the order
    read: what ``gridpilot run`` watches to reload it. Recorded by :mod:`gridpilot.inputs`."""

    def new_forecast(self) -> ForecastProvider:
        """A fresh forecast provider of the kind the policy names (each caller keeps its own
        history): the time-of-week average unless ``forecast:`` says otherwise."""
        if self.forecast_factory is not None:
            return self.forecast_factory()
        from gridpilot.engine.forecast import TimeOfWeekAverage

        return TimeOfWeekAverage(self.tz)

    @property
    def name(self) -> str:
        return self.doc.site.name


def load_policy(path: str | Path, *, environ: Mapping[str, str] | None = None) -> Policy:
    """Load, validate and compile the policy file at ``path``.

    Raises :class:`gridpilot.errors.PolicyError` listing every problem with its file position.
    """
    from gridpilot.inputs import recording_inputs
    from gridpilot.rules.compile import compile_policy
    from gridpilot.rules.loader import merge_issues, read_policy_doc
    from gridpilot.rules.yamlsource import redact_error

    # Every stage's messages pass through redaction: a value substituted from ${VAR} (a token,
    # a password) must not reach a terminal or a log, whichever check happens to quote it.
    with recording_inputs() as read:
        doc, smap, data, pending = read_policy_doc(path, environ=environ)
        try:
            policy = compile_policy(doc, smap, data, Path(path))
        except PolicyError as exc:
            raise redact_error(PolicyError(merge_issues(pending, exc.issues)), smap) from None
        except (TypeError, ValueError):
            # Only a value already reported (and replaced) can upset the compiler this way.
            if not pending:
                raise
            raise redact_error(PolicyError(pending), smap) from None
        if pending:
            raise redact_error(PolicyError(pending), smap)
    return replace(policy, inputs=tuple(read))
