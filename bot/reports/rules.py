"""Activity-report rules: the deadline, the deadline in words, headcounts, reminders, states.

Pure functions (no Telegram, no SQL), so every rule is a row in a unit-test table.

- The deadline is `[reports] due_time` on the first working day after the activity's local date
  (the date it ends on, which is its date for every activity that does not run past midnight).
  Working days come from bot.core.workdays.WorkCalendar built from `[calendar]`: the `holidays`
  package with China's make-up working days, the config's overrides, and Monday–Friday for a
  year the library does not know (logged once).
- Reminders while the report is missing, in time order: at the end of the activity ("ended":
  what is due and when), at `morning_time` on the due day ("morning"), `remind_before_minutes`
  before the deadline ("before"), and when the deadline passes ("overdue", which also goes to
  the leader). After downtime only the latest stage that has come is sent: nobody is told
  "due this evening" after the deadline has passed.
- The roll call's headcount is everyone who came (present, late, early leave); when the host
  states a different number the report says so.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from bot.core.config import CalendarConfig, ReportsConfig
from bot.core.i18n import t
from bot.core.workdays import WorkCalendar
from bot.documents.filenames import suffix_of

MAX_PHOTOS = 10
MIN_PHOTOS = 1
TEXT_MAX = 3000
TITLE_MAX = 100
MAX_HEADCOUNT = 999
DOCUMENT_SUFFIXES: frozenset[str] = frozenset({
    ".doc", ".docx", ".pdf", ".txt", ".wps", ".ppt", ".pptx", ".xls", ".xlsx", ".jpg",
    ".jpeg", ".png", ".zip",
})

# Who came, as the roll call has it.
CAME: tuple[str, ...] = ("present", "late", "early_leave")
# Whose names the report lists.
NAMED: tuple[str, ...] = ("absent", "late", "early_leave", "excused")

Stage = Literal["ended", "morning", "before", "overdue"]
STAGES: tuple[Stage, ...] = ("ended", "morning", "before", "overdue")

State = Literal["awaiting", "on_time", "late", "overdue"]
STATES: tuple[State, ...] = ("on_time", "late", "overdue", "awaiting")


@dataclass(frozen=True, slots=True)
class Rules:
    """`[reports]` as the rules need it."""

    due_time: dt.time = dt.time(18, 0)
    morning_time: dt.time = dt.time(9, 0)
    remind_before: dt.timedelta = dt.timedelta(minutes=120)

    @classmethod
    def of(cls, cfg: ReportsConfig) -> Rules:
        return cls(cfg.due_time, cfg.morning_time,
                   dt.timedelta(minutes=max(0, cfg.remind_before_minutes)))


@functools.cache
def calendar_of(cfg: CalendarConfig) -> WorkCalendar:
    """One calendar per `[calendar]` section, so an uncovered year is logged once, not per tick."""
    return WorkCalendar(cfg.country, cfg.extra_holidays, cfg.extra_workdays)


# -- the deadline ---------------------------------------------------------------------------


def due_date(activity_day: dt.date, calendar: WorkCalendar) -> dt.date:
    """The day the report is due: the first working day after the activity's date."""
    return calendar.next_workday_after(activity_day)


def due_at(end: dt.datetime, calendar: WorkCalendar, rules: Rules, tz: dt.tzinfo) -> dt.datetime:
    """The deadline of the report of an activity ending at `end` (tz-aware, local to `tz`)."""
    if end.tzinfo is None:
        raise ValueError("naive datetime")
    day = due_date(end.astimezone(tz).date(), calendar)
    return dt.datetime.combine(day, rules.due_time, tzinfo=tz)


def deadline_words(lang: str, when: dt.datetime) -> str:
    """The deadline as people say it: "Monday 8 December, 18:00" / "12月8日（星期一）18:00"."""
    return t(
        lang, "reports.deadline", weekday=t(lang, f"reports.weekday.{when.weekday()}"),
        day=when.day, month=t(lang, f"reports.month.{when.month}"),
        time=when.strftime("%H:%M"),
    )


def is_late(submitted: dt.datetime, due: dt.datetime) -> bool:
    """A report filed after the deadline (at the deadline's minute still counts as on time)."""
    return submitted > due


def can_amend(now: dt.datetime, due: dt.datetime) -> bool:
    """A submitted report may be amended until its deadline."""
    return now <= due


