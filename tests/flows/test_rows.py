"""storage.rows: rows become records by field name (with the exceptions a class declares), and
the fetch and write helpers the repositories share, on a real SQLite connection."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import aiosqlite
import pytest

from storage import rows
from storage.db import open_database
from storage.members import _SELECT as MEMBERS
from storage.models import Member
from storage.rows import Columns, FromRow, Select, cast
from storage.where import Where


@dataclass(frozen=True, slots=True)
class Thing(FromRow):
    pk: int
    name: str
    tags: list[str]
    shout: str
    done: bool

    COLUMNS: ClassVar[Columns] = {
        "pk": "id",
        "tags": cast("tags", json.loads),
        "shout": lambda row: row["name"].upper(),
        "done": cast("done", bool),
    }


@dataclass(frozen=True, slots=True)
class Lone(FromRow):
    name: str


@pytest.fixture
async def conn() -> AsyncIterator[aiosqlite.Connection]:
    db = await aiosqlite.connect(":memory:")
    db.row_factory = aiosqlite.Row
    await db.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT UNIQUE, tags TEXT,"
                     " done INTEGER)")
    await db.executemany("INSERT INTO things (name, tags, done) VALUES (?, ?, ?)",
                         [(f"t{i}", json.dumps([str(i)]), i % 2) for i in range(1, 1201)])
    try:
        yield db
    finally:
        await db.close()


async def test_from_row_reads_fields_by_name_and_the_declared_exceptions(
    conn: aiosqlite.Connection,
) -> None:
    row = (await conn.execute_fetchall("SELECT * FROM things WHERE id = 3"))[0]
    assert Thing.from_row(row) == Thing(pk=3, name="t3", tags=["3"], shout="T3", done=True)
    assert Thing.from_row(row) == Thing.from_row(row)  # the second one from the cached reader
    lone = (await conn.execute_fetchall("SELECT name FROM things WHERE id = 1"))[0]
    assert Lone.from_row(lone) == Lone("t1")


def test_columns_naming_no_field_is_refused() -> None:
    @dataclass(frozen=True, slots=True)
    class Typo(FromRow):
        pk: int

        COLUMNS: ClassVar[Columns] = {"pkk": "id"}

    row = sqlite3.connect(":memory:")
    row.row_factory = sqlite3.Row
    with pytest.raises(TypeError, match="pkk"):
        Typo.from_row(row.execute("SELECT 1 AS id").fetchone())


async def test_member_from_a_members_row(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "a.sqlite3")
    try:
        async with db.tx() as c:
            await c.execute("INSERT INTO groups (name, created_at) VALUES ('g', 'now')")
            await c.execute(
                "INSERT INTO members (member_id, name, role, group_id, school, stage, active,"
                " telegram_id, language, created_at, updated_at)"
                " VALUES ('T1', 'Ann', 'trainee', 1, 'S', 'x', 0, 77, 'en', 'now', 'now')")
        row = await db.fetchone(f"{MEMBERS} WHERE m.id = 1")
        assert row is not None
        assert Member.from_row(row) == Member(
            pk=1, member_id="T1", name="Ann", role="trainee", group_id=1, group_name="g",
            school="S", stage="x", active=False, telegram_id=77, language="en",
            registered_at=None, unreachable_at=None)
    finally:
        await db.close()


async def test_fetch_helpers(conn: aiosqlite.Connection) -> None:
    def name(row: sqlite3.Row) -> str:
        return str(row["name"])

    assert await rows.fetch_one(conn, "SELECT name FROM things WHERE id = ?", (2,), name) == "t2"
    assert await rows.fetch_one(conn, "SELECT name FROM things WHERE id = ?", (0,), name) is None
    assert await rows.fetch_all(
        conn, "SELECT name FROM things WHERE id < ? ORDER BY id DESC", (3,), name
    ) == ["t2", "t1"]
    assert await rows.exists(conn, "SELECT 1 FROM things WHERE name = ?", ("t9",))
    assert not await rows.exists(conn, "SELECT 1 FROM things WHERE name = ?", ("x",))
    assert await rows.fetch_value(conn, "SELECT COUNT(*) FROM things") == 1200
    assert await rows.fetch_value(conn, "SELECT id FROM things WHERE id = 0") is None
    first = await rows.fetch_rows(conn, "SELECT id FROM things ORDER BY id LIMIT 2")
    assert [r[0] for r in first] == [1, 2]
    assert await rows.table_exists(conn, "things")
    assert not await rows.table_exists(conn, "nothing")


async def test_fetch_in_runs_once_per_chunk_with_the_leading_parameters(
    conn: aiosqlite.Connection,
) -> None:
    seen: list[str] = []

    def sql(marks: str) -> str:
        seen.append(marks)
        return f"SELECT id FROM things WHERE done = ? AND id IN ({marks}) ORDER BY id"

    wanted = list(range(1, 1201))
    found = await rows.fetch_in(conn, sql, wanted, 1)
    assert [r[0] for r in found] == list(range(1, 1201, 2))
    assert [m.count("?") for m in seen] == [500, 500, 200]
    assert await rows.fetch_in(conn, sql, []) == []


async def test_select_adds_its_where(conn: aiosqlite.Connection) -> None:
    things = Select("SELECT * FROM things", Thing.from_row)
    one = await things.one(conn, "name = ?", "t5")
    assert one is not None and one.pk == 5
    assert await things.one(conn, "name = ?", "nope") is None
    where = Where().among("id", [4, 2, 9]).add("done = ?", 0)
    assert [t.pk for t in await things.all(conn, f"{where.sql} ORDER BY id", *where.params)] == [
        2, 4]


async def test_write_helpers(conn: aiosqlite.Connection) -> None:
    insert = "INSERT INTO things (name, tags, done) VALUES (?, '[]', 0)"
    assert await rows.new_id(conn, insert, ("new",)) == 1201
    again = insert + " ON CONFLICT (name) DO NOTHING"
    assert await rows.new_id_or_none(conn, again, ("new",)) is None
    assert await rows.new_id_or_none(conn, again, ("newer",)) == 1202
    update = "UPDATE things SET done = 1 WHERE name = ? AND done = 0"
    assert await rows.changed(conn, update, ("new",))
    assert not await rows.changed(conn, update, ("new",))


def test_where_among() -> None:
    where = Where("a = 1").among("b", ["x", "y"])
    assert (where.sql, where.params) == ("a = 1 AND b IN (?,?)", ["x", "y"])
    assert rows.marks([1, 2, 3]) == "?,?,?"
