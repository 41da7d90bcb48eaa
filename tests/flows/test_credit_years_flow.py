"""Issue 16's flows on a temporary SQLite, no Telegram: rule 1 re-evaluated until the year is
decided (withdrawn and new proposals, HR and the member told through the outbox), /adjust into
a past year while it is not decided, and a decided year's totals frozen."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.config import Config
from bot.credits import exit_review, views
from storage import activities as activities_repo
from storage import attendance as attendance_repo
from storage import credits as ledger
from storage import exits as exits_repo
from storage import members as members_repo
from storage.db import Database, open_database, ts
from tests.helpers import SMALL_ROSTER, TZ, load_roster, make_config

T = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
World = tuple[Database, Config, dict[str, int]]


@pytest.fixture
async def w(tmp_path: Path) -> AsyncIterator[World]:
    cfg = make_config(tmp_path)
    await load_roster(cfg, SMALL_ROSTER, T - dt.timedelta(days=30))
    db = await open_database(cfg.db_path)
    async with db.tx() as conn:
        pks = {m.member_id: m.pk for m in await members_repo.all_members(conn)}
        for i, pk in enumerate(pks.values(), start=1):
            await members_repo.link_telegram(conn, pk, 9000 + i, "zh", ts(T))
    try:
        yield db, cfg, pks
    finally:
        await db.close()


async def _roll(w: World, statuses: dict[str, str]) -> int:
    db, _, pks = w
    start = T - dt.timedelta(days=3)
    async with db.tx() as conn:
        pk = await activities_repo.insert(
            conn, activity_id="A1", type="group_study", title="读书交流会", group_id=1,
            start_at=ts(start), end_at=ts(start + dt.timedelta(hours=2)), location="",
            lat=None, lon=None, radius_m=None, host_pk=None, secret="s", source="import",
            created_by=None, now=ts(T), closed_at=ts(start + dt.timedelta(hours=2)),
        )
        for m, status in statuses.items():
            await attendance_repo.check_in(conn, pk, pks[m], status, ts(start), "code")
    return pk


async def _state(w: World) -> dict[str, str]:
    db, _, pks = w
    names = {pk: m for m, pk in pks.items()}
    async with db.read() as conn:
        return {names[p.member_pk]: p.state for p in await exits_repo.proposals(
            conn, ("open", "withdrawn", "confirmed", "dismissed"))}


async def _outbox(w: World, kind: str) -> list[int]:
    rows = await w[0].fetchall("SELECT member_pk FROM outbox WHERE kind = ? ORDER BY id", (kind,))
    return [int(r[0]) for r in rows]


async def test_rule_one_follows_corrections_until_the_year_is_decided(w: World) -> None:
    db, cfg, pks = w
    a = await _roll(w, {"T1": "present", "T2": "absent", "L1": "present", "T3": "present",
                        "L2": "present"})
    await exit_review.evaluate(db, cfg, T)
    assert await _state(w) == {}  # the year is running
    await exit_review.evaluate(db, cfg, dt.datetime(2027, 1, 1, 0, 1, tzinfo=TZ))
    assert await _state(w) == {"T2": "open"}
    async with db.tx() as conn:
        await attendance_repo.correct(conn, a, pks["T2"], "present", "更正", pks["H1"], ts(T))
        await attendance_repo.correct(conn, a, pks["T1"], "absent", "更正", pks["H1"], ts(T))
    jan4 = dt.datetime(2027, 1, 4, 10, 0, tzinfo=TZ)
    assert await exit_review.evaluate(db, cfg, jan4) == 1
    assert await _state(w) == {"T2": "withdrawn", "T1": "open"}
    assert await _outbox(w, "credits.exit.withdrawn_member") == [pks["T2"]]
    assert pks["H1"] in await _outbox(w, "credits.exit.withdrawn_hr")
    # Decided on 16 January: the line kept, the totals frozen, no more re-evaluation.
    jan16 = dt.datetime(2027, 1, 16, 0, 1, tzinfo=TZ)
    await exit_review.evaluate(db, cfg, jan16)
    async with db.tx() as conn:
        assert await exits_repo.year_closed(conn, 2026)
        await attendance_repo.correct(conn, a, pks["T1"], "present", "再更正", pks["H1"], ts(T))
    await exit_review.evaluate(db, cfg, jan16 + dt.timedelta(hours=1))
    assert await _state(w) == {"T2": "withdrawn", "T1": "open"}
    async with db.read() as conn:
        assert await ledger.totals_of(conn, pks["T1"], 2026) == -2


@pytest.mark.parametrize(
    ("when", "year", "outcome"),
    [
        (dt.datetime(2027, 1, 8, tzinfo=TZ), 2026, "ok"),
        (dt.datetime(2027, 1, 8, tzinfo=TZ), 2027, "ok"),
        (dt.datetime(2027, 1, 8, tzinfo=TZ), None, "ok"),
        (dt.datetime(2027, 1, 8, tzinfo=TZ), 2028, "year_future"),
        (dt.datetime(2027, 1, 20, tzinfo=TZ), 2026, "year_decided"),
    ],
)
async def test_adjust_into_a_year(
    w: World, when: dt.datetime, year: int | None, outcome: str
) -> None:
    db, cfg, pks = w
    await _roll(w, {"T1": "present"})
    await exit_review.evaluate(db, cfg, when)  # decides 2026 from 16 January
    done = await views.adjust_member(db, cfg, pks["H1"], "T1", 3, "补记", when, year)
    assert done.outcome == outcome
    if outcome == "ok":
        assert done.adjusted is not None
        assert done.adjusted.year == (year or 2027)
        async with db.read() as conn:
            [entry] = [e for e in await ledger.member_entries(conn, pks["T1"], year or 2027)
                       if e.rule == "adjust"]
        assert entry.on_date == ("2026-12-31" if year == 2026 else "2027-01-08")
