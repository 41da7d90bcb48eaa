"""Study outputs: books read with reflections, papers, reflections, management analyses; their
review history; the monthly nudge record."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import ClassVar

import aiosqlite

from storage.rows import Columns, FromRow, Select, cast, changed, fetch_rows, marks, new_id
from storage.where import Where


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A document kept under files_dir: relative path, the sender's name, size, sha256."""

    path: str
    name: str
    size: int
    sha256: str


def _file(row: sqlite3.Row) -> StoredFile | None:
    """The submission's document, when it has one."""
    if row["file_path"] is None:
        return None
    return StoredFile(
        row["file_path"], row["file_name"] or "", row["file_size"] or 0, row["file_sha256"] or ""
    )


@dataclass(frozen=True, slots=True)
class Submission(FromRow):
    """A submission with its owner, group, catalog code and reviewer, as the views need it."""

    id: int
    member_pk: int
    member_id: str
    member_name: str
    member_role: str
    group_id: int | None
    group_name: str | None
    year: int
    kind: str
    book_pk: int | None
    book_code: str | None  # the catalog's book_id
    title: str
    monograph: bool
    finished_on: str | None
    body: str | None
    file: StoredFile | None
    status: str
    revision: int
    submitted_at: str
    reviewed_at: str | None
    reviewed_by: int | None
    reviewer_name: str | None
    review_comment: str | None

    COLUMNS: ClassVar[Columns] = {"monograph": cast("monograph", bool), "file": _file}


_SELECT = (
    "SELECT s.*, m.member_id, m.name AS member_name, m.role AS member_role, m.group_id,"
    " g.name AS group_name, b.book_id AS book_code, r.name AS reviewer_name"
    " FROM reading_submissions s"
    " JOIN members m ON m.id = s.member_pk"
    " LEFT JOIN groups g ON g.id = m.group_id"
    " LEFT JOIN books b ON b.id = s.book_pk"
    " LEFT JOIN members r ON r.id = s.reviewed_by"
)
_SUBMISSIONS = Select(_SELECT, Submission.from_row)
_ORDER = " ORDER BY COALESCE(s.finished_on, substr(s.submitted_at, 1, 10)), s.id"


async def insert(
    conn: aiosqlite.Connection,
    *,
    member_pk: int,
    year: int,
    kind: str,
    title: str,
    title_norm: str,
    now: str,
    book_pk: int | None = None,
    monograph: bool = False,
    finished_on: str | None = None,
    body: str | None = None,
    file: StoredFile | None = None,
) -> int:
    """Adds a submission (status 'submitted') and its first event; returns its id."""
    sid = await new_id(
        conn,
        "INSERT INTO reading_submissions (member_pk, year, kind, book_pk, title, title_norm,"
        " monograph, finished_on, body, file_path, file_name, file_size, file_sha256,"
        " submitted_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            member_pk, year, kind, book_pk, title, title_norm, int(monograph), finished_on, body,
            file.path if file else None, file.name if file else None,
            file.size if file else None, file.sha256 if file else None, now, now,
        ),
    )
    await add_event(conn, sid, "submitted", now, actor_pk=member_pk, body=body, file=file)
    return sid


