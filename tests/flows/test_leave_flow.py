"""bot/leave/flow.py on a temporary SQLite, no Telegram: asking (routing, the cutoff, a twin
request), deciding by the right and the wrong people, withdrawing, HR's after-the-fact excuse,
and the approver's reminder and HR's escalation as due checks. Each test asserts the rows the
flow left in leave_requests and the outbox rows it wrote in the same transaction."""

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
from bot.leave import flow
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import members as members_repo
from storage.db import Database, open_database, ts
from tests.helpers import SMALL_ROSTER, TZ, load_roster, make_config

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)  # a Monday
START = NOW + dt.timedelta(days=1)  # the activities start on Tuesday 09:00
CUTOFF_MINUTES = 60
TELEGRAM = {"L1": 7001, "T1": 7002, "T2": 7003, "L2": 7004, "T3": 7005, "H1": 7006}


@dataclasses.dataclass
class World:
    db: Database
    cfg: Config
    pk: dict[str, int]  # member_id -> members.id
    group_study: int  # 第一组's activity (decided by its leader L1)
    collective: int  # a collective training (decided by HR)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """SMALL_ROSTER, everyone registered (in Chinese), a group study of 第一组 and a collective
    training, both starting tomorrow at 09:00 for two hours."""
    cfg = make_config(tmp_path, leave={"cutoff_minutes": CUTOFF_MINUTES})
    await load_roster(cfg, SMALL_ROSTER, NOW - dt.timedelta(days=7))
    db = await open_database(cfg.db_path)
    at = ts(NOW - dt.timedelta(days=7))
    async with db.tx() as conn:
        pks = {m.member_id: m.pk for m in await members_repo.all_members(conn)}
        for member_id, telegram_id in TELEGRAM.items():
            await members_repo.link_telegram(conn, pks[member_id], telegram_id, "zh", at)
        groups = await activities_repo.group_ids_by_name(conn)
        made = {}
        for aid, type_, group in (("G1", "group_study", groups["第一组"]),
                                  ("C1", "collective", None)):
            made[aid] = await activities_repo.insert(
                conn, activity_id=aid, type=type_, title=f"活动{aid}", group_id=group,
                start_at=ts(START), end_at=ts(START + dt.timedelta(hours=2)), location="",
                lat=None, lon=None, radius_m=None, host_pk=None, secret="s", source="import",
                created_by=None, now=at,
            )
    try:
        yield World(db, cfg, pks, made["G1"], made["C1"])
    finally:
        await db.close()


async def requests(w: World) -> list[dict[str, Any]]:
    rows = await w.db.fetchall("SELECT * FROM leave_requests ORDER BY id")
    return [dict(r) for r in rows]


async def outbox(w: World) -> list[dict[str, Any]]:
    rows = await w.db.fetchall(
        "SELECT id, chat_id, member_pk, kind, payload, dedupe_key FROM outbox ORDER BY id")
    return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]


async def ask(w: World, member_id: str, activity_pk: int, now: dt.datetime = NOW,
              reason: str = "家中有事") -> flow.AskResult:
    return await flow.submit(w.db, w.cfg, w.pk[member_id], activity_pk, reason, now, "zh")


async def decide(w: World, member_id: str, request_id: int, approve: bool, note: str = "",
                 now: dt.datetime = NOW) -> flow.DecideResult:
    return await flow.decide(w.db, w.cfg, w.pk[member_id], request_id, approve, note, now, "zh")


async def member(w: World, member_id: str) -> Any:
    async with w.db.read() as conn:
        return await members_repo.by_pk(conn, w.pk[member_id])


def services(w: World) -> Any:
    """What the due checks read of the services: the database and the configuration."""
    return SimpleNamespace(db=w.db, config=w.cfg)


# -- asking ---------------------------------------------------------------------------------


async def test_a_group_study_request_goes_to_the_group_leader(world: World) -> None:
    w = world
    checked = await flow.check_ask(w.db, w.cfg, await member(w, "T1"), w.group_study, NOW, "zh")
    assert checked.outcome == "ok"
    result = await ask(w, "T1", w.group_study)
    assert result.outcome == "ok" and result.request is not None
    assert "罗宏伟" in result.approver
    [row] = await requests(w)
    assert (row["member_pk"], row["activity_pk"], row["route"], row["approver_pk"],
            row["state"], row["late"], row["reason"]) == (
        w.pk["T1"], w.group_study, "leader", w.pk["L1"], "pending", 0, "家中有事")
    [sent] = await outbox(w)
    assert (sent["chat_id"], sent["member_pk"], sent["kind"], sent["dedupe_key"]) == (
        TELEGRAM["L1"], w.pk["L1"], "leave.request", f"leave:req:{row['id']}")
    assert "黄志强" in sent["payload"]["text"] and "家中有事" in sent["payload"]["text"]
    assert [b[1] for b in sent["payload"]["buttons"][0]] == [
        f"leave:ok:{row['id']}", f"leave:no:{row['id']}"]
    notices = await w.db.fetchall("SELECT request_id, outbox_id FROM leave_notices")
    assert [tuple(n) for n in notices] == [(row["id"], sent["id"])]


async def test_a_collective_request_goes_to_every_hr_member(world: World) -> None:
    w = world
    result = await ask(w, "T1", w.collective)
    assert result.outcome == "ok"
    [row] = await requests(w)
    assert (row["route"], row["approver_pk"]) == ("hr", None)
    [sent] = await outbox(w)
    assert (sent["chat_id"], sent["kind"], sent["dedupe_key"]) == (
        TELEGRAM["H1"], "leave.request", f"leave:req:{row['id']}:{w.pk['H1']}")


async def test_a_leaders_own_request_goes_to_hr(world: World) -> None:
    w = world
    assert (await ask(w, "L1", w.group_study)).outcome == "ok"
    [row] = await requests(w)
    assert row["route"] == "hr"
    assert [s["chat_id"] for s in await outbox(w)] == [TELEGRAM["H1"]]


async def test_a_second_request_for_the_same_activity_is_refused(world: World) -> None:
    w = world
    first = await ask(w, "T1", w.group_study)
    again = await ask(w, "T1", w.group_study, reason="再说一次")
    assert again.outcome == "exists"
    assert again.request is not None and first.request is not None
    assert again.request.id == first.request.id
    assert len(await requests(w)) == 1
    assert len(await outbox(w)) == 1


async def test_after_the_cutoff_nothing_is_recorded(world: World) -> None:
    w = world
    late = START - dt.timedelta(minutes=CUTOFF_MINUTES - 1)
    checked = await flow.check_ask(w.db, w.cfg, await member(w, "T1"), w.group_study, late, "zh")
    assert checked.outcome == "too_late"
    assert "罗宏伟" in checked.contact  # whom to ask instead
    assert (await ask(w, "T1", w.group_study, now=late)).outcome == "too_late"
    # One minute earlier it is just in time.
    just = START - dt.timedelta(minutes=CUTOFF_MINUTES + 1)
    assert (await ask(w, "T2", w.group_study, now=just)).outcome == "ok"
    assert [r["member_pk"] for r in await requests(w)] == [w.pk["T2"]]
    assert len(await outbox(w)) == 1


async def test_someone_of_another_group_cannot_ask(world: World) -> None:
    w = world
    assert (await ask(w, "T3", w.group_study)).outcome == "not_participant"
    assert await requests(w) == [] and await outbox(w) == []


# -- deciding -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["L2", "T2", "T1"])
async def test_the_wrong_approver_changes_nothing(world: World, who: str) -> None:
    """Another group's leader, a trainee of the group, the requester: forbidden."""
    w = world
    request_id = (await ask(w, "T1", w.group_study)).request.id  # type: ignore[union-attr]
    before_requests, before_outbox = await requests(w), await outbox(w)
    for approve in (True, False):
        result = await decide(w, who, request_id, approve, note="不行")
        assert result.outcome == "forbidden" and result.text == ""
    checked = await flow.may_decide(w.db, w.cfg, w.pk[who], request_id, "zh")
    assert checked.outcome == "forbidden"
    assert await requests(w) == before_requests
    assert await outbox(w) == before_outbox


