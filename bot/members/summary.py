"""The summary sheet (汇总) of `export all` and /export: one row per member with the figures HR
used to gather by hand from every other sheet.

A row is an active trainee or leader (who attend, read and earn credits): group and school;
attendance counts by status and the attendance rate; approved leave requests; this programme
year's books, education monographs and management analyses against their targets, and other
outputs (papers, reflections); the activities hosted and their reports on time, late and
missing; this credit year's total, rank, whether below the line and the points still needed;
exam, satisfaction and supervision results; open exit proposals.

`--from/--to` select the attendance, leave and report figures (by the activity's local date);
reading and credits are the programme year of the export's moment (`ExportFilter.at`, else
now), as the bot shows them. A group filter (a leader's /export) keeps that group's members.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from bot.activities.rules import STATUSES
from bot.core.config import Config
from bot.credits import views as credit_views
from bot.documents.exports import ExportFilter, Sheet
from bot.reading import rules as reading_rules
from bot.reports.flow import deadline_of
from storage import attendance as attendance_repo
from storage import exits as exits_repo
from storage import leave as leave_repo
from storage import members as members_repo
from storage import reading as reading_repo
from storage import reports as reports_repo
from storage.db import Database

COLUMNS: list[str] = [
    "member_id", "name", "role", "group", "school",
    *STATUSES, "attendance_rate", "leave",
    "books", "books_target", "monographs", "monographs_target", "analyses", "analyses_target",
    "outputs", "targets_met",
    "hosted", "reports_on_time", "reports_late", "reports_missing",
    "credits", "rank", "below_line", "to_line",
    "exams", "satisfaction", "supervision", "open_exits",
]
ATTENDED = ("present", "late", "early_leave")  # came, if not on time or to the end


def attendance_rate(counts: dict[str, int]) -> float | None:
    """The share of activities attended, in percent with one decimal, leave not counted
    against it; None when there was nothing to attend."""
    due = sum(n for status, n in counts.items() if status != "excused")
    if due == 0:
        return None
    return round(100 * sum(counts.get(s, 0) for s in ATTENDED) / due, 1)


def _joined(parts: list[str]) -> str:
    return "; ".join(parts)


def _report_counts(
    cfg: Config, reportable: list[Any], now: dt.datetime
) -> tuple[Counter[int], Counter[int], Counter[int], Counter[int]]:
    """Per host: activities hosted, reports filed on time, filed late, missing past the
    deadline."""
    hosted: Counter[int] = Counter()
    on_time: Counter[int] = Counter()
    late: Counter[int] = Counter()
    missing: Counter[int] = Counter()
    for item in reportable:
        hosted[item.host_pk] += 1
        report = item.report
        if report is not None and report.submitted_at:
            (late if report.late else on_time)[item.host_pk] += 1
        elif deadline_of(cfg, item) < now:
            missing[item.host_pk] += 1
    return hosted, on_time, late, missing


def _exit_inputs(
    exams: list[Any], votes: list[Any], ranks: list[Any]
) -> tuple[dict[int, list[str]], dict[int, list[str]], dict[int, list[str]]]:
    """Per member, as short texts: exam scores by semester, satisfaction by year, supervision
    ranks by period."""
    exam_text: dict[int, list[str]] = defaultdict(list)
    for pk, semester, score in exams:
        exam_text[pk].append(f"{semester}: {credit_views.num(score)}")
    vote_text: dict[int, list[str]] = defaultdict(list)
    for pk, vote_year, share in votes:
        vote_text[pk].append(f"{vote_year}: {credit_views.num(share * 100)}%")
    rank_text: dict[int, list[str]] = defaultdict(list)
    for pk, period, rank, total in ranks:
        rank_text[pk].append(f"{period}: {rank}/{total}")
    return exam_text, vote_text, rank_text


async def summary_sheet(db: Database, cfg: Config, flt: ExportFilter) -> Sheet:
    """The 汇总 sheet: one row per trainee and leader, what HR used to build by hand."""
    tz = cfg.tz
    now = flt.at or dt.datetime.now(tz)
    today = now.astimezone(tz).date()
    lo, hi = flt.stored_range(tz)
    year = reading_rules.programme_year(
        today, reading_rules.parse_year_starts(cfg.reading.year_starts)
    )
    board = await credit_views.board(db, cfg, now)  # syncs the ledger first
    standings = board.by_pk
    async with db.read() as conn:
        members = await members_repo.participants(conn, flt.group_id)
        roll = await attendance_repo.export_rows(conn, lo, hi, group_id=flt.group_id)
        leave = await leave_repo.export_rows(conn, lo, hi, flt.group_id)
        subs = await reading_repo.for_year(conn, year.label, group_id=flt.group_id)
        reportable = await reports_repo.export_rows(conn, lo, hi)
        exams = await exits_repo.exam_results(conn)
        votes = await exits_repo.satisfaction_votes(conn)
        ranks = await exits_repo.supervision_ranks(conn)
        proposals = await exits_repo.proposals(conn)

    statuses: dict[str, Counter[str]] = defaultdict(Counter)
    for r in roll:
        statuses[r["member_id"]][r["status"]] += 1
    approved = Counter(r.member_id for r in leave if r.state == "approved")
    by_member: dict[int, list[Any]] = defaultdict(list)
    for s in subs:
        by_member[s.member_pk].append(s)
    hosted, on_time, late, missing = _report_counts(cfg, reportable, now)
    exam_text, vote_text, rank_text = _exit_inputs(exams, votes, ranks)
    open_exits = Counter(p.member_pk for p in proposals)

    rows: list[dict[str, Any]] = []
    for m in members:
        counts: dict[str, int] = {s: statuses[m.member_id][s] for s in STATUSES}
        tally = reading_rules.tally(by_member.get(m.pk, []), cfg.reading.review)
        outputs = sum(
            1 for s in by_member.get(m.pk, [])
            if s.kind in ("paper", "reflection")
            and reading_rules.counts(s.status, cfg.reading.review)
        )
        standing = standings.get(m.pk)
        rows.append({
            "member_id": m.member_id, "name": m.name, "role": m.role,
            "group": m.group_name or "", "school": m.school,
            **counts,
            "attendance_rate": attendance_rate(counts),
            "leave": approved[m.member_id],
            "books": tally.books, "books_target": reading_rules.TARGET_BOOKS,
            "monographs": tally.monographs, "monographs_target": reading_rules.TARGET_MONOGRAPHS,
            "analyses": tally.analyses, "analyses_target": reading_rules.TARGET_ANALYSES,
            "outputs": outputs, "targets_met": tally.targets_met,
            "hosted": hosted[m.pk], "reports_on_time": on_time[m.pk],
            "reports_late": late[m.pk], "reports_missing": missing[m.pk],
            "credits": standing.total if standing else None,
            "rank": standing.rank if standing else None,
            "below_line": standing.below if standing else None,
            "to_line": standing.needed if standing else None,
            "exams": _joined(exam_text[m.pk]),
            "satisfaction": _joined(vote_text[m.pk]),
            "supervision": _joined(rank_text[m.pk]),
            "open_exits": open_exits[m.pk],
        })
    return Sheet("summary", COLUMNS, rows, "summary", {"role": "role"})
