"""The book catalog: one row per (programme year, book_id), imported by HR."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True, slots=True)
class Book:
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

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Book:
        return cls(
            pk=row["id"],
            book_id=row["book_id"],
            year=row["year"],
            title=row["title"],
            title_norm=row["title_norm"],
            author=row["author"],
            book_list=row["list"],
            category=row["category"],
            active=bool(row["active"]),
        )


_COLUMNS = "id, book_id, year, title, title_norm, author, list, category, active"


async def for_year(
    conn: aiosqlite.Connection, year: int, *, active_only: bool = True
) -> list[Book]:
    """The year's catalog: required before elective, then by book_id."""
    where = " AND active = 1" if active_only else ""
    rows = await conn.execute_fetchall(
        f"SELECT {_COLUMNS} FROM books WHERE year = ?{where}"
        " ORDER BY CASE list WHEN 'required' THEN 0 ELSE 1 END, book_id",
        (year,),
    )
    return [Book.from_row(r) for r in rows]


async def for_years(conn: aiosqlite.Connection, years: Iterable[int]) -> list[Book]:
    """Every row (active or not) of the given years."""
    wanted = sorted(set(years))
    if not wanted:
        return []
    marks = ", ".join("?" for _ in wanted)
    rows = await conn.execute_fetchall(
        f"SELECT {_COLUMNS} FROM books WHERE year IN ({marks}) ORDER BY year, book_id",
        tuple(wanted),
    )
    return [Book.from_row(r) for r in rows]


async def by_pk(conn: aiosqlite.Connection, pk: int) -> Book | None:
    async with conn.execute(f"SELECT {_COLUMNS} FROM books WHERE id = ?", (pk,)) as cur:
        row = await cur.fetchone()
    return Book.from_row(row) if row else None


async def by_title(conn: aiosqlite.Connection, year: int, title_norm: str) -> Book | None:
    """The active catalog book of the year with this normalised title."""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM books WHERE year = ? AND title_norm = ? AND active = 1",
        (year, title_norm),
    ) as cur:
        row = await cur.fetchone()
    return Book.from_row(row) if row else None


async def insert(
    conn: aiosqlite.Connection, *, book_id: str, year: int, title: str, title_norm: str,
    author: str, book_list: str, category: str, now: str,
) -> int:
    cur = await conn.execute(
        "INSERT INTO books (book_id, year, title, title_norm, author, list, category, active,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
        (book_id, year, title, title_norm, author, book_list, category, now, now),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


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
