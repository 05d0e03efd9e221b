"""gridpilot: run home and small-site batteries by policy.

Sign convention, used everywhere: battery power positive = discharging, negative = charging;
grid power positive = importing, negative = exporting. Times are timezone-aware.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
