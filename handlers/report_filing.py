"""The filing dialog of /report: one question at a time (what was studied, the highlights,
photos, an optional recommended work, the headcount), the typed answers and photos, the buttons
inside the dialog, the preview and Submit. Started by handlers/reports.py (/report, Amend);
every answer is saved in the draft (or, for an amendment, in the dialog), so a restart loses
nothing. Texts and buttons come from bot.reports.views; authorisation from bot.reports.flow.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError

from bot.core import dialog
from bot.core.callbacks import Callback
from bot.core.services import StudyContext
from bot.delivery.inbox import now_and_sent
from bot.reports import flow as reporting
from bot.reports import views
from bot.reports.rules import MAX_PHOTOS, parse_headcount, typed_problem
from handlers.replies import alert, drop_buttons, forged, markup, member_of, pressed, say
from storage.activities import Activity

log = logging.getLogger(__name__)

FEATURE = "reports"
TEXT_STEPS = ("studied", "highlights")  # saved as they are typed, under the step's name
EDITS = {"st": "studied", "hl": "highlights", "ph": "photos", "rc": "recommend", "hc": "headcount"}


# -- the questions ------------------------------------------------------------------------------


async def _working(
    context: StudyContext, chat_id: int, state: dict[str, Any]
) -> tuple[str, reporting.Content] | None:
    """The preview text and content of the report this dialog is filling, or None when it
    is no longer this user's to fill (then they are told, and the dialog ends)."""
    services = context.services
    shown = await reporting.working_preview(
        services.db, services.config, context.lang, member_of(context), int(state["report"]),
        state.get("overrides"), staged=bool(state.get("staged")),
    )
    if shown is None:
        dialog.end(context)
        await say(context, chat_id, context.t("reports.refused.not_host"))
    return shown


async def advance(context: StudyContext, chat_id: int, state: dict[str, Any]) -> None:
    """Asks for the next missing answer, or shows the preview when everything is there (or
    when an edit from the preview is done)."""
    shown = await _working(context, chat_id, state)
    if shown is None:
        return
    text, content = shown
    step = None if state.get("back") else content.next_question(bool(state.get("rec_decided")))
    if step is None:
        await preview(context, chat_id, state, text)
    else:
        await _ask(context, chat_id, state, step)


async def _ask(context: StudyContext, chat_id: int, state: dict[str, Any], step: str) -> None:
    """Asks one question of the dialog (with its buttons) and remembers it as the step."""
    state["step"] = step
    if step == "photos":  # a new status message counts the photos
        state.pop("status_msg", None)
        state.pop("album", None)
    came = 0
    if step == "headcount":
        came = await reporting.headcount_now(context.services.db, int(state["activity"]))
    text, rows = views.question(context.lang, step, int(state["report"]), came)
    await say(context, chat_id, text, markup(rows))


async def preview(
    context: StudyContext, chat_id: int, state: dict[str, Any], text: str | None = None
) -> None:
    """The report as HR will get it (`text`, when just rendered), with Submit and the edit
    buttons."""
    if text is None:
        shown = await _working(context, chat_id, state)
        if shown is None:
            return
        text = shown[0]
    state["step"] = "preview"
    state["back"] = True
    rows = views.preview_rows(context.lang, int(state["report"]),
                              amend=state.get("mode") == "amend")
    await say(context, chat_id, text + "\n\n" + context.t("reports.preview.hint"), markup(rows))


async def _save_and_advance(
    context: StudyContext, chat_id: int, state: dict[str, Any], values: dict[str, Any]
) -> bool:
    """Keeps answers, in the draft (database) or in the amendment (dialog), and asks what
    comes next; False when the report is no longer a draft (the dialog ends)."""
    if state.get("mode") == "amend":
        state.setdefault("overrides", {}).update(values)
    else:
        services = context.services
        if not await reporting.save_fields(services.db, services.config, int(state["report"]),
                                           values, services.clock.now()):
            dialog.end(context)
            await say(context, chat_id, context.t("reports.refused.submitted"))
            return False
    await advance(context, chat_id, state)
    return True


