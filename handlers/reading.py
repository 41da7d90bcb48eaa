"""Reading log in chat: /books, /read (a catalog book found by words of its title, or an own
title; the day finished; a reflection as text or a .docx/.pdf/.txt document), /submit (a paper,
a reflection or the management analysis), /reading (own progress; a leader's group table; HR's
overview), the reviewer's Accept / Return with a comment, opening a submission, resubmitting.

Parse, one call to bot.reading.flow (which checks in the database who may do what and makes each
change in one transaction with its notifications), render with bot.reading.views. Callback data
is `rd:<action>:<id>`; the content of a message is taken by bot.reading.content.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from telegram import CallbackQuery, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.core import callbacks, commands, dialog
from bot.core.callbacks import Callback
from bot.core.services import Services, StudyContext
from bot.core.text import MAX_CAPTION, clip
from bot.reading import flow, rules, views
from bot.reading.content import Content, Refusal, Upload, receive
from bot.reading.flow import Draft, Reviewed, Titled
from bot.reading.views import PREFIX
from handlers.replies import chat_id, chunks, drop_buttons, forged, lookup, markup, reply_long, say
from storage.models import Member, Role
from storage.reading import Submission

FEATURE = "reading"
State = dict[str, Any]  # the dialog's saved state (bot.core.dialog)
TextStep = Callable[[Update, StudyContext, State, str], Awaitable[None]]
READERS: frozenset[Role] = frozenset({"trainee", "leader"})

commands.register("books", order=40)
commands.register("read", READERS, order=41)
commands.register("submit", READERS, order=42)
commands.register("reading", order=43)


def _sender(update: Update, context: StudyContext) -> tuple[Message, Member]:
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    return message, member


def _presser(update: Update, context: StudyContext) -> tuple[CallbackQuery, Member]:
    query = update.callback_query
    member = context.member
    assert query is not None and member is not None
    return query, member


def _chat(update: Update) -> int:
    """Where to answer: the presser's private chat for a button, else the message's chat."""
    if update.callback_query is not None:
        return update.callback_query.from_user.id
    return chat_id(update)


def _today(services: Services) -> dt.date:
    return services.now().date()


def _year(services: Services) -> rules.ProgrammeYear:
    return flow.year_of(services.config, _today(services))


# -- /books, /read, /submit ----------------------------------------------------------------------


async def books_command(update: Update, context: StudyContext) -> None:
    """This year's required and elective lists, marking what the user has logged."""
    message, member = _sender(update, context)
    services = context.services
    year = _year(services)
    catalog, mine = await flow.shelf(services.db, member.pk, year.label)
    if not catalog:
        await message.reply_text(context.t("reading.books.empty", year=year.label))
        return
    await reply_long(message, views.books_text(context.lang, services.config, year.label,
                                               catalog, mine, member.role))


async def read_command(update: Update, context: StudyContext) -> None:
    """Starts logging a book: search words (also as arguments) or an own title."""
    message, member = _sender(update, context)
    if not rules.logs_reading(member.role):
        await message.reply_text(context.t("reading.only_readers"))
        return
    year = _year(context.services)
    state = dialog.begin(context, FEATURE, step="search", year=year.label)
    query = " ".join(context.args or []).strip()
    if query:
        await _search(update, context, state, query)
        return
    await message.reply_text(context.t("reading.read.ask", year=year.label),
                             reply_markup=markup(views.own_rows(context.lang)))


async def _search(update: Update, context: StudyContext, state: State, query: str) -> None:
    message = _sender(update, context)[0]
    own = markup(views.own_rows(context.lang))
    if len(query) > rules.MAX_TITLE_CHARS:  # longer than any title: refused, never echoed
        text = context.t("reading.read.query_too_long", max=rules.MAX_TITLE_CHARS)
        await message.reply_text(text, reply_markup=own)
        return
    found = await flow.search(context.services.db, state["year"], query)
    state["offered"] = [b.pk for b in found[: rules.SEARCH_LIMIT]]
    if not found:
        await message.reply_text(context.t("reading.read.no_match", query=query), reply_markup=own)
        return
    text, rows = views.search_reply(context.lang, found)
    await message.reply_text(text, reply_markup=markup(rows))


async def _ask_date(update: Update, context: StudyContext, state: State) -> None:
    state["step"] = "date"
    await say(context, _chat(update), context.t("reading.read.ask_date", title=state["title"]),
              markup(views.date_rows(context.lang)))


