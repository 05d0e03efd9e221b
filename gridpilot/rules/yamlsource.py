"""Read YAML while keeping where every node came from.

ruamel.yaml's round-trip loader records the line and column of every key and item. We turn the
document into plain Python values (what pydantic validates) plus a :class:`SourceMap` from each
node's path to its position, so any later stage can point an error back into the file.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.constructor import DuplicateKeyError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.scanner import RoundTripScanner, Scanner

from gridpilot.errors import Issue, PolicyError
from gridpilot.inputs import note_input

__all__ = [
    "INVALID",
    "MAX_NODES",
    "NodePath",
    "SourceMap",
    "format_path",
    "load_yaml",
    "load_yaml_partial",
    "redact_error",
    "redact_issues",
    "substitute_env",
]

NodePath = tuple[str | int, ...]
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_NODES = 200_000
"""Nodes (after alias expansion) one file may hold. Far above any real policy; it stops a few
hundred bytes of nested aliases (a "billion laughs" file) from expanding without bound."""
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENV_REF_RE = re.compile(r"\$\{([^}]*)\}")
REDACTED = "***"
_QUOTED_RE = re.compile(r"'[^']*'|\"[^\"]*\"")


class _Invalid:
    """Stands for a number already reported (NaN, infinite, huge): no schema type accepts it, so
    validation goes on past it and reports the rest of the file."""

    def __repr__(self) -> str:
        return "<invalid>"


INVALID = _Invalid()


class _TextTimestamps(RoundTripConstructor):
    """Keeps YAML timestamps (``2026-02-30``, ``2026-03-10 09:00``) as text: the schema parses
    them with located errors, where ruamel would raise on an impossible date."""


_TextTimestamps.add_constructor(
    "tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str
)


class _SelfAlias(ComposerError):
    """An alias used inside the node its anchor names."""


class _NoSelfAliases(Composer):
    """Refuses an alias inside its own anchor's node, where the alias is written. ruamel would
    build the cycle and then quietly construct that alias as ``null``."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self._open: list[str] = []

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            if event.anchor in self._open:
                raise _SelfAlias(
                    None, None,
                    f"the alias *{event.anchor} is inside the value its anchor &{event.anchor} "
                    "names, so it would contain itself",
                    event.start_mark,
                )
            return super().compose_node(parent, index)
        anchor = getattr(event, "anchor", None)
        if anchor is None:
            return super().compose_node(parent, index)
        self._open.append(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._open.pop()


def format_path(path: NodePath) -> str:
    """``("rules", 2, "when", "time")`` -> ``rules[2].when.time``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


@dataclass
class SourceMap:
    """Positions (1-based line and column) of the nodes of one file."""

    file: str
    positions: dict[NodePath, tuple[int, int]] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set, repr=False, compare=False)
    """Values substituted from ``${VARS}``: redacted from every message (see
    :func:`redact_issues`)."""
    secret_paths: set[str] = field(default_factory=set, repr=False, compare=False)
    """Dotted paths of the values that received a substitution: a parser may quote a fragment
    of such a value, so quoted text in their messages is hidden too."""

    def locate(self, path: NodePath) -> tuple[int, int]:
        """The position of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.positions:
                return self.positions[p]
            p = p[:-1]
        return self.positions.get((), (1, 1))

    def issue(self, path: NodePath, message: str, hint: str = "") -> Issue:
        line, col = self.locate(path)
        return Issue(self.file, line, col, format_path(path), message, hint)


class _TooBig(Exception):
    def __init__(self, path: NodePath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass
class _Walk:
    """State of one conversion: nodes seen so far and the containers being converted (an alias
    to one of those is a cycle)."""

    smap: SourceMap
    issues: list[Issue]
    nodes: int = 0
    open_ids: set[int] = field(default_factory=set)

    def count(self, path: NodePath) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig(path, _too_many_nodes())


def _too_many_nodes() -> str:
    return (f"too many nodes/aliases: the document expands to more than {MAX_NODES:,} values "
            "(aliases are copied where they are used)")


def _record_key_position(doc: CommentedMap, path: NodePath, smap: SourceMap) -> None:
    """Note where the top-level key ``path`` is written, as :func:`_plain` would have."""
    try:
        line, col = doc.lc.key(path[0])
        smap.positions.setdefault(path, (line + 1, col + 1))
    except (KeyError, TypeError, AttributeError):
        pass


class _Cycle(Exception):
    """A container met again inside itself while its expansion was being counted."""


def _section_over_limit(doc: CommentedMap) -> NodePath | None:
    """The top-level section in which converting ``doc`` would pass :data:`MAX_NODES` (where
    :func:`_plain` would stop), or ``None`` if it stays within it. Each distinct node's expanded
    size is counted once, so an alias bomb is refused in time proportional to its text, not to
    the limit; the nodes are counted as :func:`_plain` visits them. A container inside itself
    is left to :func:`_plain`, which names it."""
    sizes: dict[int, int] = {}
    open_ids: set[int] = set()

    def size(node: Any) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        total = 1
        if isinstance(node, CommentedMap | CommentedSeq):
            if id(node) in open_ids:
                raise _Cycle
            open_ids.add(id(node))
            if isinstance(node, CommentedMap):
                total += sum(size(node[key]) for key in node if isinstance(key, str))
            else:
                total += sum(size(item) for item in node)
            open_ids.discard(id(node))
        sizes[id(node)] = total
        return total

    seen = 1
    try:
        for key in doc:
            if isinstance(key, str):
                seen += size(doc[key])
                if seen > MAX_NODES:
                    return (str(key),)
    except _Cycle:
        pass
    return None


def _plain(node: Any, path: NodePath, walk: _Walk) -> Any:
    # ruamel composes an alias as the same object as its anchor, so nested aliases multiply on
    # conversion: every node counts against MAX_NODES, and an alias inside its own anchor is a
    # cycle we refuse instead of recursing into.
    walk.count(path)
    smap, issues = walk.smap, walk.issues
    if isinstance(node, CommentedMap | CommentedSeq):
        if id(node) in walk.open_ids:
            raise _TooBig(path, "an alias refers to a mapping or list that contains it")
        walk.open_ids.add(id(node))
        try:
            return _plain_container(node, path, walk)
        finally:
            walk.open_ids.discard(id(node))
    if isinstance(node, float) and not math.isfinite(node):
        issues.append(
            smap.issue(path, f"{node!r} is not allowed here; give a finite number")
        )
        return INVALID
    if isinstance(node, int) and not isinstance(node, bool) and abs(node) > 10**15:
        issues.append(smap.issue(path, "number is too large; give a value below 1e15"))
        return INVALID
    if isinstance(node, str):
        return str(node)
    return node


def _plain_container(node: CommentedMap | CommentedSeq, path: NodePath, walk: _Walk) -> Any:
    smap, issues = walk.smap, walk.issues
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key in node:
            kpath = (*path, str(key))
            try:
                line, col = node.lc.key(key)
                smap.positions.setdefault(kpath, (line + 1, col + 1))
            except (KeyError, TypeError, AttributeError):
                pass
            if not isinstance(key, str):
                issues.append(smap.issue(kpath, f"keys must be text, got {type(key).__name__}"))
                continue
            out[key] = _plain(node[key], kpath, walk)
        return out
    items = []
    for i, item in enumerate(node):
        ipath = (*path, i)
        try:
            line, col = node.lc.item(i)
            smap.positions.setdefault(ipath, (line + 1, col + 1))
        except (KeyError, TypeError, AttributeError):
            pass
        items.append(_plain(item, ipath, walk))
    return items


def substitute_env(
    value: Any,
    smap: SourceMap,
    issues: list[Issue],
    environ: Mapping[str, str] | None = None,
    path: NodePath = (),
) -> Any:
    """Replace ``${NAME}`` in every string with the environment variable ``NAME``.

    A missing variable is reported by name only, and so is a ``${`` left unclosed (it is a typo,
    not literal text). Every substituted value is recorded in ``smap.secrets`` so that
    :func:`redact_issues` can keep it out of every later message.
    """
    env = os.environ if environ is None else environ
    if isinstance(value, dict):
        return {k: substitute_env(v, smap, issues, env, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, smap, issues, env, (*path, i)) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:
        _check_references(value, path, smap, issues)

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in env:
                issues.append(
                    smap.issue(
                        path,
                        f"environment variable {name} is not set",
                        f"export {name}=... before running gridpilot",
                    )
                )
                return ""
            if env[name]:
                smap.secrets.add(env[name])
                smap.secret_paths.add(format_path(path))
            return env[name]

        # A missing variable leaves "" (reported above, and any later complaint about the
        # value at this path is dropped), so the stages after validation still run.
        return _ENV_RE.sub(repl, value)
    return value


def _check_references(text: str, path: NodePath, smap: SourceMap, issues: list[Issue]) -> None:
    """Report each ``${`` that is not a complete ``${NAME}`` (checked on the file's own text, so
    a substituted value is never inspected)."""
    pos = text.find("${")
    while pos != -1:
        ref = _ENV_REF_RE.match(text, pos)
        if ref is None:
            issues.append(smap.issue(
                path,
                "'${' is not closed: an environment reference is written ${NAME}",
                "add the closing '}'",
            ))
            return
        if _ENV_RE.fullmatch(ref.group(0)) is None:
            issues.append(smap.issue(
                path,
                f"${{{ref.group(1)}}} is not a valid environment variable name",
                "use letters, digits and '_', not starting with a digit: ${NAME}",
            ))
        pos = text.find("${", ref.end())


def redact_issues(
    issues: list[Issue], secrets: set[str], secret_paths: set[str] | frozenset[str] = frozenset()
) -> list[Issue]:
    """``issues`` with every secret in ``secrets`` replaced by ``***`` in messages and hints.

    Longer values are replaced first so a secret that contains another is hidden whole. An issue
    at (or under) one of ``secret_paths`` also has every quoted fragment hidden: a parser that
    splits the value (``days: a-b``) may quote a piece of it.
    """
    if not secrets:
        return list(issues)
    ordered = sorted(secrets, key=len, reverse=True)

    def clean(text: str, quoted: bool) -> str:
        if quoted:
            text = _QUOTED_RE.sub(lambda m: m.group(0)[0] + REDACTED + m.group(0)[0], text)
        for secret in ordered:
            text = text.replace(secret, REDACTED)
        return text

    out = []
    for i in issues:
        quoted = any(i.path == p or i.path.startswith((p + ".", p + "[")) for p in secret_paths)
        out.append(dataclasses.replace(
            i, message=clean(i.message, quoted), hint=clean(i.hint, quoted)
        ))
    return out


def redact_error(exc: PolicyError, smap: SourceMap) -> PolicyError:
    """A copy of ``exc`` whose issues name no value substituted from the environment."""
    return PolicyError(redact_issues(exc.issues, smap.secrets, smap.secret_paths))


def load_yaml(
    path: Path, *, environ: Mapping[str, str] | None = None
) -> tuple[Any, SourceMap]:
    """Load one YAML file into plain values and its source map.

    Raises :class:`PolicyError` (never anything else) for a missing, unreadable, binary, empty or
    malformed file, duplicate keys, non-finite or huge numbers, and unset ``${VARS}``.
    """
    plain, smap, issues = load_yaml_partial(path, environ=environ)
    if issues:
        raise redact_error(PolicyError(issues), smap)
    return plain, smap


_FAILED = object()


def _parse(text: str, scanner: type[Scanner]) -> Any:
    """The document as the round-trip loader builds it, read by ``scanner``. The plain scanner
    builds the same document and positions as the round-trip one (which also gathers every
    comment, a fifth of parsing a policy, and nothing here reads comments); it words some
    errors differently, so a file it cannot read is read again by the round-trip one."""
    yaml = YAML(typ="rt")
    yaml.Scanner = scanner
    yaml.Constructor = _TextTimestamps
    yaml.Composer = _NoSelfAliases
    yaml.allow_duplicate_keys = False
    return yaml.load(text)


def load_yaml_partial(
    path: Path, *, environ: Mapping[str, str] | None = None
) -> tuple[Any, SourceMap, list[Issue]]:
    """Like :func:`load_yaml`, but the problems of single values (non-finite or huge numbers,
    unset ``${VARS}``) are returned, not raised: such a number becomes :data:`INVALID`, a missing
    variable "", and the caller validates the rest and reports every problem at once. Whatever
    stops the file from being read as a whole is still raised."""
    name = str(path)
    smap = SourceMap(name)

    def fail(message: str, line: int = 0, col: int = 0, hint: str = "") -> PolicyError:
        return PolicyError([Issue(name, line, col, "", message, hint)])

    note_input(path)
    try:
        with path.open("rb") as fh:
            # Bounded read: a device file such as /dev/zero must not hang the loader.
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise fail("file not found", hint="check the path") from None
    except IsADirectoryError:
        raise fail("is a directory, not a policy file") from None
    except OSError as exc:
        hint = "fix or remove the symlink" if exc.errno == errno.ELOOP else ""
        raise fail(f"cannot read file: {exc.strerror or exc}", hint=hint) from None
    if len(raw) > MAX_FILE_BYTES:
        raise fail(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    if b"\x00" in raw:
        raise fail("this is a binary file, not YAML")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"not valid UTF-8 text (byte {exc.start})") from None

    try:
        doc = _parse(text, Scanner)
    except Exception:  # any failure is worded below, as it always was
        doc = _FAILED
    try:
        if doc is _FAILED:
            # The round-trip scanner reads a file the plain one cannot: its messages (and
            # positions) for a malformed file are the ones people have always been shown.
            doc = _parse(text, RoundTripScanner)
    except DuplicateKeyError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        # ruamel's text quotes both values, which may be secrets: name only the key.
        found = re.search(r'duplicate key "([^"]*)"', exc.problem or "")
        problem = f"duplicate key {found.group(1)!r}" if found else "duplicate key"
        raise fail(problem, line, col, "each key may appear once per mapping") from None
    except _SelfAlias as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise fail(exc.problem or "an alias refers to itself", line, col,
                   "write the values out, or anchor a value that does not hold the alias") from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = exc.problem or exc.context or "invalid YAML"
        raise fail(f"not valid YAML: {problem}", line, col) from None
    except YAMLError as exc:
        raise fail(f"not valid YAML: {exc}") from None
    except RecursionError:
        raise fail("not valid YAML: nesting is too deep") from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise fail(f"not valid YAML: {exc}") from None

    if doc is None:
        raise fail("the file is empty", hint="a policy starts with 'version: 1'")
    if not isinstance(doc, CommentedMap):
        raise fail(
            f"the top level must be a mapping of sections, not a {_kind(doc)}", 1, 1,
            "a policy starts with 'version: 1' followed by 'site:', 'tariff:', ...",
        )
    smap.positions[()] = (1, 1)
    issues: list[Issue] = []
    try:
        over = _section_over_limit(doc)
        if over is not None:
            _record_key_position(doc, over, smap)
            raise _TooBig(over, _too_many_nodes())
        plain = _plain(doc, (), _Walk(smap, issues))
    except _TooBig as exc:
        # Deep inside an expansion the path is a long chain of indexes into the anchor's text;
        # the section that holds the expansion is what a person can act on.
        raise PolicyError([smap.issue(
            exc.path[:1], exc.message, "write the values out, or use fewer nested aliases"
        )]) from None
    except RecursionError:
        raise fail("not valid YAML: nesting is too deep") from None
    plain = substitute_env(plain, smap, issues, environ)
    return plain, smap, redact_issues(issues, smap.secrets, smap.secret_paths)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "text"
    return type(value).__name__
