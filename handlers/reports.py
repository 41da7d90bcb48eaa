"""/report (the host files the activity report), /reports (HR's and a leader's overview) and
/handover (a leader gives the hosting of an activity to another member).

Filing: /report offers the host's activities awaiting a report; picking one shows the
attendance pre-filled from the roll call, then asks, one message at a time, what was studied,
the highlights, photos (1 to 10; an album arrives as one update per photo, each saved to the
draft as it comes and counted on one status message), an optional recommended work and the
headcount, and shows a preview to submit or edit. Every answer is saved in the draft, so a
restart loses nothing. Until the deadline a submitted report can be amended; the amendment is
kept in the dialog (its photos staged in the database) until it is submitted.

Authorisation always comes from the database (bot.reports.flow re-checks the host in the
transaction); a button whose report is not the one this user is filing gets error.forged.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.activities.scheduling import activity_card, can_manage, local
from bot.core import callbacks, commands, dialog
from bot.core.services import StudyContext
from bot.core.text import split_message
from bot.documents import uploads as files
from bot.reports import flow as reporting
from bot.reports.rules import (
    MAX_PHOTOS,
    STATES,
    TEXT_MAX,
    TITLE_MAX,
    deadline_words,
    document_suffix,
    parse_headcount,
)
from storage import activities as activities_repo
from storage.db import parse_ts
from storage.models import Member, Role

log = logging.getLogger(__name__)

PREFIX = "rep"
FEATURE = "reports"
LIST_LIMIT = 12
OPEN_BUTTONS = 20

HOSTS: frozenset[Role] = frozenset({"trainee", "leader"})
commands.register("report", roles=HOSTS, order=30)
commands.register("reports", roles=frozenset({"leader", "hr"}), order=31)
commands.register("handover", roles=frozenset({"leader"}), order=32)

# The answers a step saves (text steps); the photo, recommendation and headcount steps have
# their own handling.
TEXT_STEPS = {"studied": "studied", "highlights": "highlights"}
EDITS = {"st": "studied", "hl": "highlights", "ph": "photos", "rc": "recommend", "hc": "headcount"}


# -- small helpers --------------------------------------------------------------------------


def _markup(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    rows = [r for r in rows if r]
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def _cb(action: str, *args: object) -> str:
    return callbacks.encode(PREFIX, action, *args)


def _member(context: StudyContext) -> Member:
    member = context.member
    assert member is not None
    return member


async def _say(
    context: StudyContext, chat_id: int, text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Message:
    """Sends `text` (split under the limit; the buttons go on the last part)."""
    parts = split_message(text)
    for part in parts[:-1]:
        await context.bot.send_message(chat_id, part)
    return await context.bot.send_message(chat_id, parts[-1], reply_markup=markup)


async def _forged(update: Update, context: StudyContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(context.t("error.forged"), show_alert=True)


def _chat_id(update: Update) -> int:
    chat = update.effective_chat
    assert chat is not None
    return chat.id


def _date(context: StudyContext, text_ts: str) -> str:
    return f"{local(text_ts, context.services.clock.tz):%m-%d}"


def _state_for(context: StudyContext, report_pk: int | None) -> dict[str, Any] | None:
    """The report dialog of this user, if it is about `report_pk`."""
    state = dialog.current(context)
    if state is None or state.get("feature") != FEATURE or report_pk is None:
        return None
    return state if state.get("report") == report_pk else None


# -- /report --------------------------------------------------------------------------------


async def report_command(update: Update, context: StudyContext) -> None:
    """/report: the host's activities awaiting a report (or still amendable)."""
    services = context.services
    member = _member(context)
    now = services.clock.now()
    listed = await reporting.awaiting_for_host(services.db, services.config, member, now)
    chat_id = _chat_id(update)
    if not listed:
        upcoming = await reporting.next_hosted(services.db, member, now)
        if upcoming is None:
            await _say(context, chat_id, context.t("reports.list.nothing"))
            return
        due = reporting.deadline(services.config, upcoming.end_at)
        await _say(context, chat_id, context.t(
            "reports.list.nothing_next", card=activity_card(context.lang, upcoming,
                                                            services.clock.tz),
            deadline=deadline_words(context.lang, due),
        ))
        return
    rows = []
    for entry in listed[:LIST_LIMIT]:
        item = entry.item
        submitted = item.report is not None and item.report.submitted
        key = "reports.list.item_amend" if submitted else "reports.list.item"
        label = context.t(key, date=_date(context, item.start_at), title=item.title,
                          deadline=deadline_words(context.lang, entry.due))
        rows.append([(label[:60], _cb("pick", item.activity_pk))])
    await _say(context, chat_id, context.t("reports.list.pick"), _markup(rows))


