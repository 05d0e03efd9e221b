"""Live price providers: fetch a tariff's prices from a public API (floor 4).

:mod:`gridpilot.prices.base` is the contract (:class:`PriceSlots`, :class:`Publication`,
:class:`ProviderContext`, :class:`PriceProvider`), :mod:`gridpilot.prices.registry` holds the
``PRICE_PROVIDERS`` registry (entry-point group ``gridpilot.prices``), and
:mod:`gridpilot.prices.providers` the built-ins, one module each.
"""
