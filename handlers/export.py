"""/export: an .xlsx workbook of the records — HR gets everything, a leader the own group — in
the programme's language, the same workbook as `studybot export all`, the summary sheet first."""

from __future__ import annotations

import asyncio
import io

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import Application, CommandHandler

from bot.core import commands
from bot.core.services import StudyContext
from bot.documents.exports import ExportFilter, collect, xlsx_bytes


async def export(update: Update, context: StudyContext) -> None:
    """Sends the workbook as a document."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    services = context.services
    now = services.now()
    if member.is_hr:
        flt = ExportFilter(at=now)
        scope = context.t("export_chat.everyone")
    elif member.is_leader and member.group_id is not None:
        flt = ExportFilter(group_id=member.group_id, at=now)
        scope = member.group_name or ""
    else:
        await message.reply_text(context.t("export_chat.not_allowed"))
        return
    await context.bot.send_chat_action(message.chat_id, ChatAction.UPLOAD_DOCUMENT)
    sheets = await collect(services.db, services.config, None, flt,
                           lang=services.config.program.language)
    data = await asyncio.to_thread(xlsx_bytes, sheets)
    stamp = now.strftime("%Y%m%d-%H%M")
    rows = sum(len(s.rows) for s in sheets)
    await message.reply_document(
        io.BytesIO(data), filename=f"studybot-{stamp}.xlsx",
        caption=context.t("export_chat.caption", scope=scope, rows=rows,
                          sheets=", ".join(s.name for s in sheets)),
    )


commands.register("export", roles=frozenset({"leader", "hr"}), order=62)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("export", export))
