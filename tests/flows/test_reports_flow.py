"""bot/reports/flow.py on a temporary SQLite, no Telegram: the host's draft, submitting (HR's
copy in the outbox), amending before and after the deadline, handing the hosting over, and
the reminder / escalation check. Each test asserts the reports rows and the outbox rows the
flow wrote in the same transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.core.config import Config
from bot.reports import flow
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import members as members_repo
from storage.db import Database, open_database, ts
from storage.models import Member
from tests.helpers import SMALL_ROSTER, TZ, load_roster, make_config

START = dt.datetime(2026, 3, 2, 14, 0, tzinfo=TZ)  # a Monday afternoon
END = START + dt.timedelta(hours=2)
DUE = dt.datetime(2026, 3, 3, 18, 0, tzinfo=TZ)  # the first working day after, at 18:00
TELEGRAM = {"L1": 8001, "T1": 8002, "T2": 8003, "L2": 8004, "T3": 8005, "H1": 8006}
ANSWERS = {"studied": "学习了《给教师的建议》", "highlights": "讨论热烈", "stated_headcount": 3}


@dataclasses.dataclass
class World:
    db: Database
    cfg: Config
    pk: dict[str, int]  # member_id -> members.id
    held: int  # 第一组's activity that T1 hosted this afternoon
    upcoming: int  # 第一组's activity on Thursday, hosted by T1


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """SMALL_ROSTER, everyone registered; T1 hosts a group study of 第一组 (roll call: L1 and
    T1 present, T2 late) and the next one."""
    cfg = make_config(tmp_path)
    created = START - dt.timedelta(days=7)
    await load_roster(cfg, SMALL_ROSTER, created)
    db = await open_database(cfg.db_path)
    at = ts(created)
    async with db.tx() as conn:
        pks = {m.member_id: m.pk for m in await members_repo.all_members(conn)}
        for member_id, telegram_id in TELEGRAM.items():
            await members_repo.link_telegram(conn, pks[member_id], telegram_id, "zh", at)
        group = (await activities_repo.group_ids_by_name(conn))["第一组"]
        made = {}
        for aid, start in (("G1", START), ("G2", START + dt.timedelta(days=3))):
            made[aid] = await activities_repo.insert(
                conn, activity_id=aid, type="group_study", title=f"读书会{aid}", group_id=group,
                start_at=ts(start), end_at=ts(start + dt.timedelta(hours=2)), location="",
                lat=None, lon=None, radius_m=None, host_pk=pks["T1"], secret="s",
                source="chat", created_by=pks["L1"], now=at,
            )
        for member_id, status in (("L1", "present"), ("T1", "present"), ("T2", "late")):
            await attendance_repo.check_in(conn, made["G1"], pks[member_id], status,
                                           ts(START), "code")
    try:
        yield World(db, cfg, pks, made["G1"], made["G2"])
    finally:
        await db.close()


async def member(w: World, member_id: str) -> Member:
    async with w.db.read() as conn:
        found = await members_repo.by_pk(conn, w.pk[member_id])
    assert found is not None
    return found


async def reports(w: World) -> list[dict[str, Any]]:
    return [dict(r) for r in await w.db.fetchall("SELECT * FROM reports ORDER BY id")]


async def outbox(w: World) -> list[dict[str, Any]]:
    rows = await w.db.fetchall(
        "SELECT id, chat_id, member_pk, kind, payload, dedupe_key FROM outbox ORDER BY id")
    return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]


async def draft(w: World, now: dt.datetime = END + dt.timedelta(minutes=30),
                answers: dict[str, Any] = ANSWERS, photos: int = 2) -> int:
    """T1's draft with `answers` and `photos` photos saved; its id."""
    opened = await flow.open_draft(w.db, w.cfg, await member(w, "T1"), w.held, now)
    assert opened.refusal is None and opened.report is not None
    pk = opened.report.pk
    assert await flow.save_fields(w.db, w.cfg, pk, answers, now)
    for n in range(photos):
        count = await flow.add_photo(
            w.db, pk, rel_path=f"reports/G1/p{n}.jpg", file_id=f"file{n}", unique_id=f"u{n}",
            file_size=1000, media_group_id="album", staged=False, now=now,
        )
        assert count == n + 1
    return pk


