"""One-time registration codes: issuing them, the deep links, and the printable invites.csv, QR
images and invites.pdf (A4 sheets of cut-out cards, one per member).

Every active member without a linked Telegram account has exactly one invite code (the
`invites` row keyed by member). Codes stay the same across runs so a printed sheet stays
valid; `rotate` replaces the unused ones (e.g. after a sheet went astray). A code that was used
but whose member has no Telegram account any more (HR reset the registration) is replaced.
What is printed is in the programme's language: the CSV's headers and roles, the cards' words.
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
from typing import TYPE_CHECKING

import aiosqlite

from bot.core.config import Config
from bot.core.i18n import DEFAULT_LANGUAGE, t
from storage.db import Database, open_database, private_dirs, private_file, ts
from storage.models import Role

if TYPE_CHECKING:  # the PDF writer (fpdf2) is imported only when cards are written
    from bot.documents.cards import Card

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
# invites.csv's columns; the headers are the catalog's `invites.csv.<column>`.
CSV_COLUMNS: tuple[str, ...] = ("member_id", "name", "group", "school", "role", "code", "link")
CSV_NAME, PDF_NAME, QR_DIR = "invites.csv", "invites.pdf", "qr"
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
    school: str | None = None


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
            "SELECT m.id, m.member_id, m.name, m.role, m.school, g.name AS group_name,"
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
                    school=row["school"] or None,
                )
            )
    return invites


def deep_link(bot_username: str, code: str) -> str:
    """The t.me link that opens the bot with the code as /start parameter."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}"


def qr_filename(member_id: str) -> str:
    """A safe file name for a member's QR code, whatever the member_id holds."""
    return re.sub(r"[^\w-]", "_", member_id) + ".png"


def csv_headers(lang: str) -> list[str]:
    """invites.csv's header row in `lang`."""
    return [t(lang, f"invites.csv.{column}") for column in CSV_COLUMNS]


def write_invites(
    invites: Iterable[Invite], bot_username: str, out_dir: Path, lang: str = DEFAULT_LANGUAGE
) -> Path:
    """Writes `out_dir/invites.csv` (UTF-8 with BOM, for Excel; headers and roles in `lang`)
    and `out_dir/qr/<member_id>.png`, owner-only (0600 files, 0700 folders): an unused code
    registers whoever types it first."""
    import segno  # only needed here

    out_dir = Path(out_dir)
    qr_dir = private_dirs(out_dir / QR_DIR)
    csv_path = private_file(out_dir / CSV_NAME)
    with csv_path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(csv_headers(lang))
        for inv in invites:
            link = deep_link(bot_username, inv.code)
            writer.writerow([inv.member_id, inv.name, inv.group or "", inv.school or "",
                             t(lang, f"role.{inv.role}"), inv.code, link])
            qr_path = private_file(qr_dir / qr_filename(inv.member_id))
            segno.make_qr(link, error="m").save(str(qr_path), scale=QR_SCALE, border=QR_BORDER)
    return csv_path


def invite_card(inv: Invite, bot_username: str, lang: str) -> Card:
    """What one member's printed card says: who it is for, the code, the QR and what to do."""
    from bot.documents.cards import Card

    bot = bot_username.lstrip("@")
    details = [t(lang, "invites.card.group", group=inv.group or t(lang, "register.no_group"))]
    if inv.school:
        details.append(t(lang, "invites.card.school", school=inv.school))
    return Card(
        heading=inv.name,
        code=inv.code,
        qr=deep_link(bot, inv.code),
        details=tuple(details),
        notes=(t(lang, "invites.card.step_open", bot=bot),
               t(lang, "invites.card.step_code", code=inv.code)),
    )


def write_invite_cards(
    invites: Iterable[Invite], bot_username: str, out_dir: Path, lang: str = DEFAULT_LANGUAGE
) -> Path:
    """Writes `out_dir/invites.pdf`: A4 sheets of cut-out cards, eight to a page, owner-only.
    Raises bot.documents.cards.NoFont without a Chinese font, after removing an earlier PDF
    (its codes may be rotated away)."""
    from bot.documents.cards import NoFont, write_cards

    path = Path(out_dir) / PDF_NAME
    cards = [invite_card(inv, bot_username, lang) for inv in invites]
    try:
        return write_cards(cards, path)
    except NoFont:
        path.unlink(missing_ok=True)
        raise


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
    """`studybot invites --out DIR [--rotate]`: codes for every unregistered member, printed
    (invites.csv, qr/, invites.pdf)."""
    from telegram.error import InvalidToken, TelegramError

    from bot.core.clock import SystemClock
    from bot.documents.cards import NoFont

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
    csv_path = write_invites(invites, username, out_dir, lang)
    print(
        t(
            lang,
            "invites.written",
            count=len(invites),
            csv=csv_path,
            qr=out_dir / QR_DIR,
            bot=username,
        )
    )
    try:
        pdf_path = write_invite_cards(invites, username, out_dir, lang)
    except NoFont:
        print(t(lang, "invites.card.no_font"), file=sys.stderr)
        return 1
    print(t(lang, "invites.card.pdf_written", pdf=pdf_path))
    return 0
