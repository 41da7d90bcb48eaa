"""Invite codes: issuing, stability, rotation, reissue, invites.csv + QR files, the cards PDF,
and the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import re
import sqlite3
from pathlib import Path
from types import TracebackType
from zoneinfo import ZoneInfo

import pytest
import telegram
from pypdf import PageObject, PdfReader

from bot.cli import main
from bot.core.i18n import t
from bot.documents.tables import TableRow
from bot.members.importer import import_roster, validate_roster
from bot.members.invites import (
    ALPHABET,
    Invite,
    csv_headers,
    deep_link,
    ensure_invites,
    new_code,
    normalize_code,
    qr_filename,
    reissue_invite,
    write_invite_cards,
    write_invites,
)
from storage.db import Database, ts
from tests.helpers import write_config_file

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
T1 = T0 + dt.timedelta(hours=5)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BOM = b"\xef\xbb\xbf"

ROSTER = [
    ("L1", "罗宏伟", "leader", "第一组"),
    ("T1", "黄志强", "trainee", "第一组"),
    ("L2", "陈静", "leader", "第二组"),
    ("T2", "王芳", "trainee", "第二组"),
    ("H1", "周敏", "hr", ""),
]


def roster_rows(members: list[tuple[str, str, str, str]]) -> list[TableRow]:
    return [
        TableRow(
            n,
            {"member_id": m, "name": name, "role": role, "group": g,
             "school": "一中" if g else "", "stage": ""},
        )
        for n, (m, name, role, g) in enumerate(members, start=2)
    ]


async def load(db: Database, members: list[tuple[str, str, str, str]] = ROSTER) -> None:
    entries, problems = validate_roster(roster_rows(members))
    assert problems == []
    await import_roster(db, entries, T0)


@pytest.fixture
async def db(db: Database) -> Database:
    """The shared empty database (tests/conftest.py) with ROSTER imported."""
    await load(db)
    return db


async def register(db: Database, member_id: str, telegram_id: int) -> None:
    async with db.tx() as conn:
        await conn.execute(
            "UPDATE members SET telegram_id = ?, registered_at = ? WHERE member_id = ?",
            (telegram_id, ts(T0), member_id),
        )
        await conn.execute(
            "UPDATE invites SET used_at = ?, used_by = ? WHERE member_pk ="
            " (SELECT id FROM members WHERE member_id = ?)",
            (ts(T0), telegram_id, member_id),
        )


def codes(invites: list[Invite]) -> dict[str, str]:
    return {inv.member_id: inv.code for inv in invites}


# --- codes -----------------------------------------------------------------------------------


def test_new_code_shape() -> None:
    seen = {new_code() for _ in range(2000)}
    assert len(seen) == 2000
    for code in seen:
        assert len(code) == 8 and set(code) <= set(ALPHABET)
    assert not set("01IO") & set(ALPHABET)


@pytest.mark.parametrize(
    ("typed", "code"),
    [("abcd2345", "ABCD2345"), (" ABCD-2345 ", "ABCD2345"), ("AB CD 23 45", "ABCD2345")],
)
def test_normalize_code(typed: str, code: str) -> None:
    assert normalize_code(typed) == code


@pytest.mark.parametrize(
    ("username", "link"),
    [
        ("testbot", "https://t.me/testbot?start=ABCD2345"),
        ("@testbot", "https://t.me/testbot?start=ABCD2345"),
    ],
)
def test_deep_link(username: str, link: str) -> None:
    assert deep_link(username, "ABCD2345") == link


@pytest.mark.parametrize(
    ("member_id", "name"),
    [("M001", "M001.png"), ("a/../b", "a____b.png"), ("工号-7", "工号-7.png")],
)
def test_qr_filename_is_safe(member_id: str, name: str) -> None:
    assert qr_filename(member_id) == name


# --- ensure / rotate / reissue ---------------------------------------------------------------


async def test_every_active_unregistered_member_gets_a_stable_code(db: Database) -> None:
    first = await ensure_invites(db, T0)
    assert [i.member_id for i in first] == ["H1", "L1", "L2", "T1", "T2"]
    assert first[1] == Invite("L1", "罗宏伟", "第一组", "leader", first[1].code, "一中")
    assert first[0].group is None and first[0].school is None
    assert len(set(codes(first).values())) == 5
    again = await ensure_invites(db, T1)
    assert codes(again) == codes(first)
    row = await db.fetchone("SELECT COUNT(*) FROM invites")
    assert row is not None and row[0] == 5


async def test_rotate_replaces_unused_codes(db: Database) -> None:
    first = codes(await ensure_invites(db, T0))
    rotated = codes(await ensure_invites(db, T1, rotate=True))
    assert rotated.keys() == first.keys()
    assert all(rotated[m] != first[m] for m in first)
    assert codes(await ensure_invites(db, T1)) == rotated
    row = await db.fetchone("SELECT created_at FROM invites LIMIT 1")
    assert row is not None and row[0] == ts(T1)


async def test_registered_members_get_no_invite(db: Database) -> None:
    first = codes(await ensure_invites(db, T0))
    await register(db, "T1", 555)
    later = codes(await ensure_invites(db, T1, rotate=True))
    assert "T1" not in later and len(later) == 4
    row = await db.fetchone(
        "SELECT code, used_by FROM invites WHERE member_pk = (SELECT id FROM members"
        " WHERE member_id = 'T1')"
    )
    assert row is not None and row["code"] == first["T1"] and row["used_by"] == 555


async def test_deactivated_members_get_no_invite(db: Database) -> None:
    await load(db, [m for m in ROSTER if m[0] != "T2"])
    assert "T2" not in codes(await ensure_invites(db, T0))


async def test_used_code_of_a_reset_registration_is_replaced(db: Database) -> None:
    first = codes(await ensure_invites(db, T0))
    await register(db, "T1", 555)
    async with db.tx() as conn:  # HR unlinked the account: the member must register again
        await conn.execute("UPDATE members SET telegram_id = NULL WHERE member_id = 'T1'")
    again = codes(await ensure_invites(db, T1))
    assert again["T1"] != first["T1"]
    assert again["T2"] == first["T2"]
    row = await db.fetchone("SELECT used_at, used_by FROM invites WHERE code = ?", (again["T1"],))
    assert row is not None and row["used_at"] is None and row["used_by"] is None


async def test_reissue_invite(db: Database) -> None:
    first = codes(await ensure_invites(db, T0))
    await register(db, "T2", 777)
    member = await db.fetchone("SELECT id FROM members WHERE member_id = 'T2'")
    assert member is not None
    async with db.tx() as conn:
        code = await reissue_invite(conn, member["id"], T1)
    assert code != first["T2"] and re.fullmatch(f"[{ALPHABET}]{{8}}", code)
    row = await db.fetchone("SELECT * FROM invites WHERE member_pk = ?", (member["id"],))
    assert row is not None
    assert (row["code"], row["used_at"], row["created_at"]) == (code, None, ts(T1))
    # a member who never had an invite gets one too
    async with db.tx() as conn:
        await conn.execute("DELETE FROM invites WHERE member_pk = ?", (member["id"],))
        assert len(await reissue_invite(conn, member["id"], T1)) == 8


# --- files -----------------------------------------------------------------------------------


async def test_write_invites(db: Database, tmp_path: Path) -> None:
    invites = await ensure_invites(db, T0)
    out = tmp_path / "out"
    path = write_invites(invites, "testbot", out, "zh")
    assert path == out / "invites.csv"
    raw = path.read_bytes()
    assert raw.startswith(BOM)
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == ["编号", "姓名", "小组", "学校", "角色", "邀请码", "链接"]
    by_id = {r[0]: r for r in rows[1:]}
    assert len(by_id) == 5
    code = codes(invites)["L1"]
    assert by_id["L1"] == ["L1", "罗宏伟", "第一组", "一中", t("zh", "role.leader"), code,
                           f"https://t.me/testbot?start={code}"]
    assert by_id["H1"][2] == "" and by_id["H1"][3] == ""
    for inv in invites:
        png = out / "qr" / f"{inv.member_id}.png"
        data = png.read_bytes()
        assert data.startswith(PNG_MAGIC)
        width = int.from_bytes(data[16:20], "big")
        assert width >= 300  # printable, not a thumbnail


def test_write_invites_empty(tmp_path: Path) -> None:
    path = write_invites([], "testbot", tmp_path / "o", "en")
    assert path.read_bytes() == BOM + b"Member ID,Name,Group,School,Role,Invite code,Link\r\n"
    assert (tmp_path / "o" / "qr").is_dir()


def pdf_text(path: Path) -> str:
    """The PDF's text with all white space taken out (pypdf spaces out CJK glyphs)."""
    return "".join(page_text(page) for page in PdfReader(path).pages)


