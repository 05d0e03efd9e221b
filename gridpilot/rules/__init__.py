"""gridpilot.rules."""
