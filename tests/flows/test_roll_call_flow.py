"""The check-in flow on a temporary SQLite, no Telegram: `checkin.attempt` for every way in
(/checkin with and without a code, a pick, the code typed at the prompt, the QR link, a shared
location) and every answer, plus the other roll-call calls (check-out, corrections, the views)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.activities import checkin, roll_call, views
from bot.activities.checkin import Attempt, SharedLocation
from bot.activities.importer import run_import
from bot.activities.rules import check_code, code_for, current_code, qr_token, slot_of
from bot.activities.scheduling import rules_of
from bot.core.config import Config
from bot.documents.tables import TableRow
from storage import activities as activities_repo
from storage import members as members_repo
from storage.activities import Activity
from storage.db import Database, open_database
from storage.models import Member
from tests.helpers import SMALL_ROSTER, TZ, load_roster, make_config

HEADER = "activity_id,type,title,group,start,end,location,lat,lon,host_member_id"
VENUE = (30.2741, 120.1551)
LINES = (
    # 第一组 (L1, T1, T2) in person without coordinates: the code alone; opens 09:30.
    "G1,group_study,读书交流,第一组,2026-03-02 10:00,2026-03-02 12:00,会议室,,,T1",
    # 第二组's (L2, T3): someone else's activity for 第一组.
    "G2,group_study,案例剖析,第二组,2026-03-02 10:00,2026-03-02 12:00,会议室,,,T3",
    # Everyone, at a venue with coordinates: the code, then the location.
    f"V1,collective,主题培训,,2026-03-02 14:00,2026-03-02 16:00,报告厅,{VENUE[0]},{VENUE[1]},",
    # Two at once for 第一组.
    "X1,collective,专题讲座,,2026-03-02 17:00,2026-03-02 18:00,礼堂,,,",
    "X2,group_study,小组研讨,第一组,2026-03-02 17:00,2026-03-02 18:00,会议室,,,T1",
    "O1,online,线上讲座,,2026-03-02 19:00,2026-03-02 20:00,,,,",
)


def at(hh: int, mm: int, ss: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, 2, hh, mm, ss, tzinfo=TZ)


@dataclass
class World:
    db: Database
    cfg: Config
    members: dict[str, Member]
    activities: dict[str, Activity]

    def code(self, activity_id: str, now: dt.datetime) -> str:
        a = self.activities[activity_id]
        return current_code(a.secret, now, rules_of(self.cfg.checkin))

    def token(self, activity_id: str, now: dt.datetime) -> str:
        a = self.activities[activity_id]
        return qr_token(a.pk, a.secret, now, rules_of(self.cfg.checkin))

    async def attempt(self, member_id: str, now: dt.datetime, **given: object) -> Attempt:
        return await checkin.attempt(
            self.db, self.cfg, now, self.members[member_id], **given  # type: ignore[arg-type]
        )

    async def status(self, member_id: str, activity_id: str) -> tuple[str, str] | None:
        row = await self.db.fetchone(
            "SELECT status, source FROM attendance WHERE activity_pk = ? AND member_pk = ?",
            (self.activities[activity_id].pk, self.members[member_id].pk),
        )
        return None if row is None else (str(row[0]), str(row[1]))


@pytest.fixture
async def w(tmp_path: Path) -> AsyncIterator[World]:
    cfg = make_config(tmp_path)
    await load_roster(cfg, SMALL_ROSTER, at(8, 0))
    names = HEADER.split(",")
    rows = [TableRow(i, dict(zip(names, line.split(","), strict=True)))
            for i, line in enumerate(LINES, start=2)]
    db = await open_database(cfg.db_path)
    try:
        result, problems = await run_import(db, cfg, rows, at(8, 0), "zh")
        assert problems == [] and result is not None, problems
        async with db.read() as conn:
            members = {m.member_id: m for m in await members_repo.all_members(conn)}
            found = {line.split(",")[0]: await activities_repo.by_activity_id(
                conn, line.split(",")[0]) for line in LINES}
        activities = {k: a for k, a in found.items() if a is not None}
        yield World(db, cfg, members, activities)
    finally:
        await db.close()


def right(w: World, now: dt.datetime) -> str:
    return w.code("G1", now)


def wrong(w: World, now: dt.datetime) -> str:
    """A code that is no code of G1's, not even an old one."""
    secret, rules = w.activities["G1"].secret, rules_of(w.cfg.checkin)
    return next(c for c in (d * 6 for d in "0123456789")
                if check_code(secret, c, now, rules) == "wrong")


