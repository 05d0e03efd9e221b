"""Load a policy from YAML: validate the document and compile it, collecting every error with its
position. :func:`load_policy` is the one way in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gridpilot.errors import Issue, PolicyError
from gridpilot.inputs import recording_inputs
from gridpilot.rules.checks import check_parts
from gridpilot.rules.compile import DEFAULT_PLUGINS, Plugins, compile_policy
from gridpilot.rules.policy import Policy
from gridpilot.rules.schema import PolicyDoc
from gridpilot.rules.validation import issues_from_validation_error
from gridpilot.rules.yamlsource import SourceMap, load_yaml_partial, redact_error

__all__ = [
    "load_policy",
    "load_policy_doc",
    "merge_issues",
    "read_policy_doc",
    "validate_policy_data",
]


def validate_policy_data(data: Any, smap: SourceMap) -> PolicyDoc:
    """Validate plain policy data (as produced by
    :func:`~gridpilot.rules.yamlsource.load_yaml`) into a :class:`PolicyDoc`."""
    try:
        return PolicyDoc.model_validate(data)
    except ValidationError as exc:
        issues = issues_from_validation_error(exc, smap, data, PolicyDoc)
        seen = {(i.path, i.message) for i in issues}
        issues += [i for i in check_parts(data, smap) if (i.path, i.message) not in seen]
        issues.sort(key=lambda i: (i.line, i.column))
        raise PolicyError(issues) from None


def merge_issues(first: list[Issue], later: list[Issue]) -> list[Issue]:
    """``first`` and the issues of ``later`` that are not at or under a path ``first`` already
    reports (a value reported as NaN is not reported again as "should be a number"), in file
    order."""
    paths = [i.path for i in first]

    def under(path: str) -> bool:
        return any(
            path == p or path.startswith((p + ".", p + "[")) or (not p and not path)
            for p in paths
        )

    seen = {(i.path, i.message) for i in first}
    out = [*first, *(i for i in later if not under(i.path) and (i.path, i.message) not in seen)]
    return sorted(out, key=lambda i: (i.line, i.column))


def read_policy_doc(
    path: str | Path, *, environ: Mapping[str, str] | None = None
) -> tuple[PolicyDoc, SourceMap, dict[str, Any], list[Issue]]:
    """Like :func:`load_policy_doc`, but the problems of single values (NaN, huge numbers, unset
    ``${VARS}``) are returned as the fourth item when the rest validates, so that later stages
    report their problems in the same run; the caller must refuse the policy if there are any."""
    data, smap, pending = load_yaml_partial(Path(path), environ=environ)
    try:
        doc = validate_policy_data(data, smap)
    except PolicyError as exc:
        raise redact_error(PolicyError(merge_issues(pending, exc.issues)), smap) from None
    return doc, smap, data, pending


def load_policy_doc(
    path: str | Path, *, environ: Mapping[str, str] | None = None
) -> tuple[PolicyDoc, SourceMap, dict[str, Any]]:
    """Read and validate the policy at ``path``.

    Returns the document, its source map and the plain data it was validated from. Raises
    :class:`PolicyError` listing every problem found.
    """
    doc, smap, data, pending = read_policy_doc(path, environ=environ)
    if pending:
        raise redact_error(PolicyError(pending), smap)
    return doc, smap, data


def load_policy(
    path: str | Path,
    *,
    environ: Mapping[str, str] | None = None,
    plugins: Plugins = DEFAULT_PLUGINS,
) -> Policy:
    """Load, validate and compile the policy file at ``path``, its plugin types looked up in
    ``plugins``.

    Raises :class:`gridpilot.errors.PolicyError` listing every problem with its file position.
    """
    # Every stage's messages pass through redaction: a value substituted from ${VAR} (a token,
    # a password) must not reach a terminal or a log, whichever check happens to quote it.
    with recording_inputs() as read:
        doc, smap, data, pending = read_policy_doc(path, environ=environ)
        try:
            policy = compile_policy(doc, smap, data, Path(path), plugins)
        except PolicyError as exc:
            raise redact_error(PolicyError(merge_issues(pending, exc.issues)), smap) from None
        except (TypeError, ValueError):
            # Only a value already reported (and replaced) can upset the compiler this way.
            if not pending:
                raise
            raise redact_error(PolicyError(pending), smap) from None
        if pending:
            raise redact_error(PolicyError(pending), smap)
    return replace(policy, inputs=tuple(read))
