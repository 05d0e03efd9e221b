"""The ``fleet.yaml`` document: its sections as strict models (unknown keys are errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gridpilot.models import StrictModel

__all__ = ["DataTransform", "FleetDefaults", "FleetDoc", "Scalar", "SiteDoc"]

Scalar = bool | int | float | str
"""A value a dotted override may set (the YAML scalars)."""


class DataTransform(StrictModel):
    """How one recorded dataset stands in for another home: the load scaled, the PV scaled (a
    different array size), both shifted by whole days. Prices stay on their own calendar."""

    load_scale: float = Field(1.0, gt=0, le=100)
    """Factor on ``load_w`` [-] (e.g. a target annual consumption over the data's)."""
    pv_scale: float = Field(1.0, ge=0, le=100)
    """Factor on ``pv_w`` [-] (e.g. the site's kWp over the data's)."""
    shift_days: int = Field(0, ge=-366, le=366)
    """Load and PV move this many days later (wrapping round the end of the data)."""


class FleetDefaults(StrictModel):
    """What every site uses unless it says otherwise."""

    policy: str | None = None
    data: str | None = None
    format: str = "auto"
    step: str = "30m"
    start: str | None = Field(None, alias="from")
    end: str | None = Field(None, alias="to")
    soc_pct: float | None = Field(None, ge=0, le=100)
    prices: Literal["policy", "data"] = "policy"
    set: dict[str, Scalar] = Field(default_factory=dict)


class SiteDoc(StrictModel):
    """One site, or (``data`` a glob pattern) one site per matching file, named
    ``NAME-STEM`` or by ``{stem}`` in ``name``."""

    name: str = Field(min_length=1, max_length=200)
    policy: str | None = None
    data: str | None = None
    format: str | None = None
    soc_pct: float | None = Field(None, ge=0, le=100)
    set: dict[str, Scalar] = Field(default_factory=dict)
    """Dotted overrides of policy values, as ``sweep --set`` (``site.battery.capacity_kwh``)."""
    transform: DataTransform = Field(default_factory=DataTransform)


class FleetHead(StrictModel):
    """``fleet.yaml`` without its sites (validated one by one, so one bad site stops none)."""

    version: Literal[1] = 1
    name: str = Field("fleet", min_length=1, max_length=200)
    defaults: FleetDefaults = Field(default_factory=FleetDefaults)


class FleetDoc(FleetHead):
    """A whole ``fleet.yaml`` (its JSON Schema)."""

    sites: list[SiteDoc] = Field(min_length=1)
