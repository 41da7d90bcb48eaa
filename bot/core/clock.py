"""The one injectable clock (production reads the system time, tests move a manual clock), and
`as_sent`: the time a member sent something, bounded by that clock."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Protocol
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)


class Clock(Protocol):
    """Gives the current time, tz-aware, in the programme's time zone."""

    tz: ZoneInfo

    def now(self) -> dt.datetime: ...


class SystemClock:
    """Wall-clock time in the programme's time zone."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.tz)


class ManualClock:
    """A clock that only moves when told to; tests use it instead of sleeping."""

    def __init__(self, start: dt.datetime, tz: ZoneInfo | None = None) -> None:
        if start.tzinfo is None:
            if tz is None:
                raise ValueError("a naive start needs a time zone")
            start = start.replace(tzinfo=tz)
        self.tz = tz or ZoneInfo(str(start.tzinfo))
        self._now = start.astimezone(self.tz)

    def now(self) -> dt.datetime:
        return self._now

    def set(self, when: dt.datetime) -> None:
        self._now = (when if when.tzinfo else when.replace(tzinfo=self.tz)).astimezone(self.tz)

    def advance(self, **delta: float) -> dt.datetime:
        self._now = self._now + dt.timedelta(**delta)
        return self._now


# Telegram's servers and ours never agree to the second: a date up to this far ahead of our
# clock is ordinary drift; further ahead, one of the two clocks is wrong (logged).
SENT_SKEW = dt.timedelta(minutes=2)


def as_sent(stamped: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """When the member sent something: the time stamped on it, in `now`'s time zone, but never
    later than `now`, the bot's own clock (nothing is sent after it is handled; a date in the
    future is clock drift, or beyond `SENT_SKEW` a wrong clock, and counts as now). None (no
    stamp) is now.

    Deadlines (the check-in's late mark, the leave cutoff, a report's due time) are judged at
    this time, so an update handled late (after an outage, a restart or a crash replay) is
    judged by when it was sent, not by when the bot got round to it.
    """
    if stamped is None:
        return now
    stamped = stamped.astimezone(now.tzinfo)
    if stamped <= now:
        return stamped
    if stamped - now > SENT_SKEW:
        log.warning("an update is dated %s, %s ahead of the bot's clock: counted as sent now",
                    stamped.isoformat(timespec="seconds"), stamped - now)
    return now
