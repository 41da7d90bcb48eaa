"""A member's own record as /me and /lang use it: the group's leader, and the chosen language
(stored in one transaction; the command menu then follows it).
"""

from __future__ import annotations

import datetime as dt

from bot.core.i18n import LANGUAGES
from storage import members as members_repo
from storage.db import Database, ts
from storage.models import Member


async def group_leader(db: Database, group_id: int) -> Member | None:
    """The group's active leader, if it has one."""
    async with db.read() as conn:
        return await members_repo.group_leader(conn, group_id)


async def set_language(db: Database, member_pk: int, code: str, now: dt.datetime) -> Member | None:
    """Stores the member's language; returns the updated record (None: not a language the bot
    speaks, or no such member — nothing changed)."""
    if code not in LANGUAGES:
        return None
    async with db.tx() as conn:
        if await members_repo.by_pk(conn, member_pk) is None:
            return None
        await members_repo.set_language(conn, member_pk, code, ts(now))
        return await members_repo.by_pk(conn, member_pk)
