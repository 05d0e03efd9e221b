"""The container's entry point and the Home Assistant add-on's run.sh, run as real shell scripts
with a stand-in `gridpilot` on PATH that records how it was called (Docker itself is not
available on every CI machine; set GRIDPILOT_DOCKER_BUILD=1 to also build the image)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
RUN_SH = ROOT / "homeassistant-addon" / "run.sh"
SECRET = "supervisor-token-3f9a"

FAKE = """#!/bin/sh
python3 - "$@" <<'PY'
import json, os, sys
with open(os.environ["FAKE_RECORD"], "w") as f:
    json.dump({"argv": sys.argv[1:], "env": {k: v for k, v in os.environ.items()
               if k.startswith(("HA_", "MQTT_"))}}, f)
PY
"""


def fake_gridpilot(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "gridpilot"
    exe.write_text(FAKE)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_RECORD": str(tmp_path / "call.json")}


def run(script: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(script), *args], env=env, capture_output=True, text=True,
                          timeout=20, check=False)


def called(tmp_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp_path / "call.json").read_text())
    return data


def test_entrypoint_runs_the_policy_with_the_state_volume(tmp_path: Path) -> None:
    env = fake_gridpilot(tmp_path)
    (tmp_path / "policy.yaml").write_text("version: 1\n")
    env.update(GRIDPILOT_POLICY=str(tmp_path / "policy.yaml"),
               GRIDPILOT_STATE_DIR=str(tmp_path / "state"))
    proc = run(ENTRYPOINT, env)
    assert proc.returncode == 0, proc.stderr
    assert called(tmp_path)["argv"] == ["run", str(tmp_path / "policy.yaml"), "--state-dir",
                                        str(tmp_path / "state")]
    assert run(ENTRYPOINT, env, "run", "--dry-run").returncode == 0
    assert called(tmp_path)["argv"][-1] == "--dry-run"
    assert run(ENTRYPOINT, env, "--version").returncode == 0
    assert called(tmp_path)["argv"] == ["--version"]


def test_entrypoint_says_what_to_do_without_a_policy_or_a_writable_state(tmp_path: Path) -> None:
    env = fake_gridpilot(tmp_path)
    env.update(GRIDPILOT_POLICY=str(tmp_path / "missing.yaml"),
               GRIDPILOT_STATE_DIR=str(tmp_path / "state"))
    proc = run(ENTRYPOINT, env)
    assert proc.returncode == 2 and "no policy at" in proc.stderr and "/config" in proc.stderr
    if os.geteuid() == 0:
        return  # root writes anywhere: the unwritable case cannot be shown
    (tmp_path / "policy.yaml").write_text("version: 1\n")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    env.update(GRIDPILOT_POLICY=str(tmp_path / "policy.yaml"), GRIDPILOT_STATE_DIR=str(locked))
    proc = run(ENTRYPOINT, env)
    assert proc.returncode == 2 and "not writable" in proc.stderr


def addon_env(tmp_path: Path, options: dict[str, Any]) -> dict[str, str]:
    env = fake_gridpilot(tmp_path)
    config = tmp_path / "config"
    config.mkdir()
    (config / "policy.yaml").write_text("version: 1\n")
    (tmp_path / "options.json").write_text(json.dumps(options))
    env.update(GRIDPILOT_OPTIONS=str(tmp_path / "options.json"), GRIDPILOT_CONFIG_DIR=str(config),
               GRIDPILOT_STATE_DIR=str(tmp_path / "data"), SUPERVISOR_TOKEN=SECRET)
    return env


def test_addon_reads_its_options_and_the_supervisor_token(tmp_path: Path) -> None:
    env = addon_env(tmp_path, {"policy_file": "policy.yaml", "dry_run": True,
                               "log_level": "DEBUG", "mqtt_password": "broker-pw"})
    proc = run(RUN_SH, env)
    assert proc.returncode == 0, proc.stderr
    call = called(tmp_path)
    assert call["argv"] == ["run", str(tmp_path / "config" / "policy.yaml"), "--state-dir",
                            str(tmp_path / "data"), "--log-level", "DEBUG", "--dry-run"]
    assert call["env"] == {"HA_TOKEN": SECRET, "HA_URL": "http://supervisor/core",
                           "MQTT_PASSWORD": "broker-pw"}
    assert SECRET not in proc.stdout + proc.stderr and "broker-pw" not in proc.stdout


@pytest.mark.parametrize(("options", "message"), [
    ({"policy_file": "nope.yaml", "dry_run": False, "log_level": "INFO"}, "no policy at"),
    ({"policy_file": "policy.yaml", "dry_run": "yes", "log_level": "INFO"}, "option dry_run"),
    ({"policy_file": "policy.yaml", "dry_run": False, "log_level": "LOUD"}, "option log_level"),
])
def test_addon_names_a_bad_option(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    proc = run(RUN_SH, addon_env(tmp_path, options))
    assert proc.returncode == 2 and message in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "call.json").exists()


def test_addon_config_and_dockerfile_follow_the_conventions() -> None:
    config = YAML(typ="safe").load((ROOT / "homeassistant-addon" / "config.yaml").read_text())
    assert config["homeassistant_api"] is True  # the Supervisor token reaches run.sh
    assert set(config["options"]) <= set(config["schema"])
    assert config["version"] == __import__("gridpilot").__version__
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "\nUSER gridpilot\n" in dockerfile and 'VOLUME ["/data"]' in dockerfile
    assert 'ENTRYPOINT ["gridpilot-entrypoint"]' in dockerfile


@pytest.mark.skipif(
    os.environ.get("GRIDPILOT_DOCKER_BUILD") != "1" or not shutil.which("docker"),
    reason="builds the image only with GRIDPILOT_DOCKER_BUILD=1 and a Docker daemon")
def test_the_image_builds_and_runs_as_a_user() -> None:  # pragma: no cover - needs Docker
    subprocess.run(["docker", "build", "-t", "gridpilot:test", str(ROOT)], check=True)
    out = subprocess.run(["docker", "run", "--rm", "--entrypoint", "id", "gridpilot:test", "-u"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "10001"
    version = subprocess.run(["docker", "run", "--rm", "gridpilot:test", "--version"],
                             capture_output=True, text=True, check=True).stdout
    assert "0.1.0" in version
