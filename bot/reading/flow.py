"""The reading log applied to the database: logging a book or an output, resubmitting a
returned one, the reviewer's accept and return with a comment, opening a submission, the
progress tables, and the monthly nudge.

Each change is one transaction that re-reads what it relies on (who acts, with which role and
group; the submission's status), writes the change and queues the notifications to other
people (the reviewer's notice, the author's verdict) in the outbox; the handler answers only
after the commit and renders the result returned. Who may do what is decided from the
database by bot.reading.rules, never from callback data. Content arrives already checked
(bot.reading.content); a file whose submission is not saved is removed here.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import aiosqlite

from bot.core.config import Config
from bot.core.i18n import lang_of, t
from bot.delivery import notify
from bot.reading import rules
from bot.reading.content import Content, discard
from bot.reading.views import (
    by_member,
    excerpt,
    joined_on,
    kind_name,
    returned_buttons,
    review_buttons,
)
from storage import books as books_repo
from storage import members as members_repo
from storage import reading as reading_repo
from storage.books import Book
from storage.db import Database, ts
from storage.models import Member
from storage.reading import Submission

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)


def year_of(cfg: Config, day: dt.date) -> rules.ProgrammeYear:
    """The programme year `day` falls in (`[program] year_starts`)."""
    return rules.programme_year(day, rules.parse_year_starts(cfg.program.year_starts))


def year_labelled(cfg: Config, label: int) -> rules.ProgrammeYear:
    return rules.year_by_label(label, rules.parse_year_starts(cfg.program.year_starts))


# -- the reviewer's notice ---------------------------------------------------------------------


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
        lang = lang_of(target, cfg)
        row = await notify.to_member(
            conn, cfg, target, key, now=now, kind="reading.review",
            buttons=review_buttons(lang, sub.id, mode), name=sub.member_name,
            group=sub.group_name or "", kind_name=kind_name(lang, sub.kind), title=sub.title,
            excerpt=excerpt(lang, sub),
        )
        if row is not None:
            return
    lang = cfg.program.language
    await notify.to_hr(
        conn, cfg, key, now=now, kind="reading.review",
        buttons=review_buttons(lang, sub.id, mode), name=sub.member_name,
        group=sub.group_name or "", kind_name=kind_name(lang, sub.kind), title=sub.title,
        excerpt=excerpt(lang, sub),
    )


# -- /books and /read: the catalog and the titles -----------------------------------------------


async def shelf(db: Database, member_pk: int, year: int) -> tuple[list[Book], list[Submission]]:
    """The year's catalog and the member's entries (for /books)."""
    async with db.read() as conn:
        return (await books_repo.for_year(conn, year),
                await reading_repo.for_member(conn, member_pk, year))


async def search(db: Database, year: int, query: str) -> list[Book]:
    """The year's catalog books whose title or author has every word of `query`."""
    async with db.read() as conn:
        catalog = await books_repo.for_year(conn, year)
    return rules.search(catalog, query)


@dataclass(frozen=True)
class Titled:
    """A title chosen or typed: the catalog book it is (if any), and the member's earlier
    entry of the same book or output this year (if any; then it is not logged again)."""

    book: Book | None = None
    duplicate: Submission | None = None


async def choose_book(db: Database, member_pk: int, year: int, book_pk: int) -> Titled | None:
    """A catalog book picked from the results; None if it is not one of this year's lists."""
    async with db.read() as conn:
        book = await books_repo.by_pk(conn, book_pk)
        if book is None or not book.active or book.year != year:
            return None
        dup = await reading_repo.find_duplicate(conn, member_pk, year, "book", book.title_norm,
                                                book.pk)
    return Titled(book, dup)


async def typed_book(db: Database, member_pk: int, year: int, title_norm: str) -> Titled:
    """A typed book title: a catalog title is that catalog book (same duplicate rule, known
    category); else an own book, refused when already logged."""
    async with db.read() as conn:
        book = await books_repo.by_title(conn, year, title_norm)
        if book is not None:
            dup = await reading_repo.find_duplicate(conn, member_pk, year, "book",
                                                    book.title_norm, book.pk)
            return Titled(book, dup)
        dup = await reading_repo.find_duplicate(conn, member_pk, year, "book", title_norm)
    return Titled(None, dup)


async def typed_output(
    db: Database, member_pk: int, year: int, kind: str, title_norm: str
) -> Submission | None:
    """The member's output of this kind and title this year, if there is one."""
    async with db.read() as conn:
        return await reading_repo.find_duplicate(conn, member_pk, year, kind, title_norm)


# -- logging, resubmitting ----------------------------------------------------------------------

