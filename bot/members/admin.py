"""HR's member administration: each change in one transaction, with its audit row and the
notifications to the people it concerns.

Every function re-reads the current state and refuses (returns an `AdminError` reason key)
when the change no longer makes sense — a stale confirm button changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import aiosqlite

from bot.core.config import Config
from bot.delivery import notify
from bot.members.invites import deep_link, reissue_invite
from storage import audit as audit_repo
from storage import members as members_repo
from storage.db import ts
from storage.models import Member


class AdminError(Exception):
    """A refused change; `key` is the catalog key of the reason."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Done:
    """What happened, for the confirmation HR sees (catalog key and its parameters)."""

    key: str
    params: dict[str, str]


def _snapshot(m: Member) -> dict[str, object]:
    return {"role": m.role, "group": m.group_name, "active": m.active,
            "telegram_id": m.telegram_id}


async def _member(conn: aiosqlite.Connection, pk: int) -> Member:
    member = await members_repo.by_pk(conn, pk)
    if member is None:
        raise AdminError("admin.gone")
    return member


async def _group_name(conn: aiosqlite.Connection, group_id: int) -> str:
    async with conn.execute("SELECT name FROM groups WHERE id = ?", (group_id,)) as cur:
        row = await cur.fetchone()
    if row is None:
        raise AdminError("admin.gone")
    return str(row[0])


async def set_active(
    conn: aiosqlite.Connection, cfg: Config, actor: Member, pk: int, active: bool,
    now: dt.datetime,
) -> Done:
    member = await _member(conn, pk)
    if member.active == active:
        raise AdminError("admin.no_change")
    if not active and member.role == "leader":
        raise AdminError("admin.leader_first")
    at = ts(now)
    await conn.execute(
        "UPDATE members SET active = ?, updated_at = ? WHERE id = ?", (int(active), at, pk)
    )
    after = await _member(conn, pk)
    await audit_repo.record(
        conn, at=at, actor_pk=actor.pk, action="admin.reactivate" if active else "admin.deactivate",
        subject=f"member:{member.member_id}", before=_snapshot(member), after=_snapshot(after),
    )
    key = "admin.told_reactivated" if active else "admin.told_deactivated"
    # The member is told even when deactivated (the notice goes before the flag matters).
    await notify.to_member(conn, cfg, after if active else member, key, now=at, kind=key)
    if member.group_id is not None:
        leader = await members_repo.group_leader(conn, member.group_id)
        if leader is not None and leader.pk != member.pk:
            await notify.to_member(
                conn, cfg, leader, "admin.leader_told_active" if active else
                "admin.leader_told_inactive", now=at, name=member.name,
            )
    return Done("admin.done_reactivated" if active else "admin.done_deactivated",
                {"name": member.name})


async def move(
    conn: aiosqlite.Connection, cfg: Config, actor: Member, pk: int, group_id: int,
    now: dt.datetime,
) -> Done:
    member = await _member(conn, pk)
    target = await _group_name(conn, group_id)
    if member.role != "trainee":
        raise AdminError("admin.move_trainees_only")
    if member.group_id == group_id:
        raise AdminError("admin.no_change")
    at = ts(now)
    old_leader = (await members_repo.group_leader(conn, member.group_id)
                  if member.group_id is not None else None)
    await conn.execute(
        "UPDATE members SET group_id = ?, updated_at = ? WHERE id = ?", (group_id, at, pk)
    )
    after = await _member(conn, pk)
    await audit_repo.record(
        conn, at=at, actor_pk=actor.pk, action="admin.move",
        subject=f"member:{member.member_id}", before=_snapshot(member), after=_snapshot(after),
    )
    await notify.to_member(conn, cfg, after, "admin.told_moved", now=at, group=target)
    new_leader = await members_repo.group_leader(conn, group_id)
    for leader, key in ((old_leader, "admin.leader_told_left"),
                        (new_leader, "admin.leader_told_joined")):
        if leader is not None:
            await notify.to_member(conn, cfg, leader, key, now=at, name=member.name,
                                   old=member.group_name or "", group=target)
    return Done("admin.done_moved", {"name": member.name, "group": target})


async def change_leader(
    conn: aiosqlite.Connection, cfg: Config, actor: Member, group_id: int, new_pk: int,
    now: dt.datetime,
) -> Done:
    group = await _group_name(conn, group_id)
    new = await _member(conn, new_pk)
    if new.group_id != group_id or not new.active:
        raise AdminError("admin.not_in_group")
    old = await members_repo.group_leader(conn, group_id)
    if old is not None and old.pk == new.pk:
        raise AdminError("admin.no_change")
    at = ts(now)
    if old is not None:
        await conn.execute(
            "UPDATE members SET role = 'trainee', updated_at = ? WHERE id = ?", (at, old.pk)
        )
    await conn.execute(
        "UPDATE members SET role = 'leader', updated_at = ? WHERE id = ?", (at, new.pk)
    )
    await audit_repo.record(
        conn, at=at, actor_pk=actor.pk, action="admin.leader", subject=f"group:{group}",
        before={"leader": old.member_id if old else None}, after={"leader": new.member_id},
    )
    for person in await members_repo.group_members(conn, group_id):
        key = "admin.told_now_leader" if person.pk == new.pk else "admin.told_new_leader"
        await notify.to_member(conn, cfg, person, key, now=at, name=new.name, group=group)
    return Done("admin.done_leader", {"name": new.name, "group": group})


async def reissue(
    conn: aiosqlite.Connection, cfg: Config, actor: Member, pk: int, bot_username: str,
    now: dt.datetime,
) -> Done:
    """A new one-time code; a registered member's old Telegram account is unlinked, so the
    person can register again from a new phone or account."""
    member = await _member(conn, pk)
    at = ts(now)
    code = await reissue_invite(conn, pk, now)
    if member.telegram_id is not None:
        await conn.execute(
            "UPDATE members SET telegram_id = NULL, registered_at = NULL, updated_at = ?"
            " WHERE id = ?", (at, pk),
        )
    after = await _member(conn, pk)
    await audit_repo.record(
        conn, at=at, actor_pk=actor.pk, action="admin.reissue",
        subject=f"member:{member.member_id}", before=_snapshot(member), after=_snapshot(after),
    )
    return Done("admin.done_reissued", {
        "name": member.name, "code": code, "link": deep_link(bot_username, code),
    })
