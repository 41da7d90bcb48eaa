"""Durable inbound: an update is written to the `inbox` table before Telegram is told it arrived,
and deleted once it has been handled, so a crash loses no update the bot had fetched.

PTB's own polling confirms a batch (the next getUpdates offset) as soon as it is queued, so the
updates a killed process had fetched but not handled were gone. Here `Poller` stores each
getUpdates batch (the JSON as Telegram sent it) in ONE transaction together with the offset that
confirms it, and only then hands the updates to the application's queue (the per-user processor
keeps each user's order and the concurrency) and asks for the next batch, which confirms this
one. The stored offset is what the first getUpdates after a restart sends, so a batch stored but
not yet confirmed when the process died is not fetched (and handled) a second time.
`InboxApplication.process_update` marks an update finished once every handler (and, for a
handler that raised, the error handler) has run; one background task deletes the finished rows,
taking everything that finished while it waited for the database in one DELETE (a group commit:
at most one delete is pending at any time, so it costs little under load).

At the next start the rows still there are replayed, oldest first, before polling starts (so a
user's replayed updates come before anything newer from them).

The replay window: an update whose handling finished (its answer sent) but whose row was not yet
deleted when the process died is handled again: from the answer to the commit of the delete,
normally one database round trip; the crash test (350 updates, 40 in flight, SIGKILL) sees 6-18
such updates. The handlers are idempotent where it matters: a second /checkin answers "already
checked in" and records nothing, a replayed /start of a registered user answers "already
registered"; a replayed leave decision finds the request decided and changes nothing. Telegram
takes no answer to a press it has forgotten (answered already, or pressed longer ago than its
answer window): bot.delivery.telegram.StudyBot lets the handler go on without one, so a press that
was never handled still does its work after a restart. A dialog's state
(bot/core/dialog.py) is saved in the transaction that deletes the rows of the updates that changed
it, so a replayed dialog step meets the state it was first handled with (restored before the
replay) and works. A row replayed MAX_REPLAYS
times without finishing (an update that keeps killing the process) is dropped with an error in
the log; an update whose handler raises is answered by the error handler and deleted like any
other, so nothing is replayed forever.

In webhook mode each update is stored before the webhook answers 200 (Telegram delivers again
whatever did not get a 200) and finishes the same way.

A 409 Conflict on getUpdates means another process is polling the same token (Telegram ends
the older of two long polls). One is a warning (a deploy overlap: the old process's last poll);
`[telegram] conflicts_before_exit` of them in a row, over at least `conflict_exit_seconds`
with no getUpdates answered in between, is another bot for good: the poller stops and sets
`Poller.gave_up`, and `studybot run` exits 2 (bot/runner.py) instead of fighting it forever.

When an update was sent (`sent_at`, what deadlines are judged by): a message's date as Telegram
stamped it; a button press carries no date, so it is when the bot received it: the time its row
was stored (kept in memory until it is handled, read back from the row for a replayed update),
else now. Both bounded by the programme clock (`bot.core.clock.as_sent`). The rows' received
time is the programme clock's (the same as the wall clock in production; tests move it).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
import warnings
from typing import Any

import aiosqlite
from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, TimedOut
from telegram.ext import Application, ExtBot
from telegram.warnings import PTBUserWarning

from bot.core.clock import as_sent
from bot.core.config import Config, TelegramConfig
from bot.core.dialog import SavedDialogs
from bot.core.services import StudyContext
from storage import dialogs as dialogs_repo
from storage import inbox as inbox_repo
from storage.db import Database, parse_ts, ts

log = logging.getLogger(__name__)

# The poller asks for getUpdates through the public `Bot.do_api_request` to keep Telegram's raw
# JSON (the inbox stores it as it came; parsing to objects and serialising back costs ten times
# more). PTB suggests `Bot.get_updates` whenever an endpoint it knows is asked for that way; that
# advice does not apply here, so exactly that one warning is silenced.
warnings.filterwarnings(
    "ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning
)

MAX_REPLAYS = 3
LONG_POLL_SECONDS = 10
# Telegram's getUpdates batch (its default limit): a full batch means more may be waiting.
GET_UPDATES_LIMIT = 100
# The scheduler waits for the start-up backlog at most this long (Telegram unreachable, say).
CATCH_UP_MAX_SECONDS = 300.0
# Telegram keeps an unconfirmed update for 24 hours: an offset stored longer ago than that
# confirms nothing still there (and after a week without updates Telegram may restart the
# update_id sequence anywhere, so an old offset must not be sent).
OFFSET_KEPT = dt.timedelta(hours=24)
READ_TIMEOUT_MARGIN = 5.0  # seconds beyond the long poll's own timeout
_RETRY_FIRST, _RETRY_MAX = 0.5, 30.0


def _wall_now() -> dt.datetime:
    # Telegram's retention runs on real time, not on the programme clock tests move.
    return dt.datetime.now(dt.UTC)


def _programme_now(app: Application[Any, Any, Any, Any, Any, Any]) -> dt.datetime:
    """The programme clock (what deadlines are judged on), the wall clock before the services
    exist."""
    services = app.bot_data.get("services")
    return services.clock.now() if services is not None else _wall_now()


def sent_at(update: object, now: dt.datetime, inbox: Inbox | None = None) -> dt.datetime:
    """When the member sent `update`, bounded by `now` (see `as_sent`): a message's (or an
    edit's) date as Telegram stamped it; anything else (a button press) when the bot received
    it, as `inbox` knows it, else `now`."""
    if isinstance(update, Update) and update.callback_query is None:
        message = update.effective_message
        if message is not None:
            edited = update.edited_message is not None or update.edited_channel_post is not None
            return as_sent(message.edit_date if edited and message.edit_date else message.date,
                           now)
    received = None
    if inbox is not None and isinstance(update, Update):
        received = inbox.received_at(update.update_id)
    return as_sent(received, now)


def now_and_sent(update: object, context: StudyContext) -> tuple[dt.datetime, dt.datetime]:
    """For a handler: the programme clock's now and when the member sent `update`."""
    now = context.services.clock.now()
    inbox = context.bot_data.get("inbox")
    return now, sent_at(update, now, inbox if isinstance(inbox, Inbox) else None)


