"""bot/credits/exit_review.py on a temporary SQLite, no Telegram: an evaluation proposes an
exit (HR is told, with Confirm / Dismiss), a second one repeats nothing, a corrected import
withdraws the proposal (HR's buttons say so), HR confirms (the member leaves, they and their
leader are told) or dismisses (never proposed again), and only HR decides."""

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
from bot.credits import exit_review
from storage import exits as exits_repo
from storage import members as members_repo
from storage.db import Database, open_database, ts
from storage.models import Member
from tests.helpers import SMALL_ROSTER, TZ, load_roster, make_config

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
LATER = NOW + dt.timedelta(hours=1)
TELEGRAM = {"L1": 9101, "T1": 9102, "T2": 9103, "L2": 9104, "T3": 9105, "H1": 9106}


@dataclasses.dataclass
class World:
    db: Database
    cfg: Config
    pk: dict[str, int]  # member_id -> members.id


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """SMALL_ROSTER, everyone registered; T1 failed two semester exams, T2 one."""
    cfg = make_config(tmp_path)
    await load_roster(cfg, SMALL_ROSTER, NOW - dt.timedelta(days=30))
    db = await open_database(cfg.db_path)
    at = ts(NOW - dt.timedelta(days=30))
    async with db.tx() as conn:
        pks = {m.member_id: m.pk for m in await members_repo.all_members(conn)}
        for member_id, telegram_id in TELEGRAM.items():
            await members_repo.link_telegram(conn, pks[member_id], telegram_id, "zh", at)
        await exits_repo.upsert_exams(conn, [
            (pks["T1"], "2025-1", 50.0), (pks["T1"], "2025-2", 55.0),
            (pks["T2"], "2025-1", 40.0), (pks["T2"], "2025-2", 90.0),
        ], at)
    try:
        yield World(db, cfg, pks)
    finally:
        await db.close()


async def proposals(w: World) -> list[dict[str, Any]]:
    rows = await w.db.fetchall(
        "SELECT id, member_pk, rule, period, state, notices, decided_by FROM exit_proposals"
        " ORDER BY id")
    return [{**dict(r), "notices": json.loads(r["notices"])} for r in rows]


async def outbox(w: World) -> list[dict[str, Any]]:
    rows = await w.db.fetchall(
        "SELECT id, chat_id, member_pk, kind, payload FROM outbox ORDER BY id")
    return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]


async def member(w: World, member_id: str) -> Member:
    async with w.db.read() as conn:
        found = await members_repo.by_pk(conn, w.pk[member_id])
    assert found is not None
    return found


async def decide(w: World, actor: str, proposal_id: int, confirm: bool,
                 now: dt.datetime = LATER) -> exit_review.Decided:
    presser = await member(w, actor)  # read before the transaction takes the writer
    async with w.db.tx() as conn:
        return await exit_review.decide(conn, w.cfg, presser, proposal_id, confirm, now, "zh")


async def correct_exam(w: World, member_id: str, semester: str, score: float) -> None:
    async with w.db.tx() as conn:
        await exits_repo.upsert_exams(conn, [(w.pk[member_id], semester, score)], ts(NOW))


# -- evaluation -----------------------------------------------------------------------------


async def test_an_evaluation_proposes_and_tells_hr(world: World) -> None:
    w = world
    assert await exit_review.evaluate(w.db, w.cfg, NOW) == 1
    [p] = await proposals(w)
    assert (p["member_pk"], p["rule"], p["period"], p["state"]) == (
        w.pk["T1"], "exams", "2025-2", "open")
    [notice] = await outbox(w)
    assert (notice["chat_id"], notice["kind"]) == (TELEGRAM["H1"], "credits.exit.proposed")
    assert p["notices"] == [notice["id"]]
    assert "黄志强" in notice["payload"]["text"]
    assert [b[1] for b in notice["payload"]["buttons"][0]] == [
        f"exit:ask:{p['id']}", f"exit:dis:{p['id']}"]


async def test_a_second_evaluation_repeats_nothing(world: World) -> None:
    w = world
    await exit_review.evaluate(w.db, w.cfg, NOW)
    before_p, before_o = await proposals(w), await outbox(w)
    assert await exit_review.evaluate(w.db, w.cfg, LATER) == 0
    # The due check sees nothing changed and does not evaluate again either.
    assert await exit_review.evaluate_check(
        SimpleNamespace(db=w.db, config=w.cfg), LATER) == 0
    assert await proposals(w) == before_p
    assert await outbox(w) == before_o


