"""Answering in chat, shared by every handler module: buttons from (text, data) rows, replies
and sends split under Telegram's limit (buttons on the last part), edits that tolerate an
unchanged or too-old message, taking spent buttons off, the forged-press alert, a press decoded
for a dispatch table, the HR-only refusal.

Not a feature: bot/features.py does not list it, it registers nothing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError

from bot.core import callbacks
from bot.core.callbacks import Callback
from bot.core.services import StudyContext
from bot.core.text import split_message
from storage.models import Member

log = logging.getLogger(__name__)

Rows = list[list[tuple[str, str]]]


def markup(rows: Rows) -> InlineKeyboardMarkup | None:
    """Inline buttons from rows of (text, callback data); empty rows are dropped, and no rows
    at all give no keyboard."""
    rows = [r for r in rows if r]
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def chunks(items: list[tuple[str, str]], size: int) -> Rows:
    """Buttons laid out `size` to a row."""
    return [items[i : i + size] for i in range(0, len(items), size)]


async def reply_long(message: Message, text: str, **kwargs: Any) -> Message:
    """Answers `message` with `text` split under Telegram's limit; `kwargs` (buttons) go on
    the last part, which is returned."""
    parts = split_message(text)
    for part in parts[:-1]:
        await message.reply_text(part)
    return await message.reply_text(parts[-1], **kwargs)


async def reply(update: Update, text: str, **kwargs: Any) -> Message:
    """`reply_long` to the update's message."""
    message = update.effective_message
    assert message is not None
    return await reply_long(message, text, **kwargs)


async def say(
    context: StudyContext, chat_id: int, text: str, keyboard: InlineKeyboardMarkup | None = None
) -> Message:
    """Sends `text` to a chat, split under the limit; the buttons go on the last part."""
    parts = split_message(text)
    for part in parts[:-1]:
        await context.bot.send_message(chat_id, part)
    return await context.bot.send_message(chat_id, parts[-1], reply_markup=keyboard)


async def edit(message: Message, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Replaces a message's text (cut to the first part); an unchanged text or a message too
    old to edit is left as it is."""
    with contextlib.suppress(BadRequest):
        await message.edit_text(split_message(text)[0], reply_markup=keyboard)


async def drop_buttons(message: object) -> None:
    """Best effort: takes the buttons off a message once they have done their job (a stale
    press is refused by its handler anyway)."""
    if not isinstance(message, Message) or message.reply_markup is None:
        return
    try:
        await message.edit_reply_markup(reply_markup=None)
    except TelegramError as exc:
        log.debug("could not remove buttons: %s", exc)


async def forged(update: Update, context: StudyContext) -> None:
    """The alert for a press whose data does not decode or is not this user's to make."""
    query = update.callback_query
    assert query is not None
    await query.answer(context.t("error.forged"), show_alert=True)


def chat_id(update: Update) -> int:
    """The id of the chat the update came from."""
    chat = update.effective_chat
    assert chat is not None
    return chat.id


P = TypeVar("P")


async def lookup(
    update: Update, context: StudyContext, presses: Mapping[str, P],
    allowed: Callable[[Member], bool] | None = None,
) -> tuple[Callback, Member, P] | None:
    """A button press decoded for a dispatch table: its data, the presser (registered, and
    `allowed` if given — checked from the member record the gatekeeper loaded, never from the
    data) and the table's entry for its action. Anything missing is a forged press: it gets
    the alert and None comes back."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.decode(query.data)
    member = context.member
    press = presses.get(cb.action) if cb is not None else None
    if cb is None or press is None or member is None or (allowed and not allowed(member)):
        await forged(update, context)
        return None
    return cb, member, press


async def hr_only(update: Update, context: StudyContext, refusal_key: str) -> Member | None:
    """The sender of an HR command when they are HR; anyone else gets `refusal_key`."""
    member = context.member
    assert member is not None
    if not member.is_hr:
        await reply(update, context.t(refusal_key))
        return None
    return member


async def alert(update: Update, text: str) -> None:
    """Answers the press with `text` as an alert (a refusal the presser must read)."""
    query = update.callback_query
    assert query is not None
    await query.answer(text, show_alert=True)


def member_of(context: StudyContext) -> Member:
    """The sender's member record (the gatekeeper lets only members through)."""
    member = context.member
    assert member is not None
    return member


def pressed(update: Update) -> tuple[CallbackQuery, Message]:
    """The press and the message its button is on (the dispatcher made sure there is one)."""
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    return query, query.message
