"""Reading log: /books, /read, /submit, /reading, reviews, opening a submission, resubmitting.

- /read: search the catalog by words of the title (buttons) or type an own title (then say
  whether it is an education monograph), the day finished, a reflection as text or a
  .docx/.pdf/.txt document. /submit: a paper, a reflection (心得体会) or the management analysis.
- Review (`[reading] review`): "auto" counts at once and the group leader or HR may return with
  a comment; "required" counts once accepted, and the reviewer (the group leader; HR for a
  leader's own work or a group without a registered leader) is told of each submission.
- /reading: own progress and pace; a leader also opens the group's table; HR sees everyone.
- Callback data `rd:<action>:<id>`; who may do what is checked in the database by
  bot.reading.flow, which makes every change in one transaction with its notifications.
  The wording is bot.reading.views; the monthly nudge is flow's due check.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.core import callbacks, commands, dialog
from bot.core.callbacks import Callback
from bot.core.services import Services, StudyContext
from bot.core.text import MAX_CAPTION, clip
from bot.reading import flow, rules, views
from bot.reading.content import Content, Refusal, Upload, receive
from bot.reading.flow import PREFIX, Draft, Titled
from handlers.replies import Rows, chunks, drop_buttons, forged, markup, reply_long, say
from storage.models import Role
from storage.reading import Submission

# Importing the exporter registers the reading sheet for in-chat exports (bot.documents.exports).
importlib.import_module("bot.reading.export")

log = logging.getLogger(__name__)

FEATURE = "reading"
READERS: frozenset[Role] = frozenset({"trainee", "leader"})

commands.register("books", order=40)
commands.register("read", READERS, order=41)
commands.register("submit", READERS, order=42)
commands.register("reading", order=43)


def _today(services: Services) -> dt.date:
    return services.now().date()


def _year(services: Services) -> rules.ProgrammeYear:
    return flow.year_of(services.config, _today(services))


def _kind_rows(context: StudyContext) -> Rows:
    return [[(views.kind_name(context.lang, k), flow.cb("kind", k))] for k in rules.OUTPUT_KINDS]


# -- /books ---------------------------------------------------------------------------------------


async def books_command(update: Update, context: StudyContext) -> None:
    """This year's required and elective lists, marking what the user has logged."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    services = context.services
    year = _year(services)
    catalog, mine = await flow.shelf(services.db, member.pk, year.label)
    if not catalog:
        await message.reply_text(context.t("reading.books.empty", year=year.label))
        return
    await reply_long(message, views.books_text(
        context.lang, services.config, year.label, catalog, mine, member.role,
    ))


# -- /read ----------------------------------------------------------------------------------------


def _own_button(context: StudyContext) -> list[tuple[str, str]]:
    return [(context.t("reading.btn.own"), flow.cb("own"))]


