"""Reminder and digest timing: when each message falls due, quiet hours, mutes. Pure rules.

No Telegram and no SQL: the due checks (handlers/reminders.py, bot/reminders/digest.py) ask these
functions what is due at `now` and record what they did, so every rule is a plain table test.

Activity reminders (`[reminders]`):
- *day before*: at `day_before_at` (19:00) on the day before the activity's local date;
- *soon*: `minutes_before` (60) minutes before the start.

Rules, in the order they apply:
- A reminder is never sent once the activity is over (after downtime, stale reminders are
  dropped, not sent late).
- A reminder whose moment came before the activity was created or last changed is not sent:
  the participants were just told by the creation / change notice.
- *Soon* is urgent: it goes at its moment, quiet hours or not (an activity at 07:30 is announced
  at 06:30), and, when late after downtime, as long as the activity is not over.
- *Day before* is not urgent: during quiet hours it waits (it is decided at quiet_end, so a
  cancellation, a leave or a /mute during the night is honoured); once the *soon* reminder is
  due (or, with `minutes_before = 0`, once the activity has started) it is dropped, so nobody
  gets a "tomorrow" after the "in an hour".
- Digests and weekly summaries are not urgent either: one that falls due in quiet hours is
  composed at once (its period is fixed) and queued with `not_before` = the end of the quiet
  hours.

Mutes: a member's mute ranges are whole local days, both ends included. A muted member gets no
reminders about activities taking place on a muted day and no weekly summary due on a muted day.
Notices that are not reminders (an activity moved or cancelled, a leave decision) still go.

Weekly digests (`"MON 08:30"`): on that weekday and time; when the day is a public holiday (a
Monday–Friday that is not a working day), on the first working day after it in the same ISO
week; when there is none, that week has no digest and the next one covers both.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from bot.core.config import Config

ReminderKind = Literal["day_before", "soon"]
REMINDER_KINDS: tuple[ReminderKind, ...] = ("day_before", "soon")

WEEKDAYS: tuple[str, ...] = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
MAX_MUTE_DAYS = 60
# How far back the digest schedule looks for the latest moment that fell due.
LOOKBACK_DAYS = 400

IsWorkday = Callable[[dt.date], bool]


@dataclass(frozen=True, slots=True)
class Rules:
    """`[reminders]` as the rules need it."""

    day_before_at: dt.time = dt.time(19, 0)
    minutes_before: int = 60
    quiet_start: dt.time = dt.time(22, 0)
    quiet_end: dt.time = dt.time(7, 0)


# -- quiet hours -----------------------------------------------------------------------------


def is_quiet(moment: dt.time, rules: Rules) -> bool:
    """Whether a local time of day is in the quiet hours (which may wrap past midnight)."""
    start, end = rules.quiet_start, rules.quiet_end
    t = moment.replace(tzinfo=None)
    if start == end:
        return False
    if start < end:
        return start <= t < end
    return t >= start or t < end


def hold(now: dt.datetime, rules: Rules) -> dt.datetime:
    """When a non-urgent message due at `now` may be delivered: now, or the end of the quiet
    hours `now` is in. `now` is local and tz-aware."""
    if not is_quiet(now.timetz(), rules):
        return now
    end = dt.datetime.combine(now.date(), rules.quiet_end, tzinfo=now.tzinfo)
    if end <= now:
        end = dt.datetime.combine(
            now.date() + dt.timedelta(days=1), rules.quiet_end, tzinfo=now.tzinfo
        )
    return end


# -- activity reminders ----------------------------------------------------------------------


def moment(kind: ReminderKind, start: dt.datetime, rules: Rules) -> dt.datetime | None:
    """When reminder `kind` for an activity starting at `start` (local) falls due, or None
    when that reminder is switched off."""
    if kind == "soon":
        if rules.minutes_before <= 0:
            return None
        return start - dt.timedelta(minutes=rules.minutes_before)
    day = start.date() - dt.timedelta(days=1)
    return dt.datetime.combine(day, rules.day_before_at, tzinfo=start.tzinfo)


Verdict = Literal["send", "wait", "drop", "skip"]


def verdict(
    kind: ReminderKind,
    now: dt.datetime,
    start: dt.datetime,
    end: dt.datetime,
    changed_at: dt.datetime,
    rules: Rules,
) -> Verdict:
    """What to do about reminder `kind` of one activity at `now` (all local, tz-aware):

    - "wait": not due yet (or non-urgent in quiet hours: ask again later);
    - "send": send it now;
    - "drop": it will never be sent (the activity is over, superseded, or announced by a
      change notice after the moment);
    - "skip": switched off.
    """
    at = moment(kind, start, rules)
    if at is None:
        return "skip"
    if now < at:
        return "wait"
    if now >= end or at < changed_at:
        return "drop"
    if kind == "soon":
        return "send"
    superseded = moment("soon", start, rules) or start
    if now >= superseded:
        return "drop"
    if is_quiet(now.timetz(), rules):
        return "drop" if hold(now, rules) >= superseded else "wait"
    return "send"


def lookahead(rules: Rules) -> dt.timedelta:
    """How far ahead of now an activity's start can be while a reminder of it is due."""
    before_day = dt.timedelta(days=2)  # the day before, from 00:00 of that day at the earliest
    return max(before_day, dt.timedelta(minutes=rules.minutes_before)) + dt.timedelta(hours=1)


