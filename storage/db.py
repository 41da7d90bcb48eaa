"""The database: one aiosqlite connection, WAL, numbered SQL migrations, serialised transactions.

SQLite allows one writer at a time. Every write and every multi-statement read goes through
one connection guarded by an asyncio lock, so a transaction is never interleaved with another
task's statements and "database is locked" cannot happen inside the process; `busy_timeout`
covers other processes (the CLI importing a roster while the bot runs). Single-statement lookups
on the per-update hot path may use `reader()`, a second, read-only connection that sees only
committed data and does not wait for the lock.

Everything the bot writes holds personal data (the database, its -wal and -shm, backups,
exports, invite codes, uploads): `private_file` and `private_dirs` make it owner-only (0600
files, 0700 folders) whatever the umask of the process embedding this library.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib.resources
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

TS_FORMAT = "%Y-%m-%d %H:%M:%S"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

T = TypeVar("T")

OWNER_FILE = 0o600
OWNER_DIR = 0o700


def private_dirs(folder: str | Path) -> Path:
    """`folder` and its missing parents, made as owner-only (0700) folders; folders that
    already exist are left as they are (they may be the operator's, e.g. the working
    directory)."""
    path = Path(folder)
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for made in reversed(missing):
        try:
            made.mkdir(mode=OWNER_DIR)
        except FileExistsError:
            continue  # made meanwhile by someone else: theirs
        os.chmod(made, OWNER_DIR)  # mkdir's mode is cut by the umask, never widened
    if not path.is_dir():
        raise NotADirectoryError(str(path))
    return path


def private_file(file: str | Path) -> Path:
    """`file` made owner-only (0600): created empty when missing, so what is written into it
    next is never readable by others even for a moment; an existing file is narrowed."""
    path = Path(file)
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT, OWNER_FILE))
    _narrow(path)
    return path


def _narrow(path: Path) -> None:
    """0600 for `path` if it exists (SQLite's -wal and -shm, made by SQLite itself)."""
    # Another account's file (shared on purpose) is its owner's to set.
    with contextlib.suppress(FileNotFoundError, PermissionError):
        os.chmod(path, OWNER_FILE)


def ts(when: dt.datetime) -> str:
    """A tz-aware datetime as the UTC text stored in the database."""
    if when.tzinfo is None:
        raise ValueError("naive datetime")
    return when.astimezone(dt.UTC).strftime(TS_FORMAT)


def parse_ts(text: str) -> dt.datetime:
    """The stored UTC text back as a tz-aware UTC datetime."""
    # fromisoformat is C and about 10x faster than strptime (every check-in parses a few);
    # strptime stays the judge of anything not shaped exactly like TS_FORMAT.
    if len(text) == 19 and text[10] == " ":
        with contextlib.suppress(ValueError):
            parsed = dt.datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=dt.UTC)
    return dt.datetime.strptime(text, TS_FORMAT).replace(tzinfo=dt.UTC)


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every bundled migration, in order."""
    found = []
    for res in importlib.resources.files("storage.migrations").iterdir():
        m = _MIGRATION_NAME.match(res.name)
        if m:
            found.append((int(m.group(1)), res.name, res.read_text(encoding="utf-8")))
    return sorted(found)


class Database:
    """The single connection to the SQLite file and the lock that serialises its use."""

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path
        self._reader: aiosqlite.Connection | None = None
        self._reader_opening = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        target = str(path)
        if target != ":memory:":
            private_dirs(Path(target).parent)
            # SQLite gives the -wal and -shm it creates the database file's mode.
            private_file(target)
        conn = await aiosqlite.connect(target, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=10000")
        if target != ":memory:":
            for suffix in ("-wal", "-shm"):  # left by an earlier run with a wider umask
                _narrow(Path(target + suffix))
        return cls(conn, target)

    async def close(self) -> None:
        async with self._lock:
            if self._reader is not None:
                await self._reader.close()
                self._reader = None
            await self._conn.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction (BEGIN IMMEDIATE): committed on exit, rolled back on error."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.rollback()
                raise
            else:
                await self._conn.commit()

    async def run_tx(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Runs `fn` in one write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back if it
        raises) on the database thread, in one hop there and back instead of one per statement
        plus BEGIN and COMMIT. For hot paths only (a burst of check-ins holds the lock a fifth
        as long): `fn` gets the plain sqlite3 connection and must do nothing but SQL."""
        async with self._lock:
            # aiosqlite has no public "run this on your thread"; _execute is that, unchanged
            # from 0.17 to 0.22 (pinned below 0.23 in pyproject.toml).
            return await self._conn._execute(_in_tx, fn, self._conn._conn)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read-only connection of its own, for single-statement lookups that need not wait
        for the lock: in WAL mode each statement sees the latest commit and nothing half done,
        but two statements may see different commits, so a read whose statements must agree
        uses `read()`. The per-update lookups (the gatekeeper's member, a /checkin's open
        activities) use it, so a burst of updates queues on the lock for its writes only.
        Use `execute_fetchall` on it: a cursor left half read would hold its snapshot open."""
        if self.path == ":memory:":  # a second connection would be another database
            async with self.read() as conn:
                yield conn
            return
        yield self._reader or await self._open_reader()

    async def _open_reader(self) -> aiosqlite.Connection:
        async with self._reader_opening:
            if self._reader is None:
                conn = await aiosqlite.connect(self.path, isolation_level=None)
                conn.row_factory = aiosqlite.Row
                await conn.execute("PRAGMA query_only=ON")
                await conn.execute("PRAGMA foreign_keys=ON")
                await conn.execute("PRAGMA busy_timeout=10000")
                self._reader = conn
            return self._reader

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for reads, with nobody else's transaction half done."""
        async with self._lock:
            yield self._conn

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self.read() as conn:
            return list(await conn.execute_fetchall(sql, tuple(params)))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        # execute_fetchall is one hop to the database thread; execute + fetchone + close is 3.
        for row in await self.fetchall(sql, params):
            return row
        return None

    async def schema_version(self) -> int:
        async with self.read() as conn:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            async with conn.execute("SELECT MAX(version) FROM schema_migrations") as cur:
                row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    async def migrate(self) -> list[str]:
        """Applies every migration not yet recorded (by number, so one that arrives late on a
        branch is still applied); returns their names."""
        await self.schema_version()  # creates the bookkeeping table
        async with self.read() as conn:
            done = {r[0] for r in await conn.execute_fetchall(
                "SELECT version FROM schema_migrations")}
        applied = []
        for version, name, sql in migrations():
            if version in done:
                continue
            async with self.tx() as conn:
                for statement in _split_sql(sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, ts(dt.datetime.now(dt.UTC))),
                )
            applied.append(name)
        return applied

    async def backup(self, dest: str | Path) -> None:
        """Copies the live database to `dest` with SQLite's online backup API."""
        private_dirs(Path(dest).parent)
        private_file(dest)  # an empty file is an empty database to SQLite
        target = sqlite3.connect(str(dest))
        try:
            async with self.read() as conn:
                await conn.backup(target)
        finally:
            target.close()


def _in_tx(fn: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
    return result


def _split_sql(script: str) -> list[str]:
    """Splits a migration into statements; sqlite3.complete_statement keeps a CREATE TRIGGER
    whole up to the END of its body (executescript would commit outside our transaction)."""
    body = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    out: list[str] = []
    pending = ""
    for part in body.split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n\t;"):
                out.append(pending.strip().removesuffix(";").strip())
            pending = ""
    if pending.strip(" \n\t;"):
        out.append(pending.strip().removesuffix(";").strip())
    return out


async def open_database(path: str | Path) -> Database:
    """Opens the database and brings its schema up to date."""
    db = await Database.open(path)
    try:
        await db.migrate()
    except BaseException:
        await db.close()
        raise
    return db