async def _pick(update: Update, context: StudyContext, activity_pk: int) -> None:
    """An activity chosen from /report: begins (or resumes) the draft, or an amendment."""
    query = update.callback_query
    assert query is not None
    services = context.services
    member = _member(context)
    now = services.clock.now()
    opened = await reporting.open_draft(services.db, services.config, member, activity_pk, now)
    if opened.refusal in ("not_found", "not_host") or opened.activity is None:
        await _forged(update, context)
        return
    if opened.refusal is not None:
        await query.answer(context.t(f"reports.refused.{opened.refusal}"), show_alert=True)
        return
    report, activity, due = opened.report, opened.activity, opened.due
    assert report is not None and due is not None
    if report.submitted:
        await _begin_amendment(update, context, report.pk)
        return
    await query.answer()
    dialog.begin(context, FEATURE, report=report.pk, activity=activity.pk, mode="draft",
                 step="", overrides={}, staged=False)
    att = await reporting.attendance_now(services.db, activity)
    text = context.t(
        "reports.intro.draft", title=activity.title, deadline=deadline_words(context.lang, due),
        attendance="\n".join(reporting.attendance_lines(context.lang, att)),
    )
    if now > due:
        text += "\n\n" + context.t("reports.intro.late", deadline=deadline_words(context.lang,
                                                                                 due))
    chat_id = _chat_id(update)
    await _say(context, chat_id, text)
    state = dialog.current(context)
    assert state is not None
    await _advance(context, chat_id, state)


async def _begin_amendment(update: Update, context: StudyContext, report_pk: int) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    member = _member(context)
    result = await reporting.start_amendment(services.db, services.config, member, report_pk,
                                             services.clock.now())
    if result.refusal in ("not_found", "not_host") or result.report is None:
        await _forged(update, context)
        return
    if result.refusal is not None:
        await query.answer(context.t(f"reports.refused.{result.refusal}"), show_alert=True)
        return
    await query.answer()
    dialog.begin(context, FEATURE, report=report_pk, activity=result.report.activity_pk,
                 mode="amend", step="preview", overrides={}, staged=False, back=True)
    state = dialog.current(context)
    assert state is not None
    await _preview(context, _chat_id(update), state)


# -- the steps ------------------------------------------------------------------------------


async def _working(context: StudyContext, state: dict[str, Any]) -> tuple[str, Any] | None:
    """The preview text and content of the report this dialog is filling, or None when it
    is no longer this user's to fill (the dialog then ends)."""
    services = context.services
    own = await reporting.load_own(services.db, _member(context), int(state["report"]))
    if own is None:
        dialog.end(context)
        return None
    activity, _ = own
    return await reporting.preview(
        services.db, services.config, context.lang, activity, int(state["report"]),
        state.get("overrides"), staged=bool(state.get("staged")),
    )


async def _advance(context: StudyContext, chat_id: int, state: dict[str, Any]) -> None:
    """Asks for the next missing answer, or shows the preview when everything is there (or
    when an edit from the preview is done)."""
    shown = await _working(context, state)
    if shown is None:
        await _say(context, chat_id, context.t("reports.refused.not_host"))
        return
    _, content = shown
    if state.get("back"):
        await _preview(context, chat_id, state)
        return
    missing = content.missing()
    if "studied" in missing:
        await _ask(context, chat_id, state, "studied")
    elif "highlights" in missing:
        await _ask(context, chat_id, state, "highlights")
    elif "photos" in missing:
        await _ask(context, chat_id, state, "photos")
    elif not state.get("rec_decided") and not content.has_recommendation:
        await _ask(context, chat_id, state, "recommend")
    elif "headcount" in missing:
        await _ask(context, chat_id, state, "headcount")
    else:
        await _preview(context, chat_id, state)