def page_text(page: PageObject) -> str:
    # pypdf reads fpdf2's two-byte glyph codes with a NUL before each character.
    return re.sub(r"[\s\x00]+", "", page.extract_text() or "")


def is_a4(path: Path) -> bool:
    """Every page 210 × 297 mm (595.28 × 841.89 pt)."""
    return all(
        abs(float(page.mediabox.width) - 595.28) < 0.5
        and abs(float(page.mediabox.height) - 841.89) < 0.5
        for page in PdfReader(path).pages
    )


@pytest.mark.parametrize(("lang", "words"), [("zh", ("小组：第一组", "学校：一中", "扫描二维码")),
                                             ("en", ("Group:第一组", "School:一中", "ScantheQR"))])
async def test_write_invite_cards(
    db: Database, tmp_path: Path, lang: str, words: tuple[str, ...]
) -> None:
    invites = await ensure_invites(db, T0)
    path = write_invite_cards(invites, "testbot", tmp_path, lang)
    assert path == tmp_path / "invites.pdf"
    assert path.stat().st_mode & 0o777 == 0o600
    text = pdf_text(path)
    for inv in invites:
        assert inv.name in text and inv.code in text
    for word in words:
        assert word in text
    assert "@testbot" in text
    assert is_a4(path)
    assert len(PdfReader(path).pages) == 1  # five cards, eight to a page


