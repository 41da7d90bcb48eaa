"""bot.reminders.activity on a temporary SQLite: the due check queues each reminder once, to
the participants who are not muted that day, and the mutes merge and lift as /mute shows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest

from bot.core.config import Config
from bot.core.services import Services
from bot.reminders import activity
from bot.reminders.rules import DayRange
from storage import activities as activities_repo
from storage import members as members_repo
from storage.db import Database, open_database, ts
from tests.helpers import SMALL_ROSTER, TZ, load_roster, make_config

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
START = dt.datetime(2026, 3, 3, 15, 0, tzinfo=TZ)  # tomorrow afternoon
DAY_BEFORE = dt.datetime(2026, 3, 2, 19, 0, tzinfo=TZ)  # [reminders] day_before_at


@dataclasses.dataclass
class FakeServices:
    """What the due check uses of Services: the config and the database."""

    config: Config
    db: Database


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[tuple[Database, Config, dict[str, int]]]:
    """SMALL_ROSTER with 第一组 (L1, T1, T2) registered and one activity of theirs tomorrow."""
    cfg = make_config(tmp_path)
    await load_roster(cfg, SMALL_ROSTER, NOW - dt.timedelta(days=30))
    db = await open_database(cfg.db_path)
    async with db.tx() as conn:
        pks = {m.member_id: m.pk for m in await members_repo.all_members(conn)}
        for i, member_id in enumerate(("L1", "T1", "T2"), start=1):
            await members_repo.link_telegram(conn, pks[member_id], 9000 + i, "zh", ts(NOW))
        groups = await activities_repo.group_ids_by_name(conn)
        await activities_repo.insert(
            conn, activity_id="G1", type="group_study", title="读书交流",
            group_id=groups["第一组"], start_at=ts(START),
            end_at=ts(START + dt.timedelta(hours=2)), location="会议室", lat=None, lon=None,
            radius_m=None, host_pk=pks["T1"], secret="s", source="import", created_by=None,
            now=ts(NOW),
        )
    try:
        yield db, cfg, pks
    finally:
        await db.close()


async def reminded(db: Database) -> dict[int, list[str]]:
    """{member pk: [the reminder texts queued for them]}."""
    rows = await db.fetchall(
        "SELECT member_pk, payload FROM outbox WHERE kind LIKE 'remind.%' ORDER BY id")
    out: dict[int, list[str]] = {}
    for row in rows:
        out.setdefault(int(row[0]), []).append(json.loads(row[1])["text"])
    return out


async def test_the_day_before_reminder_goes_once_and_skips_the_muted(
    seeded: tuple[Database, Config, dict[str, int]],
) -> None:
    db, cfg, pks = seeded
    services = cast(Services, FakeServices(cfg, db))
    await activity.mute(db, pks["T2"], DayRange(START.date(), START.date()), NOW)
    due = activity.activity_reminders_due
    assert await due(services, DAY_BEFORE - dt.timedelta(minutes=1)) == 0
    assert await due(services, DAY_BEFORE) == 2
    assert await due(services, DAY_BEFORE + dt.timedelta(minutes=5)) == 0
    texts = await reminded(db)
    assert set(texts) == {pks["L1"], pks["T1"]}
    assert all(len(t) == 1 and "读书交流" in t[0] for t in texts.values())


async def test_mutes_merge_and_unmute_frees_today_on(
    seeded: tuple[Database, Config, dict[str, int]],
) -> None:
    db, _, pks = seeded
    today = NOW.date()
    t1 = pks["T1"]
    assert await activity.mutes(db, t1, today) == []
    assert not await activity.unmute(db, t1, NOW)
    new, ranges = await activity.mute_days(db, t1, 3, NOW)
    assert new == DayRange(today, today + dt.timedelta(days=2))
    later = DayRange(today + dt.timedelta(days=3), today + dt.timedelta(days=4))
    assert await activity.mute(db, t1, later, NOW) == [
        DayRange(today, today + dt.timedelta(days=4))]
    assert ranges == [new]
    assert await activity.unmute(db, t1, NOW)
    assert await activity.mutes(db, t1, today) == []
