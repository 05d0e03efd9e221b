"""gridpilot.scheduler."""
