"""Multi-step input: which feature is waiting for this user's next message.

Several features ask for free input (a check-in code after /checkin, a reason for leave, a
reflection). Rather than letting their message handlers compete for every text, a feature
starts a dialog with `begin(context, "feature", step=..., **state)`; the one input handler
(handlers/dialog.py) hands the user's next message (text, document, photo, location) to the
function the feature registered with `on_input`. Any command ends a pending dialog, `/cancel`
says so.

State lives in `user_data` and is saved in the `dialogs` table, so a restart (a deploy, a
crash) resumes a half-filled form: `SavedDialogs` compares, after each update, the user's state
(as JSON) with what was last saved, and a change is written in the transaction that deletes the
update's inbox row (bot/delivery/inbox.py), so the saved state and the handled updates always agree
(an update replayed after a crash meets the state it was first handled with). An update that does
not touch a dialog costs a dictionary lookup, no database work. At start, `restore` loads the
rows younger than `[dialog] resume_hours` back into `user_data` before the inbox is replayed.
Handlers keep plain JSON values in a state (str, int, float, bool, None, lists, dicts with str
keys; a tuple comes back as a list): a state that does not serialise is not saved (logged at
debug) and its row is deleted, so a restart drops it rather than resume an older step.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from telegram import Update

from storage import dialogs as dialogs_repo
from storage.db import Database, ts

if TYPE_CHECKING:
    from bot.core.services import StudyContext

log = logging.getLogger(__name__)

InputHandler = Callable[[Update, "StudyContext", dict[str, Any]], Awaitable[None]]

_HANDLERS: dict[str, InputHandler] = {}
KEY = "dialog"


def on_input(feature: str) -> Callable[[InputHandler], InputHandler]:
    """Registers the function that receives input for dialogs of `feature`."""

    def wrap(fn: InputHandler) -> InputHandler:
        _HANDLERS[feature] = fn
        return fn

    return wrap


def handler_for(feature: str) -> InputHandler | None:
    return _HANDLERS.get(feature)


def begin(context: StudyContext, feature: str, **state: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"feature": feature, **state}
    assert context.user_data is not None
    context.user_data[KEY] = data
    return data


def current(context: StudyContext) -> dict[str, Any] | None:
    if context.user_data is None:
        return None
    data: dict[str, Any] | None = context.user_data.get(KEY)
    return data


def end(context: StudyContext) -> None:
    if context.user_data is not None:
        context.user_data.pop(KEY, None)


def _dump(state: object) -> str | None:
    """The state as the JSON saved; None if it does not serialise."""
    try:
        return json.dumps(state, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        log.debug("a dialog state is not saved (not JSON): %s", exc)
        return None


class SavedDialogs:
    """What the `dialogs` table holds for each user (as a JSON dump kept in memory), and the
    writes that bring it up to date with `user_data`, waiting for the inbox's next commit."""

    def __init__(self) -> None:
        self._saved: dict[int, str] = {}
        self._pending: dict[int, tuple[str | None, str]] = {}

    def after_update(
        self, user_id: int, user_data: Mapping[str, Any] | None, now: Callable[[], dt.datetime]
    ) -> bool:
        """Notes a write if the user's dialog state differs from the saved one; True if so."""
        state = user_data.get(KEY) if user_data is not None else None
        saved = self._saved.get(user_id)
        if state is None and saved is None:
            return False  # the hot path: no dialog before, none now
        dump = _dump(state) if state is not None else None
        if dump == saved:
            return False
        if dump is None:
            self._saved.pop(user_id, None)
        else:
            self._saved[user_id] = dump
        self._pending[user_id] = (dump, ts(now()))
        return True

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def take(self) -> list[dialogs_repo.Write]:
        """The writes waiting (the latest per user), handed to the caller to commit."""
        taken, self._pending = self._pending, {}
        return [(uid, dump, at) for uid, (dump, at) in taken.items()]

    def failed(self, writes: list[dialogs_repo.Write]) -> None:
        """The writes were not committed: what the table holds is unknown, so the next update
        of these users writes again."""
        for uid, _, _ in writes:
            self._saved[uid] = "\0unknown"

    async def restore(
        self, db: Database, user_data: Mapping[int, dict[Any, Any]],
        now: dt.datetime, resume_hours: int,
    ) -> int:
        """Drops the rows older than `resume_hours` and puts the others into `user_data` (the
        application's own defaultdict, which makes a user's dict on first use); returns how
        many were resumed."""
        async with db.tx() as conn:
            dropped = await dialogs_repo.drop_older(
                conn, ts(now - dt.timedelta(hours=resume_hours)))
            rows = await dialogs_repo.all_rows(conn)
        resumed = 0
        for uid, dump in rows:
            try:
                state = json.loads(dump)
            except ValueError:
                log.warning("a saved dialog of user %s does not parse; dropped", uid)
                self._saved[uid] = "\0unknown"  # the next update deletes the row
                continue
            if not isinstance(state, dict) or "feature" not in state:
                self._saved[uid] = "\0unknown"
                continue
            user_data[uid][KEY] = state
            self._saved[uid] = dump
            resumed += 1
        if resumed or dropped:
            log.info("resumed %d saved dialogs (%d older than %d hours dropped)",
                     resumed, dropped, resume_hours)
        return resumed