async def _ask_monograph(update: Update, context: StudyContext, state: State, *_: str) -> None:
    """Whether the own book is an education monograph (asked again when text is typed)."""
    await say(context, _chat(update),
              context.t("reading.read.ask_monograph", title=state["title"]),
              markup(views.monograph_rows(context.lang)))


async def _already_logged(update: Update, context: StudyContext, dup: Submission) -> None:
    """The same book / output again: refused; when it was returned, this becomes the
    resubmission."""
    if dup.status == "returned":
        await _begin_resubmission(update, context, dup)
        return
    dialog.end(context)
    cfg = context.services.config
    await say(context, _chat(update), views.duplicate_text(context.lang, cfg, dup))


async def _choose(update: Update, context: StudyContext, state: State, titled: Titled) -> None:
    """A catalog book was picked or typed: the date next, unless it is logged already."""
    if titled.duplicate is not None:
        await _already_logged(update, context, titled.duplicate)
        return
    book = titled.book
    assert book is not None
    state.update(book_pk=book.pk, title=book.title, title_norm=book.title_norm,
                 monograph=book.monograph)
    await _ask_date(update, context, state)


async def _title(message: Message, context: StudyContext, text: str) -> tuple[str, str] | None:
    """The typed title and its normalised form; None (the user told) if empty or too long."""
    typed = rules.typed_title(text)
    if typed is None:
        await message.reply_text(context.t("reading.read.bad_title", max=rules.MAX_TITLE_CHARS))
    return typed


async def _own_title(update: Update, context: StudyContext, state: State, text: str) -> None:
    message, member = _sender(update, context)
    if (typed := await _title(message, context, text)) is None:
        return
    title, norm = typed
    titled = await flow.typed_book(context.services.db, member.pk, state["year"], norm)
    if titled.book is not None:
        await message.reply_text(context.t("reading.read.catalog_match", title=titled.book.title))
        await _choose(update, context, state, titled)
    elif titled.duplicate is not None:
        await _already_logged(update, context, titled.duplicate)
    else:
        state.update(step="monograph", book_pk=None, title=title, title_norm=norm)
        await _ask_monograph(update, context, state)


async def _date_given(update: Update, context: StudyContext, state: State, text: str) -> None:
    """The day the book was finished (typed, or today / yesterday pressed)."""
    services = context.services
    chat = _chat(update)
    year = flow.year_labelled(services.config, state["year"])
    day, problem = rules.parse_finished_on(text, _today(services), year)
    if problem is not None or day is None:
        await say(context, chat, context.t(f"reading.date.{problem or 'format'}",
                                           start=year.start.isoformat(),
                                           today=_today(services).isoformat()))
        return
    if not year.contains(day):
        # The programme year turned since /read began: start again in the new year.
        dialog.end(context)
        await say(context, chat, context.t("reading.date.year_turned"))
        return
    state.update(finished_on=day.isoformat(), step="reflection")
    await say(context, chat, context.t(
        "reading.read.ask_reflection", title=state["title"],
        min=services.config.reading.min_reflection_chars, max=rules.MAX_TEXT_CHARS,
    ))


async def submit_command(update: Update, context: StudyContext) -> None:
    """Starts submitting a paper, a reflection (心得体会) or the management analysis."""
    message, member = _sender(update, context)
    if not rules.logs_reading(member.role):
        await message.reply_text(context.t("reading.only_readers"))
        return
    dialog.begin(context, FEATURE, step="kind", year=_year(context.services).label)
    await _ask_kind(update, context)


async def _ask_kind(update: Update, context: StudyContext, *_: object) -> None:
    """Which kind of output (asked again when text is typed instead of a press)."""
    await _sender(update, context)[0].reply_text(
        context.t("reading.submit.ask_kind"), reply_markup=markup(views.kind_rows(context.lang))
    )


async def _output_title(update: Update, context: StudyContext, state: State, text: str) -> None:
    message, member = _sender(update, context)
    if (typed := await _title(message, context, text)) is None:
        return
    title, norm = typed
    dup = await flow.typed_output(context.services.db, member.pk, state["year"], state["kind"],
                                  norm)
    if dup is not None:
        await _already_logged(update, context, dup)
        return
    state.update(step="output_body", title=title, title_norm=norm)
    await message.reply_text(context.t(
        "reading.submit.ask_body", kind=views.kind_name(context.lang, state["kind"]), title=title,
        min=context.services.config.reading.min_reflection_chars, max=rules.MAX_TEXT_CHARS,
    ))


