"""gridpilot.simulator."""
