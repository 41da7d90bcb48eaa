"""Routes a user's free input to the feature whose dialog is waiting for it (a message nothing
waits for gets a pointer to /help, never silence); /cancel ends it."""

from __future__ import annotations

from telegram import ReplyKeyboardRemove, Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.core import commands, dialog
from bot.core.services import StudyContext
from bot.delivery.telegram import StudyBot

IDLE_ALBUM_KEY = "dialog_idle_album"


async def route_input(update: Update, context: StudyContext) -> None:
    """Hands a message to the waiting dialog, if any."""
    if context.member is None:
        return
    state = dialog.current(context)
    if state is None:
        await _idle(update, context)
        return
    handler = dialog.handler_for(state["feature"])
    if handler is None:
        dialog.end(context)
        return
    await handler(update, context, state)


async def _idle(update: Update, context: StudyContext) -> None:
    """A message nothing is waiting for gets a pointer to /help instead of silence; an edit
    gets nothing, and an album only one answer."""
    message = update.message
    if message is None:
        return
    group = message.media_group_id
    if group is not None:
        assert context.user_data is not None
        if context.user_data.get(IDLE_ALBUM_KEY) == group:
            return
        context.user_data[IDLE_ALBUM_KEY] = group
    await message.reply_text(context.t("dialog.idle"))


async def end_on_command(update: Update, context: StudyContext) -> None:
    """Any command abandons a half-finished dialog (the command itself then runs, and its
    answer takes away a reply keyboard the dialog may have shown); /cancel ends it itself, to
    say so and take the keyboard away."""
    message = update.effective_message
    command = (message.text or "").split(maxsplit=1)[0] if message is not None else ""
    if command.split("@", 1)[0].lower() == "/cancel":
        return
    if dialog.current(context) is not None:
        dialog.end(context)
        # Removing a keyboard that is not shown changes nothing, so no need to know whether
        # one is (after a restart nobody would).
        if isinstance(context.bot, StudyBot) and message is not None:
            context.bot.remove_keyboard_with_next(message.chat_id)


async def cancel(update: Update, context: StudyContext) -> None:
    """/cancel: stops whatever the bot was asking for."""
    message = update.effective_message
    assert message is not None
    had = dialog.current(context) is not None
    dialog.end(context)
    # A step may have shown a reply keyboard (the location button of a check-in): it goes too.
    await message.reply_text(
        context.t("dialog.cancelled" if had else "dialog.nothing"),
        reply_markup=ReplyKeyboardRemove() if had else None,
    )


commands.register("cancel", order=90)


def register(app: Application) -> None:
    private_input = filters.ChatType.PRIVATE & ~filters.COMMAND & (
        filters.TEXT | filters.Document.ALL | filters.PHOTO | filters.LOCATION
    )
    # After the gatekeeper (-2), before every feature's command handler (0).
    app.add_handler(MessageHandler(filters.COMMAND, end_on_command), group=-1)
    app.add_handler(CommandHandler("cancel", cancel), group=0)
    app.add_handler(MessageHandler(private_input, route_input), group=0)
