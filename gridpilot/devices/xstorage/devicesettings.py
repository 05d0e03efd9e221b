"""Read-modify-write of the unit's settings (``/api/settings``).

``PUT /api/settings/`` replaces *all* settings: a field left out may be reset. So every change
is: GET, turn the GET shape into the PUT shape (``country``/``city`` objects to their
``geonameId``, ``timezone`` to its ``id``, ``defaultMode`` to ``{command, parameters}``), change
only the asked fields, PUT everything back to the slash path (the slash-less path answers 307),
then GET again and check the change took and nothing else moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gridpilot.devices.xstorage.commands import validate_payload
from gridpilot.errors import CommandError, DeviceProtocolError

if TYPE_CHECKING:
    from gridpilot.devices.xstorage.client import XStorageClient

__all__ = [
    "READ_ONLY_KEYS",
    "WRITABLE_KEYS",
    "compare_settings",
    "put_payload",
    "update_settings",
    "validate_changes",
]

WRITABLE_KEYS = (
    "name",
    "country",
    "timezone",
    "city",
    "postalCode",
    "bmsBackupLevel",
    "updateBlockedState",
    "defaultMode",
    "energySavingMode",
)
# Keys the unit reports but sets itself; every other key is sent back, so a writable field this
# list does not know yet survives a PUT instead of being reset.
READ_ONLY_KEYS = frozenset(
    {
        "id", "createdAt", "updatedAt", "firmwareVersion", "bmsSerialNumber",
        "commCardFirmwareVersion", "inverterFirmwareVersion", "inverterSerialNumber",
        "inverterPowerRating", "bmsFirmwareVersion", "dns", "inverterIsSinglePhase",
        "bmsCapacity", "networkInterfaces", "powerMeters", "bundleVersion",
        "localPortalRemoteId", "hasPv", "hasBattery",
    }
)


def _plain_id(value: Any, key: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(key)
    return value


def put_payload(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The PUT body ``{"settings": {...}}`` from a GET ``result`` with ``changes`` applied.

    ``changes`` use the PUT shape (plain ids and strings).
    """
    out: dict[str, Any] = {}
    for key, value in current.items():
        if key in READ_ONLY_KEYS:
            continue
        if key in ("country", "city"):
            out[key] = _plain_id(value, "geonameId")
        elif key == "timezone":
            out[key] = _plain_id(value, "id")
        elif key == "defaultMode":
            out[key] = (
                {"command": value.get("command"), "parameters": value.get("parameters")}
                if isinstance(value, Mapping)
                else value
            )
        else:
            out[key] = value
    out.update(changes)
    return {"settings": out}


def _comparable(key: str, value: Any) -> Any:
    """A value in the PUT shape, for comparing GET answers with what was meant."""
    if key in ("country", "city"):
        return _plain_id(value, "geonameId")
    if key == "timezone":
        return _plain_id(value, "id")
    if key == "defaultMode" and isinstance(value, Mapping):
        params = value.get("parameters")
        return {"command": value.get("command"), "parameters": params or None}
    return value


def compare_settings(
    before: Mapping[str, Any], after: Mapping[str, Any], changes: Mapping[str, Any]
) -> list[str]:
    """Differences between what the unit holds now and what it should hold; empty when right."""
    problems: list[str] = []
    keys = (set(before) | set(after) | set(changes)) - READ_ONLY_KEYS
    for key in sorted(keys):
        want = _comparable(key, changes[key] if key in changes else before.get(key))
        got = _comparable(key, after.get(key))
        if want != got:
            problems.append(f"{key}: expected {want!r}, device holds {got!r}")
    return problems


def validate_changes(changes: Mapping[str, Any]) -> None:
    """Refuse setting values outside the unit's ranges before anything is sent."""
    problems: list[str] = []
    unknown = set(changes) - set(WRITABLE_KEYS)
    if unknown:
        problems.append(f"not writable here: {', '.join(sorted(unknown))}")
    level = changes.get("bmsBackupLevel")
    if "bmsBackupLevel" in changes and (
        isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 100
    ):
        problems.append(f"bmsBackupLevel must be a whole percent 0..100, got {level!r}")
    if "defaultMode" in changes:
        mode = changes["defaultMode"]
        if not isinstance(mode, Mapping) or set(mode) != {"command", "parameters"}:
            problems.append("defaultMode must be {command, parameters}")
        else:
            try:
                validate_payload({**mode, "duration": 1})
            except CommandError as exc:
                problems.append(f"defaultMode: {exc}")
    saving = changes.get("energySavingMode")
    if "energySavingMode" in changes:
        threshold = saving.get("houseConsumptionThreshold") if isinstance(saving, Mapping) else None
        if not isinstance(threshold, int) or not 300 <= threshold <= 1000:
            problems.append("energySavingMode.houseConsumptionThreshold must be 300..1000 W")
    if problems:
        raise CommandError("settings change refused before sending: " + "; ".join(problems))


async def update_settings(
    client: XStorageClient, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Change ``changes`` (PUT shape) on the unit and return the verified new settings."""
    validate_changes(changes)
    before = await client.call("GET", "/api/settings")
    if not isinstance(before, Mapping):
        raise DeviceProtocolError(client.device, "GET /api/settings: result is not an object")
    await client.call("PUT", "/api/settings/", json_body=put_payload(before, changes))
    after = await client.call("GET", "/api/settings")
    if not isinstance(after, Mapping):
        raise DeviceProtocolError(client.device, "GET /api/settings: result is not an object")
    problems = compare_settings(before, after, changes)
    if problems:
        raise DeviceProtocolError(
            client.device,
            "settings did not read back as written: " + "; ".join(problems),
        )
    return dict(after)
