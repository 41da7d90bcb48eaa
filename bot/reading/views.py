"""What the reading screens say and which buttons they carry: the progress and pace lines, a
submission's line and header, the catalog list of /books, the group and overview tables, the
reviewer's excerpt, and the `rd:` buttons as rows of (text, callback data).

Text and data only, from the catalogs in the reader's language; no Telegram and no database
here, so the handler, the notifications of bot.reading.flow and the tests share one wording.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.core import callbacks
from bot.core.config import Config
from bot.core.i18n import t
from bot.core.text import clip
from bot.reading import rules
from storage.books import Book
from storage.db import parse_ts
from storage.models import Member
from storage.reading import Submission

PREFIX = "rd"
EXCERPT_CHARS = 200
BUTTON_CHARS = 60

Rows = list[list[tuple[str, str]]]
Buttons = list[list[list[str]]]  # the outbox form of Rows: [text, data]


def cb(action: str, *args: object) -> str:
    """Callback data `rd:<action>:<args>`."""
    return callbacks.encode(PREFIX, action, *args)


def local_day(cfg: Config, stamp: str) -> str:
    """A stored UTC time as the local date (YYYY-MM-DD)."""
    return parse_ts(stamp).astimezone(cfg.tz).date().isoformat()


def kind_name(lang: str, kind: str) -> str:
    return t(lang, f"reading.kind.{kind}")


def status_name(lang: str, status: str, mode: str) -> str:
    if status == "returned":
        return t(lang, "reading.status.returned")
    if rules.awaiting_review(status, mode):
        return t(lang, "reading.status.pending")
    if status == "accepted":
        return t(lang, "reading.status.accepted")
    return t(lang, "reading.status.counted")


def size_text(size: int) -> str:
    if size < 1024 * 1024:
        return f"{max(round(size / 1024), 1)} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def pace_text(lang: str, p: rules.Pace) -> str:
    if p.on_track:
        return t(lang, "reading.pace.on_track")
    return t(lang, "reading.pace.behind", n=p.behind)


def _analysis_text(lang: str, tally: rules.Tally) -> str:
    return t(lang, "reading.progress.done" if tally.analysis_done else "reading.progress.not_yet")


def short_progress(lang: str, tally: rules.Tally) -> str:
    """The one-line tally under a saved entry."""
    text = t(
        lang, "reading.progress.short", books=tally.books, books_target=rules.TARGET_BOOKS,
        monographs=tally.monographs, monographs_target=rules.TARGET_MONOGRAPHS,
        analysis=_analysis_text(lang, tally),
    )
    if tally.pending:
        text += t(lang, "reading.progress.pending_suffix", n=tally.pending)
    return text


def entry_saved(
    lang: str, kind: str, title: str, finished_on: str | None, monograph: bool
) -> str:
    """The first line of the answer to a saved book log or output."""
    if kind == "book":
        return t(lang, "reading.read.saved", title=title, date=finished_on,
                 mono=t(lang, "reading.line.mono") if monograph else "")
    return t(lang, "reading.submit.saved", kind=kind_name(lang, kind), title=title)


def saved_text(lang: str, cfg: Config, head: str, tally: rules.Tally) -> str:
    """What a saved entry (or resubmission) answers: its line, the tally, the review mode."""
    return "\n".join([
        head, short_progress(lang, tally), t(lang, f"reading.mode.{cfg.reading.review}"),
    ])


def entry_line(lang: str, cfg: Config, n: int, sub: Submission) -> str:
    status = status_name(lang, sub.status, cfg.reading.review)
    if sub.kind == "book":
        line = t(
            lang, "reading.line.book", n=n, title=sub.title,
            mono=t(lang, "reading.line.mono") if sub.monograph else "",
            date=sub.finished_on or "", status=status,
        )
    else:
        line = t(
            lang, "reading.line.output", n=n, kind=kind_name(lang, sub.kind), title=sub.title,
            date=local_day(cfg, sub.submitted_at), status=status,
        )
    if sub.file is not None:
        line += t(lang, "reading.line.file")
    if sub.status == "returned" and sub.review_comment:
        line += "\n" + t(lang, "reading.line.comment", comment=sub.review_comment,
                         by=sub.reviewer_name or "")
    return line


def joined_on(cfg: Config, m: Member) -> dt.date | None:
    """The local date `m` registered (None: never); reading pace counts from it."""
    return rules.joined_on(parse_ts(m.registered_at) if m.registered_at else None, cfg.tz)


def progress_text(
    lang: str, cfg: Config, subs: list[Submission], today: dt.date,
    year: rules.ProgrammeYear, *, name: str | None = None, joined: dt.date | None = None,
) -> str:
    """A reader's year: the tally against the targets, the pace (from `joined`, when the
    reader joined during the year), and every entry."""
    mode = cfg.reading.review
    tally = rules.tally(subs, mode)
    p = rules.pace(tally, today, year, joined)
    lines = [
        t(lang, "reading.progress.header_of", name=name, year=year.label, date=today.isoformat())
        if name
        else t(lang, "reading.progress.header", year=year.label, date=today.isoformat()),
        t(lang, "reading.progress.books", n=tally.books, target=rules.TARGET_BOOKS),
        t(lang, "reading.progress.monographs", n=tally.monographs,
          target=rules.TARGET_MONOGRAPHS),
        t(lang, "reading.progress.analysis", state=_analysis_text(lang, tally)),
        t(lang, "reading.progress.pace" if p.expected_books else "reading.progress.pace_early",
          pace=pace_text(lang, p), share=round(p.share * 100), expected=p.expected_books),
    ]
    if tally.pending or tally.returned:
        lines.append(t(lang, "reading.progress.review", pending=tally.pending,
                       returned=tally.returned))
    if subs:
        lines.append("")
        lines.append(t(lang, "reading.progress.list"))
        lines += [entry_line(lang, cfg, i, s) for i, s in enumerate(subs, start=1)]
    else:
        lines.append("")
        lines.append(t(lang, "reading.progress.empty"))
    return "\n".join(lines)


def excerpt(lang: str, sub: Submission) -> str:
    """The start of a submission for the reviewer's notice (a document: its name and size)."""
    if sub.file is not None:
        return t(lang, "reading.review.document", name=sub.file.name,
                 size=size_text(sub.file.size))
    return clip(sub.body or "", EXCERPT_CHARS)


