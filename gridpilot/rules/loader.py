"""Load a policy document from YAML and validate it, collecting every error with its position."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gridpilot.errors import PolicyError
from gridpilot.rules.checks import check_parts
from gridpilot.rules.schema import PolicyDoc
from gridpilot.rules.validation import issues_from_validation_error
from gridpilot.rules.yamlsource import SourceMap, load_yaml, redact_error

__all__ = ["load_policy_doc", "validate_policy_data"]


def validate_policy_data(data: Any, smap: SourceMap) -> PolicyDoc:
    """Validate plain policy data (as produced by :func:`load_yaml`) into a :class:`PolicyDoc`."""
    try:
        return PolicyDoc.model_validate(data)
    except ValidationError as exc:
        issues = issues_from_validation_error(exc, smap, data, PolicyDoc)
        seen = {(i.path, i.message) for i in issues}
        issues += [i for i in check_parts(data, smap) if (i.path, i.message) not in seen]
        issues.sort(key=lambda i: (i.line, i.column))
        raise PolicyError(issues) from None


def load_policy_doc(
    path: str | Path, *, environ: Mapping[str, str] | None = None
) -> tuple[PolicyDoc, SourceMap, dict[str, Any]]:
    """Read and validate the policy at ``path``.

    Returns the document, its source map and the plain data it was validated from. Raises
    :class:`PolicyError` listing every problem found.
    """
    data, smap = load_yaml(Path(path), environ=environ)
    try:
        return validate_policy_data(data, smap), smap, data
    except PolicyError as exc:
        raise redact_error(exc, smap) from None
