"""HR's member administration (/admin): what its menus show, and each change in one
transaction with its audit row and the notifications to the people it concerns.

Every change re-reads the current state and refuses (raises an `AdminError` with a reason key)
when it no longer makes sense — a stale confirm button changes nothing. `perform` is the one
call a confirmed press makes: it checks the presser is HR from the database, applies the
operation and says whose command menus changed with their role.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiosqlite

from bot.core import pending
from bot.core.config import Config
from bot.delivery import notify
from bot.members.invites import deep_link, reissue_invite
from storage import audit as audit_repo
from storage import members as members_repo
from storage.db import Database, ts
from storage.models import Member

OPS = ("off", "on", "mv", "ld", "inv")
GROUP_OPS = ("mv", "ld")  # the operations that name a group as well as a member


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


# -- the one call a confirmed press makes --------------------------------------------------------


@dataclass(frozen=True)
class Performed:
    """A change made: what HR is told, and the people whose role (so command menu) changed."""

    done: Done
    role_changed: list[Member] = field(default_factory=list)


def valid_op(op: str, pk: int | None, group_id: int | None) -> bool:
    """Whether a press's operation and ids make sense at all (before the database is asked)."""
    return op in OPS and pk is not None and (op not in GROUP_OPS or group_id is not None)


Op = Callable[[aiosqlite.Connection, Config, Member, int, int | None, str, dt.datetime],
              Awaitable[Done]]


async def _op_active(conn: aiosqlite.Connection, cfg: Config, actor: Member, pk: int,
                     group_id: int | None, bot_username: str, now: dt.datetime) -> Done:
    return await set_active(conn, cfg, actor, pk, True, now)


async def _op_inactive(conn: aiosqlite.Connection, cfg: Config, actor: Member, pk: int,
                       group_id: int | None, bot_username: str, now: dt.datetime) -> Done:
    return await set_active(conn, cfg, actor, pk, False, now)


async def _op_move(conn: aiosqlite.Connection, cfg: Config, actor: Member, pk: int,
                   group_id: int | None, bot_username: str, now: dt.datetime) -> Done:
    assert group_id is not None
    return await move(conn, cfg, actor, pk, group_id, now)


async def _op_leader(conn: aiosqlite.Connection, cfg: Config, actor: Member, pk: int,
                     group_id: int | None, bot_username: str, now: dt.datetime) -> Done:
    assert group_id is not None
    return await change_leader(conn, cfg, actor, group_id, pk, now)


async def _op_invite(conn: aiosqlite.Connection, cfg: Config, actor: Member, pk: int,
                     group_id: int | None, bot_username: str, now: dt.datetime) -> Done:
    return await reissue(conn, cfg, actor, pk, bot_username, now)


_OPS: dict[str, Op] = {
    "on": _op_active, "off": _op_inactive, "mv": _op_move, "ld": _op_leader, "inv": _op_invite,
}


async def perform(
    db: Database, cfg: Config, actor_pk: int, op: str, pk: int | None, group_id: int | None,
    bot_username: str, now: dt.datetime,
) -> Performed:
    """Carries out a confirmed operation in one transaction; raises AdminError (the presser is
    no longer HR: "error.forged"; or why the change no longer makes sense)."""
    if pk is None or not valid_op(op, pk, group_id):
        raise AdminError("error.forged")
    async with db.tx() as conn:
        actor = await members_repo.by_pk(conn, actor_pk)
        if actor is None or not actor.is_hr or not actor.active:
            raise AdminError("error.forged")
        old = (await members_repo.group_leader(conn, group_id)
               if op == "ld" and group_id is not None else None)
        done = await _OPS[op](conn, cfg, actor, pk, group_id, bot_username, now)
        changed: list[Member] = []
        if op == "ld":
            # Both people's command menus change with their role.
            for person_pk in (pk, *([old.pk] if old is not None else [])):
                person = await members_repo.by_pk(conn, person_pk)
                if person is not None and person.telegram_id is not None:
                    changed.append(person)
    return Performed(done, changed)


# -- what the menus show -------------------------------------------------------------------------


async def groups(db: Database) -> list[tuple[int, str]]:
    """Every group as (id, name), by name."""
    async with db.read() as conn:
        return await members_repo.groups(conn)


async def group_roster(db: Database, group_id: int) -> list[Member]:
    """Everyone ever in the group, inactive members included."""
    async with db.read() as conn:
        return await members_repo.group_roster(conn, group_id)


async def member(db: Database, pk: int) -> Member | None:
    async with db.read() as conn:
        return await members_repo.by_pk(conn, pk)


async def subject(db: Database, pk: int, group_id: int | None) -> tuple[Member, str | None]:
    """The member (and the group, when the operation names one) a confirmation is about;
    AdminError("admin.gone") when either no longer exists."""
    async with db.read() as conn:
        found = await members_repo.by_pk(conn, pk)
        group = (dict(await members_repo.groups(conn)).get(group_id)
                 if group_id is not None else None)
    if found is None or (group_id is not None and group is None):
        raise AdminError("admin.gone")
    return found, group


async def unreachable(db: Database) -> list[Member]:
    """Active members the bot cannot reach: never started it, or blocked it."""
    async with db.read() as conn:
        return await members_repo.unreachable(conn)


async def pending_items(db: Database, lang: str) -> list[str]:
    """One line for everything waiting for HR's decision, from every feature's provider."""
    async with db.read() as conn:
        return await pending.gather(conn, lang)
