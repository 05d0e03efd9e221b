"""Bad input on the command line: a clear message and the documented exit status, never a
traceback. The cases run the command line in this process; a reader that closed the pipe is
seen from a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import gridpilot.cli.schema as schema_command
from gridpilot.scheduler.audit import AuditLog
from tests.cli.conftest import BUNDLED_DATA, POLICY, REPO, assert_no_traceback, gridpilot

needs_proc = pytest.mark.skipif(not Path("/proc").is_dir(),
                                reason="needs Linux /proc (nothing can be created there, even as "
                                "root)")


# Malformed flag values are usage errors: exit 2, naming the flag, before anything is read.
USAGE_CASES = [
    (["simulate", "{policy}", "--data", "{data}", "--step", "7m"], "--step", "1m, 5m, 15m"),
    (["simulate", "{policy}", "--data", "{data}", "--soc", "nan"], "--soc", "finite"),
    (["simulate", "{policy}", "--data", "{data}", "--soc", "150"], "--soc", "at most 100"),
    (["simulate", "{policy}", "--data", "{data}", "--from", "2018-13-01"], "--from", "YYYY-MM-DD"),
    (["simulate", "{policy}", "--data", "{data}", "--max-bill-increase-pct", "inf"],
     "--max-bill-increase-pct", "finite"),
    (["simulate", "{policy}", "--data", "{data}", "--map", "load_w=x", "--timezone", "Mars/Base"],
     "--timezone", "IANA"),
    (["simulate", "{policy}", "--data", "{data}", "--format", "bogus"], "--format",
     "uk-composite"),
    (["simulate", "{policy}", "--data", "{data}", "--map", "load_w"], "--map", "FIELD=COLUMN"),
    (["simulate", "{policy}", "--data", "{data}", "--map", "load_w=load_w", "--delimiter", ";;"],
     "--delimiter", "one character"),
    (["run", "{policy}", "--interval", "banana"], "--interval", "e.g. 60s, 5m"),
    (["run", "{policy}", "--interval", "2h"], "--interval", "between 1 s and 1 h"),
    (["run", "{policy}", "--speed", "nan"], "--speed", "finite"),
    (["run", "{policy}", "--speed=-inf"], "--speed", "finite"),
    (["run", "{policy}", "--speed", "0"], "--speed", "above 0"),
    (["run", "{policy}", "--max-ticks", "0"], "--max-ticks", "1 or more"),
    (["run", "{policy}", "--start", "yesterday"], "--start", "ISO 8601"),
    (["run", "{policy}", "--start", "0001-01-01"], "--start", "from 1970 to before 9000"),
    (["override", "set", "charge", "--power-w", "nan", "--for", "1h"], "--power-w", "finite"),
    (["override", "set", "charge", "--power-w", "-3000", "--for", "1h"], "--power-w", "above 0"),
    (["override", "set", "charge", "--target-soc-pct", "inf", "--for", "1h"],
     "--target-soc-pct", "finite"),
    (["override", "set", "peak_shave", "--max-import-w", "-1", "--for", "1h"],
     "--max-import-w", "at least 0"),
    (["override", "set", "hold", "--for", "banana"], "--for", "e.g. 2h, 90m"),
    (["override", "set", "hold", "--until", "25:99"], "--until", "HH:MM"),
    (["sweep", "{policy}", "--data", "{data}", "--set", "garbage"], "--set", "PATH=A:B:STEP"),
    (["sweep", "{policy}", "--data", "{data}", "--set", "x=0:nan:1"], "--set", "A <= B"),
    (["sweep", "{policy}", "--data", "{data}", "--set", "x=0:inf:1"], "--set", "A <= B"),
    (["sweep", "{policy}", "--data", "{data}", "--set", "x=1", "--jobs", "0"],
     "--jobs", "1 or more"),
    (["decide", "{policy}", "--at", "notatime"], "--at", "ISO 8601"),
    (["decide", "{policy}", "--at", "2018-01-01T17:00"], "--at", "needs a UTC offset"),
    (["decide", "{policy}", "--at", "0001-01-01T00:00Z"], "--at", "between 1970 and 9000"),
    (["log", "--since", "banana"], "--since", "duration"),
    (["log", "--since", ""], "--since", "empty"),
    (["override", "set", "hold", "--until", "0001-01-01T00:00"], "--until", "out of range"),
    (["device", "export", "{policy}", "--from", "soon", "--to", "2018-01-02", "--out", "x.csv"],
     "--from", "YYYY-MM-DD"),
    (["demo", "--step", "7m"], "--step", "1m, 5m, 15m"),
]


_IDS = [f"{a[0]} {' '.join(a[a.index(f):]) if f in a else a[-1]}" for a, f, _ in USAGE_CASES]


@pytest.fixture(scope="module")
def usage_results(tmp_path_factory: pytest.TempPathFactory
                  ) -> list[tuple[subprocess.CompletedProcess[str], list[Path]]]:
    """Every usage case, each in an empty working directory, to see that a usage error writes
    nothing."""
    base = tmp_path_factory.mktemp("usage")
    policy = base / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    data = base / "two-days.csv"
    data.write_text("\n".join(BUNDLED_DATA.read_text(encoding="utf-8").splitlines()[:97]) + "\n",
                    encoding="utf-8")

    def one(i: int) -> tuple[subprocess.CompletedProcess[str], list[Path]]:
        cwd = base / f"case{i}"
        cwd.mkdir()
        argv = [a.format(policy=policy, data=data) for a in USAGE_CASES[i][0]]
        result = gridpilot(*argv, cwd=cwd)
        return result, list(cwd.iterdir())

    return [one(i) for i in range(len(USAGE_CASES))]


@pytest.mark.parametrize("case", range(len(USAGE_CASES)), ids=_IDS)
def test_a_malformed_flag_value_is_a_usage_error_naming_the_flag(
    case: int, usage_results: list[tuple[subprocess.CompletedProcess[str], list[Path]]],
) -> None:
    _argv, flag, hint = USAGE_CASES[case]
    result, written = usage_results[case]
    assert_no_traceback(result)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert f"error: argument {flag}" in last, last
    assert hint in last, last
    assert written == [], "a usage error writes nothing"


def test_decide_with_a_binary_state_file_names_the_file(policy: Path, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_bytes(bytes(range(256)) * 4)
    result = gridpilot("decide", str(policy), "--state", str(state))
    assert_no_traceback(result)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"gridpilot: {state}: byte 128: not UTF-8 text; give a JSON state file "
        "(see `gridpilot decide --help`)"
    ]


@pytest.mark.parametrize(("state", "message"), [
    ({"time": "9999-12-31T23:59:59Z"},
     "time: 9999-12-31T23:59:59+00:00 is out of range; give a time between 1970 and 9000"),
    ({"time": "2018-01-01T12:00:00Z", "prices": {
        "start": ["2018-01-01T13:00:00Z", "2018-01-01T12:00:00Z"], "end": "2018-01-01T14:00:00Z",
        "import_per_kwh": [0.1, 0.2]}},
     "prices: Value error, prices.start must be in time order, each slot after the last"),
    ({"time": "2018-01-01T12:00:00Z", "prices": {
        "start": ["2018-01-01T12:00:00Z"], "end": "2018-01-01T11:00:00Z",
        "import_per_kwh": [0.1]}},
     "prices: Value error, prices.end must be after the last slot's start"),
])
def test_decide_with_a_state_it_cannot_use_names_the_field(
    state: dict[str, object], message: str, policy: Path, tmp_path: Path
) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state), encoding="utf-8")
    result = gridpilot("decide", str(policy), "--state", str(path))
    assert_no_traceback(result)
    assert result.returncode == 1
    assert result.stderr.strip() == f"gridpilot: {path}: {message}"


def _one_line_about(result: subprocess.CompletedProcess[str], path: str, what: str) -> None:
    assert_no_traceback(result)
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"gridpilot: {path}: "), lines[0]
    assert what in lines[0], lines[0]
    assert lines[0].endswith(")"), "the line ends with what to do, in brackets"


def test_simulate_out_naming_an_existing_file(policy: Path, two_days: Path,
                                              tmp_path: Path) -> None:
    taken = tmp_path / "report"
    taken.write_text("keep me", encoding="utf-8")
    result = gridpilot("simulate", str(policy), "--data", str(two_days), "--out", str(taken))
    _one_line_about(result, str(taken), "exists and is not a directory")
    assert "give --out" in result.stderr
    assert taken.read_text(encoding="utf-8") == "keep me"
    assert result.stdout == "", "refused before the backtest ran"


@needs_proc
@pytest.mark.parametrize("command", ["simulate", "sweep", "test", "device export", "run"])
def test_an_output_path_that_cannot_be_created(command: str, policy: Path,
                                               two_days: Path) -> None:
    p, d = str(policy), str(two_days)
    argv, path, flag = {
        "simulate": (["simulate", p, "--data", d, "--out", "/proc/x"], "/proc/x", "--out"),
        "sweep": (["sweep", p, "--data", d, "--set", "site.battery.capacity_kwh=4,5",
                   "--csv", "/proc/x/y.csv"], "/proc/x/y.csv", "--csv"),
        "test": (["test", p, "--junit", "/proc/x/j.xml"], "/proc/x/j.xml", "--junit"),
        "device export": (["device", "export", p, "--from", "2018-01-01", "--to", "2018-01-02",
                           "--out", "/proc/x/e.csv"], "/proc/x/e.csv", "--out"),
        "run": (["run", p, "--once", "--state-dir", "/proc/x"], "/proc/x", "--state-dir"),
    }[command]
    result = gridpilot(*argv)
    _one_line_about(result, path, "cannot create")
    assert f"give {flag}" in result.stderr


def test_an_output_file_that_is_a_directory(policy: Path, tmp_path: Path) -> None:
    result = gridpilot("test", str(policy), "--junit", str(tmp_path))
    _one_line_about(result, str(tmp_path), "is a directory")


def test_the_output_checks_leave_nothing_behind_when_the_run_fails_later(
    policy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sub" / "e.csv"
    result = gridpilot("device", "export", str(policy), "--from", "2018-01-02",
                       "--to", "2018-01-01", "--out", str(out))
    assert_no_traceback(result)
    assert result.returncode == 1
    assert "--to must be after --from" in result.stderr
    assert not out.exists()


def _audit_dir(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    log = AuditLog(state)
    now = datetime.now(UTC)
    log.write("tick", now - timedelta(minutes=2), tick=1, status="ok",
              state={"soc_pct": 55.0, "grid_w": 120.0},
              decision={"describe": "hold", "winner": "default"})
    # A broken reading is kept as text by the writer: the reader must still show it.
    log.write("tick", now - timedelta(minutes=1), tick=2, status="ok",
              state={"soc_pct": float("nan"), "grid_w": float("inf")})
    log.close()
    with (state / "audit.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"ts":1}\n')                                    # line 3
        fh.write("[1, 2, 3]\n")                                   # line 4
        fh.write('{"ts": "2026-01-01T00:00:00", "kind": "tick"}\n')  # line 5, no offset
        fh.write("not json at all\n")                             # line 6
        fh.write('{"kind": "tick", "ts": "yesterday"}\n')         # line 7
        fh.write(json.dumps({"ts": now.isoformat(), "kind": "command_attempt",
                             "command": "charge"}) + "\n")        # line 8, foreign shape
    return state


@pytest.mark.parametrize("since", [None, "2h"])
def test_log_flags_foreign_and_malformed_lines_by_line_number(tmp_path: Path,
                                                              since: str | None) -> None:
    state = _audit_dir(tmp_path)
    extra = ["--since", since] if since else []
    result = gridpilot("log", "--state-dir", str(state), *extra)
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    audit = state / "audit.jsonl"
    assert f"{audit}:3: skipped, not an audit record: no 'ts' time text" in out
    assert f"{audit}:4: skipped, not an audit record: a JSON list, not an audit record" in out
    assert f"{audit}:5: skipped, not an audit record: 'ts' '2026-01-01T00:00:00' has no UTC " \
           "offset" in out
    assert f"{audit}:6: skipped, not an audit record: not valid JSON" in out
    assert any(line.startswith(f"{audit}:7: skipped") and "ISO 8601" in line for line in out)
    assert any("#1 ok SOC 55.0 % grid +120 W -> hold (default)" in line for line in out)
    assert any("#2 ok SOC nan % grid inf W" in line for line in out)
    assert any("command_attempt" in line and line.endswith("-") for line in out)
    assert len(out) == 8


def test_log_json_keeps_the_line_numbers_of_skipped_lines(tmp_path: Path) -> None:
    state = _audit_dir(tmp_path)
    result = gridpilot("log", "--state-dir", str(state), "--json")
    assert_no_traceback(result)
    assert result.returncode == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    corrupt = [(r["line"], r["why"]) for r in records if r["kind"] == "corrupt"]
    assert [line for line, _ in corrupt] == [3, 4, 5, 6, 7]


def _with_closed_stdout(argv: list[str], cwd: Path,
                        buffered: bool) -> subprocess.CompletedProcess[str]:
    """Run with a stdout pipe whose reader is already gone, as after ``| head`` finished."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("PYTHONUNBUFFERED", None)
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, "-m", "gridpilot", *argv], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120, cwd=cwd,
                              env=env, check=False)
    finally:
        os.close(write_end)


