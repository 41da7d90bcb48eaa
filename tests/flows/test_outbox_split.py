"""bot.delivery.notify.enqueue splits a row over Telegram's limits into rows that fit, in order,
the buttons on the last, each part deduplicated; a retried row keeps its chat's order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.core.text import MAX_CAPTION, MAX_MESSAGE, utf16_len
from bot.delivery import notify
from storage import outbox as outbox_repo
from storage.db import open_database

NOW = "2026-03-02 01:00:00"
BTN = [[["OK", "x:ok"]]]
E = "😀"


async def rows(db: Any) -> list[tuple[int, int, dict[str, Any], str | None, str]]:
    async with db.read() as conn:
        got = await conn.execute_fetchall(
            "SELECT id, chat_id, payload, dedupe_key, not_before FROM outbox ORDER BY id"
        )
    return [(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in got]


@pytest.mark.parametrize(
    ("payload", "count"),
    [
        ({"text": "short", "buttons": BTN}, 1),
        ({"text": "x" * MAX_MESSAGE}, 1),
        ({"text": "x" * (MAX_MESSAGE + 1), "buttons": BTN}, 2),
        ({"text": E * 2049}, 2),  # 4,098 units in 2,049 characters
        ({"text": "\n".join(["y" * 100] * 120), "buttons": BTN}, 3),
        ({"photo": "/p.png", "text": "c" * (MAX_CAPTION + 1)}, 2),
        ({"document": "/d.pdf", "filename": "d.pdf", "text": "d" * 6000, "buttons": BTN}, 3),
    ],
)
async def test_enqueue_splits_in_order_with_buttons_last_and_deduped_parts(
    tmp_path: Path, payload: dict[str, Any], count: int
) -> None:
    db = await open_database(tmp_path / "a.sqlite3")
    try:
        async with db.tx() as conn:
            last = await notify.enqueue(conn, chat_id=5, kind="k", payload=payload,
                                             now=NOW, dedupe_key="key")
            again = await notify.enqueue(conn, chat_id=5, kind="k", payload=payload,
                                              now=NOW, dedupe_key="key")
        got = await rows(db)
        assert again is None
        assert len(got) == count
        assert last == got[-1][0]  # the part a later edit_of must target
        assert [r[3] for r in got] == ["key"] + [f"key#{n}" for n in range(2, count + 1)]
        assert {r[1] for r in got} == {5} and len({r[4] for r in got}) == 1
        parts = [r[2] for r in got]
        media = "photo" in payload or "document" in payload
        assert ("photo" in parts[0] or "document" in parts[0]) == media
        assert all("photo" not in p and "document" not in p for p in parts[1:])
        assert utf16_len(parts[0]["text"]) <= (MAX_CAPTION if media else MAX_MESSAGE)
        assert all(utf16_len(p["text"]) <= MAX_MESSAGE for p in parts)
        assert "\n".join(p["text"] for p in parts).replace("\n", "") == payload["text"].replace(
            "\n", ""
        )
        with_buttons = [i for i, p in enumerate(parts) if "buttons" in p]
        assert with_buttons == ([count - 1] if "buttons" in payload else [])
    finally:
        await db.close()


async def test_enqueue_without_dedupe_key_adds_every_time(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "a.sqlite3")
    try:
        async with db.tx() as conn:
            for _ in range(2):
                await notify.enqueue(conn, chat_id=5, kind="k",
                                          payload={"text": "z" * 5000}, now=NOW)
        assert [r[3] for r in await rows(db)] == [None] * 4
    finally:
        await db.close()


async def test_a_retried_row_is_not_overtaken_by_its_chats_later_rows(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "a.sqlite3")
    later = "2026-03-02 01:00:05"
    try:
        async with db.tx() as conn:
            first = await notify.enqueue(conn, chat_id=5, kind="k", payload={"text": "1"},
                                              now=NOW)
            for text in ("2", "3"):
                await notify.enqueue(conn, chat_id=5, kind="k", payload={"text": text},
                                          now=NOW)
            other = await notify.enqueue(conn, chat_id=6, kind="k", payload={"text": "o"},
                                              now=NOW)
            assert first is not None and other is not None
            await outbox_repo.reschedule(conn, first, later, "429")
            assert [r.chat_id for r in await outbox_repo.due(conn, NOW)] == [6]
            due = await outbox_repo.due(conn, later)
            assert [r.payload["text"] for r in due if r.chat_id == 5] == ["1", "2", "3"]
    finally:
        await db.close()


async def test_announcement_progress_counts_recipients_not_parts(tmp_path: Path) -> None:
    from storage import announcements as ann_repo

    db = await open_database(tmp_path / "a.sqlite3")
    try:
        async with db.tx() as conn:
            ids = {}
            for chat in (5, 6, 7):
                ids[chat] = await notify.enqueue(
                    conn, chat_id=chat, kind="announce:1", payload={"text": "w" * 9000},
                    now=NOW,
                )
            # chat 5: every part sent; chat 6: part 1 sent, the rest pending; chat 7: one failed
            await conn.execute("UPDATE outbox SET status = 'sent' WHERE chat_id = 5")
            await conn.execute(
                "UPDATE outbox SET status = 'sent' WHERE chat_id = 6 AND id < ?", (ids[6],)
            )
            await conn.execute(
                "UPDATE outbox SET status = 'failed' WHERE chat_id = 7 AND id = ?", (ids[7],)
            )
            await conn.execute("UPDATE outbox SET status = 'sent' WHERE chat_id = 7 AND id < ?",
                               (ids[7],))
            progress = await ann_repo.progress(conn, 1)
        assert (progress.sent, progress.pending, progress.failed, progress.unreachable) == (
            1, 1, 1, 0
        )
    finally:
        await db.close()
