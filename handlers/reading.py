"""Reading log: /books, /read, /submit, /reading, reviews, opening a submission, resubmitting,
and the monthly nudge.

- /read: search the catalog by words of the title (buttons) or type an own title (then say
  whether it is an education monograph), the day finished, a reflection as text or a
  .docx/.pdf/.txt document. /submit: a paper, a reflection (心得体会) or the management analysis.
- Review (`[reading] review`): "auto" counts at once and the group leader or HR may return with
  a comment; "required" counts once accepted, and the reviewer (the group leader; HR for a
  leader's own work or a group without a registered leader) is told of each submission.
- /reading: own progress and pace; a leader also opens the group's table; HR sees everyone.
- Callback data `rd:<action>:<id>`; who may do what is always checked in the database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import logging
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.core import callbacks, commands, dialog
from bot.core.config import Config
from bot.core.i18n import normalize, t
from bot.core.services import Services, StudyContext
from bot.core.text import MAX_CAPTION, clip, split_message
from bot.delivery import notify
from bot.documents import uploads as files
from bot.reading import rules
from storage import books as books_repo
from storage import members as members_repo
from storage import reading as reading_repo
from storage.books import Book
from storage.db import parse_ts, ts
from storage.models import Member, Role
from storage.reading import StoredFile, Submission

log = logging.getLogger(__name__)

FEATURE = "reading"
PREFIX = "rd"
READERS: frozenset[Role] = frozenset({"trainee", "leader"})
EXCERPT_CHARS = 200

commands.register("books", order=40)
commands.register("read", READERS, order=41)
commands.register("submit", READERS, order=42)
commands.register("reading", order=43)


# -- small helpers --------------------------------------------------------------------------------


def _starts(cfg: Config) -> tuple[int, int]:
    return rules.parse_year_starts(cfg.reading.year_starts)


def _today(services: Services) -> dt.date:
    return services.now().date()


def _year(services: Services) -> rules.ProgrammeYear:
    return rules.programme_year(_today(services), _starts(services.config))


def _lang_of(member: Member, cfg: Config) -> str:
    return normalize(member.language, cfg.program.language)


def _cb(action: str, *args: object) -> str:
    return callbacks.encode(PREFIX, action, *args)


def _markup(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    rows = [r for r in rows if r]
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def _chunks(items: list[tuple[str, str]], size: int) -> list[list[tuple[str, str]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def _say(
    context: StudyContext, chat_id: int, text: str,
    buttons: list[list[tuple[str, str]]] | None = None,
) -> Message | None:
    """Sends `text` (split under the limit; buttons on the last part) to a chat."""
    parts = split_message(text)
    sent: Message | None = None
    for i, part in enumerate(parts):
        markup = _markup(buttons or []) if i == len(parts) - 1 else None
        sent = await context.bot.send_message(chat_id, part, reply_markup=markup)
    return sent


async def _drop_buttons(message: Any) -> None:
    """Best effort: takes the buttons off a message once they have done their job."""
    if not isinstance(message, Message) or message.reply_markup is None:
        return
    try:
        await message.edit_reply_markup(reply_markup=None)
    except TelegramError as exc:
        log.debug("could not remove buttons: %s", exc)


def _local_day(cfg: Config, stamp: str) -> str:
    """A stored UTC time as the local date (YYYY-MM-DD)."""
    return parse_ts(stamp).astimezone(cfg.tz).date().isoformat()


def _kind_name(lang: str, kind: str) -> str:
    return t(lang, f"reading.kind.{kind}")


def _status_name(lang: str, status: str, mode: str) -> str:
    if status == "returned":
        return t(lang, "reading.status.returned")
    if rules.awaiting_review(status, mode):
        return t(lang, "reading.status.pending")
    if status == "accepted":
        return t(lang, "reading.status.accepted")
    return t(lang, "reading.status.counted")


def _pace_text(lang: str, p: rules.Pace) -> str:
    if p.on_track:
        return t(lang, "reading.pace.on_track")
    return t(lang, "reading.pace.behind", n=p.behind)


def _analysis_text(lang: str, tally: rules.Tally) -> str:
    return t(lang, "reading.progress.done" if tally.analysis_done else "reading.progress.not_yet")


def _short_progress(lang: str, tally: rules.Tally) -> str:
    text = t(
        lang, "reading.progress.short", books=tally.books, books_target=rules.TARGET_BOOKS,
        monographs=tally.monographs, monographs_target=rules.TARGET_MONOGRAPHS,
        analysis=_analysis_text(lang, tally),
    )
    if tally.pending:
        text += t(lang, "reading.progress.pending_suffix", n=tally.pending)
    return text


def _entry_line(lang: str, cfg: Config, n: int, sub: Submission) -> str:
    status = _status_name(lang, sub.status, cfg.reading.review)
    if sub.kind == "book":
        line = t(
            lang, "reading.line.book", n=n, title=sub.title,
            mono=t(lang, "reading.line.mono") if sub.monograph else "",
            date=sub.finished_on or "", status=status,
        )
    else:
        line = t(
            lang, "reading.line.output", n=n, kind=_kind_name(lang, sub.kind), title=sub.title,
            date=_local_day(cfg, sub.submitted_at), status=status,
        )
    if sub.file is not None:
        line += t(lang, "reading.line.file")
    if sub.status == "returned" and sub.review_comment:
        line += "\n" + t(lang, "reading.line.comment", comment=sub.review_comment,
                         by=sub.reviewer_name or "")
    return line


def _progress_text(
    lang: str, cfg: Config, subs: list[Submission], today: dt.date,
    year: rules.ProgrammeYear, *, name: str | None = None,
) -> str:
    mode = cfg.reading.review
    tally = rules.tally(subs, mode)
    p = rules.pace(tally, today, year)
    lines = [
        t(lang, "reading.progress.header_of", name=name, year=year.label, date=today.isoformat())
        if name
        else t(lang, "reading.progress.header", year=year.label, date=today.isoformat()),
        t(lang, "reading.progress.books", n=tally.books, target=rules.TARGET_BOOKS),
        t(lang, "reading.progress.monographs", n=tally.monographs,
          target=rules.TARGET_MONOGRAPHS),
        t(lang, "reading.progress.analysis", state=_analysis_text(lang, tally)),
        t(lang, "reading.progress.pace" if p.expected_books else "reading.progress.pace_early",
          pace=_pace_text(lang, p), share=round(p.share * 100), expected=p.expected_books),
    ]
    if tally.pending or tally.returned:
        lines.append(t(lang, "reading.progress.review", pending=tally.pending,
                       returned=tally.returned))
    if subs:
        lines.append("")
        lines.append(t(lang, "reading.progress.list"))
        lines += [_entry_line(lang, cfg, i, s) for i, s in enumerate(subs, start=1)]
    else:
        lines.append("")
        lines.append(t(lang, "reading.progress.empty"))
    return "\n".join(lines)


def _excerpt(lang: str, sub: Submission) -> str:
    if sub.file is not None:
        return t(lang, "reading.review.document", name=sub.file.name,
                 size=_size_text(sub.file.size))
    return clip(sub.body or "", EXCERPT_CHARS)


def _size_text(size: int) -> str:
    if size < 1024 * 1024:
        return f"{max(round(size / 1024), 1)} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _review_buttons(lang: str, sub_id: int, mode: str) -> list[list[list[str]]]:
    """Buttons on a reviewer's notification (outbox form: [text, data])."""
    open_btn = [t(lang, "reading.btn.open"), _cb("open", sub_id)]
    ret_btn = [t(lang, "reading.btn.return"), _cb("ret", sub_id)]
    if mode == "required":
        return [[open_btn], [[t(lang, "reading.btn.accept"), _cb("acc", sub_id)], ret_btn]]
    return [[open_btn, ret_btn]]


