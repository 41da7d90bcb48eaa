"""Owner-only files from the library itself (issue 15), for when it is embedded in a process
whose umask is the usual 022: the database with its -wal and -shm, backups, exports, invites and
their QR codes, and the folders made for them."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.documents.exports import Sheet, write_csv_file, write_xlsx
from bot.members.invites import Invite, write_invites
from storage.db import open_database, private_dirs, private_file

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


async def test_database_wal_shm_and_backup_are_owner_only(tmp_path: Path) -> None:
    operator = tmp_path / "srv"  # a folder the operator made, as they made it
    operator.mkdir()
    operator.chmod(0o755)
    path = operator / "new" / "deeper" / "studybot.sqlite3"
    db = await open_database(path)
    try:
        async with db.tx() as conn:
            await conn.execute("CREATE TABLE t (x)")
        for suffix in ("", "-wal", "-shm"):
            assert mode(Path(f"{path}{suffix}")) == 0o600, suffix
        await db.backup(tmp_path / "backups" / "b.sqlite3")
    finally:
        await db.close()
    assert mode(tmp_path / "backups" / "b.sqlite3") == 0o600
    for folder in (operator / "new", operator / "new" / "deeper", tmp_path / "backups"):
        assert mode(folder) == 0o700, folder
    assert mode(operator) == 0o755  # left as it was


async def test_an_existing_world_readable_database_is_narrowed_on_open(tmp_path: Path) -> None:
    path = tmp_path / "studybot.sqlite3"
    await (await open_database(path)).close()
    path.chmod(0o644)  # as an install from before this change left it
    db = await open_database(path)
    await db.close()
    assert mode(path) == 0o600


def test_exports_and_invites_are_owner_only(tmp_path: Path) -> None:
    sheet = Sheet("roster", ["member_id", "name"], [{"member_id": "T1", "name": "黄志强"}])
    write_csv_file(sheet, tmp_path / "roster.csv")
    write_xlsx([sheet], tmp_path / "all.xlsx")
    old = tmp_path / "invites" / "invites.csv"
    old.parent.mkdir()
    old.write_text("left by an earlier run\n")
    old.chmod(0o644)
    invite = Invite("T1", "黄志强", "第一组", "trainee", "ABCD2345")
    csv_path = write_invites([invite], "study_bot", tmp_path / "invites")
    qr = tmp_path / "invites" / "qr"
    for path in (tmp_path / "roster.csv", tmp_path / "all.xlsx", csv_path, *qr.iterdir()):
        assert mode(path) == 0o600, path
    assert mode(qr) == 0o700
    assert "ABCD2345" in csv_path.read_text("utf-8-sig")


def test_private_helpers(tmp_path: Path) -> None:
    made = private_dirs(tmp_path / "a" / "b")
    assert made.is_dir() and mode(tmp_path / "a") == 0o700 and mode(made) == 0o700
    with pytest.raises(NotADirectoryError):
        private_dirs(private_file(tmp_path / "f"))
    assert mode(tmp_path / "f") == 0o600 and (tmp_path / "f").read_bytes() == b""
    (tmp_path / "f").write_bytes(b"kept")
    (tmp_path / "f").chmod(0o644)
    assert private_file(tmp_path / "f").read_bytes() == b"kept"  # narrowed, not truncated
    assert mode(tmp_path / "f") == 0o600