async def read_command(update: Update, context: StudyContext) -> None:
    """Starts logging a book: search words (also as arguments) or an own title."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    if not rules.logs_reading(member.role):
        await message.reply_text(context.t("reading.only_readers"))
        return
    year = _year(context.services)
    state = dialog.begin(context, FEATURE, step="search", year=year.label)
    query = " ".join(context.args or []).strip()
    if query:
        await _search(update, context, state, query)
        return
    await message.reply_text(
        context.t("reading.read.ask", year=year.label), reply_markup=markup([_own_button(context)])
    )


async def _search(
    update: Update, context: StudyContext, state: dict[str, Any], query: str
) -> None:
    message = update.effective_message
    assert message is not None
    if len(query) > rules.MAX_TITLE_CHARS:  # longer than any title: refused, never echoed
        await message.reply_text(
            context.t("reading.read.query_too_long", max=rules.MAX_TITLE_CHARS),
            reply_markup=markup([_own_button(context)]),
        )
        return
    found = await flow.search(context.services.db, state["year"], query)
    if not found:
        state["offered"] = []
        await message.reply_text(
            context.t("reading.read.no_match", query=query),
            reply_markup=markup([_own_button(context)]),
        )
        return
    shown = found[: rules.SEARCH_LIMIT]
    state["offered"] = [b.pk for b in shown]
    rows = [
        [(clip(context.t("reading.read.result", title=b.title, author=b.author), 60),
          flow.cb("pick", b.pk))]
        for b in shown
    ]
    rows.append(_own_button(context))
    text = context.t("reading.read.results", count=len(found))
    if len(found) > len(shown):
        text += "\n" + context.t("reading.read.more", shown=len(shown))
    await message.reply_text(text, reply_markup=markup(rows))


async def _ask_date(context: StudyContext, chat_id: int, state: dict[str, Any]) -> None:
    state["step"] = "date"
    await say(
        context, chat_id, context.t("reading.read.ask_date", title=state["title"]),
        markup([[(context.t("reading.btn.today"), flow.cb("date", 0)),
                 (context.t("reading.btn.yesterday"), flow.cb("date", 1))]]),
    )


async def _ask_monograph(context: StudyContext, chat_id: int, title: str) -> None:
    await say(context, chat_id, context.t("reading.read.ask_monograph", title=title), markup([[
        (context.t("reading.btn.monograph_yes"), flow.cb("mono", 1)),
        (context.t("reading.btn.monograph_no"), flow.cb("mono", 0)),
    ]]))


async def _already_logged(context: StudyContext, chat_id: int, dup: Submission) -> None:
    """The same book / output again: refused; when it was returned, this becomes the
    resubmission."""
    if dup.status == "returned":
        await _begin_resubmission(context, chat_id, dup)
        return
    dialog.end(context)
    await say(context, chat_id, views.duplicate_text(context.lang, context.services.config, dup))


async def _choose(
    context: StudyContext, chat_id: int, state: dict[str, Any], titled: Titled
) -> None:
    """A catalog book was picked or typed: the date next, unless it is logged already."""
    if titled.duplicate is not None:
        await _already_logged(context, chat_id, titled.duplicate)
        return
    book = titled.book
    assert book is not None
    state.update(book_pk=book.pk, title=book.title, title_norm=book.title_norm,
                 monograph=book.monograph)
    await _ask_date(context, chat_id, state)


async def _typed_title(
    message: Message, context: StudyContext, text: str
) -> tuple[str, str] | None:
    """A typed title, cleaned, and its normalised form; None (the user told) if it is empty
    or too long."""
    title = rules.clean_title(text)
    norm = rules.normalize_title(title)
    if not norm or len(title) > rules.MAX_TITLE_CHARS:
        await message.reply_text(context.t("reading.read.bad_title", max=rules.MAX_TITLE_CHARS))
        return None
    return title, norm


async def _own_title(
    update: Update, context: StudyContext, state: dict[str, Any], text: str
) -> None:
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    typed = await _typed_title(message, context, text)
    if typed is None:
        return
    title, norm = typed
    titled = await flow.typed_book(context.services.db, member.pk, state["year"], norm)
    if titled.book is not None:
        await message.reply_text(context.t("reading.read.catalog_match", title=titled.book.title))
        await _choose(context, message.chat_id, state, titled)
        return
    if titled.duplicate is not None:
        await _already_logged(context, message.chat_id, titled.duplicate)
        return
    state.update(step="monograph", book_pk=None, title=title, title_norm=norm)
    await _ask_monograph(context, message.chat_id, title)


async def _date_given(
    context: StudyContext, chat_id: int, state: dict[str, Any], text: str
) -> None:
    services = context.services
    year = flow.year_labelled(services.config, state["year"])
    day, problem = rules.parse_finished_on(text, _today(services), year)
    if problem is not None or day is None:
        await say(context, chat_id, context.t(
            f"reading.date.{problem or 'format'}", start=year.start.isoformat(),
            today=_today(services).isoformat(),
        ))
        return
    if not year.contains(day):
        # The programme year turned since /read began: start again in the new year.
        dialog.end(context)
        await say(context, chat_id, context.t("reading.date.year_turned"))
        return
    state["finished_on"] = day.isoformat()
    state["step"] = "reflection"
    await say(context, chat_id, context.t(
        "reading.read.ask_reflection", title=state["title"],
        min=services.config.reading.min_reflection_chars, max=rules.MAX_TEXT_CHARS,
    ))


# -- /submit --------------------------------------------------------------------------------------


async def submit_command(update: Update, context: StudyContext) -> None:
    """Starts submitting a paper, a reflection (心得体会) or the management analysis."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    if not rules.logs_reading(member.role):
        await message.reply_text(context.t("reading.only_readers"))
        return
    year = _year(context.services)
    dialog.begin(context, FEATURE, step="kind", year=year.label)
    await message.reply_text(context.t("reading.submit.ask_kind"),
                             reply_markup=markup(_kind_rows(context)))


