"""/lang: a user switches between Chinese and English; the command menu follows."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.core import callbacks, commands
from bot.core.i18n import LANGUAGES, t
from bot.core.services import StudyContext
from bot.members import profile
from handlers.replies import forged, markup, reply
from handlers.start import set_commands

PREFIX = "lang"


async def lang(update: Update, context: StudyContext) -> None:
    """Offers the languages as buttons."""
    buttons = [(t(code, "language.name"), callbacks.encode(PREFIX, "set", code))
               for code in LANGUAGES]
    await reply(
        update, context.t("language.choose", current=t(context.lang, "language.name")),
        reply_markup=markup([buttons]),
    )


async def choose(update: Update, context: StudyContext) -> None:
    """Stores the chosen language and re-sets the command menu in it."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.decode(query.data)
    member = context.member
    if (
        cb is None
        or member is None
        or cb.action != "set"
        or not cb.args
        or cb.args[0] not in LANGUAGES
    ):
        await forged(update, context)
        return
    code = cb.args[0]
    services = context.services
    updated = await profile.set_language(services.db, member.pk, code, services.now())
    if updated is None:
        await forged(update, context)
        return
    context.member, context.lang = updated, code
    await query.answer()
    await query.edit_message_text(t(code, "language.set", language=t(code, "language.name")))
    if query.message is not None:
        await set_commands(context, updated, query.message.chat.id)


commands.register("lang", order=80)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("lang", lang))
    app.add_handler(CallbackQueryHandler(choose, pattern=callbacks.pattern(PREFIX)))
