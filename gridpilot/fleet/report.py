"""The fleet report: ``fleet.md`` and ``fleet.html`` from the result rows, with a histogram of
savings per site (``savings_hist.png``), savings captured per site, the best and worst sites
(linked to their own backtest reports), totals and, for a sweep, the best variant across the
fleet and how often it is each site's best."""

from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridpilot.fleet.task import Row

__all__ = ["FleetSummary", "summarise", "write_fleet_report"]

TOP = 5


@dataclass
class FleetSummary:
    sites: int
    ok: int
    failed: list[Row]
    currency: str
    total_saving: float
    total_bill: float
    total_no_battery_bill: float
    per_site: list[Row]
    """The best variant's row of every site that ran, by saving, best first."""
    variants: list[tuple[str, float, int]]
    """Sweep variants: (settings, total saving across the fleet, sites it is best for), best
    first."""


def summarise(rows: Sequence[Row]) -> FleetSummary:
    by_site: dict[int, list[Row]] = defaultdict(list)
    for r in rows:
        by_site[int(r["site_index"])].append(r)
    per_site: list[Row] = []
    best_counts: Counter[str] = Counter()
    totals: dict[str, float] = defaultdict(float)
    failed: list[Row] = []
    for runs in by_site.values():
        ok = [r for r in runs if r["status"] == "ok"]
        failed += [r for r in runs if r["status"] != "ok"]
        if not ok:
            continue
        best = max(ok, key=lambda r: (float(r["saving"]), -int(r["variant"])))
        per_site.append(best)
        best_counts[str(best["settings"])] += 1
        for r in ok:
            totals[str(r["settings"])] += float(r["saving"])
    per_site.sort(key=lambda r: (-float(r["saving"]), str(r["site"])))
    variants = sorted(((s, t, best_counts[s]) for s, t in totals.items()),
                      key=lambda v: (-v[1], v[0]))
    return FleetSummary(
        sites=len(by_site), ok=len(per_site), failed=failed,
        currency=str(per_site[0]["currency"]) if per_site else "",
        total_saving=sum(float(r["saving"]) for r in per_site),
        total_bill=sum(float(r["bill"]) for r in per_site),
        total_no_battery_bill=sum(float(r["no_battery_bill"]) for r in per_site),
        per_site=per_site, variants=variants,
    )


def _hist(summary: FleetSummary, out: Path) -> str | None:
    if not summary.per_site:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.hist([float(r["saving"]) for r in summary.per_site], bins=min(30, max(5, summary.ok // 3)),
            color="#2a7ab0")
    ax.set_xlabel(f"saving against no battery [{summary.currency}]")
    ax.set_ylabel("sites")
    ax.set_title("Savings per site")
    fig.tight_layout()
    fig.savefig(out / "savings_hist.png", dpi=90)
    plt.close(fig)
    return "savings_hist.png"


def _pct(v: Any) -> str:
    return "" if v is None else f"{float(v):.1%}"


def _site_link(row: Row, links: dict[str, str]) -> str:
    name = str(row["site"])
    return f"[{name}]({links[name]})" if name in links else name


def write_fleet_report(rows: Sequence[Row], out: Path, *, title: str,
                       site_reports: dict[str, str] | None = None) -> FleetSummary:
    """Write ``fleet.md``, ``fleet.html`` and ``savings_hist.png`` into ``out``.
    ``site_reports``: site name -> relative link to its own ``report.md``."""
    links = site_reports or {}
    s = summarise(rows)
    hist = _hist(s, out)
    cur = s.currency
    md = [f"# Fleet report: {title}", "",
          f"{s.sites} sites, {s.ok} ran, {len({r['site'] for r in s.failed})} with failures.", "",
          "## Totals", "",
          "| | |", "|---|---:|",
          f"| Bill with the policy [{cur}] | {s.total_bill:,.2f} |",
          f"| Bill without a battery [{cur}] | {s.total_no_battery_bill:,.2f} |",
          f"| Saving [{cur}] | {s.total_saving:,.2f} |", ""]
    if hist:
        md += ["## Savings per site", "", f"![savings per site]({hist})", ""]
    head = "| site | saving | bill | savings captured | settings |"
    rule = "|---|---:|---:|---:|---|"

    def line(r: Row) -> str:
        return (f"| {_site_link(r, links)} | {float(r['saving']):,.2f} | {float(r['bill']):,.2f} "
                f"| {_pct(r['savings_captured'])} | `{r['settings']}` |")

    md += [f"## Best {min(TOP, s.ok)} sites", "", head, rule, *(line(r) for r in s.per_site[:TOP]),
           "", f"## Worst {min(TOP, s.ok)} sites", "", head, rule,
           *(line(r) for r in reversed(s.per_site[-TOP:])), "",
           "## Savings captured per site", "",
           "Share of the perfect-foresight saving each site's policy takes (`--optimal`).", "",
           "| site | savings captured |", "|---|---:|",
           *(f"| {r['site']} | {_pct(r['savings_captured']) or 'n/a'} |" for r in s.per_site), ""]
    if len(s.variants) > 1:
        md += ["## Variants across the fleet", "",
               f"Best across the fleet: `{s.variants[0][0]}`, saving {s.variants[0][1]:,.2f} "
               f"{cur}, the best variant of {s.variants[0][2]} of {s.ok} sites.", "",
               "| settings | total saving | best for sites |", "|---|---:|---:|",
               *(f"| `{v}` | {t:,.2f} | {n} |" for v, t, n in s.variants), ""]
    if s.failed:
        md += ["## Failed", "", "| site | variant | status | error |", "|---|---:|---|---|",
               *(f"| {r['site']} | {r['variant']} | {r['status']} | "
                 f"{str(r['error']).replace('|', '/')} |" for r in s.failed), ""]
    (out / "fleet.md").write_text("\n".join(md), encoding="utf-8")
    (out / "fleet.html").write_text(_html(md, title), encoding="utf-8")
    (out / "fleet.json").write_text(json.dumps({
        "sites": s.sites, "ok": s.ok, "failed": len(s.failed), "currency": cur,
        "total_saving": s.total_saving, "total_bill": s.total_bill,
        "best_variant": s.variants[0][0] if s.variants else None}, indent=2) + "\n",
        encoding="utf-8")
    return s


def _html(md: list[str], title: str) -> str:
    """A plain HTML rendering of the same lines: tables, headings, links and the image."""
    import re

    out = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>",
           "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
           "td,th{padding:2px 8px;border-bottom:1px solid #ddd}</style>"]
    in_table = False

    def inline(text: str) -> str:
        t = html.escape(text)
        t = re.sub(r"!\[([^\]]*)\]\(([^)]+)\)", r"<img alt='\1' src='\2'>", t)
        t = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"<a href='\2'>\1</a>", t)
        return re.sub(r"`([^`]*)`", r"<code>\1</code>", t)

    for text in md:
        if text.startswith("|"):
            cells = [c.strip() for c in text.strip("|").split("|")]
            if all(set(c) <= set("-:") for c in cells):
                continue
            if not in_table:
                out.append("<table>")
                in_table = True
            out.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if text.startswith("## "):
            out.append(f"<h2>{inline(text[3:])}</h2>")
        elif text.startswith("# "):
            out.append(f"<h1>{inline(text[2:])}</h1>")
        elif text:
            out.append(f"<p>{inline(text)}</p>")
    if in_table:
        out.append("</table>")
    return "\n".join(out) + "\n"
