"""Every JSON file gridpilot reads refuses a repeated key, naming where (one parser)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gridpilot.cli import main
from gridpilot.errors import DataError
from gridpilot.jsontext import loads
from gridpilot.recorded.base import read_json

ROOT = Path(__file__).resolve().parents[2]

_json: Any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=3),
    max_leaves=10,
)


@settings(max_examples=60, deadline=None)
@given(_json)
def test_documents_without_repeats_read_as_json_reads_them(doc: Any) -> None:
    text = json.dumps(doc)
    assert loads(text) == json.loads(text)


@settings(max_examples=60, deadline=None)
@given(_json, st.text(max_size=3), st.integers(), st.integers())
@example({"@": None}, "", 0, 0)
def test_a_repeated_key_anywhere_is_refused_at_its_object(
    doc: Any, key: str, first: int, second: int
) -> None:
    inner = json.dumps(key) + f": {first}, " + json.dumps(key) + f": {second}"
    # the object goes in after ``doc`` by position: a marker string to replace could also be
    # one of ``doc``'s own keys or values (it was: {"@": null})
    outer = json.dumps({"outer": [doc]})
    assert outer.endswith("]}")
    text = outer[:-2] + ", {" + inner + "}]}"
    with pytest.raises(json.JSONDecodeError) as info:
        loads(text)
    assert info.value.msg == f"duplicate key {key!r} in the object that starts here"
    assert text[info.value.pos] == "{"
    assert text[info.value.pos + 1:].startswith(inner)


def test_read_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('[\n  {"a": 1,\n   "a": 2}\n]\n')
    with pytest.raises(DataError, match=r"x.json: line 2, column 3: bad JSON: duplicate key 'a'"):
        read_json(path)


def test_decide_refuses_a_state_with_a_repeated_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"soc_pct": 80,\n "load_w": 500,\n "soc_pct": 20}\n')
    code = main(["decide", str(ROOT / "examples/policies/economy7.yaml"), "--state", str(state),
                 "--at", "2026-01-15T02:00:00Z"])
    _, err = capsys.readouterr()
    assert code != 0
    assert f"{state}:1:1: not valid JSON: duplicate key 'soc_pct'" in err
    assert "Traceback" not in err


def test_an_octopus_price_file_with_a_repeated_key_is_refused(tmp_path: Path) -> None:
    from gridpilot.rules.prices import PriceFileError, _read_octopus

    text = '{"results": [{"valid_from": "2026-01-01T00:00Z", "valid_from": "x"}]}'
    with pytest.raises(PriceFileError, match=r"p.json:1:14: not valid JSON: duplicate key"):
        _read_octopus(text, "p.json")
