"""The inbox (bot/delivery/inbox.py): an update stored but not handled when the process stopped is
handled after the restart, in order; a handled update is not handled again; a poison update is not
replayed forever."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import CommandHandler

from bot.delivery.inbox import MAX_REPLAYS, Inbox
from storage import activities as activities_repo
from storage.db import ts
from tests.helpers import (
    T0,
    Crash,
    Harness,
    boom,
    free_port,
    inbox_of,
    restart,
    running_bot,
    said,
)


async def inbox_rows(h: Harness) -> list[tuple[int, int]]:
    """(update_id, attempts) of every row once what was handed to the app has finished."""
    await asyncio.wait_for(inbox_of(h).settled(), 10)
    rows = await h.services.db.fetchall("SELECT update_id, attempts FROM inbox ORDER BY 1")
    return [(int(r[0]), int(r[1])) for r in rows]


async def test_stored_but_unhandled_updates_are_handled_after_restart_in_order(
    tmp_path: Path, crash: Crash
) -> None:
    async with running_bot(tmp_path) as h:
        crash.start()
        user = h.new_user("黄志强")
        await user.send(f"/start {h.codes['T1']}")
        await user.send("/me")  # answered as a registered member only if /start ran first
        await crash.wait(2)
        assert [u for u, _ in await inbox_rows(h)] == crash.stored
        assert user.messages() == []  # nothing was handled
        crash.end()
        await restart(h)
        first = await user.next_message()
        assert said(first.text, "register.welcome"), first.text
        second = await user.next_message()
        assert "黄志强" in second.text, second.text
        assert await inbox_rows(h) == []
        # Telegram was told (the offset) before the crash: nothing arrives a second time.
        assert "黄志强" in (await user.ask("/me")).text
        assert len(user.messages()) == 3


async def test_a_batch_stored_but_not_confirmed_to_telegram_is_handled_once(
    tmp_path: Path, crash: Crash
) -> None:
    async with running_bot(tmp_path) as h:
        user = await h.register("T1")
        before = len(user.messages())
        crash.start_kill()
        await user.send("/me")
        await crash.wait(1)
        crash.end()
        # Telegram still holds the update (never confirmed) and the inbox has it: the stored
        # offset confirms it at the first getUpdates, so only the replay handles it.
        await restart(h)
        assert "黄志强" in (await user.next_message()).text
        assert await inbox_rows(h) == []
        assert "黄志强" in (await user.ask("/me")).text
        assert len(user.messages()) == before + 2


async def test_a_handled_update_is_deleted_and_not_handled_again(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        user = await h.register("T1")
        assert "黄志强" in (await user.ask("/me")).text
        assert await inbox_rows(h) == []
        before = len(user.messages())
        await restart(h)
        assert "黄志强" in (await user.ask("/me")).text
        assert len(user.messages()) == before + 1  # nothing replayed
        count = await h.services.db.fetchone("SELECT next_update_id FROM inbox_offset")
        assert count is not None and count[0] > 0


async def test_an_update_whose_handler_raises_is_answered_and_not_replayed(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as h:
        h.app.add_handler(CommandHandler("boom", boom))
        user = await h.register("T1")
        assert said((await user.ask("/boom")).text, "error.apology")
        assert await inbox_rows(h) == []
        await restart(h)
        h.app.add_handler(CommandHandler("boom", boom))
        # A replayed /boom would be answered before this (one user's updates run in order).
        assert "黄志强" in (await user.ask("/me")).text
        assert sum(said(e.text, "error.apology") for e in user.messages()) == 1


async def test_an_update_that_never_finishes_is_dropped_after_max_replays(
    tmp_path: Path, crash: Crash, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path) as h:
        user = await h.register("T1")
        before = len(user.messages())
        crash.start()
        await user.send("/me")
        await crash.wait(1)
        [(update_id, attempts)] = await inbox_rows(h)
        assert attempts == 0
        # Each restart replays it and "dies" again before it finishes.
        for replay in range(1, MAX_REPLAYS + 1):
            await restart(h)
            await crash.wait(1 + replay)
            assert crash.stored[-1] == update_id
            assert await inbox_rows(h) == [(update_id, replay)]
        crash.end()
        with caplog.at_level(logging.ERROR, logger="bot.delivery.inbox"):
            await restart(h)
        assert await inbox_rows(h) == []
        assert f"dropping update {update_id}" in caplog.text
        reply = await user.ask("/me")
        assert "黄志强" in reply.text
        assert len(user.messages()) == before + 1  # the dropped /me was never answered


async def test_a_row_that_does_not_parse_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path) as h:
        user = await h.register("T1")
        assert await inbox_rows(h) == []
        bad = json.dumps({"update_id": 999_999, "message": "not a message"})
        async with h.services.db.tx() as conn:
            await conn.execute(
                "INSERT INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)",
                (999_999, bad, "2026-03-02 01:00:00"),
            )
        with caplog.at_level(logging.ERROR, logger="bot.delivery.inbox"):
            await restart(h)
        assert await inbox_rows(h) == []
        assert "dropping update 999999" in caplog.text
        assert "黄志强" in (await user.ask("/me")).text


async def test_webhook_update_is_stored_before_the_200_and_handled_after_restart(
    tmp_path: Path, crash: Crash
) -> None:
    port = free_port()
    webhook: dict[str, Any] = {
        "listen": "127.0.0.1", "port": port, "path": "tg-hook",
        "url": f"http://127.0.0.1:{port}/tg-hook", "secret_token": "s3cret-Value_1",
    }
    async with running_bot(tmp_path, telegram={"mode": "webhook", "webhook": webhook}) as h:
        user = await h.register("T1")
        crash.start()
        await user.send("/me")
        await crash.wait(1)
        assert [u for u, _ in await inbox_rows(h)] == crash.stored
        crash.end()
        await restart(h)
        assert "黄志强" in (await user.next_message()).text
        assert await inbox_rows(h) == []


async def test_replay_of_finished_updates_whose_rows_were_not_deleted_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented replay window, made as wide as can be: no row is ever deleted, so the
    restart hands every update of the first run to the bot again."""
    monkeypatch.setattr(Inbox, "finished", lambda self, update_id: None)
    async with running_bot(tmp_path) as h:
        async with h.services.db.tx() as conn:
            await activities_repo.insert(
                conn, activity_id="ONL", type="online", title="线上学习", group_id=None,
                start_at=ts(T0 - dt.timedelta(minutes=5)), end_at=ts(T0 + dt.timedelta(hours=2)),
                location="", lat=None, lon=None, radius_m=None, host_pk=None, secret="s",
                source="import", created_by=None, now=ts(T0),
            )
        user = await h.register("T1")
        assert said((await user.ask("/checkin")).text, "attendance.checkin.ok")
        assert len(await h.services.db.fetchall("SELECT update_id FROM inbox")) == 2
        monkeypatch.undo()
        await restart(h)
        again_start = await user.next_message()
        assert said(again_start.text, "register.already"), again_start.text
        again_checkin = await user.next_message()
        assert said(again_checkin.text, "attendance.checkin.already"), again_checkin.text
        assert await inbox_rows(h) == []
        records = await h.services.db.fetchall("SELECT COUNT(*) FROM attendance")
        assert records[0][0] == 1