class Inbox:
    """The rows of updates received and not yet handled, and their hand-over to the app."""

    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any], db: Database,
                 dialogs: SavedDialogs | None = None) -> None:
        self._app = app
        self._db = db
        self.dialogs = dialogs or SavedDialogs()
        self._open: set[int] = set()  # stored, handed to the app, not finished
        self._done: list[int] = []  # finished, row not yet deleted
        # When each stored update not yet finished arrived (programme clock): a press's time.
        self._received: dict[int, dt.datetime] = {}
        self._deleter: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()  # set while no stored update is being handled
        self._idle.set()

    # -- receiving

    async def store_batch(self, rows: list[tuple[int, str]], next_offset: int) -> None:
        """One transaction for the batch's (update_id, JSON) rows and the offset that will
        confirm it."""
        received = _programme_now(self._app)
        async with self._db.tx() as conn:
            await inbox_repo.add(conn, rows, ts(received))
            # The offset's time is the wall clock's: it is compared with Telegram's retention.
            await inbox_repo.set_offset(conn, next_offset, ts(_wall_now()))
        for update_id, _ in rows:
            self._received.setdefault(update_id, received)

    async def store_one(self, update: Update) -> bool:
        """Stores a webhook delivery; False if it is already stored (Telegram sent it again)."""
        if update.update_id in self._open:
            return False
        received = _programme_now(self._app)
        async with self._db.tx() as conn:
            added = await inbox_repo.add_one(
                conn, update.update_id, update.to_json(), ts(received))
        if added:
            self._received.setdefault(update.update_id, received)
        return added

    def received_at(self, update_id: int) -> dt.datetime | None:
        """When the stored update `update_id` arrived (programme clock), until it is handled."""
        return self._received.get(update_id)

    def dispatch(self, update: Update) -> None:
        """Hands a stored update to the application (its queue keeps the order)."""
        self._open.add(update.update_id)
        self._idle.clear()
        self._app.update_queue.put_nowait(update)

    async def first_offset(self) -> int:
        """The offset for the first getUpdates: confirms what an earlier run stored."""
        async with self._db.read() as conn:
            stored = await inbox_repo.offset(conn)
        if stored is None or _wall_now() - parse_ts(stored[1]) > OFFSET_KEPT:
            return 0
        return stored[0]

    # -- replay at start

    async def replay(self) -> int:
        """Hands the rows an earlier run left to the application, oldest first; returns how
        many. A row replayed MAX_REPLAYS times already is dropped."""
        async with self._db.tx() as conn:
            rows = await inbox_repo.unfinished(conn)
            dropped = [r for r in rows if r.attempts >= MAX_REPLAYS]
            rows = [r for r in rows if r.attempts < MAX_REPLAYS]
            await inbox_repo.delete(conn, [r.update_id for r in dropped])
            await inbox_repo.count_attempt(conn, [r.update_id for r in rows])
            self._received.update(await _received_times(conn))
        for r in dropped:
            log.error("dropping update %s: replayed %d times without finishing",
                      r.update_id, r.attempts)
        replayed = 0
        for r in rows:
            try:
                update = Update.de_json(json.loads(r.payload), self._app.bot)
            except Exception:
                log.exception("dropping update %s: its stored JSON does not parse", r.update_id)
                self._open.add(r.update_id)
                self.finished(r.update_id)
                continue
            self.dispatch(update)
            replayed += 1
        if replayed or dropped:
            log.warning("replayed %d unfinished updates from the inbox (%d dropped)",
                        replayed, len(dropped))
        return replayed

    # -- finishing

    def finished(self, update_id: int) -> None:
        """The update's handling is over: its row goes with the next group delete (in one
        transaction with the dialog writes waiting, see `SavedDialogs.after_update`)."""
        if update_id not in self._open:
            return  # not from the inbox (a test calling process_update directly)
        self._open.discard(update_id)
        self._received.pop(update_id, None)
        if not self._open:
            self._idle.set()
        self._done.append(update_id)
        self._start_deleter()

    def _start_deleter(self) -> None:
        if self._deleter is None or self._deleter.done():
            self._deleter = asyncio.create_task(self._delete_finished(), name="inbox-delete")

    def dialog_changed(self) -> None:
        """A dialog write is waiting (for an update from the inbox, already started)."""
        self._start_deleter()

    async def _delete_finished(self) -> None:
        while self._done or self.dialogs.pending:
            ids: list[int] = []
            writes: list[dialogs_repo.Write] = []
            try:
                async with self._db.read() as conn:
                    # Taken once the connection is ours: what finished while this task waited
                    # for it goes in the same statement (a group commit, without a delay that
                    # would widen the replay window). A lone DELETE is its own transaction
                    # (autocommit): one round trip to the database thread instead of three.
                    ids, self._done = self._done, []
                    writes = self.dialogs.take()
                    if not writes:
                        await inbox_repo.delete(conn, ids)
                        continue
                    # A changed dialog commits with the rows of the updates that changed it:
                    # after a crash both are there (the updates are replayed on the old state)
                    # or neither.
                    await conn.execute("BEGIN IMMEDIATE")
                    try:
                        await dialogs_repo.save(conn, writes)
                        await inbox_repo.delete(conn, ids)
                    except BaseException:
                        await conn.rollback()
                        raise
                    await conn.commit()
            except Exception:
                # The rows stay and are replayed at the next start (handled again).
                self.dialogs.failed(writes)
                log.exception("could not delete %d finished updates from the inbox", len(ids))
                return

    async def settled(self) -> None:
        """Waits until every update handed to the application has finished and its row is
        deleted (tests; the app's stop waits for handling by itself)."""
        await self._idle.wait()
        await self.flush()

    async def handled(self) -> None:
        """Waits until every update handed to the application has finished."""
        await self._idle.wait()

    async def flush(self) -> None:
        """Waits until the rows of every update finished so far are deleted."""
        if self._deleter is not None:
            with contextlib.suppress(Exception):
                await self._deleter
        if self._done or self.dialogs.pending:
            await self._delete_finished()

    def webhook_queue(self) -> _WebhookQueue:
        return _WebhookQueue(self)


