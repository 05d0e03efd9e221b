"""Live price sides with nothing behind them: what ``gridpilot check`` says about them.

A side whose prices come only from providers (no ``default``, no periods) has no price where
no provider has one. That is valid, but it changes what happens then, so ``check`` states it as a
warning located at the side's ``provider(s)``: live, a tick without a price runs without prices
(strategies that plan on prices stand aside and the rules and default decide; the audit log and
``/metrics`` count it), and a backtest refuses a history with a gap
(:func:`gridpilot.simulator.pricehistory.require_live_prices`).
"""

from __future__ import annotations

from gridpilot.errors import Issue
from gridpilot.rules.policy import Policy

__all__ = ["unbacked_live_sides"]


def unbacked_live_sides(policy: Policy) -> list[Issue]:
    """One warning per live side without a fixed schedule behind its providers."""
    out: list[Issue] = []
    for name, schedule in (("import", policy.doc.tariff.import_),
                           ("export", policy.doc.tariff.export)):
        if not schedule.provider_refs or schedule.default is not None or schedule.periods:
            continue
        key = "provider" if schedule.provider is not None else "providers"
        out.append(policy.source.issue(
            ("tariff", name, key),
            "no fixed schedule behind the provider: live, a time no provider has priced runs "
            "without prices (strategies stand aside, the rules and default decide, the audit "
            "log and /metrics say so); a backtest refuses a gap in its price history",
            "add 'default: <price>' (or periods) to this side for a fallback price",
        ))
    return out
