"""HR's announcements (/announce) applied to the database: who an audience reaches, sending one
(the announcement and a message to every registered recipient, queued in the outbox in one
transaction), and the progress line's text as delivery goes on.

No Telegram here: handlers/announce.py asks, previews, and edits the progress line with what
this module returns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.core.config import Config
from bot.core.i18n import normalize, t
from bot.delivery import notify
from storage import announcements as ann_repo
from storage import members as members_repo
from storage.db import Database, ts

AUDIENCES = ("all", "leaders", "group")


@dataclass(frozen=True)
class Draft:
    """An announcement HR has written: to whom (a group's id for "group") and what."""

    audience: str
    group_id: int | None
    text: str


@dataclass(frozen=True)
class Reach:
    """How many people an audience has, and how many of them the bot can write to."""

    count: int
    reachable: int


async def group_name(db: Database, group_id: int) -> str | None:
    """The group's name, None when there is no such group."""
    async with db.read() as conn:
        return dict(await members_repo.groups(conn)).get(group_id)


async def reach(db: Database, audience: str, group_id: int | None) -> Reach:
    async with db.read() as conn:
        people = await ann_repo.audience(conn, audience, group_id)
    return Reach(len(people), sum(1 for m in people if m.telegram_id is not None))


async def send(
    db: Database, cfg: Config, author_pk: int, draft: Draft, now: dt.datetime,
    progress_at: tuple[int, int] | None = None,
) -> int | None:
    """Records the announcement and queues it to every registered member of the audience, in
    one transaction; `progress_at` (chat, message) is where its progress line is kept. None
    (nothing sent) when the author is no longer an active HR member."""
    at = ts(now)
    async with db.tx() as conn:
        author = await members_repo.by_pk(conn, author_pk)
        if author is None or not author.is_hr or not author.active:
            return None
        people = await ann_repo.audience(conn, draft.audience, draft.group_id)
        registered = [m for m in people if m.telegram_id is not None]
        ann_id = await ann_repo.create(
            conn, author_pk=author.pk, kind=draft.audience, group_id=draft.group_id,
            text=draft.text, recipients=len(people),
            not_registered=len(people) - len(registered), now=at,
        )
        for person in registered:
            await notify.to_member(
                conn, cfg, person, "announce.message", now=at, kind=f"announce:{ann_id}",
                dedupe_key=f"announce:{ann_id}:{person.pk}", author=author.name,
                text=draft.text,
            )
        if progress_at is not None:
            await ann_repo.set_progress_message(conn, ann_id, *progress_at)
    return ann_id


@dataclass(frozen=True)
class ProgressLine:
    """The progress line of an announcement: where it is, its text, whether it is final."""

    chat_id: int
    message_id: int
    text: str
    done: bool


async def progress_line(db: Database, ann_id: int, default_language: str) -> ProgressLine | None:
    """sent / pending / unreachable so far, in the author's language (None: no such one)."""
    async with db.read() as conn:
        row = await (await conn.execute(
            "SELECT a.*, m.language FROM announcements a JOIN members m ON m.id = a.author_pk"
            " WHERE a.id = ?", (ann_id,),
        )).fetchone()
        if row is None:
            return None
        progress = await ann_repo.progress(conn, ann_id)
    lang = normalize(row["language"], default_language)
    key = "announce.done" if progress.done else "announce.progress"
    text = t(
        lang, key, sent=progress.sent, pending=progress.pending,
        unreachable=progress.unreachable + progress.failed + row["not_registered"],
        total=row["recipients"],
    )
    return ProgressLine(row["progress_chat_id"], row["progress_message_id"], text, progress.done)


async def finish(db: Database, ann_id: int, now: dt.datetime) -> None:
    """Marks the announcement's progress line final (nothing left to follow)."""
    async with db.tx() as conn:
        await ann_repo.finish(conn, ann_id, ts(now))


async def unfinished(db: Database) -> list[int]:
    """The announcements whose progress line is not final yet."""
    async with db.read() as conn:
        return [int(row["id"]) for row in await ann_repo.unfinished(conn)]
