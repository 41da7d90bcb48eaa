"""Routes a user's free input to the feature whose dialog is waiting for it; /cancel ends it."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot import commands, dialog
from bot.services import StudyContext


async def route_input(update: Update, context: StudyContext) -> None:
    """Hands a message to the waiting dialog, if any."""
    if context.member is None:
        return
    state = dialog.current(context)
    if state is None:
        return
    handler = dialog.handler_for(state["feature"])
    if handler is None:
        dialog.end(context)
        return
    await handler(update, context, state)


async def end_on_command(update: Update, context: StudyContext) -> None:
    """Any command abandons a half-finished dialog (the command itself then runs)."""
    if dialog.current(context) is not None:
        dialog.end(context)


async def cancel(update: Update, context: StudyContext) -> None:
    """/cancel: stops whatever the bot was asking for."""
    message = update.effective_message
    assert message is not None
    had = dialog.current(context) is not None
    dialog.end(context)
    await message.reply_text(context.t("dialog.cancelled" if had else "dialog.nothing"))


commands.register("cancel", order=90)


def register(app: Application) -> None:
    private_input = filters.ChatType.PRIVATE & ~filters.COMMAND & (
        filters.TEXT | filters.Document.ALL | filters.PHOTO | filters.LOCATION
    )
    # After the gatekeeper (-2), before every feature's command handler (0).
    app.add_handler(MessageHandler(filters.COMMAND, end_on_command), group=-1)
    app.add_handler(CommandHandler("cancel", cancel), group=0)
    app.add_handler(MessageHandler(private_input, route_input), group=0)