def expired(w: World, now: dt.datetime) -> str:
    """G1's code of ten slots ago: genuine, but no longer accepted."""
    rotation = w.cfg.checkin.code_rotation_seconds
    return code_for(w.activities["G1"].secret, slot_of(now, rotation) - 10)


def none(w: World, now: dt.datetime) -> str | None:
    return None


# (when, the code typed with /checkin, the answer, the dialog move, T2's record afterwards)
COMMAND_CASES: list[tuple[dt.datetime, Callable[[World, dt.datetime], str | None], str,
                          str | None, str | None]] = [
    (at(9, 40), right, "recorded", "end", "present"),
    (at(10, 5), right, "recorded", "end", "present"),  # the last minute before late
    (at(10, 6), right, "recorded", "end", "late"),
    (at(9, 40), none, "ask_code", "code", None),
    (at(9, 40), wrong, "code_wrong", "code", None),
    (at(9, 40), expired, "code_expired", "code", None),
    (at(9, 20), right, "nothing_next", None, None),  # before G1's window opens
    (at(12, 30), right, "closed", None, None),  # G1 ended half an hour ago
]


@pytest.mark.parametrize(("now", "typed", "kind", "move", "status"), COMMAND_CASES)
async def test_checkin_command(
    w: World, now: dt.datetime, typed: Callable[[World, dt.datetime], str | None], kind: str,
    move: str | None, status: str | None,
) -> None:
    result = await w.attempt("T2", now, code=typed(w, now))
    assert (result.kind, result.dialog) == (kind, move)
    assert result.activity is not None and result.activity.activity_id == "G1"
    record = await w.status("T2", "G1")
    assert (record[0] if record else None) == status
    if status is not None:
        assert record == (status, "code") and result.source == "code"


async def test_the_code_may_be_typed_with_spaces_and_full_width_digits(w: World) -> None:
    code = right(w, at(9, 40))
    typed = " ".join(chr(ord(c) + 0xFEE0) for c in code)
    assert (await w.attempt("T2", at(9, 40), code=typed)).kind == "recorded"


async def test_the_code_typed_at_the_prompt(w: World) -> None:
    g1 = w.activities["G1"].pk
    assert (await w.attempt("T2", at(9, 40), step="code", activity_pk=g1, code="不知道")).kind \
        == "not_a_code"
    assert (await w.attempt("T2", at(9, 40), step="code", activity_pk=g1, code=None)).kind \
        == "not_a_code"
    assert await w.status("T2", "G1") is None
    result = await w.attempt("T2", at(9, 40), step="code", activity_pk=g1,
                             code=right(w, at(9, 40)))
    assert (result.kind, result.dialog) == ("recorded", "end")
    # A second right code: already, from the record just written.
    again = await w.attempt("T2", at(9, 41), step="code", activity_pk=g1,
                            code=right(w, at(9, 41)))
    assert (again.kind, again.dialog) == ("already", "end") and again.record is not None


@pytest.mark.parametrize(("now", "kind"), [(at(9, 20), "too_early"), (at(12, 0), "closed")])
async def test_the_window_is_checked_when_recording(w: World, now: dt.datetime, kind: str) -> None:
    """A prompt answered outside the window (it was asked inside, or a forged step)."""
    result = await w.attempt("T2", now, step="code", activity_pk=w.activities["G1"].pk,
                             code=right(w, now))
    assert (result.kind, result.dialog) == (kind, "end")
    assert await w.status("T2", "G1") is None


async def test_a_dialog_whose_activity_is_gone_ends_without_a_word(w: World) -> None:
    result = await w.attempt("T2", at(9, 40), step="code", activity_pk=999_999, code="123456")
    assert (result.kind, result.dialog) == ("vanished", "end")


async def test_wrong_codes_lock_further_tries_then_the_lock_expires(w: World) -> None:
    limit = w.cfg.checkin.max_wrong_codes
    now = at(9, 35)
    kinds = [(await w.attempt("T2", now, code=wrong(w, now))).kind for _ in range(limit)]
    assert kinds == ["code_wrong"] * (limit - 1) + ["locked"]
    locked = await w.attempt("T2", at(9, 36), code=right(w, at(9, 36)))
    assert (locked.kind, locked.dialog) == ("locked", "end")
    assert locked.until == now + dt.timedelta(minutes=w.cfg.checkin.wrong_codes_lockout_minutes)
    assert await w.status("T2", "G1") is None
    # Another member is not locked out; T2 is again once the lockout is over.
    assert (await w.attempt("T1", at(9, 36), code=right(w, at(9, 36)))).kind == "recorded"
    later = locked.until + dt.timedelta(seconds=1)
    assert (await w.attempt("T2", later, code=w.code("G1", later))).kind == "recorded"


