"""``gridpilot --help`` lists every command, while a run imports only the command it runs: the
price of starting ``gridpilot`` is not paid for commands it does not use."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gridpilot.cli import BLAS_THREADS_ENV, COMMANDS, build_parser, main
from gridpilot.exitcodes import ExitCode


def _help_text() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    return " ".join(out.getvalue().split())


def test_help_lists_every_command_with_its_line() -> None:
    text = _help_text()
    for command in COMMANDS:
        assert f"{command.name} {' '.join(command.help.split())}" in text


def test_every_command_module_registers_its_arguments() -> None:
    parser = build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    assert choices is not None
    assert list(choices) == [c.name for c in COMMANDS]
    for command in COMMANDS:
        assert choices[command.name].description, command.name


def test_no_command_is_a_usage_error() -> None:
    with contextlib.redirect_stderr(io.StringIO()):
        assert main([]) == ExitCode.USAGE


_PROBE = textwrap.dedent("""
    import json, os, sys
    from gridpilot.cli import BLAS_THREADS_ENV, main
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
    print(json.dumps([sorted(sys.modules), os.environ.get(BLAS_THREADS_ENV)]), file=sys.stderr)
""")

_EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"


def _probe(*argv: str, env: dict[str, str] | None = None) -> tuple[list[str], str | None]:
    """The modules loaded after ``gridpilot ARGV`` in a fresh interpreter, and the BLAS thread
    setting it ran with."""
    proc = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True,
                          timeout=60, check=False, env=env)
    loaded, blas = json.loads(proc.stderr.strip().splitlines()[-1])
    return loaded, blas


def _modules_after(*argv: str) -> list[str]:
    return _probe(*argv)[0]


def test_version_imports_no_command_and_no_heavy_library() -> None:
    loaded = _modules_after("--version")
    assert not [m for m in loaded if m in {c.module for c in COMMANDS}], loaded
    assert "gridpilot.cli.console" not in loaded  # rich


def test_check_of_a_policy_without_live_parts_imports_no_network_or_plotting_library() -> None:
    # check is the command people run on every save: it pays only for what the policy uses.
    loaded = set(_modules_after("check", str(_EXAMPLES / "economy7.yaml")))
    assert "gridpilot.rules.loader" in loaded  # the probe did check the policy
    assert not loaded & {"httpx", "matplotlib", "highspy", "rich", "paho", "pymodbus"}, sorted(
        loaded & {"httpx", "matplotlib", "highspy", "rich", "paho", "pymodbus"})


def test_a_command_imports_only_its_own_module() -> None:
    loaded = _modules_after("schema")
    assert [m for m in loaded if m in {c.module for c in COMMANDS}] == ["gridpilot.cli.schema"]


def test_check_of_a_policy_without_cron_windows_imports_no_cron_library_nor_numpy_ma() -> None:
    # croniter (with dateutil) is paid for only by policies with a cron window; numpy.ma, a
    # fifth of numpy's import, by nothing check does.
    loaded, _ = _probe("check", str(_EXAMPLES / "economy7.yaml"))
    assert "gridpilot.rules.coverage" in loaded  # the probe did reach the coverage checks
    unused = {"croniter", "dateutil", "numpy.ma", "gridpilot.calendar.cron_overlap"}
    assert not unused & set(loaded), sorted(unused & set(loaded))


@pytest.mark.parametrize(("cron", "message"), [
    ("0 0 31 2 *", "cron '0 0 31 2 *' names a date that never exists, so it never fires"),
    ("0 16 * * xyz", "cron '0 16 * * xyz' is not a valid cron expression"),
])
def test_check_of_a_policy_with_a_cron_window_still_checks_it(
    tmp_path: Path, cron: str, message: str
) -> None:
    policy = tmp_path / "cron.yaml"
    policy.write_text(textwrap.dedent(f"""\
        version: 1
        site:
          name: cron
          timezone: Europe/London
          battery: {{capacity_kwh: 10, max_charge_w: 3000, max_discharge_w: 3000}}
        tariff:
          import: {{default: 0.3}}
          export: {{default: 0.05}}
        rules:
          - name: never
            layer: schedule
            when: {{cron: "{cron}", for: 1h}}
            action: {{kind: hold}}
        default:
          action: {{kind: self_consumption}}
    """))
    with contextlib.redirect_stdout(io.StringIO()) as out, \
            contextlib.redirect_stderr(io.StringIO()):
        code = main(["check", str(policy)])
    assert code == ExitCode.INVALID
    assert f"{policy}:12:12: rules[0].when.cron: " in out.getvalue(), out.getvalue()
    assert message in out.getvalue(), out.getvalue()


def test_check_starts_numpy_without_blas_threads_unless_the_user_set_them() -> None:
    policy = str(_EXAMPLES / "economy7.yaml")
    env = {k: v for k, v in os.environ.items() if k != BLAS_THREADS_ENV}
    assert _probe("check", policy, env=env)[1] == "1"
    assert _probe("check", policy, env={**env, BLAS_THREADS_ENV: "2"})[1] == "2"
    # Other commands keep numpy's default (a backtest may use the threads).
    assert _probe("schema", env=env)[1] is None


def test_check_in_a_process_that_already_loaded_numpy_leaves_the_environment_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Too late to matter to numpy here; it would only leak into child processes.
    monkeypatch.delenv(BLAS_THREADS_ENV, raising=False)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["check", str(_EXAMPLES / "economy7.yaml")]) == ExitCode.OK
    assert BLAS_THREADS_ENV not in os.environ


def test_check_loads_only_the_plugins_the_policy_uses() -> None:
    # Registries name their built-ins as lazy targets: checking a simulated-battery policy with
    # no strategy or forecast section loads no other adapter, strategy, provider, LP or backtest.
    import pkgutil

    import gridpilot

    loaded = set(_modules_after("check", str(_EXAMPLES / "economy7.yaml")))
    assert "gridpilot.devices.simulated" in loaded
    allowed = {
        "gridpilot.devices.base", "gridpilot.devices.context", "gridpilot.devices.preflight",
        "gridpilot.devices.registry", "gridpilot.devices.simulated",
        "gridpilot.forecasts.holidays_cal", "gridpilot.forecasts.load_settings",
        "gridpilot.forecasts.providers", "gridpilot.forecasts.registry",
        "gridpilot.strategies.registry",
    }
    plugins = {
        m.name for m in pkgutil.walk_packages(gridpilot.__path__, "gridpilot.")
        if m.name.startswith(("gridpilot.devices.", "gridpilot.forecasts.", "gridpilot.strategies.",
                              "gridpilot.lp.", "gridpilot.simulator."))
    }
    assert plugins - allowed, "the walk found the plugin modules"
    assert not (loaded & plugins) - allowed, sorted((loaded & plugins) - allowed)


def test_check_of_a_live_price_policy_builds_its_providers_without_httpx() -> None:
    # The providers are built offline to ask their publication time; no request, so no httpx.
    loaded = set(_modules_after("check", str(_EXAMPLES / "octopus-agile-live.yaml")))
    assert "gridpilot.prices.providers.octopus" in loaded
    assert not loaded & {"httpx", "rich"}, sorted(loaded & {"httpx", "rich"})


def test_check_of_a_simulated_battery_policy_starts_no_event_loop() -> None:
    # The simulated battery closes synchronously, and the clock imports asyncio only to sleep.
    loaded = set(_modules_after("check", str(_EXAMPLES / "economy7.yaml")))
    assert "gridpilot.devices.preflight" in loaded  # the probe did check the device
    assert not {m for m in loaded if m == "asyncio" or m.startswith("asyncio.")}, sorted(
        m for m in loaded if m.startswith("asyncio"))


def test_check_of_a_policy_with_a_live_pv_forecast_imports_no_httpx(tmp_path: Path) -> None:
    # The provider is built to check its settings; only a fetch needs the HTTP client.
    text = (_EXAMPLES / "economy7.yaml").read_text()
    head, default = text.split("\ndefault:", 1)
    policy = tmp_path / "pv.yaml"
    policy.write_text(f"{head}\nforecast:\n  latitude_deg: 51.75\n  longitude_deg: -1.26\n"
                      "  arrays:\n    - {kwp: 4.0, tilt_deg: 35, azimuth_deg: 180}\n"
                      f"\ndefault:{default}")
    loaded = set(_modules_after("check", str(policy)))
    assert "gridpilot.forecasts.open_meteo" in loaded  # the probe did build the provider
    assert not loaded & {"httpx", "ssl"}, sorted(loaded & {"httpx", "ssl"})


def test_the_forecast_command_loads_matplotlib_only_to_draw() -> None:
    # matplotlib is a third of a second; only `forecast evaluate --plot` draws.
    loaded = _modules_after("forecast", "--help")
    assert "gridpilot.cli.forecast" in loaded  # the probe did load the command
    assert "matplotlib" not in loaded