async def test_the_leader_approves(world: World) -> None:
    w = world
    request_id = (await ask(w, "T1", w.group_study)).request.id  # type: ignore[union-attr]
    result = await decide(w, "L1", request_id, True)
    assert result.outcome == "ok" and result.request is not None
    assert result.request.state == "approved" and "罗宏伟" in result.text
    [row] = await requests(w)
    assert (row["state"], row["decided_by"], row["decided_at"]) == (
        "approved", w.pk["L1"], ts(NOW))
    request_card, told = await outbox(w)
    assert request_card["kind"] == "leave.request"
    # The requester is told; the leader's own card is answered by the handler, not edited.
    assert (told["chat_id"], told["kind"]) == (TELEGRAM["T1"], "leave.approved")
    # HR pressing later finds it decided, and nothing changes.
    again = await decide(w, "H1", request_id, False)
    assert again.outcome == "already" and "罗宏伟" in again.text
    assert (await requests(w))[0]["state"] == "approved"
    assert len(await outbox(w)) == 2


async def test_the_leader_rejects_with_a_reason(world: World) -> None:
    w = world
    request_id = (await ask(w, "T1", w.group_study)).request.id  # type: ignore[union-attr]
    result = await decide(w, "L1", request_id, False, note="本次活动很重要")
    assert result.outcome == "ok"
    [row] = await requests(w)
    assert (row["state"], row["decision_note"]) == ("rejected", "本次活动很重要")
    told = (await outbox(w))[-1]
    assert (told["chat_id"], told["kind"]) == (TELEGRAM["T1"], "leave.rejected")
    assert "本次活动很重要" in told["payload"]["text"]


