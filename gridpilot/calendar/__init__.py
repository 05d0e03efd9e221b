"""Time windows: their language (the text forms of ``when:`` and tariff periods) and their
evaluation, on one instant, on arrays of instants and minute by minute for the tick.

Modules: :mod:`~gridpilot.calendar.text` (parsing), :mod:`~gridpilot.calendar.localtime`
(UNIX seconds to local wall-clock fields), :mod:`~gridpilot.calendar.spec` (the calendar part),
:mod:`~gridpilot.calendar.window` (a whole ``when:``), :mod:`~gridpilot.calendar.table` (many
windows per minute) and :mod:`~gridpilot.calendar.cron_overlap` (whether a cron window can open).
"""
