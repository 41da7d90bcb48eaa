"""Working days: the `holidays` package's public holidays and make-up working days (调休),
with the config's extra holidays and working days on top.

China's holidays are fixed each year by a State Council notice; the library knows the years it
has a notice for. For a year it does not cover, working days fall back to Monday–Friday plus the
config's overrides, and the log says so once per year.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from functools import cached_property
from typing import Any

import holidays

log = logging.getLogger(__name__)


class WorkCalendar:
    """Answers "is this a working day?" and "the first working day after D"."""

    def __init__(
        self,
        country: str = "CN",
        extra_holidays: Iterable[dt.date] = (),
        extra_workdays: Iterable[dt.date] = (),
    ) -> None:
        self.country = country
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)
        self._warned: set[int] = set()
        self._years: dict[int, Any] = {}

    @cached_property
    def covered_years(self) -> frozenset[int]:
        """Years the library has an official schedule for (or every year if it needs none)."""
        base = holidays.country_holidays(self.country)
        special = getattr(base, "special_public_holidays", None) or getattr(
            base, "special_holidays", None
        )
        if self.country.upper() == "CN" and special:
            return frozenset(int(y) for y in special)
        return frozenset(range(base.start_year, base.end_year + 1))

    def covers(self, year: int) -> bool:
        return year in self.covered_years

    def _library(self, year: int) -> Any:
        if year not in self._years:
            self._years[year] = holidays.country_holidays(self.country, years=year)
        return self._years[year]

    def is_workday(self, day: dt.date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        if not self.covers(day.year):
            if day.year not in self._warned:
                self._warned.add(day.year)
                log.warning(
                    "holidays for %s in %s are not known to the calendar library; "
                    "using Monday-Friday plus [calendar] overrides",
                    day.year, self.country,
                )
            return day.weekday() < 5
        return bool(self._library(day.year).is_working_day(day))

    def holiday_name(self, day: dt.date) -> str | None:
        if day in self.extra_holidays:
            return "extra"
        if not self.covers(day.year):
            return None
        name = self._library(day.year).get(day)
        return str(name) if name else None

    def next_workday_after(self, day: dt.date) -> dt.date:
        """The first working day strictly after `day`."""
        candidate = day + dt.timedelta(days=1)
        for _ in range(366):
            if self.is_workday(candidate):
                return candidate
            candidate += dt.timedelta(days=1)
        raise ValueError(f"no working day within a year after {day}")

    def previous_workday_before(self, day: dt.date) -> dt.date:
        candidate = day - dt.timedelta(days=1)
        for _ in range(366):
            if self.is_workday(candidate):
                return candidate
            candidate -= dt.timedelta(days=1)
        raise ValueError(f"no working day within a year before {day}")