async def test_a_right_code_of_someone_elses_activity(w: World) -> None:
    """HR takes part in no group activity: G1's right code says so rather than "nothing"."""
    result = await w.attempt("H1", at(9, 40), code=right(w, at(9, 40)))
    assert result.kind == "not_participant"
    assert result.activity is not None and result.activity.activity_id in ("G1", "G2")
    assert (await w.attempt("H1", at(9, 40), code=wrong(w, at(9, 40)))).kind == "nothing"


async def test_already_checked_in_and_closed_after_the_end(w: World) -> None:
    assert (await w.attempt("T2", at(9, 40), code=right(w, at(9, 40)))).kind == "recorded"
    again = await w.attempt("T2", at(9, 50), code=right(w, at(9, 50)))
    assert (again.kind, again.dialog) == ("already", None)
    assert again.record is not None and again.record.status == "present"
    # After the end the record is still what a /checkin shows, not "closed".
    assert (await w.attempt("T2", at(12, 30))).kind == "already"
    assert (await w.attempt("T1", at(12, 30))).kind == "closed"


# -- location ---------------------------------------------------------------------------------


def shared(lat: float, lon: float, *, forwarded: bool = False,
           sent_at: dt.datetime | None = None) -> SharedLocation:
    return SharedLocation(lat, lon, forwarded, sent_at or at(13, 45))


# (the location sent, the answer)
LOCATION_CASES: list[tuple[SharedLocation | None, str]] = [
    (None, "need_location"),
    (shared(VENUE[0] + 0.01, VENUE[1]), "outside"),  # about 1.1 km north
    (shared(*VENUE, forwarded=True), "location_forwarded"),
    (shared(*VENUE, sent_at=at(13, 40)), "location_stale"),
    (shared(VENUE[0] + 0.001, VENUE[1]), "recorded"),  # about 110 m: inside 300 m
]


@pytest.mark.parametrize(("location", "kind"), LOCATION_CASES)
async def test_location_after_the_code(
    w: World, location: SharedLocation | None, kind: str
) -> None:
    now = at(13, 45)
    asked = await w.attempt("T2", now, code=w.code("V1", now))
    assert (asked.kind, asked.dialog, asked.source) == ("ask_location", "location", "code")
    assert await w.status("T2", "V1") is None
    result = await w.attempt("T2", now, step="location", activity_pk=w.activities["V1"].pk,
                             location=location, source="code")
    assert result.kind == kind
    if kind == "outside":
        assert result.distance > result.radius == w.cfg.checkin.radius_m
    assert await w.status("T2", "V1") == (("present", "code") if kind == "recorded" else None)
    assert result.dialog == ("end" if kind == "recorded" else None)


async def test_location_not_asked_when_not_required(w: World) -> None:
    cfg = dataclasses.replace(
        w.cfg, checkin=dataclasses.replace(w.cfg.checkin, require_location=False))
    result = await checkin.attempt(w.db, cfg, at(13, 45), w.members["T2"],
                                   code=w.code("V1", at(13, 45)))
    assert result.kind == "recorded"


# -- the QR link ------------------------------------------------------------------------------


async def test_qr_token_counts_as_a_right_code(w: World) -> None:
    result = await w.attempt("T2", at(9, 40), step="link", token=w.token("G1", at(9, 40)))
    assert (result.kind, result.dialog) == ("recorded", "end")
    assert await w.status("T2", "G1") == ("present", "qr")
    again = await w.attempt("T2", at(9, 41), step="link", token=w.token("G1", at(9, 41)))
    assert again.kind == "already"
    # At a venue with coordinates the location follows, remembering the QR as the proof.
    venue = await w.attempt("T2", at(13, 45), step="link", token=w.token("V1", at(13, 45)))
    assert (venue.kind, venue.dialog, venue.source) == ("ask_location", "location", "qr")


