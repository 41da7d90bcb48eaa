"""bot.credits.views' flows for /adjust and /exits on a temporary SQLite: a hand entry only by
an active HR member and only for someone ranked, the open exit proposals after an evaluation,
and a decision made once, by HR."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.config import Config
from bot.credits import exit_review, views
from bot.credits.importer import import_file
from storage.db import Database
from tests.helpers import TZ, registered_db

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[tuple[Database, Config, dict[str, int]]]:
    """SMALL_ROSTER, everyone registered."""
    async with registered_db(tmp_path, NOW) as world:
        yield world


async def test_adjust_member(seeded: tuple[Database, Config, dict[str, int]]) -> None:
    db, cfg, pks = seeded
    refused = await views.adjust_member(db, cfg, pks["L1"], "T1", 3, "表现突出", NOW)
    assert refused.outcome == "forbidden"
    assert (await views.adjust_member(db, cfg, pks["H1"], "X9", 3, "r", NOW)).outcome \
        == "unknown_member"
    assert (await views.adjust_member(db, cfg, pks["H1"], "H1", 3, "r", NOW)).outcome \
        == "not_ranked"
    done = await views.adjust_member(db, cfg, pks["H1"], "t1", 3, "表现突出", NOW)
    assert done.outcome == "ok" and done.target is not None and done.target.member_id == "T1"
    assert done.adjusted is not None and done.adjusted.total == 3
    own = await views.member_ledger(db, cfg, NOW, done.target)
    assert own.year == views.year_label(cfg, NOW)
    assert [(e.points, e.note) for e in own.entries] == [(3, "表现突出")]
    told = await db.fetchall("SELECT member_pk FROM outbox WHERE kind = 'credits.adjust.told'")
    assert [int(r[0]) for r in told] == [pks["T1"]]


async def test_exit_proposals_are_decided_once_by_hr(
    seeded: tuple[Database, Config, dict[str, int]], tmp_path: Path,
) -> None:
    db, cfg, pks = seeded
    exams = tmp_path / "exams.csv"
    exams.write_text("member_id,semester,score\nT3,2025S1,52\nT3,2025S2,48\n", encoding="utf-8")
    assert await import_file(exams, "exams", cfg) == 0
    found = await views.open_exits(db, cfg, NOW)
    assert [found.people[p.member_pk].member_id for p in found.proposals] == ["T3"]
    pid = found.proposals[0].id
    shown = await views.exit_proposal(db, pid)
    assert shown is not None and shown[1].member_id == "T3"
    assert await views.exit_proposal(db, 999999) is None
    with pytest.raises(exit_review.ExitError) as refused:
        await views.decide_exit(db, cfg, pks["L2"], pid, True, NOW, "zh")
    assert refused.value.key == "error.forged"
    decided = await views.decide_exit(db, cfg, pks["H1"], pid, False, NOW, "zh")
    assert decided.answer_key == "credits.exit.answer_dismissed"
    with pytest.raises(exit_review.ExitError) as again:
        await views.decide_exit(db, cfg, pks["H1"], pid, True, NOW, "zh")
    assert again.value.key == "credits.exit.already_dismissed"
    t3 = await db.fetchone("SELECT active FROM members WHERE id = ?", (pks["T3"],))
    assert t3 is not None and t3[0] == 1