async def _notify_reviewers(
    conn: aiosqlite.Connection, cfg: Config, sub: Submission, now: str, *, resubmitted: bool,
) -> None:
    """Tells the reviewer of a new (or resubmitted) submission, in the same transaction.

    In "required" mode, and for every resubmission, the group leader is told (HR when the
    author is the leader or the group has no reachable leader). In "auto" mode a resubmission
    goes to whoever returned it.
    """
    mode = cfg.reading.review
    if mode == "auto" and not resubmitted:
        return
    key = "reading.review.resubmitted" if resubmitted else "reading.review.new"
    targets: list[Member] = []
    if mode == "auto" and sub.reviewed_by is not None:
        returner = await members_repo.by_pk(conn, sub.reviewed_by)
        if returner is not None and returner.active:
            targets.append(returner)
    if not targets and sub.group_id is not None:
        leader = await members_repo.group_leader(conn, sub.group_id)
        if leader is not None and leader.pk != sub.member_pk:
            targets.append(leader)
    for target in targets:
        lang = _lang_of(target, cfg)
        row = await notify.to_member(
            conn, cfg, target, key, now=now, kind="reading.review",
            buttons=_review_buttons(lang, sub.id, mode), name=sub.member_name,
            group=sub.group_name or "", kind_name=_kind_name(lang, sub.kind), title=sub.title,
            excerpt=_excerpt(lang, sub),
        )
        if row is not None:
            return
    lang = cfg.program.language
    await notify.to_hr(
        conn, cfg, key, now=now, kind="reading.review",
        buttons=_review_buttons(lang, sub.id, mode), name=sub.member_name,
        group=sub.group_name or "", kind_name=_kind_name(lang, sub.kind), title=sub.title,
        excerpt=_excerpt(lang, sub),
    )


# -- /books ---------------------------------------------------------------------------------------


