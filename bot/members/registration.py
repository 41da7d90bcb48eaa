"""Registration: redeeming a one-time invite code, with a limit on wrong tries."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from bot.core.config import Config
from bot.delivery import notify
from storage import members as members_repo
from storage import registration as reg_repo
from storage.db import Database, parse_ts, ts
from storage.models import Member

CODE_SHAPE = re.compile(r"^[A-Za-z0-9]{6,12}$")

Outcome = Literal["ok", "wrong", "used", "too_many"]


@dataclass(frozen=True)
class Redemption:
    outcome: Outcome
    member: Member | None = None
    tries_left: int = 0
    retry_at: dt.datetime | None = None


def looks_like_code(text: str) -> bool:
    return bool(CODE_SHAPE.match(text.strip()))


async def redeem(
    db: Database, cfg: Config, code: str, telegram_id: int, language: str, now: dt.datetime
) -> Redemption:
    """Links `telegram_id` to the member holding `code`, in one transaction.

    The leader of a trainee's group is notified through the outbox in the same transaction.
    """
    window = dt.timedelta(minutes=cfg.registration.wrong_code_window_minutes)
    limit = cfg.registration.max_wrong_codes
    now_s = ts(now)
    async with db.tx() as conn:
        wrong = await reg_repo.wrong_attempts_since(conn, telegram_id, ts(now - window))
        if len(wrong) >= limit:
            return Redemption("too_many", retry_at=parse_ts(wrong[-limit]) + window)
        invite = await reg_repo.invite_by_code(conn, code.strip().upper())
        usable = invite is not None and invite["active"] and invite["telegram_id"] is None
        if invite is None or not usable or invite["used_at"] is not None:
            await reg_repo.record_attempt(conn, telegram_id, now_s, ok=False)
            wrong.append(now_s)
            left = limit - len(wrong)
            if left <= 0:
                return Redemption("too_many", retry_at=parse_ts(wrong[-limit]) + window)
            outcome: Outcome = "wrong" if invite is None or not invite["active"] else "used"
            return Redemption(outcome, tries_left=left)
        await members_repo.link_telegram(conn, invite["member_pk"], telegram_id, language, now_s)
        await reg_repo.mark_used(conn, invite["member_pk"], telegram_id, now_s)
        await reg_repo.record_attempt(conn, telegram_id, now_s, ok=True)
        member = await members_repo.by_pk(conn, invite["member_pk"])
        assert member is not None
        if member.role == "trainee" and member.group_id is not None:
            leader = await members_repo.group_leader(conn, member.group_id)
            if leader is not None:
                await notify.to_member(
                    conn, cfg, leader, "register.leader_notice", now=now_s,
                    kind="register.leader_notice",
                    dedupe_key=f"registered:{member.pk}:{telegram_id}",
                    name=member.name, member_id=member.member_id, school=member.school or "—",
                    group=member.group_name or "",
                )
    return Redemption("ok", member=member)
