"""``gridpilot decide POLICY [--state STATE.json] [--at ISO-TIME] [--json]``: explain one tick.

Prints the command the engine decides for the given state and the trace behind it: every rule,
override and strategy considered with what it proposed, the winner, and every limit that changed
the command. ``--json`` prints the :class:`~gridpilot.engine.decision.Decision` as JSON instead.

STATE.json is an object; every field is optional and takes the default below.

=======================  ============================================================
field                    default
=======================  ============================================================
``time``                 ``--at`` if given, else now (ISO 8601 with an offset)
``soc_pct``              50
``load_w``, ``pv_w``     0
``battery_w``            0
``grid_w``               ``load_w - pv_w - battery_w``
``prices``               the policy's tariff as known at ``time`` (``{"start": [...],
                         "end": ISO, "import_per_kwh": [...], "export_per_kwh": [...]}``)
``forecast_net_load_w``  none (strategies use their own flat default)
``month_peak_import_w``  0
``device_mode``          none (``{"kind": "charge", "source": "person", "native": "..."}``)
``active_command``       none (``{"kind": "hold", ...}`` as in the JSON output)
``active_since``         none (ISO 8601)
``active_layer``         none (``manual``, ``schedule`` or ``default``)
=======================  ============================================================

``--at`` overrides the state's ``time``.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import ValidationError, model_validator

from gridpilot.cli.terminal import stdout
from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.decision import Decision
from gridpilot.engine.partial_state import PartialState, build_site_state, forecast_array
from gridpilot.engine.state import PriceOutlook, SiteState
from gridpilot.errors import DataError
from gridpilot.exitcodes import ExitCode
from gridpilot.jsontext import loads
from gridpilot.models import StrictModel

__all__ = ["format_decision", "load_state", "register"]


class _Prices(StrictModel):
    start: list[datetime]
    end: datetime
    import_per_kwh: list[float]
    export_per_kwh: list[float] | None = None

    @model_validator(mode="after")
    def _aligned(self) -> _Prices:
        n = len(self.start)
        if n == 0:
            raise ValueError("prices.start needs at least one slot")
        if len(self.import_per_kwh) != n or (
            self.export_per_kwh is not None and len(self.export_per_kwh) != n
        ):
            raise ValueError("prices lists must have one value per slot in 'start'")
        if any(b <= a for a, b in zip(self.start, self.start[1:], strict=False)):
            raise ValueError("prices.start must be in time order, each slot after the last")
        if self.end <= self.start[-1]:
            raise ValueError("prices.end must be after the last slot's start")
        return self


class _StateFile(PartialState):
    """STATE.json: the shared partial state plus the time, explicit prices and the remembered
    command's start and layer (all times ISO 8601 with an offset)."""

    time: datetime | None = None
    prices: _Prices | None = None
    active_since: datetime | None = None
    active_layer: Literal["manual", "schedule", "default"] | None = None