async def books_command(update: Update, context: StudyContext) -> None:
    """This year's required and elective lists, marking what the user has logged."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    services = context.services
    year = _year(services)
    mode = services.config.reading.review
    async with services.db.read() as conn:
        catalog = await books_repo.for_year(conn, year.label)
        mine = await reading_repo.for_member(conn, member.pk, year.label)
    if not catalog:
        await message.reply_text(context.t("reading.books.empty", year=year.label))
        return
    status_of = {s.book_pk: s.status for s in mine if s.book_pk is not None}
    lines = [context.t("reading.books.header", year=year.label)]
    for book_list in ("required", "elective"):
        books = [b for b in catalog if b.book_list == book_list]
        if not books:
            continue
        lines.append("")
        lines.append(context.t(f"reading.books.{book_list}"))
        for b in books:
            status = status_of.get(b.pk)
            if status is None:
                mark = context.t("reading.mark.none")
            elif status == "returned":
                mark = context.t("reading.mark.returned")
            elif rules.awaiting_review(status, mode):
                mark = context.t("reading.mark.pending")
            else:
                mark = context.t("reading.mark.done")
            lines.append(context.t(
                "reading.books.line", mark=mark, book_id=b.book_id, title=b.title,
                author=b.author, mono=context.t("reading.line.mono") if b.monograph else "",
            ))
    lines.append("")
    lines.append(context.t(
        "reading.books.footer" if rules.logs_reading(member.role) else "reading.books.footer_hr"
    ))
    for part in split_message("\n".join(lines)):
        await message.reply_text(part)


# -- /read ----------------------------------------------------------------------------------------


def _own_button(context: StudyContext) -> list[tuple[str, str]]:
    return [(context.t("reading.btn.own"), _cb("own"))]


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
        context.t("reading.read.ask", year=year.label), reply_markup=_markup([_own_button(context)])
    )


async def _search(
    update: Update, context: StudyContext, state: dict[str, Any], query: str
) -> None:
    message = update.effective_message
    assert message is not None
    if len(query) > rules.MAX_TITLE_CHARS:  # longer than any title: refused, never echoed
        await message.reply_text(
            context.t("reading.read.query_too_long", max=rules.MAX_TITLE_CHARS),
            reply_markup=_markup([_own_button(context)]),
        )
        return
    async with context.services.db.read() as conn:
        catalog = await books_repo.for_year(conn, state["year"])
    found = rules.search(catalog, query)
    if not found:
        state["offered"] = []
        await message.reply_text(
            context.t("reading.read.no_match", query=query),
            reply_markup=_markup([_own_button(context)]),
        )
        return
    shown = found[: rules.SEARCH_LIMIT]
    state["offered"] = [b.pk for b in shown]
    rows = [
        [(clip(context.t("reading.read.result", title=b.title, author=b.author), 60),
          _cb("pick", b.pk))]
        for b in shown
    ]
    rows.append(_own_button(context))
    text = context.t("reading.read.results", count=len(found))
    if len(found) > len(shown):
        text += "\n" + context.t("reading.read.more", shown=len(shown))
    await message.reply_text(text, reply_markup=_markup(rows))


async def _ask_date(context: StudyContext, chat_id: int, state: dict[str, Any]) -> None:
    state["step"] = "date"
    await _say(
        context, chat_id, context.t("reading.read.ask_date", title=state["title"]),
        [[(context.t("reading.btn.today"), _cb("date", 0)),
          (context.t("reading.btn.yesterday"), _cb("date", 1))]],
    )


async def _ask_reflection(context: StudyContext, chat_id: int, state: dict[str, Any]) -> None:
    state["step"] = "reflection"
    await _say(context, chat_id, context.t(
        "reading.read.ask_reflection", title=state["title"],
        min=context.services.config.reading.min_reflection_chars, max=rules.MAX_TEXT_CHARS,
    ))


async def _already_logged(
    context: StudyContext, chat_id: int, state: dict[str, Any], dup: Submission
) -> None:
    """The same book / output again: refused; when it was returned, this becomes the
    resubmission."""
    if dup.status == "returned":
        dialog.begin(context, FEATURE, step="resubmit", sub_id=dup.id, year=dup.year,
                     title=dup.title)
        await _say(context, chat_id, context.t(
            "reading.resubmit.ask", title=dup.title, comment=dup.review_comment or "",
            min=context.services.config.reading.min_reflection_chars,
        ))
        return
    dialog.end(context)
    when = dup.finished_on or _local_day(context.services.config, dup.submitted_at)
    await _say(context, chat_id, context.t(
        "reading.read.duplicate", title=dup.title, date=when,
        status=_status_name(context.lang, dup.status, context.services.config.reading.review),
    ))


async def _choose_book(
    context: StudyContext, chat_id: int, state: dict[str, Any], book: Book
) -> None:
    member = context.member
    assert member is not None
    async with context.services.db.read() as conn:
        dup = await reading_repo.find_duplicate(
            conn, member.pk, state["year"], "book", book.title_norm, book.pk
        )
    if dup is not None:
        await _already_logged(context, chat_id, state, dup)
        return
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
    async with context.services.db.read() as conn:
        book = await books_repo.by_title(conn, state["year"], norm)
    if book is not None:
        # Typed a catalog title: it is that catalog book (same duplicate rule, known category).
        await message.reply_text(context.t("reading.read.catalog_match", title=book.title))
        await _choose_book(context, message.chat_id, state, book)
        return
    async with context.services.db.read() as conn:
        dup = await reading_repo.find_duplicate(conn, member.pk, state["year"], "book", norm)
    if dup is not None:
        await _already_logged(context, message.chat_id, state, dup)
        return
    state.update(step="monograph", book_pk=None, title=title, title_norm=norm)
    await _ask_monograph(context, message.chat_id, title)


async def _ask_monograph(context: StudyContext, chat_id: int, title: str) -> None:
    await _say(context, chat_id, context.t("reading.read.ask_monograph", title=title), [[
        (context.t("reading.btn.monograph_yes"), _cb("mono", 1)),
        (context.t("reading.btn.monograph_no"), _cb("mono", 0)),
    ]])


async def _date_given(
    context: StudyContext, chat_id: int, state: dict[str, Any], text: str
) -> None:
    services = context.services
    year = rules.year_by_label(state["year"], _starts(services.config))
    day, problem = rules.parse_finished_on(text, _today(services), year)
    if problem is not None or day is None:
        await _say(context, chat_id, context.t(
            f"reading.date.{problem or 'format'}", start=year.start.isoformat(),
            today=_today(services).isoformat(),
        ))
        return
    if not year.contains(day):
        # The programme year turned since /read began: start again in the new year.
        dialog.end(context)
        await _say(context, chat_id, context.t("reading.date.year_turned"))
        return
    state["finished_on"] = day.isoformat()
    await _ask_reflection(context, chat_id, state)


# -- content: text or a document ------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class Content:
    body: str | None
    file: StoredFile | None


def _discard(services: Services, content: Content | None) -> None:
    """Removes a downloaded file whose submission was not saved."""
    if content is not None and content.file is not None:
        (services.config.files_dir / content.file.path).unlink(missing_ok=True)


async def _content(
    update: Update, context: StudyContext, year: int, *, min_chars: int
) -> Content | None:
    """The text or the downloaded document of this message, or None (the user was told why)."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    services = context.services
    doc = message.document
    if doc is not None:
        suffix, problem = rules.check_document(doc.file_name, doc.mime_type, doc.file_size)
        if problem == "type" or suffix is None:
            await message.reply_text(context.t("reading.doc.type"))
            return None
        if problem == "too_big":
            await message.reply_text(context.t(
                "reading.doc.too_big", size=_size_text(doc.file_size or 0),
                limit=_size_text(rules.MAX_DOWNLOAD_BYTES),
            ))
            return None
        stored = await files.download(
            context.bot, doc.file_id, services.config.files_dir,
            files.stored_path(Path("reading") / str(year) / str(member.pk), suffix),
        )
        if isinstance(stored, str):
            key = "reading.doc.too_big" if stored == "too_big" else "reading.doc.failed"
            await message.reply_text(context.t(
                key, size=_size_text(doc.file_size or 0),
                limit=_size_text(rules.MAX_DOWNLOAD_BYTES),
            ))
            return None
        rel, dest = stored.rel, stored.path
        size = dest.stat().st_size
        refusal: str | None = None
        if size == 0:
            refusal = context.t("reading.doc.empty")
        elif suffix == ".txt":
            text = rules.decode_text_file(await asyncio.to_thread(dest.read_bytes))
            if text is None:
                refusal = context.t("reading.doc.encoding")
            elif rules.reflection_chars(text) < min_chars:
                refusal = context.t("reading.reflection.too_short",
                                    count=rules.reflection_chars(text), min=min_chars)
        if refusal is not None:
            dest.unlink(missing_ok=True)
            await message.reply_text(refusal)
            return None
        sha = await asyncio.to_thread(_sha256, dest)
        name = files.display_name(doc.file_name, suffix)
        return Content(None, StoredFile(rel.as_posix(), name, size, sha))
    text = message.text
    if text:
        problem_text = rules.check_reflection(text, min_chars)
        if problem_text == "too_long":
            await message.reply_text(context.t("reading.reflection.too_long",
                                               max=rules.MAX_TEXT_CHARS))
            return None
        if problem_text == "too_short":
            await message.reply_text(context.t(
                "reading.reflection.too_short", count=rules.reflection_chars(text),
                min=min_chars,
            ))
            return None
        return Content(text.strip(), None)
    await message.reply_text(context.t("reading.reflection.text_or_document"))
    return None