async def _received_times(conn: aiosqlite.Connection) -> dict[int, dt.datetime]:
    """When each row still in the inbox arrived."""
    # Belongs with the inbox repository (storage/inbox.py, `InboxRow` could carry it); here
    # for now, as that module is not this change's to edit.
    rows = await conn.execute_fetchall("SELECT update_id, received_at FROM inbox")
    return {int(r[0]): parse_ts(str(r[1])) for r in rows}


class _WebhookQueue(asyncio.Queue[object]):
    """What PTB's webhook handler puts updates into: stores each one before the handler
    answers Telegram 200, then hands it to the application."""

    def __init__(self, inbox: Inbox) -> None:
        super().__init__()
        self._inbox = inbox

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            if await self._inbox.store_one(item):
                self._inbox.dispatch(item)
        else:
            await self._inbox._app.update_queue.put(item)


class InboxApplication(Application[Any, StudyContext, Any, Any, Any, Any]):
    """The Application that tells the inbox when an update's handling is over."""

    async def process_update(self, update: object) -> None:
        try:
            await super().process_update(update)  # a handler's error goes to the error handler
        except Exception:
            self._finished(update)
            raise
        self._finished(update)

    def _finished(self, update: object) -> None:
        inbox = self.bot_data.get("inbox")
        if isinstance(inbox, Inbox) and isinstance(update, Update):
            user = update.effective_user
            # The dialog write waits for the update's own row: both go in one transaction.
            changed = user is not None and inbox.dialogs.after_update(
                user.id, self.user_data.get(user.id), self._now)
            inbox.finished(update.update_id)
            if changed:
                inbox.dialog_changed()

    def _now(self) -> dt.datetime:
        services = self.bot_data.get("services")
        return services.clock.now() if services is not None else _wall_now()


