"""Hostile and careless input: alias bombs, broken ${...} references, and secrets that must not
reach any message."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scanner import Scanner

from gridpilot.cli.check import check_file
from gridpilot.errors import Issue, PolicyError
from gridpilot.rules import yamlsource
from gridpilot.rules.loader import load_policy
from gridpilot.rules.yamlsource import MAX_NODES, load_yaml, redact_issues

from .conftest import BASE, write

SECRET = "hunter2-TOPSECRET"


def bomb(levels: int) -> str:
    """A "billion laughs" document: each level repeats the previous one nine times."""
    lines = ["version: 1", 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        ref = f"*l{i - 1}"
        lines.append(f"l{i}: &l{i} [{','.join([ref] * 9)}]")
    return "\n".join(lines) + "\n"


def messages(path: Path, environ: dict[str, str] | None = None) -> list[Issue]:
    with pytest.raises(PolicyError) as info:
        load_policy(path, environ=environ)
    return info.value.issues


@pytest.mark.parametrize("levels", [7, 8, 12])
def test_alias_bomb_is_refused_quickly(tmp_path: Path, levels: int) -> None:
    path = write(tmp_path, bomb(levels))
    assert len(path.read_bytes()) < 1000
    started = time.process_time()
    found = messages(path)
    # Generous: the refusal costs at most MAX_NODES conversions, not 9**levels.
    assert time.process_time() - started < 5.0
    assert len(found) == 1
    assert "too many nodes/aliases" in found[0].message
    assert found[0].line >= 2
    assert found[0].hint == "write the values out, or use fewer nested aliases"


def test_aliases_below_the_limit_still_work(tmp_path: Path) -> None:
    # 9**5 = 59,049 strings: large but allowed, and each alias use is a real copy.
    data, _ = load_yaml(write(tmp_path, bomb(4)))
    assert len(data["l4"]) == 9
    assert sum(len(c) for b in data["l4"] for c in b) == 9**3
    assert MAX_NODES >= 200_000


@st.composite
def anchored_documents(draw: st.DrawFn) -> str:
    """Top-level sections, each anchored: a scalar, or a list or a mapping of scalars and
    aliases to the sections before it (some mapping keys not text, which are not converted)."""
    lines = ["version: 1"]
    for k in range(draw(st.integers(1, 6))):
        earlier = [f"*k{j}" for j in range(k)]
        item = st.sampled_from(["1", "x", *earlier])
        shape = draw(st.sampled_from(["scalar", "list", "map"]))
        if shape == "scalar":
            value = draw(st.sampled_from(["1", "x"]))  # an alias cannot carry an anchor
        elif shape == "list":
            value = "[" + ", ".join(draw(st.lists(item, max_size=6))) + "]"
        else:
            values = draw(st.lists(item, max_size=5))
            keys = [draw(st.sampled_from([f"m{i}", str(i)])) for i in range(len(values))]
            value = "{" + ", ".join(f"{key}: {v}" for key, v in zip(keys, values,
                                                                   strict=True)) + "}"
        lines.append(f"k{k}: &k{k} {value}")
    return "\n".join(lines) + "\n"


@settings(max_examples=80, deadline=None)
@given(anchored_documents(), st.integers(1, 120))
# the value under a key that is not text is not converted, so it counts for nothing
@example("version: 1\nk0: &k0 [1, 1, 1, 1, 1]\nk1: {0: *k0, m1: 1}\n", 12)
def test_the_alias_count_stops_in_the_section_the_walk_stops_in(text: str, limit: int) -> None:
    # The expansion is counted once per distinct node, so a bomb is refused at once; it must
    # stop in the very section the node-by-node conversion would.
    doc = yamlsource._parse(text, Scanner)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yamlsource, "MAX_NODES", limit)
        try:
            yamlsource._plain(doc, (), yamlsource._Walk(yamlsource.SourceMap("p.yaml"), []))
            walked = None
        except yamlsource._TooBig as exc:
            walked = exc.path[:1]
        assert yamlsource._section_over_limit(doc) == walked


def test_a_list_inside_itself_is_left_to_the_walk_that_names_it() -> None:
    # The composer refuses such a document as text; built by hand, the count must not recurse
    # forever but leave the cycle to the conversion, whose message names it.
    items = CommentedSeq([1, 2])
    items.append(items)
    doc = CommentedMap([("version", 1), ("a", items)])
    assert yamlsource._section_over_limit(doc) is None
    with pytest.raises(yamlsource._TooBig, match="contains it"):
        yamlsource._plain(doc, (), yamlsource._Walk(yamlsource.SourceMap("p.yaml"), []))


def test_alias_bomb_in_check_subprocess_finishes(tmp_path: Path) -> None:
    path = write(tmp_path, bomb(9))
    proc = subprocess.run(
        [sys.executable, "-m", "gridpilot", "check", str(path)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    assert "too many nodes/aliases" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_recursive_alias_does_not_hang(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nsite: &s\n  name: x\n  loop: *s\n")
    found = messages(path)
    assert found and all(i.file == str(path) for i in found)


def test_unclosed_reference_is_a_located_error(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("name: test site", "name: ${HOME_NAME"))
    found = messages(path, {"HOME_NAME": "x"})
    assert [(i.line, i.path) for i in found] == [(3, "site.name")]
    assert "'${' is not closed" in found[0].message
    assert found[0].hint == "add the closing '}'"


def test_bad_variable_name_is_a_located_error(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("name: test site", "name: ${1HOME}"))
    found = messages(path)
    assert [(i.line, i.path) for i in found] == [(3, "site.name")]
    assert "${1HOME} is not a valid environment variable name" in found[0].message


def test_substituted_text_is_not_reinspected(tmp_path: Path) -> None:
    # A value that itself contains "${" came from the environment, not the file: no error.
    path = write(tmp_path, BASE.replace("name: test site", "name: ${HOME_NAME}"))
    assert load_policy(path, environ={"HOME_NAME": "a ${b"}).doc.site.name == "a ${b"


SECRET_FIELDS = {
    "device type": ("device:\n  type: ${SECRETV}\n", "device.type"),
    "timezone": ("", "site.timezone"),
    "strategy name": (
        "rules:\n  - name: r\n    layer: schedule\n    strategy: ${SECRETV}\n",
        "rules[0].strategy",
    ),
    "days": (
        "rules:\n  - name: r\n    layer: schedule\n    when: {days: '${SECRETV}'}\n"
        "    action: {kind: hold}\n",
        "rules[0].when.days",
    ),
    "price file": (
        "", "tariff.import.dynamic.file",
    ),
    "strategy type": (
        "strategies:\n  s:\n    type: ${SECRETV}\n", "strategies.s.type",
    ),
}


def checked(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Issue]:
    """What ``gridpilot check`` reports with ``SECRETV`` set: the device section is refused by
    the device floor there (and by ``run``), not by the policy loader."""
    monkeypatch.setenv("SECRETV", SECRET)
    found = check_file(path)
    assert found
    return found


@pytest.mark.parametrize("case", sorted(SECRET_FIELDS))
def test_substituted_secret_never_in_any_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    extra, where = SECRET_FIELDS[case]
    base = BASE
    if case == "timezone":
        base = base.replace("timezone: Europe/London", "timezone: ${SECRETV}")
    if case == "price file":
        base = base.replace(
            "    default: 0.25\n",
            "    default: 0.25\n    dynamic: {file: '${SECRETV}.csv', format: csv}\n",
        )
    path = write(tmp_path, base + extra)
    if case == "device type":
        found = checked(path, monkeypatch)
    else:
        found = messages(path, {"SECRETV": SECRET})
    assert where in [i.path for i in found], [i.format() for i in found]
    for issue in found:
        text = issue.format() + repr(issue)
        assert "hunter2" not in text and "TOPSECRET" not in text
    assert any("***" in i.message for i in found if i.path == where)


def test_secret_redacted_from_the_cli_too(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "device:\n  type: ${SECRETV}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "gridpilot", "check", "--json", str(path)],
        capture_output=True, text=True, timeout=60,
        env={**_env(), "SECRETV": SECRET},
    )
    assert proc.returncode == 1
    assert "device.type" in proc.stdout
    assert SECRET not in proc.stdout + proc.stderr


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


@settings(max_examples=60, deadline=None)
@given(
    secret=st.text(min_size=1, max_size=12),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
)
def test_redaction_removes_every_occurrence(secret: str, before: str, after: str) -> None:
    issue = Issue("f", 1, 1, "p", before + secret + after + secret, hint=secret)
    (clean,) = redact_issues([issue], {secret, secret[:1]})
    # A secret of asterisks alone is found again in the mask that replaced it; nothing leaks.
    if set(secret) != {"*"}:
        assert secret not in clean.message and secret not in clean.hint
    assert secret[:1] not in clean.message.replace("***", "") or secret[:1] in "*"


def test_recorded_secrets_stay_out_of_reprs(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("name: test site", "name: ${SITE_NAME}"))
    policy = load_policy(path, environ={"SITE_NAME": SECRET})
    assert policy.doc.site.name == SECRET
    assert SECRET in policy.source.secrets
    assert SECRET not in repr(policy.source)