async def test_a_corrected_import_withdraws_the_proposal(world: World) -> None:
    w = world
    await exit_review.evaluate(w.db, w.cfg, NOW)
    [notice] = await outbox(w)
    await correct_exam(w, "T1", "2025-2", 70.0)
    assert await exit_review.evaluate(w.db, w.cfg, LATER) == 0
    [p] = await proposals(w)
    assert p["state"] == "withdrawn"
    edited = (await outbox(w))[-1]
    assert (edited["chat_id"], edited["kind"], edited["payload"]["edit_of"]) == (
        TELEGRAM["H1"], "credits.exit.decided", notice["id"])
    assert "buttons" not in edited["payload"]
    # Wrong again: the same proposal opens again and HR is asked anew.
    await correct_exam(w, "T1", "2025-2", 52.0)
    assert await exit_review.evaluate(w.db, w.cfg, LATER + dt.timedelta(minutes=1)) == 1
    [p] = await proposals(w)
    asked = (await outbox(w))[-1]
    assert (p["state"], p["notices"], asked["kind"]) == (
        "open", [asked["id"]], "credits.exit.proposed")


async def test_an_inactive_member_is_not_proposed(world: World) -> None:
    w = world
    async with w.db.tx() as conn:
        await exits_repo.deactivate(conn, w.pk["T1"], ts(NOW))
    assert await exit_review.evaluate(w.db, w.cfg, NOW) == 0
    assert await proposals(w) == [] and await outbox(w) == []


# -- HR decides -----------------------------------------------------------------------------


async def test_hr_confirms_and_the_member_leaves(world: World) -> None:
    w = world
    await exit_review.evaluate(w.db, w.cfg, NOW)
    [p] = await proposals(w)
    [notice] = await outbox(w)
    decided = await decide(w, "H1", p["id"], True)
    assert decided.answer_key == "credits.exit.answer_confirmed"
    assert "周敏" in decided.text
    [p] = await proposals(w)
    assert (p["state"], p["decided_by"]) == ("confirmed", w.pk["H1"])
    assert not (await member(w, "T1")).active
    sent = (await outbox(w))[1:]
    assert [(s["chat_id"], s["kind"]) for s in sent] == [
        (TELEGRAM["T1"], "credits.exit.told_member"),
        (TELEGRAM["L1"], "credits.exit.told_leader"),
        (TELEGRAM["H1"], "credits.exit.decided"),
    ]
    assert sent[-1]["payload"]["edit_of"] == notice["id"]
    audit = await w.db.fetchall(
        "SELECT actor_pk, subject FROM audit_log WHERE action = 'exit.confirm'")
    assert [tuple(a) for a in audit] == [(w.pk["H1"], "member:T1")]
    # A second press finds it decided and changes nothing.
    with pytest.raises(exit_review.ExitError) as refused:
        await decide(w, "H1", p["id"], False)
    assert refused.value.key == "credits.exit.already_confirmed"
    assert len(await outbox(w)) == 4


async def test_hr_dismisses_and_it_is_never_proposed_again(world: World) -> None:
    w = world
    await exit_review.evaluate(w.db, w.cfg, NOW)
    [p] = await proposals(w)
    decided = await decide(w, "H1", p["id"], False)
    assert decided.answer_key == "credits.exit.answer_dismissed"
    assert (await proposals(w))[0]["state"] == "dismissed"
    assert (await member(w, "T1")).active
    count = len(await outbox(w))
    assert [s["kind"] for s in await outbox(w)][1:] == ["credits.exit.decided"]
    # A later evaluation, with the same finding, proposes nothing.
    await correct_exam(w, "T2", "2025-2", 30.0)  # something changed: the rules run again
    assert await exit_review.evaluate(w.db, w.cfg, LATER) == 1  # T2's, not T1's again
    rows = await proposals(w)
    assert [(r["member_pk"], r["state"]) for r in rows] == [
        (w.pk["T1"], "dismissed"), (w.pk["T2"], "open")]
    assert len(await outbox(w)) == count + 1


@pytest.mark.parametrize("actor", ["L1", "T2"])
async def test_only_hr_decides(world: World, actor: str) -> None:
    w = world
    await exit_review.evaluate(w.db, w.cfg, NOW)
    [p] = await proposals(w)
    before = await outbox(w)
    for confirm in (True, False):
        with pytest.raises(exit_review.ExitError) as refused:
            await decide(w, actor, p["id"], confirm)
        assert refused.value.key == "error.forged"
    assert (await proposals(w))[0]["state"] == "open"
    assert (await member(w, "T1")).active
    assert await outbox(w) == before
