"""The import floors of docs/architecture.md, checked on every module of ``gridpilot/``.

Each module may import only from its own package, from the floors below it and from the
same-floor packages listed in ``SIDEWAYS``. Every import counts: at module level, inside a
function and under ``if TYPE_CHECKING:``, and a plugin registry's lazy ``"module:attr"`` target
too; a function-level import must not hide a cycle either.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gridpilot"

GROUND = (
    "errors", "clock", "timeutil", "timefmt", "inputs", "jsontext", "stdio", "solver", "models",
    "registry", "exitcodes", "secrets", "httpcall", "arrays",
)

FLOORS: dict[str, int] = {
    **{name: 1 for name in GROUND},
    "calendar": 2,
    "engine": 3,
    "strategies": 4,
    "forecasts": 4,
    "lp": 4,
    "prices": 4,
    "recorded": 4,
    "rules": 5,
    "simulator": 6,
    "devices": 6,
    "scheduler": 7,
    "testing": 7,
    "fleet": 7,
    "mqtt": 7,
    "cli": 8,
    "docgen": 8,
    "__main__": 8,
}
"""Top-level package or module of ``gridpilot`` -> its floor (1 = ground)."""

SIDEWAYS: frozenset[tuple[str, str]] = frozenset({
    ("strategies", "lp"),
    # The MQTT link publishes a running scheduler's ticks and acts on its override store.
    ("mqtt", "scheduler"),
    ("__main__", "cli"),
})
"""Same-floor imports that are allowed (importer, imported). The ground floor's modules are one
package and may import each other."""

FORBIDDEN: frozenset[tuple[str, str]] = frozenset({
    # An adapter gets a DeviceContext, never the policy, so the device floor stands without rules.
    ("devices", "rules"),
})
"""Imports refused although the floors alone would allow them."""

LAZY_TARGET = re.compile(r"^(gridpilot(?:\.\w+)+):\w+$")
"""A registry's built-in, named as ``"module:attr"`` and imported on first use."""

PUBLIC_FACE_NAMES = frozenset({"__version__"})
"""What a module inside the package may take from ``gridpilot`` itself: the public face imports
every floor, so anything more would turn the floors upside down."""


@dataclass(frozen=True, slots=True)
class Import:
    importer: str
    target: str
    line: int
    names: tuple[str, ...] = ()

    def where(self) -> str:
        return f"{self.importer}:{self.line}"


def unit(module: str) -> str:
    """``gridpilot.rules.scenario`` -> ``rules``; ``gridpilot.errors`` -> ``errors``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def floor_of(module: str) -> int | None:
    return FLOORS.get(unit(module))


def _is_package(module: str, modules: frozenset[str]) -> bool:
    return any(other.startswith(module + ".") for other in modules)


def imports_of(module: str, source: str, modules: frozenset[str]) -> Iterator[Import]:
    """Every import of ``gridpilot`` in ``source``, wherever it stands, with relative imports
    resolved, ``from package import submodule`` read as an import of the submodule and a lazy
    ``"gridpilot.module:attr"`` target as an import of that module."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            lazy = LAZY_TARGET.match(node.value)
            if lazy is not None:
                yield Import(module, lazy.group(1), node.lineno)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "gridpilot":
                    yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                if not _is_package(module, modules):
                    anchor = anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] != "gridpilot":
                continue
            names = tuple(alias.name for alias in node.names)
            plain = [n for n in names if f"{base}.{n}" not in modules]
            for name in names:
                if f"{base}.{name}" in modules:
                    yield Import(module, f"{base}.{name}", node.lineno)
            if plain:
                yield Import(module, base, node.lineno, tuple(plain))


def violation(imp: Import) -> str | None:
    """Why ``imp`` breaks the floors, or ``None``."""
    if imp.target == "gridpilot":
        extra = sorted(set(imp.names) - PUBLIC_FACE_NAMES)
        if imp.importer == "gridpilot" or not extra:
            return None
        return f"{imp.where()} takes {', '.join(extra)} from the public face `gridpilot`"
    src, dst = unit(imp.importer), unit(imp.target)
    if imp.importer == "gridpilot" or src == dst:
        return None
    src_floor, dst_floor = FLOORS.get(src), FLOORS.get(dst)
    if src_floor is None:
        return f"{imp.importer} is on no floor: add `{src}` to FLOORS and docs/architecture.md"
    if dst_floor is None:
        return f"{imp.where()} imports {imp.target}, which is on no floor"
    if (src, dst) in FORBIDDEN:
        return f"{imp.where()} imports {imp.target}: {src} may not import {dst}"
    if dst_floor < src_floor or (dst_floor == src_floor == 1) or (src, dst) in SIDEWAYS:
        return None
    if dst_floor == src_floor:
        return f"{imp.where()} imports {imp.target}: same floor {src_floor}, {src} -> {dst} " \
               "is not in SIDEWAYS"
    return f"{imp.where()} imports {imp.target}: floor {src_floor} ({src}) may not import " \
           f"floor {dst_floor} ({dst})"