def services(w: World) -> Any:
    """What the due check reads of the services: the database and the configuration."""
    return SimpleNamespace(db=w.db, config=w.cfg)


# -- the draft ------------------------------------------------------------------------------


async def test_only_the_host_opens_a_draft_and_only_once_the_activity_ended(world: World) -> None:
    w = world
    before = await flow.open_draft(w.db, w.cfg, await member(w, "T1"), w.held,
                                   END - dt.timedelta(minutes=1))
    assert before.refusal == "not_ended"
    other = await flow.open_draft(w.db, w.cfg, await member(w, "T2"), w.held, END)
    assert other.refusal == "not_host"
    assert await reports(w) == []
    opened = await flow.open_draft(w.db, w.cfg, await member(w, "T1"), w.held, END)
    assert opened.refusal is None and opened.due == DUE
    again = await flow.open_draft(w.db, w.cfg, await member(w, "T1"), w.held, END)
    assert again.report is not None and opened.report is not None
    assert again.report.pk == opened.report.pk  # resumed, not a second draft
    [row] = await reports(w)
    assert (row["activity_pk"], row["host_pk"], row["state"]) == (w.held, w.pk["T1"], "draft")
    assert await outbox(w) == []


async def test_the_draft_keeps_every_answer_and_knows_what_is_missing(world: World) -> None:
    w = world
    pk = await draft(w, answers={"studied": "读书"}, photos=0)
    shown = await flow.working_preview(w.db, w.cfg, "zh", await member(w, "T1"), pk, None,
                                       staged=False)
    assert shown is not None
    text, content = shown
    assert "读书" in text
    assert content.missing() == ["highlights", "photos", "headcount"]
    assert content.next_question(rec_decided=False) == "highlights"
    assert await flow.working_preview(w.db, w.cfg, "zh", await member(w, "T2"), pk, None,
                                      staged=False) is None
    result = await flow.submit(w.db, w.cfg, await member(w, "T1"), pk, END)
    assert (result.refusal, result.missing) == ("incomplete", ["highlights", "photos",
                                                               "headcount"])
    assert (await reports(w))[0]["state"] == "draft"
    assert await outbox(w) == []


# -- submitting -----------------------------------------------------------------------------


async def test_submitting_sends_hr_the_report_with_its_photos(world: World) -> None:
    w = world
    pk = await draft(w)
    now = END + dt.timedelta(hours=1)
    result = await flow.submit(w.db, w.cfg, await member(w, "T1"), pk, now)
    assert result.refusal is None and result.due == DUE and not result.late
    assert result.difference is None  # 3 stated, 3 came (one of them late)
    [row] = await reports(w)
    assert (row["state"], row["submitted_at"], row["due_at"], row["late"]) == (
        "submitted", ts(now), ts(DUE), 0)
    assert (row["rc_present"], row["rc_late"], row["rc_absent"]) == (2, 1, 0)
    sent = await outbox(w)
    assert {s["chat_id"] for s in sent} == {TELEGRAM["H1"]}
    assert {s["kind"] for s in sent} == {"reports.submitted"}
    text, album = sent[0]["payload"], sent[-1]["payload"]
    assert "读书会G1" in text["text"] and "学习了《给教师的建议》" in text["text"]
    assert [Path(p).name for p in album["photos"]] == ["p0.jpg", "p1.jpg"]
    # Submitting again changes nothing and tells nobody.
    again = await flow.submit(w.db, w.cfg, await member(w, "T1"), pk, now)
    assert again.refusal == "submitted"
    assert len(await outbox(w)) == len(sent)


async def test_someone_else_cannot_submit_the_hosts_draft(world: World) -> None:
    w = world
    pk = await draft(w)
    for who in ("T2", "L1", "H1"):
        result = await flow.send(w.db, w.cfg, await member(w, who), pk, None, False, END)
        assert result.refusal == "not_host"
    assert (await reports(w))[0]["state"] == "draft"
    assert await outbox(w) == []


