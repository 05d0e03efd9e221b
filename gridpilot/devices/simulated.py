"""The simulated battery (``device: {type: simulated}``, the default device).

Recorded load and PV (by default the bundled ``examples/data/uk-2018-halfhourly.csv``) drive the
battery model :func:`gridpilot.engine.battery.step` between reads, at whatever pace the
injected clock runs: the system clock for real time, an accelerated or manual clock to replay
days in minutes. Clock time maps onto the data at the same time of year (the data's year), or
from ``start`` onwards when given; the data loops when the clock runs past its end.
"""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import BaseModel, Field

import gridpilot
from gridpilot.clock import Clock, SystemClock
from gridpilot.devices.base import AppliedCommand, Capabilities, DeviceReading, ExportResult
from gridpilot.engine.battery import BatteryParams, StepResult, step
from gridpilot.engine.commands import (
    Command,
    CommandKind,
    DeviceLimits,
    self_consumption,
    validate_command,
)
from gridpilot.engine.state import DeviceMode, ModeSource
from gridpilot.errors import CommandError, DataError
from gridpilot.models import StrictModel
from gridpilot.recorded import load_data
from gridpilot.recorded.base import TimeSeries

if TYPE_CHECKING:
    from gridpilot.devices.context import DeviceContext

__all__ = ["SETTINGS_MODEL", "SimulatedAdapter", "SimulatedSettings", "create", "default_data_file"]

DEFAULT_DATA = Path("examples") / "data" / "uk-2018-halfhourly.csv"
MAX_STEP_S = 300.0
MAX_CATCH_UP_S = 7 * 86400.0


class SimulatedSettings(StrictModel):
    type: Literal["simulated"] = "simulated"
    name: str = ""
    """The device's name in logs and errors (default: ``simulated``)."""
    data_file: Path | None = None
    """Recorded load/PV (relative to the policy file); default: the bundled UK 2018 year."""
    data_format: str = "auto"
    """A format of ``gridpilot simulate`` (``uk-composite``, ``uci``, ``xstorage-metrics``...)."""
    initial_soc_pct: Annotated[float, Field(ge=0, le=100)] = 50.0
    """The SOC the simulated battery starts at."""
    start: datetime | None = None
    """The data time the first read maps to (timezone-aware); default: the clock's time of
    year in the data's year."""


SETTINGS_MODEL = SimulatedSettings


def default_data_file(base_dir: Path | None = None) -> Path:
    """The bundled data: ``examples/data/`` next to the policy's folders, else the copy that
    ships inside the package (``gridpilot/demo/data/``), which works outside a checkout too."""
    roots = [] if base_dir is None else [base_dir, *base_dir.resolve().parents]
    for root in roots:
        candidate = root / DEFAULT_DATA
        if candidate.is_file():
            return candidate
    packaged = Path(gridpilot.__file__).resolve().parent / "demo" / "data" / DEFAULT_DATA.name
    if packaged.is_file():
        return packaged
    raise DataError(
        f"the simulated battery's default data {DEFAULT_DATA} was not found; set "
        "device.data_file to a CSV with timestamp,load_w,pv_w columns"
    )


