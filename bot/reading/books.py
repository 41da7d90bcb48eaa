"""Catalog import: HR's book list (.csv or .xlsx) checked as a whole, then applied all or nothing.

Columns `book_id,title,author,list,category,year`: `list` is `required` or `elective` (必读 /
选读 also accepted), `category` is `education_monograph` or `other` (教育专著 / 其他), `year` the
programme year the list is for. Every problem is reported at once as "line N: reason" and
nothing is imported. A file is the whole list of each year it names: books are added or updated
by (year, book_id), and books of those years missing from the file are withdrawn from the lists
(kept in the database, since logged readings point at them). Importing the same file twice
changes nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.core.config import Config
from bot.core.i18n import DEFAULT_LANGUAGE, t
from bot.documents.imports import ImportSession, LineProblems, TableImport, run_table_import
from bot.documents.tables import TableRow
from bot.reading.rules import MAX_TITLE_CHARS, normalize_title
from storage import books as books_repo
from storage.db import Database, ts

COLUMNS: tuple[str, ...] = ("book_id", "title", "author", "list", "category", "year")
ID_MAX = 32
AUTHOR_MAX = 128
YEAR_RANGE = (2000, 2100)

LIST_ALIASES: Mapping[str, str] = {
    "required": "required", "必读": "required", "必读书目": "required",
    "elective": "elective", "选读": "elective", "选读书目": "elective",
}
CATEGORY_ALIASES: Mapping[str, str] = {
    "education_monograph": "education_monograph", "教育专著": "education_monograph",
    "专著": "education_monograph",
    "other": "other", "其他": "other", "其它": "other",
}


@dataclass(frozen=True, slots=True)
class BookEntry:
    """One validated catalog line."""

    line: int
    book_id: str
    title: str
    title_norm: str
    author: str
    book_list: str
    category: str
    year: int


@dataclass(slots=True)
class BooksResult:
    """What an import did, as (year, book_id, title)."""

    added: list[tuple[int, str, str]] = field(default_factory=list)
    changed: list[tuple[int, str, str]] = field(default_factory=list)
    withdrawn: list[tuple[int, str, str]] = field(default_factory=list)
    unchanged: int = 0


def validate_books(
    rows: list[TableRow], *, lang: str = DEFAULT_LANGUAGE
) -> tuple[list[BookEntry], list[str]]:
    """The catalog entries of `rows` and every problem, each "line N: reason" in `lang`.

    Entries are only meaningful when the problem list is empty.
    """
    found = LineProblems(lang, "reading.import.line")
    entries: list[BookEntry] = []
    id_line: dict[tuple[int, str], int] = {}
    title_line: dict[tuple[int, str], int] = {}
    for row in rows:
        v = row.values
        line = row.line
        book_id = v.get("book_id", "").strip()
        title = " ".join(v.get("title", "").split())
        author = " ".join(v.get("author", "").split())
        list_text = v.get("list", "").strip()
        category_text = v.get("category", "").strip()
        year_text = v.get("year", "").strip()
        ok = True

        if not book_id:
            found.add(line, "reading.import.empty", column="book_id")
            ok = False
        elif found.too_long(line, "reading.import.too_long", "book_id", book_id, ID_MAX):
            ok = False
        norm = normalize_title(title)
        if not title or not norm:
            found.add(line, "reading.import.empty", column="title")
            ok = False
        elif found.too_long(line, "reading.import.too_long", "title", title, MAX_TITLE_CHARS):
            ok = False
        if found.too_long(line, "reading.import.too_long", "author", author, AUTHOR_MAX):
            ok = False
        book_list = LIST_ALIASES.get(list_text.casefold())
        if book_list is None:
            found.add(line, "reading.import.bad_list", value=list_text)
            ok = False
        category = CATEGORY_ALIASES.get(category_text.casefold())
        if category is None:
            found.add(line, "reading.import.bad_category", value=category_text)
            ok = False
        year: int | None = None
        if year_text.isdecimal() and YEAR_RANGE[0] <= int(year_text) <= YEAR_RANGE[1]:
            year = int(year_text)
        else:
            found.add(line, "reading.import.bad_year", value=year_text,
                      low=YEAR_RANGE[0], high=YEAR_RANGE[1])
            ok = False

        if year is not None and book_id and found.repeated(
            id_line, (year, book_id), line, "reading.import.duplicate_id", book_id=book_id,
            year=year,
        ):
            ok = False
        if year is not None and norm and found.repeated(
            title_line, (year, norm), line, "reading.import.duplicate_title", title=title,
            year=year,
        ):
            ok = False
        if ok and year is not None and book_list is not None and category is not None:
            entries.append(BookEntry(line, book_id, title, norm, author, book_list, category,
                                     year))
    problems = found.messages()
    if not rows:
        problems.append(t(lang, "reading.import.no_books"))
    return entries, problems


async def import_books(db: Database, entries: list[BookEntry], now: dt.datetime) -> BooksResult:
    """Applies validated entries in one transaction (see the module docstring)."""
    at = ts(now)
    result = BooksResult()
    async with db.tx() as conn:
        existing = {
            (b.year, b.book_id): b
            for b in await books_repo.for_years(conn, {e.year for e in entries})
        }
        listed = {(e.year, e.book_id) for e in entries}
        for key, gone in sorted(existing.items()):
            if key not in listed and gone.active:
                await books_repo.withdraw(conn, gone.pk, at)
                result.withdrawn.append((gone.year, gone.book_id, gone.title))
        for e in entries:
            old = existing.get((e.year, e.book_id))
            if old is None:
                await books_repo.insert(
                    conn, book_id=e.book_id, year=e.year, title=e.title, title_norm=e.title_norm,
                    author=e.author, book_list=e.book_list, category=e.category, now=at,
                )
                result.added.append((e.year, e.book_id, e.title))
                continue
            same = (old.title, old.author, old.book_list, old.category, old.active) == (
                e.title, e.author, e.book_list, e.category, True
            )
            if same:
                result.unchanged += 1
                continue
            await books_repo.update(
                conn, old.pk, title=e.title, title_norm=e.title_norm, author=e.author,
                book_list=e.book_list, category=e.category, now=at,
            )
            result.changed.append((e.year, e.book_id, e.title))
    return result


def format_result(result: BooksResult, lang: str) -> list[str]:
    """The summary lines printed after an import."""
    sep = t(lang, "reading.import.separator")

    def names(items: list[tuple[int, str, str]]) -> str:
        if not items:
            return t(lang, "reading.import.none")
        return sep.join(
            t(lang, "reading.import.book", year=y, book_id=b, title=title)
            for y, b, title in items
        )

    return [
        t(lang, "reading.import.added", count=len(result.added), books=names(result.added)),
        t(lang, "reading.import.changed", count=len(result.changed),
          books=names(result.changed)),
        t(lang, "reading.import.withdrawn", count=len(result.withdrawn),
          books=names(result.withdrawn)),
    ]


async def _validate(
    rows: list[TableRow], session: ImportSession
) -> tuple[list[BookEntry], list[str]]:
    return validate_books(rows, lang=session.lang)


async def _store(session: ImportSession, entries: list[BookEntry]) -> BooksResult:
    return await import_books(await session.db(), entries, session.now())


def _summary(session: ImportSession, entries: list[BookEntry], result: BooksResult) -> list[str]:
    lang = session.lang
    years = t(lang, "reading.import.separator").join(
        str(y) for y in sorted({e.year for e in entries})
    )
    return [
        t(lang, "reading.import.imported", file=session.file_name, count=len(entries),
          years=years),
        *format_result(result, lang),
    ]


BOOKS_IMPORT = TableImport(
    columns=COLUMNS, validate=_validate, store=_store, summary=_summary,
)


async def cli_import(args: argparse.Namespace, cfg: Config) -> int:
    """`studybot books import FILE`: validate the whole file, then import it or nothing."""
    return await run_table_import(BOOKS_IMPORT, args.file, cfg)
