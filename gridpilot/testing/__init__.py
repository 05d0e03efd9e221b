"""Scenario-test evaluation: running the cases a policy declares (their language is
:mod:`gridpilot.rules.scenario`), comparing decisions with expectations, reports, JUnit output and
the pytest plugin. Import the submodules (``gridpilot.testing.runner`` ...)."""

__all__: list[str] = []