@pytest.mark.parametrize("command", ["device probe --json", "log --json", "log", "schema",
                                     "check", "simulate", "sweep"])
@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
def test_a_closed_stdout_ends_quietly(command: str, buffered: bool, policy: Path,
                                      two_days: Path, tmp_path: Path) -> None:
    state = _audit_dir(tmp_path)
    argv = {
        "simulate": ["simulate", str(policy), "--data", str(two_days)],
        "sweep": ["sweep", str(policy), "--data", str(two_days), "--jobs", "1",
                  "--set", "site.battery.capacity_kwh=4,5", "--csv", str(tmp_path / "s.csv")],
        "device probe --json": ["device", "probe", str(policy), "--json"],
        "log --json": ["log", "--state-dir", str(state), "--json"],
        "log": ["log", "--state-dir", str(state)],
        "schema": ["schema"],
        "check": ["check", str(policy)],
    }[command]
    result = _with_closed_stdout(argv, tmp_path, buffered)
    assert result.returncode == 141, result.stderr
    for word in ("Traceback", "Exception ignored", "BrokenPipe", "internal error"):
        assert word not in result.stderr, result.stderr
    if command != "check":  # check's summary goes to stderr, whoever reads stdout
        assert result.stderr == ""


def test_log_json_through_head(tmp_path: Path) -> None:
    state = tmp_path / "state"
    log = AuditLog(state)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    for i in range(20_000):  # well past a pipe's buffer, so the writer meets the closed pipe
        log.write("tick", t0 + timedelta(milliseconds=i), tick=i, status="ok")
    log.close()
    result = subprocess.run(
        f"{sys.executable} -m gridpilot log --json --state-dir {state} 2>err.txt | head -n 2",
        shell=True, capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)}, check=False,
    )
    assert len(result.stdout.splitlines()) == 2
    assert (tmp_path / "err.txt").read_text(encoding="utf-8") == ""


