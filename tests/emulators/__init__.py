"""Reusable emulators of the device APIs, as real servers on 127.0.0.1 with fault injection.

- :class:`XStorageEmulator`: the Eaton xStorage Home local HTTPS API.
- :class:`XBatteryEmulator`: the xBattery cloud API.

Both are context managers exposing ``url``, ``ca_path``, ``fingerprint_sha256``, ``state``,
``faults`` (``timeout``/``server_error``/``reset``/``malformed_json``) and ``requests``.
"""

from tests.emulators.xbattery import XBatteryEmulator
from tests.emulators.xstorage import XStorageEmulator

__all__ = ["XBatteryEmulator", "XStorageEmulator"]
