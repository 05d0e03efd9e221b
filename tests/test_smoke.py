import subprocess
import sys


def test_cli_without_command_is_a_usage_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gridpilot"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert "usage" in proc.stderr.lower()