async def add_event(
    conn: aiosqlite.Connection, submission_id: int, action: str, now: str, *,
    actor_pk: int | None, comment: str | None = None, body: str | None = None,
    file: StoredFile | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO reading_events (submission_id, at, actor_pk, action, comment, body,"
        " file_path) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (submission_id, now, actor_pk, action, comment, body, file.path if file else None),
    )


async def find_duplicate(
    conn: aiosqlite.Connection, member_pk: int, year: int, kind: str, title_norm: str,
    book_pk: int | None = None,
) -> Submission | None:
    """This member's submission of the same book (by catalog row or title) or output title."""
    return await _SUBMISSIONS.one(
        conn,
        "s.member_pk = ? AND s.year = ? AND ((s.kind = ? AND s.title_norm = ?)"
        " OR (s.book_pk IS NOT NULL AND s.book_pk = ?)) LIMIT 1",
        member_pk, year, kind, title_norm, book_pk,
    )


async def by_id(conn: aiosqlite.Connection, submission_id: int) -> Submission | None:
    return await _SUBMISSIONS.one(conn, "s.id = ?", submission_id)


async def _where(conn: aiosqlite.Connection, where: Where) -> list[Submission]:
    """The submissions with the conditions `where`, in date order."""
    return await _SUBMISSIONS.all(conn, f"{where.sql}{_ORDER}", *where.params)


async def for_member(conn: aiosqlite.Connection, member_pk: int, year: int) -> list[Submission]:
    return await _where(conn, Where().add("s.member_pk = ?", member_pk).add("s.year = ?", year))


async def for_year(
    conn: aiosqlite.Connection, year: int, *, group_id: int | None = None
) -> list[Submission]:
    """The year's submissions of every member, or of one group's."""
    return await _where(conn, Where().add("s.year = ?", year).when(group_id, "m.group_id = ?"))


async def everything(conn: aiosqlite.Connection) -> list[Submission]:
    """Every submission (for the export), by member then date."""
    return await _SUBMISSIONS.all(
        conn, "1 ORDER BY m.member_id, COALESCE(s.finished_on, substr(s.submitted_at, 1, 10)), s.id"
    )


async def set_review(
    conn: aiosqlite.Connection, submission_id: int, *, expect: tuple[str, ...], status: str,
    reviewer_pk: int, comment: str | None, now: str,
) -> bool:
    """Accepts or returns, only from one of the `expect` statuses; False if it had moved on."""
    if not await changed(
        conn,
        "UPDATE reading_submissions SET status = ?, reviewed_at = ?, reviewed_by = ?,"
        f" review_comment = ? WHERE id = ? AND status IN ({marks(expect)})",
        (status, now, reviewer_pk, comment, submission_id, *expect),
    ):
        return False
    action = "accepted" if status == "accepted" else "returned"
    await add_event(conn, submission_id, action, now, actor_pk=reviewer_pk, comment=comment)
    return True


async def resubmit(
    conn: aiosqlite.Connection, submission_id: int, *, member_pk: int, body: str | None,
    file: StoredFile | None, now: str,
) -> bool:
    """Replaces a returned submission's content; it is 'submitted' again (the review comment
    stays until the next review, so the reviewer sees what they asked for)."""
    if not await changed(
        conn,
        "UPDATE reading_submissions SET status = 'submitted', body = ?, file_path = ?,"
        " file_name = ?, file_size = ?, file_sha256 = ?, revision = revision + 1,"
        " submitted_at = ? WHERE id = ? AND member_pk = ? AND status = 'returned'",
        (
            body, file.path if file else None, file.name if file else None,
            file.size if file else None, file.sha256 if file else None, now,
            submission_id, member_pk,
        ),
    ):
        return False
    await add_event(
        conn, submission_id, "resubmitted", now, actor_pk=member_pk, body=body, file=file
    )
    return True


async def events(conn: aiosqlite.Connection, submission_id: int) -> list[sqlite3.Row]:
    return await fetch_rows(
        conn, "SELECT * FROM reading_events WHERE submission_id = ? ORDER BY at, id",
        (submission_id,),
    )


async def nudged(conn: aiosqlite.Connection, month: str) -> set[int]:
    """Members already reminded in this month ('YYYY-MM')."""
    rows = await conn.execute_fetchall(
        "SELECT member_pk FROM reading_nudges WHERE month = ?", (month,)
    )
    return {r[0] for r in rows}


async def record_nudge(
    conn: aiosqlite.Connection, member_pk: int, month: str, behind: int, now: str
) -> bool:
    """Records this month's reminder; False if there already was one."""
    return await changed(
        conn,
        "INSERT INTO reading_nudges (member_pk, month, at, behind) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (member_pk, month) DO NOTHING",
        (member_pk, month, now, behind),
    )
