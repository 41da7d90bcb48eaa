"""bot.members.admin.perform on a temporary SQLite: only a current HR member may change
anything, a repeated confirm changes nothing, and a new leader names whose menus change."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.config import Config
from bot.members import admin
from storage.db import Database
from tests.helpers import TZ, registered_db

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[tuple[Database, Config, dict[str, int]]]:
    """SMALL_ROSTER, everyone but T2 registered."""
    async with registered_db(tmp_path, NOW, ("L1", "T1", "L2", "T3", "H1")) as world:
        yield world


async def group_id(db: Database, name: str) -> int:
    return dict((n, g) for g, n in await admin.groups(db))[name]


async def test_only_hr_may_perform(seeded: tuple[Database, Config, dict[str, int]]) -> None:
    db, cfg, pks = seeded
    for actor in ("L1", "T1"):
        with pytest.raises(admin.AdminError) as refused:
            await admin.perform(db, cfg, pks[actor], "off", pks["T2"], None, "bot", NOW)
        assert refused.value.key == "error.forged"
    with pytest.raises(admin.AdminError):
        await admin.perform(db, cfg, pks["H1"], "mv", pks["T2"], None, "bot", NOW)  # no group
    member = await admin.member(db, pks["T2"])
    assert member is not None and member.active


async def test_a_move_is_made_once(seeded: tuple[Database, Config, dict[str, int]]) -> None:
    db, cfg, pks = seeded
    second = await group_id(db, "第二组")
    performed = await admin.perform(db, cfg, pks["H1"], "mv", pks["T1"], second, "bot", NOW)
    assert performed.done.key == "admin.done_moved" and performed.role_changed == []
    moved = await admin.member(db, pks["T1"])
    assert moved is not None and moved.group_id == second
    told = await db.fetchall("SELECT member_pk FROM outbox ORDER BY id")
    assert {int(r[0]) for r in told} == {pks["T1"], pks["L1"], pks["L2"]}
    with pytest.raises(admin.AdminError) as again:
        await admin.perform(db, cfg, pks["H1"], "mv", pks["T1"], second, "bot", NOW)
    assert again.value.key == "admin.no_change"


async def test_a_new_leader_changes_two_menus(
    seeded: tuple[Database, Config, dict[str, int]],
) -> None:
    db, cfg, pks = seeded
    first = await group_id(db, "第一组")
    performed = await admin.perform(db, cfg, pks["H1"], "ld", pks["T1"], first, "bot", NOW)
    assert performed.done.key == "admin.done_leader"
    assert {(m.member_id, m.role) for m in performed.role_changed} == {
        ("T1", "leader"), ("L1", "trainee")}
    member, group = await admin.subject(db, pks["T1"], first)
    assert member.role == "leader" and group == "第一组"
    with pytest.raises(admin.AdminError):
        await admin.subject(db, pks["T1"], 999999)