# -- saving: a book, an output, a resubmission ----------------------------------------------------


async def _content(update: Update, context: StudyContext, year: int) -> Content | None:
    """The text or the downloaded document of this message, or None (the user was told why)."""
    message, member = _sender(update, context)
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


async def _save_new(update: Update, context: StudyContext, state: State) -> None:
    """Stores the book log (step "reflection") or output ("output_body") the dialog collected;
    a duplicate is answered as such."""
    message, member = _sender(update, context)
    services = context.services
    book = state["step"] == "reflection"
    draft = Draft(
        year=state["year"], kind="book" if book else state["kind"], title=state["title"],
        title_norm=state["title_norm"], book_pk=state.get("book_pk") if book else None,
        monograph=book and bool(state.get("monograph")),
        finished_on=state["finished_on"] if book else None,
    )
    content = await _content(update, context, draft.year)
    if content is None:
        return
    saved = await flow.log_entry(services.db, services.config, member.pk, draft, content,
                                 services.now())
    if saved.outcome == "duplicate" and saved.duplicate is not None:
        await _already_logged(update, context, saved.duplicate)
        return
    dialog.end(context)
    if saved.outcome == "forbidden":
        await message.reply_text(context.t("reading.only_readers"))
        return
    if saved.outcome != "ok" or saved.tally is None:
        await message.reply_text(context.t("reading.read.duplicate_plain", title=draft.title))
        return
    services.sender.notify()
    head = views.entry_saved(context.lang, draft.kind, draft.title, draft.finished_on,
                             draft.monograph)
    await message.reply_text(views.saved_text(context.lang, services.config, head, saved.tally))


async def _save_resubmission(update: Update, context: StudyContext, state: State) -> None:
    message, member = _sender(update, context)
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
    head = context.t("reading.resubmit.done", title=state["title"])
    await message.reply_text(views.saved_text(context.lang, services.config, head, saved.tally))


# -- review: accept, return with a comment --------------------------------------------------------


def _review_refusal(context: StudyContext, result: Reviewed) -> str | None:
    """What a refused review answers (forged, or reviewed already); None if it went through."""
    sub = result.submission
    if result.outcome == "forged" or sub is None:
        return context.t("error.forged")
    if result.outcome == "already":
        return views.already_reviewed(context.lang, context.services.config, sub)
    return None


async def _accept(update: Update, context: StudyContext, cb: Callback) -> None:
    query, member = _presser(update, context)
    services = context.services
    result = await flow.accept(services.db, services.config, member.pk, cb.int_arg(0),
                               services.now())
    if (refusal := _review_refusal(context, result)) is not None or result.submission is None:
        await query.answer(refusal, show_alert=True)
        return
    sub = result.submission
    services.sender.notify()
    await query.answer(context.t("reading.review.accepted_toast"))
    await drop_buttons(query.message)
    await say(context, query.from_user.id,
              context.t("reading.review.accepted", name=sub.member_name, title=sub.title))


async def _ask_return_comment(update: Update, context: StudyContext, cb: Callback) -> None:
    query, member = _presser(update, context)
    result = await flow.may_return(context.services.db, member.pk, cb.int_arg(0))
    if (refusal := _review_refusal(context, result)) is not None or result.submission is None:
        await query.answer(refusal, show_alert=True)
        return
    sub = result.submission
    await query.answer()
    origin = [m.chat_id, m.message_id] if isinstance(m := query.message, Message) else None
    dialog.begin(context, FEATURE, step="return_comment", sub_id=sub.id, origin=origin)
    await say(context, query.from_user.id, context.t(
        "reading.review.ask_comment", name=sub.member_name, title=sub.title,
        max=rules.MAX_COMMENT_CHARS,
    ))


async def _return_with_comment(
    update: Update, context: StudyContext, state: State, text: str
) -> None:
    message, member = _sender(update, context)
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
    if (refusal := _review_refusal(context, result)) is not None or result.submission is None:
        await message.reply_text(refusal or context.t("error.forged"))
        return
    sub = result.submission
    services.sender.notify()
    if origin := state.get("origin"):  # the Return button's message: its buttons are spent
        with contextlib.suppress(TelegramError):  # best effort: a stale press is refused anyway
            await context.bot.edit_message_reply_markup(origin[0], origin[1], reply_markup=None)
    await message.reply_text(context.t("reading.review.returned", name=sub.member_name,
                                       title=sub.title))


