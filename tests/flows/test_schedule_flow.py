"""What /schedule and /upcoming read through bot.activities.scheduling, on a temporary SQLite:
a group's upcoming activities, the host proposals, a member's next activities with their leave
status, and whether a picked activity may still be moved or cancelled (and by whom)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.activities import scheduling
from storage import activities as activities_repo
from storage.db import Database, open_database, ts
from tests.helpers import SMALL_ROSTER, TZ, load_roster, make_config, member

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """SMALL_ROSTER; 第一组 has G1 tomorrow and G0 (started an hour ago), 第二组 has G2."""
    cfg = make_config(tmp_path)
    await load_roster(cfg, SMALL_ROSTER, NOW - dt.timedelta(days=30))
    database = await open_database(cfg.db_path)
    async with database.tx() as conn:
        groups = await activities_repo.group_ids_by_name(conn)
        for aid, group, start in (
            ("G1", "第一组", NOW + dt.timedelta(days=1)),
            ("G0", "第一组", NOW - dt.timedelta(hours=1)),
            ("G2", "第二组", NOW + dt.timedelta(days=2)),
        ):
            await activities_repo.insert(
                conn, activity_id=aid, type="group_study", title=f"活动{aid}",
                group_id=groups[group], start_at=ts(start),
                end_at=ts(start + dt.timedelta(hours=2)), location="", lat=None, lon=None,
                radius_m=None, host_pk=None, secret="s", source="import", created_by=None,
                now=ts(NOW),
            )
    try:
        yield database
    finally:
        await database.close()



async def pk_of(db: Database, activity_id: str) -> int:
    row = await db.fetchone("SELECT id FROM activities WHERE activity_id = ?", (activity_id,))
    assert row is not None
    return int(row[0])


async def test_group_upcoming_and_hosts(db: Database) -> None:
    l1 = await member(db, "L1")
    assert l1.group_id is not None
    upcoming = await scheduling.group_upcoming(db, l1.group_id, NOW)
    assert [a.activity_id for a in upcoming] == ["G1"]
    hosts = await scheduling.host_proposals(db, l1.group_id)
    assert {m.member_id for m in hosts} == {"L1", "T1", "T2"}


async def test_upcoming_for_a_member_and_for_hr(db: Database) -> None:
    t1 = await member(db, "T1")
    mine = await scheduling.upcoming_for(db, t1, NOW, limit=10)
    assert [a.activity_id for a in mine.activities] == ["G0", "G1"]  # G0 has not ended yet
    assert mine.records == {} and mine.leave == {}
    everyone = await scheduling.upcoming_for(db, await member(db, "H1"), NOW, limit=10)
    assert {a.activity_id for a in everyone.activities} == {"G0", "G1", "G2"}


async def test_changeable_only_by_the_own_leader_before_the_start(
    db: Database, tmp_path: Path
) -> None:
    l1, l2 = await member(db, "L1"), await member(db, "L2")
    g1, g0 = await pk_of(db, "G1"), await pk_of(db, "G0")
    refused, activity = await scheduling.changeable(db, l1, g1, NOW)
    assert refused is None and activity is not None and activity.activity_id == "G1"
    assert (await scheduling.changeable(db, l2, g1, NOW))[0] == "forbidden"
    assert (await scheduling.changeable(db, l1, g0, NOW))[0] == "started"
    assert (await scheduling.changeable(db, l1, 999999, NOW)) == ("not_found", None)
    outcome, _ = await scheduling.cancel_activity(db, make_config(tmp_path), l1, g1, NOW)
    assert outcome == "ok"
    assert (await scheduling.changeable(db, l1, g1, NOW))[0] == "cancelled"