class Poller:
    """Long polling: fetch a batch, store it with its offset, hand it to the application, and
    only then ask for the next batch (which confirms this one to Telegram)."""

    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any], inbox: Inbox,
                 timeout: int = LONG_POLL_SECONDS) -> None:
        self._app = app
        self._inbox = inbox
        self._timeout = timeout
        self._offset = 0
        self._running = False
        self._interruptible = False  # waiting on Telegram or pausing: safe to cancel
        self._task: asyncio.Task[None] | None = None
        cfg = app.bot_data.get("config")
        tg = cfg.telegram if isinstance(cfg, Config) else TelegramConfig()
        self._conflict_limit = tg.conflicts_before_exit
        self._conflict_seconds = tg.conflict_exit_seconds
        self.conflicts = 0  # 409s in a row, since the first at _conflict_since (monotonic)
        self._conflict_since = 0.0
        self.gave_up = asyncio.Event()  # set when persistent 409s stopped the polling
        # Set once what waited at Telegram when the bot started (sent while it was down) has
        # been handled: the scheduler's tick waits for it, so closing a roll call that ended
        # during the outage never runs before the check-ins sent in time (bot.core.scheduler).
        self.caught_up = asyncio.Event()
        self._catching_up: asyncio.Task[None] | None = None
        self._catch_up_cap: asyncio.TimerHandle | None = None
        self.conflict_lasted = 0.0  # seconds from the first of those 409s to the last

    @property
    def running(self) -> bool:
        return self._running

    def start(self, offset: int) -> None:
        self._offset = offset
        self._running = True
        self._task = asyncio.create_task(self._loop(), name="inbox-polling")
        self._catch_up_cap = asyncio.get_running_loop().call_later(
            CATCH_UP_MAX_SECONDS, self.caught_up.set)

    async def stop(self) -> None:
        """Stops after the batch in hand is stored and dispatched, then confirms it."""
        self._running = False
        if self._catch_up_cap is not None:
            self._catch_up_cap.cancel()
        if self._catching_up is not None:
            self._catching_up.cancel()
        if self._task is None:
            return
        if self._interruptible:
            self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("the polling loop failed")
        self._task = None
        # Confirm what was stored, as PTB does on stop (the stored offset does it too; this
        # keeps Telegram's queue short if the database is ever replaced).
        with contextlib.suppress(Exception):
            await self._app.bot.get_updates(offset=self._offset, timeout=0, limit=1)

    async def _pause(self, seconds: float) -> None:
        self._interruptible = True
        try:
            await asyncio.sleep(seconds)
        finally:
            self._interruptible = False

    async def _fetch(self) -> list[dict[str, Any]] | None:
        """One long poll: the updates as Telegram sent them (stored as they are); None after a
        failure (already logged)."""
        self._interruptible = True
        try:
            # Bot.get_updates would parse the updates into objects only for the inbox to
            # serialise them again (to_json costs ten times json.dumps of the raw data).
            result = await self._app.bot.do_api_request(
                "getUpdates",
                api_kwargs={"offset": self._offset, "timeout": self._timeout,
                            "allowed_updates": Update.ALL_TYPES},
                read_timeout=self._timeout + READ_TIMEOUT_MARGIN,
            )
        except Conflict as exc:
            self._conflict(exc)
            return None
        except (TimedOut, NetworkError, InvalidToken) as exc:
            # NetworkError includes Telegram's 5xx.
            log.warning("getUpdates failed (%s)", exc)
            return None
        except Exception:
            log.exception("getUpdates failed")
            return None
        finally:
            self._interruptible = False
        self.conflicts = 0
        return [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []

    def _conflict(self, exc: Conflict) -> None:
        """Counts a 409; gives up once they are persistent (see the module's docstring)."""
        now = time.monotonic()
        if self.conflicts == 0:
            self._conflict_since = now
        self.conflicts += 1
        lasted = self.conflict_lasted = now - self._conflict_since
        if self.conflicts < self._conflict_limit or lasted < self._conflict_seconds:
            log.warning("getUpdates: 409 Conflict (%s); another process may be polling this "
                        "bot's token", exc)
            return
        log.error("getUpdates: 409 Conflict %d times in a row over %.0f s: another process is "
                  "polling this bot's token; polling stops", self.conflicts, lasted)
        self._running = False
        self.gave_up.set()

    async def _mark_caught_up(self) -> None:
        """The backlog is fetched: once it is handled, the scheduler may tick."""
        try:
            # Only the handling (no row deletes: cancelling this on stop must not cancel the
            # shared deleter that stop_app waits for).
            await asyncio.wait_for(self._inbox.handled(), CATCH_UP_MAX_SECONDS)
        except TimeoutError:
            log.warning("the start-up backlog is still being handled; the scheduler ticks anyway")
        finally:
            self.caught_up.set()

    def _parse(self, raw: list[dict[str, Any]]) -> list[tuple[Update, str]]:
        """Each update with its JSON; one that does not parse is logged and left out."""
        parsed = []
        for data in raw:
            try:
                update = Update.de_json(data, self._app.bot)
            except Exception:
                log.critical("an update does not parse and is skipped: %r", data, exc_info=True)
                continue
            if isinstance(self._app.bot, ExtBot):
                self._app.bot.insert_callback_data(update)
            parsed.append((update, json.dumps(data, ensure_ascii=False)))
        return parsed

    async def _loop(self) -> None:
        retry = _RETRY_FIRST
        while self._running:
            raw = await self._fetch()
            if raw is None:
                if self.gave_up.is_set():
                    break
                await self._pause(retry)
                retry = min(retry * 2, _RETRY_MAX)
                continue
            retry = _RETRY_FIRST
            if self._offset:
                raw = [u for u in raw if int(u.get("update_id", -1)) >= self._offset]
            backlog_left = len(raw) >= GET_UPDATES_LIMIT
            if not raw:
                self.caught_up.set()
                continue
            next_offset = max(int(u.get("update_id", -1)) for u in raw) + 1
            updates = self._parse(raw)
            try:
                await self._inbox.store_batch(
                    [(u.update_id, payload) for u, payload in updates], next_offset)
            except Exception:
                # Not confirmed: the next getUpdates returns the same batch.
                log.exception("could not store %d updates in the inbox", len(updates))
                await self._pause(retry)
                retry = min(retry * 2, _RETRY_MAX)
                continue
            for update, _ in updates:
                self._inbox.dispatch(update)
            if not backlog_left and not self.caught_up.is_set() and self._catching_up is None:
                self._catching_up = asyncio.create_task(self._mark_caught_up())
            self._offset = next_offset  # the next getUpdates confirms the batch
