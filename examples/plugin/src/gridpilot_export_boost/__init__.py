"""A gridpilot strategy plugin: sell stored energy while the export price is high."""

from gridpilot_export_boost.strategy import ExportBoost, ExportBoostSettings

__all__ = ["ExportBoost", "ExportBoostSettings"]