SaveOutcome = Literal["ok", "forbidden", "duplicate", "raced", "not_returned"]


@dataclass(frozen=True)
class Saved:
    """What became of a book log, an output or a resubmission: on "ok" the member's new tally;
    on "duplicate" the earlier entry (a returned one is resubmitted instead)."""

    outcome: SaveOutcome
    tally: rules.Tally | None = None
    duplicate: Submission | None = None


@dataclass(frozen=True)
class Draft:
    """An entry as the dialog collected it."""

    year: int
    kind: str
    title: str
    title_norm: str
    book_pk: int | None = None
    monograph: bool = False
    finished_on: str | None = None


async def _reader(conn: aiosqlite.Connection, member_pk: int) -> Member | None:
    member = await members_repo.by_pk(conn, member_pk)
    if member is None or not member.active or not rules.logs_reading(member.role):
        return None
    return member


async def log_entry(
    db: Database, cfg: Config, member_pk: int, draft: Draft, content: Content, now: dt.datetime,
) -> Saved:
    """Stores a book log (`draft.kind` "book") or an output with its reviewers' notices, in
    one transaction. A duplicate (also one a double tap raced in) stores nothing, and the
    downloaded file is removed."""
    at = ts(now)
    try:
        async with db.tx() as conn:
            if await _reader(conn, member_pk) is None:
                saved = Saved("forbidden")
            elif dup := await reading_repo.find_duplicate(
                conn, member_pk, draft.year, draft.kind, draft.title_norm, draft.book_pk
            ):
                saved = Saved("duplicate", duplicate=dup)
            else:
                sid = await reading_repo.insert(
                    conn, member_pk=member_pk, year=draft.year, kind=draft.kind,
                    title=draft.title, title_norm=draft.title_norm, now=at, body=content.body,
                    file=content.file, book_pk=draft.book_pk, monograph=draft.monograph,
                    finished_on=draft.finished_on,
                )
                sub = await reading_repo.by_id(conn, sid)
                assert sub is not None
                await _notify_reviewers(conn, cfg, sub, at, resubmitted=False)
                subs = await reading_repo.for_member(conn, member_pk, draft.year)
                saved = Saved("ok", rules.tally(subs, cfg.reading.review))
    except sqlite3.IntegrityError:
        # A double tap raced this one in: the unique index kept the entry once.
        saved = Saved("raced")
    if saved.outcome != "ok":
        discard(cfg, content)
    return saved


async def resubmit(
    db: Database, cfg: Config, member_pk: int, sub_id: int, content: Content, now: dt.datetime,
) -> Saved:
    """Replaces the content of the member's returned submission and tells the reviewer, in
    one transaction; "not_returned" (the file removed) when it is not theirs or not returned."""
    at = ts(now)
    subs: list[Submission] = []
    async with db.tx() as conn:
        done = await reading_repo.resubmit(
            conn, sub_id, member_pk=member_pk, body=content.body, file=content.file, now=at,
        )
        if done:
            sub = await reading_repo.by_id(conn, sub_id)
            assert sub is not None
            await _notify_reviewers(conn, cfg, sub, at, resubmitted=True)
            subs = await reading_repo.for_member(conn, member_pk, sub.year)
    if not done:
        discard(cfg, content)
        return Saved("not_returned")
    return Saved("ok", rules.tally(subs, cfg.reading.review))


OwnOutcome = Literal["ok", "forged", "not_returned"]


async def may_resubmit(
    db: Database, member_pk: int, sub_id: int | None
) -> tuple[OwnOutcome, Submission | None]:
    """Whether the member may resubmit the submission (their own, returned)."""
    if sub_id is None:
        return "forged", None
    async with db.read() as conn:
        sub = await reading_repo.by_id(conn, sub_id)
    if sub is None or sub.member_pk != member_pk:
        return "forged", None
    if sub.status != "returned":
        return "not_returned", sub
    return "ok", sub


# -- review: accept, return with a comment -------------------------------------------------------

ReviewOutcome = Literal["ok", "forged", "already"]


@dataclass(frozen=True)
class Reviewed:
    """A review's outcome and the submission as it was found ("already": its status and who
    reviewed it)."""

    outcome: ReviewOutcome
    submission: Submission | None = None


async def _reviewable(
    conn: aiosqlite.Connection, actor_pk: int, sub_id: int | None
) -> tuple[Member, Submission] | None:
    """The actor and the submission, if the actor may review it (checked in the database)."""
    if sub_id is None:
        return None
    actor = await members_repo.by_pk(conn, actor_pk)
    sub = await reading_repo.by_id(conn, sub_id)
    if actor is None or sub is None or not rules.may_review(
        actor.role, actor.pk, actor.group_id, sub.member_pk, sub.group_id
    ):
        return None
    return actor, sub


