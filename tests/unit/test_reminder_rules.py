"""Reminder and digest timing as plain functions: quiet hours, the two activity reminders,
mutes, the daily and weekly digest slots across China's National Day 2026."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.config import problem
from bot.core.i18n import t
from bot.core.workdays import WorkCalendar
from bot.reminders import rules as r

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date
RULES = r.Rules()
CAL = WorkCalendar("CN")


def at(day: int, hh: int, mm: int = 0, month: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hh, mm, tzinfo=TZ)


# -- quiet hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time", "start", "end", "quiet"),
    [
        (dt.time(21, 59), dt.time(22), dt.time(7), False),
        (dt.time(22, 0), dt.time(22), dt.time(7), True),
        (dt.time(3, 0), dt.time(22), dt.time(7), True),
        (dt.time(6, 59), dt.time(22), dt.time(7), True),
        (dt.time(7, 0), dt.time(22), dt.time(7), False),
        (dt.time(13, 0), dt.time(12), dt.time(14), True, ),
        (dt.time(14, 0), dt.time(12), dt.time(14), False),
        (dt.time(3, 0), dt.time(7), dt.time(7), False),  # equal: no quiet hours
    ],
)
def test_is_quiet(time: dt.time, start: dt.time, end: dt.time, quiet: bool) -> None:
    assert r.is_quiet(time, r.Rules(quiet_start=start, quiet_end=end)) is quiet


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(8, 12), at(8, 12)),
        (at(8, 22, 30), at(9, 7)),  # evening: held to the next morning
        (at(9, 3), at(9, 7)),  # after midnight: the same morning
        (at(9, 7), at(9, 7)),
    ],
)
def test_hold(now: dt.datetime, expected: dt.datetime) -> None:
    assert r.hold(now, RULES) == expected


# -- activity reminders --------------------------------------------------------------------

START = at(9, 15)  # Friday 9 October 15:00-17:00
END = at(9, 17)
CREATED = at(1, 10)


@pytest.mark.parametrize(
    ("kind", "now", "expected", "why"),
    [
        ("day_before", at(8, 18, 59), "wait", "before 19:00 the day before"),
        ("day_before", at(8, 19), "send", "at 19:00 the day before"),
        ("day_before", at(8, 21, 30), "send", "late, not yet quiet"),
        ("day_before", at(8, 23, 30), "wait", "quiet hours: decided at quiet_end"),
        ("day_before", at(9, 7), "send", "held to 07:00, still before the 60-minute one"),
        ("day_before", at(9, 14), "drop", "the 60-minute reminder is due: superseded"),
        ("day_before", at(9, 18), "drop", "over: stale"),
        ("soon", at(9, 13, 59), "wait", "before 14:00"),
        ("soon", at(9, 14), "send", "60 minutes before"),
        ("soon", at(9, 15, 30), "send", "late after downtime, the activity is still on"),
        ("soon", at(9, 17), "drop", "over: stale"),
    ],
)
def test_verdict(kind: r.ReminderKind, now: dt.datetime, expected: str, why: str) -> None:
    assert r.verdict(kind, now, START, END, CREATED, RULES) == expected, why


def test_soon_is_urgent_in_quiet_hours() -> None:
    start, end = at(8, 7, 30), at(8, 9, 30)
    assert r.moment("soon", start, RULES) == at(8, 6, 30)
    assert r.verdict("soon", at(8, 6, 30), start, end, CREATED, RULES) == "send"
    # The day-before reminder (7 October 19:00) is sent on the evening before.
    assert r.verdict("day_before", at(7, 19), start, end, CREATED, RULES) == "send"


def test_day_before_held_past_the_soon_reminder_is_dropped() -> None:
    # An activity at 07:30 whose day-before reminder is caught up at 23:00 (after downtime):
    # held to 07:00 it would come after the 06:30 reminder, so it is dropped.
    start, end = at(8, 7, 30), at(8, 9, 30)
    assert r.verdict("day_before", at(7, 23), start, end, CREATED, RULES) == "drop"


def test_changed_after_the_moment_is_not_reminded() -> None:
    # Created (or moved) at 20:00 the day before: the creation notice told everyone.
    assert r.verdict("day_before", at(8, 20, 30), START, END, at(8, 20), RULES) == "drop"
    # ... but the 60-minute reminder still comes.
    assert r.verdict("soon", at(9, 14), START, END, at(8, 20), RULES) == "send"


def test_switched_off() -> None:
    off = r.Rules(minutes_before=0)
    assert r.verdict("soon", at(9, 14), START, END, CREATED, off) == "skip"
    # Without the 60-minute reminder, the day-before one is good until the start.
    assert r.verdict("day_before", at(9, 14), START, END, CREATED, off) == "send"
    assert r.verdict("day_before", at(9, 15), START, END, CREATED, off) == "drop"


def test_lookahead_covers_the_day_before_moment() -> None:
    start = at(9, 23, 59)
    early = r.Rules(day_before_at=dt.time(0, 0))
    assert start - r.moment("day_before", start, early) <= r.lookahead(early)  # type: ignore[operator]


@given(
    st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 30)),
    st.integers(min_value=0, max_value=24 * 60),
    st.integers(min_value=15, max_value=600),
)
def test_never_a_reminder_after_the_end(naive: dt.datetime, offset: int, length: int) -> None:
    start = naive.replace(tzinfo=TZ)
    end = start + dt.timedelta(minutes=length)
    now = end + dt.timedelta(minutes=offset)
    for kind in r.REMINDER_KINDS:
        assert r.verdict(kind, now, start, end, start - dt.timedelta(days=5), RULES) in (
            "drop", "skip")


# -- mutes ---------------------------------------------------------------------------------

TODAY = D(2026, 3, 9)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["2026-03-10", "2026-03-15"], r.DayRange(D(2026, 3, 10), D(2026, 3, 15))),
        (["2026-03-10 2026-03-15"], r.DayRange(D(2026, 3, 10), D(2026, 3, 15))),
        (["2026-03-10~2026-03-15"], r.DayRange(D(2026, 3, 10), D(2026, 3, 15))),
        (["2026-03-10至2026-03-15"], r.DayRange(D(2026, 3, 10), D(2026, 3, 15))),
        (["2026-3-10", "-", "2026-3-15"], r.DayRange(D(2026, 3, 10), D(2026, 3, 15))),
        (["2026-03-12"], r.DayRange(D(2026, 3, 12), D(2026, 3, 12))),
        (["3"], r.DayRange(TODAY, D(2026, 3, 11))),
        (["1"], r.DayRange(TODAY, TODAY)),
        (["0"], "format"),
        (["tomorrow"], "format"),
        (["2026-02-30"], "format"),
        (["2026-03-10", "2026-03-11", "2026-03-12"], "format"),
        (["2026-03-15", "2026-03-10"], "order"),
        (["2026-03-08", "2026-03-10"], "past"),
        (["61"], "too_long"),
        (["2026-03-10", "2026-05-10"], "too_long"),
        (["²"], "format"),  # a digit int() does not read: not a number of days
    ],
)
def test_parse_mute(args: list[str], expected: object) -> None:
    assert r.parse_mute(args, TODAY) == expected


def test_merge_and_unmute() -> None:
    a = r.DayRange(D(2026, 3, 1), D(2026, 3, 5))
    b = r.DayRange(D(2026, 3, 6), D(2026, 3, 8))  # adjacent
    c = r.DayRange(D(2026, 3, 7), D(2026, 3, 12))  # overlapping
    d = r.DayRange(D(2026, 3, 20), D(2026, 3, 21))
    merged = r.merge([d, c, a, b])
    assert merged == [r.DayRange(D(2026, 3, 1), D(2026, 3, 12)), d]
    assert r.is_muted(D(2026, 3, 12), merged) and not r.is_muted(D(2026, 3, 13), merged)
    left = r.unmute(merged, TODAY)
    assert left == [r.DayRange(D(2026, 3, 1), D(2026, 3, 8))]  # history kept, today freed
    assert not r.is_muted(TODAY, left)
    assert r.active_or_future(left, TODAY) == []
    with pytest.raises(ValueError):
        r.DayRange(D(2026, 3, 2), D(2026, 3, 1))


# -- digest slots --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MON 08:30", r.Weekly(0, dt.time(8, 30))),
        ("fri 17:00", r.Weekly(4, dt.time(17, 0))),
        ("  Sun 9:05 ", r.Weekly(6, dt.time(9, 5))),
        ("", None),
    ],
)
def test_parse_weekly(text: str, expected: r.Weekly | None) -> None:
    assert r.parse_weekly(text) == expected


@pytest.mark.parametrize("text", ["MONDAY 08:30", "MON", "MON 24:00", "MON 08:60", "XYZ 08:30",
                                  "08:30 MON"])
def test_parse_weekly_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        r.parse_weekly(text)


HR = dt.time(8, 30)


@pytest.mark.parametrize(
    ("now", "period", "why"),
    [
        (at(28, 8, 29, 9), "2026-09-24", "Monday before 08:30: Thursday's (Friday 25 September"
         " is the Mid-Autumn Festival)"),
        (at(28, 8, 30, 9), "2026-09-28", "Monday 08:30"),
        (at(3, 12), "2026-09-30", "in the National Day holiday: the last working day's"),
        (at(8, 8, 30), "2026-10-08", "the first working day after the holiday"),
        (at(10, 9), "2026-10-10", "the make-up working Saturday"),
        (at(11, 9), "2026-10-10", "Sunday"),
    ],
)
def test_latest_daily(now: dt.datetime, period: str, why: str) -> None:
    slot = r.latest_daily(now, HR, CAL.is_workday)
    assert slot is not None and slot.period == period, why
    assert slot.at == dt.datetime.combine(D.fromisoformat(period), HR, tzinfo=TZ)


def test_previous_daily_spans_the_holiday() -> None:
    slot = r.daily_slot(D(2026, 10, 8), HR, TZ)
    prev = r.previous_daily(slot, HR, CAL.is_workday)
    assert prev is not None and prev.period == "2026-09-30"


@pytest.mark.parametrize(
    ("spec", "monday", "expected", "why"),
    [
        ("MON 08:30", D(2026, 9, 28), at(28, 8, 30, 9), "an ordinary Monday"),
        ("MON 08:30", D(2026, 10, 5), at(8, 8, 30), "holiday Monday: first working day after"),
        ("FRI 17:00", D(2026, 9, 28), None, "holiday Friday, no working day left that week"),
        ("FRI 17:00", D(2026, 10, 5), at(9, 17), "an ordinary Friday"),
        ("SAT 10:00", D(2026, 10, 5), at(10, 10), "a Saturday as configured"),
        ("SUN 20:00", D(2026, 9, 28), at(4, 20), "a weekend day is never moved"),
    ],
)
def test_weekly_slot(spec: str, monday: dt.date, expected: dt.datetime | None, why: str) -> None:
    weekly = r.parse_weekly(spec)
    assert weekly is not None
    slot = r.weekly_slot(monday, weekly, TZ, CAL.is_workday)
    assert (slot.at if slot else None) == expected, why
    if slot:
        assert slot.period == r.week_label(monday)


def test_latest_weekly() -> None:
    weekly = r.Weekly(0, dt.time(8, 30))
    assert r.latest_weekly(at(7, 12), weekly, CAL.is_workday) == r.Slot(
        "2026-W40", at(28, 8, 30, 9))
    assert r.latest_weekly(at(8, 8, 30), weekly, CAL.is_workday) == r.Slot(
        "2026-W41", at(8, 8, 30))
    fri = r.Weekly(4, dt.time(17, 0))
    # Neither week 39 (Mid-Autumn Festival on Friday 25 September) nor week 40 (National Day)
    # has a Friday digest: in week 41 before Friday, week 38's is the latest.
    assert r.latest_weekly(at(8, 12), fri, CAL.is_workday) == r.Slot(
        "2026-W38", at(18, 17, 0, 9))


def test_dedupe_key() -> None:
    assert r.dedupe_key("digest", "hr", "2026-10-08", 1001) == "digest:hr:2026-10-08:1001"
    assert r.dedupe_key("digest", "hr", "2026-10-08", 1001, "p2") == (
        "digest:hr:2026-10-08:1001:p2")


@pytest.mark.parametrize(
    ("section", "values", "expected"),
    [
        ("digest", {"leader_weekly": "MONDAY 8:30"}, "[digest] leader_weekly: must be a weekday"),
        ("digest", {"trainee_weekly": "FRI 25:00"}, "[digest] trainee_weekly: must be a weekday"),
        # The loader's type problems are in the file's language: here the default, zh.
        ("digest", {"hr_time": "8h30"}, problem(
            "zh", "[digest] hr_time", "wrong_type", expected=t("zh", "config.type.time"),
            value="'8h30'")),
        ("reminders", {"minutes_before": -5}, "[reminders] minutes_before: must be between"),
        ("reminders", {"quiet_start": "late"}, problem(
            "zh", "[reminders] quiet_start", "wrong_type",
            expected=t("zh", "config.type.time"), value="'late'")),
    ],
)
def test_config_is_checked(section: str, values: dict[str, object], expected: str) -> None:
    from bot.core.config import ConfigError
    from bot.features import parse_config  # core's loader with the features' checks

    with pytest.raises(ConfigError) as info:
        # The config is in the language its expected text is written in.
        lang = "en" if expected.isascii() else "zh"
        parse_config({section: values, "program": {"language": lang}}, env={})
    assert any(expected in p for p in info.value.problems), info.value.problems


def test_config_defaults() -> None:
    from bot.core.config import parse_config

    cfg = parse_config({"digest": {"trainee_weekly": "fri 17:00"}}, env={})
    assert cfg.reminders.day_before_at == dt.time(19) and cfg.reminders.minutes_before == 60
    assert (cfg.reminders.quiet_start, cfg.reminders.quiet_end) == (dt.time(22), dt.time(7))
    assert cfg.digest.hr_time == dt.time(8, 30)
    assert r.parse_weekly(cfg.digest.leader_weekly) == r.Weekly(0, dt.time(8, 30))
    assert r.parse_weekly(cfg.digest.trainee_weekly) == r.Weekly(4, dt.time(17))
