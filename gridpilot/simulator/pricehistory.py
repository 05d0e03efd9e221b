"""Price history for backtests of a tariff whose prices come from live providers.

A side with ``provider``/``providers`` has no prices of its own: a backtest takes them from a
history, either the CSV that ``gridpilot prices fetch`` writes or the price cache of a live run's
state directory (``<state_dir>/prices``). Either way the prices are installed in the side exactly
as the live run installs them, and the side keeps its provider's publication, so what a tick sees
is decided by the one known-when rule (:func:`gridpilot.prices.known.known_until_s`).

The CSV has one row per slot of a single resolution (the longest of 60, 30, 15 and 5 minutes that
every fetched slot fits, in ``slot_s``), ``timestamp`` in UTC and ``import_price``/``export_price``
in the tariff's currency per kWh, composed (markup, fees, VAT) as the tariff charges; a side without
providers gets its fixed price. ``import_source``/``export_source`` say where each price came
from. A row is written only where every live side has a provider's price: a gap in the file is a
gap in the history. The same file works as a policy's ``dynamic: {file: ..., column:
import_price}``.

Without a fixed schedule behind a live side, a backtest refuses a gap in its history before it
starts, located at the side in the policy (a live run would have had no price there).
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

import numpy as np

from gridpilot.arrays import IntArray
from gridpilot.errors import DataError, PolicyError
from gridpilot.prices.base import PriceProvider, PriceSlots, ProviderContext
from gridpilot.prices.cache import CACHE_DIR, PriceCache, merge_slots
from gridpilot.prices.compose import CurrencyMismatchError, period_values
from gridpilot.prices.failover import fetch_in_order
from gridpilot.rules.policy import Policy
from gridpilot.rules.prices import PriceFileError, PriceSeries, load_price_file
from gridpilot.rules.schema import DynamicPrices
from gridpilot.rules.tariff import PriceSide, Tariff
from gridpilot.rules.tariff_live import load_cached, side_slots

__all__ = [
    "HISTORY_RESOLUTIONS_S",
    "SIDES",
    "FetchedHistory",
    "HistoryRows",
    "fetch_history",
    "history_rows",
    "live_sides",
    "require_live_prices",
    "with_price_history",
    "write_history_csv",
]

SIDES = ("import", "export")
HISTORY_RESOLUTIONS_S = (3600, 1800, 900, 300)
CHUNK_DAYS = 31
"""One request covers at most this many days: ENTSO-E refuses a year and more, Octopus pages."""


def live_sides(tariff: Tariff) -> list[tuple[str, PriceSide]]:
    """The sides whose prices come from providers, by name (``import``, ``export``)."""
    pairs = zip(SIDES, (tariff.import_side, tariff.export_side), strict=True)
    return [(name, side) for name, side in pairs if side.providers]


@dataclass
class FetchedHistory:
    """What :func:`fetch_history` got: per provider key its slots, and every failure."""

    slots: dict[str, PriceSlots] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    requests: int = 0


def _chunks(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    out = []
    at = start
    while at < end:
        nxt = min(at + timedelta(days=CHUNK_DAYS), end)
        out.append((at, nxt))
        at = nxt
    return out


def fetch_history(tariff: Tariff, context: ProviderContext, start: datetime,
                  end: datetime) -> FetchedHistory:
    """Fetch ``[start, end)`` for every live side in failover order, a month at a time, and
    install it in ``tariff``. Failures are collected, never raised: what was fetched is kept."""
    got = FetchedHistory()
    built: dict[str, PriceProvider] = {}
    for name, side in live_sides(tariff):
        providers = [built.setdefault(s.key, s.build(context)) for s in side.providers]
        for lo, hi in _chunks(start, end):
            attempts = fetch_in_order(providers, lo, hi)
            for spec, attempt in zip(side.providers, attempts, strict=False):
                got.requests += 1
                if attempt.slots is None:
                    got.errors.append(f"tariff.{name}: {spec.label}, {lo.isoformat()} to "
                                      f"{hi.isoformat()}: {attempt.error}")
                    continue
                got.slots[spec.key] = merge_slots(got.slots.get(spec.key), attempt.slots)
    held = {key: (slots, _label(tariff, key)) for key, slots in got.slots.items()}
    for name, side in live_sides(tariff):
        try:
            side.set_live(side_slots(side.providers, held))
        except CurrencyMismatchError as exc:
            got.errors.append(f"tariff.{name}: {exc}")
    return got


def _label(tariff: Tariff, key: str) -> str:
    for _, side in live_sides(tariff):
        for spec in side.providers:
            if spec.key == key:
                return spec.label
    return key


def _resolution_s(series: Sequence[PriceSeries]) -> int:
    """The longest resolution every slot edge of every series falls on."""
    for res in HISTORY_RESOLUTIONS_S:
        if all(not np.any(s.start_s % res) and not np.any(s.end_s % res) for s in series):
            return res
    raise DataError("the fetched slots do not fall on 5-minute boundaries; a price history "
                    "needs slots of 5, 15, 30 or 60 minutes")


@dataclass(frozen=True)
class HistoryRows:
    """The rows of a history file and the live sides' gaps [(start_s, end_s)]."""

    resolution_s: int
    start_s: IntArray
    prices: dict[str, np.ndarray]
    sources: dict[str, list[str]]
    gaps: dict[str, list[tuple[int, int]]]


