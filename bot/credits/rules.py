"""Credit rules: points per source, the programme year, the line, who is at risk.

Pure functions only (no Telegram, no SQL), so every rule is a table-driven unit test.

- Points per source come from `[credits]` (see config.example.toml). An education monograph
  earns `monograph` points *instead of* `book` (it is a book; `monograph` is its whole worth).
- The programme year starts on `[program] year_starts` (MM-DD, default 01-01), the whole
  product's year, and is labelled by the calendar year it starts in (the old key
  `[credits] year_starts` is read when it says the same day).
- The line (exit rule 1): `ratio` × the average of the top `top_n` yearly totals.
    * fewer than `top_n` members: the average of all of them;
    * ties at the `top_n`-th place: the average is of the `top_n` highest *values*, so which of
      the tied members is "in" changes nothing;
    * everyone at zero: the line is 0 and nobody is below it (below means strictly below);
    * a negative average (absences cost points): `ratio` × average would lie *above* the
      average, so the line is defined as lying (1 − ratio) × |average| below the average:
      line = average − (1 − ratio) × |average|. For a positive average that is exactly
      ratio × average; it is continuous at zero and never above the average.
- At risk: strictly below the current line. "Needed" is the fewest points that bring a member
  to the line *counting the line's own move*: a member among the top `top_n` (in a small
  group) raises the average by gaining.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from bot.reading.rules import ProgrammeYear, parse_year_starts, programme_year, year_by_label

if TYPE_CHECKING:
    from bot.core.config import Config, CreditsConfig, ExitConfig

__all__ = [
    "ATTENDANCE_STATUSES",
    "EPS",
    "ProgrammeYear",
    "Standing",
    "average_top",
    "check_config",
    "credit_year",
    "decided_on",
    "judged_by_rule_one",
    "last_quarter_starts",
    "line",
    "line_from_average",
    "median",
    "needed",
    "points_for_attendance",
    "points_for_reading",
    "semester_year",
    "standings",
    "validate_config",
    "year_by_label",
    "year_phase",
]

EPS = 1e-9
ATTENDANCE_STATUSES: tuple[str, ...] = ("present", "late", "early_leave", "absent", "excused")
READING_KINDS: tuple[str, ...] = ("book", "paper", "reflection", "management_analysis")


# -- points per source ------------------------------------------------------------------------


def points_for_attendance(cfg: CreditsConfig, status: str) -> float:
    """Points of one roll-call record; an unknown status is worth nothing."""
    if status not in ATTENDANCE_STATUSES:
        return 0.0
    return float(getattr(cfg, status))


def points_for_reading(cfg: CreditsConfig, kind: str, monograph: bool) -> tuple[str, float]:
    """(rule, points) of one counted study output; a monograph earns `monograph` instead of
    `book`."""
    if kind == "book":
        return ("reading.monograph", cfg.monograph) if monograph else ("reading.book", cfg.book)
    if kind in READING_KINDS:
        return f"reading.{kind}", float(getattr(cfg, kind))
    return f"reading.{kind}", 0.0


# -- the programme year ---------------------------------------------------------------------------


def credit_year(day: dt.date, year_starts: str) -> ProgrammeYear:
    """The programme year `day` falls in under `year_starts` (`[program] year_starts`)."""
    return programme_year(day, parse_year_starts(year_starts))


YearPhase = Literal["running", "review", "decided"]


def decided_on(year: ProgrammeYear, decide_after_days: int) -> dt.date:
    """The day a programme year is decided: `[exit] decide_after_days` after it ended, so late
    reports, roll-call corrections and the autumn exam can still land in it."""
    return year.end + dt.timedelta(days=decide_after_days)


def year_phase(year: ProgrammeYear, today: dt.date, decide_after_days: int) -> YearPhase:
    """"running" until the year ends; then "review" (rule 1 proposed and re-evaluated whenever
    the evidence changes); "decided" from `decided_on` (its totals frozen)."""
    if today < year.end:
        return "running"
    return "review" if today < decided_on(year, decide_after_days) else "decided"


# -- semesters ------------------------------------------------------------------------------------

SEMESTER = re.compile(r"^(\d{4})[Ss]([12])$")
# A day inside each semester: S1 is the spring semester (February–July of its year), S2 the
# autumn one (September of its year to January of the next).
SEMESTER_DAY: dict[str, tuple[int, int]] = {"1": (3, 1), "2": (10, 1)}


def semester_year(label: str, year_starts: str) -> int | None:
    """The programme year an exam semester belongs to (its credits are booked there): the year
    its semester falls in — `2026S1` and `2026S2` are in 2026 with the calendar year; with
    `year_starts = "09-01"` `2026S1` is in 2025 (the school year 2025/26) and `2026S2` in 2026.
    None for a label that is not `YYYYS1` / `YYYYS2`."""
    m = SEMESTER.match(label.strip())
    if not m:
        return None
    month, day = SEMESTER_DAY[m.group(2)]
    return credit_year(dt.date(int(m.group(1)), month, day), year_starts).label


# -- joiners --------------------------------------------------------------------------------------


def last_quarter_starts(year: ProgrammeYear) -> dt.date:
    """The first day of the year's last quarter: nine months after it starts (1 October for a
    calendar year; the month's last day when the start's day does not exist there)."""
    months = year.start.month - 1 + 9
    y, m = year.start.year + months // 12, months % 12 + 1
    return dt.date(y, m, min(year.start.day, calendar.monthrange(y, m)[1]))


def judged_by_rule_one(joined: dt.date | None, year: ProgrammeYear) -> bool:
    """Whether rule 1 judges a member for `year`: not when they joined (were added to the
    roster) in its last quarter — too little of the year was left to earn a year's credits.
    They still count in the top-`top_n` average (their totals are real)."""
    return joined is None or joined < last_quarter_starts(year)


# -- the line -------------------------------------------------------------------------------------


def average_top(totals: Iterable[float], top_n: int) -> float:
    """The average of the `top_n` highest totals (all of them when fewer); 0 for nobody."""
    best = sorted(totals, reverse=True)[:top_n]
    return sum(best) / len(best) if best else 0.0


def line_from_average(average: float, ratio: float) -> float:
    """ratio × average for a positive average; (1 − ratio) × |average| below it otherwise."""
    return average - (1.0 - ratio) * abs(average)


def line(totals: Iterable[float], top_n: int, ratio: float) -> float:
    """The exit line for these yearly totals."""
    return line_from_average(average_top(totals, top_n), ratio)


def median(values: Sequence[float]) -> float:
    """The median (the mean of the middle two for an even count); 0 for no values."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return 0.0
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _line_with(others_top: Sequence[float], y: float, top_n: int, ratio: float) -> float:
    """The line when one member's total becomes `y`, the others' best totals given (sorted
    descending, at least `top_n` of them when there are that many)."""
    merged = sorted([*others_top, y], reverse=True)[:top_n]
    return line_from_average(sum(merged) / len(merged), ratio)