class SimulatedAdapter:
    """A battery that exists only in the model, fed by recorded data."""

    def __init__(
        self,
        settings: SimulatedSettings,
        *,
        params: BatteryParams,
        name: str = "",
        limits: DeviceLimits | None = None,
        clock: Clock | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self._name = name or settings.name or "simulated"
        self.settings = settings
        self.params = params
        self._limits = limits
        self._clock = clock or SystemClock()
        self._base_dir = base_dir
        self._series: TimeSeries | None = None
        self._soc = min(max(settings.initial_soc_pct, params.min_soc_pct), params.max_soc_pct)
        self._t: datetime | None = None
        self._first: datetime | None = None
        self._command: Command = self_consumption()
        self._source = ModeSource.DEFAULT
        self._last: StepResult | None = None

    def __repr__(self) -> str:
        return f"SimulatedAdapter(name={self._name!r})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            power_rating_w=max(self.params.max_charge_w, self.params.max_discharge_w),
            capacity_kwh=self.params.capacity_kwh,
            kinds=frozenset(CommandKind),
            native={k: k.value for k in CommandKind},
        )

    @property
    def soc_pct(self) -> float:
        return self._soc

    # -- data -------------------------------------------------------------------------------

    def _data(self) -> TimeSeries:
        if self._series is None:
            path = self.settings.data_file
            if path is None:
                path = default_data_file(self._base_dir)
            elif not path.is_absolute() and self._base_dir is not None:
                path = self._base_dir / path
            series = load_data(path, self.settings.data_format)
            if len(series) == 0:
                raise DataError(f"{path}: no rows")
            series.column("load_w")
            series.column("pv_w")
            self._series = series
        return self._series

    def preflight(self) -> None:
        """Load the recorded data now (``check`` and ``run`` call this before the first tick),
        so a missing or malformed file stops the start instead of every tick."""
        self._data()

    def data_time_s(self, t: datetime) -> float:
        """Where in the data (UNIX s) the clock time ``t`` falls."""
        series = self._data()
        first_s, end_s = float(series.start_s[0]), float(series.end_s)
        span_s = end_s - first_s
        if self.settings.start is not None:
            if self._first is None:
                self._first = t
            s = self.settings.start.timestamp() + (t - self._first).total_seconds()
        else:
            year = datetime.fromtimestamp(first_s, UTC).year
            try:
                shifted = t.astimezone(UTC).replace(year=year)
            except ValueError:  # 29 February in a non-leap data year
                shifted = t.astimezone(UTC).replace(year=year, day=28)
            s = shifted.timestamp()
        return first_s + (s - first_s) % span_s

    def _row(self, data_s: float) -> tuple[int, float, float]:
        series = self._data()
        i = int(np.searchsorted(series.start_s, data_s, side="right")) - 1
        i = min(max(i, 0), len(series) - 1)
        load = float(series.columns["load_w"][i])
        pv = float(series.columns["pv_w"][i])
        return i, (load if math.isfinite(load) else 0.0), (pv if math.isfinite(pv) else 0.0)

    # -- model --------------------------------------------------------------------------------

    def _advance(self, now: datetime) -> None:
        if self._t is None:
            self._t = now
            return
        if (now - self._t).total_seconds() > MAX_CATCH_UP_S:
            self._t = now - timedelta(seconds=MAX_CATCH_UP_S)
        series = self._data()
        while self._t < now:
            data_s = self.data_time_s(self._t)
            i, load_w, pv_w = self._row(data_s)
            row_left_s = float(series.start_s[i]) + series.interval_s - data_s
            dt_s = min((now - self._t).total_seconds(), MAX_STEP_S, max(row_left_s, 1.0))
            self._last = step(self._command, self._soc, load_w, pv_w, dt_s, self.params)
            self._soc = self._last.soc_pct
            self._t += timedelta(seconds=dt_s)

    async def read_state(self) -> DeviceReading:
        now = self._clock.now()
        self._advance(now)
        _, load_w, pv_w = self._row(self.data_time_s(now))
        # The powers right now: the running command applied to this instant's load and PV.
        instant = step(self._command, self._soc, load_w, pv_w, 1.0, self.params)
        return DeviceReading(
            time=now,
            soc_pct=self._soc,
            load_w=load_w,
            pv_w=pv_w,
            grid_w=instant.grid_w,
            battery_w=instant.battery_w,
            device_mode=DeviceMode(self._command.kind, self._source, self._command.kind.value),
            extra={"data_time": datetime.fromtimestamp(self.data_time_s(now), UTC).isoformat()},
        )

    async def apply(self, command: Command, *, valid_for_s: float) -> AppliedCommand:
        if self._limits is not None:
            validate_command(command, self._limits)
        if not math.isfinite(valid_for_s) or valid_for_s < 0:
            raise CommandError(f"valid_for_s must be >= 0, got {valid_for_s!r}")
        now = self._clock.now()
        self._data()
        self._advance(now)
        self._command = command
        self._source = ModeSource.GRIDPILOT
        return AppliedCommand(
            command=command,
            sent_at=now,
            expires_at=None,
            native=command.as_dict(),
            confirmed=True,
            effective_power_w=command.power_w,
        )

    async def release(self) -> None:
        self._advance(self._clock.now())
        self._command = self_consumption()
        self._source = ModeSource.DEFAULT

    async def export(self, start: datetime, end: datetime, out: Path) -> ExportResult:
        """The recorded data over ``[start, end)`` (data time) as CSV: ``timestamp`` then every
        column of the data under its own name (``load_w``, ``pv_w``, prices when present), so
        a slice of the bundled file loads like the file itself."""
        if end <= start:
            raise CommandError("--to must be after --from")
        data = self._data()
        series = data.slice_time(int(start.timestamp()), int(end.timestamp()))
        if len(series) == 0:
            first = datetime.fromtimestamp(int(data.start_s[0]), UTC)
            last = datetime.fromtimestamp(data.end_s, UTC)
            raise DataError(
                f"{self.name}: no recorded data from {start.isoformat()} to {end.isoformat()}; "
                f"the data covers {first:%Y-%m-%dT%H:%MZ} to {last:%Y-%m-%dT%H:%MZ} "
                "(choose --from and --to inside it)"
            )
        names = ["load_w", "pv_w", *sorted(set(series.columns) - {"load_w", "pv_w"})]
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["timestamp", *names])
            for i, t in enumerate(series.start_s):
                stamp = datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                writer.writerow([stamp, *(f"{float(series.columns[n][i]):.6g}" for n in names)])
        return ExportResult(out, len(series), "timestamp-columns-csv")

    def close(self) -> None:
        """Nothing to release: the simulated battery holds no connection or file. Synchronous,
        so a caller that only built the adapter (``check``) needs no event loop to close it."""
        return None

    async def aclose(self) -> None:
        self.close()


def create(settings: BaseModel, context: DeviceContext) -> SimulatedAdapter:
    assert isinstance(settings, SimulatedSettings)
    if context.battery is not None:
        params = context.battery
    elif context.limits is not None:
        lim = context.limits
        params = BatteryParams(lim.capacity_kwh, lim.max_charge_w, lim.max_discharge_w,
                               min_soc_pct=lim.min_soc_pct, max_soc_pct=lim.max_soc_pct)
    else:
        raise DataError("the simulated battery needs the policy's battery section")
    return SimulatedAdapter(
        settings,
        params=params,
        name=context.name if context.name != "simulated" else settings.name,
        limits=context.limits,
        clock=context.clock,
        base_dir=context.base_dir,
    )
