"""The Telegram plumbing under every handler: the bot subclass handlers answer with and the
update processor that keeps each user's updates in order."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable
from typing import Any

from telegram import ReplyKeyboardRemove, Update
from telegram.error import BadRequest
from telegram.ext import BaseUpdateProcessor, ExtBot

log = logging.getLogger(__name__)


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across users, sequential per user (keeps each user's messages in order)."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        user = update.effective_user if isinstance(update, Update) else None
        if user is None:
            await coroutine
            return
        lock = self._locks.get(user.id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user.id] = lock
        async with lock:
            await coroutine

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


class StudyBot(ExtBot[None]):
    """The bot handlers answer with. A button press Telegram no longer takes an answer for
    ("query is too old": pressed before a restart and replayed from the inbox, or answered
    already) is not an error: the handler goes on, does what the press asked (or finds it
    done) and shows the result in the chat, instead of dropping the press on the spinner.

    A dialog ended by another command may leave the reply keyboard one of its steps showed (the
    check-in's location button): `remove_keyboard_with_next` has the next message to that chat
    without a keyboard of its own (the command's answer, normally) take it away."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._drop_keyboard: set[int] = set()

    def remove_keyboard_with_next(self, chat_id: int) -> None:
        self._drop_keyboard.add(chat_id)

    async def send_message(self, *args: Any, **kwargs: Any) -> Any:
        if self._drop_keyboard:
            chat = kwargs.get("chat_id", args[0] if args else None)
            # reply_markup is send_message's 7th parameter (PTB's reply_text passes keywords).
            if chat in self._drop_keyboard and len(args) < 7 and kwargs.get("reply_markup") is None:
                self._drop_keyboard.discard(chat)
                kwargs["reply_markup"] = ReplyKeyboardRemove()
        return await super().send_message(*args, **kwargs)

    async def answer_callback_query(self, *args: Any, **kwargs: Any) -> bool:
        try:
            return await super().answer_callback_query(*args, **kwargs)
        except BadRequest as exc:
            if "query is too old" not in exc.message.lower():
                raise
            log.info("a button press is too old to answer; handling it anyway")
            return False
