"""The outbox sender: delivers pending notifications through PTB, at Telegram's pace.

Overall and per-group rates are enforced by PTB's AIORateLimiter on the bot; this sender adds
the per-private-chat spacing, keeps each chat's messages in order, and turns every error into
a decision about the row: 429 -> retry after `retry_after`; 5xx and timeouts -> retry with
exponential backoff; 403 (blocked, never started) -> `unreachable`, and the member is flagged
for HR; other 400s -> `failed` at once (never retried; the reason is logged at ERROR and kept
in `last_error`; HR's next daily digest lists it), and the chat's next rows go on. One pass
at a time (a lock); a pass claims its rows first (storage.outbox.claim: one UPDATE writes the
pass's token and a lease of CLAIM_LEASE on them), so a second sender on the same database (a
second process) never gets a row this one has; the lease is renewed while the pass runs and
what the pass did not get to is released at its end; a sender that died leaves claims that
another takes once their lease is over, or at once if that one is the database's instance
(bot/delivery/lock.py: whoever made them is gone). A row is marked sent right after Telegram
accepts it. A chat's rows go in (not_before, id) order, from one sender at a time; a retried row
holds back the chat's later rows (storage.outbox.reschedule). Rows never exceed Telegram's
limits: a longer text or caption was split into several rows at enqueue
(bot.delivery.notify.enqueue, bot.core.text.split_payload).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, Message
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

from bot.core.clock import Clock
from bot.core.config import OutboxConfig
from bot.delivery import lock
from storage import members as members_repo
from storage import outbox as outbox_repo
from storage.db import Database, ts
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300
# How long a pass's claim on its rows lasts (programme clock) unless renewed: what a sender
# that died holds waits this long for another sender. Renewed every CLAIM_RENEW wall seconds
# while the pass runs (a pass of 1,000 rows at 30/s takes half a minute).
CLAIM_LEASE = dt.timedelta(seconds=60)
CLAIM_RENEW = 20.0


def keyboard(buttons: list[list[list[str]]] | None) -> InlineKeyboardMarkup | None:
    """An inline keyboard from rows of [text, callback_data] (or [text, "url:https://..."])."""
    if not buttons:
        return None
    rows = []
    for row in buttons:
        rows.append(
            [
                InlineKeyboardButton(text, url=data[4:])
                if data.startswith("url:")
                else InlineKeyboardButton(text, callback_data=data)
                for text, data in row
            ]
        )
    return InlineKeyboardMarkup(rows)


def _album_contents(paths: list[str]) -> list[bytes | str]:
    """The files of an album as bytes: PTB turns a Path inside InputMedia into a file:// URI,
    which only a local Bot API server accepts. A missing file stays the text it is, which
    Telegram refuses (400), so the row fails instead of blocking the chat."""
    return [Path(p).read_bytes() if Path(p).is_file() else p for p in paths]


class OutboxSender:
    """Drains the outbox table; `notify()` wakes it, `flush()` delivers everything due now."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        clock: Clock,
        cfg: OutboxConfig,
        *,
        poll_interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        claim_limit: int = 1000,
    ) -> None:
        self._db = db
        self._bot = bot
        self._clock = clock
        self._cfg = cfg
        self._poll_interval = poll_interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._wake = asyncio.Event()
        self._pass_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._current: asyncio.Future[int] | None = None
        self._last_sent: dict[int, float] = {}
        self._semaphore = asyncio.Semaphore(max(1, cfg.concurrency))
        self._took_over = False
        self._claim_limit = claim_limit  # rows a pass takes at most

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run_forever(), name="outbox-sender")

    async def stop(self) -> None:
        """Stops after the pass in progress, so no row is left half sent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        current = self._current
        if current is not None and not current.done():
            with contextlib.suppress(Exception):
                await current

    def notify(self) -> None:
        """Something was enqueued: start a pass now rather than at the next poll."""
        self._wake.set()

    async def _run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)
            self._wake.clear()

    # -- delivery --------------------------------------------------------------------------
    async def flush(self, max_passes: int = 100) -> int:
        """Delivers every row due now (as the clock says); returns how many were sent."""
        total = 0
        for _ in range(max_passes):
            sent = await self.run_once()
            total += sent
            async with self._db.read() as conn:
                pending = await outbox_repo.due(conn, ts(self._clock.now()), limit=1)
            if not pending:
                break
        return total

    async def run_once(self) -> int:
        """One pass over the rows due now; returns how many were sent."""
        async with self._pass_lock:
            # Cancelling mid-pass would leave a send whose row is not marked; shield the pass,
            # and keep it so stop() can wait for it before the database closes.
            self._current = asyncio.ensure_future(self._pass())
            return await asyncio.shield(self._current)

    async def _pass(self) -> int:
        if not self._took_over:
            await self._take_over()
        token = secrets.token_hex(8)
        now = self._clock.now()
        async with self._db.tx() as conn:
            rows = await outbox_repo.claim(
                conn, token, ts(now), ts(now + CLAIM_LEASE), self._claim_limit)
        if not rows:
            return 0
        renewing = asyncio.create_task(self._renew(token), name="outbox-claim-renew")
        try:
            by_chat: OrderedDict[int, list[OutboxRow]] = OrderedDict()
            for row in rows:
                by_chat.setdefault(row.chat_id, []).append(row)
            results = await asyncio.gather(
                *(self._deliver_chat(c, rs) for c, rs in by_chat.items()))
            return sum(results)
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            # The rows after a retried one (and any a failure left): the next pass claims them.
            async with self._db.tx() as conn:
                await outbox_repo.release(conn, token)

    async def _take_over(self) -> None:
        """In the process that holds the database's instance lock, claims found at the start
        were made by a sender that died with its process: free them now rather than after
        their lease."""
        self._took_over = True
        if not lock.holds(self._db.path):
            return
        async with self._db.tx() as conn:
            freed = await outbox_repo.release(conn)
        if freed:
            log.warning("outbox: took over %d rows claimed by a sender that is gone", freed)

    async def _renew(self, token: str) -> None:
        while True:
            await asyncio.sleep(CLAIM_RENEW)  # wall time, whatever sleep the pacing is given
            try:
                async with self._db.tx() as conn:
                    await outbox_repo.renew(conn, token, ts(self._clock.now() + CLAIM_LEASE))
            except Exception:
                log.exception("outbox: could not renew the pass's claims")

    async def _deliver_chat(self, chat_id: int, rows: list[OutboxRow]) -> int:
        sent = 0
        interval = self._cfg.private_chat_interval_seconds if chat_id > 0 else 0.0
        for row in rows:
            if interval > 0:
                wait = self._last_sent.get(chat_id, -1e9) + interval - self._monotonic()
                if wait > 0:
                    await self._sleep(wait)
            async with self._semaphore:
                outcome = await self._deliver(row)
            self._last_sent[chat_id] = self._monotonic()
            if outcome == "sent":
                sent += 1
            elif outcome in ("retry", "unreachable"):
                # Keep the chat's order: later rows wait for this one (or share its fate).
                if outcome == "unreachable":
                    for later in rows[rows.index(row) + 1 :]:
                        await self._finish(later, "unreachable", "recipient unreachable")
                break
        return sent

    async def _deliver(self, row: OutboxRow) -> str:
        try:
            message = await self._send(row)
        except RetryAfter as exc:
            delay = exc.retry_after
            seconds = delay.total_seconds() if isinstance(delay, dt.timedelta) else float(delay)
            log.info("outbox row %s: 429, retrying in %gs", row.id, seconds)
            await self._retry(row, seconds, f"429 retry after {seconds:g}s", count=False)
            return "retry"
        except Forbidden as exc:
            await self._finish(row, "unreachable", str(exc), mark_member=True)
            return "unreachable"
        except BadRequest as exc:
            if "chat not found" in str(exc).lower():
                await self._finish(row, "unreachable", str(exc), mark_member=True)
                return "unreachable"
            log.error("outbox row %s rejected: %s", row.id, exc)
            await self._finish(row, "failed", str(exc))
            return "failed"
        except InvalidToken:
            log.error("outbox: the bot token was refused; will retry")
            await self._retry(row, 60, "token refused", count=False)
            return "retry"
        except (TimedOut, NetworkError) as exc:
            if row.attempts + 1 >= self._cfg.max_attempts:
                log.error("outbox row %s failed after %s tries: %s", row.id, row.attempts + 1, exc)
                await self._finish(row, "failed", str(exc))
                return "failed"
            await self._retry(row, min(2 ** (row.attempts + 1), MAX_BACKOFF_SECONDS), str(exc))
            return "retry"
        async with self._db.tx() as conn:
            await outbox_repo.mark_sent(
                conn, row.id, ts(self._clock.now()), message.message_id if message else None
            )
        return "sent"

    async def _retry(
        self, row: OutboxRow, seconds: float, error: str, *, count: bool = True
    ) -> None:
        when = self._clock.now() + dt.timedelta(seconds=max(seconds, 1))
        async with self._db.tx() as conn:
            await outbox_repo.reschedule(conn, row.id, ts(when), error, count=count)

    async def _finish(
        self, row: OutboxRow, status: str, error: str, *, mark_member: bool = False
    ) -> None:
        now = ts(self._clock.now())
        async with self._db.tx() as conn:
            await outbox_repo.mark_final(conn, row.id, status, error)
            if mark_member and row.chat_id > 0:
                await members_repo.mark_unreachable(conn, row.chat_id, error[:200], now)

    async def _send(self, row: OutboxRow) -> Message | None:
        p = row.payload
        markup = keyboard(p.get("buttons"))
        if "edit_of" in p:
            return await self._edit(row, p, markup)
        if "photos" in p:
            contents = await asyncio.to_thread(_album_contents, p["photos"])
            media = [
                InputMediaPhoto(content, filename=Path(path).name,
                                caption=p.get("text") if i == 0 else None)
                for i, (path, content) in enumerate(zip(p["photos"], contents, strict=True))
            ]
            messages = await self._bot.send_media_group(row.chat_id, media)
            return messages[0] if messages else None
        if "photo" in p:
            return await self._bot.send_photo(
                row.chat_id, Path(p["photo"]), caption=p.get("text"),
                reply_markup=markup,
            )
        if "document" in p:
            return await self._bot.send_document(
                row.chat_id, Path(p["document"]), filename=p.get("filename"),
                caption=p.get("text"), reply_markup=markup,
            )
        return await self._bot.send_message(
            row.chat_id, p["text"], reply_markup=markup, parse_mode=p.get("parse_mode"),
            disable_web_page_preview=True,
        )

    async def _edit(
        self, row: OutboxRow, p: dict[str, Any], markup: InlineKeyboardMarkup | None
    ) -> Message | None:
        """Edits a message an earlier row sent (e.g. 'decided by ...' on other approvers)."""
        async with self._db.read() as conn, conn.execute(
            "SELECT message_id, chat_id FROM outbox WHERE id = ?", (p["edit_of"],)
        ) as cur:
            target = await cur.fetchone()
        if target is None or target["message_id"] is None:
            return None
        try:
            result = await self._bot.edit_message_text(
                p["text"], chat_id=target["chat_id"], message_id=target["message_id"],
                reply_markup=markup,
            )
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return None
            raise
        return result if isinstance(result, Message) else None
