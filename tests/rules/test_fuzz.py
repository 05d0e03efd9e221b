"""Whatever the bytes, loading a policy ends in a Policy or a PolicyError, never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridpilot.errors import PolicyError
from gridpilot.rules.loader import load_policy

EXAMPLE = (Path(__file__).resolve().parents[2] / "examples" / "policies" / "economy7.yaml")
TEXT = EXAMPLE.read_text(encoding="utf-8")
LINES = TEXT.splitlines(keepends=True)
_TOKENS = ["", "-", ":", "[", "]", "{", "}", "&a", "*a", "!!binary", "~", "null", ".nan", "1e999",
           "2026-02-30", "\t", "'", '"', "${X}", "- - -", "<<: *a", "?", "|", ">", "0x1F",
           "99999999999999999999", "true", "mon-xyz", "25:00-26:00", "\x00", "é"]


def _load(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_policy(path, environ={})
        except PolicyError as exc:
            assert exc.issues
            for issue in exc.issues:
                assert issue.message and issue.file == str(path)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(LINES) - 1), st.integers(0, 60), st.sampled_from(_TOKENS),
                  st.booleans()),
        min_size=1, max_size=4,
    )
)
def test_mutated_policy_never_crashes(edits: list[tuple[int, int, str, bool]]) -> None:
    lines = list(LINES)
    for line_no, col, token, replace_value in edits:
        line = lines[line_no]
        if replace_value and ":" in line:
            key = line.split(":", 1)[0]
            lines[line_no] = f"{key}: {token}\n"
        else:
            col = min(col, len(line))
            lines[line_no] = line[:col] + token + line[col:]
    _load("".join(lines))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text: str) -> None:
    _load(text.replace("\x00", ""))