async def _review(
    db: Database, cfg: Config, actor_pk: int, sub_id: int | None, now: dt.datetime, *,
    allowed: Callable[[str], bool], expect: tuple[str, ...], status: str,
    comment: str | None, notice: str, kind: str,
    buttons: Callable[[str, int], notify.Buttons] | None = None,
) -> Reviewed:
    """Gives a submission the actor may review the review `status`, if `allowed` for its
    status and it is still in one of `expect` when written; the author is told with `notice`
    (outbox `kind`, with `buttons(lang, sub_id)` when given) in the same transaction."""
    at = ts(now)
    async with db.tx() as conn:
        found = await _reviewable(conn, actor_pk, sub_id)
        if found is None:
            return Reviewed("forged")
        actor, sub = found
        if not allowed(sub.status) or not await reading_repo.set_review(
            conn, sub.id, expect=expect, status=status, reviewer_pk=actor.pk,
            comment=comment, now=at,
        ):
            return Reviewed("already", sub)
        owner = await members_repo.by_pk(conn, sub.member_pk)
        if owner is not None:
            lang = lang_of(owner, cfg)
            # An acceptance has no comment, and its notice does not quote one.
            await notify.to_member(
                conn, cfg, owner, notice, now=at, kind=kind,
                buttons=buttons(lang, sub.id) if buttons else None,
                reviewer=actor.name, kind_name=kind_name(lang, sub.kind), title=sub.title,
                comment=comment,
            )
    return Reviewed("ok", sub)


async def accept(
    db: Database, cfg: Config, actor_pk: int, sub_id: int | None, now: dt.datetime
) -> Reviewed:
    """The reviewer accepts a submission awaiting review; the author is told."""
    return await _review(
        db, cfg, actor_pk, sub_id, now, allowed=rules.can_accept, expect=("submitted",),
        status="accepted", comment=None, notice="reading.notice.accepted",
        kind="reading.accepted",
    )


async def may_return(db: Database, actor_pk: int, sub_id: int | None) -> Reviewed:
    """Whether the actor may return the submission now (before the comment is typed)."""
    async with db.read() as conn:
        found = await _reviewable(conn, actor_pk, sub_id)
    if found is None:
        return Reviewed("forged")
    sub = found[1]
    return Reviewed("ok" if rules.can_return(sub.status) else "already", sub)


async def return_with_comment(
    db: Database, cfg: Config, actor_pk: int, sub_id: int, comment: str, now: dt.datetime
) -> Reviewed:
    """The reviewer returns a submission with a comment; the author is told, with a
    Resubmit button."""
    return await _review(
        db, cfg, actor_pk, sub_id, now, allowed=rules.can_return,
        expect=("submitted", "accepted"), status="returned", comment=comment,
        notice="reading.notice.returned", kind="reading.returned", buttons=returned_buttons,
    )