async def _ask(context: StudyContext, chat_id: int, state: dict[str, Any], step: str) -> None:
    state["step"] = step
    report_pk = int(state["report"])
    if step == "photos":
        state.pop("status_msg", None)
        state.pop("album", None)
        await _say(context, chat_id, context.t("reports.ask.photos"))
    elif step == "recommend":
        await _say(context, chat_id, context.t("reports.ask.recommend"), _markup([[
            (context.t("reports.rec.yes"), _cb("rec", report_pk)),
            (context.t("reports.rec.no"), _cb("norec", report_pk)),
        ]]))
    elif step == "headcount":
        services = context.services
        async with services.db.read() as conn:
            activity = await activities_repo.by_pk(conn, int(state["activity"]))
        assert activity is not None
        came = (await reporting.attendance_now(services.db, activity)).headcount
        await _say(context, chat_id, context.t("reports.ask.headcount", came=came), _markup([[
            (context.t("reports.ask.headcount_button", came=came), _cb("hc", report_pk, came)),
        ]]))
    else:
        await _say(context, chat_id, context.t(f"reports.ask.{step}"))


async def _preview(context: StudyContext, chat_id: int, state: dict[str, Any]) -> None:
    shown = await _working(context, state)
    if shown is None:
        await _say(context, chat_id, context.t("reports.refused.not_host"))
        return
    text, _ = shown
    state["step"] = "preview"
    state["back"] = True
    r = int(state["report"])
    amend = state.get("mode") == "amend"
    submit_key = "reports.preview.submit_amend" if amend else "reports.preview.submit"
    rows = [
        [(context.t(submit_key), _cb("suba" if amend else "sub", r))],
        [(context.t("reports.preview.edit_studied"), _cb("ed", r, "st")),
         (context.t("reports.preview.edit_highlights"), _cb("ed", r, "hl"))],
        [(context.t("reports.preview.edit_photos"), _cb("ed", r, "ph")),
         (context.t("reports.preview.edit_rec"), _cb("ed", r, "rc"))],
        [(context.t("reports.preview.edit_headcount"), _cb("ed", r, "hc"))],
    ]
    await _say(context, chat_id, text + "\n\n" + context.t("reports.preview.hint"),
               _markup(rows))


async def _save(context: StudyContext, chat_id: int, state: dict[str, Any],
                values: dict[str, Any]) -> bool:
    """Keeps answers: in the draft (database), or in the amendment (dialog)."""
    if state.get("mode") == "amend":
        state.setdefault("overrides", {}).update(values)
        return True
    services = context.services
    ok = await reporting.save_fields(services.db, services.config, int(state["report"]),
                                     values, services.clock.now())
    if not ok:
        dialog.end(context)
        await _say(context, chat_id, context.t("reports.refused.submitted"))
    return ok


