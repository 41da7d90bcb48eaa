"""Credit rules as plain functions: points per source, the programme year, the line (fewer than
five members, ties at fifth place, everyone at zero, negative totals), at risk and needed."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.config import CreditsConfig, ExitConfig
from bot.credits import rules


@pytest.mark.parametrize(
    ("totals", "expected"),
    [
        # Five or more: the top five's average (30+25+20+15+10)/5 = 20, x 0.6.
        ([30, 25, 20, 15, 10, 5, 0], 12.0),
        # Fewer than five members: the average of all of them.
        ([10, 20], 9.0),
        ([8], 4.8),
        ([], 0.0),
        # Ties at fifth place: the average of the five highest values, whoever is "in".
        ([30, 20, 20, 10, 10, 10, 10], 0.6 * (30 + 20 + 20 + 10 + 10) / 5),
        ([10, 10, 10, 10, 10, 10], 6.0),
        # Everyone at zero: the line is zero.
        ([0, 0, 0, 0, 0, 0], 0.0),
        # Negative totals among positive ones: the top five average counts them.
        ([20, 10, 5, -5, -10, -30], 0.6 * (20 + 10 + 5 - 5 - 10) / 5),
        # A negative average: the line lies 40% of |average| BELOW it, never above.
        ([-10, -10, -10], -14.0),
        ([-5, 5], 0.0),
    ],
)
def test_line(totals: list[float], expected: float) -> None:
    assert rules.line(totals, 5, 0.6) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("totals", "below"),
    [
        ([30, 25, 20, 15, 10, 5, 0], {5, 6, 7}),  # line 12: 10, 5 and 0 are below
        ([0, 0, 0, 0, 0, 0], set()),  # everyone at zero: nobody strictly below
        ([10, 10, 10, 10, 10, 10], set()),  # ties: the line is 6
        ([-10, -10, -10], set()),  # all equally bad: nobody is far behind the best
        ([-10, -10, -40], {3}),  # line -28
        ([12, 0], {2}),  # fewer than five: line 0.6 x 6 = 3.6
    ],
)
def test_who_is_below(totals: list[float], below: set[int]) -> None:
    line, standings = rules.standings(dict(enumerate(totals, start=1)), 5, 0.6)
    assert {s.member_pk for s in standings if s.below} == below
    assert all(totals[pk - 1] < line for pk in below)


def test_exactly_on_the_line_is_not_below() -> None:
    # Top five average 10, line 6: a member at exactly 6 is not below.
    line, standings = rules.standings({1: 10, 2: 10, 3: 10, 4: 10, 5: 10, 6: 6}, 5, 0.6)
    assert line == pytest.approx(6)
    assert not any(s.below for s in standings)


def test_ranks_share_ties_and_order_is_best_first() -> None:
    _, standings = rules.standings({1: 5, 2: 9, 3: 9, 4: 1}, 5, 0.6)
    assert [(s.member_pk, s.rank) for s in standings] == [(2, 1), (3, 1), (1, 3), (4, 4)]


@pytest.mark.parametrize(
    ("total", "others", "need"),
    [
        (0, [30, 25, 20, 15, 14, 8], 12.48),  # the line (12.48) stays put: under 5th's 14
        (5, [30, 25, 20, 15, 14], 7.48),
        # At 12 the member would push 10 out of the top five: 0.6 (90 + y) / 5 = y.
        (0, [30, 25, 20, 15, 10], 12.28),
        (0, [10, 8, 6, 4, 2], 3.82),  # the member enters the top five: the line rises too
        (0, [10], 4.29),  # two members: 0.6 x (10 + y) / 2 = y -> y = 4.2857
        (-30, [-10, -10], 12.5),  # negative line: -1.4 x (-20 + y) / 3 = y -> y = -17.5
        (12, [12, 12, 12, 12, 12], 0.0),  # not below
        (3, [], 0.0),  # alone
    ],
)
def test_needed(total: float, others: list[float], need: float) -> None:
    assert rules.needed(total, others, 5, 0.6) == pytest.approx(need)


@given(
    st.lists(st.integers(min_value=-50, max_value=200), min_size=2, max_size=12),
    st.integers(min_value=1, max_value=6),
    st.sampled_from([0.3, 0.5, 0.6, 0.8, 1.0]),
)
def test_needed_is_enough_and_minimal(totals: list[int], top_n: int, ratio: float) -> None:
    me, others = float(totals[0]), [float(x) for x in totals[1:]]
    need = rules.needed(me, others, top_n, ratio)
    assert need >= 0
    after = rules.line([me + need, *others], top_n, ratio)
    assert me + need >= after - 1e-6  # enough
    if need > 0.01:
        short = me + need - 0.011
        assert short < rules.line([short, *others], top_n, ratio)  # and not much more


@given(st.lists(st.floats(min_value=-1e4, max_value=1e4), max_size=20))
def test_line_never_above_the_average(totals: list[float]) -> None:
    avg = rules.average_top(totals, 5)
    assert rules.line(totals, 5, 0.6) <= avg + 1e-9


@pytest.mark.parametrize(
    ("status", "points"),
    [("present", 2), ("late", 1), ("early_leave", 1), ("absent", -2), ("excused", 0),
     ("unknown", 0)],
)
def test_attendance_points(status: str, points: float) -> None:
    assert rules.points_for_attendance(CreditsConfig(), status) == points


@pytest.mark.parametrize(
    ("kind", "monograph", "rule", "points"),
    [
        ("book", False, "reading.book", 2),
        # A monograph earns `monograph` INSTEAD of `book`.
        ("book", True, "reading.monograph", 3),
        ("paper", False, "reading.paper", 3),
        ("reflection", False, "reading.reflection", 1),
        ("management_analysis", False, "reading.management_analysis", 5),
    ],
)
def test_reading_points(kind: str, monograph: bool, rule: str, points: float) -> None:
    assert rules.points_for_reading(CreditsConfig(), kind, monograph) == (rule, points)


@pytest.mark.parametrize(
    ("day", "starts", "label", "start"),
    [
        (dt.date(2026, 3, 2), "01-01", 2026, dt.date(2026, 1, 1)),
        (dt.date(2026, 1, 1), "01-01", 2026, dt.date(2026, 1, 1)),
        (dt.date(2025, 12, 31), "01-01", 2025, dt.date(2025, 1, 1)),
        (dt.date(2026, 8, 31), "09-01", 2025, dt.date(2025, 9, 1)),
        (dt.date(2026, 9, 1), "09-01", 2026, dt.date(2026, 9, 1)),
    ],
)
def test_programme_year(day: dt.date, starts: str, label: int, start: dt.date) -> None:
    year = rules.credit_year(day, starts)
    assert (year.label, year.start) == (label, start)


def test_median() -> None:
    assert rules.median([]) == 0
    assert rules.median([3, 1, 2]) == 2
    assert rules.median([4, 1, 2, 3]) == 2.5


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"top_n": 0}, "[exit] top_n"),
        ({"ratio": 0.0}, "[exit] ratio"),
        ({"ratio": 1.5}, "[exit] ratio"),
        ({"max_failed_exams": 0}, "[exit] max_failed_exams"),
        ({"min_satisfaction": 80.0}, "[exit] min_satisfaction"),
        ({"supervision_fraction": "1/0"}, "[exit] supervision_fraction"),
        ({"supervision_fraction": "one third"}, "[exit] supervision_fraction"),
        ({"supervision_fraction": 1.0}, "[exit] supervision_fraction"),
        ({"supervision_consecutive": 0}, "[exit] supervision_consecutive"),
    ],
)
def test_config_checks(changes: dict[str, object], problem: str) -> None:
    exit_cfg = dataclasses.replace(ExitConfig(), **changes)  # type: ignore[arg-type]
    problems = rules.validate_config(CreditsConfig(), exit_cfg)
    assert any(p.startswith(problem) for p in problems), problems


def test_default_config_is_valid_and_year_start_is_checked() -> None:
    assert rules.validate_config(CreditsConfig(), ExitConfig()) == []
    bad = dataclasses.replace(CreditsConfig(), year_starts="02-29")
    assert rules.validate_config(bad, ExitConfig())[0].startswith("[credits] year_starts")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1/3", (1, 3)), ("0.25", (1, 4)), (0.3333333333333333, (1, 3)), (0.5, (1, 2))],
)
def test_parse_fraction(value: float | str, expected: tuple[int, int]) -> None:
    f = rules.parse_fraction(value)
    assert (f.numerator, f.denominator) == expected


@pytest.mark.parametrize(
    ("value", "ok"), [("1/3", True), (0.25, True), (1, False), ("a third", False)]
)
def test_config_file_supervision_fraction(value: object, ok: bool) -> None:
    from bot.core.config import ConfigError
    from bot.features import parse_config  # core's loader with the features' checks

    data = {"exit": {"supervision_fraction": value}}
    if ok:
        assert parse_config(data, env={}).exit.supervision_fraction == value
    else:
        with pytest.raises(ConfigError) as info:
            parse_config(data, env={})
        assert any("[exit] supervision_fraction" in p for p in info.value.problems)