# -- mutes -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class DayRange:
    """Whole local days, both ends included."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a range ends before it starts")

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def is_muted(day: dt.date, ranges: Iterable[DayRange]) -> bool:
    return any(r.contains(day) for r in ranges)


def merge(ranges: Iterable[DayRange]) -> list[DayRange]:
    """Overlapping and adjacent ranges joined, in order."""
    out: list[DayRange] = []
    for r in sorted(ranges):
        if out and r.start <= out[-1].end + dt.timedelta(days=1):
            if r.end > out[-1].end:
                out[-1] = DayRange(out[-1].start, r.end)
            continue
        out.append(r)
    return out


def unmute(ranges: Iterable[DayRange], today: dt.date) -> list[DayRange]:
    """What is left after /unmute on `today`: past days stay (they are history), today and
    later are freed."""
    out: list[DayRange] = []
    for r in ranges:
        if r.end < today:
            out.append(r)
        elif r.start < today:
            out.append(DayRange(r.start, today - dt.timedelta(days=1)))
    return out


def active_or_future(ranges: Iterable[DayRange], today: dt.date) -> list[DayRange]:
    return [r for r in ranges if r.end >= today]


MuteProblem = Literal["format", "order", "past", "too_long"]

_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
# Between two dates people also write "~", "至", "到", a dash or "..".
_SEPARATORS = re.compile(r"~|～|至|到|—|–|\.\.|(?<=\d)\s*-\s+|\s+-\s*(?=\d)")


def _date(text: str) -> dt.date | None:
    if not _DATE.match(text):
        return None
    y, m, d = (int(x) for x in text.split("-"))
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def parse_mute(args: Sequence[str], today: dt.date) -> DayRange | MuteProblem:
    """`/mute` arguments: "2026-03-10 2026-03-15" (a range), "2026-03-10" (one day) or "3"
    (that many days from today). Ranges start today or later and last at most MAX_MUTE_DAYS."""
    words = _SEPARATORS.sub(" ", " ".join(args)).split()
    if len(words) == 1 and words[0].isdecimal():
        days = int(words[0])
        if days < 1:
            return "format"
        if days > MAX_MUTE_DAYS:
            return "too_long"
        return DayRange(today, today + dt.timedelta(days=days - 1))
    if len(words) not in (1, 2):
        return "format"
    dates = [_date(w) for w in words]
    if any(d is None for d in dates):
        return "format"
    start = dates[0]
    end = dates[-1]
    assert start is not None and end is not None
    if end < start:
        return "order"
    if start < today:
        return "past"
    if (end - start).days + 1 > MAX_MUTE_DAYS:
        return "too_long"
    return DayRange(start, end)


# -- digest schedule -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Weekly:
    weekday: int  # Monday = 0
    at: dt.time


_WEEKLY = re.compile(r"^\s*([A-Za-z]{3})\s+(\d{1,2}):(\d{2})\s*$")


def parse_weekly(text: str) -> Weekly | None:
    """"MON 08:30" -> Weekly(0, 08:30); "" -> None (off); anything else raises ValueError."""
    if not text.strip():
        return None
    m = _WEEKLY.match(text)
    if not m or m.group(1).upper() not in WEEKDAYS:
        raise ValueError(f"not a weekday and time: {text!r}")
    hour, minute = int(m.group(2)), int(m.group(3))
    if hour > 23 or minute > 59:
        raise ValueError(f"not a time of day: {text!r}")
    return Weekly(WEEKDAYS.index(m.group(1).upper()), dt.time(hour, minute))


def check_config(cfg: Config) -> list[str]:
    """Problems with `[reminders]` and `[digest]`, as "[section] key: reason"."""
    from bot.core.config import problem

    lang = cfg.program.language
    problems: list[str] = []
    if not 0 <= cfg.reminders.minutes_before <= 24 * 60:
        problems.append(problem(lang, "[reminders] minutes_before", "between_off", high=1440))
    if not 1 <= cfg.digest.max_names <= 1000:
        problems.append(problem(lang, "[digest] max_names", "between", low=1, high=1000))
    for name in ("leader_weekly", "trainee_weekly"):
        value = getattr(cfg.digest, name)
        try:
            parse_weekly(value)
        except ValueError:
            problems.append(problem(lang, f"[digest] {name}", "weekly", value=repr(value)))
    return problems


@dataclass(frozen=True, slots=True)
class Slot:
    """One scheduled digest: its period label and the moment it falls due (local)."""

    period: str
    at: dt.datetime


def _at(day: dt.date, time: dt.time, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, time.replace(tzinfo=None), tzinfo=tz)


def daily_slot(day: dt.date, at: dt.time, tz: dt.tzinfo) -> Slot:
    return Slot(day.isoformat(), _at(day, at, tz))


def latest_daily(now: dt.datetime, at: dt.time, is_workday: IsWorkday) -> Slot | None:
    """The latest working-day digest moment at or before `now` (local)."""
    day = now.date()
    for _ in range(LOOKBACK_DAYS):
        if is_workday(day):
            slot = daily_slot(day, at, now.tzinfo or dt.UTC)
            if slot.at <= now:
                return slot
        day -= dt.timedelta(days=1)
    return None


def previous_daily(slot: Slot, at: dt.time, is_workday: IsWorkday) -> Slot | None:
    """The working-day digest moment before `slot`."""
    tz = slot.at.tzinfo or dt.UTC
    day = slot.at.date() - dt.timedelta(days=1)
    for _ in range(LOOKBACK_DAYS):
        if is_workday(day):
            return daily_slot(day, at, tz)
        day -= dt.timedelta(days=1)
    return None


def week_label(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def weekly_slot(week_monday: dt.date, weekly: Weekly, tz: dt.tzinfo,
                is_workday: IsWorkday) -> Slot | None:
    """The week's digest moment, or None when the week has none (see the module docstring)."""
    nominal = week_monday + dt.timedelta(days=weekly.weekday)
    label = week_label(nominal)
    if nominal.weekday() >= 5 or is_workday(nominal):
        return Slot(label, _at(nominal, weekly.at, tz))
    day = nominal + dt.timedelta(days=1)
    while day.weekday() > 0 and day.isocalendar()[:2] == nominal.isocalendar()[:2]:
        if is_workday(day):
            return Slot(label, _at(day, weekly.at, tz))
        day += dt.timedelta(days=1)
    return None


def latest_weekly(now: dt.datetime, weekly: Weekly, is_workday: IsWorkday) -> Slot | None:
    """The latest weekly digest moment at or before `now` (local)."""
    tz = now.tzinfo or dt.UTC
    monday = now.date() - dt.timedelta(days=now.weekday())
    for _ in range(LOOKBACK_DAYS // 7):
        slot = weekly_slot(monday, weekly, tz, is_workday)
        if slot is not None and slot.at <= now:
            return slot
        monday -= dt.timedelta(days=7)
    return None


def dedupe_key(kind: str, subject: object, period: str, recipient: object,
               part: str | None = None) -> str:
    """The outbox key of one message: kind:subject:period:recipient[:part]."""
    key = f"{kind}:{subject}:{period}:{recipient}"
    return f"{key}:{part}" if part else key