async def test_a_report_after_the_deadline_is_late(world: World) -> None:
    w = world
    pk = await draft(w, answers={**ANSWERS, "stated_headcount": 5})
    late = DUE + dt.timedelta(minutes=1)
    result = await flow.submit(w.db, w.cfg, await member(w, "T1"), pk, late)
    assert result.refusal is None and result.late and result.difference == 2
    assert (await reports(w))[0]["late"] == 1
    assert {s["kind"] for s in await outbox(w)} == {"reports.submitted"}
    # Too late to amend a report filed late.
    started = await flow.start_amendment(w.db, w.cfg, await member(w, "T1"), pk, late)
    assert started.refusal == "deadline_passed"


# -- amending -------------------------------------------------------------------------------


async def test_an_amendment_before_the_deadline_reaches_hr(world: World) -> None:
    w = world
    pk = await draft(w)
    host = await member(w, "T1")
    await flow.submit(w.db, w.cfg, host, pk, END + dt.timedelta(hours=1))
    count = len(await outbox(w))
    now = DUE - dt.timedelta(hours=1)
    started = await flow.start_amendment(w.db, w.cfg, host, pk, now)
    assert started.refusal is None
    result = await flow.send(w.db, w.cfg, host, pk, {"highlights": "补充：分组汇报"}, False, now)
    assert result.refusal is None
    [row] = await reports(w)
    assert (row["highlights"], row["amended_at"], row["amendments"]) == (
        "补充：分组汇报", ts(now), 1)
    amended = (await outbox(w))[count:]
    assert amended and {a["kind"] for a in amended} == {"reports.amended"}
    assert {a["chat_id"] for a in amended} == {TELEGRAM["H1"]}
    assert "补充：分组汇报" in amended[0]["payload"]["text"]
    assert not any("photos" in a["payload"] for a in amended)  # the photos did not change


async def test_an_amendment_after_the_deadline_changes_nothing(world: World) -> None:
    w = world
    pk = await draft(w)
    host = await member(w, "T1")
    await flow.submit(w.db, w.cfg, host, pk, END + dt.timedelta(hours=1))
    before, count = await reports(w), len(await outbox(w))
    late = DUE + dt.timedelta(seconds=1)
    assert (await flow.start_amendment(w.db, w.cfg, host, pk, late)).refusal == (
        "deadline_passed")
    result = await flow.amend(w.db, w.cfg, host, pk, {"studied": "改"}, False, late)
    assert result.refusal == "deadline_passed"
    assert await reports(w) == before
    assert len(await outbox(w)) == count


async def test_an_amendment_with_new_photos_replaces_them_on_submission(world: World) -> None:
    w = world
    pk = await draft(w)
    host = await member(w, "T1")
    await flow.submit(w.db, w.cfg, host, pk, END + dt.timedelta(hours=1))
    count = len(await outbox(w))
    now = DUE - dt.timedelta(hours=2)
    assert (await flow.start_amendment(w.db, w.cfg, host, pk, now)).refusal is None
    await flow.add_photo(w.db, pk, rel_path="reports/G1/new.jpg", file_id="new",
                         unique_id="unew", file_size=10, media_group_id=None, staged=True,
                         now=now)
    # Until it is submitted the report keeps its photos.
    assert await flow.photo_count(w.db, pk, staged=False) == 2
    assert (await flow.amend(w.db, w.cfg, host, pk, {}, True, now)).refusal is None
    photos = await w.db.fetchall("SELECT file_id, staged FROM report_photos ORDER BY id")
    assert [tuple(p) for p in photos] == [("new", 0)]
    amended = (await outbox(w))[count:]
    assert [a["payload"].get("photo") for a in amended if "photo" in a["payload"]] == [
        str(w.cfg.files_dir / "reports/G1/new.jpg")]


# -- handing over ---------------------------------------------------------------------------


async def test_the_leader_hands_the_hosting_over(world: World) -> None:
    w = world
    now = START
    leader = await member(w, "L1")
    choice = await flow.handover_choice(w.db, leader, w.upcoming, now)
    assert choice.refusal is None
    assert [m.member_id for m in choice.candidates] == ["L1", "T2"]  # not the host
    result = await flow.hand_over(w.db, w.cfg, leader, w.upcoming, w.pk["T2"], now)
    assert result.refusal is None
    host = await w.db.fetchall("SELECT host_pk FROM activities WHERE id = ?", (w.upcoming,))
    assert host[0][0] == w.pk["T2"]
    sent = await outbox(w)
    assert [(s["chat_id"], s["kind"]) for s in sent] == [
        (TELEGRAM["T2"], "reports.handover"), (TELEGRAM["T1"], "reports.handover")]
    audit = await w.db.fetchall(
        "SELECT actor_pk, subject FROM audit_log WHERE action = 'activity.host'")
    assert [tuple(a) for a in audit] == [(w.pk["L1"], "activity:G2")]