# -- typed answers --------------------------------------------------------------------------


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
            await preview(context, chat_id, state)
        elif step in ("recommend", "rec_member"):
            await message.reply_text(context.t("reports.ask.press_button"))
        else:
            await message.reply_text(context.t("reports.ask.need_text"))
        return
    problem = typed_problem(str(step), text)
    if problem is not None:
        key, params = problem
        await message.reply_text(context.t(key, **params))
        return
    if step in TEXT_STEPS:
        await _save_and_advance(context, chat_id, state, {str(step): text})
    elif step == "rec_body":
        state["rec_decided"] = True
        values = reporting.recommendation(state.get("rec_member"), state.get("rec_title"),
                                          text=text)
        await _save_and_advance(context, chat_id, state, values)
    elif step == "rec_title":
        state["rec_title"] = text
        state["step"] = "rec_body"
        await message.reply_text(context.t("reports.ask.rec_body"))
    elif step == "headcount":
        count = parse_headcount(text)
        await _save_and_advance(context, chat_id, state, {"stated_headcount": count})


async def _photo(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    """One photo (maybe one item of an album): downloaded, appended, counted on the status
    message (edited for the rest of an album)."""
    message = update.effective_message
    assert message is not None and message.photo
    services = context.services
    size = message.photo[-1]  # the largest
    added = await reporting.receive_photo(
        services.db, services.config, context.bot, int(state["report"]),
        int(state["activity"]), file_id=size.file_id, unique_id=size.file_unique_id,
        file_size=size.file_size, media_group_id=message.media_group_id,
        staged=bool(state.get("staged")), now=services.clock.now(),
    )
    if added.outcome == "gone":
        dialog.end(context)
        return
    if added.outcome != "added":
        if added.outcome != "duplicate":  # the next photo gets a new status message
            state.pop("status_msg", None)
        await message.reply_text(context.t(f"reports.photos.{added.outcome}", max=MAX_PHOTOS))
        return
    # The count so far, on one status message per album, with Done.
    text = context.t("reports.photos.received", count=added.count, max=MAX_PHOTOS)
    keyboard = markup(views.photo_rows(context.lang, int(state["report"])))
    album = message.media_group_id
    status_id = state.get("status_msg")
    if album and status_id and state.get("album") == album:
        try:
            await context.bot.edit_message_text(
                text, chat_id=message.chat_id, message_id=int(status_id), reply_markup=keyboard
            )
            return
        except TelegramError as exc:  # deleted by the user, say: send a new one
            log.info("report photo status not edited: %s", exc)
    sent = await message.reply_text(text, reply_markup=keyboard)
    state["status_msg"] = sent.message_id
    state["album"] = album


async def _rec_document(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    """The recommended work as a document."""
    message = update.effective_message
    assert message is not None and message.document is not None
    services = context.services
    doc = message.document
    fetched = await reporting.fetch_document(
        services.db, services.config, context.bot, int(state["activity"]), file_id=doc.file_id,
        file_name=doc.file_name, file_size=doc.file_size,
    )
    if fetched.outcome == "gone":
        dialog.end(context)
        return
    if fetched.stored is None:
        await message.reply_text(context.t(f"reports.rec.{fetched.outcome}"))
        return
    state["rec_decided"] = True
    values = reporting.recommendation(state.get("rec_member"), state.get("rec_title"),
                                      file=fetched.stored.rel.as_posix(), file_name=fetched.name)
    if not await _save_and_advance(context, message.chat_id, state, values):
        fetched.stored.remove()



# -- buttons inside the dialog --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Step:
    """A button pressed inside the filing dialog, on the report the dialog is about."""

    update: Update
    context: StudyContext
    cb: Callback
    report_pk: int
    activity: Activity
    state: dict[str, Any]
    message: Message

    async def begin(self) -> None:
        """The press is valid: acknowledged, and the question's buttons taken off."""
        query = self.update.callback_query
        assert query is not None
        await query.answer()
        await drop_buttons(self.message)

    async def save(self, values: dict[str, Any]) -> None:
        await _save_and_advance(self.context, self.message.chat_id, self.state, values)

    async def say(self, key: str, rows: views.Rows | None = None) -> None:
        await say(self.context, self.message.chat_id, self.context.t(key), markup(rows or []))


async def step_button(update: Update, context: StudyContext, cb: Callback, pk: int) -> None:
    """Buttons inside the filing dialog; they must belong to the report being filed."""
    _, message = pressed(update)
    state = dialog.current(context)
    if state is not None and (state.get("feature") != FEATURE or state.get("report") != pk):
        state = None  # the user's dialog is about something else
    own = await reporting.load_own(context.services.db, member_of(context), pk)
    if own is None:
        await forged(update, context)
        return
    if cb.action in ("sub", "suba"):
        await _submit(update, context, pk, state, amend=cb.action == "suba")
        return
    # The question the button belongs to must be the one the dialog is at.
    expected, step_press = STEP_BUTTONS[cb.action]
    if state is None or state.get("step") != expected:
        await forged(update, context)
        return
    await step_press(_Step(update, context, cb, pk, own[0], state, message))


async def _done(press: _Step) -> None:
    """Done under the photo count: at least one photo, then the next question."""
    staged = bool(press.state.get("staged"))
    if await reporting.photo_count(press.context.services.db, press.report_pk, staged=staged) < 1:
        await alert(press.update, press.context.t("reports.photos.need_one"))
        return
    await press.begin()
    await advance(press.context, press.message.chat_id, press.state)


async def _rec(press: _Step) -> None:
    """Yes, a work is recommended: whose?"""
    await press.begin()
    choices = await reporting.recommend_choices(press.context.services.db,
                                                member_of(press.context), press.activity)
    press.state["step"] = "rec_member"
    await press.say("reports.ask.rec_member", views.member_rows(press.report_pk, choices))


async def _norec(press: _Step) -> None:
    """No recommendation (one given before is cleared)."""
    await press.begin()
    state = press.state
    state["rec_decided"] = True
    state.pop("rec_member", None)
    state.pop("rec_title", None)
    await press.save(reporting.recommendation(None, None))


async def _recm(press: _Step) -> None:
    """The member whose work is recommended; the title comes next."""
    context = press.context
    target = press.cb.int_arg(1)
    allowed = {m.pk for m in await reporting.recommend_choices(
        context.services.db, member_of(context), press.activity)}
    if target is None or target not in allowed:
        await forged(press.update, context)
        return
    await press.begin()
    press.state["rec_member"] = target
    press.state["step"] = "rec_title"
    await press.say("reports.ask.rec_title")


async def _hc(press: _Step) -> None:
    """The headcount button: the roll call's count, as stated."""
    count = press.cb.int_arg(1)
    if count is None or parse_headcount(str(count)) is None:
        await forged(press.update, press.context)
        return
    await press.begin()
    await press.save({"stated_headcount": count})


async def _ed(press: _Step) -> None:
    """An edit button of the preview: asks that question again (photos start over)."""
    what = EDITS.get(press.cb.args[1] if len(press.cb.args) > 1 else "")
    if what is None:
        await forged(press.update, press.context)
        return
    await press.begin()
    state, services = press.state, press.context.services
    state["back"] = True
    if what == "photos":
        amend = state.get("mode") == "amend"
        await reporting.clear_photos(services.db, services.config, press.report_pk,
                                     staged=amend)
        state["staged"] = amend
    await _ask(press.context, press.message.chat_id, state, what)


# action: (the step its question is at, what the press does)
STEP_BUTTONS: dict[str, tuple[str, Callable[[_Step], Awaitable[None]]]] = {
    "done": ("photos", _done), "rec": ("recommend", _rec), "norec": ("recommend", _norec),
    "recm": ("rec_member", _recm), "hc": ("headcount", _hc), "ed": ("preview", _ed),
}


async def _submit(
    update: Update, context: StudyContext, report_pk: int, state: dict[str, Any] | None,
    *, amend: bool,
) -> None:
    """Submit (a draft) or submit amendment (the amendment held by this dialog)."""
    query, message = pressed(update)
    services = context.services
    member = member_of(context)
    now, sent = now_and_sent(update, context)
    if state is not None and state.get("step") != "preview":
        await forged(update, context)
        return
    amending = state is not None and state.get("mode") == "amend"
    if amend != amending:
        # An amendment's preview whose dialog is gone (a restart, another command), or a
        # draft's preview pressed while amending.
        key = "reports.refused.lost" if amend else "reports.refused.submitted"
        await alert(update, context.t(key))
        return
    amendment = (state.get("overrides") or {}) if state is not None and amending else None
    result = await reporting.send(services.db, services.config, member, report_pk, amendment,
                                  bool(state and state.get("staged")), now, sent_at=sent)
    if result.refusal in ("not_found", "not_host"):
        await forged(update, context)
        return
    if result.refusal is not None:
        await alert(update, views.refusal(context.lang, result)[:200])
        return
    await query.answer()
    services.sender.notify()
    dialog.end(context)
    await drop_buttons(message)
    text, rows = views.submitted(context.lang, result, amending=amending, now=now)
    await say(context, message.chat_id, text, markup(rows))
