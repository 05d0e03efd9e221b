"""What is known when: a slot of a day-ahead series is known from its publication on.

A provider publishes the next day once a day (:class:`~gridpilot.prices.base.Publication`): at
``local_time`` in its zone, up to ``covers_until_local`` on the next local day (the end of that day
when ``None``). At instant ``t`` a series is therefore known up to the horizon of the latest
publication at or before ``t``. This module is the ONE place that rule is written: the live
scheduler, ``prices show`` and every backtest ask it, so what a backtest sees at a tick is what a
live run could have known then.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gridpilot.prices.base import Publication

__all__ = ["known_until_s", "next_publication_s", "publication_at_or_before_s"]


def _at_local(day_ordinal: int, pub: Publication) -> int:
    local = datetime.combine(datetime.fromordinal(day_ordinal).date(), pub.local_time,
                             tzinfo=pub.tz)
    return int(local.timestamp())


def publication_at_or_before_s(pub: Publication, t_s: int) -> int:
    """The instant [UNIX s] of the latest publication at or before ``t_s``."""
    day = datetime.fromtimestamp(t_s, UTC).astimezone(pub.tz).date().toordinal()
    at = _at_local(day, pub)
    return at if at <= t_s else _at_local(day - 1, pub)


def next_publication_s(pub: Publication, t_s: int) -> int:
    """The instant [UNIX s] of the first publication strictly after ``t_s``."""
    day = datetime.fromtimestamp(t_s, UTC).astimezone(pub.tz).date().toordinal()
    at = _at_local(day, pub)
    return at if at > t_s else _at_local(day + 1, pub)


def known_until_s(pub: Publication, t_s: int, data_end_s: int | None = None) -> int:
    """Up to when [UNIX s] a series published by ``pub`` is known at ``t_s``.

    ``data_end_s`` is the end of the data actually held (fetched live, cached or recorded): the
    horizon is never past it, so a publication that arrives late shortens the horizon instead
    of inventing prices.
    """
    published = publication_at_or_before_s(pub, t_s)
    pub_day = datetime.fromtimestamp(published, UTC).astimezone(pub.tz).date()
    next_day = pub_day + timedelta(days=1)
    if pub.covers_until_local is None:
        horizon = datetime.combine(next_day + timedelta(days=1), datetime.min.time(),
                                   tzinfo=pub.tz)
    else:
        horizon = datetime.combine(next_day, pub.covers_until_local, tzinfo=pub.tz)
    end = int(horizon.timestamp())
    return end if data_end_s is None else min(end, data_end_s)
