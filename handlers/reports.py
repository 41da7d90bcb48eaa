"""/report (the host files the activity report), /reports (HR's and a leader's overview) and
/handover (a leader gives the hosting of an activity to another member).

Filing: /report offers the host's activities awaiting a report; picking one shows the roll
call, then asks, one message at a time, what was studied, the highlights, photos (1 to 10; an
album arrives as one update per photo, each saved as it comes and counted on one status
message), an optional recommended work and the headcount, and shows a preview to submit or
edit. Every answer is saved in the draft, so a restart loses nothing. Until the deadline a
submitted report can be amended; the amendment is kept in the dialog (its photos staged in the
database) until it is submitted. Texts and buttons come from bot.reports.views; authorisation
from the database (bot.reports.flow); a button not this user's to press gets error.forged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InputMediaPhoto, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.core import callbacks, commands, dialog
from bot.core.callbacks import Callback
from bot.core.services import StudyContext
from bot.delivery.inbox import now_and_sent
from bot.reports import flow as reporting
from bot.reports import views
from bot.reports.views import PREFIX
from handlers import report_filing as filing
from handlers.replies import alert, forged, markup, member_of, pressed, say
from handlers.replies import chat_id as chat_of

log = logging.getLogger(__name__)

FEATURE = filing.FEATURE
# Refusals that mean the press was not this user's to make: answered as forged.
NOT_YOURS = ("not_found", "not_host")

commands.register("report", roles=frozenset({"trainee", "leader"}), order=30)
commands.register("reports", roles=frozenset({"leader", "hr"}), order=31)
commands.register("handover", roles=frozenset({"leader"}), order=32)



# -- small helpers --------------------------------------------------------------------------


async def _refused(update: Update, context: StudyContext, refusal: str | None, found: object,
                   forged_when: tuple[str, ...], key: str, **params: Any) -> bool:
    """Answers a refused press: error.forged when nothing was `found` or the refusal means
    the press was not this user's to make, else the refusal's text (`key`.refusal)."""
    if refusal in forged_when or found is None:
        await forged(update, context)
        return True
    if refusal is not None:
        await alert(update, context.t(f"{key}.{refusal}", **params))
        return True
    return False


# -- /report --------------------------------------------------------------------------------


async def report_command(update: Update, context: StudyContext) -> None:
    """/report: the host's activities awaiting a report (or still amendable)."""
    services = context.services
    found = await reporting.host_list(services.db, services.config, member_of(context),
                                      services.clock.now())
    text, rows = views.host_list(context.lang, services.clock.tz, found)
    await say(context, chat_of(update), text, markup(rows))


async def _pick(update: Update, context: StudyContext, cb: Callback, pk: int) -> None:
    """An activity chosen from /report: begins (or resumes) the draft, or an amendment."""
    query, _ = pressed(update)
    services, now = context.services, context.services.clock.now()
    opened = await reporting.open_draft(services.db, services.config, member_of(context), pk, now)
    if await _refused(update, context, opened.refusal, opened.activity, NOT_YOURS,
                      "reports.refused"):
        return
    report, activity, due = opened.report, opened.activity, opened.due
    assert report is not None and activity is not None and due is not None
    if report.submitted:
        await _begin_amendment(update, context, cb, report.pk)
        return
    await query.answer()
    dialog.begin(context, FEATURE, report=report.pk, activity=activity.pk, mode="draft",
                 step="", overrides={}, staged=False)
    att = await reporting.attendance_now(services.db, activity)
    chat_id = chat_of(update)
    await say(context, chat_id, views.intro(context.lang, activity, due, att, now))
    state = dialog.current(context)
    assert state is not None
    await filing.advance(context, chat_id, state)


async def _begin_amendment(update: Update, context: StudyContext, cb: Callback, pk: int) -> None:
    """Amend (or a submitted report picked from /report): the preview, to edit and resubmit."""
    query, _ = pressed(update)
    services = context.services
    now, sent = now_and_sent(update, context)
    result = await reporting.start_amendment(services.db, services.config, member_of(context),
                                             pk, now, sent_at=sent)
    if await _refused(update, context, result.refusal, result.report, NOT_YOURS,
                      "reports.refused"):
        return
    assert result.report is not None
    await query.answer()
    dialog.begin(context, FEATURE, report=pk, activity=result.report.activity_pk,
                 mode="amend", step="preview", overrides={}, staged=False, back=True)
    state = dialog.current(context)
    assert state is not None
    await filing.preview(context, chat_of(update), state)


# -- buttons --------------------------------------------------------------------------------