def open_header(lang: str, cfg: Config, sub: Submission) -> str:
    """Who, what, when and its status, above an opened submission (and the comment when
    it was returned)."""
    header = t(
        lang, "reading.open.header", name=sub.member_name, group=sub.group_name or "",
        kind=kind_name(lang, sub.kind), title=sub.title,
        date=sub.finished_on or local_day(cfg, sub.submitted_at),
        status=status_name(lang, sub.status, cfg.reading.review),
        mono=t(lang, "reading.line.mono") if sub.kind == "book" and sub.monograph else "",
    )
    if sub.review_comment and sub.status == "returned":
        header += "\n" + t(lang, "reading.line.comment", comment=sub.review_comment,
                           by=sub.reviewer_name or "")
    return header


def already_reviewed(lang: str, cfg: Config, sub: Submission) -> str:
    return t(lang, "reading.review.already",
             status=status_name(lang, sub.status, cfg.reading.review),
             by=sub.reviewer_name or "")


def duplicate_text(lang: str, cfg: Config, dup: Submission) -> str:
    when = dup.finished_on or local_day(cfg, dup.submitted_at)
    return t(lang, "reading.read.duplicate", title=dup.title, date=when,
             status=status_name(lang, dup.status, cfg.reading.review))


def books_text(
    lang: str, cfg: Config, year: int, catalog: list[Book], mine: list[Submission], role: str
) -> str:
    """/books: the required and elective lists, each book marked by the reader's entry."""
    mode = cfg.reading.review
    status_of = {s.book_pk: s.status for s in mine if s.book_pk is not None}
    lines = [t(lang, "reading.books.header", year=year)]
    for book_list in ("required", "elective"):
        books = [b for b in catalog if b.book_list == book_list]
        if not books:
            continue
        lines.append("")
        lines.append(t(lang, f"reading.books.{book_list}"))
        for b in books:
            status = status_of.get(b.pk)
            if status is None:
                mark = t(lang, "reading.mark.none")
            elif status == "returned":
                mark = t(lang, "reading.mark.returned")
            elif rules.awaiting_review(status, mode):
                mark = t(lang, "reading.mark.pending")
            else:
                mark = t(lang, "reading.mark.done")
            lines.append(t(
                lang, "reading.books.line", mark=mark, book_id=b.book_id, title=b.title,
                author=b.author, mono=t(lang, "reading.line.mono") if b.monograph else "",
            ))
    lines.append("")
    lines.append(t(
        lang, "reading.books.footer" if rules.logs_reading(role) else "reading.books.footer_hr"
    ))
    return "\n".join(lines)


# -- tables ----------------------------------------------------------------------------------


def expected_note(lang: str, today: dt.date, year: rules.ProgrammeYear) -> str:
    expected = rules.pace(rules.Tally(), today, year).expected_books
    return t(lang, "reading.table.expected", n=expected) if expected else ""


def member_row(
    lang: str, cfg: Config, m: Member, subs: list[Submission], today: dt.date,
    year: rules.ProgrammeYear,
) -> tuple[str, rules.Pace]:
    """One reader's line in a table, and their pace."""
    tally = rules.tally(subs, cfg.reading.review)
    p = rules.pace(tally, today, year, joined_on(cfg, m))
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
        pace=pace_text(lang, p), extras=extras,
    ), p


def by_member(subs: list[Submission]) -> dict[int, list[Submission]]:
    found: dict[int, list[Submission]] = {}
    for s in subs:
        found.setdefault(s.member_pk, []).append(s)
    return found


