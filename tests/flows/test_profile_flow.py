"""bot.members.profile on a temporary SQLite: /lang stores a language the bot speaks (and
nothing else), /me finds the group's leader."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.members import profile
from storage.db import Database, open_database
from tests.helpers import SMALL_ROSTER, TZ, load_roster, make_config, member

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    cfg = make_config(tmp_path)
    await load_roster(cfg, SMALL_ROSTER, NOW)
    database = await open_database(cfg.db_path)
    try:
        yield database
    finally:
        await database.close()



async def test_set_language(db: Database) -> None:
    t1 = await member(db, "T1")
    updated = await profile.set_language(db, t1.pk, "en", NOW)
    assert updated is not None and updated.language == "en"
    assert await profile.set_language(db, t1.pk, "fr", NOW) is None
    assert await profile.set_language(db, 999999, "en", NOW) is None
    assert (await member(db, "T1")).language == "en"


async def test_group_leader(db: Database) -> None:
    t1 = await member(db, "T1")
    assert t1.group_id is not None
    leader = await profile.group_leader(db, t1.group_id)
    assert leader is not None and leader.member_id == "L1"