def _runs(mask: np.ndarray, grid: IntArray, step: int) -> list[tuple[int, int]]:
    """The ``[start, end)`` runs of consecutive True entries of ``mask``."""
    runs: list[tuple[int, int]] = []
    idx = np.flatnonzero(mask)
    if idx.shape[0] == 0:
        return runs
    breaks = np.flatnonzero(np.diff(idx) > 1)
    firsts = np.concatenate(([idx[0]], idx[breaks + 1]))
    lasts = np.concatenate((idx[breaks], [idx[-1]]))
    for a, b in zip(firsts.tolist(), lasts.tolist(), strict=True):
        runs.append((int(grid[a]), int(grid[b]) + step))
    return runs


def history_rows(tariff: Tariff, start_s: int, end_s: int) -> HistoryRows:
    """The history of ``[start_s, end_s)`` from the live series installed in ``tariff``."""
    live = live_sides(tariff)
    held = [side.series for _, side in live if side.series is not None]
    res = _resolution_s(held) if held else HISTORY_RESOLUTIONS_S[0]
    lo = start_s - start_s % res
    grid = np.arange(lo, end_s, res, dtype=np.int64)
    keep = np.ones(grid.shape[0], dtype=bool)
    prices: dict[str, np.ndarray] = {}
    sources: dict[str, list[str]] = {}
    gaps: dict[str, list[tuple[int, int]]] = {}
    for name, side in zip(SIDES, (tariff.import_side, tariff.export_side), strict=True):
        if not side.providers:
            prices[name] = side.prices_s(grid)
            sources[name] = ["fixed"] * grid.shape[0]
            continue
        values = np.full(grid.shape[0], np.nan)
        names = [""] * grid.shape[0]
        found = np.zeros(grid.shape[0], dtype=bool)
        if side.series is not None and side.origin is not None:
            values, found = side.series.lookup(grid)
            idx = np.clip(np.searchsorted(side.series.start_s, grid, side="right") - 1, 0, None)
            origin = side.origin[idx]
            names = [side.origin_names[int(o)] if f else ""
                     for o, f in zip(origin.tolist(), found.tolist(), strict=True)]
        prices[name] = values
        sources[name] = names
        gaps[name] = _runs(~found, grid, res)
        keep &= found
    return HistoryRows(res, grid[keep], {k: v[keep] for k, v in prices.items()},
                       {k: [s for s, ok in zip(v, keep.tolist(), strict=True) if ok]
                        for k, v in sources.items()}, gaps)


