"""bot.members.announce on a temporary SQLite: an audience's reach, one transaction queueing
the announcement to the registered recipients only (and only for a current HR author), and the
progress line until everything is delivered."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.config import Config
from bot.members import announce
from storage import members as members_repo
from storage.db import Database
from tests.helpers import TZ, registered_db

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[tuple[Database, Config, dict[str, int]]]:
    """SMALL_ROSTER with everyone but T2 registered."""
    async with registered_db(tmp_path, NOW, ("L1", "T1", "L2", "T3", "H1")) as world:
        yield world


async def test_a_group_announcement_reaches_the_registered(
    seeded: tuple[Database, Config, dict[str, int]],
) -> None:
    db, cfg, pks = seeded
    first = next(g for g, name in await _groups(db) if name == "第一组")
    assert await announce.group_name(db, first) == "第一组"
    assert await announce.group_name(db, 999999) is None
    assert await announce.reach(db, "group", first) == announce.Reach(3, 2)  # T2 unregistered
    draft = announce.Draft("group", first, "明天下午三点开会。")
    ann_id = await announce.send(db, cfg, pks["H1"], draft, NOW, (9005, 77))
    assert ann_id is not None
    rows = await db.fetchall("SELECT member_pk FROM outbox WHERE kind = ?",
                             (f"announce:{ann_id}",))
    assert sorted(int(r[0]) for r in rows) == sorted([pks["L1"], pks["T1"]])
    line = await announce.progress_line(db, ann_id, "zh")
    assert line is not None and (line.chat_id, line.message_id) == (9005, 77)
    assert not line.done
    assert await announce.unfinished(db) == [ann_id]
    await _mark_sent(db)
    line = await announce.progress_line(db, ann_id, "zh")
    assert line is not None and line.done
    await announce.finish(db, ann_id, NOW)
    assert await announce.unfinished(db) == []


async def test_only_a_current_hr_member_sends(
    seeded: tuple[Database, Config, dict[str, int]],
) -> None:
    db, cfg, pks = seeded
    draft = announce.Draft("all", None, "通知")
    assert await announce.send(db, cfg, pks["L1"], draft, NOW) is None
    assert await db.fetchall("SELECT id FROM announcements") == []
    assert await db.fetchall("SELECT id FROM outbox") == []


async def _groups(db: Database) -> list[tuple[int, str]]:
    async with db.read() as conn:
        return await members_repo.groups(conn)


async def _mark_sent(db: Database) -> None:
    async with db.tx() as conn:
        await conn.execute("UPDATE outbox SET status = 'sent'")
