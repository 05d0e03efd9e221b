"""Policy sections for running the engine: anti-flap control and the live scheduler."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from gridpilot.engine.commands import CommandKind
from gridpilot.models import StrictModel
from gridpilot.rules.schema_rules import Action

__all__ = ["ControlSpec", "RunSpec"]


class ControlSpec(StrictModel):
    min_dwell_s: Annotated[float, Field(ge=0, le=86_400)] = 300.0
    """Minimum time a command kind runs before the engine changes it (unless forced)."""
    hysteresis_w: Annotated[float, Field(ge=0, le=100_000)] = 100.0
    """Power thresholds must be passed by this much before a strategy switches back."""
    hysteresis_pct: Annotated[float, Field(ge=0, le=50)] = 2.0
    """SOC thresholds must be passed by this much before a condition switches back."""


class RunSpec(StrictModel):
    """Settings of the live scheduler (``gridpilot run``)."""

    interval_s: Annotated[float, Field(ge=1, le=3600)] = 60.0
    max_state_age_s: Annotated[float, Field(ge=1, le=86_400)] = 300.0
    safe_action: Action = Action(kind=CommandKind.SELF_CONSUMPTION)
    release_on_exit: bool = False
    """Hand control back to the device's default mode when gridpilot stops."""
    state_dir: str = ".gridpilot"
    """Where the audit log, overrides and dwell timers are kept (relative to the policy file)."""
    read_timeout_s: Annotated[float, Field(gt=0, le=600)] = 10.0
    """How long one tick waits for the device's state before it counts as missing."""
    command_valid_s: Annotated[float, Field(ge=60, le=43_200)] = 3600.0
    """How long a sent command stays in force on the device if gridpilot goes quiet."""
    refresh_before_s: Annotated[float, Field(ge=0, le=43_200)] | None = None
    """Resend an unchanged command this long before it expires (default: two intervals)."""
    backoff_initial_s: Annotated[float, Field(gt=0, le=3600)] = 10.0
    backoff_max_s: Annotated[float, Field(gt=0, le=86_400)] = 600.0
    control_enabled: bool = True
    control_host: str = "127.0.0.1"
    """The control API listens here; only loopback addresses are accepted."""
    control_port: Annotated[int, Field(ge=0, le=65_535)] = 8787
    """0 picks a free port (written to ``control.json`` in the state directory)."""
    control_socket: str | None = None
    """Listen on this unix socket instead of TCP (relative to the state directory)."""
    token_file: str = "control.token"
    """The control API's bearer token (relative to the state directory); created 0600 if
    missing, refused if others can read it."""
    audit_max_bytes: Annotated[int, Field(ge=1024, le=10**10)] = 10 * 1024 * 1024
    """Rotate the audit log when it grows past this size."""
    audit_keep: Annotated[int, Field(ge=1, le=1000)] = 5
    """How many rotated audit files are kept."""
    sync_device_schedule: bool = False
    """Write the static time-window rules into the device's own schedule (xStorage)."""

    @field_validator("control_host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        import ipaddress

        host = value.strip()
        if host == "localhost":
            return host
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"control_host {value!r} is not a loopback address; the control API only "
                "listens on 127.0.0.1, ::1 or localhost"
            )
        return host
