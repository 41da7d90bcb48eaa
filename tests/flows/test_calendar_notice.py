"""HR is told once, in the daily digest, that a year's make-up working days (调休) are not known
(issue 16): from 1 December of the year before, or in the first digest after installation;
never when the library or `[calendar] extra_workdays` knows them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bot import features
from bot.core.i18n import t
from bot.core.services import Services
from bot.reminders import digest
from storage import members as members_repo
from storage.db import Database, open_database, ts
from tests.helpers import SMALL_ROSTER, TZ, load_roster, make_config

NOTICE_2027 = t("zh", "digest.calendar.unscheduled", year=2027)


def at(month: int, day: int, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, 8, 30, tzinfo=TZ)


@pytest.fixture
async def opened() -> AsyncIterator[list[Database]]:
    dbs: list[Database] = []
    yield dbs
    for db in dbs:
        await db.close()


async def hr_bot(tmp_path: Path, opened: list[Database], **calendar: Any) -> Services:
    """SMALL_ROSTER with H1 registered; the features' digest sections installed."""
    features.install()
    cfg = make_config(tmp_path, calendar=calendar) if calendar else make_config(tmp_path)
    await load_roster(cfg, SMALL_ROSTER, at(11, 1))
    db = await open_database(cfg.db_path)
    opened.append(db)
    async with db.tx() as conn:
        h1 = await members_repo.by_member_id(conn, "H1")
        assert h1 is not None
        await members_repo.link_telegram(conn, h1.pk, 9006, "zh", ts(at(11, 1)))
    return cast(Services, SimpleNamespace(config=cfg, db=db))


async def digest_texts(services: Services, now: dt.datetime) -> str:
    """Runs HR's due digest at `now`; the text it queued ("" for none)."""
    before = await _texts(services.db)
    await digest.hr_due(services, now)
    return "\n".join((await _texts(services.db))[len(before):])


async def _texts(db: Database) -> list[str]:
    async with db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT payload FROM outbox WHERE kind = 'digest.hr' ORDER BY id")
    return [json.loads(r[0])["text"] for r in rows]


async def test_told_once_from_the_first_of_december(
    tmp_path: Path, opened: list[Database]
) -> None:
    services = await hr_bot(tmp_path, opened)
    assert await digest_texts(services, at(11, 27)) == ""  # the baseline
    november = await digest_texts(services, at(11, 30))
    assert november and NOTICE_2027 not in november
    first = await digest_texts(services, at(12, 1))
    assert NOTICE_2027 in first
    assert t("zh", "digest.section.pending") in first
    assert NOTICE_2027 not in await digest_texts(services, at(12, 2))
    assert NOTICE_2027 not in await digest_texts(services, at(12, 3))
    # In 2027 itself the notice is not repeated either.
    assert NOTICE_2027 not in await digest_texts(services, at(1, 4, 2027))


async def test_told_in_the_first_digest_after_installation(
    tmp_path: Path, opened: list[Database]
) -> None:
    services = await hr_bot(tmp_path, opened)
    assert await digest_texts(services, at(3, 1, 2027)) == ""  # installed in March 2027
    assert NOTICE_2027 in await digest_texts(services, at(3, 2, 2027))
    assert NOTICE_2027 not in await digest_texts(services, at(3, 3, 2027))


async def test_not_told_when_the_config_lists_the_make_up_days(
    tmp_path: Path, opened: list[Database]
) -> None:
    services = await hr_bot(tmp_path, opened, extra_workdays=["2027-02-20"])
    await digest_texts(services, at(11, 30))
    text = await digest_texts(services, at(12, 1))
    assert text and NOTICE_2027 not in text


def test_the_notice_says_how_to_add_the_days() -> None:
    for lang in ("zh", "en"):
        text = t(lang, "digest.calendar.unscheduled", year=2027)
        assert "2027" in text and "[calendar]" in text and "extra_workdays" in text
