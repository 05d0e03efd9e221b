"""SunSpec Modbus/TCP inverters with a battery (``type: sunspec``), through the standard's
model 124 (storage control); needs the ``modbus`` extra (``pip install 'gridpilot[modbus]'``).

Modules: :mod:`.codec` (point types), :mod:`.modeldefs` (the SunSpec model JSON),
:mod:`.sunmap` (discovery, decoding), :mod:`.transport` (pymodbus), :mod:`.readings`,
:mod:`.control` (commands and the running mode), :mod:`.profiles`, :mod:`.adapter`.
"""

from gridpilot.devices.sunspec.settings import SunSpecSettings

__all__ = ["SunSpecSettings"]
