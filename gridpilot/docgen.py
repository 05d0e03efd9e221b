"""Generate the key references in ``docs/`` from the pydantic models, so they cannot drift.

``python -m gridpilot.docgen`` rewrites the blocks between ``BEGIN GENERATED <name>`` and
``END GENERATED <name>`` markers: the policy keys in ``docs/policy.md``, each device adapter's
settings in ``docs/devices.md``, each built-in strategy's settings in ``docs/strategies.md`` and
each built-in price provider's settings in ``docs/tariffs.md``.
``--check`` exits 1 when any is out of date. Each key's description is the docstring written
under the field in the model, its example the first value the bundled example policies give it.
"""

from __future__ import annotations

import argparse
import ast
import functools
import inspect
import itertools
import sys
import textwrap
import types
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from gridpilot.devices.registry import DEVICES
from gridpilot.prices.registry import PRICE_PROVIDERS
from gridpilot.strategies.registry import STRATEGIES

__all__ = [
    "begin_marker",
    "end_marker",
    "generate_reference",
    "main",
    "render_block",
    "rendered_docs",
]


def begin_marker(name: str) -> str:
    return f"<!-- BEGIN GENERATED {name}: python -m gridpilot.docgen -->"


def end_marker(name: str) -> str:
    return f"<!-- END GENERATED {name} -->"

# Checked longest suffix first: ``min_spread_per_kwh`` also ends in ``_kwh``, yet it is a price.
_UNITS = tuple(sorted(
    (
        ("_kwh", "kWh"),
        ("_w", "W"),
        ("_pct", "%"),
        ("_s", "s"),
        ("per_kwh", "currency/kWh"),
        ("per_day", "currency/day"),
        ("per_kw", "currency/kW"),
    ),
    key=lambda pair: -len(pair[0]),
))
_PRICE_KEYS = {"price", "price_below", "price_above", "default", "import", "export"}