@dialog.on_input(FEATURE)
async def on_input(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    """Typed answers, photos and the recommended work's document."""
    message = update.effective_message
    assert message is not None
    chat_id = message.chat_id
    step = state.get("step")
    if step == "photos":
        if message.photo:
            await _photo(update, context, state)
        else:
            await message.reply_text(context.t("reports.photos.send_photos"))
        return
    if step == "rec_body" and message.document is not None:
        await _rec_document(update, context, state)
        return
    text = (message.text or "").strip()
    if not text or step in ("recommend", "rec_member", "preview", ""):
        if step == "preview":
            await _preview(context, chat_id, state)
        elif step in ("recommend", "rec_member"):
            await message.reply_text(context.t("reports.ask.press_button"))
        else:
            await message.reply_text(context.t("reports.ask.need_text"))
        return
    if step in TEXT_STEPS or step == "rec_body":
        if len(text) > TEXT_MAX:
            await message.reply_text(context.t("reports.ask.too_long", length=len(text),
                                               limit=TEXT_MAX))
            return
        if step == "rec_body":
            values = _recommendation(state, text=text)
            state["rec_decided"] = True
        else:
            values = {TEXT_STEPS[str(step)]: text}
        if await _save(context, chat_id, state, values):
            await _advance(context, chat_id, state)
        return
    if step == "rec_title":
        if len(text) > TITLE_MAX:
            await message.reply_text(context.t("reports.ask.too_long", length=len(text),
                                               limit=TITLE_MAX))
            return
        state["rec_title"] = text
        state["step"] = "rec_body"
        await message.reply_text(context.t("reports.ask.rec_body"))
        return
    if step == "headcount":
        count = parse_headcount(text)
        if count is None:
            await message.reply_text(context.t("reports.ask.bad_headcount"))
            return
        if await _save(context, chat_id, state, {"stated_headcount": count}):
            await _advance(context, chat_id, state)


def _recommendation(
    state: dict[str, Any], *, text: str | None = None, file: str | None = None,
    file_name: str | None = None,
) -> dict[str, Any]:
    return {
        "recommended_member_pk": state.get("rec_member"),
        "recommended_title": state.get("rec_title"),
        "recommended_text": text,
        "recommended_file": file,
        "recommended_file_name": file_name,
    }


def _files_dir(context: StudyContext) -> Path:
    return context.services.config.files_dir


async def _activity_folder(context: StudyContext, state: dict[str, Any]) -> Path | None:
    async with context.services.db.read() as conn:
        activity = await activities_repo.by_pk(conn, int(state["activity"]))
    if activity is None:
        return None
    return Path("reports") / activity.activity_id


async def _photo(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    """One photo (maybe one item of an album): downloaded, appended, counted on the status
    message (edited for the rest of an album)."""
    message = update.effective_message
    assert message is not None and message.photo
    services = context.services
    report_pk = int(state["report"])
    staged = bool(state.get("staged"))
    size = message.photo[-1]  # the largest
    if files.too_big(size.file_size):
        state.pop("status_msg", None)
        await message.reply_text(context.t("reports.photos.too_big"))
        return
    if await reporting.has_photo(services.db, report_pk, size.file_unique_id, staged=staged):
        await message.reply_text(context.t("reports.photos.duplicate"))
        return
    if await reporting.photo_count(services.db, report_pk, staged=staged) >= MAX_PHOTOS:
        state.pop("status_msg", None)
        await message.reply_text(context.t("reports.photos.full", max=MAX_PHOTOS))
        return
    folder = await _activity_folder(context, state)
    if folder is None:
        dialog.end(context)
        return
    stored = await files.download(
        context.bot, size.file_id, _files_dir(context), files.stored_path(folder, ".jpg")
    )
    if isinstance(stored, str):
        state.pop("status_msg", None)
        key = "reports.photos.too_big" if stored == "too_big" else "reports.photos.failed"
        await message.reply_text(context.t(key))
        return
    count = await reporting.add_photo(
        services.db, report_pk, rel_path=stored.rel.as_posix(), file_id=size.file_id,
        unique_id=size.file_unique_id, file_size=size.file_size,
        media_group_id=message.media_group_id, staged=staged, now=services.clock.now(),
    )
    if count is None:
        stored.remove()
        state.pop("status_msg", None)
        await message.reply_text(context.t("reports.photos.full", max=MAX_PHOTOS))
        return
    await _photo_status(context, message, state, count)


async def _photo_status(
    context: StudyContext, message: Message, state: dict[str, Any], count: int
) -> None:
    text = context.t("reports.photos.received", count=count, max=MAX_PHOTOS)
    markup = _markup([[(context.t("reports.photos.done_button"),
                        _cb("done", int(state["report"])))]])
    album = message.media_group_id
    status_id = state.get("status_msg")
    if album and status_id and state.get("album") == album:
        try:
            await context.bot.edit_message_text(
                text, chat_id=message.chat_id, message_id=int(status_id), reply_markup=markup
            )
            return
        except TelegramError as exc:  # deleted by the user, say: send a new one
            log.info("report photo status not edited: %s", exc)
    sent = await message.reply_text(text, reply_markup=markup)
    state["status_msg"] = sent.message_id
    state["album"] = album


async def _rec_document(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    """The recommended work as a document."""
    message = update.effective_message
    assert message is not None and message.document is not None
    doc = message.document
    suffix = document_suffix(doc.file_name)
    if suffix is None:
        await message.reply_text(context.t("reports.rec.bad_document"))
        return
    if files.too_big(doc.file_size):
        await message.reply_text(context.t("reports.rec.doc_too_big"))
        return
    folder = await _activity_folder(context, state)
    if folder is None:
        dialog.end(context)
        return
    stored = await files.download(
        context.bot, doc.file_id, _files_dir(context),
        files.stored_path(folder, suffix, prefix="work-"),
    )
    if isinstance(stored, str):
        key = "reports.rec.doc_too_big" if stored == "too_big" else "reports.rec.doc_failed"
        await message.reply_text(context.t(key))
        return
    state["rec_decided"] = True
    values = _recommendation(state, file=stored.rel.as_posix(),
                             file_name=files.display_name(doc.file_name, suffix))
    if await _save(context, message.chat_id, state, values):
        await _advance(context, message.chat_id, state)
    else:
        stored.remove()


# -- buttons --------------------------------------------------------------------------------


async def on_button(update: Update, context: StudyContext) -> None:
    """Every `rep:` button."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.decode(query.data)
    member = context.member
    if cb is None or member is None or not isinstance(query.message, Message):
        await _forged(update, context)
        return
    pk = cb.int_arg(0)
    if pk is None:
        await _forged(update, context)
        return
    action = cb.action
    if action == "pick":
        await _pick(update, context, pk)
    elif action == "amend":
        await _begin_amendment(update, context, pk)
    elif action == "open":
        await _open(update, context, pk)
    elif action in ("ho", "hom"):
        await _handover_button(update, context, cb, pk)
    elif action in ("done", "rec", "norec", "recm", "hc", "ed", "sub", "suba"):
        await _step_button(update, context, cb, pk)
    else:
        await _forged(update, context)


async def _step_button(
    update: Update, context: StudyContext, cb: callbacks.Callback, report_pk: int
) -> None:
    """Buttons inside the filing dialog; they must belong to the report being filed."""
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    services = context.services
    member = _member(context)
    state = _state_for(context, report_pk)
    own = await reporting.load_own(services.db, member, report_pk)
    if own is None:
        await _forged(update, context)
        return
    if cb.action in ("sub", "suba"):
        await _submit(update, context, report_pk, state, amend=cb.action == "suba")
        return
    if state is None:
        await _forged(update, context)
        return
    chat_id = query.message.chat_id
    step = state.get("step")
    if cb.action == "done":
        if step != "photos":
            await _forged(update, context)
            return
        staged = bool(state.get("staged"))
        if await reporting.photo_count(services.db, report_pk, staged=staged) < 1:
            await query.answer(context.t("reports.photos.need_one"), show_alert=True)
            return
        await query.answer()
        await _drop_buttons(query.message)
        await _advance(context, chat_id, state)
    elif cb.action == "rec":
        if step != "recommend":
            await _forged(update, context)
            return
        await query.answer()
        activity, _ = own
        people = await reporting.handover_candidates(services.db, activity)
        host = member if all(p.pk != member.pk for p in people) else None
        choices = ([host] if host else []) + people
        choices.sort(key=lambda m: m.member_id)
        state["step"] = "rec_member"
        await _drop_buttons(query.message)
        await _say(context, chat_id, context.t("reports.ask.rec_member"), _markup(
            [[(m.name, _cb("recm", report_pk, m.pk))] for m in choices]
        ))
    elif cb.action == "norec":
        if step != "recommend":
            await _forged(update, context)
            return
        await query.answer()
        await _drop_buttons(query.message)
        state["rec_decided"] = True
        state.pop("rec_member", None)
        state.pop("rec_title", None)
        if await _save(context, chat_id, state, _recommendation({})):
            await _advance(context, chat_id, state)
    elif cb.action == "recm":
        target = cb.int_arg(1)
        activity, _ = own
        allowed = {p.pk for p in await reporting.handover_candidates(services.db, activity)}
        allowed.add(member.pk)
        if step != "rec_member" or target is None or target not in allowed:
            await _forged(update, context)
            return
        await query.answer()
        await _drop_buttons(query.message)
        state["rec_member"] = target
        state["step"] = "rec_title"
        await _say(context, chat_id, context.t("reports.ask.rec_title"))
    elif cb.action == "hc":
        count = cb.int_arg(1)
        if step != "headcount" or count is None or parse_headcount(str(count)) is None:
            await _forged(update, context)
            return
        await query.answer()
        await _drop_buttons(query.message)
        if await _save(context, chat_id, state, {"stated_headcount": count}):
            await _advance(context, chat_id, state)
    elif cb.action == "ed":
        what = EDITS.get(cb.args[1] if len(cb.args) > 1 else "")
        if step != "preview" or what is None:
            await _forged(update, context)
            return
        await query.answer()
        await _drop_buttons(query.message)
        state["back"] = True
        if what == "photos":
            amend = state.get("mode") == "amend"
            await reporting.clear_photos(services.db, services.config, report_pk, staged=amend)
            state["staged"] = amend
        await _ask(context, chat_id, state, what)


async def _drop_buttons(message: Message) -> None:
    """Removes a question's buttons once answered (a stale press is refused anyway)."""
    try:
        await message.edit_reply_markup(None)
    except TelegramError as exc:
        log.debug("buttons not removed: %s", exc)


async def _submit(
    update: Update, context: StudyContext, report_pk: int, state: dict[str, Any] | None,
    *, amend: bool,
) -> None:
    """Submit (a draft) or submit amendment (the amendment held by this dialog)."""
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    services = context.services
    member = _member(context)
    now = services.clock.now()
    if state is not None and state.get("step") != "preview":
        await _forged(update, context)
        return
    amending = state is not None and state.get("mode") == "amend"
    if amend != amending:
        # An amendment's preview whose dialog is gone (a restart, another command), or a
        # draft's preview pressed while amending.
        key = "reports.refused.lost" if amend else "reports.refused.submitted"
        await query.answer(context.t(key), show_alert=True)
        return
    if amending:
        assert state is not None
        result = await reporting.amend(
            services.db, services.config, member, report_pk, state.get("overrides") or {},
            bool(state.get("staged")), now,
        )
    else:
        result = await reporting.submit(services.db, services.config, member, report_pk, now)
    if result.refusal in ("not_found", "not_host"):
        await _forged(update, context)
        return
    if result.refusal is not None:
        text = context.t(f"reports.refused.{result.refusal}", missing=context.t(
            "reports.text.name_sep").join(context.t(f"reports.field.{m}")
                                         for m in result.missing))
        await query.answer(text[:200], show_alert=True)
        return
    await query.answer()
    services.sender.notify()
    dialog.end(context)
    await _drop_buttons(query.message)
    assert result.due is not None and result.report is not None
    deadline = deadline_words(context.lang, result.due)
    if amending:
        text = context.t("reports.submitted.amended", deadline=deadline)
    else:
        text = context.t("reports.submitted.late" if result.late else "reports.submitted.ok",
                         deadline=deadline)
    if result.difference is not None:
        text += "\n" + context.t("reports.submitted.mismatch", diff=f"{result.difference:+d}")
    markup = None
    if not result.late and now <= result.due:
        markup = _markup([[(context.t("reports.submitted.amend_button"),
                            _cb("amend", result.report.pk))]])
    await _say(context, query.message.chat_id, text, markup)


# -- /reports -------------------------------------------------------------------------------


async def reports_command(update: Update, context: StudyContext) -> None:
    """/reports: reports by state (HR: every group; a leader: the own group)."""
    services = context.services
    member = _member(context)
    chat_id = _chat_id(update)
    if not (member.is_hr or (member.is_leader and member.group_id is not None)):
        await _say(context, chat_id, context.t("reports.overview.not_allowed"))
        return
    now = services.clock.now()
    groups = await reporting.overview(services.db, services.config, member, now)
    header = context.t("reports.overview.header") if member.is_hr else context.t(
        "reports.overview.header_group", group=member.group_name or "")
    lines = [header]
    buttons: list[list[tuple[str, str]]] = []
    if not any(groups.values()):
        lines.append(context.t("reports.overview.empty"))
    for state in STATES:
        items = groups[state]
        if not items:
            continue
        lines.append("")
        lines.append(context.t("reports.overview.section", count=len(items),
                               label=context.t(f"reports.overview.state.{state}")))
        for entry in items[:LIST_LIMIT]:
            item = entry.item
            key = "reports.overview.line" if state in ("on_time", "late") else (
                "reports.overview.line_due")
            lines.append(context.t(
                key, date=_date(context, item.start_at), title=item.title,
                group=item.group_name or "", host=item.host_name,
                deadline=deadline_words(context.lang, entry.due),
            ))
            if item.report is not None and item.report.submitted and (
                len(buttons) < OPEN_BUTTONS
            ):
                label = context.t("reports.overview.open_button",
                                  date=_date(context, item.start_at), title=item.title,
                                  host=item.host_name)
                buttons.append([(label[:60], _cb("open", item.report.pk))])
        if len(items) > LIST_LIMIT:
            lines.append(context.t("reports.overview.more", count=len(items) - LIST_LIMIT))
    if buttons:
        lines.append("")
        lines.append(context.t("reports.overview.open_hint"))
    await _say(context, chat_id, "\n".join(lines), _markup(buttons))


async def _open(update: Update, context: StudyContext, report_pk: int) -> None:
    """Sends a submitted report to someone allowed to see it: text, photos, document."""
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    services = context.services
    opening = await reporting.open_report(services.db, services.config, _member(context),
                                          context.lang, report_pk)
    if opening is None:
        await _forged(update, context)
        return
    await query.answer()
    chat_id = query.message.chat_id
    await _say(context, chat_id, opening.text)
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
    member = _member(context)
    chat_id = _chat_id(update)
    if not member.is_leader or member.group_id is None:
        await _say(context, chat_id, context.t("reports.handover.leaders_only"))
        return
    async with services.db.read() as conn:
        upcoming = await activities_repo.upcoming_for_group(conn, member.group_id,
                                                            services.now_ts())
    if not upcoming:
        await _say(context, chat_id, context.t("reports.handover.none"))
        return
    tz = services.clock.tz
    rows = [
        [(context.t("reports.handover.item", date=f"{local(a.start_at, tz):%m-%d %H:%M}",
                    title=a.title, host=a.host_name or context.t("attendance.none"))[:60],
          _cb("ho", a.pk))]
        for a in upcoming
    ]
    await _say(context, chat_id, context.t("reports.handover.pick"), _markup(rows))


async def _handover_button(
    update: Update, context: StudyContext, cb: callbacks.Callback, activity_pk: int
) -> None:
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    services = context.services
    member = _member(context)
    now = services.clock.now()
    async with services.db.read() as conn:
        activity = await activities_repo.by_pk(conn, activity_pk)
    if activity is None or not can_manage(member, activity):
        await _forged(update, context)
        return
    if cb.action == "ho":
        if activity.status != "scheduled" or parse_ts(activity.start_at) <= now:
            key = "cancelled" if activity.status != "scheduled" else "started"
            await query.answer(context.t(f"reports.handover.refused.{key}"), show_alert=True)
            return
        await query.answer()
        people = await reporting.handover_candidates(services.db, activity)
        await query.message.edit_text(
            context.t("reports.handover.pick_member", title=activity.title,
                      host=activity.host_name or context.t("attendance.none")),
            reply_markup=_markup([[(m.name, _cb("hom", activity.pk, m.pk))] for m in people]),
        )
        return
    target = cb.int_arg(1)
    if target is None:
        await _forged(update, context)
        return
    result = await reporting.hand_over(services.db, services.config, member, activity.pk,
                                       target, now)
    if result.refusal in ("forbidden", "not_found", "bad_host"):
        await _forged(update, context)
        return
    if result.refusal is not None:
        name = result.new_host.name if result.new_host else ""
        await query.answer(context.t(f"reports.handover.refused.{result.refusal}", name=name),
                           show_alert=True)
        return
    await query.answer()
    services.sender.notify()
    assert result.new_host is not None
    await query.message.edit_text(context.t("reports.handover.done", title=activity.title,
                                            name=result.new_host.name))


def register(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("report", report_command, filters=private))
    app.add_handler(CommandHandler("reports", reports_command, filters=private))
    app.add_handler(CommandHandler("handover", handover_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))

