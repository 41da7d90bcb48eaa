"""Reminders in chat: /mute and /unmute for participants, HR's /digest.

The activity reminders themselves (their due check, and the mutes that silence them) are in
bot.reminders.activity, the timing rules in bot.reminders.rules (pure), the digests in
bot.reminders.digest. Both are imported here, so their due checks are registered when the app
is built.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.core import callbacks, commands
from bot.core.callbacks import Callback
from bot.core.services import StudyContext
from bot.reminders import activity as reminders
from bot.reminders import digest as digest_mod
from bot.reminders import rules
from handlers.replies import Rows, forged, markup, reply
from storage.models import Member, Role

PREFIX = "rem"
MUTE_CHOICES: tuple[int, ...] = (1, 3, 7, 14)
PARTICIPANTS: frozenset[Role] = frozenset({"trainee", "leader"})


# -- /mute and /unmute -----------------------------------------------------------------------


def _participant(context: StudyContext) -> Member | None:
    member = context.member
    if member is None or member.role not in PARTICIPANTS:
        return None
    return member


def _ranges_text(context: StudyContext, ranges: list[rules.DayRange]) -> str:
    return context.t("reminders.mute.sep").join(
        context.t("reminders.mute.range", start=r.start.isoformat(), end=r.end.isoformat())
        if r.days > 1 else r.start.isoformat()
        for r in ranges
    )


def _muted_text(context: StudyContext, new: rules.DayRange, ranges: list[rules.DayRange]) -> str:
    return context.t("reminders.mute.done", range=_ranges_text(context, [new]),
                     ranges=_ranges_text(context, ranges))


def _unmuted_text(context: StudyContext, done: bool) -> str:
    return context.t("reminders.unmute.done" if done else "reminders.mute.none")


def _choices(context: StudyContext, with_unmute: bool) -> Rows:
    rows: Rows = [[
        (context.t("reminders.mute.today") if days == 1
         else context.t("reminders.mute.days", n=days), callbacks.encode(PREFIX, "mute", days))
        for days in MUTE_CHOICES
    ]]
    if with_unmute:
        rows.append([(context.t("reminders.mute.unmute_button"),
                      callbacks.encode(PREFIX, "unmute"))])
    return rows


async def mute_command(update: Update, context: StudyContext) -> None:
    """/mute [from to | day | N]: pauses reminders for those days; without arguments, buttons."""
    member = _participant(context)
    if member is None:
        await reply(update, context.t("reminders.mute.only_participants"))
        return
    services = context.services
    today = services.now().date()
    if not context.args:
        current = await reminders.mutes(services.db, member.pk, today)
        text = (context.t("reminders.mute.current", ranges=_ranges_text(context, current))
                if current else context.t("reminders.mute.none"))
        await reply(update, text + "\n" + context.t("reminders.mute.choose"),
                    reply_markup=markup(_choices(context, bool(current))))
        return
    parsed = rules.parse_mute(context.args, today)
    if isinstance(parsed, str):
        await reply(update, context.t(f"reminders.mute.bad_{parsed}", max=rules.MAX_MUTE_DAYS,
                                      today=today.isoformat()))
        return
    ranges = await reminders.mute(services.db, member.pk, parsed, services.now())
    await reply(update, _muted_text(context, parsed, ranges))


async def unmute_command(update: Update, context: StudyContext) -> None:
    """/unmute: reminders again from today."""
    member = _participant(context)
    if member is None:
        await reply(update, context.t("reminders.mute.only_participants"))
        return
    services = context.services
    done = await reminders.unmute(services.db, member.pk, services.now())
    await reply(update, _unmuted_text(context, done))


async def _mute_press(context: StudyContext, member: Member, cb: Callback) -> str:
    days = cb.int_arg()
    assert days is not None  # checked against MUTE_CHOICES by on_button
    services = context.services
    new, ranges = await reminders.mute_days(services.db, member.pk, days, services.now())
    return _muted_text(context, new, ranges)


async def _unmute_press(context: StudyContext, member: Member, cb: Callback) -> str:
    services = context.services
    return _unmuted_text(context, await reminders.unmute(services.db, member.pk, services.now()))


Press = Callable[[StudyContext, Member, Callback], Awaitable[str]]
PRESSES: dict[str, Press] = {"mute": _mute_press, "unmute": _unmute_press}


async def on_button(update: Update, context: StudyContext) -> None:
    """The /mute buttons: mute N days from today, or unmute. Only for oneself."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.decode(query.data)
    member = _participant(context)
    press = PRESSES.get(cb.action) if cb is not None else None
    if cb is None or member is None or press is None or (
        cb.action == "mute" and cb.int_arg() not in MUTE_CHOICES
    ):
        await forged(update, context)
        return
    await query.answer()
    await query.edit_message_text(await press(context, member, cb))


# -- /digest ---------------------------------------------------------------------------------


async def digest_command(update: Update, context: StudyContext) -> None:
    """/digest (HR): today's digest now, to the asker; the scheduled one is not affected."""
    message = update.effective_message
    member = context.member
    assert message is not None
    if member is None or not member.is_hr:
        await message.reply_text(context.t("digest.hr_only"))
        return
    result = await digest_mod.hr_now(context.services, context.lang)
    for text in result.texts:
        await message.reply_text(text)
    if result.chart is not None:
        await message.reply_photo(result.chart, caption=result.caption)


commands.register("mute", roles=PARTICIPANTS, order=70)
commands.register("unmute", roles=PARTICIPANTS, order=71)
commands.register("digest", roles=frozenset({"hr"}), order=63)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("mute", mute_command, filters=private))
    app.add_handler(CommandHandler("unmute", unmute_command, filters=private))
    # The digest is for HR's eyes: in a private chat, or in the HR chat when one is configured.
    hr_chat = app.bot_data["config"].program.hr_chat_id
    where = private | filters.Chat(hr_chat) if hr_chat is not None else private
    app.add_handler(CommandHandler("digest", digest_command, filters=where))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))