async def test_qr_refusals(w: World) -> None:
    now = at(9, 40)
    token = w.token("G1", now)
    pk, slot, signature = token.split("_", 2)
    forged = f"{pk}_{slot}_{'A' * len(signature)}"
    cases = {
        "garbage": "bad_link", forged: "bad_link", f"999999_{slot}_{signature}": "bad_link",
        w.token("G1", now - dt.timedelta(minutes=10)): "qr_expired",
        w.token("G2", now): "not_participant",
    }
    got = {t: (await w.attempt("T2", now, step="link", token=t)).kind for t in cases}
    assert got == cases
    async with w.db.tx() as conn:
        await conn.execute("UPDATE activities SET status = 'cancelled' WHERE id = ?", (int(pk),))
    assert (await w.attempt("T2", now, step="link", token=token)).kind == "gone"
    assert await w.status("T2", "G1") is None


# -- several open, online ---------------------------------------------------------------------


async def test_two_open_activities_ask_which_then_the_pick_records(w: World) -> None:
    now = at(16, 50)
    code = w.code("X2", now)
    pick = await w.attempt("T2", now, code=code)
    assert pick.kind == "pick" and pick.code == code and pick.dialog is None
    assert {a.activity_id for a in pick.choices} == {"X1", "X2"}
    assert (await w.attempt("T2", now, code="abc")).code is None  # not carried unless a code
    x2 = w.activities["X2"].pk
    result = await w.attempt("T2", now, step="pick", activity_pk=x2, code=code)
    assert result.kind == "recorded" and await w.status("T2", "X2") == ("present", "code")
    # A second press: the record is read first (no code checked, no try counted, dialog kept).
    again = await w.attempt("T2", now, step="pick", activity_pk=x2, code=wrong(w, now))
    assert (again.kind, again.dialog) == ("already", None)
    # One left open: asked for its code straight away.
    rest = await w.attempt("T2", now)
    assert (rest.kind, rest.activity and rest.activity.activity_id) == ("ask_code", "X1")


async def test_online_needs_no_code(w: World) -> None:
    result = await w.attempt("T2", at(18, 50), code="whatever")
    assert (result.kind, result.source, result.dialog) == ("recorded", "online", "end")
    assert await w.status("T2", "O1") == ("present", "online")


async def test_nothing_open_nothing_next(w: World) -> None:
    assert (await w.attempt("H1", at(22, 0))).kind == "nothing"
    nxt = await w.attempt("T2", at(9, 0))
    assert nxt.kind == "nothing_next" and nxt.activity is not None
    assert nxt.activity.activity_id == "G1"


# -- check-out, corrections, the views --------------------------------------------------------


async def test_check_out_early_needs_confirming(w: World) -> None:
    g1, t2 = w.activities["G1"].pk, w.members["T2"].pk
    assert (await w.attempt("T2", at(9, 40), code=right(w, at(9, 40)))).kind == "recorded"
    ask = await roll_call.check_out(w.db, w.cfg, g1, t2, at(11, 0), confirmed_early=False)
    assert ask.outcome == "confirm_early"
    done = await roll_call.check_out(w.db, w.cfg, g1, t2, at(11, 0), confirmed_early=True)
    assert done.outcome == "early" and done.record is not None
    assert done.record.status == "early_leave"
    again = await roll_call.check_out(w.db, w.cfg, g1, t2, at(11, 50), confirmed_early=False)
    assert again.outcome == "already_out"


async def test_correction_and_the_views(w: World) -> None:
    g1 = w.activities["G1"]
    assert (await w.attempt("T2", at(10, 20), code=right(w, at(10, 20)))).kind == "recorded"
    refused = await roll_call.correct(w.db, w.cfg, w.members["T1"].pk, g1.pk,
                                      w.members["T2"].pk, "present", "堵车", at(10, 30))
    assert refused.outcome == "forbidden"
    fixed = await roll_call.correct(w.db, w.cfg, w.members["L1"].pk, g1.pk,
                                    w.members["T2"].pk, "present", "堵车", at(10, 30))
    assert (fixed.outcome, fixed.old_status) == ("ok", "late")
    sheet = await views.roll_sheet(w.db, g1, at(10, 30))
    assert sheet.roll[w.members["T2"].pk].status == "present"
    assert [c.reason for c in sheet.corrections] == ["堵车"]
    assert {p.member_id for p in sheet.people} == {"L1", "T1", "T2"}
    text = views.roll_text("en", TZ, g1, sheet)
    assert "present 1" in text and "堵车" in text
    year = await views.own_year(w.db, w.members["T2"], at(10, 30))
    assert year.year == 2026 and year.statuses == ["present"]
    assert [(a.activity_id, r.status if r else None) for a, r in year.latest] == [
        ("G1", "present")]
