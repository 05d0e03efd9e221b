"""Read ``fleet.yaml`` and validate every site up front.

A bad site never stops the others: each is checked on its own (its keys, its policy file, its
data file, its overrides compiled into the policy exactly as ``gridpilot check`` would) and,
when anything is wrong, becomes a :class:`SiteProblem` with every located issue. Only a broken
file as a whole (unreadable YAML, a bad ``defaults`` section, no sites) is a :class:`PolicyError`.
"""

from __future__ import annotations

import copy
import glob
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from gridpilot.errors import DataError, Issue, PolicyError
from gridpilot.fleet.model import DataTransform, FleetDefaults, FleetHead, SiteDoc
from gridpilot.recorded import FORMATS, detect_format
from gridpilot.recorded.resample import parse_step
from gridpilot.rules.compile import compile_policy
from gridpilot.rules.loader import load_policy_doc, validate_policy_data
from gridpilot.rules.validation import issues_from_validation_error
from gridpilot.rules.yamlsource import NodePath, SourceMap, load_yaml
from gridpilot.simulator.sweep import apply_setting

__all__ = ["Fleet", "FleetSite", "SiteProblem", "load_fleet"]

_GLOB_CHARS = frozenset("*?[")
_Failure = tuple[str | None, str, str]
"""An override that fails: (the override it comes from, or ``None``; message; hint)."""


@dataclass(frozen=True)
class FleetSite:
    """One valid site, resolved: small and picklable, it travels with every task."""

    index: int
    name: str
    policy_path: str
    data_path: str
    format: str
    step_s: int
    start_s: int | None
    end_s: int | None
    soc_pct: float | None
    prices: str
    overrides: tuple[tuple[str, Any], ...]
    transform: DataTransform
    where: str
    """``fleet.yaml:LINE`` of the site's entry."""

    @property
    def dataset(self) -> tuple[str, str]:
        """What identifies the recorded data it reads: one load (or scatter) per distinct one."""
        return (self.data_path, self.format)


@dataclass(frozen=True)
class SiteProblem:
    """A site that cannot run, with every reason."""

    index: int
    name: str
    issues: tuple[Issue, ...]

    @property
    def error(self) -> str:
        return "; ".join(i.format() for i in self.issues)


@dataclass
class Fleet:
    path: Path
    name: str
    sites: list[FleetSite] = field(default_factory=list)
    problems: list[SiteProblem] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.sites) + len(self.problems)


@dataclass
class _Policies:
    """Each distinct policy file read once, however many sites use it."""

    cache: dict[str, tuple[dict[str, Any], SourceMap] | PolicyError] = field(default_factory=dict)
    compiled: dict[tuple[str, tuple[tuple[str, Any], ...]],
                   tuple[ZoneInfo | None, list[_Failure]]] = field(default_factory=dict)

    def get(self, path: Path) -> tuple[dict[str, Any], SourceMap]:
        key = str(path)
        if key not in self.cache:
            try:
                _doc, smap, data = load_policy_doc(path)
                self.cache[key] = (data, smap)
            except PolicyError as exc:
                self.cache[key] = exc
        hit = self.cache[key]
        if isinstance(hit, PolicyError):
            raise hit
        return hit


def load_fleet(path: str | Path) -> Fleet:
    """Read and validate ``path``. Raises :class:`PolicyError` only when the file as a whole is
    unusable; a bad site is listed in :attr:`Fleet.problems`."""
    fleet_path = Path(path)
    raw, smap = load_yaml(fleet_path)
    if not isinstance(raw, dict):
        raise PolicyError([smap.issue((), "a fleet file is a mapping with a 'sites' list",
                                      "see docs/fleet.md")])
    top = {k: v for k, v in raw.items() if k != "sites"}
    issues: list[Issue] = []
    try:
        head = FleetHead.model_validate(top)
    except ValidationError as exc:
        issues += issues_from_validation_error(exc, smap, top, FleetHead)
    sites_raw = raw.get("sites")
    if not isinstance(sites_raw, list) or not sites_raw:
        issues.append(smap.issue(("sites",), "a non-empty list of sites is required",
                                 "each site has at least a name"))
    if issues:
        raise PolicyError(issues)
    assert isinstance(sites_raw, list)
    fleet = Fleet(fleet_path, head.name)
    policies = _Policies()
    seen: dict[str, int] = {}
    index = 0
    for i, item in enumerate(sites_raw):
        prefix: NodePath = ("sites", i)
        try:
            doc = SiteDoc.model_validate(item)
        except ValidationError as exc:
            name = item.get("name") if isinstance(item, dict) else None
            fleet.problems.append(SiteProblem(
                index, str(name or f"sites[{i}]"),
                tuple(issues_from_validation_error(exc, smap, item, SiteDoc, prefix))))
            index += 1
            continue
        for name, data_path, problems in _expand(doc, head.defaults, fleet_path, smap, prefix):
            if name in seen:
                problems = [*problems, smap.issue(
                    (*prefix, "name"), f"site {name!r} is already defined (site #{seen[name]})",
                    "every site needs its own name")]
            seen.setdefault(name, index)
            if not problems:
                site_or_issues = _resolve(index, name, data_path, doc, head.defaults,
                                          fleet_path, smap, prefix, policies)
                if isinstance(site_or_issues, FleetSite):
                    fleet.sites.append(site_or_issues)
                    index += 1
                    continue
                problems = site_or_issues
            fleet.problems.append(SiteProblem(index, name, tuple(problems)))
            index += 1
    return fleet


