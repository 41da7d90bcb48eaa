"""The four exit rules of the plan, as pure functions over plain records.

A trainee leaves the reserve pool when (1) their yearly credits are below the line (see
bot.credits.rules: `ratio` × the average of the top `top_n`), decided at the programme year's end;
(2) they failed `max_failed_exams` semester exams (in different semesters: one result per
semester); (3) their workplace satisfaction vote is below `min_satisfaction`; (4) their area is
in the bottom `supervision_fraction` of the supervision evaluation in `supervision_consecutive`
consecutive periods.

Each rule returns `Finding`s: the period judged (what makes a proposal unique, so the same
finding is proposed once) and the evidence HR sees. Nothing here removes anyone: a finding
becomes a proposal that HR confirms or dismisses.

Supervision, precisely. Rank 1 is the best of `total`. With the bottom fraction f, rank r is
in the bottom when  r > total × (1 − f),  computed with exact fractions: the r-th place covers
the stretch (r − 1, r] of the ranking, and it counts when any of it lies in the bottom f. With
f = 1/3: of 9, ranks 7–9; of 10, ranks 7–10 (10 × 2/3 = 6.67); of 3, rank 3; of 2, rank 2.
Periods are compared as written ("2025H2" < "2026H1" < "2026H2"): use labels that sort. The
periods that exist are those anybody was ranked in; "consecutive" means neighbours in that
sorted list, so a period in which the member was not ranked breaks the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

Rule = Literal["credits", "exams", "satisfaction", "supervision"]
RULES: tuple[Rule, ...] = ("credits", "exams", "satisfaction", "supervision")


@dataclass(frozen=True)
class Finding:
    """A rule that holds for a member: the period judged and what shows it."""

    member_pk: int
    rule: Rule
    period: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.member_pk, self.rule, self.period)


@dataclass(frozen=True, slots=True)
class ExamResult:
    member_pk: int
    semester: str
    score: float


@dataclass(frozen=True, slots=True)
class SupervisionRank:
    member_pk: int
    period: str
    rank: int
    total: int


# -- rule 1: credits at year end ------------------------------------------------------------------


def credits_rule(
    totals: Mapping[int, float], line: float, year: int
) -> list[Finding]:
    """Members whose total for the finished year is strictly below the line."""
    return [
        Finding(pk, "credits", str(year),
                {"year": year, "total": round(total, 2), "line": round(line, 2)})
        for pk, total in sorted(totals.items())
        if total < line - 1e-9
    ]


# -- rule 2: failed exams -------------------------------------------------------------------------


def failed(score: float, pass_mark: float) -> bool:
    return score < pass_mark


def exams_rule(
    results: Iterable[ExamResult], pass_mark: float, max_failed: int
) -> list[Finding]:
    """Members who failed `max_failed` semesters or more; the period is the semester of the
    `max_failed`-th failure (semesters in written order), so a further failure is not a new
    proposal."""
    by_member: dict[int, list[ExamResult]] = {}
    for r in results:
        by_member.setdefault(r.member_pk, []).append(r)
    findings = []
    for pk, rows in sorted(by_member.items()):
        fails = sorted((r for r in rows if failed(r.score, pass_mark)), key=lambda r: r.semester)
        if len(fails) >= max_failed:
            findings.append(Finding(pk, "exams", fails[max_failed - 1].semester, {
                "pass_mark": pass_mark,
                "failed": [{"semester": r.semester, "score": r.score} for r in fails],
            }))
    return findings


# -- rule 3: satisfaction -------------------------------------------------------------------------


def satisfaction_rule(
    votes: Iterable[tuple[int, int, float]], minimum: float
) -> list[Finding]:
    """(member, year, share) votes strictly below `minimum` (0.8 = 80%; exactly 80% passes)."""
    return [
        Finding(pk, "satisfaction", str(year), {"year": year, "share": share, "min": minimum})
        for pk, year, share in sorted(votes)
        if share < minimum - 1e-9
    ]


# -- rule 4: supervision --------------------------------------------------------------------------


def in_bottom(rank: int, total: int, fraction: Fraction) -> bool:
    """Whether rank `rank` of `total` lies in the bottom `fraction`: rank > total × (1 − f)."""
    return Fraction(rank) > total * (1 - fraction)


def supervision_rule(
    ranks: Iterable[SupervisionRank], fraction: Fraction, consecutive: int
) -> list[Finding]:
    """Members in the bottom `fraction` in `consecutive` neighbouring periods. Each period that
    ends such a run is a finding (a run of three gives two with consecutive = 2)."""
    rows = list(ranks)
    # Every period anybody was ranked in, as written; walking all of them in order, a period
    # the member was not ranked in (or not in the bottom) ends the run.
    periods = sorted({r.period for r in rows})
    by_member: dict[int, dict[str, SupervisionRank]] = {}
    for r in rows:
        by_member.setdefault(r.member_pk, {})[r.period] = r
    findings = []
    for pk, mine in sorted(by_member.items()):
        run: list[SupervisionRank] = []
        for period in periods:
            got = mine.get(period)
            if got is not None and in_bottom(got.rank, got.total, fraction):
                run.append(got)
            else:
                run = []
            if len(run) >= consecutive:
                window = run[-consecutive:]
                findings.append(Finding(pk, "supervision", period, {
                    "fraction": str(fraction),
                    "periods": [{"period": w.period, "rank": w.rank, "total": w.total}
                                for w in window],
                }))
    return findings