def needed(total: float, others: Sequence[float], top_n: int, ratio: float) -> float:
    """The fewest points that bring `total` to the line (0 when not below it).

    `others` are everyone else's totals. The line moves when the member's own total is among
    the best `top_n`; the answer accounts for that (solved by bisection: the member's distance
    to the line grows with every point gained when there are at least two members).
    """
    best_others = sorted(others, reverse=True)[:top_n]

    def short(y: float) -> float:
        return _line_with(best_others, y, top_n, ratio) - y

    if short(total) <= EPS:
        return 0.0
    if not best_others:
        return 0.0  # alone: never below one's own line
    if len(best_others) >= top_n:
        fixed = line(best_others, top_n, ratio)
        if fixed <= best_others[-1] + EPS:
            # Reaching the line does not take the member into the top: the line stays put.
            return _up(fixed - total)
    # At the top of everyone the member is never below the line.
    hi = max(total, best_others[0], abs(total) + 1.0)
    while short(hi) > EPS:  # pragma: no cover - guards a degenerate ratio
        hi = hi * 2 + 1
    lo = total
    for _ in range(200):
        mid = (lo + hi) / 2
        if short(mid) > EPS:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-9:
            break
    return _up(hi - total)


def _up(points: float) -> float:
    """Shown with two decimals: rounded up, so the amount shown is always enough."""
    return math.ceil(points * 100 - 1e-6) / 100