async def test_hr_decides_a_leaders_request_and_the_leaders_card_is_edited(world: World) -> None:
    w = world
    request_id = (await ask(w, "T1", w.group_study)).request.id  # type: ignore[union-attr]
    [card] = await outbox(w)
    assert (await decide(w, "H1", request_id, True)).outcome == "ok"
    told, edited = (await outbox(w))[1:]
    assert (told["chat_id"], told["kind"]) == (TELEGRAM["T1"], "leave.approved")
    assert (edited["chat_id"], edited["kind"]) == (TELEGRAM["L1"], "leave.decided")
    assert edited["payload"]["edit_of"] == card["id"]
    assert "buttons" not in edited["payload"] and "周敏" in edited["payload"]["text"]


async def test_rejecting_asks_first_and_a_decided_request_shows_its_card(world: World) -> None:
    w = world
    request_id = (await ask(w, "T1", w.group_study)).request.id  # type: ignore[union-attr]
    checked = await flow.may_decide(w.db, w.cfg, w.pk["L1"], request_id, "zh")
    assert checked.outcome == "ok" and checked.text == ""
    await decide(w, "L1", request_id, True)
    checked = await flow.may_decide(w.db, w.cfg, w.pk["H1"], request_id, "zh")
    assert checked.outcome == "already" and "罗宏伟" in checked.text


async def test_approving_someone_who_came_voids_the_request(world: World) -> None:
    w = world
    request_id = (await ask(w, "T1", w.group_study)).request.id  # type: ignore[union-attr]
    async with w.db.tx() as conn:
        await attendance_repo.check_in(conn, w.group_study, w.pk["T1"], "present",
                                       ts(START), "code")
    result = await decide(w, "L1", request_id, True, now=START + dt.timedelta(minutes=5))
    assert result.outcome == "attended"
    assert (await requests(w))[0]["state"] == "void"


# -- withdrawing ----------------------------------------------------------------------------


async def test_only_the_requester_withdraws(world: World) -> None:
    w = world
    request_id = (await ask(w, "T1", w.group_study)).request.id  # type: ignore[union-attr]
    [card] = await outbox(w)
    outcome, req = await flow.withdraw(w.db, w.cfg, w.pk["T2"], request_id, NOW)
    assert (outcome, req) == ("forbidden", None)
    assert (await requests(w))[0]["state"] == "pending"
    outcome, req = await flow.withdraw(w.db, w.cfg, w.pk["T1"], request_id, NOW)
    assert outcome == "ok" and req is not None and req.state == "withdrawn"
    assert (await requests(w))[0]["state"] == "withdrawn"
    edited = (await outbox(w))[-1]
    assert (edited["chat_id"], edited["kind"], edited["payload"]["edit_of"]) == (
        TELEGRAM["L1"], "leave.decided", card["id"])
    outcome, _ = await flow.withdraw(w.db, w.cfg, w.pk["T1"], request_id, NOW)
    assert outcome == "already"


async def test_an_approved_request_is_withdrawn_before_the_start_only(world: World) -> None:
    w = world
    first = (await ask(w, "T1", w.group_study)).request.id  # type: ignore[union-attr]
    second = (await ask(w, "T2", w.group_study)).request.id  # type: ignore[union-attr]
    await decide(w, "L1", first, True)
    await decide(w, "L1", second, True)
    count = len(await outbox(w))
    outcome, _ = await flow.withdraw(w.db, w.cfg, w.pk["T1"], first, START)
    assert outcome == "too_late"
    assert len(await outbox(w)) == count
    outcome, _ = await flow.withdraw(w.db, w.cfg, w.pk["T2"], second,
                                     START - dt.timedelta(minutes=1))
    assert outcome == "ok"
    told = (await outbox(w))[-1]
    assert (told["chat_id"], told["kind"]) == (TELEGRAM["L1"], "leave.withdrawn")
    assert [r["state"] for r in await requests(w)] == ["approved", "withdrawn"]


# -- HR's excuse ----------------------------------------------------------------------------


