"""The one injectable clock: production reads the system time, tests move a manual clock."""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo


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
