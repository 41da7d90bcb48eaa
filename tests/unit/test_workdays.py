"""Working days: China's holidays and make-up days (调休), config overrides, uncovered years."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from bot.core.workdays import WorkCalendar, notice_from, unscheduled_warnings, years_ahead

D = dt.date


@pytest.mark.parametrize(
    ("day", "workday", "why"),
    [
        (D(2026, 3, 2), True, "a Monday"),
        (D(2026, 3, 7), False, "a Saturday"),
        (D(2026, 10, 1), False, "National Day"),
        (D(2026, 10, 7), False, "National Day week"),
        (D(2026, 10, 10), True, "make-up working Saturday"),
        (D(2026, 9, 20), True, "make-up working Sunday"),
        (D(2026, 2, 14), True, "make-up Saturday before Spring Festival"),
        (D(2026, 2, 17), False, "Spring Festival"),
        (D(2027, 10, 1), False, "a year without make-up days: National Day still counts"),
        (D(2027, 10, 2), False, "a year without make-up days: a Saturday"),
        (D(2027, 1, 1), False, "a year without make-up days: New Year's Day"),
        (D(2027, 2, 9), False, "a year without make-up days: the library's observed day"),
        (D(2027, 2, 11), True, "a year without make-up days: a Thursday after Spring Festival"),
        (D(2027, 5, 1), False, "a year without make-up days: Labour Day"),
        (D(2027, 9, 15), False, "a year without make-up days: Mid-Autumn Festival"),
        (D(2027, 3, 1), True, "a year without make-up days: a plain Monday"),
        (D(2030, 5, 1), False, "a year far ahead: Labour Day from the library"),
        (D(2101, 1, 3), True, "beyond the library's data: a Monday"),
        (D(2103, 1, 1), True, "beyond the library's data: New Year's Day is a plain Monday"),
    ],
)
def test_is_workday(day: dt.date, workday: bool, why: str) -> None:
    assert WorkCalendar("CN").is_workday(day) is workday, why


@pytest.mark.parametrize(
    ("day", "expected", "why"),
    [
        (D(2026, 3, 6), D(2026, 3, 9), "Friday -> Monday"),
        (D(2026, 3, 7), D(2026, 3, 9), "Saturday -> Monday"),
        (D(2026, 9, 30), D(2026, 10, 8), "before National Day -> first day after it"),
        (D(2026, 10, 9), D(2026, 10, 10), "before a make-up Saturday -> that Saturday"),
        (D(2026, 12, 31), D(2027, 1, 4), "before New Year 2027 -> Monday after the weekend"),
        (D(2027, 9, 30), D(2027, 10, 6), "before National Day 2027 -> after its observed days"),
        (D(2027, 12, 31), D(2028, 1, 4), "New Year 2028 on a Saturday: observed on Monday"),
        (D(2101, 12, 30), D(2102, 1, 2), "beyond the library's data -> Monday"),
    ],
)
def test_next_workday_after(day: dt.date, expected: dt.date, why: str) -> None:
    assert WorkCalendar("CN").next_workday_after(day) == expected, why


def test_overrides_win() -> None:
    cal = WorkCalendar("CN", extra_holidays=[D(2026, 3, 9)], extra_workdays=[D(2026, 3, 8)])
    assert not cal.is_workday(D(2026, 3, 9))
    assert cal.is_workday(D(2026, 3, 8))
    assert cal.next_workday_after(D(2026, 3, 6)) == D(2026, 3, 8)
    assert cal.next_workday_after(D(2026, 3, 8)) == D(2026, 3, 10)


def test_uncovered_year_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    cal = WorkCalendar("CN")
    with caplog.at_level(logging.WARNING, logger="bot.core.workdays"):
        cal.is_workday(D(2030, 1, 7))
        cal.is_workday(D(2030, 1, 8))
    assert sum("2030" in r.getMessage() for r in caplog.records) == 1
    assert cal.covers(2026) and not cal.covers(2030)


@pytest.mark.parametrize(
    ("extra_workdays", "today", "unscheduled", "why"),
    [
        ((), D(2026, 11, 30), [], "2026 has its notice; 2027 is more than a month away"),
        ((), D(2026, 12, 1), [2027], "from 1 December the next year is announced"),
        ((), D(2026, 12, 31), [2027], "still on the last day of the year"),
        ((), D(2027, 6, 1), [2027], "during the year itself"),
        ((D(2027, 2, 20),), D(2026, 12, 4), [], "the config lists a 2027 make-up day"),
        ((D(2028, 1, 29),), D(2027, 12, 4), [2027], "another year's make-up day does not count"),
        ((D(2028, 1, 29),), D(2027, 1, 4), [2027], "2028 is not yet announced in January"),
    ],
)
def test_unscheduled_years(
    extra_workdays: tuple[dt.date, ...], today: dt.date, unscheduled: list[int], why: str
) -> None:
    cal = WorkCalendar("CN", extra_workdays=extra_workdays)
    assert cal.unscheduled(today) == unscheduled, why
    warnings = unscheduled_warnings(cal, today, "en")
    assert [w.split(":")[0] for w in warnings] == [f"[calendar] {y}" for y in unscheduled], why
    assert [w.split("：")[0] for w in unscheduled_warnings(cal, today, "zh")] == [
        f"[calendar] {y}" for y in unscheduled], why
    assert all("extra_workdays" in w for w in warnings)


def test_years_ahead_and_notice_from() -> None:
    assert years_ahead(D(2026, 11, 30)) == [2026]
    assert years_ahead(D(2026, 12, 1)) == [2026, 2027]
    assert notice_from(2027) == D(2026, 12, 1)


def test_make_up_days_from_the_config_fill_an_unscheduled_year() -> None:
    # What HR adds once the 2027 notice is out: the make-up Saturday and a swapped day off.
    cal = WorkCalendar("CN", extra_holidays=[D(2027, 10, 6)], extra_workdays=[D(2027, 9, 26)])
    assert cal.knows_makeup_days(2027) and not WorkCalendar("CN").knows_makeup_days(2027)
    assert cal.is_workday(D(2027, 9, 26)) and not cal.is_workday(D(2027, 10, 6))
    assert cal.next_workday_after(D(2027, 9, 30)) == D(2027, 10, 7)


def test_other_countries_have_no_make_up_days_to_miss() -> None:
    cal = WorkCalendar("DE")
    assert cal.unscheduled(D(2026, 12, 20)) == []
    assert not cal.is_workday(D(2026, 12, 25)) and cal.is_workday(D(2026, 12, 28))