async def test_hr_records_an_excuse_after_the_cutoff(world: World) -> None:
    w = world
    late = START + dt.timedelta(minutes=10)
    outcome, req, text = await flow.excuse(w.db, w.cfg, w.pk["H1"], "T1", "G1", "生病",
                                           late, "zh")
    assert outcome == "ok" and req is not None and "黄志强" in text
    [row] = await requests(w)
    assert (row["route"], row["approver_pk"], row["late"], row["created_by"], row["state"]) == (
        "hr", None, 1, w.pk["H1"], "pending")
    assert await outbox(w) == []  # HR is answered with the card; nobody else is told yet
    # Asked again: the pending request is shown, not a second one.
    outcome, again, _ = await flow.excuse(w.db, w.cfg, w.pk["H1"], "T1", "G1", "", late, "zh")
    assert outcome == "pending" and again is not None and again.id == req.id
    assert (await decide(w, "H1", req.id, True, now=late)).outcome == "ok"
    outcome, _, _ = await flow.excuse(w.db, w.cfg, w.pk["H1"], "T1", "G1", "", late, "zh")
    assert outcome == "approved"
    assert len(await requests(w)) == 1


async def test_an_excuse_for_nobody_or_someone_who_came_is_refused(world: World) -> None:
    w = world
    async with w.db.tx() as conn:
        await attendance_repo.check_in(conn, w.group_study, w.pk["T2"], "late", ts(START),
                                       "code")
    for member_id, activity_id, expected in (
        ("X9", "G1", "no_member"), ("T1", "NOPE", "no_activity"),
        ("T3", "G1", "not_participant"), ("T2", "G1", "attended"),
    ):
        outcome, req, _ = await flow.excuse(w.db, w.cfg, w.pk["H1"], member_id, activity_id,
                                            "", START, "zh")
        assert (outcome, req) == (expected, None)
    assert await requests(w) == [] and await outbox(w) == []


# -- the due checks -------------------------------------------------------------------------


async def test_the_approver_is_reminded_once_before_the_start(world: World) -> None:
    w = world
    request_id = (await ask(w, "T1", w.group_study)).request.id  # type: ignore[union-attr]
    before = w.cfg.leave.remind_before_minutes
    assert await flow.remind_due(services(w), START - dt.timedelta(minutes=before + 1)) == 0
    assert (await requests(w))[0]["reminded_at"] is None
    at = START - dt.timedelta(minutes=before - 1)
    assert await flow.remind_due(services(w), at) == 1
    assert (await requests(w))[0]["reminded_at"] == ts(at)
    reminder = (await outbox(w))[-1]
    assert (reminder["chat_id"], reminder["kind"], reminder["dedupe_key"]) == (
        TELEGRAM["L1"], "leave.remind", f"leave:remind:{request_id}")
    assert reminder["payload"]["buttons"]  # the approver can decide from the reminder
    notices = await w.db.fetchall("SELECT outbox_id FROM leave_notices ORDER BY outbox_id")
    assert [n[0] for n in notices][-1] == reminder["id"]
    # A second run (or a restart) repeats nothing.
    assert await flow.remind_due(services(w), at + dt.timedelta(minutes=5)) == 0
    assert len(await outbox(w)) == 2


async def test_a_decided_request_gets_no_reminder_or_escalation(world: World) -> None:
    w = world
    request_id = (await ask(w, "T1", w.group_study)).request.id  # type: ignore[union-attr]
    await decide(w, "L1", request_id, False)
    count = len(await outbox(w))
    assert await flow.remind_due(services(w), START - dt.timedelta(minutes=30)) == 0
    assert await flow.escalate_due(services(w), START + dt.timedelta(minutes=1)) == 0
    assert len(await outbox(w)) == count


async def test_hr_is_told_of_a_request_still_pending_at_the_start(world: World) -> None:
    w = world
    request_id = (await ask(w, "T1", w.group_study)).request.id  # type: ignore[union-attr]
    assert await flow.escalate_due(services(w), START - dt.timedelta(minutes=1)) == 0
    assert (await requests(w))[0]["escalated_at"] is None
    assert await flow.escalate_due(services(w), START) == 1
    assert (await requests(w))[0]["escalated_at"] == ts(START)
    escalated = (await outbox(w))[-1]
    assert (escalated["chat_id"], escalated["kind"], escalated["dedupe_key"]) == (
        TELEGRAM["H1"], "leave.escalate", f"leave:escalate:{request_id}:{w.pk['H1']}")
    assert await flow.escalate_due(services(w), START + dt.timedelta(minutes=5)) == 0
    # Escalated, HR now has it in its queue and may decide it.
    async with w.db.read() as conn:
        hr = await members_repo.by_pk(conn, w.pk["H1"])
    assert hr is not None
    cards, total = await flow.queue(w.db, w.cfg, hr, "zh")
    assert total == 1 and cards[0][0].id == request_id
