"""``fleet compare A B``: the per-site change from one run (policy version) to another."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gridpilot.fleet.results import read_results

__all__ = ["SiteChange", "compare_results"]


@dataclass(frozen=True)
class SiteChange:
    site: str
    settings: str
    bill_a: float
    bill_b: float

    @property
    def change(self) -> float:
        """What B costs the site more than A [currency]: positive means B loses money."""
        return self.bill_b - self.bill_a


def compare_results(a: str | Path, b: str | Path) -> tuple[list[SiteChange], list[str]]:
    """The change of every site × variant that ran in both (worst for B first), and the
    keys found in only one, or failed in either."""
    ra = {(r["site"], r["settings"]): r for r in read_results(a)}
    rb = {(r["site"], r["settings"]): r for r in read_results(b)}
    changes: list[SiteChange] = []
    unmatched: list[str] = []
    for key in sorted(ra.keys() | rb.keys()):
        x, y = ra.get(key), rb.get(key)
        label = key[0] + ("" if key[1] in ("{}", None) else f" {key[1]}")
        if x is None or y is None:
            unmatched.append(f"{label}: only in {'A' if y is None else 'B'}")
        elif x["status"] != "ok" or y["status"] != "ok":
            unmatched.append(f"{label}: {x['status']} in A, {y['status']} in B")
        else:
            changes.append(SiteChange(key[0], str(key[1]), float(x["bill"]), float(y["bill"])))
    changes.sort(key=lambda c: (-c.change, c.site))
    return changes, unmatched