def _aware(t: datetime, what: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise DataError(f"{what}: {t.isoformat()} needs a UTC offset, e.g. 2018-01-10T17:00:00Z")
    # Far from the UNIX epoch the day-ahead horizon and UNIX seconds leave datetime's range.
    if not _EARLIEST <= t <= _LATEST:
        raise DataError(f"{what}: {t.isoformat()} is out of range; give a time between "
                        f"{_EARLIEST.year} and {_LATEST.year}")
    return t


_EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def load_state(path: Path | None, at: datetime | None, policy: Any) -> SiteState:
    """Read STATE.json (or nothing) into a :class:`SiteState`, filling the documented defaults."""
    raw: Any = {}
    name = str(path) if path is not None else "state"
    if path is not None:
        try:
            raw = loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise DataError(f"{name}: cannot read: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise DataError(f"{name}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{name}: byte {exc.start}: not UTF-8 text; give a JSON state file "
                "(see `gridpilot decide --help`)"
            ) from None
    try:
        doc = _StateFile.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            hint = ""
            if err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
                hint = f" (valid fields: {', '.join(_StateFile.model_fields)})"
            lines.append(f"{name}: {loc}: {err['msg']}{hint}")
        raise DataError("\n".join(lines)) from None
    if at is not None:
        t = _aware(at, "--at")
    elif doc.time is not None:
        t = _aware(doc.time, f"{name}: time")
    else:
        from gridpilot.clock import SystemClock

        t = SystemClock().now()
    if doc.prices is not None:
        p = doc.prices
        starts = np.array([int(_aware(s, f"{name}: prices.start").timestamp()) for s in p.start],
                          dtype=np.int64)
        imp = np.array(p.import_per_kwh, dtype=np.float64)
        exp = np.array(p.export_per_kwh if p.export_per_kwh is not None else [0.0] * len(imp),
                       dtype=np.float64)
        prices = PriceOutlook(starts, int(_aware(p.end, f"{name}: prices.end").timestamp()),
                              imp, exp)
    else:
        prices = policy.tariff.outlook(t)
    try:
        forecast = forecast_array(doc.forecast_net_load_w, len(prices))
    except ValueError as exc:
        raise DataError(f"{name}: {exc}") from None
    return build_site_state(
        doc,
        t,
        prices,
        forecast_net_load_w=forecast,
        active_command=None if doc.active_command is None else doc.active_command.command(),
        active_since=None if doc.active_since is None
        else _aware(doc.active_since, f"{name}: active_since"),
        active_layer=doc.active_layer,
    )


def _command_text(c: Command) -> str:
    parts = [c.describe()]
    extras = []
    if c.kind is not CommandKind.CHARGE and c.kind is not CommandKind.DISCHARGE \
            and c.power_w is not None:
        extras.append(f"battery power <= {c.power_w:g} W")
    extras.append(f"SOC {c.floor_soc_pct:g}..{c.target_soc_pct:g} %")
    if c.max_import_w is not None and c.kind is not CommandKind.PEAK_SHAVE:
        extras.append(f"import <= {c.max_import_w:g} W")
    if c.max_export_w is not None and c.kind is not CommandKind.LIMIT_EXPORT:
        extras.append(f"export <= {c.max_export_w:g} W")
    return parts[0] + " (" + ", ".join(extras) + ")"


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def format_decision(decision: Decision, state: SiteState, policy_name: str, tz: Any) -> str:
    """The human-readable trace."""
    local = state.time.astimezone(tz)
    lines = [
        f"policy   {policy_name}",
        f"time     {state.time.isoformat()} (site time {local:%Y-%m-%d %H:%M %Z})",
        f"state    SOC {state.soc_pct:g} %, load {state.load_w:g} W, PV {state.pv_w:g} W, "
        f"{len(state.prices)} price slots known",
        "",
        f"command  {_command_text(decision.command)}",
        f"winner   {decision.winner} [{decision.layer}]",
        f"why      {decision.reason}",
    ]
    if decision.yielded:
        lines.append("         gridpilot yields: nothing will be sent")
    lines += ["", "considered (in arbitration order):"]
    width = max((len(c.source) for c in decision.candidates), default=0)
    for c in decision.candidates:
        mark = {"won": "*", "held": "=", "no_proposal": "-", "not_active": ".",
                "outranked": " "}.get(c.outcome, "?")
        prop = f" -> {c.proposal.describe()}" if c.proposal is not None else ""
        lines.append(f"  {mark} {c.source:<{width}}  [{c.layer}] {c.outcome}{prop}: {c.reason}")
    if decision.limits:
        lines += ["", "limits that changed the command:"]
        for h in decision.limits:
            note = f" ({h.note})" if h.note else ""
            if h.field == "kind":
                lines.append(f"  {h.limit}: {h.note}")
            else:
                lines.append(f"  {h.limit}: {h.field} {_num(h.before)} -> {_num(h.after)}{note}")
    else:
        lines += ["", "no limit changed the command"]
    if decision.notes:
        lines += ["", "notes:"] + [f"  {n}" for n in decision.notes]
    return "\n".join(lines)


def _parse_at(text: str) -> datetime:
    try:
        return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")), repr(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time, e.g. 2018-01-10T17:00:00Z"
        ) from None
    except DataError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Decide one tick: print the command and a readable trace (every rule and "
        "strategy considered, the winner, the limits that bound it). Missing state fields take "
        "documented defaults (see the README)."
    )
    parser.add_argument("policy", metavar="POLICY", help="the policy file")
    parser.add_argument("--state", metavar="STATE.json", help="the site state (JSON object)")
    parser.add_argument("--at", metavar="ISO-TIME", type=_parse_at,
                        help="decide at this time (overrides the state's time)")
    parser.add_argument("--json", action="store_true", help="print the Decision as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    from gridpilot.engine.decide import decide
    from gridpilot.rules.loader import load_policy

    policy = load_policy(args.policy)
    state = load_state(Path(args.state) if args.state else None, args.at, policy)
    decision = decide(policy, state)
    if args.json:
        print(json.dumps(decision.as_dict(), indent=2), file=stdout())
    else:
        print(format_decision(decision, state, policy.name, policy.tz), file=stdout())
    return ExitCode.OK
