"""The public face, ``gridpilot/__init__.py``: what it exports resolves, it stays cheap to import,
and the example plugin needs nothing else."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import gridpilot

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_SRC = ROOT / "examples" / "plugin" / "src"


def test_every_exported_name_resolves() -> None:
    missing = [name for name in gridpilot.__all__ if getattr(gridpilot, name, None) is None]
    assert missing == []
    assert len(set(gridpilot.__all__)) == len(gridpilot.__all__)
    assert set(gridpilot.__all__) <= set(dir(gridpilot))


def test_an_unknown_name_is_an_attribute_error() -> None:
    assert not hasattr(gridpilot, "no_such_name")


def test_the_type_checking_imports_match_the_lazy_table() -> None:
    # mypy reads the TYPE_CHECKING imports, the interpreter the lazy table: they must agree.
    tree = ast.parse((ROOT / "gridpilot" / "__init__.py").read_text(encoding="utf-8"))
    guard = next(n for n in tree.body if isinstance(n, ast.If))
    typed = {
        alias.asname or alias.name: node.module
        for node in guard.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert typed == gridpilot._EXPORTS


def test_import_gridpilot_loads_nothing_heavy() -> None:
    code = (
        "import json, sys, gridpilot; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('gridpilot', 'numpy', 'pydantic', 'httpx', 'ruamel'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout) == ["gridpilot"]


def test_the_example_plugin_imports_only_the_public_face() -> None:
    sources = sorted(PLUGIN_SRC.rglob("*.py"))
    assert sources
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.split(".")[0] == "gridpilot"]
                assert names == [], f"{path}:{node.lineno} imports {names}"
            elif (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").split(".")[0] == "gridpilot"
            ):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                assert node.module == "gridpilot", f"{where} imports {node.module}"
                unknown = {a.name for a in node.names} - set(gridpilot.__all__)
                assert not unknown, f"{where} imports {unknown}, not in gridpilot.__all__"
