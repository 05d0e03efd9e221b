"""``gridpilot forecast show POLICY [--json] [--data FILE] [--at TIME] [--offline]`` and
``gridpilot forecast evaluate POLICY --data FILE [--from DATE] [--to DATE] [--json]
[--plot FILE.png]``: the policy's load/PV forecast.

``show`` prints the next 48 hours of load, PV and net load with their sources. The provider
learns from ``--data`` up to ``--at`` when given (a recording; otherwise it has seen nothing and
the load is its flat default); a live provider (``open_meteo``) is asked for a fresh forecast
through the cache of the policy's state directory, as ``gridpilot run`` would (``--offline``:
the cache only). A failed fetch is said, and the forecast falls back as the live loop's would.

``evaluate`` walks forward through the recording: at every interval the provider has seen the
readings up to then and forecasts the next 48 half hours (the next day), scored against what was
recorded: MAE, RMSE and bias per lead hour, and skill against persistence (the same slot a day
earlier). With ``--plot``, a PNG of MAE and bias per lead hour against persistence's MAE.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np

from gridpilot.cli.argtypes import date_or_time
from gridpilot.cli.terminal import stdout
from gridpilot.clock import SystemClock
from gridpilot.errors import DataError, ForecastFetchError
from gridpilot.exitcodes import ExitCode
from gridpilot.forecasts.evaluate import Evaluation, walk_forward
from gridpilot.forecasts.live import ForecastContext, LiveForecast
from gridpilot.recorded import load_data
from gridpilot.rules.loader import load_policy
from gridpilot.rules.policy import Policy

__all__ = ["http_client", "register"]

_HORIZON_S = 48 * 3600
_SLOT_S = 1800


def http_client() -> httpx.Client:
    """The client live providers send through: TLS verified. Tests replace it to reach an
    emulator."""
    return httpx.Client(follow_redirects=True)


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = "Show or evaluate the policy's load/PV forecast."
    sub = parser.add_subparsers(dest="forecast_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="the next 48 hours of load and PV, with their sources")
    show.add_argument("policy", metavar="POLICY", help="policy file")
    show.add_argument("--json", action="store_true", help="print machine-readable JSON")
    show.add_argument("--data", metavar="FILE", help="recorded data the forecast learns from")
    show.add_argument("--at", metavar="ISO-TIME", type=date_or_time,
                      help="forecast from this time (default: now; with --data, the end of it)")
    show.add_argument("--state-dir", metavar="DIR",
                      help="where the forecast cache is (default: the policy's run.state_dir)")
    show.add_argument("--offline", action="store_true", help="fetch nothing: the cache only")
    show.set_defaults(handler=run_show)
    ev = sub.add_parser("evaluate", help="walk-forward errors of the forecast on recorded data")
    ev.add_argument("policy", metavar="POLICY", help="policy file")
    ev.add_argument("--data", required=True, metavar="FILE", help="recorded data (CSV, ...)")
    ev.add_argument("--from", dest="start", metavar="DATE", type=date_or_time,
                    help="first day scored (site time); the days before it are learnt from")
    ev.add_argument("--to", dest="end", metavar="DATE", type=date_or_time,
                    help="end (exclusive, site time)")
    ev.add_argument("--json", action="store_true", help="print machine-readable JSON")
    ev.add_argument("--plot", metavar="FILE.png", help="write MAE and bias per lead hour")
    ev.set_defaults(handler=run_evaluate)


def parse_date(text: str, tz: ZoneInfo, what: str) -> int:
    """UNIX seconds of ``text`` (a date or ISO time; a naive one is site time)."""
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise DataError(f"{what} {text!r}: use YYYY-MM-DD or an ISO 8601 time") from None
    return int((t if t.tzinfo is not None else t.replace(tzinfo=tz)).timestamp())


# -- show ---------------------------------------------------------------------------------------
def run_show(args: argparse.Namespace) -> ExitCode:
    policy = load_policy(args.policy)
    provider = policy.new_forecast()
    at_s = parse_date(args.at, policy.tz, "--at") if args.at else None
    if args.data:
        series = load_data(args.data)
        if at_s is not None:
            series = series.slice_time(None, at_s)
        if not len(series):
            raise DataError(f"{args.data}: no data before --at")
        load, pv = series.columns["load_w"], series.columns["pv_w"]
        for k, t_s in enumerate(series.start_s.tolist()):
            provider.observe(datetime.fromtimestamp(t_s, UTC), float(load[k]), float(pv[k]))
        if at_s is None:
            at_s = int(series.start_s[-1]) + series.interval_s
    now = datetime.fromtimestamp(at_s, UTC) if at_s is not None else SystemClock().now()
    fetch: dict[str, Any] = {}
    if isinstance(provider, LiveForecast) and not args.offline:
        fetch = _refresh(provider, policy, args, now)
    start = int(now.timestamp()) // _SLOT_S * _SLOT_S + _SLOT_S
    slots = start + _SLOT_S * np.arange(_HORIZON_S // _SLOT_S, dtype=np.int64)
    net = provider.forecast(slots)
    pv_of = getattr(provider, "pv_w", None)
    pv_fc = np.asarray(pv_of(slots), dtype=np.float64) if callable(pv_of) else None
    sources = provider.sources() if isinstance(provider, LiveForecast) else {}
    kind = policy.doc.forecast.type
    rows: list[dict[str, Any]] = [{"start": datetime.fromtimestamp(int(s), policy.tz).isoformat(),
             "net_w": round(float(n), 1),
             **({"pv_w": round(float(p), 1), "load_w": round(float(n + p), 1)}
                if pv_fc is not None else {})}
            for s, n, p in zip(slots.tolist(), net.tolist(),
                               (pv_fc if pv_fc is not None else net).tolist(), strict=True)]
    out = stdout()
    if args.json:
        print(json.dumps({"policy": str(args.policy), "forecast": kind, "sources": sources,
                          "fetch": fetch, "slots": rows}, indent=2), file=out)
        return ExitCode.OK
    print(f"forecast: {kind}; from {rows[0]['start']} for 48 hours", file=out)
    if fetch:
        print("fetch: " + ", ".join(f"{k}={v}" for k, v in fetch.items()), file=out)
    if sources:
        print("sources: " + ", ".join(f"{k}={v}" for k, v in sources.items()), file=out)
    for row in rows[::2]:  # hourly is enough to read
        extra = (f"  load {row['load_w']:8.0f} W  pv {row['pv_w']:8.0f} W"
                 if "pv_w" in row else "")
        print(f"{row['start'][:16]}  net {row['net_w']:8.0f} W{extra}", file=out)
    return ExitCode.OK


def _refresh(provider: LiveForecast, policy: Policy, args: argparse.Namespace,
             now: datetime) -> dict[str, Any]:
    base = policy.path.parent if policy.path is not None else Path()
    state_dir = Path(args.state_dir) if args.state_dir else base / policy.doc.run.state_dir
    with http_client() as client:
        context = ForecastContext(client, SystemClock(), state_dir, base)
        try:
            result = provider.refresh(context, now)
        except ForecastFetchError as exc:
            return {"outcome": "error", "error": str(exc), "fallback": "replay/time_of_week"}
    return {"outcome": result.outcome, **result.detail}


# -- evaluate -----------------------------------------------------------------------------------
def run_evaluate(args: argparse.Namespace) -> ExitCode:
    policy = load_policy(args.policy)
    series = load_data(args.data)
    start = parse_date(args.start, policy.tz, "--from") if args.start else None
    end = parse_date(args.end, policy.tz, "--to") if args.end else None
    series = series.slice_time(None, end)
    first = 0 if start is None else int(np.searchsorted(series.start_s, start))
    if first >= len(series) - 1:
        raise DataError(f"{args.data}: no data to score between --from and --to")
    horizon = max(1, 86_400 // series.interval_s)
    result = walk_forward(policy.new_forecast, series.start_s, series.columns["load_w"],
                          series.columns["pv_w"], horizon=horizon, first=first)
    if args.plot:
        _plot(result, Path(args.plot), policy.doc.forecast.type)
    out = stdout()
    if args.json:
        print(json.dumps({
            "policy": str(args.policy), "forecast": policy.doc.forecast.type,
            **result.summary(),
            "per_lead_hour": [
                {"lead_hour": int(h), "mae_w": round(float(m), 1), "rmse_w": round(float(r), 1),
                 "bias_w": round(float(b), 1), "persistence_mae_w": _num(p)}
                for h, m, r, b, p in zip(result.lead_hour, result.mae_w, result.rmse_w,
                                         result.bias_w, result.persistence_mae_w, strict=True)]},
            indent=2), file=out)
        return ExitCode.OK
    summary = result.summary()
    print(f"forecast: {policy.doc.forecast.type}; {result.issues} forecasts of "
          f"{horizon} intervals scored", file=out)
    print(", ".join(f"{k}={v}" for k, v in summary.items()), file=out)
    print(f"{'lead h':>6} {'MAE W':>8} {'RMSE W':>8} {'bias W':>8} {'persist. MAE':>12}",
          file=out)
    for h, m, r, b, p in zip(result.lead_hour, result.mae_w, result.rmse_w, result.bias_w,
                             result.persistence_mae_w, strict=True):
        print(f"{int(h):6d} {m:8.1f} {r:8.1f} {b:8.1f} {p:12.1f}", file=out)
    if args.plot:
        print(f"plot: {args.plot}", file=out)
    return ExitCode.OK


def _num(value: float) -> float | None:
    return round(float(value), 1) if np.isfinite(value) else None


def _plot(result: Evaluation, path: Path, name: str) -> None:
    # A bare Figure: no pyplot, no GUI backend, as the backtest's plots. Imported here, so that
    # the commands that draw nothing do not load matplotlib (a third of a second).
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    ax.plot(result.lead_hour, result.mae_w, marker="o", label=f"{name}: MAE")
    ax.plot(result.lead_hour, result.bias_w, linestyle="--", label=f"{name}: bias")
    ax.plot(result.lead_hour, result.persistence_mae_w, color="grey", label="persistence: MAE")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_xlabel("lead time [h]")
    ax.set_ylabel("net load error [W]")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
