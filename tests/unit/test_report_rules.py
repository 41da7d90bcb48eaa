"""Report rules: the deadline (working days, make-up days, overrides, uncovered years), the
deadline in words, reminders, headcount, states."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest

from bot.core.config import CalendarConfig, ReportsConfig
from bot.core.workdays import WorkCalendar
from bot.reports.rules import (
    Rules,
    attendance_of,
    calendar_of,
    can_amend,
    deadline_words,
    document_suffix,
    due_at,
    headcount_difference,
    is_late,
    parse_headcount,
    reminder_due,
    reminder_times,
    roll_headcount,
    state_of,
)

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date
RULES = Rules()


def local(y: int, m: int, d: int, hh: int = 17, mm: int = 30) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


@pytest.mark.parametrize(
    ("activity_end", "calendar", "expected", "why"),
    [
        (local(2026, 3, 6), WorkCalendar("CN"), local(2026, 3, 9, 18, 0),
         "a Friday activity: due Monday"),
        (local(2026, 3, 7), WorkCalendar("CN"), local(2026, 3, 9, 18, 0),
         "a Saturday activity: due Monday"),
        (local(2026, 3, 2), WorkCalendar("CN"), local(2026, 3, 3, 18, 0),
         "a Monday activity: due Tuesday"),
        (local(2026, 9, 30), WorkCalendar("CN"), local(2026, 10, 8, 18, 0),
         "the day before National Day: the first working day after the holiday"),
        (local(2026, 10, 9), WorkCalendar("CN"), local(2026, 10, 10, 18, 0),
         "before a make-up working Saturday: that Saturday"),
        (local(2026, 9, 19), WorkCalendar("CN"), local(2026, 9, 20, 18, 0),
         "a Saturday before a make-up working Sunday: that Sunday"),
        (local(2026, 3, 6), WorkCalendar("CN", extra_holidays=[D(2026, 3, 9)]),
         local(2026, 3, 10, 18, 0), "a configured extra holiday on the Monday: Tuesday"),
        (local(2026, 3, 6), WorkCalendar("CN", extra_workdays=[D(2026, 3, 7)]),
         local(2026, 3, 7, 18, 0), "a configured extra workday on the Saturday: that day"),
        (local(2030, 4, 30), WorkCalendar("CN"), local(2030, 5, 3, 18, 0),
         "a year without make-up days: the library's May Day holidays still count"),
        (local(2027, 12, 31), WorkCalendar("CN"), local(2028, 1, 4, 18, 0),
         "a year without make-up days: New Year's Day on a Saturday, observed on Monday"),
        (local(2026, 3, 6, 23, 45), WorkCalendar("CN"), local(2026, 3, 9, 18, 0),
         "late in the evening: still the local date, not the UTC one"),
        (local(2026, 3, 6, 7, 0), WorkCalendar("CN"), local(2026, 3, 9, 18, 0),
         "early in the morning (the previous day in UTC): the local date"),
    ],
)
def test_deadline(
    activity_end: dt.datetime, calendar: WorkCalendar, expected: dt.datetime, why: str
) -> None:
    assert due_at(activity_end, calendar, RULES, TZ) == expected, why


def test_due_time_is_configurable() -> None:
    rules = Rules.of(ReportsConfig(due_time=dt.time(12, 0)))
    assert due_at(local(2026, 3, 6), WorkCalendar("CN"), rules, TZ) == local(2026, 3, 9, 12, 0)


def test_deadline_of_utc_input_is_local() -> None:
    end = local(2026, 3, 6, 7, 0).astimezone(dt.UTC)  # 23:00 on Thursday in UTC
    assert due_at(end, WorkCalendar("CN"), RULES, TZ) == local(2026, 3, 9, 18, 0)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        due_at(dt.datetime(2026, 3, 6, 17), WorkCalendar("CN"), RULES, TZ)


def test_calendar_from_config_overrides_and_logs_an_uncovered_year_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cfg = CalendarConfig(extra_holidays=(D(2031, 3, 10),), extra_workdays=(D(2031, 3, 8),))
    cal = calendar_of(cfg)
    assert calendar_of(cfg) is cal  # one per config: the log line is not repeated per tick
    with caplog.at_level(logging.WARNING, logger="bot.core.workdays"):
        assert due_at(local(2031, 3, 7), cal, RULES, TZ) == local(2031, 3, 8, 18, 0)
        assert due_at(local(2031, 3, 8), cal, RULES, TZ) == local(2031, 3, 11, 18, 0)
        assert due_at(local(2031, 3, 12), calendar_of(cfg), RULES, TZ) == local(2031, 3, 13,
                                                                                  18, 0)
    assert sum("2031" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize(
    ("lang", "when", "expected"),
    [
        ("en", local(2025, 12, 8, 18, 0), "Monday 8 December, 18:00"),
        ("zh", local(2025, 12, 8, 18, 0), "12月8日（星期一）18:00"),
        ("en", local(2026, 10, 10, 9, 5), "Saturday 10 October, 09:05"),
        ("zh", local(2026, 3, 1, 18, 0), "3月1日（星期日）18:00"),
    ],
)
def test_deadline_in_words(lang: str, when: dt.datetime, expected: str) -> None:
    assert deadline_words(lang, when) == expected


# -- reminders ------------------------------------------------------------------------------

END = local(2026, 3, 6, 17, 30)  # Friday
DUE = local(2026, 3, 9, 18, 0)  # Monday


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(2026, 3, 6, 17, 29), None),
        (local(2026, 3, 6, 17, 30), "ended"),
        (local(2026, 3, 8, 20, 0), "ended"),
        (local(2026, 3, 9, 9, 0), "morning"),
        (local(2026, 3, 9, 15, 59), "morning"),
        (local(2026, 3, 9, 16, 0), "before"),
        (local(2026, 3, 9, 18, 0), "before"),  # at the deadline it is not overdue yet
        (local(2026, 3, 9, 18, 0, ) + dt.timedelta(seconds=1), "overdue"),
        (local(2026, 3, 20, 9, 0), "overdue"),
    ],
)
def test_reminder_due(now: dt.datetime, expected: str | None) -> None:
    assert reminder_due(END, DUE, now, RULES) == expected


def test_after_downtime_only_the_latest_stage() -> None:
    # Down from Friday to Monday 16:30: the morning reminder is skipped, "before" is due.
    assert reminder_due(END, DUE, local(2026, 3, 9, 16, 30), RULES) == "before"


@pytest.mark.parametrize(
    ("rules", "end", "stages"),
    [
        (RULES, END, ["ended", "morning", "before", "overdue"]),
        (Rules(remind_before=dt.timedelta(0)), END, ["ended", "morning", "overdue"]),
        # "before" at 08:00 comes before the morning reminder: it replaces it.
        (Rules(remind_before=dt.timedelta(hours=10)), END, ["ended", "before", "overdue"]),
        # An activity ending after the morning of the due day (a late-night one) has no
        # morning reminder before its end.
        (RULES, local(2026, 3, 9, 10, 0), ["ended", "before", "overdue"]),
    ],
)
def test_reminder_times(rules: Rules, end: dt.datetime, stages: list[str]) -> None:
    assert [s for s, _ in reminder_times(end, DUE, rules)] == stages


# -- states, headcount, input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("submitted", "late", "now", "expected"),
    [
        (None, False, local(2026, 3, 9, 17, 0), "awaiting"),
        (None, False, local(2026, 3, 9, 18, 1), "overdue"),
        (local(2026, 3, 9, 12, 0), False, local(2026, 3, 10), "on_time"),
        (local(2026, 3, 10, 12, 0), True, local(2026, 3, 10), "late"),
    ],
)
def test_state_of(submitted: dt.datetime | None, late: bool, now: dt.datetime,
                  expected: str) -> None:
    assert state_of(submitted, late, DUE, now) == expected


def test_late_and_amend_boundaries() -> None:
    assert not is_late(DUE, DUE) and is_late(DUE + dt.timedelta(seconds=1), DUE)
    assert can_amend(DUE, DUE) and not can_amend(DUE + dt.timedelta(seconds=1), DUE)


@pytest.mark.parametrize(
    ("stated", "counts", "expected"),
    [
        (4, {"present": 3, "late": 1, "absent": 2}, None),
        (5, {"present": 3, "late": 1, "absent": 2}, 1),
        (2, {"present": 1, "early_leave": 2, "excused": 1}, -1),
        (None, {"present": 3}, None),
        (0, {}, None),
    ],
)
def test_headcount_difference(stated: int | None, counts: dict[str, int],
                              expected: int | None) -> None:
    assert headcount_difference(stated, counts) == expected


def test_roll_headcount_counts_who_came() -> None:
    assert roll_headcount({"present": 2, "late": 1, "early_leave": 1, "absent": 5,
                           "excused": 3}) == 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [("6", 6), (" 12 ", 12), ("１２", 12), ("7人", 7), ("7 people", 7), ("0", 0),
     ("-1", None), ("abc", None), ("", None), ("1000", None), ("3.5", None), ("٣", None)],
)
def test_parse_headcount(text: str, expected: int | None) -> None:
    assert parse_headcount(text) == expected


def test_attendance_of_counts_and_names() -> None:
    att = attendance_of([("甲", "present"), ("乙", "late"), ("丙", None), ("丁", "excused"),
                         ("戊", "early_leave"), ("己", "absent")])
    assert att.counts == {"present": 1, "late": 1, "early_leave": 1, "absent": 2,
                          "excused": 1}
    assert att.names == {"absent": ["丙", "己"], "late": ["乙"], "early_leave": ["戊"],
                         "excused": ["丁"]}
    assert att.headcount == 3


@pytest.mark.parametrize(
    ("name", "expected"),
    [("心得.DOCX", ".docx"), ("a.pdf", ".pdf"), ("x.exe", None), ("noext", None), (None, None)],
)
def test_document_suffix(name: str | None, expected: str | None) -> None:
    assert document_suffix(name) == expected