def _expand(
    doc: SiteDoc, defaults: FleetDefaults, fleet_path: Path, smap: SourceMap, prefix: NodePath
) -> list[tuple[str, Path | None, list[Issue]]]:
    """The sites one entry stands for: itself, or one per file its ``data`` pattern matches."""
    data = doc.data or defaults.data
    if data is None:
        return [(doc.name, None, [smap.issue(
            prefix, "no data file", "give the site a 'data' file, or set defaults.data")])]
    where = (*prefix, "data") if doc.data else ("defaults", "data")
    target = fleet_path.parent / data
    if not _GLOB_CHARS & set(data):
        return [(doc.name, target, [])]
    matches = sorted(Path(p) for p in glob.glob(str(target)))
    if not matches:
        return [(doc.name, None, [smap.issue(where, f"the pattern {data!r} matches no file",
                                             f"paths are relative to {fleet_path.parent}")])]
    template = doc.name if "{stem}" in doc.name else doc.name + "-{stem}"
    return [(template.replace("{stem}", m.stem), m, []) for m in matches]


def _resolve(
    index: int,
    name: str,
    data_path: Path | None,
    doc: SiteDoc,
    defaults: FleetDefaults,
    fleet_path: Path,
    smap: SourceMap,
    prefix: NodePath,
    policies: _Policies,
) -> FleetSite | list[Issue]:
    issues: list[Issue] = []
    base = fleet_path.parent
    assert data_path is not None
    fmt = doc.format or defaults.format
    data_where = (*prefix, "data") if doc.data else ("defaults", "data")
    if not data_path.is_file():
        issues.append(smap.issue(data_where, f"data file {str(data_path)!r} not found",
                                 f"paths are relative to {base}"))
    elif fmt != "auto" and fmt not in FORMATS:
        issues.append(smap.issue((*prefix, "format") if doc.format else ("defaults", "format"),
                                 f"unknown data format {fmt!r}",
                                 f"use one of auto, {', '.join(FORMATS)}"))
    else:
        try:
            fmt = detect_format(data_path) if fmt == "auto" else fmt
        except DataError as exc:
            issues.append(smap.issue(data_where, str(exc)))
    try:
        step_s = parse_step(defaults.step)
    except DataError as exc:
        issues.append(smap.issue(("defaults", "step"), str(exc)))
        step_s = 0
    policy_rel = doc.policy or defaults.policy
    if policy_rel is None:
        issues.append(smap.issue(prefix, "no policy",
                                 "give the site a 'policy' file, or set defaults.policy"))
        return issues
    policy_path = base / policy_rel
    try:
        pdata, psmap = policies.get(policy_path)
    except PolicyError as exc:
        where: NodePath = (*prefix, "policy") if doc.policy else ("defaults", "policy")
        head = exc.issues[0].format() if exc.issues else str(exc)
        more = f" (and {len(exc.issues) - 1} more)" if len(exc.issues) > 1 else ""
        issues.append(smap.issue(where, f"the policy is invalid: {head}{more}",
                                 f"run gridpilot check {policy_path}"))
        return issues
    overrides = {**defaults.set, **doc.set}
    # Thousands of sites share a few override sets: each distinct one is compiled once.
    key = (str(policy_path), tuple(sorted(overrides.items())))
    if key not in policies.compiled:
        policies.compiled[key] = _compile(pdata, psmap, policy_path, overrides)
    tz, failures = policies.compiled[key]
    for override, message, hint in failures:
        if override is None:
            where = (*prefix, "policy") if doc.policy else ("defaults", "policy")
        else:
            where = ((*prefix, "set", override) if override in doc.set
                     else ("defaults", "set", override))
        issues.append(smap.issue(where, message, hint))
    start_s = _date(defaults.start, tz, smap, ("defaults", "from"), issues)
    end_s = _date(defaults.end, tz, smap, ("defaults", "to"), issues)
    if issues:
        return issues
    line, _col = smap.locate(prefix)
    return FleetSite(
        index=index, name=name, policy_path=str(policy_path), data_path=str(data_path),
        format=fmt, step_s=step_s, start_s=start_s, end_s=end_s,
        soc_pct=doc.soc_pct if doc.soc_pct is not None else defaults.soc_pct,
        prices=defaults.prices, overrides=tuple(sorted(overrides.items())),
        transform=doc.transform, where=f"{fleet_path}:{line}",
    )


def _compile(pdata: dict[str, Any], psmap: SourceMap, policy_path: Path,
             overrides: dict[str, Any]) -> tuple[ZoneInfo | None, list[_Failure]]:
    """The policy with ``overrides`` applied, compiled as ``gridpilot check`` would: its
    timezone, or why it fails."""
    candidate = copy.deepcopy(pdata)
    failures: list[_Failure] = []
    for key, value in overrides.items():
        try:
            apply_setting(candidate, key, value)
        except DataError as exc:
            failures.append((key, str(exc).removeprefix("--set "),
                             "a dotted path into the policy, as sweep --set takes"))
    if failures:
        return None, failures
    try:
        policy = compile_policy(validate_policy_data(candidate, psmap), psmap, candidate,
                                policy_path)
    except PolicyError as exc:
        for issue in exc.issues:
            # Point at the override that most likely caused it (same top-level section).
            hit = [k for k in overrides if issue.path.startswith(k.split(".")[0])]
            failures.append((hit[0] if hit else None,
                             f"with the overrides, the policy is invalid: {issue.path}: "
                             f"{issue.message}", issue.hint))
        return None, failures
    return policy.tz, []


def _date(
    text: str | None, tz: ZoneInfo | None, smap: SourceMap, where: NodePath, issues: list[Issue]
) -> int | None:
    if text is None or tz is None:
        return None
    try:
        t = datetime.fromisoformat(str(text))
    except ValueError:
        issues.append(smap.issue(where, f"{text!r} is not a date",
                                 "use YYYY-MM-DD or an ISO 8601 time (site time)"))
        return None
    return int((t if t.tzinfo else t.replace(tzinfo=tz)).timestamp())
