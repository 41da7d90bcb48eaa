"""Issue 16's pure rules: when a programme year is decided, which year an exam semester
belongs to, and who joined too late in the year to be judged by rule 1."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.credits import rules

D = dt.date


@pytest.mark.parametrize(
    ("starts", "label", "today", "after", "phase"),
    [
        ("01-01", 2026, D(2026, 12, 31), 15, "running"),
        ("01-01", 2026, D(2027, 1, 1), 15, "review"),
        ("01-01", 2026, D(2027, 1, 4), 15, "review"),
        ("01-01", 2026, D(2027, 1, 15), 15, "review"),
        ("01-01", 2026, D(2027, 1, 16), 15, "decided"),
        ("01-01", 2026, D(2027, 1, 1), 0, "decided"),
        ("09-01", 2026, D(2027, 8, 31), 15, "running"),
        ("09-01", 2026, D(2027, 9, 10), 15, "review"),
        ("09-01", 2026, D(2027, 9, 16), 15, "decided"),
    ],
)
def test_year_phase(starts: str, label: int, today: dt.date, after: int, phase: str) -> None:
    year = rules.year_by_label(label, rules.parse_year_starts(starts))
    assert rules.year_phase(year, today, after) == phase


def test_decided_on() -> None:
    year = rules.year_by_label(2026, (1, 1))
    assert rules.decided_on(year, 15) == D(2027, 1, 16)


@pytest.mark.parametrize(
    ("label", "starts", "year"),
    [
        ("2026S1", "01-01", 2026),
        ("2026S2", "01-01", 2026),  # the autumn exam, held and imported in January 2027
        ("2026s2", "01-01", 2026),
        (" 2025S2 ", "01-01", 2025),
        ("2026S1", "09-01", 2025),  # spring 2026 is in the school year 2025/26
        ("2026S2", "09-01", 2026),
        ("2026S1", "03-01", 2026),
        ("2026S3", "01-01", None),
        ("2026H1", "01-01", None),
        ("26S1", "01-01", None),
        ("", "01-01", None),
    ],
)
def test_semester_year(label: str, starts: str, year: int | None) -> None:
    assert rules.semester_year(label, starts) == year


@pytest.mark.parametrize(
    ("starts", "label", "first"),
    [
        ((1, 1), 2026, D(2026, 10, 1)),
        ((9, 1), 2026, D(2027, 6, 1)),
        ((3, 1), 2026, D(2026, 12, 1)),
        ((5, 31), 2026, D(2027, 2, 28)),  # no 31 February: the month's last day
    ],
)
def test_last_quarter_starts(starts: tuple[int, int], label: int, first: dt.date) -> None:
    assert rules.last_quarter_starts(rules.year_by_label(label, starts)) == first


@pytest.mark.parametrize(
    ("joined", "judged"),
    [
        (None, True),
        (D(2025, 11, 20), True),  # joined last year: a whole year in this one
        (D(2026, 1, 1), True),
        (D(2026, 9, 30), True),
        (D(2026, 10, 1), False),
        (D(2026, 11, 20), False),
        (D(2026, 12, 31), False),
    ],
)
def test_judged_by_rule_one(joined: dt.date | None, judged: bool) -> None:
    assert rules.judged_by_rule_one(joined, rules.year_by_label(2026, (1, 1))) is judged


@pytest.mark.parametrize(
    ("days", "ok"), [(0, True), (15, True), (180, True), (-1, False), (181, False)]
)
def test_decide_after_days_is_checked(days: int, ok: bool) -> None:
    import dataclasses

    from bot.core.config import CreditsConfig, ExitConfig

    problems = rules.validate_config(
        CreditsConfig(), dataclasses.replace(ExitConfig(), decide_after_days=days))
    assert (problems == []) is ok, problems
