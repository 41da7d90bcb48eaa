"""HR's command line for the exit rules' inputs and hand adjustments.

- `studybot exams import FILE` — columns `member_id,semester,score`; a score below
  `[exit] exam_pass_mark` fails, one at or above it earns `[credits] exam_passed`. A semester
  is `YYYYS1` (the spring semester of YYYY) or `YYYYS2` (its autumn semester, whose exam is
  often held in January of the next year); its credits count in the programme year the
  semester falls in (bot.credits.rules.semester_year), whenever the file is imported.
- `studybot evaluations import satisfaction FILE` — `member_id,year,percent` (85 or 85% = 85%).
- `studybot evaluations import supervision FILE` — `member_id,period,rank,total` (rank 1 best).
- `studybot credits adjust --member ID --points N --reason TEXT [--year YYYY]` — into this
  programme year, or a past one (`--year`) while it is not decided.

Each import checks the whole file first and reports every problem as "line N: reason"; with
any problem nothing is imported (exit 2). Importing the same file again changes nothing; a file
with a corrected value for the same member and semester / year / period replaces it. The bot
reads the new inputs at its next tick (credits re-booked, exit rules evaluated).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.core.config import Config
from bot.core.i18n import t
from bot.credits.rules import SEMESTER
from bot.documents.imports import ImportSession, Problem, TableImport, run_table_import
from bot.documents.tables import TableRow, finite_number
from storage import audit as audit_repo
from storage import exits as exits_repo
from storage import members as members_repo
from storage.db import Database, open_database, ts

FIELD_MAX = 32
MAX_SCORE = 1000.0
_YEAR = re.compile(r"^\d{4}$")
_INT = re.compile(r"^\d+$")


@dataclass
class Checked:
    """The rows of a table ready to store, and every problem found."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)

    def fail(self, lang: str, line: int, message: str, /, **params: Any) -> None:
        text = t(lang, "credits.import.line", line=line, reason=t(lang, message, **params))
        self.problems.append((line, Problem(text, line, message)))

    @property
    def messages(self) -> list[str]:
        return [m for _, m in sorted(self.problems, key=lambda p: p[0])]


# Each checker takes (row, lang, checked) and returns the key part and the values (or None).
Checker = Callable[[TableRow, str, Checked], tuple[str, tuple[Any, ...]] | None]


def _exam(row: TableRow, lang: str, c: Checked) -> tuple[str, tuple[Any, ...]] | None:
    semester = row.values["semester"].strip().upper()
    score_text = row.values["score"]
    ok = _text(row, "semester", lang, c)
    if ok and not SEMESTER.match(semester):
        # The semester decides the programme year its credits count in (rules.semester_year).
        c.fail(lang, row.line, "credits.import.bad_semester", value=row.values["semester"])
        ok = False
    score = finite_number(score_text)
    if score is None or not 0 <= score <= MAX_SCORE:
        c.fail(lang, row.line, "credits.import.bad_score", value=score_text)
        ok = False
    return (semester, (semester, score)) if ok else None


def _satisfaction(row: TableRow, lang: str, c: Checked) -> tuple[str, tuple[Any, ...]] | None:
    year_text = row.values["year"]
    text = row.values["percent"]
    ok = True
    if not _YEAR.match(year_text):
        c.fail(lang, row.line, "credits.import.bad_year", value=year_text)
        ok = False
    stripped = text.rstrip("%％").strip()
    value = finite_number(stripped)
    if value is None or not 0 <= value <= 100:
        c.fail(lang, row.line, "credits.import.bad_percent", value=text)
        ok = False
    elif value <= 1 and "." in stripped and not text.endswith(("%", "％")):
        # 0.85 is far more likely a share than 0.85%: refuse rather than guess.
        c.fail(lang, row.line, "credits.import.fraction_percent", value=text)
        ok = False
    if not ok or value is None:
        return None
    return year_text, (int(year_text), round(value / 100, 6))


def _supervision(row: TableRow, lang: str, c: Checked) -> tuple[str, tuple[Any, ...]] | None:
    period = row.values["period"]
    ok = _text(row, "period", lang, c)
    rank_text, total_text = row.values["rank"], row.values["total"]
    if not (_INT.match(rank_text) and _INT.match(total_text)) \
            or not 1 <= int(rank_text) <= int(total_text):
        c.fail(lang, row.line, "credits.import.bad_rank", rank=rank_text, total=total_text)
        ok = False
    return (period, (period, int(rank_text), int(total_text))) if ok else None


def _text(row: TableRow, column: str, lang: str, c: Checked) -> bool:
    value = row.values[column]
    if not value:
        c.fail(lang, row.line, "credits.import.empty", column=column)
        return False
    if len(value) > FIELD_MAX:
        c.fail(lang, row.line, "credits.import.too_long", column=column, limit=FIELD_MAX)
        return False
    return True


@dataclass(frozen=True)
class Kind:
    name: str
    columns: tuple[str, ...]
    check: Checker


KINDS: dict[str, Kind] = {
    "exams": Kind("exams", ("member_id", "semester", "score"), _exam),
    "satisfaction": Kind("satisfaction", ("member_id", "year", "percent"), _satisfaction),
    "supervision": Kind("supervision", ("member_id", "period", "rank", "total"), _supervision),
}


