"""Working days: China's holidays and make-up days (调休), config overrides, uncovered years."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from bot.core.workdays import WorkCalendar

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
        (D(2027, 10, 1), True, "uncovered year: a Friday counts as a working day"),
        (D(2027, 10, 2), False, "uncovered year: a Saturday"),
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
        (D(2027, 12, 31), D(2028, 1, 3), "uncovered year -> Monday"),
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
