"""The database: migrations recorded once, WAL and foreign keys on, online backup, timestamps."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cli import main
from storage.db import Database, migrations, open_database, parse_ts, ts
from tests.helpers import write_config_file


async def test_migrations_apply_once(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "a.sqlite3")
    try:
        first = await db.migrate()
        assert first == [name for _, name, _ in migrations()]
        assert await db.migrate() == []
        assert await db.schema_version() == migrations()[-1][0]
        row = await db.fetchone("PRAGMA journal_mode")
        assert row is not None and row[0] == "wal"
        row = await db.fetchone("PRAGMA foreign_keys")
        assert row is not None and row[0] == 1
    finally:
        await db.close()


async def test_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "a.sqlite3")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            async with db.tx() as conn:
                await conn.execute(
                    "INSERT INTO groups (name, created_at) VALUES ('g', '2026-01-01 00:00:00')"
                )
                await conn.execute(
                    "INSERT INTO groups (name, created_at) VALUES ('g', '2026-01-01 00:00:00')"
                )
        row = await db.fetchone("SELECT COUNT(*) FROM groups")
        assert row is not None and row[0] == 0
    finally:
        await db.close()


def test_migrate_and_backup_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config_file(tmp_path / "c.toml", tmp_path / "live.sqlite3")
    assert main(["db", "migrate", "--config", str(cfg)]) == 0
    assert "0001_init.sql" in capsys.readouterr().out
    assert main(["db", "migrate", "--config", str(cfg)]) == 0
    assert "applied" not in capsys.readouterr().out
    out = tmp_path / "backup" / "copy.sqlite3"
    assert main(["backup", "--config", str(cfg), "--out", str(out)]) == 0
    with sqlite3.connect(out) as copy:
        tables = {r[0] for r in copy.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"members", "outbox", "schema_migrations"} <= tables


@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1),
                    timezones=st.just(dt.UTC)))
def test_timestamps_round_trip_to_the_second(when: dt.datetime) -> None:
    assert parse_ts(ts(when)) == when.replace(microsecond=0)


async def test_reader_sees_only_committed_data_and_cannot_write(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "a.sqlite3")
    sql = "SELECT COUNT(*) FROM groups"
    try:
        async with db.tx() as conn:
            await conn.execute(
                "INSERT INTO groups (name, created_at) VALUES ('g', '2026-01-01 00:00:00')")
            async with db.reader() as reader:  # a transaction half done is not seen
                assert (await reader.execute_fetchall(sql))[0][0] == 0
        async with db.reader() as reader:  # ...and is, once committed
            assert (await reader.execute_fetchall(sql))[0][0] == 1
            with pytest.raises(sqlite3.OperationalError):
                await reader.execute("DELETE FROM groups")
        assert (await db.fetchall(sql))[0][0] == 1
    finally:
        await db.close()


async def test_one_hop_transaction_commits_or_rolls_back(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "a.sqlite3")
    insert = "INSERT INTO groups (name, created_at) VALUES (?, '2026-01-01 00:00:00')"

    def good(conn: sqlite3.Connection) -> int:
        return int(conn.execute(insert, ("a",)).rowcount)

    def bad(conn: sqlite3.Connection) -> None:
        conn.execute(insert, ("b",))
        conn.execute(insert, ("b",))  # UNIQUE name

    try:
        assert await db.run_tx(good) == 1
        with pytest.raises(sqlite3.IntegrityError):
            await db.run_tx(bad)
        rows = await db.fetchall("SELECT name FROM groups ORDER BY name")
        assert [r[0] for r in rows] == ["a"]
    finally:
        await db.close()


@pytest.mark.parametrize("text", ["2026-03-02 09:00:00", "2026-12-31 23:59:59"])
def test_parse_ts_fast_path_agrees_with_strptime(text: str) -> None:
    slow = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    assert parse_ts(text) == slow


@pytest.mark.parametrize("text", ["2026-03-02", "2026-03-02T09:00:00", "2026-03-02 09:00+08",
                                  "2026-03-02 9:00:00 ", "nonsense"])
def test_parse_ts_refuses_other_shapes(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ts(text)
