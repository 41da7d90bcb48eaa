"""Working days: the `holidays` package's public holidays and make-up working days (调休),
with the config's extra holidays and working days on top.

China's holidays are fixed each year by a State Council notice, usually published in November
for the next year. The library knows the statutory holidays (元旦, 春节, 清明, 劳动节, 端午,
中秋, 国庆, with the days it estimates as observed) for every year from 1950 to its end year,
but the make-up working days and the swapped days off only for the years it has a notice for
(`ChinaStaticHolidays.special_public_holidays`). So:

- a year with a notice: the library's holidays and make-up working days;
- a year without one (e.g. 2027 with holidays 0.109): the library's holidays still count, and
  weekends are days off — make-up Saturdays are unknown. The year is "unscheduled": the log says
  so once, HR's digest says so once (bot.reminders.digest) and `check-config` warns
  (`unscheduled_warnings`), until the library is upgraded or the config lists that year's
  make-up working days in `[calendar] extra_workdays`;
- a year the library has no data for at all (outside its start and end years): Monday–Friday.

`[calendar] extra_workdays` and `extra_holidays` win over all of it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from functools import cached_property
from typing import Any

import holidays

from bot.core.i18n import DEFAULT_LANGUAGE, t

log = logging.getLogger(__name__)

# How far ahead an unscheduled year is announced: from 1 December of the year before, when
# deadlines and digests start to fall in it (and after the State Council's November notice).
NOTICE_AHEAD = dt.timedelta(days=31)


def notice_from(year: int) -> dt.date:
    """The first day on which `year`'s missing make-up days are worth telling HR about."""
    return dt.date(year, 1, 1) - NOTICE_AHEAD


def years_ahead(today: dt.date) -> list[int]:
    """The years working days are asked about soon: this one, and the next from `notice_from`."""
    return sorted({today.year, (today + NOTICE_AHEAD).year})


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
    def _base(self) -> Any:
        return holidays.country_holidays(self.country)

    @cached_property
    def covered_years(self) -> frozenset[int]:
        """Years the library has the official schedule for, make-up days included (every year
        it has data for, if the country has no make-up days)."""
        special = getattr(self._base, "special_public_holidays", None) or getattr(
            self._base, "special_holidays", None
        )
        if self.country.upper() in ("CN", "CHN") and special:
            return frozenset(int(y) for y in special)
        return frozenset(range(self._base.start_year, self._base.end_year + 1))

    def covers(self, year: int) -> bool:
        """Whether the library has `year`'s official schedule (make-up working days included)."""
        return year in self.covered_years

    def has_holidays(self, year: int) -> bool:
        """Whether the library has `year`'s public holidays at all."""
        return self._base.start_year <= year <= self._base.end_year

    def knows_makeup_days(self, year: int) -> bool:
        """The library's schedule, or the config lists make-up working days of `year`."""
        return self.covers(year) or any(d.year == year for d in self.extra_workdays)

    def unscheduled(self, today: dt.date) -> list[int]:
        """The years of `years_ahead(today)` whose make-up working days are not known."""
        return [y for y in years_ahead(today) if not self.knows_makeup_days(y)]

    def _library(self, year: int) -> Any:
        if year not in self._years:
            self._years[year] = holidays.country_holidays(self.country, years=year)
        return self._years[year]

    def is_workday(self, day: dt.date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        # The log speaks of the library (overrides or not); HR's notice of what is known at all.
        if not self.covers(day.year) and day.year not in self._warned:
            self._warned.add(day.year)
            log.warning(
                "make-up working days (调休) for %s in %s are not known to the calendar "
                "library; using its public holidays and Monday-Friday plus [calendar] overrides",
                day.year, self.country,
            )
        if not self.has_holidays(day.year):
            return day.weekday() < 5
        return bool(self._library(day.year).is_working_day(day))

    def holiday_name(self, day: dt.date) -> str | None:
        if day in self.extra_holidays:
            return "extra"
        if not self.has_holidays(day.year):
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


def unscheduled_warnings(
    calendar: WorkCalendar, today: dt.date, lang: str = DEFAULT_LANGUAGE
) -> list[str]:
    """`check-config`'s warnings (they do not fail the check): each soon-needed year whose
    make-up working days are unknown, and how to add them."""
    return [
        t(lang, "calendar.unscheduled", year=year, version=holidays.__version__)
        for year in calendar.unscheduled(today)
    ]