@pytest.mark.parametrize(
    ("actor", "new_host", "when", "refusal"),
    [
        ("L2", "T2", START, "forbidden"),  # another group's leader
        ("T2", "T2", START, "forbidden"),  # a trainee
        ("L1", "T3", START, "bad_host"),  # a member of another group
        ("L1", "H1", START, "bad_host"),
        ("L1", "T1", START, "same"),
        ("L1", "T2", START + dt.timedelta(days=3), "started"),
    ],
)
async def test_a_refused_handover_changes_nothing(
    world: World, actor: str, new_host: str, when: dt.datetime, refusal: str
) -> None:
    w = world
    result = await flow.hand_over(w.db, w.cfg, await member(w, actor), w.upcoming,
                                  w.pk[new_host], when)
    assert result.refusal == refusal
    host = await w.db.fetchall("SELECT host_pk FROM activities WHERE id = ?", (w.upcoming,))
    assert host[0][0] == w.pk["T1"]
    assert await outbox(w) == []


async def test_handover_lists_are_for_leaders(world: World) -> None:
    w = world
    assert await flow.handover_list(w.db, await member(w, "T1"), START) is None
    listed = await flow.handover_list(w.db, await member(w, "L1"), START)
    assert listed is not None and [a.pk for a in listed] == [w.upcoming]
    assert (await flow.handover_choice(w.db, await member(w, "L2"), w.upcoming,
                                       START)).refusal == "forbidden"


# -- reminders and escalation ---------------------------------------------------------------


async def test_the_host_is_reminded_and_the_leader_told_once_overdue(world: World) -> None:
    w = world
    assert await flow.remind_due(services(w), END - dt.timedelta(minutes=1)) == 0
    assert await flow.remind_due(services(w), END + dt.timedelta(minutes=1)) == 1
    [ended] = await outbox(w)
    assert (ended["chat_id"], ended["kind"], ended["dedupe_key"]) == (
        TELEGRAM["T1"], "reports.ended", f"rep:ended:{w.held}:{w.pk['T1']}")
    # The same stage again (a second tick, a restart) sends nothing.
    assert await flow.remind_due(services(w), END + dt.timedelta(minutes=2)) == 0
    overdue = DUE + dt.timedelta(minutes=1)
    assert await flow.remind_due(services(w), overdue) == 2
    sent = (await outbox(w))[1:]
    assert [(s["chat_id"], s["kind"]) for s in sent] == [
        (TELEGRAM["T1"], "reports.overdue"), (TELEGRAM["L1"], "reports.overdue_leader")]
    assert await flow.remind_due(services(w), overdue + dt.timedelta(hours=1)) == 0
    listed = await flow.overdue_reports(w.db, w.cfg, overdue)
    assert [x.item.activity_pk for x in listed] == [w.held]


async def test_a_filed_report_gets_no_reminder(world: World) -> None:
    w = world
    pk = await draft(w, now=END)
    await flow.submit(w.db, w.cfg, await member(w, "T1"), pk, END + dt.timedelta(minutes=1))
    count = len(await outbox(w))
    for now in (END + dt.timedelta(minutes=5), DUE - dt.timedelta(hours=1),
                DUE + dt.timedelta(hours=1)):
        assert await flow.remind_due(services(w), now) == 0
    assert len(await outbox(w)) == count
    assert await flow.overdue_reports(w.db, w.cfg, DUE + dt.timedelta(hours=1)) == []


async def test_the_overview_is_for_hr_and_leaders(world: World) -> None:
    w = world
    now = DUE + dt.timedelta(hours=1)
    assert await flow.overview(w.db, w.cfg, await member(w, "T1"), now) is None
    groups = await flow.overview(w.db, w.cfg, await member(w, "H1"), now)
    assert groups is not None
    assert [x.item.activity_pk for x in groups["overdue"]] == [w.held]
    other = await flow.overview(w.db, w.cfg, await member(w, "L2"), now)
    assert other is not None and not any(other.values())
