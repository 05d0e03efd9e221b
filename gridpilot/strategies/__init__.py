"""gridpilot.strategies."""