# -- saving ---------------------------------------------------------------------------------------


async def _save_book(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    saved = await _save_new(
        update, context, state, kind="book", book_pk=state.get("book_pk"),
        fields={"book_pk": state.get("book_pk"), "monograph": bool(state.get("monograph")),
                "finished_on": state["finished_on"]},
    )
    if saved is not None:
        message, tally = saved
        await message.reply_text("\n".join([
            context.t(
                "reading.read.saved", title=state["title"], date=state["finished_on"],
                mono=context.t("reading.line.mono") if state.get("monograph") else "",
            ),
            _short_progress(context.lang, tally),
            context.t(f"reading.mode.{context.services.config.reading.review}"),
        ]))


async def _save_output(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    saved = await _save_new(update, context, state, kind=state["kind"], book_pk=None, fields={})
    if saved is not None:
        message, tally = saved
        await message.reply_text("\n".join([
            context.t("reading.submit.saved", kind=_kind_name(context.lang, state["kind"]),
                      title=state["title"]),
            _short_progress(context.lang, tally),
            context.t(f"reading.mode.{context.services.config.reading.review}"),
        ]))


async def _save_new(
    update: Update, context: StudyContext, state: dict[str, Any], *, kind: str,
    book_pk: int | None, fields: dict[str, Any],
) -> tuple[Message, rules.Tally] | None:
    """Stores a new book log or output with its reviewers' notices, in one transaction;
    answers duplicates itself. Returns the message to answer and the new tally, or None."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    services = context.services
    cfg = services.config
    content = await _content(update, context, state["year"],
                             min_chars=cfg.reading.min_reflection_chars)
    if content is None:
        return None
    now = services.now_ts()
    dup: Submission | None = None
    subs: list[Submission] = []
    try:
        async with services.db.tx() as conn:
            dup = await reading_repo.find_duplicate(
                conn, member.pk, state["year"], kind, state["title_norm"], book_pk
            )
            if dup is None:
                sid = await reading_repo.insert(
                    conn, member_pk=member.pk, year=state["year"], kind=kind,
                    title=state["title"], title_norm=state["title_norm"], now=now,
                    body=content.body, file=content.file, **fields,
                )
                sub = await reading_repo.by_id(conn, sid)
                assert sub is not None
                await _notify_reviewers(conn, cfg, sub, now, resubmitted=False)
                subs = await reading_repo.for_member(conn, member.pk, state["year"])
    except sqlite3.IntegrityError:
        # A double tap raced this one in: the unique index kept the entry once.
        _discard(services, content)
        dialog.end(context)
        await message.reply_text(context.t("reading.read.duplicate_plain", title=state["title"]))
        return None
    if dup is not None:
        _discard(services, content)
        await _already_logged(context, message.chat_id, state, dup)
        return None
    dialog.end(context)
    services.sender.notify()
    return message, rules.tally(subs, cfg.reading.review)


async def _save_resubmission(
    update: Update, context: StudyContext, state: dict[str, Any]
) -> None:
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    services = context.services
    cfg = services.config
    content = await _content(update, context, state["year"],
                             min_chars=cfg.reading.min_reflection_chars)
    if content is None:
        return
    now = services.now_ts()
    subs: list[Submission] = []
    async with services.db.tx() as conn:
        done = await reading_repo.resubmit(
            conn, state["sub_id"], member_pk=member.pk, body=content.body, file=content.file,
            now=now,
        )
        if done:
            sub = await reading_repo.by_id(conn, state["sub_id"])
            assert sub is not None
            await _notify_reviewers(conn, cfg, sub, now, resubmitted=True)
            subs = await reading_repo.for_member(conn, member.pk, sub.year)
    dialog.end(context)
    if not done:
        _discard(services, content)
        await message.reply_text(context.t("reading.resubmit.not_returned"))
        return
    services.sender.notify()
    tally = rules.tally(subs, cfg.reading.review)
    await message.reply_text("\n".join([
        context.t("reading.resubmit.done", title=state["title"]),
        _short_progress(context.lang, tally),
        context.t(f"reading.mode.{cfg.reading.review}"),
    ]))


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
    rows = [[(_kind_name(context.lang, k), _cb("kind", k))] for k in rules.OUTPUT_KINDS]
    await message.reply_text(context.t("reading.submit.ask_kind"), reply_markup=_markup(rows))


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
    async with context.services.db.read() as conn:
        dup = await reading_repo.find_duplicate(conn, member.pk, state["year"], state["kind"],
                                                norm)
    if dup is not None:
        await _already_logged(context, message.chat_id, state, dup)
        return
    state.update(step="output_body", title=title, title_norm=norm)
    await message.reply_text(context.t(
        "reading.submit.ask_body", kind=_kind_name(context.lang, state["kind"]), title=title,
        min=context.services.config.reading.min_reflection_chars, max=rules.MAX_TEXT_CHARS,
    ))


# -- review: accept, return with a comment --------------------------------------------------------


async def _load_for_review(
    context: StudyContext, sub_id: int | None
) -> Submission | None:
    """The submission if the current user may review it (checked in the database)."""
    member = context.member
    if member is None or sub_id is None:
        return None
    async with context.services.db.read() as conn:
        sub = await reading_repo.by_id(conn, sub_id)
    if sub is None or not rules.may_review(member.role, member.pk, member.group_id,
                                           sub.member_pk, sub.group_id):
        return None
    return sub


async def _accept(update: Update, context: StudyContext, sub_id: int | None) -> None:
    query = update.callback_query
    member = context.member
    assert query is not None and member is not None
    services = context.services
    cfg = services.config
    now = services.now_ts()
    outcome = "forged"
    sub: Submission | None = None
    if sub_id is not None:
        async with services.db.tx() as conn:
            sub = await reading_repo.by_id(conn, sub_id)
            if sub is not None and rules.may_review(
                member.role, member.pk, member.group_id, sub.member_pk, sub.group_id
            ):
                outcome = "already"
                if rules.can_accept(sub.status) and await reading_repo.set_review(
                    conn, sub.id, expect=("submitted",), status="accepted",
                    reviewer_pk=member.pk, comment=None, now=now,
                ):
                    outcome = "ok"
                    owner = await members_repo.by_pk(conn, sub.member_pk)
                    if owner is not None:
                        lang = _lang_of(owner, cfg)
                        await notify.to_member(
                            conn, cfg, owner, "reading.notice.accepted", now=now,
                            kind="reading.accepted", reviewer=member.name,
                            kind_name=_kind_name(lang, sub.kind), title=sub.title,
                        )
    if outcome == "forged" or sub is None:
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    if outcome == "already":
        await query.answer(context.t(
            "reading.review.already", status=_status_name(context.lang, sub.status,
                                                          cfg.reading.review),
            by=sub.reviewer_name or "",
        ), show_alert=True)
        return
    services.sender.notify()
    await query.answer(context.t("reading.review.accepted_toast"))
    await _drop_buttons(query.message)
    await _say(context, query.from_user.id, context.t(
        "reading.review.accepted", name=sub.member_name, title=sub.title,
    ))


async def _ask_return_comment(
    update: Update, context: StudyContext, sub_id: int | None
) -> None:
    query = update.callback_query
    assert query is not None
    sub = await _load_for_review(context, sub_id)
    if sub is None:
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    if not rules.can_return(sub.status):
        await query.answer(context.t(
            "reading.review.already",
            status=_status_name(context.lang, sub.status, context.services.config.reading.review),
            by=sub.reviewer_name or "",
        ), show_alert=True)
        return
    await query.answer()
    origin = None
    if isinstance(query.message, Message):
        origin = [query.message.chat_id, query.message.message_id]
    dialog.begin(context, FEATURE, step="return_comment", sub_id=sub.id, origin=origin)
    await _say(context, query.from_user.id, context.t(
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
    cfg = services.config
    comment = text.strip()
    if not comment or len(comment) > rules.MAX_COMMENT_CHARS:
        await message.reply_text(context.t("reading.review.bad_comment",
                                           max=rules.MAX_COMMENT_CHARS))
        return
    now = services.now_ts()
    outcome = "forged"
    sub: Submission | None = None
    async with services.db.tx() as conn:
        sub = await reading_repo.by_id(conn, state["sub_id"])
        if sub is not None and rules.may_review(
            member.role, member.pk, member.group_id, sub.member_pk, sub.group_id
        ):
            outcome = "already"
            if rules.can_return(sub.status) and await reading_repo.set_review(
                conn, sub.id, expect=("submitted", "accepted"), status="returned",
                reviewer_pk=member.pk, comment=comment, now=now,
            ):
                outcome = "ok"
                owner = await members_repo.by_pk(conn, sub.member_pk)
                if owner is not None:
                    lang = _lang_of(owner, cfg)
                    await notify.to_member(
                        conn, cfg, owner, "reading.notice.returned", now=now,
                        kind="reading.returned",
                        buttons=[[[t(lang, "reading.btn.resubmit"), _cb("resub", sub.id)]]],
                        reviewer=member.name, kind_name=_kind_name(lang, sub.kind),
                        title=sub.title, comment=comment,
                    )
    dialog.end(context)
    if outcome == "forged" or sub is None:
        await message.reply_text(context.t("error.forged"))
        return
    if outcome == "already":
        await message.reply_text(context.t(
            "reading.review.already", status=_status_name(context.lang, sub.status,
                                                          cfg.reading.review),
            by=sub.reviewer_name or "",
        ))
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


# -- opening a submission -------------------------------------------------------------------------


async def _open(update: Update, context: StudyContext, sub_id: int | None) -> None:
    query = update.callback_query
    member = context.member
    assert query is not None and member is not None
    services = context.services
    cfg = services.config
    sub: Submission | None = None
    if sub_id is not None:
        async with services.db.read() as conn:
            sub = await reading_repo.by_id(conn, sub_id)
    if sub is None or not rules.may_open(member.role, member.pk, member.group_id,
                                         sub.member_pk, sub.group_id):
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    await query.answer()
    mode = cfg.reading.review
    header = context.t(
        "reading.open.header", name=sub.member_name, group=sub.group_name or "",
        kind=_kind_name(context.lang, sub.kind), title=sub.title,
        date=sub.finished_on or _local_day(cfg, sub.submitted_at),
        status=_status_name(context.lang, sub.status, mode),
        mono=context.t("reading.line.mono") if sub.kind == "book" and sub.monograph else "",
    )
    if sub.review_comment and sub.status == "returned":
        header += "\n" + context.t("reading.line.comment", comment=sub.review_comment,
                                   by=sub.reviewer_name or "")
    buttons: list[tuple[str, str]] = []
    if rules.may_review(member.role, member.pk, member.group_id, sub.member_pk, sub.group_id):
        if rules.can_accept(sub.status):
            buttons.append((context.t("reading.btn.accept"), _cb("acc", sub.id)))
        if rules.can_return(sub.status):
            buttons.append((context.t("reading.btn.return"), _cb("ret", sub.id)))
    chat_id = query.from_user.id
    if sub.file is None:
        await _say(context, chat_id, f"{header}\n\n{sub.body or ''}", [buttons])
        return
    root = cfg.files_dir.resolve()
    path = (root / sub.file.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        log.error("reading submission %s: stored file %s is missing", sub.id, sub.file.path)
        await _say(context, chat_id, header + "\n\n" + context.t("reading.open.missing"))
        return
    await context.bot.send_document(
        chat_id, document=path, filename=sub.file.name,
        caption=clip(header, MAX_CAPTION), reply_markup=_markup([buttons]),
    )


# -- resubmitting ---------------------------------------------------------------------------------


async def _ask_resubmission(
    update: Update, context: StudyContext, sub_id: int | None
) -> None:
    query = update.callback_query
    member = context.member
    assert query is not None and member is not None
    sub: Submission | None = None
    if sub_id is not None:
        async with context.services.db.read() as conn:
            sub = await reading_repo.by_id(conn, sub_id)
    if sub is None or sub.member_pk != member.pk:
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    if sub.status != "returned":
        await query.answer(context.t("reading.resubmit.not_returned"), show_alert=True)
        return
    await query.answer()
    dialog.begin(context, FEATURE, step="resubmit", sub_id=sub.id, year=sub.year,
                 title=sub.title)
    await _say(context, query.from_user.id, context.t(
        "reading.resubmit.ask", title=sub.title, comment=sub.review_comment or "",
        min=context.services.config.reading.min_reflection_chars,
    ))


# -- /reading: own progress, the group's table, HR's overview -------------------------------------


def _expected_note(lang: str, today: dt.date, year: rules.ProgrammeYear) -> str:
    expected = rules.pace(rules.Tally(), today, year).expected_books
    return t(lang, "reading.table.expected", n=expected) if expected else ""


def _member_row(
    lang: str, cfg: Config, m: Member, subs: list[Submission], today: dt.date,
    year: rules.ProgrammeYear,
) -> tuple[str, rules.Pace]:
    tally = rules.tally(subs, cfg.reading.review)
    p = rules.pace(tally, today, year)
    extras = ""
    if tally.pending:
        extras += t(lang, "reading.table.pending", n=tally.pending)
    if tally.returned:
        extras += t(lang, "reading.table.returned", n=tally.returned)
    role = t(lang, "reading.table.leader") if m.role == "leader" else ""
    return t(
        lang, "reading.table.row", name=m.name, role=role, books=tally.books,
        books_target=rules.TARGET_BOOKS, monographs=tally.monographs,
        monographs_target=rules.TARGET_MONOGRAPHS,
        analysis=t(lang, "reading.table.analysis_yes" if tally.analysis_done
                   else "reading.table.analysis_no"),
        pace=_pace_text(lang, p), extras=extras,
    ), p


async def reading_command(update: Update, context: StudyContext) -> None:
    """Own progress and list (trainee, leader); the overview of every group (HR)."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    services = context.services
    if member.is_hr:
        await _overview(context, message.chat_id)
        return
    year = _year(services)
    async with services.db.read() as conn:
        subs = await reading_repo.for_member(conn, member.pk, year.label)
    text = _progress_text(context.lang, services.config, subs, _today(services), year)
    buttons = [
        (context.t("reading.btn.resubmit_n", n=i), _cb("resub", s.id))
        for i, s in enumerate(subs, start=1) if s.status == "returned"
    ]
    rows = _chunks(buttons, 3)
    if member.is_leader and member.group_id is not None:
        rows.append([(context.t("reading.btn.group"), _cb("grp", member.group_id))])
    await _say(context, message.chat_id, text, rows)


async def _overview(context: StudyContext, chat_id: int) -> None:
    services = context.services
    cfg = services.config
    lang = context.lang
    year = _year(services)
    today = _today(services)
    async with services.db.read() as conn:
        people = [m for m in await members_repo.all_members(conn) if rules.logs_reading(m.role)]
        subs = await reading_repo.for_year(conn, year.label)
    by_member: dict[int, list[Submission]] = {}
    for s in subs:
        by_member.setdefault(s.member_pk, []).append(s)
    groups: dict[tuple[str, int], list[Member]] = {}
    for m in people:
        if m.group_id is not None:
            groups.setdefault((m.group_name or "", m.group_id), []).append(m)
    lines: list[str] = []
    behind = 0
    for (gname, _gid), members in sorted(groups.items()):
        lines.append("")
        lines.append(t(lang, "reading.table.group", group=gname))
        for m in members:
            row, p = _member_row(lang, cfg, m, by_member.get(m.pk, []), today, year)
            behind += int(not p.on_track)
            lines.append(row)
    head = t(lang, "reading.table.overview_header", year=year.label, date=today.isoformat(),
             expected=_expected_note(lang, today, year), total=len(people), behind=behind)
    buttons = [(gname, _cb("grp", gid)) for (gname, gid) in sorted(groups)]
    await _say(context, chat_id, "\n".join([head, *lines]), _chunks(buttons, 3))


async def _group_table(update: Update, context: StudyContext, group_id: int | None) -> None:
    query = update.callback_query
    member = context.member
    assert query is not None and member is not None
    allowed = group_id is not None and (
        member.is_hr or (member.is_leader and member.group_id == group_id)
    )
    if not allowed or group_id is None:
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    services = context.services
    cfg = services.config
    lang = context.lang
    year = _year(services)
    today = _today(services)
    async with services.db.read() as conn:
        members = [m for m in await members_repo.group_members(conn, group_id)
                   if rules.logs_reading(m.role)]
        subs = await reading_repo.for_year(conn, year.label, group_id=group_id)
    if not members:
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    await query.answer()
    by_member: dict[int, list[Submission]] = {}
    for s in subs:
        by_member.setdefault(s.member_pk, []).append(s)
    lines = [t(lang, "reading.table.group_header", group=members[0].group_name or "",
               year=year.label, date=today.isoformat(),
               expected=_expected_note(lang, today, year))]
    for m in members:
        row, _ = _member_row(lang, cfg, m, by_member.get(m.pk, []), today, year)
        lines.append(row)
    lines.append("")
    lines.append(t(lang, "reading.table.hint"))
    buttons = [(m.name, _cb("mem", m.pk)) for m in members]
    await _say(context, query.from_user.id, "\n".join(lines), _chunks(buttons, 3))


async def _member_detail(update: Update, context: StudyContext, member_pk: int | None) -> None:
    query = update.callback_query
    viewer = context.member
    assert query is not None and viewer is not None
    services = context.services
    target: Member | None = None
    if member_pk is not None:
        async with services.db.read() as conn:
            target = await members_repo.by_pk(conn, member_pk)
    if target is None or not rules.logs_reading(target.role) or not rules.may_open(
        viewer.role, viewer.pk, viewer.group_id, target.pk, target.group_id
    ):
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    await query.answer()
    year = _year(services)
    async with services.db.read() as conn:
        subs = await reading_repo.for_member(conn, target.pk, year.label)
    text = _progress_text(context.lang, services.config, subs, _today(services), year,
                          name=target.name)
    buttons = [(context.t("reading.btn.open_n", n=i), _cb("open", s.id))
               for i, s in enumerate(subs, start=1)]
    await _say(context, query.from_user.id, text, _chunks(buttons, 4))


# -- dialog input and buttons ---------------------------------------------------------------------


@dialog.on_input(FEATURE)
async def on_input(update: Update, context: StudyContext, state: dict[str, Any]) -> None:
    """The user's next message in a reading dialog."""
    message = update.effective_message
    if message is None or context.member is None:
        return
    step = state.get("step")
    text = (message.text or "").strip()
    if step in ("reflection", "output_body", "resubmit"):
        if step == "reflection":
            await _save_book(update, context, state)
        elif step == "output_body":
            await _save_output(update, context, state)
        else:
            await _save_resubmission(update, context, state)
        return
    if not text:
        await message.reply_text(context.t("reading.expect_text"))
        return
    if step == "search":
        await _search(update, context, state, text)
    elif step == "own_title":
        await _own_title(update, context, state, text)
    elif step == "monograph":
        await _ask_monograph(context, message.chat_id, state["title"])
    elif step == "date":
        await _date_given(context, message.chat_id, state, text)
    elif step == "kind":
        rows = [[(_kind_name(context.lang, k), _cb("kind", k))] for k in rules.OUTPUT_KINDS]
        await message.reply_text(context.t("reading.submit.ask_kind"), reply_markup=_markup(rows))
    elif step == "output_title":
        await _output_title(update, context, state, text)
    elif step == "return_comment":
        await _return_with_comment(update, context, state, text)
    else:
        dialog.end(context)


def _dialog_step(context: StudyContext, *steps: str) -> dict[str, Any] | None:
    state = dialog.current(context)
    if state is None or state.get("feature") != FEATURE or state.get("step") not in steps:
        return None
    return state


async def on_button(update: Update, context: StudyContext) -> None:
    """Every `rd:` button: dialog choices, review, open, resubmit, tables."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.decode(query.data)
    if cb is None or context.member is None:
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    arg = cb.int_arg(0)
    action = cb.action
    if action == "acc":
        await _accept(update, context, arg)
    elif action == "ret":
        await _ask_return_comment(update, context, arg)
    elif action == "open":
        await _open(update, context, arg)
    elif action == "resub":
        await _ask_resubmission(update, context, arg)
    elif action == "grp":
        await _group_table(update, context, arg)
    elif action == "mem":
        await _member_detail(update, context, arg)
    elif action in ("pick", "own", "mono", "date", "kind"):
        await _dialog_button(update, context, action, cb.args)
    else:
        await query.answer(context.t("error.forged"), show_alert=True)


async def _dialog_button(
    update: Update, context: StudyContext, action: str, args: tuple[str, ...]
) -> None:
    """A choice inside /read or /submit; a press from an old or foreign dialog is refused."""
    query = update.callback_query
    assert query is not None
    chat_id = query.from_user.id
    forged = context.t("error.forged")
    if action == "pick":
        state = _dialog_step(context, "search")
        pk = int(args[0]) if args and args[0].isdigit() else None
        if state is None or pk is None or pk not in state.get("offered", []):
            await query.answer(forged, show_alert=True)
            return
        async with context.services.db.read() as conn:
            book = await books_repo.by_pk(conn, pk)
        if book is None or not book.active or book.year != state["year"]:
            await query.answer(forged, show_alert=True)
            return
        await query.answer()
        await _drop_buttons(query.message)
        await _choose_book(context, chat_id, state, book)
    elif action == "own":
        state = _dialog_step(context, "search")
        if state is None:
            await query.answer(forged, show_alert=True)
            return
        await query.answer()
        await _drop_buttons(query.message)
        state["step"] = "own_title"
        await _say(context, chat_id, context.t("reading.read.ask_title"))
    elif action == "mono":
        state = _dialog_step(context, "monograph")
        if state is None or not args or args[0] not in ("0", "1"):
            await query.answer(forged, show_alert=True)
            return
        await query.answer()
        await _drop_buttons(query.message)
        state["monograph"] = args[0] == "1"
        await _ask_date(context, chat_id, state)
    elif action == "date":
        state = _dialog_step(context, "date")
        if state is None or not args or args[0] not in ("0", "1"):
            await query.answer(forged, show_alert=True)
            return
        await query.answer()
        await _drop_buttons(query.message)
        await _date_given(context, chat_id, state, "today" if args[0] == "0" else "yesterday")
    else:  # kind
        state = _dialog_step(context, "kind")
        if state is None or not args or args[0] not in rules.OUTPUT_KINDS:
            await query.answer(forged, show_alert=True)
            return
        await query.answer()
        await _drop_buttons(query.message)
        state.update(step="output_title", kind=args[0])
        await _say(context, chat_id, context.t(
            "reading.submit.ask_title", kind=_kind_name(context.lang, args[0])
        ))


# -- the monthly nudge ----------------------------------------------------------------------------


async def nudge_due(services: Services, now: dt.datetime) -> int:
    """At most once a calendar month, from `[reading] nudge_day` at `nudge_time` (never at
    night), reminds each trainee who is behind pace as of the nudge day, and suggests a
    required book not yet logged. Idempotent: a `reading_nudges` row per member and month,
    and the outbox dedupe key as well."""
    cfg = services.config
    rc = cfg.reading
    if not rules.nudge_window_open(now, rc.nudge_day, rc.nudge_time):
        return 0
    day = rules.nudge_pace_day(now, rc.nudge_day)
    year = rules.programme_year(day, _starts(cfg))
    month = rules.month_key(now)
    async with services.db.read() as conn:
        done = await reading_repo.nudged(conn, month)
        people = [
            m for m in await members_repo.all_members(conn)
            if rules.logs_reading(m.role) and m.telegram_id is not None and m.pk not in done
        ]
        if not people:
            return 0
        subs = await reading_repo.for_year(conn, year.label)
        catalog = await books_repo.for_year(conn, year.label)
    by_member: dict[int, list[Submission]] = {}
    for s in subs:
        by_member.setdefault(s.member_pk, []).append(s)
    due: list[tuple[Member, rules.Tally, rules.Pace, Book | None]] = []
    for m in people:
        mine = by_member.get(m.pk, [])
        tally = rules.tally(mine, rc.review)
        p = rules.pace(tally, day, year)
        if p.on_track:
            continue
        logged = {s.book_pk for s in mine if s.book_pk is not None}
        book = rules.suggest(catalog, logged, want_monograph=p.monographs_behind > 0)
        due.append((m, tally, p, book))
    if not due:
        return 0
    now_ts = ts(now)
    sent = 0
    async with services.db.tx() as conn:
        for m, tally, p, book in due:
            if not await reading_repo.record_nudge(conn, m.pk, month, p.behind, now_ts):
                continue
            lang = _lang_of(m, cfg)
            suggestion = (
                t(lang, "reading.nudge.suggest", title=book.title, author=book.author)
                if book is not None else t(lang, "reading.nudge.no_suggestion")
            )
            row = await notify.to_member(
                conn, cfg, m, "reading.nudge.text", now=now_ts, kind="reading.nudge",
                dedupe_key=rules.nudge_dedupe_key(m.pk, month), name=m.name,
                share=round(p.share * 100), expected=p.expected_books, books=tally.books,
                monographs=tally.monographs, behind=p.behind, suggestion=suggestion,
            )
            sent += int(row is not None)
    return sent


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("books", books_command, filters=private))
    app.add_handler(CommandHandler("read", read_command, filters=private))
    app.add_handler(CommandHandler("submit", submit_command, filters=private))
    app.add_handler(CommandHandler("reading", reading_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))
