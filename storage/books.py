"""The book catalog: one row per (programme year, book_id), imported by HR."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import aiosqlite

from storage.rows import Columns, FromRow, Select, cast, marks, new_id


@dataclass(frozen=True, slots=True)
class Book(FromRow):
    pk: int
    book_id: str
    year: int
    title: str
    title_norm: str
    author: str
    book_list: str  # required | elective
    category: str  # education_monograph | other
    active: bool

    @property
    def monograph(self) -> bool:
        return self.category == "education_monograph"

    COLUMNS: ClassVar[Columns] = {"pk": "id", "book_list": "list", "active": cast("active", bool)}


_COLUMNS = "id, book_id, year, title, title_norm, author, list, category, active"
_BOOKS = Select(f"SELECT {_COLUMNS} FROM books", Book.from_row)


async def for_year(
    conn: aiosqlite.Connection, year: int, *, active_only: bool = True
) -> list[Book]:
    """The year's catalog: required before elective, then by book_id."""
    where = " AND active = 1" if active_only else ""
    return await _BOOKS.all(
        conn, f"year = ?{where} ORDER BY CASE list WHEN 'required' THEN 0 ELSE 1 END, book_id",
        year,
    )


async def for_years(conn: aiosqlite.Connection, years: Iterable[int]) -> list[Book]:
    """Every row (active or not) of the given years."""
    wanted = sorted(set(years))
    if not wanted:
        return []
    return await _BOOKS.all(conn, f"year IN ({marks(wanted)}) ORDER BY year, book_id", *wanted)


async def by_pk(conn: aiosqlite.Connection, pk: int) -> Book | None:
    return await _BOOKS.one(conn, "id = ?", pk)


async def by_title(conn: aiosqlite.Connection, year: int, title_norm: str) -> Book | None:
    """The active catalog book of the year with this normalised title."""
    return await _BOOKS.one(
        conn, "year = ? AND title_norm = ? AND active = 1", year, title_norm
    )


async def insert(
    conn: aiosqlite.Connection, *, book_id: str, year: int, title: str, title_norm: str,
    author: str, book_list: str, category: str, now: str,
) -> int:
    return await new_id(
        conn,
        "INSERT INTO books (book_id, year, title, title_norm, author, list, category, active,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
        (book_id, year, title, title_norm, author, book_list, category, now, now),
    )


async def update(
    conn: aiosqlite.Connection, pk: int, *, title: str, title_norm: str, author: str,
    book_list: str, category: str, now: str,
) -> None:
    await conn.execute(
        "UPDATE books SET title = ?, title_norm = ?, author = ?, list = ?, category = ?,"
        " active = 1, updated_at = ? WHERE id = ?",
        (title, title_norm, author, book_list, category, now, pk),
    )


async def withdraw(conn: aiosqlite.Connection, pk: int, now: str) -> None:
    await conn.execute(
        "UPDATE books SET active = 0, updated_at = ? WHERE id = ?", (now, pk)
    )