def test_invite_cards_fill_pages_of_eight(tmp_path: Path) -> None:
    invites = [Invite(f"M{n:02}", f"成员{n:02}", "第一组", "trainee", f"CODE{n:04}"[:8])
               for n in range(17)]
    path = write_invite_cards(invites, "testbot", tmp_path, "zh")
    reader = PdfReader(path)
    assert len(reader.pages) == 3
    first, last = page_text(reader.pages[0]), page_text(reader.pages[2])
    assert "成员07" in first and "成员08" not in first
    assert "成员16" in last and "成员15" not in last


# --- CLI -------------------------------------------------------------------------------------


def write_config(tmp_path: Path, *, username: str = "testbot", token: str = "",
                 language: str = "en") -> Path:
    telegram = {"username": username}
    if token:
        telegram |= {"token": token, "base_url": "http://127.0.0.1:9/bot"}
    return write_config_file(tmp_path / "studybot.toml", tmp_path / "db.sqlite3",
                             program={"language": language}, telegram=telegram)


def import_sample(cfg: Path) -> None:
    sample = Path(__file__).resolve().parents[2] / "bot" / "samples" / "roster.csv"
    assert main(["roster", "import", "-c", str(cfg), str(sample)]) == 0


def csv_codes(path: Path, lang: str = "en") -> dict[str, str]:
    member_id, code = t(lang, "invites.csv.member_id"), t(lang, "invites.csv.code")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {r[member_id]: r[code] for r in csv.DictReader(fh)}


# The token comes from the config file alone.
pytestmark = pytest.mark.usefixtures("no_token_env")