# -- opening a submission, resubmitting -----------------------------------------------------------


async def _open(update: Update, context: StudyContext, cb: Callback) -> None:
    query, member = _presser(update, context)
    cfg = context.services.config
    opened = await flow.open_submission(context.services.db, cfg, member.pk, cb.int_arg(0))
    if opened is None:
        await forged(update, context)
        return
    await query.answer()
    sub = opened.submission
    header = views.open_header(context.lang, cfg, sub)
    buttons = markup(views.review_rows(context.lang, sub) if opened.may_review else [])
    chat = query.from_user.id
    if sub.file is None:
        await say(context, chat, f"{header}\n\n{sub.body or ''}", buttons)
    elif opened.path is None:
        await say(context, chat, header + "\n\n" + context.t("reading.open.missing"))
    else:
        await context.bot.send_document(chat, document=opened.path, filename=sub.file.name,
                                        caption=clip(header, MAX_CAPTION), reply_markup=buttons)


async def _begin_resubmission(update: Update, context: StudyContext, sub: Submission) -> None:
    dialog.begin(context, FEATURE, step="resubmit", sub_id=sub.id, year=sub.year, title=sub.title)
    await say(context, _chat(update), context.t(
        "reading.resubmit.ask", title=sub.title, comment=sub.review_comment or "",
        min=context.services.config.reading.min_reflection_chars,
    ))


async def _ask_resubmission(update: Update, context: StudyContext, cb: Callback) -> None:
    query, member = _presser(update, context)
    outcome, sub = await flow.may_resubmit(context.services.db, member.pk, cb.int_arg(0))
    if outcome == "forged" or sub is None:
        await forged(update, context)
        return
    if outcome == "not_returned":
        await query.answer(context.t("reading.resubmit.not_returned"), show_alert=True)
        return
    await query.answer()
    await _begin_resubmission(update, context, sub)


# -- /reading: own progress, the group's table, HR's overview -------------------------------------


async def reading_command(update: Update, context: StudyContext) -> None:
    """Own progress and list (trainee, leader); the overview of every group (HR)."""
    message, member = _sender(update, context)
    services = context.services
    lang, cfg, year, today = context.lang, services.config, _year(services), _today(services)
    if member.is_hr:
        people, everyone = await flow.overview(services.db, year.label)
        text, groups = views.overview_text(lang, cfg, people, everyone, today, year)
        await say(context, message.chat_id, text, markup(chunks(views.group_buttons(groups), 3)))
        return
    subs = await flow.own_entries(services.db, member.pk, year.label)
    rows = chunks(views.resubmit_buttons(lang, subs), 3)
    if member.is_leader and member.group_id is not None:
        rows.append([views.group_button(lang, member.group_id)])
    text = views.progress_text(lang, cfg, subs, today, year,
                               joined=views.joined_on(cfg, member))
    await say(context, message.chat_id, text, markup(rows))


async def _group_table(update: Update, context: StudyContext, cb: Callback) -> None:
    query, member = _presser(update, context)
    services = context.services
    year = _year(services)
    found = await flow.group_table(services.db, member.pk, cb.int_arg(0), year.label)
    if found is None:
        await forged(update, context)
        return
    await query.answer()
    members, subs = found
    text = views.group_text(context.lang, services.config, members, subs, _today(services), year)
    await say(context, query.from_user.id, text, markup(chunks(views.member_buttons(members), 3)))


async def _member_detail(update: Update, context: StudyContext, cb: Callback) -> None:
    query, viewer = _presser(update, context)
    services = context.services
    year = _year(services)
    found = await flow.member_entries(services.db, viewer.pk, cb.int_arg(0), year.label)
    if found is None:
        await forged(update, context)
        return
    await query.answer()
    target, subs = found
    text = views.progress_text(context.lang, services.config, subs, _today(services), year,
                               name=target.name, joined=views.joined_on(services.config, target))
    await say(context, query.from_user.id, text,
              markup(chunks(views.open_buttons(context.lang, subs), 4)))


# -- dialog input and the dialog's buttons --------------------------------------------------------


