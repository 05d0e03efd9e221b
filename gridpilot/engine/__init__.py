"""gridpilot.engine."""
