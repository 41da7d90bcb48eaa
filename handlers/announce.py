"""/announce (HR): to everyone, one group or the leaders; preview, then send through the outbox
with a progress line (sent / pending / unreachable) that updates as delivery goes on."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.core import callbacks, commands, dialog
from bot.core.services import Services, StudyContext
from bot.core.text import utf16_len
from bot.delivery import notify
from storage import announcements as ann_repo

log = logging.getLogger(__name__)

PREFIX = "ann"
MAX_TEXT = 3000
PROGRESS_INTERVAL = 2.0


def _button(context: StudyContext, key: str, action: str, *args: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        context.t(key), callback_data=callbacks.encode(PREFIX, action, *args)
    )


async def announce(update: Update, context: StudyContext) -> None:
    """Starts an announcement: pick the audience."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    if not member.is_hr:
        await message.reply_text(context.t("announce.hr_only"))
        return
    dialog.end(context)
    keyboard = InlineKeyboardMarkup([
        [_button(context, "announce.to_all", "aud", "all")],
        [_button(context, "announce.to_leaders", "aud", "leaders")],
        [_button(context, "announce.to_group", "aud", "group")],
    ])
    await message.reply_text(context.t("announce.choose"), reply_markup=keyboard)


async def on_button(update: Update, context: StudyContext) -> None:
    """Audience, group, send and cancel buttons; HR only, checked from the database."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.decode(query.data)
    member = context.member
    if cb is None or member is None or not member.is_hr:
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    services = context.services
    if cb.action == "aud" and cb.args and cb.args[0] in ("all", "leaders"):
        await query.answer()
        dialog.begin(context, "announce", audience=cb.args[0], group_id=None)
        await query.edit_message_text(context.t("announce.ask_text", limit=MAX_TEXT))
    elif cb.action == "aud" and cb.args and cb.args[0] == "group":
        await query.answer()
        rows = await services.db.fetchall("SELECT id, name FROM groups ORDER BY name")
        buttons = [
            [InlineKeyboardButton(r["name"], callback_data=callbacks.encode(PREFIX, "grp", r[0]))]
            for r in rows
        ]
        await query.edit_message_text(
            context.t("announce.choose_group"), reply_markup=InlineKeyboardMarkup(buttons)
        )
    elif cb.action == "grp" and cb.int_arg() is not None:
        row = await services.db.fetchone("SELECT name FROM groups WHERE id = ?", (cb.int_arg(),))
        if row is None:
            await query.answer(context.t("error.forged"), show_alert=True)
            return
        await query.answer()
        dialog.begin(context, "announce", audience="group", group_id=cb.int_arg())
        await query.edit_message_text(context.t("announce.ask_text", limit=MAX_TEXT))
    elif cb.action == "send":
        await _send(update, context)
    elif cb.action == "cancel":
        await query.answer()
        dialog.end(context)
        await query.edit_message_text(context.t("announce.cancelled"))
    else:
        await query.answer(context.t("error.forged"), show_alert=True)


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
    services = context.services
    async with services.db.read() as conn:
        people = await ann_repo.audience(conn, state["audience"], state["group_id"])
    reachable = sum(1 for m in people if m.telegram_id is not None)
    state.update(text=text, step="preview")
    keyboard = InlineKeyboardMarkup([[
        _button(context, "announce.send", "send"), _button(context, "announce.cancel", "cancel"),
    ]])
    await message.reply_text(
        context.t("announce.preview", count=len(people), reachable=reachable, text=text),
        reply_markup=keyboard,
    )


async def _send(update: Update, context: StudyContext) -> None:
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
    now = services.now_ts()
    cfg = services.config
    async with services.db.tx() as conn:
        people = await ann_repo.audience(conn, state["audience"], state["group_id"])
        registered = [m for m in people if m.telegram_id is not None]
        ann_id = await ann_repo.create(
            conn, author_pk=member.pk, kind=state["audience"], group_id=state["group_id"],
            text=state["text"], recipients=len(people),
            not_registered=len(people) - len(registered), now=now,
        )
        for person in registered:
            await notify.to_member(
                conn, cfg, person, "announce.message", now=now, kind=f"announce:{ann_id}",
                dedupe_key=f"announce:{ann_id}:{person.pk}", author=member.name,
                text=state["text"],
            )
        if query.message is not None:
            await ann_repo.set_progress_message(
                conn, ann_id, query.message.chat.id, query.message.message_id
            )
    services.sender.notify()
    await update_progress(services, ann_id)
    task = asyncio.create_task(_follow(services, ann_id), name=f"announce-{ann_id}")
    services.extras.setdefault("tasks", set()).add(task)
    task.add_done_callback(services.extras["tasks"].discard)


async def update_progress(services: Services, ann_id: int) -> bool:
    """Edits the progress line; returns True once nothing is pending any more."""
    async with services.db.read() as conn:
        row = await (await conn.execute(
            "SELECT a.*, m.language FROM announcements a JOIN members m ON m.id = a.author_pk"
            " WHERE a.id = ?", (ann_id,),
        )).fetchone()
        if row is None:
            return True
        progress = await ann_repo.progress(conn, ann_id)
    from bot.core.i18n import normalize, t

    lang = normalize(row["language"], services.default_language)
    key = "announce.done" if progress.done else "announce.progress"
    text = t(
        lang, key, sent=progress.sent, pending=progress.pending,
        unreachable=progress.unreachable + progress.failed + row["not_registered"],
        total=row["recipients"],
    )
    try:
        await services.bot.edit_message_text(
            text, chat_id=row["progress_chat_id"], message_id=row["progress_message_id"]
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.warning("announcement %s progress: %s", ann_id, exc)
    except TelegramError as exc:
        log.warning("announcement %s progress: %s", ann_id, exc)
        return False
    if progress.done:
        async with services.db.tx() as conn:
            await ann_repo.finish(conn, ann_id, services.now_ts())
    return progress.done


async def _follow(services: Services, ann_id: int) -> None:
    """Keeps the progress line current while the outbox delivers (wall time: it is a UI)."""
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            if await update_progress(services, ann_id):
                return
            await asyncio.sleep(PROGRESS_INTERVAL)


async def progress_check(services: Services, now: dt.datetime) -> int:
    """After a restart (or if the follower stopped), finishes the progress lines."""
    async with services.db.read() as conn:
        rows = await ann_repo.unfinished(conn)
    done = 0
    for row in rows:
        if await update_progress(services, row["id"]):
            done += 1
    return done


commands.register("announce", roles=frozenset({"hr"}), order=60)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("announce", announce))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))

