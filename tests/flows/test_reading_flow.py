"""The reading flow on a temporary SQLite, no Telegram: logging books and outputs, duplicates,
the reviewer's accept and return, resubmitting, opening, the tables, the monthly nudge, and the
content of a message (text, or a document through a stand-in bot).

Each action: the happy path, a refusal that changes nothing (every reading table and the outbox
compared before and after), and the notification row it writes to the outbox.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from telegram.error import TelegramError

from bot.core.config import Config
from bot.core.services import Services
from bot.documents.tables import read_table
from bot.reading import content, flow
from bot.reading.books import COLUMNS, import_books, validate_books
from bot.reading.content import Content, Refusal, Upload
from bot.reading.flow import Draft
from bot.reading.rules import normalize_title
from storage import members as members_repo
from storage import reading as reading_repo
from storage.db import Database, open_database, ts
from storage.models import Member
from storage.reading import StoredFile
from tests.helpers import SMALL_ROSTER, TZ, load_roster, make_config

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=TZ)
YEAR = 2026
SAMPLE_BOOKS = Path(__file__).resolve().parents[2] / "bot" / "samples" / "books.csv"
REFLECTION = "读了这本书，我对课堂教学有了新的认识。" * 20  # 360 characters
# Telegram ids of the registered members; T2 never registered.
TELEGRAM = {"L1": 9001, "T1": 9002, "L2": 9004, "T3": 9005, "H1": 9006}
WATCHED = ("reading_submissions", "reading_events", "reading_nudges", "outbox")


@dataclasses.dataclass
class World:
    db: Database
    cfg: Config
    pk: dict[str, int]

    async def member(self, member_id: str) -> Member:
        async with self.db.read() as conn:
            found = await members_repo.by_pk(conn, self.pk[member_id])
        assert found is not None
        return found


async def _world(tmp_path: Path, review: str) -> World:
    cfg = make_config(tmp_path, reading={"review": review})
    await load_roster(cfg, SMALL_ROSTER, NOW - dt.timedelta(days=1))
    db = await open_database(cfg.db_path)
    entries, problems = validate_books(read_table(SAMPLE_BOOKS, COLUMNS))
    assert not problems
    await import_books(db, entries, NOW - dt.timedelta(days=1))
    async with db.tx() as conn:
        pk = {m.member_id: m.pk for m in await members_repo.all_members(conn)}
        for member_id, telegram_id in TELEGRAM.items():
            await members_repo.link_telegram(conn, pk[member_id], telegram_id, "zh", ts(NOW))
    return World(db, cfg, pk)


@pytest.fixture
async def auto(tmp_path: Path) -> AsyncIterator[World]:
    world = await _world(tmp_path, "auto")
    try:
        yield world
    finally:
        await world.db.close()


@pytest.fixture
async def required(tmp_path: Path) -> AsyncIterator[World]:
    world = await _world(tmp_path, "required")
    try:
        yield world
    finally:
        await world.db.close()


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the reading tables and the outbox."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with db.read() as conn:
        for table in WATCHED:
            rows = await conn.execute_fetchall(f"SELECT * FROM {table} ORDER BY rowid")
            out[table] = [tuple(r) for r in rows]
    return out


async def outbox(db: Database, kind: str) -> list[tuple[int, dict[str, Any]]]:
    """(chat id, payload) of every outbox row of `kind`."""
    async with db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT chat_id, payload FROM outbox WHERE kind = ? ORDER BY id", (kind,))
    return [(int(r[0]), json.loads(r[1])) for r in rows]


def button_data(payload: dict[str, Any]) -> list[str]:
    return [data for row in payload.get("buttons", []) for _text, data in row]


def book_draft(title: str = "给教师的建议", *, book_pk: int | None = None) -> Draft:
    return Draft(year=YEAR, kind="book", title=title, title_norm=normalize_title(title),
                 book_pk=book_pk, monograph=True, finished_on="2026-03-01")


TEXT = Content(REFLECTION, None)


async def log_book(w: World, member_id: str, title: str = "给教师的建议") -> int:
    saved = await flow.log_entry(w.db, w.cfg, w.pk[member_id], book_draft(title), TEXT, NOW)
    assert saved.outcome == "ok", saved
    async with w.db.read() as conn:
        subs = await reading_repo.for_member(conn, w.pk[member_id], YEAR)
    return max(s.id for s in subs)


def stored_file(w: World, name: str = "r.pdf", data: bytes = b"%PDF-1.4 reflection") -> Content:
    """A file as content.fetch_document leaves it under files_dir."""
    rel = Path("reading") / str(YEAR) / "x" / name
    path = w.cfg.files_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return Content(None, StoredFile(rel.as_posix(), name, len(data),
                                    hashlib.sha256(data).hexdigest()))


# -- logging ----------------------------------------------------------------------------------


async def test_log_entry_auto_mode_counts_at_once_and_tells_nobody(auto: World) -> None:
    saved = await flow.log_entry(auto.db, auto.cfg, auto.pk["T1"], book_draft(), TEXT, NOW)
    assert saved.outcome == "ok" and saved.tally is not None
    assert (saved.tally.books, saved.tally.monographs, saved.tally.pending) == (1, 1, 0)
    async with auto.db.read() as conn:
        subs = await reading_repo.for_member(conn, auto.pk["T1"], YEAR)
        events = await reading_repo.events(conn, subs[0].id)
    assert [(s.title, s.status, s.body) for s in subs] == [
        ("给教师的建议", "submitted", REFLECTION)
    ]
    assert [e["action"] for e in events] == ["submitted"]
    assert await outbox(auto.db, "reading.review") == []


async def test_log_entry_required_mode_tells_the_group_leader(required: World) -> None:
    sid = await log_book(required, "T1")
    rows = await outbox(required.db, "reading.review")
    assert [chat for chat, _ in rows] == [TELEGRAM["L1"]]
    payload = rows[0][1]
    assert "黄志强" in payload["text"] and "给教师的建议" in payload["text"]
    assert button_data(payload) == [f"rd:open:{sid}", f"rd:acc:{sid}", f"rd:ret:{sid}"]


async def test_a_leaders_own_work_goes_to_hr(required: World) -> None:
    await log_book(required, "L1")
    assert [chat for chat, _ in await outbox(required.db, "reading.review")] == [TELEGRAM["H1"]]


async def test_output_is_logged_with_its_kind(required: World) -> None:
    draft = Draft(year=YEAR, kind="management_analysis", title="我校的课后服务",
                  title_norm="我校的课后服务")
    saved = await flow.log_entry(required.db, required.cfg, required.pk["T3"], draft, TEXT, NOW)
    assert saved.outcome == "ok" and saved.tally is not None and saved.tally.pending == 1
    rows = await outbox(required.db, "reading.review")
    assert [chat for chat, _ in rows] == [TELEGRAM["L2"]]
    assert await flow.typed_output(required.db, required.pk["T3"], YEAR, "management_analysis",
                                   "我校的课后服务") is not None
    assert await flow.typed_output(required.db, required.pk["T3"], YEAR, "paper",
                                   "我校的课后服务") is None


async def test_a_duplicate_changes_nothing_and_its_file_is_removed(required: World) -> None:
    first = await log_book(required, "T1")
    before = await snapshot(required.db)
    upload = stored_file(required)
    assert upload.file is not None
    path = required.cfg.files_dir / upload.file.path
    saved = await flow.log_entry(required.db, required.cfg, required.pk["T1"], book_draft(),
                                 upload, NOW)
    assert saved.outcome == "duplicate" and saved.duplicate is not None
    assert saved.duplicate.id == first
    assert not path.exists()
    assert await snapshot(required.db) == before


async def test_hr_may_not_log_reading(auto: World) -> None:
    before = await snapshot(auto.db)
    upload = stored_file(auto)
    assert upload.file is not None
    saved = await flow.log_entry(auto.db, auto.cfg, auto.pk["H1"], book_draft(), upload, NOW)
    assert saved.outcome == "forbidden"
    assert not (auto.cfg.files_dir / upload.file.path).exists()
    assert await snapshot(auto.db) == before


# -- the catalog and the titles -----------------------------------------------------------------


async def test_search_choose_and_typed_titles(auto: World) -> None:
    found = await flow.search(auto.db, YEAR, "教师 建议")
    assert [b.book_id for b in found] == ["B01"]
    book = found[0]
    chosen = await flow.choose_book(auto.db, auto.pk["T1"], YEAR, book.pk)
    assert chosen is not None and chosen.book == book and chosen.duplicate is None
    assert await flow.choose_book(auto.db, auto.pk["T1"], YEAR + 1, book.pk) is None
    assert await flow.choose_book(auto.db, auto.pk["T1"], YEAR, 999999) is None
    typed = await flow.typed_book(auto.db, auto.pk["T1"], YEAR, book.title_norm)
    assert typed.book == book and typed.duplicate is None
    own = await flow.typed_book(auto.db, auto.pk["T1"], YEAR, "一本自己的书")
    assert own.book is None and own.duplicate is None
    sid = await log_book(auto, "T1")
    again = await flow.choose_book(auto.db, auto.pk["T1"], YEAR, book.pk)
    assert again is not None and again.duplicate is not None and again.duplicate.id == sid
    catalog, mine = await flow.shelf(auto.db, auto.pk["T1"], YEAR)
    assert book in catalog and [s.id for s in mine] == [sid]


# -- review: accept, return, resubmit ------------------------------------------------------------


async def test_accept_tells_the_author(required: World) -> None:
    sid = await log_book(required, "T1")
    result = await flow.accept(required.db, required.cfg, required.pk["L1"], sid, NOW)
    assert result.outcome == "ok"
    async with required.db.read() as conn:
        sub = await reading_repo.by_id(conn, sid)
    assert sub is not None and (sub.status, sub.reviewed_by) == ("accepted", required.pk["L1"])
    rows = await outbox(required.db, "reading.accepted")
    assert [chat for chat, _ in rows] == [TELEGRAM["T1"]]
    assert "罗宏伟" in rows[0][1]["text"]


@pytest.mark.parametrize("actor", ["T1", "T2", "L2", "T3"])
async def test_accept_by_someone_else_changes_nothing(required: World, actor: str) -> None:
    sid = await log_book(required, "T1")
    before = await snapshot(required.db)
    result = await flow.accept(required.db, required.cfg, required.pk[actor], sid, NOW)
    assert result.outcome == "forged"
    assert await snapshot(required.db) == before


async def test_a_second_accept_finds_it_accepted(required: World) -> None:
    sid = await log_book(required, "T1")
    assert (await flow.accept(required.db, required.cfg, required.pk["L1"], sid, NOW)).outcome \
        == "ok"
    before = await snapshot(required.db)
    again = await flow.accept(required.db, required.cfg, required.pk["H1"], sid, NOW)
    assert again.outcome == "already" and again.submission is not None
    assert again.submission.reviewer_name == "罗宏伟"
    assert await snapshot(required.db) == before
    missing = await flow.accept(required.db, required.cfg, required.pk["L1"], None, NOW)
    assert missing.outcome == "forged"


async def test_return_with_comment_and_resubmit(auto: World) -> None:
    sid = await log_book(auto, "T1")
    assert (await flow.may_return(auto.db, auto.pk["L1"], sid)).outcome == "ok"
    # HR returns it (a leader could too): the resubmission goes back to HR, not the leader.
    result = await flow.return_with_comment(auto.db, auto.cfg, auto.pk["H1"], sid, "请补充案例",
                                            NOW)
    assert result.outcome == "ok"
    rows = await outbox(auto.db, "reading.returned")
    assert [chat for chat, _ in rows] == [TELEGRAM["T1"]]
    assert "请补充案例" in rows[0][1]["text"] and "周敏" in rows[0][1]["text"]
    assert button_data(rows[0][1]) == [f"rd:resub:{sid}"]
    assert (await flow.may_return(auto.db, auto.pk["L1"], sid)).outcome == "already"

    assert await flow.may_resubmit(auto.db, auto.pk["T2"], sid) == ("forged", None)
    outcome, sub = await flow.may_resubmit(auto.db, auto.pk["T1"], sid)
    assert outcome == "ok" and sub is not None and sub.review_comment == "请补充案例"

    later = NOW + dt.timedelta(hours=2)
    saved = await flow.resubmit(auto.db, auto.cfg, auto.pk["T1"], sid,
                                Content(REFLECTION + "补充。", None), later)
    assert saved.outcome == "ok" and saved.tally is not None and saved.tally.books == 1
    async with auto.db.read() as conn:
        fresh = await reading_repo.by_id(conn, sid)
    assert fresh is not None and (fresh.status, fresh.revision) == ("submitted", 2)
    # In "auto" mode the resubmission goes to whoever returned it.
    rows = await outbox(auto.db, "reading.review")
    assert [chat for chat, _ in rows] == [TELEGRAM["H1"]]
    assert button_data(rows[0][1]) == [f"rd:open:{sid}", f"rd:ret:{sid}"]
    assert (await flow.may_resubmit(auto.db, auto.pk["T1"], sid))[0] == "not_returned"


async def test_return_by_someone_else_changes_nothing(auto: World) -> None:
    sid = await log_book(auto, "T1")
    before = await snapshot(auto.db)
    assert (await flow.may_return(auto.db, auto.pk["T2"], sid)).outcome == "forged"
    result = await flow.return_with_comment(auto.db, auto.cfg, auto.pk["L2"], sid, "不行", NOW)
    assert result.outcome == "forged"
    own = await flow.return_with_comment(auto.db, auto.cfg, auto.pk["T1"], sid, "不行", NOW)
    assert own.outcome == "forged"
    assert await snapshot(auto.db) == before


async def test_resubmitting_what_was_not_returned_changes_nothing(auto: World) -> None:
    sid = await log_book(auto, "T1")
    await flow.return_with_comment(auto.db, auto.cfg, auto.pk["L1"], sid, "请补充", NOW)
    before = await snapshot(auto.db)
    upload = stored_file(auto)
    assert upload.file is not None
    saved = await flow.resubmit(auto.db, auto.cfg, auto.pk["T2"], sid, upload, NOW)
    assert saved.outcome == "not_returned"
    assert not (auto.cfg.files_dir / upload.file.path).exists()
    assert await snapshot(auto.db) == before


# -- opening, the tables -------------------------------------------------------------------------


async def test_open_submission(required: World) -> None:
    sid = await log_book(required, "T1")
    own = await flow.open_submission(required.db, required.cfg, required.pk["T1"], sid)
    assert own is not None and not own.may_review and own.path is None and not own.missing
    leader = await flow.open_submission(required.db, required.cfg, required.pk["L1"], sid)
    assert leader is not None and leader.may_review
    for stranger in ("T2", "L2", "T3"):
        assert await flow.open_submission(required.db, required.cfg, required.pk[stranger],
                                          sid) is None
    assert await flow.open_submission(required.db, required.cfg, required.pk["L1"], None) is None


async def test_open_a_document_and_a_missing_one(auto: World) -> None:
    upload = stored_file(auto)
    assert upload.file is not None
    saved = await flow.log_entry(auto.db, auto.cfg, auto.pk["T1"], book_draft(), upload, NOW)
    assert saved.outcome == "ok"
    async with auto.db.read() as conn:
        sid = (await reading_repo.for_member(conn, auto.pk["T1"], YEAR))[0].id
    opened = await flow.open_submission(auto.db, auto.cfg, auto.pk["H1"], sid)
    assert opened is not None and opened.path == (auto.cfg.files_dir / upload.file.path).resolve()
    (auto.cfg.files_dir / upload.file.path).unlink()
    gone = await flow.open_submission(auto.db, auto.cfg, auto.pk["H1"], sid)
    assert gone is not None and gone.missing and gone.path is None


async def test_tables_for_whoever_may_see_them(auto: World) -> None:
    await log_book(auto, "T1")
    l1 = await auto.member("L1")
    assert l1.group_id is not None
    mine = await flow.group_table(auto.db, auto.pk["L1"], l1.group_id, YEAR)
    assert mine is not None
    members, subs = mine
    assert {m.member_id for m in members} == {"L1", "T1", "T2"} and len(subs) == 1
    assert await flow.group_table(auto.db, auto.pk["H1"], l1.group_id, YEAR) is not None
    assert await flow.group_table(auto.db, auto.pk["L2"], l1.group_id, YEAR) is None
    assert await flow.group_table(auto.db, auto.pk["T1"], l1.group_id, YEAR) is None
    assert await flow.group_table(auto.db, auto.pk["H1"], None, YEAR) is None

    detail = await flow.member_entries(auto.db, auto.pk["L1"], auto.pk["T1"], YEAR)
    assert detail is not None and detail[0].member_id == "T1" and len(detail[1]) == 1
    assert await flow.member_entries(auto.db, auto.pk["L2"], auto.pk["T1"], YEAR) is None
    assert await flow.member_entries(auto.db, auto.pk["L1"], auto.pk["H1"], YEAR) is None

    people, everyone = await flow.overview(auto.db, YEAR)
    assert {m.member_id for m in people} == {"L1", "T1", "T2", "L2", "T3"}
    assert len(everyone) == 1
    assert len(await flow.own_entries(auto.db, auto.pk["T1"], YEAR)) == 1


# -- the monthly nudge ---------------------------------------------------------------------------


def services(w: World) -> Services:
    # The due check reads only the config and the database.
    return cast(Services, SimpleNamespace(config=w.cfg, db=w.db))


async def test_nudge_once_a_month_to_readers_behind_pace(auto: World) -> None:
    for n in range(1, 4):  # T1 is on pace at the nudge day: three books by June 1st
        await log_book(auto, "T1", f"我自己的书{n}")
    early = dt.datetime(2026, 6, 1, 8, 59, tzinfo=TZ)
    assert await flow.nudge_due(services(auto), early) == 0
    assert await outbox(auto.db, "reading.nudge") == []
    at = dt.datetime(2026, 6, 1, 9, 0, tzinfo=TZ)
    # Registered and behind: L1, L2, T3 (T2 never registered; HR does not read).
    assert await flow.nudge_due(services(auto), at) == 3
    rows = await outbox(auto.db, "reading.nudge")
    assert sorted(chat for chat, _ in rows) == sorted(TELEGRAM[m] for m in ("L1", "L2", "T3"))
    before = await snapshot(auto.db)
    assert await flow.nudge_due(services(auto), at + dt.timedelta(days=3)) == 0
    assert await snapshot(auto.db) == before


async def test_no_nudge_at_night(auto: World) -> None:
    assert await flow.nudge_due(services(auto), dt.datetime(2026, 6, 1, 22, 30, tzinfo=TZ)) == 0
    assert await outbox(auto.db, "reading.nudge") == []


# -- content: a text, or a document ---------------------------------------------------------------


class FakeFile:
    def __init__(self, data: bytes | None) -> None:
        self.data = data

    async def download_to_drive(self, dest: Path) -> None:
        if self.data is None:
            raise TelegramError("File is too big")
        await asyncio.to_thread(Path(dest).write_bytes, self.data)


class FakeBot:
    """Stands in for telegram.Bot: getFile, then the download."""

    def __init__(self, data: bytes | None) -> None:
        self.data = data

    async def get_file(self, file_id: str) -> FakeFile:
        return FakeFile(self.data)


async def receive(cfg: Config, data: bytes | None, name: str, *, size: int | None = None,
                  min_chars: int = 10) -> Content | Refusal:
    doc = Upload("file-1", name, None, len(data or b"") if size is None else size)
    return await content.receive(cast(Any, FakeBot(data)), cfg, 7, YEAR, text=None, doc=doc,
                                 min_chars=min_chars)


def files_in(cfg: Config) -> list[Path]:
    return sorted(p for p in cfg.files_dir.rglob("*") if p.is_file())


async def test_text_content(auto: World) -> None:
    assert content.check_text(f"  {REFLECTION}  ", 300) == Content(REFLECTION, None)
    short = content.check_text("太短了", 300)
    assert isinstance(short, Refusal) and short.key == "reading.reflection.too_short"
    assert short.params == {"count": 3, "min": 300}
    long = content.check_text("字" * 4001, 300)
    assert isinstance(long, Refusal) and long.key == "reading.reflection.too_long"
    nothing = await content.receive(cast(Any, FakeBot(b"")), auto.cfg, 7, YEAR, text=None,
                                    doc=None, min_chars=300)
    assert nothing == Refusal("reading.reflection.text_or_document")


async def test_a_document_is_stored_and_hashed(auto: World) -> None:
    data = b"%PDF-1.4 my reflection"
    got = await receive(auto.cfg, data, "心得.pdf")
    assert isinstance(got, Content) and got.body is None and got.file is not None
    assert got.file.name == "心得.pdf" and got.file.size == len(data)
    assert got.file.sha256 == hashlib.sha256(data).hexdigest()
    assert got.file.path.startswith(f"reading/{YEAR}/7/") and got.file.path.endswith(".pdf")
    assert (auto.cfg.files_dir / got.file.path).read_bytes() == data
    content.discard(auto.cfg, got)
    assert files_in(auto.cfg) == []


@pytest.mark.parametrize(("data", "name", "size", "key"), [
    (b"x", "virus.exe", None, "reading.doc.type"),
    (b"x", "big.pdf", 21 * 1024 * 1024, "reading.doc.too_big"),
    (None, "refused.pdf", None, "reading.doc.too_big"),
    (b"", "empty.pdf", None, "reading.doc.empty"),
    (b"\xff\xfe\xfa\xfb" * 10, "bad.txt", None, "reading.doc.encoding"),
    ("短".encode(), "short.txt", None, "reading.reflection.too_short"),
])
async def test_a_refused_document_leaves_no_file(
    auto: World, data: bytes | None, name: str, size: int | None, key: str
) -> None:
    got = await receive(auto.cfg, data, name, size=size)
    assert isinstance(got, Refusal) and got.key == key
    assert files_in(auto.cfg) == []
