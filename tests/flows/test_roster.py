"""Roster import: validation of every rule, the all-or-nothing transaction, audit, and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.documents.tables import TableRow, read_table
from bot.members.importer import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    RosterEntry,
    import_roster,
    validate_roster,
)
from storage.db import Database
from tests.helpers import said, write_config_file

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
T1 = T0 + dt.timedelta(days=1)
SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "samples" / "roster.csv"
LOCALES = Path(__file__).resolve().parents[2] / "bot" / "locales"

HEADER = "member_id,name,role,group,school,stage\n"
BASE = (
    "L1,罗宏伟,leader,第一组,北山小学,小学\n"
    "T1,黄志强,trainee,第一组,育才小学,小学\n"
    "L2,陈静,leader,第二组,城关中学,初中\n"
    "T2,王芳,trainee,第二组,实验中学,初中\n"
    "H1,周敏,hr,,教育局人事科,\n"
)


def rows_of(body: str) -> list[TableRow]:
    """Rows as read_table would give them: header is line 1."""
    out = []
    for n, line in enumerate(body.splitlines(), start=2):
        cells = [c.strip() for c in line.split(",")]
        cells += [""] * (6 - len(cells))
        out.append(TableRow(n, dict(zip(REQUIRED_COLUMNS + OPTIONAL_COLUMNS, cells, strict=True))))
    return out


def entries_of(body: str) -> list[RosterEntry]:
    entries, problems = validate_roster(rows_of(body), lang="en")
    assert problems == []
    return entries


async def members(db: Database) -> dict[str, sqlite3.Row]:
    rows = await db.fetchall(
        "SELECT m.*, g.name AS group_name FROM members m"
        " LEFT JOIN groups g ON g.id = m.group_id ORDER BY m.member_id"
    )
    return {r["member_id"]: r for r in rows}


async def counts(db: Database) -> tuple[int, ...]:
    out = []
    for table in ("members", "groups", "audit_log"):
        row = await db.fetchone(f"SELECT COUNT(*) FROM {table}")
        assert row is not None
        out.append(int(row[0]))
    row = await db.fetchone("SELECT COUNT(*) FROM members WHERE active = 1")
    assert row is not None
    out.append(int(row[0]))
    return tuple(out)


# --- validation ------------------------------------------------------------------------------


def test_sample_roster_is_valid() -> None:
    rows = read_table(SAMPLE, REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS)
    entries, problems = validate_roster(rows)
    assert problems == []
    assert len(entries) == 51
    assert len({e.group for e in entries if e.group}) == 9
    assert sum(e.role == "hr" for e in entries) == 2
    assert sum(e.role == "leader" for e in entries) == 9
    assert all(e.group is None for e in entries if e.role == "hr")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            BASE + "X1,某人,boss,第一组,,\n",
            ['line 7: unknown role "boss"'],
            id="unknown-role",
        ),
        pytest.param(
            BASE + "X1,某人,,第一组,,\n",
            ['line 7: unknown role ""'],
            id="empty-role",
        ),
        pytest.param(
            BASE + "T1,另一个,trainee,第一组,,\n",
            ["line 7: member_id T1 is also on line 3"],
            id="duplicate-member-id",
        ),
        pytest.param(
            BASE + "X1,某人,trainee,,,\n",
            ["line 7: a trainee needs a group"],
            id="trainee-without-group",
        ),
        pytest.param(
            BASE + "X1,某人,leader,,,\n",
            ["line 7: a leader needs a group"],
            id="leader-without-group",
        ),
        pytest.param(
            BASE + "X1,某人,leader,第一组,,\n",
            ['line 7: group "第一组" has a second leader (line 2 is already its leader)'],
            id="two-leaders",
        ),
        pytest.param(
            BASE + "X1,某人,trainee,第三组,,\nX2,某某,trainee,第三组,,\n",
            ['line 7: group "第三组" has no leader'],
            id="group-without-leader",
        ),
        pytest.param(
            BASE + "X1,,trainee,第一组,,\n",
            ["line 7: name is empty"],
            id="empty-name",
        ),
        pytest.param(
            BASE + ",某人,trainee,第一组,,\n",
            ["line 7: member_id is empty"],
            id="empty-member-id",
        ),
        pytest.param(
            BASE + f"X1,{'名' * 65},trainee,第一组,,\n",
            ["line 7: name is too long (65 characters, at most 64)"],
            id="long-name",
        ),
        pytest.param(
            BASE + f"{'M' * 129},某人,trainee,第一组,,\n",
            ["line 7: member_id is too long (129 characters, at most 128)"],
            id="long-member-id",
        ),
        pytest.param(
            BASE + f"X1,某人,trainee,第一组,{'校' * 129},\n",
            ["line 7: school is too long (129 characters, at most 128)"],
            id="long-school",
        ),
        pytest.param(
            BASE + f"X1,某人,trainee,第一组,,{'段' * 129}\n",
            ["line 7: stage is too long (129 characters, at most 128)"],
            id="long-stage",
        ),
        pytest.param(
            BASE + f"X1,某人,trainee,{'组' * 129},,\n",
            ["line 7: group is too long (129 characters, at most 128)",
             f'line 7: group "{"组" * 129}" has no leader'],
            id="long-group",
        ),
        pytest.param(
            BASE + "H2,某人,hr,第一组,,\n",
            ['line 7: hr belongs to no group: clear the group cell (it says "第一组")'],
            id="hr-with-group",
        ),
        pytest.param(
            "L1,罗宏伟,leader,第一组,,\n,,boss,,,\nL1,王五,leader,第一组,,\n",
            [
                "line 3: member_id is empty",
                "line 3: name is empty",
                'line 3: unknown role "boss"',
                "line 4: member_id L1 is also on line 2",
                'line 4: group "第一组" has a second leader (line 2 is already its leader)',
            ],
            id="several-at-once",
        ),
        pytest.param("", ["the roster lists no members"], id="no-members"),
    ],
)
def test_validation_problems(body: str, expected: list[str]) -> None:
    _, problems = validate_roster(rows_of(body), lang="en")
    assert len(problems) == len(expected), problems
    for got, want in zip(problems, expected, strict=True):
        assert got.startswith(want), (got, want)


def test_problems_in_chinese() -> None:
    _, problems = validate_roster(rows_of(BASE + "X1,某人,boss,第一组,,\n"), lang="zh")
    assert problems == ["第 7 行：未知角色“boss”（应为 trainee 学员、leader 组长 或 hr 人事）"]


def test_name_at_the_limits_is_fine() -> None:
    entries = entries_of(BASE + f"X1,{'名' * 64},trainee,第一组,{'校' * 128},\n")
    assert entries[-1].name == "名" * 64


@pytest.mark.parametrize(
    ("role", "stored"),
    [("Leader", "leader"), (" TRAINEE ", "trainee"), ("组长", "leader"), ("学员", "trainee"),
     ("HR", "hr"), ("人事", "hr")],
)
def test_role_spellings(role: str, stored: str) -> None:
    group = "" if stored == "hr" else "第三组"
    leader = "" if stored == "leader" or stored == "hr" else "L3,组长三,leader,第三组,,\n"
    entries = entries_of(BASE + leader + f"X1,某人,{role},{group},,\n")
    assert entries[-1].role == stored


def test_catalogs_have_the_same_keys() -> None:
    zh = tomllib.loads((LOCALES / "roster.zh.toml").read_text("utf-8"))
    en = tomllib.loads((LOCALES / "roster.en.toml").read_text("utf-8"))

    def keys(d: dict[str, object], prefix: str = "") -> set[str]:
        out: set[str] = set()
        for k, v in d.items():
            out |= keys(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
        return out

    assert keys(zh) == keys(en)


# --- import ----------------------------------------------------------------------------------


async def test_sample_import(db: Database) -> None:
    rows = read_table(SAMPLE, REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS)
    entries, _ = validate_roster(rows)
    result = await import_roster(db, entries, T0)
    assert len(result.added) == 51 and result.changed == [] and result.deactivated == []
    assert ("M001", "罗宏伟") in result.added
    assert await counts(db) == (51, 9, 51, 51)
    m = await members(db)
    assert m["M001"]["role"] == "leader" and m["M001"]["group_name"] == "第一组"
    assert m["H001"]["group_id"] is None and m["H001"]["school"] == "县教育局人事科"
    assert m["M001"]["created_at"] == "2026-03-02 01:00:00"


async def test_reimport_is_idempotent(db: Database) -> None:
    entries = entries_of(BASE)
    first = await import_roster(db, entries, T0)
    assert len(first.added) == 5
    before = await counts(db)
    second = await import_roster(db, entries, T1)
    assert (second.added, second.changed, second.deactivated) == ([], [], [])
    assert second.unchanged == 5 and second.total_changes == 0
    assert await counts(db) == before


async def test_changes_are_counted_only_when_real(db: Database) -> None:
    await import_roster(db, entries_of(BASE), T0)
    changed = BASE.replace("T1,黄志强,trainee,第一组", "T1,黄志强,trainee,第二组")
    result = await import_roster(db, entries_of(changed), T1)
    assert result.changed == [("T1", "黄志强")]
    assert result.added == [] and result.deactivated == [] and result.unchanged == 4
    m = await members(db)
    assert m["T1"]["group_name"] == "第二组"
    assert m["T1"]["updated_at"] == "2026-03-03 01:00:00"
    assert m["T2"]["updated_at"] == "2026-03-02 01:00:00"
    audit = await db.fetchall(
        "SELECT * FROM audit_log WHERE action = 'roster.change' AND subject = 'member:T1'"
    )
    assert len(audit) == 1
    assert json.loads(audit[0]["before"])["group"] == "第一组"
    assert json.loads(audit[0]["after"])["group"] == "第二组"
    assert audit[0]["at"] == "2026-03-03 01:00:00"


async def test_missing_member_is_deactivated_not_deleted(db: Database) -> None:
    await import_roster(db, entries_of(BASE), T0)
    pk = (await members(db))["T2"]["id"]
    without = BASE.replace("T2,王芳,trainee,第二组,实验中学,初中\n", "")
    result = await import_roster(db, entries_of(without), T1)
    assert result.deactivated == [("T2", "王芳")]
    assert result.added == [] and result.changed == []
    m = await members(db)
    assert m["T2"]["active"] == 0 and m["T2"]["id"] == pk and m["T2"]["name"] == "王芳"
    audit = await db.fetchall("SELECT * FROM audit_log WHERE action = 'roster.deactivate'")
    assert [a["subject"] for a in audit] == ["member:T2"]
    assert json.loads(audit[0]["before"])["active"] is True
    assert json.loads(audit[0]["after"])["active"] is False
    # once inactive, further imports without them leave them alone
    again = await import_roster(db, entries_of(without), T1)
    assert again.total_changes == 0


async def test_listed_again_is_reactivated(db: Database) -> None:
    await import_roster(db, entries_of(BASE), T0)
    pk = (await members(db))["T2"]["id"]
    without = BASE.replace("T2,王芳,trainee,第二组,实验中学,初中\n", "")
    await import_roster(db, entries_of(without), T0)
    result = await import_roster(db, entries_of(BASE), T1)
    assert result.changed == [("T2", "王芳")] and result.added == []
    m = await members(db)
    assert m["T2"]["active"] == 1 and m["T2"]["id"] == pk
    audit = await db.fetchall(
        "SELECT * FROM audit_log WHERE action = 'roster.change' AND subject = 'member:T2'"
    )
    assert json.loads(audit[0]["before"])["active"] is False
    assert json.loads(audit[0]["after"])["active"] is True


async def test_audit_rows_for_additions(db: Database) -> None:
    await import_roster(db, entries_of(BASE), T0, reason="import roster.csv")
    audit = await db.fetchall("SELECT * FROM audit_log ORDER BY id")
    assert [a["action"] for a in audit] == ["roster.add"] * 5
    assert [a["subject"] for a in audit] == [f"member:{m}" for m in ("L1", "T1", "L2", "T2", "H1")]
    first = audit[0]
    assert first["before"] is None and first["actor_pk"] is None
    assert first["reason"] == "import roster.csv"
    assert json.loads(first["after"]) == {
        "member_id": "L1", "name": "罗宏伟", "role": "leader", "group": "第一组",
        "school": "北山小学", "stage": "小学", "active": True,
    }
    assert "罗宏伟" in first["after"]  # readable in the sqlite3 shell, not \u escapes


async def test_leader_swap_within_a_group(db: Database) -> None:
    await import_roster(db, entries_of(BASE), T0)
    swapped = BASE.replace("L1,罗宏伟,leader", "L1,罗宏伟,trainee").replace(
        "T1,黄志强,trainee", "T1,黄志强,leader"
    )
    result = await import_roster(db, entries_of(swapped), T1)
    assert sorted(result.changed) == [("L1", "罗宏伟"), ("T1", "黄志强")]
    leaders = await db.fetchall(
        "SELECT member_id FROM members WHERE role = 'leader' AND active = 1 ORDER BY member_id"
    )
    assert [r[0] for r in leaders] == ["L2", "T1"]


async def test_a_failing_import_leaves_nothing_behind(db: Database) -> None:
    await import_roster(db, entries_of(BASE), T0)
    before = await counts(db)
    entries = entries_of(BASE.replace("H1,周敏,hr", "H1,周敏新,hr") + "X9,新人,trainee,第九组,,\n"
                         "L9,组长九,leader,第九组,,\n")
    # a role the schema refuses, as if validation had been skipped: the CHECK fails mid-way
    bad = RosterEntry(line=99, member_id="Z1", name="z", role="boss", group=None)  # type: ignore[arg-type]
    with pytest.raises(sqlite3.IntegrityError):
        await import_roster(db, [*entries, bad], T1)
    assert await counts(db) == before
    assert (await members(db))["H1"]["name"] == "周敏"


# --- CLI -------------------------------------------------------------------------------------


def write_config(tmp_path: Path, language: str = "en") -> Path:
    return write_config_file(tmp_path / "studybot.toml", tmp_path / "db.sqlite3",
                             telegram={"username": "testbot"}, program={"language": language})


def db_counts(tmp_path: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    try:
        m, g, a = (
            int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
            for t in ("members", "groups", "audit_log")
        )
        return m, g, a
    finally:
        conn.close()


# The token comes from the config file alone.
pytestmark = pytest.mark.usefixtures("no_token_env")


def test_cli_import_sample_then_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path)
    roster = tmp_path / "roster.csv"
    shutil.copy(SAMPLE, roster)
    assert main(["roster", "import", "-c", str(cfg), str(roster)]) == 0
    out = capsys.readouterr().out
    assert "51 active members" in out
    assert "added 51: 罗宏伟 (M001), 黄志强 (M002)" in out
    assert "changed 0: none" in out and "deactivated 0: none" in out
    assert db_counts(tmp_path) == (51, 9, 51)

    assert main(["roster", "import", "-c", str(cfg), str(roster)]) == 0
    out = capsys.readouterr().out
    assert "added 0" in out and "changed 0" in out and "deactivated 0" in out
    assert db_counts(tmp_path) == (51, 9, 51)

    lines = roster.read_text("utf-8").splitlines(keepends=True)
    roster.write_text("".join(ln for ln in lines if not ln.startswith("M049,")), "utf-8")
    assert main(["roster", "import", "-c", str(cfg), str(roster)]) == 0
    assert "deactivated 1: 李静怡 (M049)" in capsys.readouterr().out


def test_cli_import_bad_file_imports_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path)
    good = tmp_path / "good.csv"
    good.write_text(HEADER + BASE, encoding="utf-8")
    assert main(["roster", "import", "-c", str(cfg), str(good)]) == 0
    capsys.readouterr()
    before = db_counts(tmp_path)

    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER
        + BASE.replace("T2,王芳", "T9,王芳新")
        + "X1,新人,boss,第一组,,\nT1,重复,trainee,第一组,,\n",
        encoding="utf-8",
    )
    assert main(["roster", "import", "-c", str(cfg), str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert said(captured.err, "imports.rejected", "en", file="bad.csv", count=2)
    assert 'line 7: unknown role "boss"' in captured.err
    assert "line 8: member_id T1 is also on line 3" in captured.err
    assert db_counts(tmp_path) == before


def test_cli_import_missing_column_zh(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, language="zh")
    bad = tmp_path / "bad.csv"
    bad.write_text("member_id,name,group\nA,a,g\n", encoding="utf-8")
    assert main(["roster", "import", "-c", str(cfg), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv：缺少列 role" in err
    assert not (tmp_path / "db.sqlite3").exists()


def test_cli_import_xlsx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["member_id", "name", "role", "group"])  # no school/stage columns at all
    for line in BASE.splitlines():
        ws.append(line.split(",")[:4])
    path = tmp_path / "名单.xlsx"
    wb.save(path)
    cfg = write_config(tmp_path)
    assert main(["roster", "import", "-c", str(cfg), str(path)]) == 0
    assert "added 5" in capsys.readouterr().out
