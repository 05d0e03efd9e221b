"""A small replay loop for scenario tests: real data, the real tariff, decide() and the battery
model, with a perfect forecast taken from the same data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from gridpilot.engine.battery import step
from gridpilot.engine.decide import decide
from gridpilot.engine.decision import Decision
from gridpilot.engine.state import SiteState
from gridpilot.rules.policy import Policy


@dataclass
class Tick:
    t_s: int
    decision: Decision
    soc_before_pct: float
    soc_after_pct: float
    battery_w: float
    grid_w: float
    import_price: float
    export_price: float


def replay(policy: Policy, series: dict[str, np.ndarray], soc_pct: float, tick_s: int = 1800,
           forecast: bool = True) -> list[Tick]:
    params = policy.battery
    starts = series["start_s"]
    net = dict(zip(starts.tolist(), (series["load_w"] - series["pv_w"]).tolist(), strict=True))
    out: list[Tick] = []
    prev = None
    since = None
    layer = None
    for t_s in range(int(starts[0]), int(starts[-1]) + 1800, tick_s):
        i = int((t_s - int(starts[0])) // 1800)
        load, pv = float(series["load_w"][i]), float(series["pv_w"][i])
        t = datetime.fromtimestamp(t_s, UTC)
        prices = policy.tariff.outlook(t)
        fc = None
        if forecast:
            slot = prices.start_s - prices.start_s % 1800
            fc = np.array([net.get(int(s), float(np.mean(list(net.values())))) for s in slot])
        state = SiteState(time=t, soc_pct=soc_pct, load_w=load, pv_w=pv, prices=prices,
                          active_command=prev, active_since=since, active_layer=layer,
                          forecast_net_load_w=fc)
        d = decide(policy, state)
        if prev is None or d.command.kind is not prev.kind:
            since = t
        prev, layer = d.command, d.layer
        r = step(d.command, soc_pct, load, pv, float(tick_s), params)
        out.append(Tick(t_s, d, soc_pct, r.soc_pct, r.battery_w, r.grid_w,
                        float(prices.import_per_kwh[0]), float(prices.export_per_kwh[0])))
        soc_pct = r.soc_pct
    return out


def cost(ticks: list[Tick], tick_s: int = 1800) -> float:
    """Energy cost of the replay [currency]: imports at the import price, exports credited."""
    h = tick_s / 3600.0
    return sum(
        (max(x.grid_w, 0.0) * x.import_price - max(-x.grid_w, 0.0) * x.export_price) * h / 1000
        for x in ticks
    )
