"""What the reading screens say: the progress and pace lines, a submission's line and header,
the catalog list of /books, the group and overview tables, and the reviewer's excerpt.

Text only, from the catalogs in the reader's language; no Telegram and no database here, so the
handler, the notifications of bot.reading.flow and the tests share one wording.
"""

from __future__ import annotations

import datetime as dt

from bot.core.config import Config
from bot.core.i18n import t
from bot.core.text import clip
from bot.reading import rules
from storage.books import Book
from storage.db import parse_ts
from storage.models import Member
from storage.reading import Submission

EXCERPT_CHARS = 200


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


def progress_text(
    lang: str, cfg: Config, subs: list[Submission], today: dt.date,
    year: rules.ProgrammeYear, *, name: str | None = None,
) -> str:
    """A reader's year: the tally against the targets, the pace, and every entry."""
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