# -- opening a submission, the tables -------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """A submission the viewer may open: whether they may review it too, and its stored file
    (None for a text; `missing` when the file is gone from files_dir)."""

    submission: Submission
    may_review: bool
    path: Path | None = None
    missing: bool = False


async def open_submission(
    db: Database, cfg: Config, viewer_pk: int, sub_id: int | None
) -> Opened | None:
    """The submission if the viewer may open it (author, their leader, HR), else None."""
    if sub_id is None:
        return None
    async with db.read() as conn:
        viewer = await members_repo.by_pk(conn, viewer_pk)
        sub = await reading_repo.by_id(conn, sub_id)
    if viewer is None or sub is None or not rules.may_open(
        viewer.role, viewer.pk, viewer.group_id, sub.member_pk, sub.group_id
    ):
        return None
    reviews = rules.may_review(viewer.role, viewer.pk, viewer.group_id, sub.member_pk,
                               sub.group_id)
    if sub.file is None:
        return Opened(sub, reviews)
    root = cfg.files_dir.resolve()
    path = (root / sub.file.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        log.error("reading submission %s: stored file %s is missing", sub.id, sub.file.path)
        return Opened(sub, reviews, missing=True)
    return Opened(sub, reviews, path)


async def own_entries(db: Database, member_pk: int, year: int) -> list[Submission]:
    async with db.read() as conn:
        return await reading_repo.for_member(conn, member_pk, year)


async def overview(db: Database, year: int) -> tuple[list[Member], list[Submission]]:
    """Every reader (trainees and leaders) and the year's submissions, for HR's table."""
    async with db.read() as conn:
        people = [m for m in await members_repo.all_members(conn) if rules.logs_reading(m.role)]
        subs = await reading_repo.for_year(conn, year)
    return people, subs


async def group_table(
    db: Database, viewer_pk: int, group_id: int | None, year: int
) -> tuple[list[Member], list[Submission]] | None:
    """A group's readers and their submissions, for HR or the group's leader; None if the
    viewer may not see it or the group has no readers."""
    if group_id is None:
        return None
    async with db.read() as conn:
        viewer = await members_repo.by_pk(conn, viewer_pk)
        if viewer is None or not (
            viewer.is_hr or (viewer.is_leader and viewer.group_id == group_id)
        ):
            return None
        members = [m for m in await members_repo.group_members(conn, group_id)
                   if rules.logs_reading(m.role)]
        subs = await reading_repo.for_year(conn, year, group_id=group_id)
    return (members, subs) if members else None


async def member_entries(
    db: Database, viewer_pk: int, member_pk: int | None, year: int
) -> tuple[Member, list[Submission]] | None:
    """A reader's entries, for whoever may open them; None otherwise."""
    if member_pk is None:
        return None
    async with db.read() as conn:
        viewer = await members_repo.by_pk(conn, viewer_pk)
        target = await members_repo.by_pk(conn, member_pk)
        if viewer is None or target is None or not rules.logs_reading(target.role) or (
            not rules.may_open(viewer.role, viewer.pk, viewer.group_id, target.pk,
                               target.group_id)
        ):
            return None
        subs = await reading_repo.for_member(conn, target.pk, year)
    return target, subs


# -- the monthly nudge ----------------------------------------------------------------------------


async def nudge_due(services: Services, now: dt.datetime) -> int:
    """At most once a calendar month, from `[reading] nudge_day` at `nudge_time` (never at
    night), reminds each trainee who is behind pace as of the nudge day (pace counting from the
    day they joined, nobody in their first week), and suggests a required book not yet logged
    or, failing one, what the catalog offers (`rules.suggestion`). Idempotent: a
    `reading_nudges` row per member and month, and the outbox dedupe key as well."""
    cfg = services.config
    rc = cfg.reading
    if not rules.nudge_window_open(now, rc.nudge_day, rc.nudge_time):
        return 0
    day = rules.nudge_pace_day(now, rc.nudge_day)
    year = year_of(cfg, day)
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
    entries = by_member(subs)
    due: list[Nudge] = []
    for m in people:
        mine = entries.get(m.pk, [])
        tally = rules.tally(mine, rc.review)
        joined = joined_on(cfg, m)
        # Pace counts from the day the member joined; nobody is nudged in their first week.
        p = rules.pace(tally, day, year, joined)
        if not rules.nudged(p, day, joined):
            continue
        logged = {s.book_pk for s in mine if s.book_pk is not None}
        kind, book = rules.suggestion(catalog, logged, want_monograph=p.monographs_behind > 0)
        due.append(Nudge(m, tally, p, kind, book))
    if not due:
        return 0
    return await _send_nudges(services, cfg, due, month, ts(now))


@dataclass(frozen=True)
class Nudge:
    """One reader's nudge: their tally and pace, and what it suggests (`rules.suggestion`)."""

    member: Member
    tally: rules.Tally
    pace: rules.Pace
    suggestion: rules.SuggestionKind
    book: Book | None


async def _send_nudges(
    services: Services, cfg: Config, due: list[Nudge], month: str, now: str,
) -> int:
    """Records and queues this month's nudges in one transaction; how many were queued."""
    sent = 0
    async with services.db.tx() as conn:
        for n in due:
            m, tally, p = n.member, n.tally, n.pace
            if not await reading_repo.record_nudge(conn, m.pk, month, p.behind, now):
                continue
            lang = lang_of(m, cfg)
            book = n.book
            suggestion = t(lang, f"reading.nudge.{n.suggestion}",
                           title=book.title if book else "", author=book.author if book else "")
            # A member who joined this year is told their pace counts from that day.
            key = "reading.nudge.text" if p.joined is None else "reading.nudge.text_joined"
            row = await notify.to_member(
                conn, cfg, m, key, now=now, kind="reading.nudge",
                dedupe_key=rules.nudge_dedupe_key(m.pk, month), name=m.name,
                share=round(p.share * 100), expected=p.expected_books, books=tally.books,
                monographs=tally.monographs, behind=p.behind, suggestion=suggestion,
                target=rules.TARGET_BOOKS, joined=p.joined.isoformat() if p.joined else "",
            )
            sent += int(row is not None)
    return sent
