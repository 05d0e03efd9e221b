"""Eaton xStorage Home over its local HTTPS API.

Modules: ``settings`` (the policy's device settings), ``auth`` and ``client`` (sign-in, tokens,
401 recovery), ``commands`` (command payloads and their checks), ``status`` (status to state),
``devicesettings`` (settings read-modify-write), ``schedule`` (the unit's own schedule),
``metrics`` (history export) and ``adapter`` (all of it behind the adapter protocol).
"""

from gridpilot.devices.xstorage.adapter import XStorageAdapter
from gridpilot.devices.xstorage.schedule import ScheduleEvent, ScheduleOverlapError
from gridpilot.devices.xstorage.settings import XStorageSettings

__all__ = ["ScheduleEvent", "ScheduleOverlapError", "XStorageAdapter", "XStorageSettings"]