@dialog.on_input(FEATURE)
async def on_input(update: Update, context: StudyContext, state: State) -> None:
    """The user's next message in a reading dialog: a text or a document where content is
    asked for, a text at the other steps."""
    message = update.effective_message
    if message is None or context.member is None:
        return
    step = str(state.get("step"))
    steps: dict[str, TextStep] = dict(
        search=_search, own_title=_own_title, monograph=_ask_monograph, date=_date_given,
        kind=_ask_kind, output_title=_output_title, return_comment=_return_with_comment,
    )
    typed = steps.get(step)
    if step in ("reflection", "output_body"):
        await _save_new(update, context, state)
    elif step == "resubmit":
        await _save_resubmission(update, context, state)
    elif not (text := (message.text or "").strip()):
        await message.reply_text(context.t("reading.expect_text"))
    elif typed is not None:
        await typed(update, context, state, text)
    else:
        dialog.end(context)


def _at(context: StudyContext, step: str) -> State | None:
    """The reading dialog if it is at `step` (a press from an old or foreign dialog finds None
    and is refused)."""
    state = dialog.current(context)
    if state is None or state.get("feature") != FEATURE or state.get("step") != step:
        return None
    return state


async def _taken(
    update: Update, context: StudyContext, step: str, cb: Callback,
    choices: Collection[str] | None = None,
) -> State | None:
    """The dialog, when the press fits its step (and its argument is one of `choices`):
    answered, its buttons taken off. Otherwise refused as forged, and None."""
    state = _at(context, step)
    if state is None or (choices is not None and (not cb.args or cb.args[0] not in choices)):
        await forged(update, context)
        return None
    query = update.callback_query
    assert query is not None
    await query.answer()
    await drop_buttons(query.message)
    return state


async def _pick(update: Update, context: StudyContext, cb: Callback) -> None:
    """A book from the search results (one of those offered, still on this year's list)."""
    query, member = _presser(update, context)
    state = _at(context, "search")
    pk = cb.int_arg(0)
    titled = (await flow.choose_book(context.services.db, member.pk, state["year"], pk)
              if state is not None and pk is not None and pk in state.get("offered", []) else None)
    if state is None or titled is None:
        await forged(update, context)
        return
    await query.answer()
    await drop_buttons(query.message)
    await _choose(update, context, state, titled)


async def _own(update: Update, context: StudyContext, cb: Callback) -> None:
    """The own-title button: the title is typed next."""
    if (state := await _taken(update, context, "search", cb)) is not None:
        state["step"] = "own_title"
        await say(context, _chat(update), context.t("reading.read.ask_title"))


async def _mono(update: Update, context: StudyContext, cb: Callback) -> None:
    """Whether an own book is an education monograph."""
    if (state := await _taken(update, context, "monograph", cb, ("0", "1"))) is not None:
        state["monograph"] = cb.args[0] == "1"
        await _ask_date(update, context, state)


async def _date(update: Update, context: StudyContext, cb: Callback) -> None:
    """Finished today or yesterday."""
    if (state := await _taken(update, context, "date", cb, ("0", "1"))) is not None:
        await _date_given(update, context, state, "today" if cb.args[0] == "0" else "yesterday")


async def _kind(update: Update, context: StudyContext, cb: Callback) -> None:
    """The kind of output /submit files; its title is typed next."""
    if (state := await _taken(update, context, "kind", cb, rules.OUTPUT_KINDS)) is not None:
        state.update(step="output_title", kind=cb.args[0])
        await say(context, _chat(update), context.t(
            "reading.submit.ask_title", kind=views.kind_name(context.lang, cb.args[0])
        ))


async def on_button(update: Update, context: StudyContext) -> None:
    """Every `rd:` button: dialog choices, review, open, resubmit, tables."""
    found = await lookup(update, context, {
        "acc": _accept, "ret": _ask_return_comment, "open": _open, "resub": _ask_resubmission,
        "grp": _group_table, "mem": _member_detail,
        "pick": _pick, "own": _own, "mono": _mono, "date": _date, "kind": _kind,
    })
    if found is not None:
        cb, _, handler = found
        await handler(update, context, cb)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("books", books_command, filters=private))
    app.add_handler(CommandHandler("read", read_command, filters=private))
    app.add_handler(CommandHandler("submit", submit_command, filters=private))
    app.add_handler(CommandHandler("reading", reading_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))