def test_sweep_refuses_a_target_no_value_can_set_before_running(
    policy: Path, two_days: Path, tmp_path: Path
) -> None:
    csv_path = tmp_path / "sweep.csv"
    result = gridpilot("sweep", str(policy), "--data", str(two_days), "--set",
                       "strategies.nope.x=0:1:1", "--csv", str(csv_path), "--jobs", "1")
    assert_no_traceback(result)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("gridpilot: --set strategies.nope.x: no value gives a valid "
                               "policy, nothing was run: ")
    assert "unknown strategy type 'nope'" in lines[0]
    assert "self_consumption" in lines[0], "lists the valid types"
    assert not csv_path.exists()
    assert "variants" not in result.stdout


@pytest.mark.parametrize(("setting", "why"), [
    ("site.nope.x=1,2", "gridpilot: --set site.nope.x: no value gives a valid policy, nothing "
     "was run: the policy has no 'nope' here\n"),
    ("strategies.nope.x=0:5000:1", "--set strategies.nope.x: none of 20 values tried of 5001 "
     "gives a valid policy"),
    ("rules.3.action.power_w=1000", "'3' is not an index of this list (the list is empty)"),
    ("site.battery.capacity_kwh=big,huge", "site.battery.capacity_kwh"),
])
def test_sweep_refuses_other_bad_targets(setting: str, why: str, policy: Path, two_days: Path,
                                         tmp_path: Path) -> None:
    policy.write_text(policy.read_text(encoding="utf-8") + "rules: []\n", encoding="utf-8")
    result = gridpilot("sweep", str(policy), "--data", str(two_days), "--set", setting,
                       "--csv", str(tmp_path / "s.csv"), "--jobs", "1")
    assert_no_traceback(result)
    assert result.returncode == 1, result.stdout
    assert why in result.stderr
    assert not (tmp_path / "s.csv").exists()


