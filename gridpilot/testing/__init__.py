"""Scenario tests for policies: the case model, the runner, reports, JUnit output and the pytest
plugin. Import the submodules (``gridpilot.testing.runner`` ...); this package stays light because
the policy schema imports :mod:`gridpilot.testing.model`."""

__all__: list[str] = []
