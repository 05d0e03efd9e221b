"""Device adapters: the policy's ``device:`` section picks one by ``type``.

=============  ==========================================================================
``simulated``  the default: recorded load/PV (``data_file``) through the battery model, at
               the pace of the injected clock (see :mod:`gridpilot.devices.simulated`)
``xstorage``   Eaton xStorage Home over its local HTTPS API, with certificate pinning
               (see :mod:`gridpilot.devices.xstorage`)
``xbattery``   the xBattery cloud API, read-only (see :mod:`gridpilot.devices.xbattery`)
``composite``  a state source plus an actuator, e.g. an xBattery pack's SOC with an
               xStorage inverter doing the work (see :mod:`gridpilot.devices.composite`)
=============  ==========================================================================

Every adapter follows :class:`gridpilot.devices.base.DeviceAdapter` and is built from its
settings and a :class:`~gridpilot.devices.context.DeviceContext`; every failure is a
:class:`gridpilot.errors.DeviceError` naming the device. Secrets come from ``${ENV}``
substitution or a ``*_file`` setting and never appear in logs, reprs or messages.
"""

from gridpilot.devices.base import (
    AppliedCommand,
    Capabilities,
    DeviceAdapter,
    DeviceReading,
    Exporter,
    ExportResult,
)
from gridpilot.devices.context import DeviceContext
from gridpilot.devices.registry import DEVICES, create_device

__all__ = [
    "DEVICES",
    "AppliedCommand",
    "Capabilities",
    "DeviceAdapter",
    "DeviceContext",
    "DeviceReading",
    "ExportResult",
    "Exporter",
    "create_device",
]
