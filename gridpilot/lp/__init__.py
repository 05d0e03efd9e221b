"""The one linear programme of a battery on a grid connection, shared by every planner.

The perfect-foresight optimum (:mod:`gridpilot.simulator.optimum`) and the ``tariff_arbitrage``
planner (:mod:`gridpilot.strategies.arbitrage_plan`) solve the same programme over different
horizons and with different costs; :mod:`gridpilot.lp.battery` builds it once from arrays.
"""