def _docstrings(cls: type) -> dict[str, str]:
    """Attribute docstrings (the string literal right under a field) of ``cls`` and its bases."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass in (object, BaseModel) or not issubclass(klass, BaseModel):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for prev, node in itertools.pairwise(body):
            if (
                isinstance(prev, ast.AnnAssign)
                and isinstance(prev.target, ast.Name)
                and isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                out[prev.target.id] = " ".join(inspect.cleandoc(node.value.value).split())
    return out


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    annotation = _strip(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return [m for a in get_args(annotation) for m in _members(a)]
    return [annotation]


def _type_name(annotation: Any) -> str:
    names = []
    for member in _members(annotation):
        origin = get_origin(member)
        if member is type(None):
            continue
        if origin is Literal:
            names.append(" | ".join(f"`{a}`" for a in get_args(member)))
        elif origin in (list, tuple):
            inner = get_args(member)
            names.append(f"list of {_type_name(inner[0])}" if inner else "list")
        elif origin is dict:
            names.append("mapping")
        elif isinstance(member, type) and issubclass(member, Enum):
            names.append(" | ".join(f"`{m.value}`" for m in member))
        elif isinstance(member, type) and issubclass(member, BaseModel):
            names.append("section")
        elif isinstance(member, type):
            names.append({"float": "number", "int": "integer", "str": "text", "bool": "boolean",
                          "datetime": "date-time"}.get(member.__name__, member.__name__))
        else:
            names.append(str(member))
    optional = any(m is type(None) for m in _members(annotation))
    text = " or ".join(dict.fromkeys(names)) or "any"
    return text + (" or null" if optional else "")


def _unit(name: str, section: str) -> str:
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit
    if name in _PRICE_KEYS and ("tariff" in section or name.startswith("price")):
        return "currency/kWh"
    return ""


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    value = info.default
    if value is PydanticUndefined and info.default_factory is not None:
        return "(see below)"
    if isinstance(value, BaseModel):
        return "(see below)"
    if isinstance(value, Enum):
        return f"`{value.value}`"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list | dict) and not value:
        return "empty"
    if value == "":
        return '`""`'
    return f"`{value}`"


def _models(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    for member in _members(annotation):
        origin = get_origin(member)
        if origin in (list, tuple, dict):
            for arg in get_args(member):
                found.extend(_models(arg))
        elif isinstance(member, type) and issubclass(member, BaseModel):
            found.append(member)
    return found


def _variant_tag(model: type[BaseModel]) -> str | None:
    info = model.model_fields.get("kind")
    if info is not None and get_origin(_strip(info.annotation)) is Literal:
        return str(get_args(_strip(info.annotation))[0])
    return None


def _example_index(example_files: list[Path]) -> dict[str, str]:
    """``dotted.key -> first value`` seen in the example policies (lists collapse to ``[]``)."""
    return dict(_example_index_of(tuple(_file_key(f) for f in example_files)))


def _file_key(path: Path) -> tuple[str, int, int]:
    try:
        st = path.stat()
    except OSError:
        return str(path), -1, -1
    return str(path), st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=8)
def _example_index_of(files: tuple[tuple[str, int, int], ...]) -> dict[str, str]:
    """:func:`_example_index` of the files as they are now (path, mtime, size): a run renders
    eighteen references from the same examples, and parsing them once each instead of for
    every reference takes ``--check`` from 2.8 s of CPU to 1.1 s."""
    from gridpilot.rules.yamlsource import load_yaml

    index: dict[str, str] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            tag = node.get("kind") if isinstance(node.get("kind"), str) else None
            for key, value in node.items():
                child = f"{path}.{key}" if path else key
                walk(value, child)
                if tag is not None:
                    walk(value, f"{path}({tag}).{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, f"{path}[]")
        elif path not in index:
            text = "null" if node is None else str(node)
            if isinstance(node, bool):
                text = str(node).lower()
            if len(text) <= 40 and "${" not in text:
                index[path] = text
    for file, _, _ in files:
        try:
            data, _ = load_yaml(Path(file))
        except Exception:  # an example that does not load is reported by its own tests
            continue
        walk(data, "")
    return index


def _prose(doc: str) -> str:
    """A model docstring as markdown: paragraphs joined, ``*`` lists kept as lists."""
    lines: list[str] = []
    for raw in doc.replace("``", "`").splitlines():
        text = raw.strip()
        if not text:
            lines.append("")
        elif text.startswith("* ") or not lines or not lines[-1]:
            lines.append(text)
        else:
            lines[-1] += " " + text
    return "\n".join(lines).strip()


def _escape(text: str) -> str:
    return text.replace("``", "`").replace("|", "\\|").replace("\n", " ")


def _rows(
    model: type[BaseModel], prefix: str, examples: dict[str, str]
) -> Iterator[tuple[str, list[str], list[tuple[str, type[BaseModel]]]]]:
    """Yield (section title, table lines, sub-sections) depth first."""
    docs = _docstrings(model)
    lines = [
        "| key | type | unit | default | example | description |",
        "|---|---|---|---|---|---|",
    ]
    subs: list[tuple[str, type[BaseModel]]] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        path = f"{prefix}.{key}" if prefix else key
        example = examples.get(path) or examples.get(path + "[]") or ""
        lines.append(
            f"| `{key}` | {_escape(_type_name(info.annotation))} | "
            f"{'' if _models(info.annotation) else _unit(key, prefix)} | "
            f"{_escape(_default(info))} | {('`' + _escape(example) + '`') if example else ''} | "
            f"{_escape(docs.get(name, ''))} |"
        )
        inner = _models(info.annotation)
        container = any(
            get_origin(m) in (list, tuple) for m in _members(info.annotation)
        )
        for sub in inner:
            tag = _variant_tag(sub) if len(inner) > 1 else None
            sub_path = path + ("[]" if container else "")
            if tag is not None:
                sub_path += f"({tag})"
            subs.append((sub_path, sub))
    yield prefix, lines, subs


def generate_reference(
    root_model: type[BaseModel],
    example_files: list[Path],
    *,
    prefix: str = "",
    level: int = 3,
) -> str:
    """The markdown key reference of ``root_model``, one table per section. ``prefix`` is where
    the model sits in a policy (``device``), for the headings and the examples."""
    examples = _example_index(example_files)
    out: list[str] = []
    queue: list[tuple[str, type[BaseModel]]] = [(prefix, root_model)]
    seen: set[tuple[str, type[BaseModel]]] = set()
    while queue:
        prefix, model = queue.pop(0)
        if (prefix, model) in seen:
            continue
        seen.add((prefix, model))
        for title, lines, subs in _rows(model, prefix, examples):
            heading = f"`{title}`" if title else "top level"
            doc = inspect.cleandoc(model.__doc__ or "")
            out.append(f"{'#' * level} {heading}\n")
            if doc and not doc.startswith(("Usage docs", "A base class")):
                out.append(_prose(doc) + "\n")
            out.extend(lines)
            out.append("")
            queue.extend(subs)
    return "\n".join(out).rstrip() + "\n"


def render_block(current: str, name: str, content: str) -> str:
    """``current`` with the generated block ``name`` replaced by ``content``."""
    begin, end = begin_marker(name), end_marker(name)
    if begin not in current or end not in current:
        raise ValueError(f"the document lacks the markers {begin!r} and {end!r}")
    head, rest = current.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n\n{content}\n{end}{tail}"


def _device_reference(examples: list[Path]) -> str:
    parts = []
    for type_name in DEVICES.names():
        model = DEVICES.settings_model(type_name)
        parts.append(f"### `type: {type_name}`\n")
        parts.append(generate_reference(model, examples, prefix="device", level=4))
    return "\n".join(parts)


def _strategy_reference(examples: list[Path]) -> str:
    parts = []
    for type_name in STRATEGIES.names():
        cls = STRATEGIES.get(type_name)
        if not cls.__module__.startswith("gridpilot.strategies."):
            continue  # an installed plugin documents itself
        parts.append(f"### `type: {type_name}`\n")
        parts.append(
            generate_reference(cls.settings_model, examples, prefix="strategies.*", level=4)
        )
    return "\n".join(parts)


def _price_provider_reference(examples: list[Path]) -> str:
    parts = []
    for type_name in PRICE_PROVIDERS.names():
        kind = PRICE_PROVIDERS.get(type_name)
        if not getattr(kind, "__module__", "").startswith("gridpilot.prices."):
            continue  # an installed plugin documents itself
        parts.append(f"### `type: {type_name}`\n")
        parts.append(generate_reference(kind.settings_model, examples,
                                        prefix="tariff.*.provider", level=4))
    return "\n".join(parts)


def rendered_docs(docs_dir: Path, examples_dir: Path) -> dict[Path, tuple[str, str]]:
    """``{file: (current text, regenerated text)}`` for every generated document."""
    from gridpilot.rules.schema import PolicyDoc

    examples = sorted(examples_dir.glob("*.yaml"))
    jobs: dict[Path, list[tuple[str, Callable[[], str]]]] = {
        docs_dir / "policy.md": [
            ("policy-keys", lambda: generate_reference(PolicyDoc, examples))
        ],
        docs_dir / "devices.md": [("device-settings", lambda: _device_reference(examples))],
        docs_dir / "strategies.md": [
            ("strategy-settings", lambda: _strategy_reference(examples))
        ],
        docs_dir / "tariffs.md": [
            ("price-provider-settings", lambda: _price_provider_reference(examples))
        ],
    }
    out: dict[Path, tuple[str, str]] = {}
    for path, blocks in jobs.items():
        current = path.read_text(encoding="utf-8")
        updated = current
        for name, make in blocks:
            updated = render_block(updated, name, make())
        out[path] = (current, updated)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gridpilot.docgen")
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is out of date")
    parser.add_argument("--docs", default="docs")
    parser.add_argument("--examples", default="examples/policies")
    args = parser.parse_args(argv)

    stale = 0
    for path, (current, updated) in rendered_docs(Path(args.docs), Path(args.examples)).items():
        if updated == current:
            print(f"{path} is up to date")
        elif args.check:
            stale += 1
            print(f"{path} is out of date; run: python -m gridpilot.docgen",
                  file=sys.stderr)
        else:
            path.write_text(updated, encoding="utf-8")
            print(f"wrote {path}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