async def on_button(update: Update, context: StudyContext) -> None:
    """Every `rep:` button."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.decode(query.data)
    if cb is None or context.member is None or not isinstance(query.message, Message):
        await forged(update, context)
        return
    pk = cb.int_arg(0)
    press = BUTTONS.get(cb.action)
    if pk is None or press is None:
        await forged(update, context)
        return
    await press(update, context, cb, pk)


# -- /reports -------------------------------------------------------------------------------


async def reports_command(update: Update, context: StudyContext) -> None:
    """/reports: reports by state (HR: every group; a leader: the own group)."""
    services = context.services
    member = member_of(context)
    chat_id = chat_of(update)
    groups = await reporting.overview(services.db, services.config, member,
                                      services.clock.now())
    if groups is None:
        await say(context, chat_id, context.t("reports.overview.not_allowed"))
        return
    text, rows = views.overview(context.lang, services.clock.tz, member, groups)
    await say(context, chat_id, text, markup(rows))


async def _open(update: Update, context: StudyContext, cb: Callback, pk: int) -> None:
    """Sends a submitted report to someone allowed to see it: text, photos, document."""
    query, message = pressed(update)
    services = context.services
    opening = await reporting.open_report(services.db, services.config, member_of(context),
                                          context.lang, pk)
    if opening is None:
        await forged(update, context)
        return
    await query.answer()
    chat_id = message.chat_id
    await say(context, chat_id, opening.text)
    if len(opening.photo_file_ids) == 1:
        await context.bot.send_photo(chat_id, opening.photo_file_ids[0])
    elif opening.photo_file_ids:
        await context.bot.send_media_group(
            chat_id, [InputMediaPhoto(fid) for fid in opening.photo_file_ids]
        )
    if opening.document is not None and opening.document.is_file():
        await context.bot.send_document(chat_id, opening.document,
                                        filename=opening.document_name or
                                        opening.document.name)


# -- /handover ------------------------------------------------------------------------------


async def handover_command(update: Update, context: StudyContext) -> None:
    """/handover: a leader picks an upcoming group activity to give to another host."""
    services = context.services
    member = member_of(context)
    chat_id = chat_of(update)
    upcoming = await reporting.handover_list(services.db, member, services.clock.now())
    if upcoming is None:
        await say(context, chat_id, context.t("reports.handover.leaders_only"))
        return
    if not upcoming:
        await say(context, chat_id, context.t("reports.handover.none"))
        return
    rows = views.handover_rows(context.lang, services.clock.tz, upcoming)
    await say(context, chat_id, context.t("reports.handover.pick"), markup(rows))


async def _handover_pick(update: Update, context: StudyContext, cb: Callback, pk: int) -> None:
    """An activity picked from /handover: who should host it instead?"""
    query, message = pressed(update)
    services = context.services
    choice = await reporting.handover_choice(services.db, member_of(context), pk,
                                             services.clock.now())
    activity = choice.activity
    if await _refused(update, context, choice.refusal, activity, ("not_found", "forbidden"),
                      "reports.handover.refused"):
        return
    assert activity is not None
    await query.answer()
    text, rows = views.handover_pick(context.lang, activity, choice.candidates)
    await message.edit_text(text, reply_markup=markup(rows))


async def _handover_to(update: Update, context: StudyContext, cb: Callback, pk: int) -> None:
    """The new host picked: the hosting changes and both hosts are told."""
    query, message = pressed(update)
    services = context.services
    target = cb.int_arg(1)
    if target is None:
        await forged(update, context)
        return
    result = await reporting.hand_over(services.db, services.config, member_of(context),
                                       pk, target, services.clock.now())
    name = result.new_host.name if result.new_host else ""
    if await _refused(update, context, result.refusal, result, ("forbidden", "not_found",
                      "bad_host"), "reports.handover.refused", name=name):
        return
    await query.answer()
    services.sender.notify()
    assert result.new_host is not None and result.activity is not None
    await message.edit_text(context.t("reports.handover.done", title=result.activity.title,
                                      name=result.new_host.name))


Press = Callable[[Update, StudyContext, Callback, int], Awaitable[None]]
BUTTONS: dict[str, Press] = {
    "pick": _pick, "amend": _begin_amendment, "open": _open,
    "ho": _handover_pick, "hom": _handover_to,
    # Inside the filing dialog (handlers/report_filing.py checks the step they belong to).
    "sub": filing.step_button, "suba": filing.step_button, "done": filing.step_button,
    "rec": filing.step_button, "norec": filing.step_button, "recm": filing.step_button,
    "hc": filing.step_button, "ed": filing.step_button,
}


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("report", report_command, filters=private))
    app.add_handler(CommandHandler("reports", reports_command, filters=private))
    app.add_handler(CommandHandler("handover", handover_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))
