"""Notifications to people: rendered in the recipient's language, written to the outbox.

Call these inside the transaction that makes the change; the sender delivers after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Unpack

import aiosqlite

from bot.core.config import Config
from bot.core.i18n import normalize, t
from bot.core.text import split_payload
from storage import members as members_repo
from storage import outbox as outbox_repo
from storage.models import Member

Buttons = list[list[list[str]]]


async def enqueue(
    conn: aiosqlite.Connection, *, payload: dict[str, Any],
    **envelope: Unpack[outbox_repo.Envelope],
) -> int | None:
    """Queues `payload` for `chat_id`, cut to Telegram's limits first (bot.core.text.split_payload:
    a text over 4,096 UTF-16 units becomes several messages, a long caption keeps its file and
    the rest follows as text, the buttons ride on the last part); see
    storage.outbox.enqueue_parts for order, dedupe keys per part and the id returned. Every
    notification the bot queues goes through here."""
    return await outbox_repo.enqueue_parts(conn, parts=split_payload(payload), **envelope)


def message(lang: str, key: str, buttons: Buttons | None, extra: dict[str, Any] | None,
            params: dict[str, Any]) -> dict[str, Any]:
    """The outbox payload of catalog message `key` in `lang`: its text, the buttons when there
    are any, then whatever `extra` adds (a file, a parse mode)."""
    payload: dict[str, Any] = {"text": t(lang, key, **params)}
    if buttons:
        payload["buttons"] = buttons
    if extra:
        payload.update(extra)
    return payload


async def to_member(
    conn: aiosqlite.Connection,
    cfg: Config,
    member: Member,
    key: str,
    *,
    now: str,
    kind: str | None = None,
    buttons: Buttons | None = None,
    dedupe_key: str | None = None,
    not_before: str | None = None,
    extra: dict[str, Any] | None = None,
    **params: Any,
) -> int | None:
    """Queues message `key` for a member; returns the outbox id, or None if unreachable."""
    if member.telegram_id is None or not member.active:
        return None
    lang = normalize(member.language, cfg.program.language)
    return await enqueue(
        conn,
        chat_id=member.telegram_id,
        member_pk=member.pk,
        kind=kind or key,
        payload=message(lang, key, buttons, extra, params),
        now=now,
        dedupe_key=dedupe_key,
        not_before=not_before,
    )


async def to_hr(
    conn: aiosqlite.Connection,
    cfg: Config,
    key: str,
    *,
    now: str,
    kind: str | None = None,
    buttons: Buttons | None = None,
    dedupe_key: str | None = None,
    extra: dict[str, Any] | None = None,
    **params: Any,
) -> list[int]:
    """Queues a message for HR: the HR chat when configured, else every registered HR member."""
    ids: list[int] = []
    if cfg.program.hr_chat_id is not None:
        payload = message(cfg.program.language, key, buttons, extra, params)
        row = await enqueue(
            conn, chat_id=cfg.program.hr_chat_id, kind=kind or key, payload=payload, now=now,
            dedupe_key=dedupe_key,
        )
        return [row] if row else []
    for hr in await members_repo.hr_members(conn):
        row = await to_member(
            conn, cfg, hr, key, now=now, kind=kind, buttons=buttons, extra=extra,
            dedupe_key=f"{dedupe_key}:{hr.pk}" if dedupe_key else None, **params,
        )
        if row:
            ids.append(row)
    return ids


@dataclass(frozen=True, slots=True)
class Recipient:
    """Where one copy of a message goes, and in which language."""

    chat_id: int
    member_pk: int | None
    lang: str


async def hr_recipients(conn: aiosqlite.Connection, cfg: Config) -> list[Recipient]:
    """The HR chat when configured, else every registered HR member (as `to_hr`)."""
    if cfg.program.hr_chat_id is not None:
        return [Recipient(cfg.program.hr_chat_id, None, cfg.program.language)]
    return [
        Recipient(m.telegram_id, m.pk, normalize(m.language, cfg.program.language))
        for m in await members_repo.hr_members(conn)
        if m.telegram_id is not None and m.active
    ]
