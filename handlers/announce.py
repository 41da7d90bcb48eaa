"""/announce (HR): to everyone, one group or the leaders; preview, then send through the outbox
with a progress line (sent / pending / unreachable) that updates as delivery goes on.

Who an audience reaches, the sending and the progress line's text are bot.members.announce's;
this module asks, previews, and keeps the progress line edited."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.core import callbacks, commands, dialog
from bot.core.callbacks import Callback
from bot.core.services import Services, StudyContext
from bot.core.text import utf16_len
from bot.members import announce as flow
from bot.members.admin import groups
from handlers.replies import Rows, edit, forged, hr_only, lookup, markup, reply

log = logging.getLogger(__name__)

PREFIX = "ann"
MAX_TEXT = 3000
PROGRESS_INTERVAL = 2.0


def _button(context: StudyContext, key: str, action: str, *args: object) -> tuple[str, str]:
    return context.t(key), callbacks.encode(PREFIX, action, *args)


async def announce(update: Update, context: StudyContext) -> None:
    """Starts an announcement: pick the audience."""
    if await hr_only(update, context, "announce.hr_only") is None:
        return
    dialog.end(context)
    rows: Rows = [
        [_button(context, "announce.to_all", "aud", "all")],
        [_button(context, "announce.to_leaders", "aud", "leaders")],
        [_button(context, "announce.to_group", "aud", "group")],
    ]
    await reply(update, context.t("announce.choose"), reply_markup=markup(rows))


def _pressed(update: Update) -> Message:
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    return query.message


async def _ask_text(
    update: Update, context: StudyContext, audience: str, group_id: int | None
) -> None:
    """The audience is settled: the dialog waits for the text."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    dialog.begin(context, "announce", audience=audience, group_id=group_id)
    await edit(_pressed(update), context.t("announce.ask_text", limit=MAX_TEXT))


async def _audience(update: Update, context: StudyContext, cb: Callback) -> None:
    """Everyone or the leaders: straight to the text; a group: which one."""
    choice = cb.args[0] if cb.args else ""
    if choice in ("all", "leaders"):
        await _ask_text(update, context, choice, None)
        return
    if choice != "group":
        await forged(update, context)
        return
    query = update.callback_query
    assert query is not None
    await query.answer()
    rows: Rows = [[(name, callbacks.encode(PREFIX, "grp", gid))]
                  for gid, name in await groups(context.services.db)]
    await edit(_pressed(update), context.t("announce.choose_group"), markup(rows))


async def _group(update: Update, context: StudyContext, cb: Callback) -> None:
    gid = cb.int_arg()
    if gid is None or await flow.group_name(context.services.db, gid) is None:
        await forged(update, context)
        return
    await _ask_text(update, context, "group", gid)


async def _cancel(update: Update, context: StudyContext, cb: Callback) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    dialog.end(context)
    await edit(_pressed(update), context.t("announce.cancelled"))


async def _send_press(update: Update, context: StudyContext, cb: Callback) -> None:
    await _send(update, context)


Press = Callable[[Update, StudyContext, Callback], Awaitable[None]]
PRESSES: dict[str, Press] = {
    "aud": _audience, "grp": _group, "send": _send_press, "cancel": _cancel,
}


async def on_button(update: Update, context: StudyContext) -> None:
    """Audience, group, send and cancel buttons; HR only, checked from the database."""
    found = await lookup(update, context, PRESSES, allowed=lambda m: m.is_hr)
    if found is not None:
        cb, _, press = found
        await press(update, context, cb)


@dialog.on_input("announce")
async def on_text(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    """The announcement text: checked, then previewed with Send / Cancel."""
    message = update.effective_message
    assert message is not None
    text = (message.text or "").strip()
    if not text:
        await message.reply_text(context.t("announce.text_only"))
        return
    # Measured as Telegram does (UTF-16 units: an emoji counts twice), so the preview below
    # (text + a few lines) always fits in one message.
    if utf16_len(text) > MAX_TEXT:
        await message.reply_text(
            context.t("announce.too_long", limit=MAX_TEXT, length=utf16_len(text))
        )
        return
    reach = await flow.reach(context.services.db, state["audience"], state["group_id"])
    state.update(text=text, step="preview")
    rows: Rows = [[
        _button(context, "announce.send", "send"), _button(context, "announce.cancel", "cancel"),
    ]]
    await message.reply_text(
        context.t("announce.preview", count=reach.count, reachable=reach.reachable, text=text),
        reply_markup=markup(rows),
    )


async def _send(update: Update, context: StudyContext) -> None:
    """Send on the preview: queued for everyone at once, then the progress line is followed."""
    query = update.callback_query
    member = context.member
    assert query is not None and member is not None
    state = dialog.current(context)
    if not state or state.get("feature") != "announce" or state.get("step") != "preview":
        await query.answer(context.t("announce.expired"), show_alert=True)
        return
    dialog.end(context)
    await query.answer()
    services = context.services
    message = query.message
    ann_id = await flow.send(
        services.db, services.config, member.pk,
        flow.Draft(state["audience"], state["group_id"], state["text"]), services.now(),
        (message.chat.id, message.message_id) if message is not None else None,
    )
    if ann_id is None:  # no longer HR since the preview: nothing was sent
        return
    services.sender.notify()
    await update_progress(services, ann_id)
    task = asyncio.create_task(_follow(services, ann_id), name=f"announce-{ann_id}")
    services.extras.setdefault("tasks", set()).add(task)
    task.add_done_callback(services.extras["tasks"].discard)


async def update_progress(services: Services, ann_id: int) -> bool:
    """Edits the progress line; returns True once nothing is pending any more."""
    line = await flow.progress_line(services.db, ann_id, services.default_language)
    if line is None:
        return True
    try:
        await services.bot.edit_message_text(
            line.text, chat_id=line.chat_id, message_id=line.message_id
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.warning("announcement %s progress: %s", ann_id, exc)
    except TelegramError as exc:
        log.warning("announcement %s progress: %s", ann_id, exc)
        return False
    if line.done:
        await flow.finish(services.db, ann_id, services.now())
    return line.done


async def _follow(services: Services, ann_id: int) -> None:
    """Keeps the progress line current while the outbox delivers (wall time: it is a UI)."""
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            if await update_progress(services, ann_id):
                return
            await asyncio.sleep(PROGRESS_INTERVAL)


async def progress_check(services: Services, now: dt.datetime) -> int:
    """After a restart (or if the follower stopped), finishes the progress lines."""
    done = 0
    for ann_id in await flow.unfinished(services.db):
        if await update_progress(services, ann_id):
            done += 1
    return done


commands.register("announce", roles=frozenset({"hr"}), order=60)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("announce", announce))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))