def layer_violations(sources: Mapping[str, str]) -> list[str]:
    modules = frozenset(sources)
    found = []
    for module, source in sorted(sources.items()):
        if module != "gridpilot" and floor_of(module) is None:
            found.append(f"{module} is on no floor: add `{unit(module)}` to FLOORS")
            continue
        for imp in sorted(imports_of(module, source, modules), key=lambda i: i.line):
            problem = violation(imp)
            if problem is not None:
                found.append(problem)
    return found


def import_cycles(sources: Mapping[str, str]) -> list[list[str]]:
    """Strongly connected groups of more than one module in the import graph (every import,
    function-level and type-only ones too). The public face, which imports lazily what it
    re-exports, is left out."""
    modules = frozenset(sources)
    graph: dict[str, set[str]] = {m: set() for m in modules if m != "gridpilot"}
    for module in graph:
        for imp in imports_of(module, sources[module], modules):
            if imp.target in graph and imp.target != module:
                graph[module].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(groups)


def package_sources(root: Path = PACKAGE) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out[".".join(parts)] = path.read_text(encoding="utf-8")
    return out


# --- the package ------------------------------------------------------------------------------


def test_every_import_respects_the_floors() -> None:
    problems = layer_violations(package_sources())
    assert not problems, f"{len(problems)} imports break the floors:\n" + "\n".join(problems)


def test_no_import_cycle() -> None:
    cycles = import_cycles(package_sources())
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_map_names_every_top_level_package() -> None:
    on_disk = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert sorted(on_disk - FLOORS.keys()) == []
    doc = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert [name for name in sorted(FLOORS) if f"`{name}" not in doc] == []


# --- the checker itself, on made-up modules -----------------------------------------------------


SYNTHETIC = {
    "gridpilot": "from gridpilot.engine.commands import Command\n",
    "gridpilot.errors": "",
    "gridpilot.timeutil": "from gridpilot.errors import GridpilotError\n",
    "gridpilot.engine": "",
    "gridpilot.engine.commands": "from gridpilot.errors import GridpilotError\n",
    "gridpilot.engine.decide": "from . import commands\nfrom .commands import Command\n",
    "gridpilot.lp": "",
    "gridpilot.lp.battery": "import gridpilot.engine.commands\n",
    "gridpilot.strategies": "",
    "gridpilot.strategies.plan": "from gridpilot.lp import battery\n",
    "gridpilot.rules": "",
    "gridpilot.rules.schema": "from gridpilot.engine import commands\n",
    "gridpilot.devices": "",
    "gridpilot.devices.base": "from gridpilot import __version__\n",
}


def _with(**extra: str) -> dict[str, str]:
    return {**SYNTHETIC, **{k.replace("__", "."): v for k, v in extra.items()}}


def test_the_checker_passes_a_clean_set() -> None:
    assert layer_violations(SYNTHETIC) == []
    assert import_cycles(SYNTHETIC) == []


@pytest.mark.parametrize("source", [
    "from gridpilot.rules.schema import PolicyDoc\n",
    "import gridpilot.rules.schema\n",
    "from gridpilot.rules import schema\n",
    "def f():\n    from gridpilot.rules.schema import PolicyDoc\n",
    "BUILTINS = {'x': 'gridpilot.rules.schema:PolicyDoc'}\n",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gridpilot.rules import schema\n",
    "from ..rules.schema import PolicyDoc\n",
])
def test_a_lower_floor_importing_a_higher_one_fails(source: str) -> None:
    problems = layer_violations(_with(gridpilot__engine__decide=source))
    assert len(problems) == 1
    assert "gridpilot.engine.decide" in problems[0] and "gridpilot.rules.schema" in problems[0]
    assert "floor 3 (engine) may not import floor 5 (rules)" in problems[0]


def test_same_floor_imports_need_to_be_listed() -> None:
    assert layer_violations(_with(gridpilot__lp__battery="import gridpilot.strategies.plan\n")) \
        == ["gridpilot.lp.battery:1 imports gridpilot.strategies.plan: same floor 4, "
            "lp -> strategies is not in SIDEWAYS"]


def test_devices_may_not_import_rules_though_it_is_lower() -> None:
    problems = layer_violations(_with(gridpilot__devices__base="import gridpilot.rules.schema\n"))
    assert problems == ["gridpilot.devices.base:1 imports gridpilot.rules.schema: "
                        "devices may not import rules"]


def test_only_the_version_may_be_taken_from_the_public_face() -> None:
    problems = layer_violations(_with(gridpilot__rules__schema="from gridpilot import Command\n"))
    assert problems == ["gridpilot.rules.schema:1 takes Command from the public face `gridpilot`"]


def test_a_module_off_the_map_is_named() -> None:
    problems = layer_violations(_with(gridpilot__units=""))
    assert problems == ["gridpilot.units is on no floor: add `units` to FLOORS"]


def test_a_cycle_hidden_in_a_function_is_found() -> None:
    sources = _with(
        gridpilot__rules__schema="import gridpilot.rules.checks\n",
        gridpilot__rules__checks="def f():\n    import gridpilot.rules.schema\n",
    )
    assert layer_violations(sources) == []
    assert import_cycles(sources) == [["gridpilot.rules.checks", "gridpilot.rules.schema"]]
