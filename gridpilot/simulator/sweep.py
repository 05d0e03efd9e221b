"""Parameter sweeps: the settings to vary and every combination of them (the fleet's
executors run them: :func:`gridpilot.fleet.sweep.run_sweep`).

A setting is a dotted path into the policy document (``strategies.arbitrage.min_spread``, or
``rules.2.action.power_w``) with values ``A:B:STEP`` (inclusive range) or ``a,b,c``. Every variant
is validated and compiled exactly like the policy file, so a bad value fails with the same
message ``gridpilot check`` would give.
"""

from __future__ import annotations

import copy
import csv
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridpilot.errors import DataError, PolicyError

__all__ = [
    "CHECKED_VALUES",
    "SweepSetting",
    "SweepVariant",
    "apply_setting",
    "check_settings",
    "parse_setting",
    "variants",
    "write_csv",
]


@dataclass(frozen=True)
class SweepSetting:
    path: tuple[str, ...]
    values: tuple[Any, ...]

    @property
    def name(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class SweepVariant:
    """One combination and its result (``error`` set when it could not run)."""

    settings: tuple[tuple[str, Any], ...]
    bill: float | None = None
    import_kwh: float | None = None
    export_kwh: float | None = None
    peak_import_w: float | None = None
    equivalent_full_cycles: float | None = None
    error: str = ""


def _number(text: str) -> Any:
    t = text.strip()
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            continue
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    return t


def parse_setting(text: str) -> SweepSetting:
    """``strategies.x.key=A:B:STEP`` or ``...=a,b,c``."""
    if "=" not in text:
        raise DataError(f"--set {text!r}: use PATH=A:B:STEP or PATH=a,b,c")
    path_s, values_s = text.split("=", 1)
    path = tuple(p for p in path_s.strip().split(".") if p)
    if not path:
        raise DataError(f"--set {text!r}: empty path")
    if values_s.count(":") == 2:
        a, b, st = (_number(x) for x in values_s.split(":"))
        if (not all(isinstance(x, int | float) and math.isfinite(x) for x in (a, b, st))
                or st <= 0 or b < a):
            raise DataError(f"--set {text!r}: A:B:STEP needs numbers with A <= B and STEP > 0")
        n = int((b - a) / st + 1e-9) + 1
        if n > 10_000:
            raise DataError(f"--set {text!r}: {n} values is too many")
        vals: tuple[Any, ...] = tuple(
            round(a + i * st, 10) if isinstance(st, float) or isinstance(a, float) else a + i * st
            for i in range(n)
        )
    else:
        vals = tuple(_number(v) for v in values_s.split(",") if v.strip())
    if not vals:
        raise DataError(f"--set {text!r}: no values")
    return SweepSetting(path, vals)


def variants(settings: Sequence[SweepSetting]) -> list[tuple[tuple[str, Any], ...]]:
    names = [s.name for s in settings]
    return [tuple(zip(names, combo, strict=True))
            for combo in itertools.product(*(s.values for s in settings))]


def _index(node: list[Any], key: str, dotted: str) -> int:
    try:
        i = int(key)
        node[i]
    except (ValueError, IndexError):
        valid = f"0..{len(node) - 1}" if node else "the list is empty"
        raise DataError(f"--set {dotted}: {key!r} is not an index of this list ({valid})") from None
    return i


def apply_setting(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set the value at the dotted path ``dotted`` of plain policy data (as ``--set`` does);
    a path the policy lacks is a :class:`DataError` naming it."""
    node: Any = data
    parts = dotted.split(".")
    for i, key in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = node[_index(node, key, dotted)]
        elif isinstance(node, dict):
            if key not in node:
                if parts[0] == "strategies" and i == 1:
                    node[key] = {}
                else:
                    raise DataError(f"--set {dotted}: the policy has no {key!r} here")
            node = node[key]
        else:
            raise DataError(f"--set {dotted}: {key!r} is not a section")
    last = parts[-1]
    if isinstance(node, list):
        node[_index(node, last, dotted)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise DataError(f"--set {dotted}: cannot set a value inside a scalar")


CHECKED_VALUES = 20
"""How many of a setting's values :func:`check_settings` tries at most (evenly spread): each
costs a validation and compilation of the whole policy."""


def check_settings(policy_path: str | Path, settings: Sequence[SweepSetting]) -> None:
    """Refuse, before any backtest runs, a setting none of whose values gives a valid policy
    (a path the policy lacks, an unknown strategy, a value of the wrong type): every variant
    would only fail with the same error. Values that fail alongside valid ones stay per-variant
    errors in the results. Of a long range, :data:`CHECKED_VALUES` evenly spread values are
    tried."""
    from gridpilot.rules.compile import compile_policy
    from gridpilot.rules.loader import load_policy_doc, validate_policy_data

    _doc, smap, data = load_policy_doc(policy_path)
    for setting in settings:
        first_error = ""
        n = len(setting.values)
        k = min(n, CHECKED_VALUES)
        tried = sorted({round(i * (n - 1) / max(k - 1, 1)) for i in range(k)})
        for value in (setting.values[i] for i in tried):
            candidate = copy.deepcopy(data)
            try:
                apply_setting(candidate, setting.name, value)
                doc = validate_policy_data(candidate, smap)
                compile_policy(doc, smap, candidate, Path(policy_path))
            except (PolicyError, DataError) as exc:
                first_error = first_error or str(exc).splitlines()[0]
                continue
            first_error = ""
            break
        if first_error:
            which = "no value" if len(tried) == n else f"none of {len(tried)} values tried of {n}"
            raise DataError(
                f"--set {setting.name}: {which} gives a valid policy, nothing was run: "
                f"{first_error.removeprefix(f'--set {setting.name}: ')}"
            )


def write_csv(path: str | Path, results: Sequence[SweepVariant]) -> None:
    names = [n for n, _ in results[0].settings] if results else []
    with Path(path).open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["rank", *names, "bill", "import_kwh", "export_kwh", "peak_import_w",
                    "equivalent_full_cycles", "error"])
        for i, v in enumerate(results, start=1):
            w.writerow([i, *(val for _, val in v.settings), v.bill, v.import_kwh, v.export_kwh,
                        v.peak_import_w, v.equivalent_full_cycles, v.error])
