"""The policy document: pydantic models for every section of a policy file.

These models check types, ranges and unknown keys. Checks that need more than one section (a rule
that names a strategy, a reserve below the battery floor) live in :mod:`gridpilot.rules.checks`;
turning the document into fast runtime objects lives in :mod:`gridpilot.rules.policy`.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)

from gridpilot.engine.commands import CommandKind
from gridpilot.rules.calendar import (
    parse_clock_min,
    parse_dates,
    parse_days,
    parse_duration_s,
    parse_months,
    parse_time_range,
    validate_cron,
)
from gridpilot.testing.model import ScenarioCase

__all__ = [
    "Action",
    "BatterySpec",
    "ControlSpec",
    "DeviceSpec",
    "DynamicPrices",
    "ExportCapGuard",
    "ForecastSpec",
    "Guard",
    "ImportCapGuard",
    "Layer",
    "ManualOverride",
    "PolicyDoc",
    "PowerCapGuard",
    "PriceSchedule",
    "ReserveGuard",
    "Rule",
    "RunSpec",
    "SiteSpec",
    "TariffPeriod",
    "TariffSpec",
    "When",
]


class StrictModel(BaseModel):
    """Base for policy sections: unknown keys are errors, NaN and infinity are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Layer(StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    DEFAULT = "default"

    @property
    def rank(self) -> int:
        """Higher wins: manual 2, schedule 1, default 0."""
        return {"manual": 2, "schedule": 1, "default": 0}[self.value]


Pct = Annotated[float, Strict(), Field(ge=0, le=100)]
PowerW = Annotated[float, Strict(), Field(ge=0, le=10_000_000)]
Price = Annotated[float, Strict(), Field(ge=-1000, le=1000)]
StrList = str | list[str | int]
# Numbers are Strict: pydantic would otherwise read true/false as 1/0 and "10" as 10.


class BatterySpec(StrictModel):
    capacity_kwh: Annotated[float, Strict(), Field(gt=0, le=100_000)]
    """Usable energy between 0 and 100 % SOC [kWh]."""
    max_charge_w: Annotated[float, Strict(), Field(gt=0, le=10_000_000)]
    max_discharge_w: Annotated[float, Strict(), Field(gt=0, le=10_000_000)]
    charge_efficiency: Annotated[float, Strict(), Field(gt=0, le=1)] = 0.95
    """Fraction of AC energy taken from the site that ends up stored."""
    discharge_efficiency: Annotated[float, Strict(), Field(gt=0, le=1)] = 0.95
    """Fraction of stored energy delivered to the site as AC."""
    min_soc_pct: Pct = 0.0
    max_soc_pct: Pct = 100.0
    cycle_cost_per_kwh: Annotated[float, Strict(), Field(ge=0, le=100)] = 0.0
    """Wear cost per kWh discharged, in the tariff's currency."""


class GridSpec(StrictModel):
    max_import_w: PowerW | None = None
    """The connection's import limit [W] (fuse), ``None`` = unlimited."""
    max_export_w: PowerW | None = None
    """The export limit the network operator allows [W], ``None`` = unlimited."""


class SiteSpec(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    timezone: str
    """IANA timezone name, e.g. ``Europe/London``. Every time in the policy is read in it."""
    battery: BatterySpec
    grid: GridSpec = GridSpec()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name such as 'Europe/London'"
            ) from exc
        return value


class DeviceSpec(BaseModel):
    """``type`` picks the adapter; the other keys are that adapter's own settings, validated by
    the adapter's settings model when the policy is compiled."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)
    type: str = "simulated"
    name: str = ""

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # Adapter settings may hold credentials: a repr (and so a log line) names them only.
        yield "type", self.type
        yield "name", self.name
        for key in (self.model_extra or {}):
            yield key, "***"


def _check_calendar(field_name: str | None, value: StrList | None) -> StrList | None:
    """Parse a calendar field only to refuse bad text early; the text itself is kept."""
    if value is None:
        return None
    if field_name == "time":
        if not isinstance(value, str):
            raise ValueError("time must be text like \"16:00-19:00\"")
        parse_time_range(value)
    elif field_name == "days":
        parse_days(value)
    elif field_name == "months":
        parse_months(value)
    elif field_name == "dates":
        parse_dates(value)
    return value


class ForecastSpec(BaseModel):
    """``type`` picks the load/PV forecast provider the planning strategies size their energy
    from; the other keys are its settings (see :mod:`gridpilot.engine.forecast_registry`)."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)
    type: str = "time_of_week"


class When(StrictModel):
    """A time window and/or conditions. Every given part must hold for the window to match.

    Times are wall-clock times in the site's timezone.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )
    time: str | None = None
    """``"HH:MM-HH:MM"``; the end is exclusive and may be before the start (crosses midnight)."""
    days: StrList | None = None
    """``mon-fri``, ``sat,sun`` or a list of day names."""
    months: StrList | None = None
    """``nov-feb``, ``1-3`` or a list."""
    dates: StrList | None = None
    """``2026-12-20..2027-01-03`` (inclusive) or a list of such ranges or single dates."""
    cron: str | None = None
    """A cron expression for the start of the window; needs ``for``."""
    for_: str | None = Field(default=None, alias="for")
    """How long a cron window lasts, e.g. ``3h``, ``90m``."""
    price_below: Price | None = None
    """Matches while the import price is below this [currency/kWh]."""
    price_above: Price | None = None
    soc_below_pct: Pct | None = None
    soc_above_pct: Pct | None = None

    @field_validator("time", "days", "months", "dates")
    @classmethod
    def _calendar_ok(cls, value: StrList | None, info: ValidationInfo) -> StrList | None:
        return _check_calendar(info.field_name, value)

    @field_validator("cron")
    @classmethod
    def _cron_ok(cls, value: str | None) -> str | None:
        return None if value is None else validate_cron(value)

    @field_validator("for_")
    @classmethod
    def _for_ok(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration_s(value)
        return value

    @model_validator(mode="after")
    def _cron_needs_for(self) -> When:
        if self.cron is not None and self.for_ is None:
            raise ValueError("a cron window needs 'for' (e.g. for: 3h)")
        if self.for_ is not None and self.cron is None:
            raise ValueError("'for' only goes with 'cron'")
        return self


_ACTION_FIELDS = ("power_w", "target_soc_pct", "floor_soc_pct", "max_import_w", "max_export_w")


class Action(StrictModel):
    """A direct command in a rule. Omitted powers mean the battery's maximum; omitted SOC targets
    mean the battery's SOC range."""

    kind: CommandKind
    power_w: Annotated[float, Strict(), Field(gt=0, le=10_000_000)] | None = None
    target_soc_pct: Pct | None = None
    floor_soc_pct: Pct | None = None
    max_import_w: PowerW | None = None
    max_export_w: PowerW | None = None

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> Action:
        allowed: dict[CommandKind, set[str]] = {
            CommandKind.CHARGE: {"power_w", "target_soc_pct"},
            CommandKind.DISCHARGE: {"power_w", "floor_soc_pct"},
            CommandKind.PEAK_SHAVE: {"max_import_w"},
            CommandKind.LIMIT_EXPORT: {"max_export_w"},
        }
        given = {
            name
            for name in _ACTION_FIELDS
            if getattr(self, name) is not None
        }
        extra = given - allowed.get(self.kind, set())
        if extra:
            raise ValueError(
                f"{', '.join(sorted(extra))} does not apply to a {self.kind.value} action"
            )
        if self.kind is CommandKind.PEAK_SHAVE and self.max_import_w is None:
            raise ValueError("a peak_shave action needs max_import_w")
        if self.kind is CommandKind.LIMIT_EXPORT and self.max_export_w is None:
            raise ValueError("a limit_export action needs max_export_w")
        return self


class Rule(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    layer: Layer
    when: When | None = None
    """When the rule applies; omitted = always."""
    action: Action | None = None
    strategy: str | None = None
    """The name of an entry under ``strategies`` (or a built-in strategy type with defaults)."""
    force: bool = False
    """Manual rules only: may break through guards (never through the device's hard limits)."""
    enabled: bool = True

    @model_validator(mode="after")
    def _one_of(self) -> Rule:
        if (self.action is None) == (self.strategy is None):
            raise ValueError("a rule needs exactly one of 'action' or 'strategy'")
        if self.force and self.layer is not Layer.MANUAL:
            raise ValueError("'force: true' is only allowed on manual rules")
        return self


class DefaultSpec(StrictModel):
    action: Action | None = None
    strategy: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> DefaultSpec:
        if (self.action is None) == (self.strategy is None):
            raise ValueError("'default' needs exactly one of 'action' or 'strategy'")
        return self


class ManualOverride(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    action: Action
    start: datetime
    """When the override starts (ISO 8601; without an offset it is read in the site's timezone)."""
    until: datetime
    """When it expires (exclusive)."""
    force: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> ManualOverride:
        # With one time naive and one not, the order is checked once both are in the site's zone.
        if (self.start.tzinfo is None) != (self.until.tzinfo is None):
            return self
        if self.until <= self.start:
            raise ValueError("'until' must be after 'start'")
        return self


class GuardBase(StrictModel):
    name: str = ""
    when: When | None = None
    """When the guard applies; omitted = always."""


class ReserveGuard(GuardBase):
    kind: Literal["backup_reserve"]
    min_soc_pct: Pct
    """Never discharge below this SOC [%] (kept for outages)."""


class ImportCapGuard(GuardBase):
    kind: Literal["import_cap"]
    max_import_w: PowerW
    """Keep grid import at or below this [W] where the battery can."""


class ExportCapGuard(GuardBase):
    kind: Literal["export_cap"]
    max_export_w: PowerW
    """Keep grid export at or below this [W] where the battery can."""


class PowerCapGuard(GuardBase):
    kind: Literal["power_cap"]
    max_charge_w: PowerW | None = None
    max_discharge_w: PowerW | None = None


class SocCeilingGuard(GuardBase):
    kind: Literal["soc_ceiling"]
    max_soc_pct: Pct


Guard = Annotated[
    ReserveGuard | ImportCapGuard | ExportCapGuard | PowerCapGuard | SocCeilingGuard,
    Field(discriminator="kind"),
]


class TariffPeriod(StrictModel):
    """One time-of-use period. Where periods overlap, the **last** matching period wins."""

    name: str = ""
    price: Price
    """Price [currency/kWh] while the period applies."""
    time: str | None = None
    """``"HH:MM-HH:MM"`` local time, end exclusive, may cross midnight."""
    days: StrList | None = None
    months: StrList | None = None
    dates: StrList | None = None

    @field_validator("time", "days", "months", "dates")
    @classmethod
    def _calendar_ok(cls, value: StrList | None, info: ValidationInfo) -> StrList | None:
        return _check_calendar(info.field_name, value)


class DynamicPrices(StrictModel):
    """A published price series read from a file. Where it has gaps, the fixed schedule applies."""

    file: str
    """Path, relative to the policy file."""
    format: Literal["csv", "octopus"] = "csv"
    """``csv``: ``timestamp,price`` columns; ``octopus``: the Agile API JSON (``results[]``)."""
    column: str = "price"
    """CSV column holding the price."""
    timestamp_column: str = "timestamp"
    unit: Literal["per_kwh", "per_100_kwh"] = "per_kwh"
    """CSV only: ``per_100_kwh`` for prices in pence or cents per kWh. Octopus JSON is always
    read as p/kWh (``value_inc_vat``) and divided by 100."""
    published_at: str = "16:00"
    """Local time of day at which the next day's prices are published (day-ahead)."""
    covers_until: str = "23:00"
    """Local time of day on the *next* day up to which a publication covers. At time ``t`` the
    series is known up to ``covers_until`` on the day after the latest publication at or before
    ``t`` (and never past the end of the file), so a backtest only sees what was known."""

    @field_validator("published_at", "covers_until")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        parse_clock_min(value)
        return value


class PriceSchedule(StrictModel):
    default: Price | None = None
    """Price [currency/kWh] wherever no period applies; without it a gap is an error."""
    periods: list[TariffPeriod] = []
    dynamic: DynamicPrices | None = None


class TariffSpec(StrictModel):
    currency: Annotated[str, Field(min_length=1, max_length=8)] = "GBP"
    import_: PriceSchedule = Field(alias="import")
    export: PriceSchedule = PriceSchedule(default=0.0)
    standing_charge_per_day: Annotated[float, Strict(), Field(ge=0, le=10_000)] = 0.0
    demand_charge_per_kw: Annotated[float, Strict(), Field(ge=0, le=10_000)] = 0.0
    """Charged per kW of the highest grid import of each calendar month (site time)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )


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


class PolicyDoc(StrictModel):
    """The whole policy file."""

    version: Literal[1]
    site: SiteSpec
    device: DeviceSpec = DeviceSpec()
    forecast: ForecastSpec = ForecastSpec()
    tariff: TariffSpec
    guards: list[Guard] = []
    strategies: dict[str, dict[str, Any]] = {}
    """Named strategy configurations: ``type`` (defaults to the entry's name) plus its settings."""
    rules: list[Rule] = []
    default: DefaultSpec = DefaultSpec(action=Action(kind=CommandKind.SELF_CONSUMPTION))
    manual: list[ManualOverride] = []
    control: ControlSpec = ControlSpec()
    run: RunSpec = RunSpec()
    tests: list[ScenarioCase] = []
    """Scenario tests run by ``gridpilot test`` and the pytest plugin; see docs/testing.md."""