def overview_text(
    lang: str, cfg: Config, people: list[Member], subs: list[Submission], today: dt.date,
    year: rules.ProgrammeYear,
) -> tuple[str, list[tuple[str, int]]]:
    """HR's table of every group's readers; and the groups as (name, id), sorted by name."""
    mine = by_member(subs)
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
            row, p = member_row(lang, cfg, m, mine.get(m.pk, []), today, year)
            behind += int(not p.on_track)
            lines.append(row)
    head = t(lang, "reading.table.overview_header", year=year.label, date=today.isoformat(),
             expected=expected_note(lang, today, year), total=len(people), behind=behind)
    return "\n".join([head, *lines]), sorted(groups)


def group_text(
    lang: str, cfg: Config, members: list[Member], subs: list[Submission], today: dt.date,
    year: rules.ProgrammeYear,
) -> str:
    """A group's table (the leader's, or HR's from the overview)."""
    mine = by_member(subs)
    lines = [t(lang, "reading.table.group_header", group=members[0].group_name or "",
               year=year.label, date=today.isoformat(),
               expected=expected_note(lang, today, year))]
    for m in members:
        row, _ = member_row(lang, cfg, m, mine.get(m.pk, []), today, year)
        lines.append(row)
    lines.append("")
    lines.append(t(lang, "reading.table.hint"))
    return "\n".join(lines)


# -- buttons -------------------------------------------------------------------------------------


def review_buttons(lang: str, sub_id: int, mode: str) -> Buttons:
    """Buttons on a reviewer's notification (outbox form: [text, data])."""
    open_btn = [t(lang, "reading.btn.open"), cb("open", sub_id)]
    ret_btn = [t(lang, "reading.btn.return"), cb("ret", sub_id)]
    if mode == "required":
        return [[open_btn], [[t(lang, "reading.btn.accept"), cb("acc", sub_id)], ret_btn]]
    return [[open_btn, ret_btn]]


def returned_buttons(lang: str, sub_id: int) -> Buttons:
    """The Resubmit button on a returned submission's notice (outbox form)."""
    return [[[t(lang, "reading.btn.resubmit"), cb("resub", sub_id)]]]


def own_rows(lang: str) -> Rows:
    return [[(t(lang, "reading.btn.own"), cb("own"))]]


def search_reply(lang: str, found: Sequence[Book]) -> tuple[str, Rows]:
    """The search results as buttons (at most SEARCH_LIMIT), and the own-title button."""
    shown = found[: rules.SEARCH_LIMIT]
    rows: Rows = [
        [(clip(t(lang, "reading.read.result", title=b.title, author=b.author), BUTTON_CHARS),
          cb("pick", b.pk))]
        for b in shown
    ]
    text = t(lang, "reading.read.results", count=len(found))
    if len(found) > len(shown):
        text += "\n" + t(lang, "reading.read.more", shown=len(shown))
    return text, rows + own_rows(lang)


def date_rows(lang: str) -> Rows:
    return [[(t(lang, "reading.btn.today"), cb("date", 0)),
             (t(lang, "reading.btn.yesterday"), cb("date", 1))]]


def monograph_rows(lang: str) -> Rows:
    return [[(t(lang, "reading.btn.monograph_yes"), cb("mono", 1)),
             (t(lang, "reading.btn.monograph_no"), cb("mono", 0))]]


def kind_rows(lang: str) -> Rows:
    return [[(kind_name(lang, k), cb("kind", k))] for k in rules.OUTPUT_KINDS]


def review_rows(lang: str, sub: Submission) -> Rows:
    """Accept / Return under an opened submission, as its status allows (for a reviewer)."""
    row: list[tuple[str, str]] = []
    if rules.can_accept(sub.status):
        row.append((t(lang, "reading.btn.accept"), cb("acc", sub.id)))
    if rules.can_return(sub.status):
        row.append((t(lang, "reading.btn.return"), cb("ret", sub.id)))
    return [row]


def resubmit_buttons(lang: str, subs: list[Submission]) -> list[tuple[str, str]]:
    """Resubmit #n for each returned entry, under one's own progress."""
    return [(t(lang, "reading.btn.resubmit_n", n=i), cb("resub", s.id))
            for i, s in enumerate(subs, start=1) if s.status == "returned"]


def group_button(lang: str, group_id: int) -> tuple[str, str]:
    """A leader's way from their progress to the group's table."""
    return (t(lang, "reading.btn.group"), cb("grp", group_id))


def open_buttons(lang: str, subs: list[Submission]) -> list[tuple[str, str]]:
    """Open #n for each of a reader's entries (under their progress, for a reviewer)."""
    return [(t(lang, "reading.btn.open_n", n=i), cb("open", s.id))
            for i, s in enumerate(subs, start=1)]


def group_buttons(groups: list[tuple[str, int]]) -> list[tuple[str, str]]:
    return [(name, cb("grp", gid)) for name, gid in groups]


def member_buttons(members: list[Member]) -> list[tuple[str, str]]:
    return [(m.name, cb("mem", m.pk)) for m in members]
