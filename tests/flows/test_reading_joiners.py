"""The monthly reading nudge for members who joined during the year (issue 16): pace counts
from the day they registered, nobody is nudged in their first week, and the suggestion is true
of the catalog that exists (none imported, or every required book logged)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bot.core.i18n import t
from bot.core.services import Services
from bot.documents.tables import read_table
from bot.reading import flow
from bot.reading.books import COLUMNS, import_books, validate_books
from storage import members as members_repo
from storage.db import Database, open_database, ts
from tests.helpers import SMALL_ROSTER, TZ, load_roster, make_config, said

SAMPLE_BOOKS = Path(__file__).resolve().parents[2] / "bot" / "samples" / "books.csv"
LONG_AGO = dt.datetime(2025, 11, 20, 10, 0, tzinfo=TZ)
TELEGRAM = {"L1": 9001, "T1": 9002, "T2": 9003, "L2": 9004, "T3": 9005}


async def world(tmp_path: Path, joined: dict[str, dt.datetime], *, books: bool) -> Database:
    """SMALL_ROSTER; each member in `joined` registered at that moment (HR does not read)."""
    cfg = make_config(tmp_path)
    await load_roster(cfg, SMALL_ROSTER, LONG_AGO)
    db = await open_database(cfg.db_path)
    if books:
        entries, problems = validate_books(read_table(SAMPLE_BOOKS, COLUMNS))
        assert not problems
        await import_books(db, entries, LONG_AGO)
    async with db.tx() as conn:
        pk = {m.member_id: m.pk for m in await members_repo.all_members(conn)}
        for member_id, when in joined.items():
            await members_repo.link_telegram(conn, pk[member_id], TELEGRAM[member_id], "zh",
                                             ts(when))
    return db


@pytest.fixture
async def dbs() -> AsyncIterator[list[Database]]:
    opened: list[Database] = []
    yield opened
    for db in opened:
        await db.close()


async def nudges(db: Database) -> dict[int, str]:
    """Chat id -> text of every reading nudge queued."""
    async with db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT chat_id, payload FROM outbox WHERE kind = 'reading.nudge' ORDER BY id")
    return {int(r[0]): json.loads(r[1])["text"] for r in rows}


def services(tmp_path: Path, db: Database) -> Services:
    return cast(Services, SimpleNamespace(config=make_config(tmp_path), db=db))


def at(month: int, day: int, hour: int = 9, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, 0, tzinfo=TZ)


async def test_a_member_who_registers_in_december_is_not_nudged(
    tmp_path: Path, dbs: list[Database]
) -> None:
    # T1 has been in since 2025 (5 behind on 1 December); T3 registers on 4 December, and the
    # December nudge is caught up that day and through the week: T3 hears nothing.
    db = await world(tmp_path, {"T1": LONG_AGO, "T3": at(12, 4, 10)}, books=True)
    dbs.append(db)
    assert await flow.nudge_due(services(tmp_path, db), at(12, 4, 11)) == 1
    for day in range(5, 12):
        assert await flow.nudge_due(services(tmp_path, db), at(12, day, 11)) == 0
    sent = await nudges(db)
    assert list(sent) == [TELEGRAM["T1"]]
    assert said(sent[TELEGRAM["T1"]], "reading.nudge.text", expected=5, behind=5)
    # January: a new year, nobody is behind on its first day.
    assert await flow.nudge_due(services(tmp_path, db), at(1, 4, 10, year=2027)) == 0


async def test_a_joiner_counts_from_the_day_they_joined(
    tmp_path: Path, dbs: list[Database]
) -> None:
    # Joined on 1 July: on 1 December, 153 days in, 6 x 153/365 = 2.5 -> 2 books due (not 5).
    # Joined on 25 November: nothing due, and within a week anyway.
    db = await world(tmp_path, {"T1": at(7, 1, 8), "T3": at(11, 25, 8)}, books=True)
    dbs.append(db)
    assert await flow.nudge_due(services(tmp_path, db), at(12, 1)) == 1
    [text] = (await nudges(db)).values()
    assert said(text, "reading.nudge.text_joined", joined="2026-07-01", target=6, expected=2,
                books=0, behind=2)
    assert not said(text, "reading.nudge.text")


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_without_a_catalog_the_nudge_does_not_say_every_required_book_is_logged(
    tmp_path: Path, dbs: list[Database], lang: str
) -> None:
    db = await world(tmp_path, {"T1": LONG_AGO}, books=False)
    dbs.append(db)
    async with db.tx() as conn:
        await conn.execute("UPDATE members SET language = ?", (lang,))
    assert await flow.nudge_due(services(tmp_path, db), at(12, 1)) == 1
    [text] = (await nudges(db)).values()
    assert t(lang, "reading.nudge.no_catalog") in text
    assert t(lang, "reading.nudge.no_suggestion") not in text


def test_suggestion_keys_exist_in_both_catalogs() -> None:
    params: dict[str, Any] = {"title": "T", "author": "A"}
    for lang in ("zh", "en"):
        for key in ("suggest", "no_suggestion", "electives", "own_choice", "no_catalog"):
            assert t(lang, f"reading.nudge.{key}", **params)