def test_cli_invites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    import_sample(cfg)
    capsys.readouterr()
    out = tmp_path / "invites"
    assert main(["invites", "-c", str(cfg), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "51 invite(s)" in printed and "@testbot" in printed and str(out) in printed
    first = csv_codes(out / "invites.csv")
    assert len(first) == 51
    assert len(list((out / "qr").glob("*.png"))) == 51
    assert str(out / "invites.pdf") in printed
    text = pdf_text(out / "invites.pdf")
    assert all(code in text for code in first.values())

    assert main(["invites", "-c", str(cfg), "--out", str(out)]) == 0
    assert csv_codes(out / "invites.csv") == first

    assert main(["invites", "-c", str(cfg), "--out", str(out), "--rotate"]) == 0
    rotated = csv_codes(out / "invites.csv")
    assert rotated.keys() == first.keys()
    assert all(rotated[m] != first[m] for m in first)

    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    try:
        conn.execute("UPDATE members SET telegram_id = 42 WHERE member_id = 'M001'")
        conn.commit()
    finally:
        conn.close()
    assert main(["invites", "-c", str(cfg), "--out", str(out)]) == 0
    assert "M001" not in csv_codes(out / "invites.csv")
    assert "50 invite(s)" in capsys.readouterr().out


def test_cli_invites_without_username_or_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, username="")
    assert main(["invites", "-c", str(cfg), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "username is unknown" in err and "[telegram]" in err
    assert not (tmp_path / "o").exists()


def test_cli_invites_without_username_zh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, username="", language="zh")
    assert main(["invites", "-c", str(cfg), "--out", str(tmp_path / "o")]) == 2
    assert "不知道机器人的用户名" in capsys.readouterr().err


class FakeBot:
    """Stands in for telegram.Bot: records how it was built, answers getMe."""

    made: list[dict[str, str]] = []  # noqa: RUF012
    fail: Exception | None = None

    def __init__(self, token: str, base_url: str, base_file_url: str) -> None:
        FakeBot.made.append({"token": token, "base_url": base_url, "base_file_url": base_file_url})
        self.username = "from_getme_bot"

    async def __aenter__(self) -> FakeBot:
        if FakeBot.fail is not None:
            raise FakeBot.fail
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


@pytest.fixture
def fake_bot(monkeypatch: pytest.MonkeyPatch) -> type[FakeBot]:
    FakeBot.made = []
    FakeBot.fail = None
    monkeypatch.setattr(telegram, "Bot", FakeBot)
    return FakeBot


def test_cli_invites_asks_getme_for_the_username(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_bot: type[FakeBot]
) -> None:
    cfg = write_config(tmp_path, username="", token="123:SECRET")
    import_sample(cfg)
    out = tmp_path / "o"
    assert main(["invites", "-c", str(cfg), "--out", str(out)]) == 0
    assert fake_bot.made == [{
        "token": "123:SECRET",
        "base_url": "http://127.0.0.1:9/bot",
        "base_file_url": "https://api.telegram.org/file/bot",
    }]
    with (out / "invites.csv").open(encoding="utf-8-sig") as fh:
        links = [r[t("en", "invites.csv.link")] for r in csv.DictReader(fh)]
    assert links and all(x.startswith("https://t.me/from_getme_bot?start=") for x in links)
    assert "SECRET" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (telegram.error.InvalidToken("The token `123:SECRET` was rejected by the server."), 2),
        (telegram.error.NetworkError("connect failed for 123:SECRET"), 1),
    ],
)
def test_cli_invites_getme_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_bot: type[FakeBot],
    error: Exception, code: int,
) -> None:
    fake_bot.fail = error
    cfg = write_config(tmp_path, username="", token="123:SECRET")
    assert main(["invites", "-c", str(cfg), "--out", str(tmp_path / "o")]) == code
    captured = capsys.readouterr()
    assert "getMe" in captured.err
    assert "SECRET" not in captured.err + captured.out
    assert not (tmp_path / "o").exists()


def test_cli_invites_zh_prints_in_chinese(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, language="zh")
    import_sample(cfg)
    capsys.readouterr()
    out = tmp_path / "o"
    assert main(["invites", "-c", str(cfg), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert t("zh", "invites.card.pdf_written", pdf=out / "invites.pdf") in printed
    with (out / "invites.csv").open(encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == csv_headers("zh")
    codes_zh = csv_codes(out / "invites.csv", "zh")
    text = pdf_text(out / "invites.pdf")
    assert all(code in text for code in codes_zh.values())
    assert "扫描二维码" in text and "Scan" not in text


def test_cli_invites_without_a_font_writes_no_stale_cards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write_config(tmp_path)
    import_sample(cfg)
    out = tmp_path / "o"
    assert main(["invites", "-c", str(cfg), "--out", str(out)]) == 0
    assert (out / "invites.pdf").exists()
    monkeypatch.setattr("bot.documents.cards.package_font", lambda: None)
    assert main(["invites", "-c", str(cfg), "--out", str(out), "--rotate"]) == 1
    assert t("en", "invites.card.no_font") in capsys.readouterr().err
    assert not (out / "invites.pdf").exists()
    assert len(csv_codes(out / "invites.csv")) == 51