def _iso(t_s: int) -> str:
    return datetime.fromtimestamp(t_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_history_csv(rows: HistoryRows, out: TextIO) -> int:
    """Write ``rows`` as CSV; returns the number of rows. Prices are written with Python's
    shortest round-tripping float text, so the file reads back bit for bit."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["timestamp", "slot_s", "import_price", "export_price", "import_source",
                     "export_source"])
    for i, t in enumerate(rows.start_s.tolist()):
        writer.writerow([_iso(t), rows.resolution_s, repr(float(rows.prices["import"][i])),
                         repr(float(rows.prices["export"][i])), rows.sources["import"][i],
                         rows.sources["export"][i]])
    return int(rows.start_s.shape[0])


def _clone(side: PriceSide) -> PriceSide:
    fresh = PriceSide(side.tz, side.default, side.periods,
                      None if side.providers else side.series, providers=side.providers,
                      composition=side.composition, currency=side.currency)
    fresh.publication = side.publication
    return fresh


def with_price_history(policy: Policy, path: Path) -> Policy:
    """``policy`` with its live sides' prices from ``path``: a history CSV, or a state
    directory whose price cache a live run filled. Raises :class:`DataError` naming the file."""
    old = policy.tariff
    tariff = Tariff(old.tz, _clone(old.import_side), _clone(old.export_side),
                    currency=old.currency, standing_charge_per_day=old.standing_charge_per_day,
                    demand_charge_per_kw=old.demand_charge_per_kw)
    if path.is_dir():
        if not (path / CACHE_DIR).is_dir():
            raise DataError(f"--price-history {path}: no price cache ({CACHE_DIR}/) in this "
                            "directory; give the state directory of a live run, or a CSV "
                            "written by 'gridpilot prices fetch'")
        problems = load_cached(tariff, PriceCache(path))
        if problems:
            raise DataError(f"--price-history {path}: " + "; ".join(problems))
    else:
        for name, side in live_sides(tariff):
            series = _read_history(path, f"{name}_price")
            side.series = series
            side.origin = np.zeros(len(series), dtype=np.int64)
            side.origin_names = (f"{path.name} (history)",)
    return dataclasses.replace(policy, tariff=tariff)


_HOW = "write the file with 'gridpilot prices fetch POLICY --from DATE --to DATE --out FILE.csv'"


def _read_history(path: Path, column: str) -> PriceSeries:
    """One column of a history file. Its ``slot_s`` column gives each slot's length (a history
    with many gaps does not show it in the spacing of its rows); a file without it is read as a
    ``dynamic`` price file, the slot length from the commonest spacing."""
    shown = f"--price-history {path}"
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), [])
    except OSError as exc:
        raise DataError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    if "slot_s" not in [h.strip() for h in header]:
        try:
            series = load_price_file(DynamicPrices(file=str(path.resolve()), column=column),
                                     Path.cwd())
        except PriceFileError as exc:
            raise DataError(f"--price-history: {exc}; {_HOW}") from None
        return dataclasses.replace(series, source=path.name)
    starts: list[int] = []
    lengths: list[int] = []
    values: list[float] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            where = f"{shown}: row {n}"
            try:
                moment = datetime.fromisoformat(row["timestamp"])
                slot = int(row["slot_s"])
                value = float(row[column])
            except KeyError as exc:
                raise DataError(f"{where}: no column {exc}; {_HOW}") from None
            except (TypeError, ValueError):
                raise DataError(f"{where}: timestamp, slot_s or {column} is malformed; "
                                f"{_HOW}") from None
            if moment.tzinfo is None or slot not in HISTORY_RESOLUTIONS_S or not math.isfinite(
                    value):
                raise DataError(f"{where}: needs a timestamp with its UTC offset, slot_s of "
                                f"{', '.join(map(str, HISTORY_RESOLUTIONS_S))} and a finite "
                                f"{column}")
            starts.append(int(moment.timestamp()))
            lengths.append(slot)
            values.append(value)
    if not starts:
        raise DataError(f"{shown}: holds no prices; {_HOW}")
    start = np.asarray(starts, dtype=np.int64)
    end = start + np.asarray(lengths, dtype=np.int64)
    bad = np.flatnonzero(start[1:] < end[:-1])
    if bad.shape[0]:
        raise DataError(f"{shown}: row {int(bad[0]) + 3} is not after the row before it; {_HOW}")
    return PriceSeries(start, end, np.asarray(values, dtype=np.float64), min(lengths),
                       path.name)


def _fallback_nan(side: PriceSide, grid: IntArray) -> np.ndarray:
    return period_values(grid, side.tz, side.periods,
                         math.nan if side.default is None else side.default)


def require_live_prices(policy: Policy, start_s: int, end_s: int, horizon_s: int) -> None:
    """Refuse a backtest of ``[start_s, end_s)`` that would meet a time without a price.

    A live side needs a history; without a fixed schedule behind it, every slot a tick can see
    (the simulated period, and the published prices after it up to ``horizon_s``) must be in
    it. Raises :class:`PolicyError` located at the side's ``provider(s)``.
    """
    issues = []
    for name, side in live_sides(policy.tariff):
        schedule = policy.doc.tariff.import_ if name == "import" else policy.doc.tariff.export
        where = ("tariff", name, "provider" if schedule.provider is not None else "providers")
        labels = ", ".join(s.label for s in side.providers)
        if side.series is None:
            issues.append(policy.source.issue(
                where, f"a backtest needs the price history of {labels}, and none was given",
                "fetch it with 'gridpilot prices fetch POLICY --from DATE --to DATE --out "
                "prices.csv' and pass '--price-history prices.csv' (or a live run's state "
                "directory), or decide with the data's prices: '--prices data'"))
            continue
        step = int(side.series.resolution_s)
        hi = max(end_s, min(side.series.last_end_s, end_s + horizon_s))
        grid = np.arange(start_s - start_s % step, hi, step, dtype=np.int64)
        _, found = side.series.lookup(grid)
        gap = ~found & np.isnan(_fallback_nan(side, grid))
        runs = _runs(gap, grid, step)
        if runs:
            first = runs[0]
            issues.append(policy.source.issue(
                where, f"the price history of {labels} has no price from {_iso(first[0])} to "
                f"{_iso(first[1])}" + (f" (and {len(runs) - 1} more gap(s))" if len(runs) > 1
                                       else "") + ", and no fixed schedule stands behind it",
                "fetch the missing days again ('gridpilot prices fetch'), backtest a period the "
                "history covers (--from/--to), or add 'default: <price>' to this side"))
    if issues:
        raise PolicyError(issues)
