"""Policies are read by ruamel's plain scanner (the round-trip one also gathers comments); what
a load gives, its positions, issues and every error message, is what the round-trip scanner
gives, for valid files and for damaged ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml.scanner import RoundTripScanner

import gridpilot.rules.yamlsource as yamlsource
from gridpilot.errors import PolicyError

_ROOT = Path(__file__).resolve().parents[2]
_TEXTS = sorted((p.name, p.read_text()) for p in (_ROOT / "examples").rglob("*.yaml"))
_TOKENS = [":", "-", "#", " ", "\t", '"', "'", "\n", "[", "]", "{", "}", "&a ", "*a", "!!str ",
           "|", ">", "? ", "---\n", "...\n", ",", "#x", "\\", "@", "<<: ", "~", "1e9999"]
_EDIT = st.tuples(st.floats(0, 1), st.sampled_from(["insert", "delete", "replace"]),
                  st.sampled_from(_TOKENS), st.integers(1, 4))


def _load(path: Path, *, round_trip_only: bool, monkeypatch: pytest.MonkeyPatch) -> object:
    if round_trip_only:
        parse = yamlsource._parse
        monkeypatch.setattr(yamlsource, "_parse", lambda text, _: parse(text, RoundTripScanner))
    try:
        plain, smap, issues = yamlsource.load_yaml_partial(path, environ={})
    except PolicyError as exc:
        return [i.format() for i in exc.issues]
    finally:
        monkeypatch.undo()
    return repr(plain), sorted(smap.positions.items(), key=repr), [i.format() for i in issues]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(_TEXTS), st.lists(_EDIT, max_size=3))
def test_a_damaged_policy_loads_as_the_round_trip_scanner_loads_it(
    tmp_path_factory: pytest.TempPathFactory, named: tuple[str, str],
    edits: list[tuple[float, str, str, int]],
) -> None:
    text = named[1]
    for where, op, token, width in edits:
        k = int(where * len(text))
        if op == "insert":
            text = text[:k] + token + text[k:]
        elif op == "delete":
            text = text[:k] + text[k + width:]
        else:
            text = text[:k] + token + text[k + 1:]
    path = tmp_path_factory.mktemp("yaml") / "p.yaml"
    path.write_text(text)
    with pytest.MonkeyPatch.context() as mp:
        assert (_load(path, round_trip_only=False, monkeypatch=mp)
                == _load(path, round_trip_only=True, monkeypatch=mp))


def test_every_example_loads_as_the_round_trip_scanner_loads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert len(_TEXTS) >= 5
    for path in sorted((_ROOT / "examples").rglob("*.yaml")):
        assert (_load(path, round_trip_only=False, monkeypatch=monkeypatch)
                == _load(path, round_trip_only=True, monkeypatch=monkeypatch)), path
