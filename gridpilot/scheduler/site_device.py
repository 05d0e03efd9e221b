"""The policy's device: what its adapter is given, and every reason it cannot start, located.

The policy keeps its ``device:`` section as written; the device floor validates and builds it
from a :class:`~gridpilot.devices.context.DeviceContext`, never from the policy. This module is
where the two meet: ``gridpilot check`` and ``gridpilot run`` report the device's problems at
their ``FILE:LINE:COL`` through it, and the live loop reloads a policy through
:func:`load_site_policy`, which refuses a device section ``run`` would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridpilot.clock import Clock, SystemClock
from gridpilot.devices.base import DeviceAdapter
from gridpilot.devices.context import DeviceContext
from gridpilot.devices.preflight import SettingsProblem, device_problems, settings_problem
from gridpilot.devices.registry import create_device
from gridpilot.errors import Issue, PolicyError
from gridpilot.rules.loader import load_policy, merge_issues, read_policy_doc
from gridpilot.rules.policy import Policy
from gridpilot.rules.validation import issues_from_validation_error
from gridpilot.rules.yamlsource import SourceMap, redact_issues

if TYPE_CHECKING:
    import httpx  # only the transport's type: `check` must not pay for importing httpx

__all__ = [
    "device_context",
    "device_for_policy",
    "device_issues",
    "device_settings_issues",
    "device_settings_issues_in",
    "load_site_policy",
]


def device_context(
    policy: Policy,
    *,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> DeviceContext:
    """What the policy's adapter is given: the site's facts, a clock and a transport."""
    spec = policy.doc.device
    state_dir: Path | None = None
    if policy.path is not None:
        state_dir = Path(policy.doc.run.state_dir).expanduser()
        if not state_dir.is_absolute():
            state_dir = policy.path.resolve().parent / state_dir
    return DeviceContext(
        name=spec.name or spec.type,
        clock=clock or SystemClock(),
        transport=transport,
        limits=policy.limits,
        battery=policy.battery,
        tz=policy.tz,
        base_dir=policy.path.parent if policy.path is not None else None,
        state_dir=state_dir,
    )


def device_for_policy(
    policy: Policy,
    *,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> DeviceAdapter:
    """The adapter the policy's ``device:`` section describes (not connected yet)."""
    return create_device(policy.doc.device.model_dump(),
                         device_context(policy, clock=clock, transport=transport))


def device_settings_issues(raw: Mapping[str, Any], smap: SourceMap) -> list[Issue]:
    """The ``device:`` section's unknown type or invalid settings, located in the policy (no
    value substituted from the environment is quoted)."""
    problem = settings_problem(raw)
    if problem is None:
        return []
    if isinstance(problem, SettingsProblem):
        issues = issues_from_validation_error(
            problem.error, smap, problem.settings, problem.model, ("device",))
    else:
        issues = [smap.issue(problem.path, problem.message, problem.hint)]
    return redact_issues(issues, smap.secrets, smap.secret_paths)


def device_issues(policy: Policy, *, clock: Clock | None = None) -> list[Issue]:
    """What would stop ``gridpilot run`` from starting the policy's device, located in the
    policy (the same check ``run`` makes before its first tick)."""
    smap = policy.source
    raw = policy.doc.device.model_dump()
    issues = device_settings_issues(raw, smap)
    if issues:
        return issues
    problems = device_problems(raw, device_context(policy, clock=clock))
    return redact_issues([smap.issue(p.path, p.message, p.hint) for p in problems],
                         smap.secrets, smap.secret_paths)


def device_settings_issues_in(
    path: str | Path, environ: Mapping[str, str] | None = None
) -> list[Issue]:
    """The device section's settings issues of a policy whose other sections failed, when its
    document can be read at all (else that failure says enough)."""
    try:
        _, smap, data, _ = read_policy_doc(path, environ=environ)
    except PolicyError:
        return []
    raw = data.get("device", {}) if isinstance(data, Mapping) else {}
    return device_settings_issues(raw if isinstance(raw, Mapping) else {}, smap)


def load_site_policy(path: str | Path, *, environ: Mapping[str, str] | None = None) -> Policy:
    """:func:`~gridpilot.rules.loader.load_policy`, refusing a device section of an unknown
    type or with invalid settings too, every problem in one :class:`PolicyError`."""
    try:
        policy = load_policy(path, environ=environ)
    except PolicyError as exc:
        more = device_settings_issues_in(path, environ)
        if not more:
            raise
        raise PolicyError(merge_issues(exc.issues, more)) from None
    issues = device_settings_issues(policy.doc.device.model_dump(), policy.source)
    if issues:
        raise PolicyError(issues)
    return policy
