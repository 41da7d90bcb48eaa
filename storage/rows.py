"""Rows to records, and the query shapes every repository repeats.

A record dataclass that inherits `FromRow` gets `from_row`: each field is read from the column
of the same name, positionally in field order; the class's `COLUMNS` declares the exceptions
once, a field read from a column of another name (`"pk": "id"`) or computed from the row
(`"active": cast("active", bool)`, or any function of the row). The field list is worked out
on a class's first row and kept, so a row costs one C-level `itemgetter` over the plain
columns plus a call per computed field (the check-in hot path reads a member and activities).

The fetch helpers take a connection (aiosqlite's, or the reader's) and parameterised SQL only.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from operator import itemgetter
from typing import Any, ClassVar, Generic, Self, TypeVar

import aiosqlite

T = TypeVar("T")

# How a field is read: the name of its column, or a function of the whole row.
Column = str | Callable[[sqlite3.Row], Any]
# A class's exceptions: field name -> how it is read (`COLUMNS: ClassVar[Columns] = {...}`).
Columns = Mapping[str, Column]

# SQLite's limit on `?`s in one statement is 32766 (999 before 3.32); lists go in chunks.
CHUNK = 500


def cast(column: str, convert: Callable[[Any], Any]) -> Callable[[sqlite3.Row], Any]:
    """A field read from `column` and passed through `convert` (bool, float, json.loads...)."""

    def read(row: sqlite3.Row) -> Any:
        return convert(row[column])

    return read


class FromRow:
    """Mixin of a record dataclass: `from_row` maps a row to it, by `COLUMNS` and field names."""

    __slots__ = ()
    COLUMNS: ClassVar[Columns] = {}

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Self:
        try:
            read = _READERS[cls]
        except KeyError:
            read = _READERS[cls] = _reader(cls)
        record: Self = read(row)
        return record


_READERS: dict[type, Callable[[sqlite3.Row], Any]] = {}


def _reader(cls: type[FromRow]) -> Callable[[sqlite3.Row], Any]:
    """The function that makes a `cls` of a row, built once per class."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = set(cls.COLUMNS) - set(names)
    if unknown:
        raise TypeError(f"{cls.__name__}.COLUMNS names no field: {sorted(unknown)}")
    plain: list[str] = []
    computed: list[tuple[int, Callable[[sqlite3.Row], Any]]] = []
    for position, name in enumerate(names):
        spec = cls.COLUMNS.get(name, name)
        if isinstance(spec, str):
            plain.append(spec)
        else:
            computed.append((position, spec))
    get = _getter(plain)
    if not computed:
        return lambda row: cls(*get(row))

    def read(row: sqlite3.Row) -> Any:
        values = list(get(row))
        # Ascending positions: each computed value lands where its field stands.
        for position, compute in computed:
            values.insert(position, compute(row))
        return cls(*values)

    return read


def _getter(columns: Sequence[str]) -> Callable[[sqlite3.Row], Sequence[Any]]:
    """The values of `columns` of a row, as a tuple (itemgetter of one column is no tuple)."""
    if len(columns) > 1:
        return itemgetter(*columns)
    return lambda row: tuple(row[c] for c in columns)


# -- fetching -----------------------------------------------------------------------------------


async def fetch_one(
    conn: aiosqlite.Connection, sql: str, params: Iterable[Any],
    make: Callable[[sqlite3.Row], T],
) -> T | None:
    """`make` of the first row of `sql`, or None when there is none. For lookups by a key or
    with LIMIT 1: every row is fetched (in one hop to the database thread, not three)."""
    for row in await conn.execute_fetchall(sql, tuple(params)):
        return make(row)
    return None


async def fetch_all(
    conn: aiosqlite.Connection, sql: str, params: Iterable[Any],
    make: Callable[[sqlite3.Row], T],
) -> list[T]:
    """`make` of each row of `sql`, in order."""
    return [make(row) for row in await conn.execute_fetchall(sql, tuple(params))]


async def exists(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> bool:
    """Whether `sql` finds a row."""
    return bool(await conn.execute_fetchall(sql, tuple(params)))


async def fetch_value(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> Any:
    """The first column of the first row of `sql` (None when it finds no row)."""
    for row in await conn.execute_fetchall(sql, tuple(params)):
        return row[0]
    return None


async def fetch_rows(
    conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()
) -> list[sqlite3.Row]:
    """Every row of `sql`, as a list."""
    return list(await conn.execute_fetchall(sql, tuple(params)))


class Select(Generic[T]):
    """A `SELECT ... FROM ...` whose rows become records; each use adds its WHERE (conditions,
    then any ORDER BY and LIMIT) and the parameters of its `?`s."""

    def __init__(self, sql: str, make: Callable[[sqlite3.Row], T]) -> None:
        self.sql = sql
        self.make = make

    async def one(self, conn: aiosqlite.Connection, where: str, *params: Any) -> T | None:
        """The record of the first row (a lookup by a key, or with LIMIT 1), if any."""
        return await fetch_one(conn, f"{self.sql} WHERE {where}", params, self.make)

    async def all(self, conn: aiosqlite.Connection, where: str, *params: Any) -> list[T]:
        """The records of every row, in order."""
        return await fetch_all(conn, f"{self.sql} WHERE {where}", params, self.make)


def marks(values: Sized) -> str:
    """`?,?,?`: one placeholder per value, for `IN (...)`."""
    return ",".join("?" * len(values))


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """`values` in slices of at most `size`, to keep under SQLite's variable limit."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def fetch_in(
    conn: aiosqlite.Connection, sql: Callable[[str], str], values: Sequence[Any], *before: Any
) -> list[sqlite3.Row]:
    """The rows of `sql(marks)` (a statement with `IN ({marks})`) run once per chunk of
    `values`; the parameters `before` precede each chunk's values."""
    found: list[sqlite3.Row] = []
    for chunk in chunks(values):
        found += await conn.execute_fetchall(sql(marks(chunk)), (*before, *chunk))
    return found


# -- writing ------------------------------------------------------------------------------------


async def changed(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> bool:
    """Runs a conditional write; whether it changed (or inserted) a row."""
    cur = await conn.execute(sql, tuple(params))
    return cur.rowcount > 0


async def new_id(conn: aiosqlite.Connection, sql: str, params: Iterable[Any]) -> int:
    """Runs an INSERT that always adds a row; the new row's id."""
    cur = await conn.execute(sql, tuple(params))
    assert cur.lastrowid is not None
    return cur.lastrowid


async def new_id_or_none(
    conn: aiosqlite.Connection, sql: str, params: Iterable[Any]
) -> int | None:
    """Runs an INSERT ... ON CONFLICT DO NOTHING; the new row's id, None when it added none."""
    cur = await conn.execute(sql, tuple(params))
    return cur.lastrowid if cur.rowcount else None


async def table_exists(conn: aiosqlite.Connection, name: str) -> bool:
    """Whether the database has a table `name` (a feature's tables may not have landed yet)."""
    return await exists(
        conn, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    )
