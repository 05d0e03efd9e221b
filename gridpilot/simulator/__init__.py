"""Backtesting: replay recorded data through the live ``decide()`` with a battery model.

Modules (imported one by one so the live side can use the battery model without the solver):
``loaders`` (recorded data in, as UTC interval series with a load report), ``resample``
(energy-conserving steps, explicit gap policy), ``battery`` (the unit model), ``replay`` (the
tick loop), ``accounting`` (bills and energy totals, baselines), ``optimum`` (perfect-foresight
LP), ``backtest`` (all of it for one policy), ``report``/``plots`` (JSON, Markdown, PNG) and
``sweep`` (parameter variants on every core).
"""

__all__: list[str] = []
