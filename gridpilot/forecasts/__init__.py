"""Load/PV forecast providers for the strategies that plan ahead, and their registry.

:mod:`~gridpilot.forecasts.providers` holds the provider protocol and the built-in providers;
:mod:`~gridpilot.forecasts.registry` picks one from the policy's ``forecast:`` section.
"""
