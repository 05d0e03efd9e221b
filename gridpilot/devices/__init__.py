"""gridpilot.devices."""
