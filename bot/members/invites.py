"""One-time registration codes: issuing them, the deep links, and the printable invites.csv + QR.

Every active member without a linked Telegram account has exactly one invite code (the
`invites` row keyed by member). Codes stay the same across runs so a printed sheet stays
valid; `rotate` replaces the unused ones (e.g. after a sheet went astray). A code that was used
but whose member has no Telegram account any more (HR reset the registration) is replaced.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import re
import secrets
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.core.config import Config
from bot.core.i18n import t
from storage.db import Database, open_database, private_dirs, private_file, ts
from storage.models import Role

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CSV_COLUMNS: tuple[str, ...] = ("member_id", "name", "group", "role", "code", "link")
QR_SCALE = 12  # pixels per module: ~4 cm wide at 300 dpi for a typical link
QR_BORDER = 4


@dataclass(frozen=True, slots=True)
class Invite:
    """A member's current registration code."""

    member_id: str
    name: str
    group: str | None
    role: Role
    code: str


def new_code() -> str:
    """A random code without look-alike characters (no 0/O, 1/I)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """What a user typed, in the form codes are stored (upper case, no spaces or dashes)."""
    return re.sub(r"[\s-]", "", text).upper()


async def _code_taken(conn: aiosqlite.Connection, code: str) -> bool:
    async with conn.execute("SELECT 1 FROM invites WHERE code = ?", (code,)) as cur:
        return await cur.fetchone() is not None


async def _fresh_code(conn: aiosqlite.Connection, avoid: set[str] | None = None) -> str:
    while True:
        code = new_code()
        if (avoid is None or code not in avoid) and not await _code_taken(conn, code):
            return code


async def _store(conn: aiosqlite.Connection, member_pk: int, code: str, at: str) -> None:
    await conn.execute(
        "INSERT INTO invites (member_pk, code, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT(member_pk) DO UPDATE SET code = excluded.code,"
        " created_at = excluded.created_at, used_at = NULL, used_by = NULL",
        (member_pk, code, at),
    )


async def reissue_invite(conn: aiosqlite.Connection, member_pk: int, now: dt.datetime) -> str:
    """Gives one member a new code (the old one stops working); call inside a transaction."""
    code = await _fresh_code(conn)
    await _store(conn, member_pk, code, ts(now))
    return code


async def ensure_invites(
    db: Database, now: dt.datetime, *, rotate: bool = False
) -> list[Invite]:
    """The invite of every active, unregistered member, issuing codes where missing."""
    at = ts(now)
    invites: list[Invite] = []
    async with db.tx() as conn:
        rows = await conn.execute_fetchall(
            "SELECT m.id, m.member_id, m.name, m.role, g.name AS group_name,"
            " i.code, i.used_at FROM members m"
            " LEFT JOIN groups g ON g.id = m.group_id"
            " LEFT JOIN invites i ON i.member_pk = m.id"
            " WHERE m.active = 1 AND m.telegram_id IS NULL ORDER BY m.member_id"
        )
        issued: set[str] = set()
        for row in rows:
            code = row["code"]
            if code is None or rotate or row["used_at"] is not None:
                code = await _fresh_code(conn, issued)
                await _store(conn, int(row["id"]), code, at)
            issued.add(code)
            invites.append(
                Invite(
                    member_id=row["member_id"],
                    name=row["name"],
                    group=row["group_name"],
                    role=row["role"],
                    code=code,
                )
            )
    return invites


def deep_link(bot_username: str, code: str) -> str:
    """The t.me link that opens the bot with the code as /start parameter."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}"


def qr_filename(member_id: str) -> str:
    """A safe file name for a member's QR code, whatever the member_id holds."""
    return re.sub(r"[^\w-]", "_", member_id) + ".png"


def write_invites(invites: Iterable[Invite], bot_username: str, out_dir: Path) -> Path:
    """Writes `out_dir/invites.csv` (UTF-8 with BOM, for Excel) and `out_dir/qr/<member_id>.png`,
    owner-only (0600 files, 0700 folders): an unused code registers whoever types it first."""
    import segno  # only needed here

    out_dir = Path(out_dir)
    qr_dir = private_dirs(out_dir / "qr")
    csv_path = private_file(out_dir / "invites.csv")
    with csv_path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for inv in invites:
            link = deep_link(bot_username, inv.code)
            writer.writerow([inv.member_id, inv.name, inv.group or "", inv.role, inv.code, link])
            qr_path = private_file(qr_dir / qr_filename(inv.member_id))
            segno.make_qr(link, error="m").save(str(qr_path), scale=QR_SCALE, border=QR_BORDER)
    return csv_path


async def _username_from_telegram(cfg: Config) -> str:
    """The bot's username via getMe; raises telegram.error.TelegramError."""
    import telegram

    async with telegram.Bot(
        cfg.telegram.token,
        base_url=cfg.telegram.base_url,
        base_file_url=cfg.telegram.base_file_url,
    ) as bot:
        return str(bot.username)


async def cli_invites(args: argparse.Namespace, cfg: Config) -> int:
    """`studybot invites --out DIR [--rotate]`: codes for every unregistered member, printed."""
    from telegram.error import InvalidToken, TelegramError

    from bot.core.clock import SystemClock

    lang = cfg.program.language
    username = cfg.telegram.username.strip().lstrip("@")
    if not username:
        token = cfg.telegram.token
        if not token:
            print(t(lang, "invites.no_username", source=cfg.source), file=sys.stderr)
            return 2
        try:
            username = (await _username_from_telegram(cfg)).lstrip("@")
        except TelegramError as exc:
            reason = str(exc).replace(token, "***")
            print(t(lang, "invites.get_me_failed", reason=reason), file=sys.stderr)
            return 2 if isinstance(exc, InvalidToken) else 1
    now = SystemClock(cfg.tz).now()
    db = await open_database(cfg.db_path)
    try:
        invites = await ensure_invites(db, now, rotate=bool(args.rotate))
    finally:
        await db.close()
    out_dir: Path = args.out
    csv_path = write_invites(invites, username, out_dir)
    print(
        t(
            lang,
            "invites.written",
            count=len(invites),
            csv=csv_path,
            qr=out_dir / "qr",
            bot=username,
        )
    )
    return 0
