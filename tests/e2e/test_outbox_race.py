"""Two outbox senders on one database (two connections, as two processes would have) race to
drain it through the sandbox: every row goes out exactly once and each chat's rows in order;
a dead sender's claims are taken again after their lease, or at once by the database's
instance (the process holding bot/delivery/lock.py's lock)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Bot

from bot.core.clock import ManualClock
from bot.core.config import OutboxConfig
from bot.delivery import lock
from bot.delivery.outbox import CLAIM_LEASE, OutboxSender
from bot.sandbox.server import Sandbox
from storage import outbox as outbox_repo
from storage.db import Database, open_database, ts
from tests.helpers import T0

CHATS, PARTS = 60, 5  # 300 rows
FIRST_CHAT = 70_000
CFG = OutboxConfig(private_chat_interval_seconds=0.0)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox() as sb:
        for i in range(CHATS):
            sb.user(FIRST_CHAT + i, f"成员{i}")
        yield sb


async def bot_for(sb: Sandbox) -> Bot:
    bot = Bot(sb.token, base_url=sb.base_url, base_file_url=sb.base_file_url)
    await bot.initialize()
    return bot


async def fill(db: Database, now: dt.datetime) -> None:
    """PARTS rows per chat, enqueued part by part across the chats (as waves would be)."""
    async with db.tx() as conn:
        for part in range(PARTS):
            for i in range(CHATS):
                await outbox_repo.enqueue(
                    conn, chat_id=FIRST_CHAT + i, kind="announce", now=ts(now),
                    payload={"text": f"chat {i} part {part}"},
                )


def delivered(sb: Sandbox) -> Counter[str]:
    return Counter(
        e.text or "" for i in range(CHATS) for e in sb.bot_messages(FIRST_CHAT + i))


async def test_two_senders_on_one_database_send_every_row_exactly_once(
    tmp_path: Path, sandbox: Sandbox,
) -> None:
    path = tmp_path / "studybot.sqlite3"
    first, second = await open_database(path), await Database.open(path)
    bots = [await bot_for(sandbox), await bot_for(sandbox)]
    clock = ManualClock(T0)
    try:
        await fill(first, T0)
        # Small claims and slow sends, so the two senders' passes overlap all along.
        sandbox.set_delay("sendMessage", 0.01)
        senders = [OutboxSender(db, bot, clock, CFG, claim_limit=25)
                   for db, bot in zip((first, second), bots, strict=True)]
        sent = await asyncio.gather(*(s.flush(max_passes=1000) for s in senders))
        assert all(n > 0 for n in sent), f"both senders should have sent some: {sent}"
        assert sum(sent) == CHATS * PARTS
        copies = delivered(sandbox)
        assert sorted(copies) == sorted(f"chat {i} part {p}"
                                        for i in range(CHATS) for p in range(PARTS))
        assert set(copies.values()) == {1}, [t for t, n in copies.items() if n > 1][:5]
        for i in range(CHATS):  # each chat's rows in order, whichever sender had them
            texts = [e.text for e in sandbox.bot_messages(FIRST_CHAT + i)]
            assert texts == [f"chat {i} part {p}" for p in range(PARTS)]
        async with first.read() as conn:
            assert await outbox_repo.counts(conn) == {"sent": CHATS * PARTS}
            left = await conn.execute_fetchall(
                "SELECT COUNT(*) FROM outbox WHERE claim_token IS NOT NULL")
        assert left[0][0] == 0
    finally:
        for bot in bots:
            await bot.shutdown()
        await second.close()
        await first.close()


async def claimed_by_a_dead_sender(db: Database, now: dt.datetime) -> int:
    async with db.tx() as conn:
        rows = await outbox_repo.claim(conn, "dead", ts(now), ts(now + CLAIM_LEASE))
    return len(rows)


async def test_a_dead_senders_claims_are_taken_after_their_lease(
    tmp_path: Path, sandbox: Sandbox,
) -> None:
    db = await open_database(tmp_path / "studybot.sqlite3")
    bot = await bot_for(sandbox)
    clock = ManualClock(T0)
    try:
        await fill(db, T0)
        assert await claimed_by_a_dead_sender(db, T0) == CHATS * PARTS
        sender = OutboxSender(db, bot, clock, CFG)
        assert await sender.flush() == 0  # still theirs
        clock.advance(seconds=CLAIM_LEASE.total_seconds() - 1)
        assert await sender.flush() == 0
        clock.advance(seconds=2)
        assert await sender.flush() == CHATS * PARTS
        assert set(delivered(sandbox).values()) == {1}
    finally:
        await bot.shutdown()
        await db.close()


async def test_the_instance_takes_over_claims_at_once(tmp_path: Path, sandbox: Sandbox) -> None:
    path = tmp_path / "studybot.sqlite3"
    db = await open_database(path)
    bot = await bot_for(sandbox)
    try:
        await fill(db, T0)
        assert await claimed_by_a_dead_sender(db, T0) == CHATS * PARTS
        with lock.acquire(path):  # no other instance can be alive: the claims are the dead's
            sender = OutboxSender(db, bot, ManualClock(T0), CFG)
            assert await sender.flush() == CHATS * PARTS
        assert len(delivered(sandbox)) == CHATS * PARTS
    finally:
        await bot.shutdown()
        await db.close()


async def test_a_chat_held_by_one_sender_is_not_claimed_by_another(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "studybot.sqlite3")
    now, until = ts(T0), ts(T0 + CLAIM_LEASE)
    try:
        async with db.tx() as conn:
            for chat in (1, 2):
                await outbox_repo.enqueue(conn, chat_id=chat, kind="k", now=now,
                                          payload={"text": "first"})
            a = await outbox_repo.claim(conn, "a", now, until, limit=1)
            # The chat's next message arrives while sender a holds its first one.
            await outbox_repo.enqueue(conn, chat_id=a[0].chat_id, kind="k", now=now,
                                      payload={"text": "second"})
            b = await outbox_repo.claim(conn, "b", now, until)
            assert [r.chat_id for r in a] == [1]
            assert [r.chat_id for r in b] == [2]  # not chat 1's second row
            await outbox_repo.mark_sent(conn, a[0].id, now, 1)
            c = await outbox_repo.claim(conn, "c", now, until)
            assert [(r.chat_id, r.payload["text"]) for r in c] == [(1, "second")]
            assert await outbox_repo.release(conn, "b") == 1
            assert await outbox_repo.release(conn) == 1  # c's
    finally:
        await db.close()
