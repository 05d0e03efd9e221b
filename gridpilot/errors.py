"""The exception tree of gridpilot.

Every error that crosses a public boundary is one of these, so callers (the CLI, the scheduler loop)
can tell bad input from a device fault from a bug without catching bare ``Exception``.

    GridpilotError
    ├── PolicyError            a policy file (or a file it names) is invalid; carries located issues
    ├── DataError              a recorded-data file is malformed; names the row and column
    ├── CommandError           a command is outside the device's or site's limits
    ├── PluginError            a plugin type is unknown, failed to load or does not fit
    │   ├── StrategyError          a strategy plugin could not be loaded or configured
    │   ├── ForecastError          a forecast provider could not be loaded
    │   ├── DeviceTypeError        a device adapter type is unknown or could not be loaded
    │   └── PriceProviderTypeError a price provider type is unknown or could not be loaded
    ├── PriceProviderError     fetching prices failed; names the provider and what to do
    ├── ForecastFetchError     fetching a forecast failed; names the provider and what to do
    └── DeviceError            anything that went wrong talking to a device; names the device
        ├── DeviceUnreachable      connect failures, timeouts, connection resets
        ├── DeviceAuthError        the device refused the credentials (never retried in a loop)
        ├── DevicePermissionError  the account lacks the rights (e.g. needs a technician login)
        ├── DeviceRejected         the device answered but refused the request (4xx with a reason)
        └── DeviceProtocolError    the device answered something unexpected (5xx, bad JSON)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CommandError",
    "DataError",
    "DeviceAuthError",
    "DeviceError",
    "DevicePermissionError",
    "DeviceProtocolError",
    "DeviceRejected",
    "DeviceTypeError",
    "DeviceUnreachable",
    "ForecastError",
    "ForecastFetchError",
    "GridpilotError",
    "Issue",
    "PluginError",
    "PolicyError",
    "PriceProviderError",
    "PriceProviderTypeError",
    "StrategyError",
]


class GridpilotError(Exception):
    """Base class of every error gridpilot raises on purpose."""


@dataclass(frozen=True, slots=True)
class Issue:
    """One located problem in an input file.

    ``line`` and ``column`` are 1-based; 0 means "unknown" (e.g. the file could not be read at all).
    ``path`` is the dotted location inside the document (``rules[2].when.time``).
    """

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str = ""

    def format(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }


class PolicyError(GridpilotError):
    """A policy is invalid. ``issues`` lists every problem found, each with its file position."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(i.format() for i in self.issues))


class DataError(GridpilotError):
    """A data file is malformed; the message names the file, row and column."""


class CommandError(GridpilotError):
    """A command would leave the device's or the site's limits."""


class PluginError(GridpilotError):
    """A plugin of some kind is unknown, failed to load or does not fit its kind's contract.

    ``valid`` lists the types that can be used instead and ``hint`` is a "did you mean" (or
    ``""``), so a caller that locates the error in a policy can show both.
    """

    def __init__(self, message: str, *, valid: tuple[str, ...] = (), hint: str = "") -> None:
        self.valid = valid
        self.hint = hint
        super().__init__(message)


class StrategyError(PluginError):
    """A strategy plugin failed to load or its settings are invalid; the message names it."""


class ForecastError(PluginError):
    """A forecast provider is unknown or failed to load; the message names it."""


class DeviceTypeError(PluginError):
    """A device adapter type is unknown or failed to load; the message names it."""


class PriceProviderTypeError(PluginError):
    """A price provider type is unknown or failed to load; the message names it."""


class PriceProviderError(GridpilotError):
    """Fetching prices failed. ``provider`` names it; the message says what went wrong and what
    to do. Never fatal to the live loop: known prices (cache, fixed schedule) still apply."""

    def __init__(self, provider: str, message: str) -> None:
        self.provider = provider
        super().__init__(f"price provider {provider!r}: {message}")


class ForecastFetchError(GridpilotError):
    """Fetching a weather or PV forecast failed. ``provider`` names it; the message says what went
    wrong and what to do. Never fatal to the live loop: the forecast falls back down its chain.
    ``retry_after_s`` is the wait a rate-limited service asked for (0 when it did not say)."""

    def __init__(self, provider: str, message: str, *, retry_after_s: float = 0.0) -> None:
        self.provider = provider
        self.retry_after_s = retry_after_s
        super().__init__(f"forecast provider {provider!r}: {message}")


class DeviceError(GridpilotError):
    """Talking to a device failed. ``device`` names the device (its policy name or type)."""

    def __init__(self, device: str, message: str) -> None:
        self.device = device
        super().__init__(f"device {device!r}: {message}")


class DeviceUnreachable(DeviceError):
    """Connect failure, timeout or reset: worth retrying later."""


class DeviceAuthError(DeviceError):
    """Credentials were refused. Never retried automatically: repeated sign-ins lock accounts."""


class DevicePermissionError(DeviceError):
    """The account is not allowed to do this (for example it needs a technician login)."""


class DeviceRejected(DeviceError):
    """The device understood the request and refused it (a 4xx with a reason)."""


class DeviceProtocolError(DeviceError):
    """The device answered something unexpected: a 5xx, malformed JSON, a missing field."""