@dataclass(frozen=True, slots=True)
class Standing:
    """One member's place against the line."""

    member_pk: int
    total: float
    rank: int  # 1 = best; ties share a rank
    below: bool
    needed: float


def standings(
    totals: Mapping[int, float], top_n: int, ratio: float
) -> tuple[float, list[Standing]]:
    """The line and every member's standing, best first (ties by member pk)."""
    current = line(totals.values(), top_n, ratio)
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    values = [v for _, v in ordered]
    result: list[Standing] = []
    rank = 0
    previous: float | None = None
    # The best top_n + 1 totals are all that "everyone else's best" can ever need.
    head = values[: top_n + 1]
    for i, (pk, total) in enumerate(ordered, start=1):
        if previous is None or abs(total - previous) > EPS:
            rank = i
        previous = total
        below = total < current - EPS
        need = 0.0
        if below:
            others = list(head)
            if i <= len(head):
                others.pop(i - 1)
            need = needed(total, others, top_n, ratio)
        result.append(Standing(pk, total, rank, below, need))
    return current, result


# -- config checks --------------------------------------------------------------------------------


def parse_fraction(value: float | str) -> Fraction:
    """A fraction from "1/3", "0.25" or a float (0.3333333333333333 is taken as 1/3)."""
    if isinstance(value, str):
        return Fraction(value.strip())
    return Fraction(value).limit_denominator(10_000)


def validate_config(
    credits: CreditsConfig, exit_: ExitConfig, lang: str = "en"
) -> list[str]:
    """Problems with `[credits]` and `[exit]`, as "[section] key: reason" in `lang` (the
    catalog's `config.*` reasons; `year_starts`: the old key's form; that it agrees with
    `[program]` is the loader's check)."""
    from bot.core.config import problem

    problems: list[str] = []
    try:
        parse_year_starts(credits.year_starts)
    except ValueError:
        problems.append(problem(lang, "[credits] year_starts", "year_starts",
                                value=repr(credits.year_starts)))
    if not 0 <= exit_.decide_after_days <= 180:
        problems.append(problem(lang, "[exit] decide_after_days", "between", low=0, high=180))
    if exit_.top_n < 1:
        problems.append(problem(lang, "[exit] top_n", "at_least", min=1))
    if not 0 < exit_.ratio <= 1:
        problems.append(problem(lang, "[exit] ratio", "ratio"))
    if exit_.max_failed_exams < 1:
        problems.append(problem(lang, "[exit] max_failed_exams", "at_least", min=1))
    if exit_.exam_pass_mark < 0:
        problems.append(problem(lang, "[exit] exam_pass_mark", "not_negative"))
    if not 0 <= exit_.min_satisfaction <= 1:
        problems.append(problem(lang, "[exit] min_satisfaction", "satisfaction"))
    try:
        fraction = parse_fraction(exit_.supervision_fraction)
        if not 0 < fraction < 1:
            raise ValueError
    except (ValueError, ZeroDivisionError):
        problems.append(problem(lang, "[exit] supervision_fraction", "fraction",
                                value=repr(exit_.supervision_fraction)))
    if exit_.supervision_consecutive < 1:
        problems.append(problem(lang, "[exit] supervision_consecutive", "at_least", min=1))
    return problems


def check_config(cfg: Config) -> list[str]:
    """The config check the composition hands the loader: `[credits]` and `[exit]`, in the
    programme's language."""
    return validate_config(cfg.credits, cfg.exit, cfg.program.language)
