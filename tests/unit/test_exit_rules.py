"""The four exit rules as plain functions: failed exams across semesters, satisfaction below
the standard, the supervision bottom fraction (consecutive vs. not), credits at year end."""

from __future__ import annotations

from fractions import Fraction

import pytest

from bot.credits.exit_rules import (
    ExamResult,
    SupervisionRank,
    credits_rule,
    exams_rule,
    in_bottom,
    satisfaction_rule,
    supervision_rule,
)

THIRD = Fraction(1, 3)


@pytest.mark.parametrize(
    ("results", "fires", "period"),
    [
        # Two failed semesters: fires, judged at the second failure.
        ([("2025S1", 52), ("2025S2", 48)], True, "2025S2"),
        # One failure, one pass.
        ([("2025S1", 52), ("2025S2", 75)], False, None),
        # Exactly the pass mark passes.
        ([("2025S1", 60), ("2025S2", 60)], False, None),
        # Failures in non-adjacent semesters still count (the plan says two, not two in a row).
        ([("2025S1", 40), ("2025S2", 90), ("2026S1", 59.5)], True, "2026S1"),
        # A third failure keeps the same period: no second proposal.
        ([("2025S1", 40), ("2025S2", 30), ("2026S1", 20)], True, "2025S2"),
        ([], False, None),
    ],
)
def test_two_failed_exams_across_semesters(
    results: list[tuple[str, float]], fires: bool, period: str | None
) -> None:
    found = exams_rule([ExamResult(7, s, score) for s, score in results], 60, 2)
    assert bool(found) == fires
    if fires:
        assert found[0].member_pk == 7 and found[0].rule == "exams"
        assert found[0].period == period
        assert [f["semester"] for f in found[0].evidence["failed"]] == sorted(
            s for s, score in results if score < 60
        )


def test_exams_rule_per_member() -> None:
    found = exams_rule(
        [ExamResult(1, "S1", 10), ExamResult(2, "S1", 10), ExamResult(2, "S2", 10)], 60, 2
    )
    assert [f.member_pk for f in found] == [2]


@pytest.mark.parametrize(
    ("share", "fires"), [(0.79, True), (0.8, False), (0.95, False), (0.0, True)]
)
def test_satisfaction(share: float, fires: bool) -> None:
    found = satisfaction_rule([(3, 2026, share)], 0.8)
    assert bool(found) == fires
    if fires:
        assert found[0].period == "2026"


@pytest.mark.parametrize(
    ("rank", "total", "bottom"),
    [
        # rank > total x (1 - 1/3)
        (6, 9, False), (7, 9, True), (9, 9, True),
        (6, 10, False), (7, 10, True),  # 10 x 2/3 = 6.67
        (2, 3, False), (3, 3, True),
        (1, 2, False), (2, 2, True),
        (1, 1, True),  # alone is also last
        (20, 30, False), (21, 30, True),
    ],
)
def test_bottom_third(rank: int, total: int, bottom: bool) -> None:
    assert in_bottom(rank, total, THIRD) is bottom


def _ranks(member: int, rows: list[tuple[str, int, int]]) -> list[SupervisionRank]:
    return [SupervisionRank(member, p, r, t) for p, r, t in rows]


@pytest.mark.parametrize(
    ("rows", "periods"),
    [
        # Twice in a row: fires at the second.
        ([("2025H2", 8, 9), ("2026H1", 9, 9)], ["2026H1"]),
        # Twice, but not in a row (a good period between).
        ([("2025H1", 8, 9), ("2025H2", 2, 9), ("2026H1", 9, 9)], []),
        # Bottom, then not ranked in a period others were ranked in, then bottom: not in a row.
        ([("2025H1", 8, 9), ("2026H1", 9, 9)], []),
        # Three in a row: two overlapping runs.
        ([("2025H1", 7, 9), ("2025H2", 8, 9), ("2026H1", 9, 9)], ["2025H2", "2026H1"]),
        # Once only.
        ([("2026H1", 9, 9)], []),
        # Periods sort as written, whatever the order of the rows.
        ([("2026H1", 9, 9), ("2025H2", 8, 9)], ["2026H1"]),
    ],
)
def test_supervision_consecutive_vs_not(
    rows: list[tuple[str, int, int]], periods: list[str]
) -> None:
    # Another member ranked in every period makes the periods known.
    others = _ranks(99, [(p, 1, 9) for p in ("2025H1", "2025H2", "2026H1")])
    found = supervision_rule(_ranks(5, rows) + others, THIRD, 2)
    assert [f.period for f in found if f.member_pk == 5] == periods
    assert not [f for f in found if f.member_pk == 99]


def test_supervision_evidence_names_the_periods() -> None:
    found = supervision_rule(_ranks(5, [("2025H2", 8, 9), ("2026H1", 9, 9)]), THIRD, 2)
    assert found[0].evidence["periods"] == [
        {"period": "2025H2", "rank": 8, "total": 9}, {"period": "2026H1", "rank": 9, "total": 9}
    ]
    assert found[0].evidence["fraction"] == "1/3"


def test_supervision_three_in_a_row_setting() -> None:
    rows = _ranks(5, [("P1", 9, 9), ("P2", 9, 9)])
    assert supervision_rule(rows, THIRD, 3) == []
    assert [f.period for f in supervision_rule(
        [*rows, *_ranks(5, [("P3", 9, 9)])], THIRD, 3)] == ["P3"]


@pytest.mark.parametrize(
    ("totals", "line", "members"),
    [
        ({1: 30, 2: 10, 3: 12}, 12, [2]),
        ({1: 0, 2: 0}, 0, []),  # everyone at zero
        ({1: -5, 2: -20}, -7, [2]),
    ],
)
def test_credits_rule(totals: dict[int, float], line: float, members: list[int]) -> None:
    found = credits_rule(totals, line, 2026)
    assert [f.member_pk for f in found] == members
    assert all(f.period == "2026" and f.evidence["line"] == line for f in found)