def validate(
    kind: Kind, rows: Sequence[TableRow], members: dict[str, tuple[int, str]], lang: str,
) -> Checked:
    """Every row checked: member known and not HR, values valid, no (member, key) twice.
    `members` maps member_id to (pk, role). Rows come back as (member_pk, *values)."""
    c = Checked()
    first: dict[tuple[str, str], int] = {}
    for row in rows:
        member_id = row.values["member_id"]
        ok = True
        found = members.get(member_id)
        if not member_id:
            c.fail(lang, row.line, "credits.import.empty", column="member_id")
            ok = False
        elif found is None:
            c.fail(lang, row.line, "credits.import.unknown_member", member_id=member_id)
            ok = False
        elif found[1] == "hr":
            c.fail(lang, row.line, "credits.import.hr_member", member_id=member_id)
            ok = False
        checked = kind.check(row, lang, c)
        if checked is None or not ok or found is None:
            continue
        key, values = checked
        seen = first.setdefault((member_id, key), row.line)
        if seen != row.line:
            c.fail(lang, row.line, "credits.import.duplicate", key=f"{member_id} {key}",
                   first=seen)
            continue
        c.rows.append((found[0], *values))
    return c


async def _members(db: Database) -> dict[str, tuple[int, str]]:
    async with db.read() as conn:
        people = await members_repo.all_members(conn, active_only=False)
    return {m.member_id: (m.pk, m.role) for m in people}


async def _store(db: Database, kind: Kind, rows: list[tuple[Any, ...]], now: str,
                 file_name: str) -> tuple[int, int]:
    async with db.tx() as conn:
        if kind.name == "exams":
            added, changed = await exits_repo.upsert_exams(conn, rows, now)
        elif kind.name == "satisfaction":
            added, changed = await exits_repo.upsert_satisfaction(conn, rows, now)
        else:
            added, changed = await exits_repo.upsert_supervision(conn, rows, now)
        await audit_repo.record(
            conn, at=now, actor_pk=None, action=f"{kind.name}.import", subject=f"file:{file_name}",
            before=None, after={"rows": len(rows), "added": added, "changed": changed},
        )
    return added, changed


def table_import(kind: Kind) -> TableImport[tuple[Any, ...], tuple[int, int]]:
    """How a file of `kind` is imported: rows are (member_pk, *values), the result
    (added, changed)."""

    async def check(
        rows: list[TableRow], session: ImportSession
    ) -> tuple[list[tuple[Any, ...]], list[str]]:
        checked = validate(kind, rows, await _members(await session.db()), session.lang)
        return checked.rows, checked.messages

    async def store(session: ImportSession, rows: list[tuple[Any, ...]]) -> tuple[int, int]:
        return await _store(await session.db(), kind, rows, ts(session.now()), session.file_name)

    def summary(
        session: ImportSession, rows: list[tuple[Any, ...]], result: tuple[int, int]
    ) -> list[str]:
        added, changed = result
        return [t(session.lang, "credits.import.done", file=session.file_name, count=len(rows),
                  added=added, changed=changed, unchanged=len(rows) - added - changed)]

    return TableImport(
        columns=kind.columns, validate=check, store=store, summary=summary,
        empty="credits.import.no_rows",
    )


async def import_file(path: Path, kind_name: str, cfg: Config) -> int:
    """Validates and imports one file; prints the outcome; returns the exit code."""
    return await run_table_import(table_import(KINDS[kind_name]), path, cfg)


async def cli_exams(args: argparse.Namespace, cfg: Config) -> int:
    """`studybot exams import FILE`."""
    return await import_file(args.file, "exams", cfg)


async def cli_evaluations(args: argparse.Namespace, cfg: Config) -> int:
    """`studybot evaluations import satisfaction|supervision FILE`."""
    return await import_file(args.file, args.evaluation, cfg)


async def cli_adjust(args: argparse.Namespace, cfg: Config) -> int:
    """`studybot credits adjust --member ID --points N --reason TEXT [--year YYYY]`."""
    from bot.core.clock import SystemClock
    from bot.credits.views import (
        MAX_ADJUST,
        REASON_MAX,
        adjust,
        adjust_year,
        num,
        parse_points,
        signed,
        year_refusal_params,
    )

    lang = cfg.program.language
    points = parse_points(str(args.points))
    reason = (args.reason or "").strip()
    problems = []
    if points is None:
        problems.append(t(lang, "credits.import.bad_points_cli", max=num(MAX_ADJUST)))
    if not reason:
        problems.append(t(lang, "credits.import.empty_reason"))
    elif len(reason) > REASON_MAX:
        problems.append(t(lang, "credits.adjust.reason_long", max=REASON_MAX))
    year_text = getattr(args, "year", None)
    year = int(year_text) if year_text is not None and _YEAR.match(str(year_text)) else None
    if year_text is not None and year is None:
        problems.append(t(lang, "credits.adjust.bad_year", value=year_text))
    if problems or points is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 2
    db = await open_database(cfg.db_path)
    try:
        async with db.read() as conn:
            member = await members_repo.by_member_id(conn, args.member)
        if member is None or member.is_hr:
            key = "credits.import.unknown_member_cli" if member is None \
                else "credits.adjust.not_ranked"
            print(t(lang, key, member_id=args.member, name=member.name if member else ""),
                  file=sys.stderr)
            return 2
        now = SystemClock(cfg.tz).now()
        async with db.tx() as conn:
            chosen = await adjust_year(conn, cfg, now, year)
            if chosen.refusal is not None:
                print(t(lang, f"credits.adjust.{chosen.refusal}",
                        **year_refusal_params(cfg, chosen)), file=sys.stderr)
                return 2
            done = await adjust(conn, cfg, member, points, reason, None, now, chosen)
    finally:
        await db.close()
    print(t(lang, "credits.import.adjusted", name=member.name, member_id=member.member_id,
            points=signed(points), reason=reason, year=done.year, total=num(done.total)))
    return 0