def state_of(submitted: dt.datetime | None, late: bool, due: dt.datetime, now: dt.datetime
             ) -> State:
    """Where a report stands: filed on time or late, missing after the deadline, or awaited."""
    if submitted is not None:
        return "late" if late else "on_time"
    return "overdue" if now > due else "awaiting"


# -- headcount ------------------------------------------------------------------------------


def roll_headcount(counts: Mapping[str, int]) -> int:
    """How many came, as the roll call has it (present, late and early leaving)."""
    return sum(counts.get(s, 0) for s in CAME)


def headcount_difference(stated: int | None, counts: Mapping[str, int]) -> int | None:
    """The host's number minus the roll call's, or None when they agree (or none was stated)."""
    if stated is None:
        return None
    diff = stated - roll_headcount(counts)
    return diff or None


def parse_headcount(text: str) -> int | None:
    """A number of people as typed ("12", "１２", "12人"); None when it is not one."""
    folded = "".join(chr(ord(c) - 0xFEE0) if "０" <= c <= "９" else c for c in text.strip())
    for suffix in ("人", "people", "persons", "person"):
        if folded.lower().endswith(suffix):
            folded = folded[: -len(suffix)].strip()
    if not folded.isdigit() or not folded.isascii():
        return None
    value = int(folded)
    return value if 0 <= value <= MAX_HEADCOUNT else None


# -- reminders ------------------------------------------------------------------------------


def reminder_times(
    end: dt.datetime, due: dt.datetime, rules: Rules
) -> list[tuple[Stage, dt.datetime]]:
    """The reminders of one report in time order; a reminder that would fall before the
    activity ended or after the deadline is left out, and so is the morning one when the
    "before" reminder comes no later than it."""
    stages: list[tuple[Stage, dt.datetime]] = [("ended", end)]
    morning = dt.datetime.combine(due.date(), rules.morning_time, tzinfo=due.tzinfo)
    before = due - rules.remind_before if rules.remind_before > dt.timedelta(0) else None
    if end < morning < due and (before is None or before > morning):
        stages.append(("morning", morning))
    if before is not None and end < before < due:
        stages.append(("before", before))
    stages.append(("overdue", due))
    return sorted(stages, key=lambda s: s[1])


def reminder_due(end: dt.datetime, due: dt.datetime, now: dt.datetime, rules: Rules
                 ) -> Stage | None:
    """The latest reminder whose moment has come (None before the activity has ended)."""
    latest: Stage | None = None
    for stage, when in reminder_times(end, due, rules):
        # Filing at the deadline's very moment is still on time: overdue only after it.
        if when < now or (when == now and stage != "overdue"):
            latest = stage
    return latest


# -- the report's attendance ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attendance:
    """The roll call as the report shows it: counts per status and the names to list."""

    counts: dict[str, int]
    names: dict[str, list[str]]

    @property
    def headcount(self) -> int:
        return roll_headcount(self.counts)


STATUSES: tuple[str, ...] = ("present", "late", "early_leave", "absent", "excused")


def attendance_of(people: Iterable[tuple[str, str | None]]) -> Attendance:
    """From (name, status) of every participant: a participant without a record counts as
    absent (the roll call closes them as absent)."""
    counts = dict.fromkeys(STATUSES, 0)
    names: dict[str, list[str]] = {s: [] for s in NAMED}
    for name, status in people:
        s = status if status in counts else "absent"
        counts[s] += 1
        if s in names:
            names[s].append(name)
    return Attendance(counts, names)


def typed_problem(step: str, text: str) -> tuple[str, dict[str, int]] | None:
    """Why a typed answer to the filing dialog's `step` is refused (a catalog key and its
    parameters), or None."""
    limit = TITLE_MAX if step == "rec_title" else TEXT_MAX
    if step in ("studied", "highlights", "rec_body", "rec_title") and len(text) > limit:
        return "reports.ask.too_long", {"length": len(text), "limit": limit}
    if step == "headcount" and parse_headcount(text) is None:
        return "reports.ask.bad_headcount", {}
    return None


def document_suffix(file_name: str | None) -> str | None:
    """The lower-case suffix of an accepted document, or None."""
    return suffix_of(file_name, DOCUMENT_SUFFIXES)