async def _output_title(
    update: Update, context: StudyContext, state: dict[str, Any], text: str
) -> None:
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    typed = await _typed_title(message, context, text)
    if typed is None:
        return
    title, norm = typed
    dup = await flow.typed_output(context.services.db, member.pk, state["year"], state["kind"],
                                  norm)
    if dup is not None:
        await _already_logged(context, message.chat_id, dup)
        return
    state.update(step="output_body", title=title, title_norm=norm)
    await message.reply_text(context.t(
        "reading.submit.ask_body", kind=views.kind_name(context.lang, state["kind"]), title=title,
        min=context.services.config.reading.min_reflection_chars, max=rules.MAX_TEXT_CHARS,
    ))


# -- saving: a book, an output, a resubmission ----------------------------------------------------


async def _content(update: Update, context: StudyContext, year: int) -> Content | None:
    """The text or the downloaded document of this message, or None (the user was told why)."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    cfg = context.services.config
    doc = message.document
    upload = (Upload(doc.file_id, doc.file_name, doc.mime_type, doc.file_size)
              if doc is not None else None)
    got = await receive(context.bot, cfg, member.pk, year, text=message.text, doc=upload,
                        min_chars=cfg.reading.min_reflection_chars)
    if isinstance(got, Refusal):
        await message.reply_text(context.t(got.key, **got.params))
        return None
    return got


async def _save_book(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    mono = bool(state.get("monograph"))
    await _save_new(update, context, Draft(
        year=state["year"], kind="book", title=state["title"], title_norm=state["title_norm"],
        book_pk=state.get("book_pk"), monograph=mono, finished_on=state["finished_on"],
    ), context.t("reading.read.saved", title=state["title"], date=state["finished_on"],
                 mono=context.t("reading.line.mono") if mono else ""))


async def _save_output(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    await _save_new(update, context, Draft(
        year=state["year"], kind=state["kind"], title=state["title"],
        title_norm=state["title_norm"],
    ), context.t("reading.submit.saved", kind=views.kind_name(context.lang, state["kind"]),
                 title=state["title"]))


async def _save_new(update: Update, context: StudyContext, draft: Draft, head: str) -> None:
    """Stores a new book log or output (`head` is its answer's first line); a duplicate is
    answered as such."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    services = context.services
    content = await _content(update, context, draft.year)
    if content is None:
        return
    saved = await flow.log_entry(services.db, services.config, member.pk, draft, content,
                                 services.now())
    if saved.outcome == "duplicate" and saved.duplicate is not None:
        await _already_logged(context, message.chat_id, saved.duplicate)
        return
    dialog.end(context)
    if saved.outcome == "forbidden":
        await message.reply_text(context.t("reading.only_readers"))
        return
    if saved.outcome != "ok" or saved.tally is None:
        await message.reply_text(context.t("reading.read.duplicate_plain", title=draft.title))
        return
    services.sender.notify()
    await message.reply_text(views.saved_text(context.lang, services.config, head, saved.tally))


async def _save_resubmission(
    update: Update, context: StudyContext, state: dict[str, Any]
) -> None:
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    services = context.services
    content = await _content(update, context, state["year"])
    if content is None:
        return
    saved = await flow.resubmit(services.db, services.config, member.pk, state["sub_id"],
                                content, services.now())
    dialog.end(context)
    if saved.outcome != "ok" or saved.tally is None:
        await message.reply_text(context.t("reading.resubmit.not_returned"))
        return
    services.sender.notify()
    await message.reply_text(views.saved_text(
        context.lang, services.config, context.t("reading.resubmit.done", title=state["title"]),
        saved.tally,
    ))


# -- review: accept, return with a comment --------------------------------------------------------


async def _accept(update: Update, context: StudyContext, cb: Callback) -> None:
    query = update.callback_query
    member = context.member
    assert query is not None and member is not None
    services = context.services
    result = await flow.accept(services.db, services.config, member.pk, cb.int_arg(0),
                               services.now())
    sub = result.submission
    if result.outcome == "forged" or sub is None:
        await forged(update, context)
        return
    if result.outcome == "already":
        await query.answer(views.already_reviewed(context.lang, services.config, sub),
                           show_alert=True)
        return
    services.sender.notify()
    await query.answer(context.t("reading.review.accepted_toast"))
    await drop_buttons(query.message)
    await say(context, query.from_user.id, context.t(
        "reading.review.accepted", name=sub.member_name, title=sub.title,
    ))


async def _ask_return_comment(update: Update, context: StudyContext, cb: Callback) -> None:
    query = update.callback_query
    member = context.member
    assert query is not None and member is not None
    result = await flow.may_return(context.services.db, member.pk, cb.int_arg(0))
    sub = result.submission
    if result.outcome == "forged" or sub is None:
        await forged(update, context)
        return
    if result.outcome == "already":
        await query.answer(views.already_reviewed(context.lang, context.services.config, sub),
                           show_alert=True)
        return
    await query.answer()
    origin = None
    if isinstance(query.message, Message):
        origin = [query.message.chat_id, query.message.message_id]
    dialog.begin(context, FEATURE, step="return_comment", sub_id=sub.id, origin=origin)
    await say(context, query.from_user.id, context.t(
        "reading.review.ask_comment", name=sub.member_name, title=sub.title,
        max=rules.MAX_COMMENT_CHARS,
    ))


async def _return_with_comment(
    update: Update, context: StudyContext, state: dict[str, Any], text: str
) -> None:
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    services = context.services
    comment = text.strip()
    if not comment or len(comment) > rules.MAX_COMMENT_CHARS:
        await message.reply_text(context.t("reading.review.bad_comment",
                                           max=rules.MAX_COMMENT_CHARS))
        return
    result = await flow.return_with_comment(
        services.db, services.config, member.pk, state["sub_id"], comment, services.now(),
    )
    dialog.end(context)
    sub = result.submission
    if result.outcome == "forged" or sub is None:
        await message.reply_text(context.t("error.forged"))
        return
    if result.outcome == "already":
        await message.reply_text(views.already_reviewed(context.lang, services.config, sub))
        return
    services.sender.notify()
    origin = state.get("origin")
    if origin:
        try:
            await context.bot.edit_message_reply_markup(origin[0], origin[1], reply_markup=None)
        except TelegramError as exc:
            log.debug("could not remove buttons: %s", exc)
    await message.reply_text(context.t("reading.review.returned", name=sub.member_name,
                                       title=sub.title))


# -- opening a submission, resubmitting -----------------------------------------------------------


async def _open(update: Update, context: StudyContext, cb: Callback) -> None:
    query = update.callback_query
    member = context.member
    assert query is not None and member is not None
    cfg = context.services.config
    opened = await flow.open_submission(context.services.db, cfg, member.pk, cb.int_arg(0))
    if opened is None:
        await forged(update, context)
        return
    await query.answer()
    sub = opened.submission
    header = views.open_header(context.lang, cfg, sub)
    buttons: list[tuple[str, str]] = []
    if opened.may_review:
        if rules.can_accept(sub.status):
            buttons.append((context.t("reading.btn.accept"), flow.cb("acc", sub.id)))
        if rules.can_return(sub.status):
            buttons.append((context.t("reading.btn.return"), flow.cb("ret", sub.id)))
    chat_id = query.from_user.id
    if sub.file is None:
        await say(context, chat_id, f"{header}\n\n{sub.body or ''}", markup([buttons]))
    elif opened.path is None:
        await say(context, chat_id, header + "\n\n" + context.t("reading.open.missing"))
    else:
        await context.bot.send_document(
            chat_id, document=opened.path, filename=sub.file.name,
            caption=clip(header, MAX_CAPTION), reply_markup=markup([buttons]),
        )


async def _begin_resubmission(context: StudyContext, chat_id: int, sub: Submission) -> None:
    dialog.begin(context, FEATURE, step="resubmit", sub_id=sub.id, year=sub.year,
                 title=sub.title)
    await say(context, chat_id, context.t(
        "reading.resubmit.ask", title=sub.title, comment=sub.review_comment or "",
        min=context.services.config.reading.min_reflection_chars,
    ))


async def _ask_resubmission(update: Update, context: StudyContext, cb: Callback) -> None:
    query = update.callback_query
    member = context.member
    assert query is not None and member is not None
    outcome, sub = await flow.may_resubmit(context.services.db, member.pk, cb.int_arg(0))
    if outcome == "forged" or sub is None:
        await forged(update, context)
        return
    if outcome == "not_returned":
        await query.answer(context.t("reading.resubmit.not_returned"), show_alert=True)
        return
    await query.answer()
    await _begin_resubmission(context, query.from_user.id, sub)


# -- /reading: own progress, the group's table, HR's overview -------------------------------------


async def reading_command(update: Update, context: StudyContext) -> None:
    """Own progress and list (trainee, leader); the overview of every group (HR)."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    services = context.services
    year = _year(services)
    if member.is_hr:
        people, everyone = await flow.overview(services.db, year.label)
        text, groups = views.overview_text(context.lang, services.config, people, everyone,
                                           _today(services), year)
        buttons = [(gname, flow.cb("grp", gid)) for (gname, gid) in groups]
        await say(context, message.chat_id, text, markup(chunks(buttons, 3)))
        return
    subs = await flow.own_entries(services.db, member.pk, year.label)
    text = views.progress_text(context.lang, services.config, subs, _today(services), year)
    buttons = [
        (context.t("reading.btn.resubmit_n", n=i), flow.cb("resub", s.id))
        for i, s in enumerate(subs, start=1) if s.status == "returned"
    ]
    rows = chunks(buttons, 3)
    if member.is_leader and member.group_id is not None:
        rows.append([(context.t("reading.btn.group"), flow.cb("grp", member.group_id))])
    await say(context, message.chat_id, text, markup(rows))


async def _group_table(update: Update, context: StudyContext, cb: Callback) -> None:
    query = update.callback_query
    member = context.member
    assert query is not None and member is not None
    services = context.services
    year = _year(services)
    found = await flow.group_table(services.db, member.pk, cb.int_arg(0), year.label)
    if found is None:
        await forged(update, context)
        return
    await query.answer()
    members, subs = found
    text = views.group_text(context.lang, services.config, members, subs, _today(services), year)
    buttons = [(m.name, flow.cb("mem", m.pk)) for m in members]
    await say(context, query.from_user.id, text, markup(chunks(buttons, 3)))


async def _member_detail(update: Update, context: StudyContext, cb: Callback) -> None:
    query = update.callback_query
    viewer = context.member
    assert query is not None and viewer is not None
    services = context.services
    year = _year(services)
    found = await flow.member_entries(services.db, viewer.pk, cb.int_arg(0), year.label)
    if found is None:
        await forged(update, context)
        return
    await query.answer()
    target, subs = found
    text = views.progress_text(context.lang, services.config, subs, _today(services), year,
                               name=target.name)
    buttons = [(context.t("reading.btn.open_n", n=i), flow.cb("open", s.id))
               for i, s in enumerate(subs, start=1)]
    await say(context, query.from_user.id, text, markup(chunks(buttons, 4)))


# -- dialog input and the dialog's buttons --------------------------------------------------------


@dialog.on_input(FEATURE)
async def on_input(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    """The user's next message in a reading dialog."""
    message = update.effective_message
    if message is None or context.member is None:
        return
    step = state.get("step")
    text = (message.text or "").strip()
    if step == "reflection":
        await _save_book(update, context, state)
    elif step == "output_body":
        await _save_output(update, context, state)
    elif step == "resubmit":
        await _save_resubmission(update, context, state)
    elif not text:
        await message.reply_text(context.t("reading.expect_text"))
    elif step == "search":
        await _search(update, context, state, text)
    elif step == "own_title":
        await _own_title(update, context, state, text)
    elif step == "monograph":
        await _ask_monograph(context, message.chat_id, state["title"])
    elif step == "date":
        await _date_given(context, message.chat_id, state, text)
    elif step == "kind":
        await message.reply_text(context.t("reading.submit.ask_kind"),
                                 reply_markup=markup(_kind_rows(context)))
    elif step == "output_title":
        await _output_title(update, context, state, text)
    elif step == "return_comment":
        await _return_with_comment(update, context, state, text)
    else:
        dialog.end(context)


def _dialog_step(context: StudyContext, *steps: str) -> dict[str, Any] | None:
    """The reading dialog if it is at one of `steps` (a press from an old or foreign dialog
    finds None and is refused)."""
    state = dialog.current(context)
    if state is None or state.get("feature") != FEATURE or state.get("step") not in steps:
        return None
    return state


async def _pick(update: Update, context: StudyContext, cb: Callback) -> None:
    """A book from the search results (one of those offered, still on this year's list)."""
    query = update.callback_query
    member = context.member
    assert query is not None and member is not None
    state = _dialog_step(context, "search")
    pk = int(cb.args[0]) if cb.args and cb.args[0].isdigit() else None
    titled = None
    if state is not None and pk is not None and pk in state.get("offered", []):
        titled = await flow.choose_book(context.services.db, member.pk, state["year"], pk)
    if state is None or titled is None:
        await forged(update, context)
        return
    await query.answer()
    await drop_buttons(query.message)
    await _choose(context, query.from_user.id, state, titled)


async def _own(update: Update, context: StudyContext, cb: Callback) -> None:
    """The own-title button: the title is typed next."""
    query = update.callback_query
    assert query is not None
    state = _dialog_step(context, "search")
    if state is None:
        await forged(update, context)
        return
    await query.answer()
    await drop_buttons(query.message)
    state["step"] = "own_title"
    await say(context, query.from_user.id, context.t("reading.read.ask_title"))


async def _mono(update: Update, context: StudyContext, cb: Callback) -> None:
    """Whether an own book is an education monograph."""
    query = update.callback_query
    assert query is not None
    state = _dialog_step(context, "monograph")
    if state is None or not cb.args or cb.args[0] not in ("0", "1"):
        await forged(update, context)
        return
    await query.answer()
    await drop_buttons(query.message)
    state["monograph"] = cb.args[0] == "1"
    await _ask_date(context, query.from_user.id, state)


async def _date(update: Update, context: StudyContext, cb: Callback) -> None:
    """Finished today or yesterday."""
    query = update.callback_query
    assert query is not None
    state = _dialog_step(context, "date")
    if state is None or not cb.args or cb.args[0] not in ("0", "1"):
        await forged(update, context)
        return
    await query.answer()
    await drop_buttons(query.message)
    await _date_given(context, query.from_user.id, state,
                      "today" if cb.args[0] == "0" else "yesterday")


async def _kind(update: Update, context: StudyContext, cb: Callback) -> None:
    """The kind of output /submit files; its title is typed next."""
    query = update.callback_query
    assert query is not None
    state = _dialog_step(context, "kind")
    if state is None or not cb.args or cb.args[0] not in rules.OUTPUT_KINDS:
        await forged(update, context)
        return
    await query.answer()
    await drop_buttons(query.message)
    state.update(step="output_title", kind=cb.args[0])
    await say(context, query.from_user.id, context.t(
        "reading.submit.ask_title", kind=views.kind_name(context.lang, cb.args[0])
    ))


async def on_button(update: Update, context: StudyContext) -> None:
    """Every `rd:` button: dialog choices, review, open, resubmit, tables."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.decode(query.data)
    handler = {
        "acc": _accept, "ret": _ask_return_comment, "open": _open, "resub": _ask_resubmission,
        "grp": _group_table, "mem": _member_detail,
        "pick": _pick, "own": _own, "mono": _mono, "date": _date, "kind": _kind,
    }.get(cb.action) if cb is not None else None
    if cb is None or handler is None or context.member is None:
        await forged(update, context)
        return
    await handler(update, context, cb)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("books", books_command, filters=private))
    app.add_handler(CommandHandler("read", read_command, filters=private))
    app.add_handler(CommandHandler("submit", submit_command, filters=private))
    app.add_handler(CommandHandler("reading", reading_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))
