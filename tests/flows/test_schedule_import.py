"""Schedule import: every kind of bad line named, all or nothing, idempotent upsert, xlsx,
host rotation for lines without a host, the CLI's exit codes."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.activities.importer import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    MemberInfo,
    format_result,
    import_schedule,
    run_import,
    validate_schedule,
)
from bot.cli import main
from bot.core.config import Config
from bot.documents.tables import TableRow, read_table
from storage.db import open_database, parse_ts
from tests.helpers import (
    SMALL_ROSTER,
    load_roster,
    make_config,
    said,
    write_config_file,
)

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=TZ)
HEADER = "activity_id,type,title,group,start,end,location,lat,lon,host_member_id"
GOOD = "G001,group_study,读书交流,第一组,2026-03-02 15:30,2026-03-02 17:30,会议室,,,T1"
GROUPS = {"第一组", "第二组"}
MEMBERS = {
    "L1": MemberInfo("第一组", True),
    "T1": MemberInfo("第一组", True),
    "T3": MemberInfo("第二组", True),
    "H1": MemberInfo(None, True),
    "OLD": MemberInfo("第一组", False),
}


def rows_of(*lines: str, header: str = HEADER) -> list[TableRow]:
    names = header.split(",")
    out = []
    for i, line in enumerate(lines, start=2):
        cells = line.split(",")
        out.append(TableRow(i, {n: (cells[j] if j < len(cells) else "")
                                for j, n in enumerate(names)}))
    return out


def validate(*lines: str, header: str = HEADER) -> tuple[list[object], list[str]]:
    entries, problems = validate_schedule(
        rows_of(*lines, header=header), groups=GROUPS, members=MEMBERS, tz=TZ, lang="en"
    )
    return list(entries), problems


def test_good_line() -> None:
    entries, problems = validate(GOOD)
    assert problems == []
    (e,) = entries
    assert e.start == dt.datetime(2026, 3, 2, 15, 30, tzinfo=TZ)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("G9,meeting,T,第一组,2026-03-02 15:30,2026-03-02 17:30,,,,", "unknown type “meeting”"),
        ("G9,group_study,T,第九组,2026-03-02 15:30,2026-03-02 17:30,,,,", "unknown group “第九组”"),
        ("G9,group_study,T,,2026-03-02 15:30,2026-03-02 17:30,,,,", "a group_study needs a group"),
        ("C9,collective,T,第一组,2026-03-02 15:30,2026-03-02 17:30,,,,", "clear the group cell"),
        ("G9,group_study,T,第一组,2026-03-02 17:30,2026-03-02 15:30,,,,", "is not after start"),
        ("G9,group_study,T,第一组,2026-03-02 15:30,2026-03-02 15:30,,,,", "is not after start"),
        ("G9,group_study,T,第一组,2026-03-02 15:30,2026-03-02 17:30,,,,T3",
         "host T3 is not a member of “第一组”"),
        ("G9,group_study,T,第一组,2026-03-02 15:30,2026-03-02 17:30,,,,NOBODY",
         "host NOBODY is not on the roster"),
        ("G9,group_study,T,第一组,2026-03-02 15:30,2026-03-02 17:30,,,,OLD",
         "host OLD is not on the roster or is deactivated"),
        ("G9,group_study,T,第一组,2026-03-02 15:30,2026-03-02 17:30,,91,120,", "bad coordinates"),
        ("G9,group_study,T,第一组,2026-03-02 15:30,2026-03-02 17:30,,30,190,", "bad coordinates"),
        ("G9,group_study,T,第一组,2026-03-02 15:30,2026-03-02 17:30,,30,,", "bad coordinates"),
        ("G9,group_study,T,第一组,2026-03-02 15:30,2026-03-02 17:30,,北纬30,120,",
         "bad coordinates"),
        ("O9,online,T,,2026-03-02 15:30,2026-03-02 17:30,,30,120,", "online activity has no"),
        ("G9,group_study,T,第一组,2026-02-30 15:30,2026-03-02 17:30,,,,",
         "start “2026-02-30 15:30” is not a time"),
        ("G9,group_study,T,第一组,2026-03-02,2026-03-02 17:30,,,,", "start “2026-03-02”"),
        ("G9,group_study,T,第一组,3/2/2026 15:30,2026-03-02 17:30,,,,", "is not a time"),
        ("G9,group_study,T,第一组,2026-03-02 15:30,,,,,", "end “” is not a time"),
        (",group_study,T,第一组,2026-03-02 15:30,2026-03-02 17:30,,,,", "activity_id is empty"),
        ("G 9,group_study,T,第一组,2026-03-02 15:30,2026-03-02 17:30,,,,", "may only hold"),
        ("G9,group_study,,第一组,2026-03-02 15:30,2026-03-02 17:30,,,,", "title is empty"),
    ],
)
def test_bad_lines_are_named(line: str, reason: str) -> None:
    entries, problems = validate(GOOD, line)
    assert entries == [] or len(entries) == 1
    assert len(problems) >= 1
    assert all(p.startswith("line 3: ") for p in problems), problems
    assert any(reason in p for p in problems), problems


def test_every_problem_is_reported_with_its_line() -> None:
    _, problems = validate(
        GOOD,
        "G001,group_study,T,第一组,2026-03-02 15:30,2026-03-02 17:30,,,,",  # duplicate id
        "G3,nope,T,,bad,bad,,,,",
    )
    assert problems[0] == "line 3: activity_id G001 is also on line 2"
    assert [p.split(":")[0] for p in problems[1:]] == ["line 4"] * 3


def test_iso_t_and_aliases_and_radius() -> None:
    header = HEADER + ",radius_m"
    entries, problems = validate(
        "C1,集中培训,主题培训,,2026-03-20T09:00,2026-03-20T16:30,报告厅,30.1,120.2,,150",
        "O1,online,网课,,2026-03-21 19:00,2026-03-21 20:00,,,,",
        header=header,
    )
    assert problems == []
    c1, o1 = entries
    assert (c1.type, c1.lat, c1.lon, c1.radius_m) == ("collective", 30.1, 120.2, 150)  # type: ignore[attr-defined]
    assert o1.type == "online"  # type: ignore[attr-defined]
    _, problems = validate(
        "C1,collective,T,,2026-03-20 09:00,2026-03-20 16:30,,,,,150", header=header
    )
    assert any("radius_m is set but" in p for p in problems)


def test_empty_schedule() -> None:
    _, problems = validate()
    assert problems == ["the schedule lists no activities"]


# -- against the database -------------------------------------------------------------------


async def setup(tmp_path: Path) -> Config:
    cfg = make_config(tmp_path)
    await load_roster(cfg, SMALL_ROSTER, NOW)
    return cfg


def write(tmp_path: Path, *lines: str, name: str = "schedule.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


async def activities_in(cfg: Config) -> dict[str, dict[str, object]]:
    db = await open_database(cfg.db_path)
    try:
        rows = await db.fetchall(
            "SELECT a.*, m.member_id AS host FROM activities a"
            " LEFT JOIN members m ON m.id = a.host_pk ORDER BY a.activity_id"
        )
    finally:
        await db.close()
    return {r["activity_id"]: dict(r) for r in rows}


async def import_file(cfg: Config, path: Path, now: dt.datetime = NOW):  # type: ignore[no-untyped-def]
    rows = read_table(path, REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, lang="en")
    db = await open_database(cfg.db_path)
    try:
        return await run_import(db, cfg, rows, now, "en")
    finally:
        await db.close()


async def test_all_or_nothing(tmp_path: Path) -> None:
    cfg = await setup(tmp_path)
    path = write(tmp_path, GOOD, "G002,group_study,T,第九组,2026-03-09 15:30,2026-03-09 17:30,,,,")
    result, problems = await import_file(cfg, path)
    assert result is None and problems == ["line 3: unknown group “第九组” (not in the roster)"]
    assert await activities_in(cfg) == {}


async def test_idempotent_upsert_and_update(tmp_path: Path) -> None:
    cfg = await setup(tmp_path)
    path = write(
        tmp_path, GOOD,
        "C01,collective,主题培训,,2026-03-20 09:00,2026-03-20 16:30,报告厅,30.1,120.2,",
    )
    result, _ = await import_file(cfg, path)
    assert result is not None and result.added == ["G001", "C01"]
    first = await activities_in(cfg)
    assert first["G001"]["host"] == "T1"
    assert parse_ts(str(first["G001"]["start_at"])) == dt.datetime(2026, 3, 2, 15, 30, tzinfo=TZ)
    again, _ = await import_file(cfg, path)
    assert again is not None
    assert (again.added, again.changed, again.unchanged) == ([], [], 2)
    second = await activities_in(cfg)
    assert {k: (v["secret"], v["updated_at"]) for k, v in second.items()} == {
        k: (v["secret"], v["updated_at"]) for k, v in first.items()
    }
    moved = write(
        tmp_path, GOOD.replace("15:30", "14:30"),
        "C01,collective,主题培训,,2026-03-20 09:00,2026-03-20 16:30,报告厅,30.1,120.2,",
    )
    third, _ = await import_file(cfg, moved)
    assert third is not None and third.changed == ["G001"] and third.unchanged == 1
    assert (await activities_in(cfg))["G001"]["id"] == first["G001"]["id"]


async def test_missing_hosts_follow_the_rotation(tmp_path: Path) -> None:
    cfg = await setup(tmp_path)
    lines = [
        f"G00{i},group_study,读书,第一组,2026-03-{i + 1:02d} 15:30,2026-03-{i + 1:02d} 17:30,,,,"
        for i in range(1, 5)
    ]
    result, problems = await import_file(cfg, write(tmp_path, *lines))
    assert problems == [] and result is not None
    hosts = [v["host"] for v in (await activities_in(cfg)).values()]
    # 第一组 is L1, T1, T2: each hosts once before anybody hosts twice.
    assert hosts == ["L1", "T1", "T2", "L1"]
    # Re-importing keeps the hosts given the first time.
    await import_file(cfg, write(tmp_path, *lines))
    assert [v["host"] for v in (await activities_in(cfg)).values()] == hosts


async def test_past_activities_are_closed_without_roll_call(tmp_path: Path) -> None:
    cfg = await setup(tmp_path)
    path = write(tmp_path, "G000,group_study,T,第一组,2026-02-02 15:30,2026-02-02 17:30,,,,L1")
    result, _ = await import_file(cfg, path)
    assert result is not None and result.closed_on_import == ["G000"]
    assert (await activities_in(cfg))["G000"]["closed_at"] is not None


async def test_cancelled_in_chat_stays_cancelled(tmp_path: Path) -> None:
    cfg = await setup(tmp_path)
    path = write(tmp_path, GOOD)
    await import_file(cfg, path)
    db = await open_database(cfg.db_path)
    try:
        async with db.tx() as conn:
            await conn.execute("UPDATE activities SET status = 'cancelled'")
        rows = read_table(path, REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, lang="en")
        entries, _ = validate_schedule(rows, groups=GROUPS, members=MEMBERS, tz=TZ, lang="en")
        result = await import_schedule(db, cfg, entries, NOW)
    finally:
        await db.close()
    assert result.kept_cancelled == ["G001"]
    assert (await activities_in(cfg))["G001"]["status"] == "cancelled"


async def test_xlsx_import(tmp_path: Path) -> None:
    import openpyxl

    cfg = await setup(tmp_path)
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER.split(","))
    ws.append(["G001", "group_study", "读书交流", "第一组", dt.datetime(2026, 3, 2, 15, 30),
               dt.datetime(2026, 3, 2, 17, 30), "会议室", 30.25, 120.5, "T1"])
    ws.append(["G002", "group_study", "案例", "第一组", "2026-03-16 15:30", "2026-03-16 17:30",
               "", None, None, "L1"])
    path = tmp_path / "schedule.xlsx"
    wb.save(path)
    result, problems = await import_file(cfg, path)
    assert problems == [] and result is not None and result.added == ["G001", "G002"]
    got = await activities_in(cfg)
    assert (got["G001"]["lat"], got["G001"]["lon"]) == (30.25, 120.5)
    assert parse_ts(str(got["G001"]["end_at"])) == dt.datetime(2026, 3, 2, 17, 30, tzinfo=TZ)


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = make_config(tmp_path)
    asyncio.run(load_roster(cfg, SMALL_ROSTER, NOW))
    config = write_config_file(tmp_path / "config.toml", cfg.db_path, program={"language": "en"})
    bad = write(
        tmp_path,
        "G1,group_study,T,第一组,2027-03-02 17:30,2027-03-02 15:30,,,,",
        "G2,party,T,,2027-03-02 15:30,2027-03-02 17:30,,,,",
        "G3,group_study,T,第一组,2027-03-02 15:30,2027-03-02 17:30,,,,T3",
        name="bad.csv",
    )
    assert main(["schedule", "import", "--config", str(config), str(bad)]) == 2
    err = capsys.readouterr().err
    assert said(err, "imports.rejected", "en", file="bad.csv", count=3)
    assert "line 2: end" in err and "line 3: unknown type" in err and "line 4: host T3" in err
    good = write(tmp_path, GOOD.replace("2026", "2027"), name="good.csv")
    assert main(["schedule", "import", "--config", str(config), str(good)]) == 0
    assert "added 1: G001" in capsys.readouterr().out
    assert main(["schedule", "import", "--config", str(config), str(tmp_path / "x.txt")]) == 2


# -- activities no longer in a re-imported file ------------------------------------------------

LATER = "G002,group_study,案例,第一组,2026-03-09 15:30,2026-03-09 17:30,,,,L1"
COLLECTIVE = "C01,collective,主题培训,,2026-03-20 09:00,2026-03-20 16:30,报告厅,,,"
PAST = "G000,group_study,旧,第一组,2026-02-02 15:30,2026-02-02 17:30,,,,L1"
RUNNING = "G100,group_study,进行中,第一组,2026-03-01 08:00,2026-03-01 10:00,,,,T1"


async def reachable(cfg: Config) -> None:
    """Gives every member a Telegram chat, as if all had registered."""
    db = await open_database(cfg.db_path)
    try:
        async with db.tx() as conn:
            await conn.execute("UPDATE members SET telegram_id = 1000 + id")
    finally:
        await db.close()


async def cancellation_notices(cfg: Config) -> list[tuple[str, str]]:
    db = await open_database(cfg.db_path)
    try:
        rows = await db.fetchall(
            "SELECT m.member_id, o.payload FROM outbox o JOIN members m ON m.id = o.member_pk"
            " WHERE o.kind = 'attendance.cancelled' ORDER BY m.member_id"
        )
    finally:
        await db.close()
    return [(str(r["member_id"]), str(r["payload"])) for r in rows]


async def test_missing_activities_are_listed_and_left_alone(tmp_path: Path) -> None:
    cfg = await setup(tmp_path)
    await reachable(cfg)
    first = write(tmp_path, PAST, GOOD, LATER, COLLECTIVE, name="first.csv")
    await import_file(cfg, first, dt.datetime(2026, 2, 1, 9, 0, tzinfo=TZ))
    await import_file(cfg, write(tmp_path, RUNNING, name="running.csv"),
                      dt.datetime(2026, 2, 1, 9, 0, tzinfo=TZ))
    # The corrected file drops G002 and C01; G000 is over and G100 has started by NOW.
    result, problems = await import_file(cfg, write(tmp_path, GOOD, name="fixed.csv"))
    assert problems == [] and result is not None
    assert (result.missing, result.cancelled_missing) == (["G002", "C01"], [])
    assert {k: v["status"] for k, v in (await activities_in(cfg)).items()} == {
        "C01": "scheduled", "G000": "scheduled", "G001": "scheduled", "G002": "scheduled",
        "G100": "scheduled",
    }
    assert await cancellation_notices(cfg) == []
    assert "no longer in the file, left scheduled: G002, C01" in "\n".join(
        format_result(result, "en"))


async def test_cancel_missing_cancels_only_upcoming_imported_ones(tmp_path: Path) -> None:
    cfg = await setup(tmp_path)
    await reachable(cfg)
    before = dt.datetime(2026, 2, 1, 9, 0, tzinfo=TZ)
    await import_file(cfg, write(tmp_path, PAST, GOOD, LATER, RUNNING, name="first.csv"), before)
    db = await open_database(cfg.db_path)
    try:  # a leader's own activity, created in chat: not the file's to cancel
        async with db.tx() as conn:
            await conn.execute(
                "INSERT INTO activities (activity_id, type, title, group_id, start_at, end_at,"
                " location, secret, source, status, created_at, updated_at)"
                " SELECT 'S260310abc', 'group_study', '组内', id, ?, ?, '', 's', 'chat',"
                " 'scheduled', ?, ? FROM groups WHERE name = '第一组'",
                ("2026-03-10 07:30:00", "2026-03-10 09:30:00", "x", "x"),
            )
    finally:
        await db.close()
    path = write(tmp_path, GOOD, name="fixed.csv")
    result, _ = await run_cancel_missing(cfg, path)
    assert result is not None
    assert (result.missing, result.cancelled_missing) == ([], ["G002"])
    statuses = {k: v["status"] for k, v in (await activities_in(cfg)).items()}
    assert statuses == {"G000": "scheduled", "G001": "scheduled", "G002": "cancelled",
                        "G100": "scheduled", "S260310abc": "scheduled"}
    # Everyone in 第一组 (the host L1 included) is told, as when a leader cancels in chat.
    notices = await cancellation_notices(cfg)
    assert [m for m, _ in notices] == ["L1", "T1", "T2"]
    assert all("案例" in payload for _, payload in notices)
    assert result.notified == 3
    assert "no longer in the file, cancelled and members told: G002" in "\n".join(
        format_result(result, "en"))
    # Again: nothing left to cancel, nobody told twice.
    again, _ = await run_cancel_missing(cfg, path)
    assert again is not None and (again.missing, again.cancelled_missing) == ([], [])
    assert len(await cancellation_notices(cfg)) == 3


async def run_cancel_missing(cfg: Config, path: Path):  # type: ignore[no-untyped-def]
    rows = read_table(path, REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, lang="en")
    db = await open_database(cfg.db_path)
    try:
        return await run_import(db, cfg, rows, NOW, "en", cancel_missing=True)
    finally:
        await db.close()


async def test_rejected_file_cancels_nothing(tmp_path: Path) -> None:
    cfg = await setup(tmp_path)
    await import_file(cfg, write(tmp_path, GOOD, LATER, name="first.csv"))
    bad = write(tmp_path, "G003,group_study,T,第九组,2026-03-09 15:30,2026-03-09 17:30,,,,",
                name="bad.csv")
    result, problems = await run_cancel_missing(cfg, bad)
    assert result is None and problems
    assert {v["status"] for v in (await activities_in(cfg)).values()} == {"scheduled"}


def test_cli_lists_then_cancels_missing(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = make_config(tmp_path)
    asyncio.run(load_roster(cfg, SMALL_ROSTER, NOW))
    asyncio.run(reachable(cfg))
    config = write_config_file(tmp_path / "config.toml", cfg.db_path, program={"language": "en"})
    full = write(tmp_path, GOOD.replace("2026", "2030"), LATER.replace("2026", "2030"),
                 name="full.csv")
    assert main(["schedule", "import", "--config", str(config), str(full)]) == 0
    assert "no longer in the file" not in capsys.readouterr().out
    fixed = write(tmp_path, GOOD.replace("2026", "2030"), name="fixed.csv")
    assert main(["schedule", "import", "--config", str(config), str(fixed)]) == 0
    out = capsys.readouterr().out
    assert "no longer in the file, left scheduled: G002 (import again with --cancel-missing" \
        in out
    assert "unchanged 1" in out
    assert asyncio.run(activities_in(cfg))["G002"]["status"] == "scheduled"
    assert main(["schedule", "import", "--cancel-missing", "--config", str(config),
                 str(fixed)]) == 0
    out = capsys.readouterr().out
    assert "no longer in the file, cancelled and members told: G002" in out
    assert "3 people notified" in out
    assert asyncio.run(activities_in(cfg))["G002"]["status"] == "cancelled"
    assert main(["schedule", "import", "--cancel-missing", "--config", str(config),
                 str(fixed)]) == 0
    assert "no longer in the file" not in capsys.readouterr().out