def test_sweep_still_runs_when_only_some_values_are_bad(policy: Path, two_days: Path,
                                                        tmp_path: Path) -> None:
    csv_path = tmp_path / "s.csv"
    result = gridpilot("sweep", str(policy), "--data", str(two_days), "--set",
                       "site.battery.capacity_kwh=5,big", "--csv", str(csv_path), "--jobs", "1")
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    rows = csv_path.read_text(encoding="utf-8").splitlines()
    assert len(rows) == 3
    assert rows[1].startswith("1,5,") and rows[2].startswith("2,big,")
    assert "capacity_kwh" in rows[2]


def test_device_export_outside_the_simulated_data_names_its_range(policy: Path,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "e.csv"
    result = gridpilot("device", "export", str(policy), "--from", "2020-03-01",
                       "--to", "2020-03-02", "--out", str(out))
    assert_no_traceback(result)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "gridpilot: simulated: no recorded data from 2020-03-01T00:00:00+00:00 to "
        "2020-03-02T00:00:00+00:00; the data covers 2018-01-01T00:00Z to 2019-01-01T00:00Z "
        "(choose --from and --to inside it)"
    )
    assert not out.exists()


def test_device_export_inside_the_data_still_writes(policy: Path, tmp_path: Path) -> None:
    out = tmp_path / "e.csv"
    result = gridpilot("device", "export", str(policy), "--from", "2018-06-01",
                       "--to", "2018-06-02", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "wrote 48 records" in result.stdout
    assert len(out.read_text(encoding="utf-8").splitlines()) == 49


def _schema_raising(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    def render() -> str:
        raise exc

    monkeypatch.setattr(schema_command, "render", render)


@pytest.mark.parametrize("debug", [False, True])
def test_an_unexpected_error_is_one_line_and_a_traceback_only_when_asked(
    debug: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRIDPILOT_DEBUG", raising=False)
    _schema_raising(monkeypatch, RuntimeError("the schema broke\nbadly"))
    result = gridpilot("schema", env={"GRIDPILOT_DEBUG": "1"} if debug else None)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    expected = ("gridpilot: internal error: RuntimeError: the schema broke | badly — please "
                "report it")
    if debug:
        assert lines[0] == expected
        assert "Traceback" in result.stderr and "in render" in result.stderr
    else:
        assert lines == [expected + " (set GRIDPILOT_DEBUG=1 to see where it happened)"]


def test_log_with_an_unreadable_audit_file_names_it(tmp_path: Path) -> None:
    (tmp_path / "state" / "audit.jsonl").mkdir(parents=True)
    result = gridpilot("log", "--state-dir", str(tmp_path / "state"))
    _one_line_about(result, str(tmp_path / "state" / "audit.jsonl"), "is a directory")


def test_override_with_a_foreign_control_file(tmp_path: Path) -> None:
    (tmp_path / "control.json").write_text("[1, 2]", encoding="utf-8")
    result = gridpilot("override", "--state-dir", str(tmp_path), "list")
    assert_no_traceback(result)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"gridpilot: {tmp_path / 'control.json'}: not a control file of `gridpilot run` "
        "(expected a JSON object); restart the scheduler to rewrite it"
    )


def test_simulate_week_outside_the_simulated_period(policy: Path, two_days: Path,
                                                    tmp_path: Path) -> None:
    result = gridpilot("simulate", str(policy), "--data", str(two_days), "--out",
                       str(tmp_path / "out"), "--week", "2018-06-01")
    assert_no_traceback(result)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "gridpilot: --week 2018-06-01: outside the simulated period 2018-01-01 00:00 to "
        "2018-01-03 00:00 (choose a day inside it, or leave --week out for the busiest week)"
    )


def test_simulate_out_is_not_left_behind_when_the_data_is_refused(policy: Path, two_days: Path,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "new" / "report"
    result = gridpilot("simulate", str(policy), "--data", str(two_days), "--from", "2030-01-01",
                       "--out", str(out))
    assert_no_traceback(result)
    assert result.returncode == 1
    assert "no data between --from and --to" in result.stderr
    assert not (tmp_path / "new").exists()
    result = gridpilot("simulate", str(policy), "--data", str(two_days), "--out", str(out),
                       "--no-plots")
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["policy"] == "bad input"


_BROKEN_PIPE_INSIDE = (
    "import sys, gridpilot.cli.schema as s\n"
    "def render():\n"
    "    raise BrokenPipeError(32, 'Broken pipe')\n"
    "s.render = render\n"
    "from gridpilot.cli import main\n"
    "sys.exit(main(['schema']))\n"
)


def test_a_broken_pipe_that_is_not_stdout_is_not_hidden() -> None:
    """A closed socket or child pipe is a fault to report, unlike a reader that went away (a
    real process: whether stdout's reader went away is asked of fd 1 itself)."""
    result = subprocess.run([sys.executable, "-c", _BROKEN_PIPE_INSIDE], capture_output=True,
                            text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)},
                            check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("gridpilot: internal error: BrokenPipeError: [Errno 32] "
                                    "Broken pipe — please report it")
