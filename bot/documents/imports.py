"""One runner for HR's all-or-nothing import commands (roster, schedule, books, exams, evaluations).

Every import reads a .csv/.xlsx table, checks every row, and with any problem prints them as
"line N: reason" under one heading on stderr (the same wording for every import), grouped by
reason and capped at `LISTED_PER_REASON` per reason ("and N more of the same"), imports nothing
and exits 2; otherwise it
stores the rows in one transaction and prints a summary on stdout. Each feature describes its
table and its three steps in a `TableImport`; `run_table_import` does the rest the same way for
all of them. The database is opened only when a step asks for it, so a file rejected by a
pure check never creates or migrates a database.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from bot.core.config import Config
from bot.core.i18n import t
from bot.documents.tables import TableError, TableRow, read_table
from storage.db import Database, open_database

EXIT_OK = 0
EXIT_INVALID = 2
# A file Excel re-saved wrongly has the same problem on every line: HR needs a few examples
# and the count, not 154 lines of the same.
LISTED_PER_REASON = 20

E = TypeVar("E")
R = TypeVar("R")
K = TypeVar("K", bound=Hashable)


class Problem(str):
    """One problem as the text printed ("line N: reason"), carrying its line and the catalog
    key of its reason, by which the runner groups the listing.

    A `str`, so validators' callers and tests keep comparing problems as text."""

    line: int | None
    reason: str

    def __new__(cls, text: str, line: int | None = None, reason: str | None = None) -> Problem:
        problem = super().__new__(cls, text)
        problem.line = line
        problem.reason = reason if reason is not None else text
        return problem


def listing(problems: list[str], lang: str, cap: int = LISTED_PER_REASON) -> list[str]:
    """`problems` grouped by reason (groups in the order they first occur, each in its own
    order), at most `cap` of each, then "and N more of the same". A plain `str` is its own
    reason."""
    groups: dict[str, list[str]] = {}
    for problem in problems:
        groups.setdefault(getattr(problem, "reason", problem), []).append(problem)
    out: list[str] = []
    for same in groups.values():
        out.extend(same[:cap])
        if len(same) > cap:
            out.append(t(lang, "imports.more_of_the_same", count=len(same) - cap))
    return out


class LineProblems:
    """The problems a `validate` step finds, each "line N: reason" in `lang`.

    `line_key` is the catalog key wrapping a reason with its line number. `messages()` gives
    them in line order (one line's own in the order found), whatever order they were found in.
    """

    def __init__(self, lang: str, line_key: str) -> None:
        self.lang = lang
        self._line_key = line_key
        self._found: list[tuple[int, str]] = []

    def add(self, line: int, key: str, **params: Any) -> None:
        """Adds the reason `key` (with `params`) for `line`."""
        reason = t(self.lang, key, **params)
        text = t(self.lang, self._line_key, line=line, reason=reason)
        self._found.append((line, Problem(text, line, key)))

    def too_long(self, line: int, key: str, column: str, text: str, limit: int) -> bool:
        """Whether `column`'s `text` is over `limit` characters: then adds the reason `key`
        (with `column`, `length` and `limit`)."""
        if len(text) <= limit:
            return False
        self.add(line, key, column=column, length=len(text), limit=limit)
        return True

    def repeated(self, first_lines: dict[K, int], value: K, line: int, key: str,
                 **params: Any) -> bool:
        """Whether `value`, which must stand once in the table, already stood on an earlier
        line: then adds the reason `key` with that line as `first`. Otherwise remembers `line`
        in `first_lines` as where `value` stands."""
        first = first_lines.setdefault(value, line)
        if first == line:
            return False
        self.add(line, key, first=first, **params)
        return True

    def messages(self) -> list[str]:
        # A stable sort: the reasons of one line stay in the order the checks found them.
        return [msg for _, msg in sorted(self._found, key=lambda p: p[0])]


class ImportSession:
    """One import run: the file, the config, its language and the database, opened on demand."""

    def __init__(self, path: Path, cfg: Config) -> None:
        self.path = path
        self.cfg = cfg
        self.lang = cfg.program.language
        self._db: Database | None = None

    @property
    def file_name(self) -> str:
        return self.path.name

    def now(self) -> dt.datetime:
        from bot.core.clock import SystemClock

        return SystemClock(self.cfg.tz).now()

    async def db(self) -> Database:
        if self._db is None:
            self._db = await open_database(self.cfg.db_path)
        return self._db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None


@dataclass(frozen=True)
class TableImport(Generic[E, R]):
    """How one kind of file is imported.

    `validate` returns the entries and every problem ("line N: reason", sorted); entries are
    used only when there is no problem (a `Problem` for each is grouped by its reason, a plain
    string is a reason of its own). `store` applies them in one transaction. `summary` gives
    the lines printed after a successful import. `empty`, when set, is the key printed alone
    (with `file`) for a table with no data line.
    """

    columns: tuple[str, ...]
    validate: Callable[[list[TableRow], ImportSession], Awaitable[tuple[list[E], list[str]]]]
    store: Callable[[ImportSession, list[E]], Awaitable[R]]
    summary: Callable[[ImportSession, list[E], R], list[str]]
    optional: tuple[str, ...] = ()
    empty: str | None = None


def headed(
    key: str, lines: Callable[[R, str], list[str]]
) -> Callable[[ImportSession, list[E], R], list[str]]:
    """A `summary`: the line `key` (with `file` and `count`), then `lines(result, lang)`."""

    def summary(session: ImportSession, entries: list[E], result: R) -> list[str]:
        head = t(session.lang, key, file=session.file_name, count=len(entries))
        return [head, *lines(result, session.lang)]

    return summary


def _err(lines: list[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


async def run_table_import(spec: TableImport[E, R], path: Path, cfg: Config) -> int:
    """Reads, checks and imports `path` as `spec` says; prints the outcome; the exit code."""
    session = ImportSession(path, cfg)
    lang = session.lang
    try:
        rows = read_table(path, spec.columns, optional=spec.optional, lang=lang)
    except TableError as exc:
        _err(exc.problems)
        return EXIT_INVALID
    if not rows and spec.empty is not None:
        _err([t(lang, spec.empty, file=path.name)])
        return EXIT_INVALID
    try:
        entries, problems = await spec.validate(rows, session)
        if problems:
            _err([t(lang, "imports.rejected", file=path.name, count=len(problems)),
                  *listing(problems, lang)])
            return EXIT_INVALID
        result = await spec.store(session, entries)
    finally:
        await session.close()
    for line in spec.summary(session, entries, result):
        print(line)
    return EXIT_OK
