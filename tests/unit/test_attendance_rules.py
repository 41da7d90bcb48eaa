"""The attendance rules as plain functions: windows, statuses, codes, QR tokens, distances,
rotation."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.activities.rules import (
    Candidate,
    Rules,
    check_code,
    check_token,
    checkin_verdict,
    checkout_verdict,
    code_for,
    code_locked_until,
    code_valid_until,
    count_statuses,
    current_code,
    distance_m,
    host_order,
    location_verdict,
    looks_like_code,
    normalize_code,
    parse_duration,
    parse_local_datetime,
    parse_token,
    propose_host,
    qr_token,
    slot_of,
    status_on_close,
    valid_coordinates,
    windows,
)

TZ = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 3, 2, 15, 30, tzinfo=TZ)
END = dt.datetime(2026, 3, 2, 17, 30, tzinfo=TZ)
RULES = Rules.of(
    opens_before_minutes=30, late_after_minutes=5, checkout_opens_before_end_minutes=15,
    code_rotation_seconds=60, code_grace_seconds=30,
)
SECRET = "0123456789abcdef0123456789abcdef"


def at(hh: int, mm: int, ss: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, 2, hh, mm, ss, tzinfo=TZ)


def test_windows() -> None:
    w = windows(START, END, RULES)
    assert (w.opens_at, w.late_at, w.checkout_at, w.closes_at) == (
        at(15, 0), at(15, 35), at(17, 15), at(17, 30)
    )


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(14, 59, 59), "too_early"),
        (at(15, 0), "present"),
        (at(15, 30), "present"),
        (at(15, 35), "present"),
        (at(15, 35, 1), "late"),
        (at(17, 29, 59), "late"),
        (at(17, 30), "closed"),
        (at(18, 0), "closed"),
    ],
)
def test_checkin_verdict(now: dt.datetime, expected: str) -> None:
    assert checkin_verdict(now, START, END, RULES) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(14, 0), "not_started"),
        (at(15, 40), "early"),
        (at(17, 14, 59), "early"),
        (at(17, 15), "ok"),
        (at(17, 29), "ok"),
        (at(17, 30), "closed"),
    ],
)
def test_checkout_verdict(now: dt.datetime, expected: str) -> None:
    assert checkout_verdict(now, START, END, RULES) == expected


def test_short_activity_windows_stay_inside_it() -> None:
    start, end = at(10, 0), at(10, 3)
    w = windows(start, end, RULES)
    assert w.late_at == end and w.checkout_at == start


@pytest.mark.parametrize(
    ("participants", "recorded", "excused", "expected"),
    [
        ([1, 2, 3], [], [], {1: "absent", 2: "absent", 3: "absent"}),
        ([1, 2, 3], [2], [], {1: "absent", 3: "absent"}),
        ([1, 2, 3], [2], [3], {1: "absent", 3: "excused"}),
        ([1, 2], [1, 2], [1], {}),
        ([], [], [], {}),
    ],
)
def test_status_on_close(
    participants: list[int], recorded: list[int], excused: list[int], expected: dict[int, str]
) -> None:
    assert status_on_close(participants, recorded, excused) == expected


# -- codes ----------------------------------------------------------------------------------


def test_code_is_six_digits_and_changes_with_the_slot() -> None:
    codes = {code_for(SECRET, slot) for slot in range(1000, 1100)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 95  # practically all different
    assert code_for(SECRET, 5) == code_for(SECRET, 5)
    assert code_for(SECRET, 5) != code_for("another secret", 5)


@pytest.mark.parametrize(
    ("shown_at", "typed_at", "expected"),
    [
        (at(15, 10, 5), at(15, 10, 59), "ok"),  # same slot
        (at(15, 10, 5), at(15, 11, 29), "ok"),  # previous slot, within the 30 s grace
        (at(15, 10, 5), at(15, 11, 30), "expired"),  # grace over
        (at(15, 10, 5), at(15, 40, 0), "expired"),  # much later
        (at(15, 10, 5), at(15, 9, 0), "wrong"),  # a code from the future is not valid
    ],
)
def test_code_grace_and_expiry(shown_at: dt.datetime, typed_at: dt.datetime,
                               expected: str) -> None:
    code = current_code(SECRET, shown_at, RULES)
    assert check_code(SECRET, code, typed_at, RULES) == expected


def test_wrong_and_malformed_codes() -> None:
    now = at(15, 10)
    good = current_code(SECRET, now, RULES)
    wrong = str((int(good) + 1) % 10**6).zfill(6)
    assert check_code(SECRET, wrong, now, RULES) in ("wrong", "expired")
    for typed in ("", "12345", "1234567", "abcdef"):
        assert check_code(SECRET, typed, now, RULES) == "wrong"
    # Spaces, dashes and full-width digits are what people type; they are folded.
    spaced = f"{good[:3]} {good[3:]}"
    assert check_code(SECRET, spaced, now, RULES) == "ok"
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in good)
    assert check_code(SECRET, fullwidth, now, RULES) == "ok"


@pytest.mark.parametrize(
    ("text", "ok"),
    [("123456", True), (" 123-456 ", True), ("１２３４５６", True), ("12345", False),
     ("hello!", False), ("1234567", False)],
)
def test_looks_like_code(text: str, ok: bool) -> None:
    assert looks_like_code(text) is ok
    assert normalize_code(" 1 2 ") == "12"


def test_code_valid_until() -> None:
    now = at(15, 10, 5)
    assert code_valid_until(now, RULES) == at(15, 11, 30)


# -- QR tokens ------------------------------------------------------------------------------


def test_token_round_trip_and_limits() -> None:
    now = at(15, 10, 5)
    token = qr_token(42, SECRET, now, RULES)
    assert len("ci_" + token) <= 64
    assert all(c.isalnum() or c in "_-" for c in token)
    parsed = parse_token("ci_" + token)
    assert parsed is not None and parsed.activity_pk == 42
    assert parsed.slot == slot_of(now, RULES.rotation_seconds)
    assert check_token(SECRET, parsed, now, RULES) == "ok"
    assert check_token(SECRET, parsed, at(15, 11, 20), RULES) == "ok"  # grace
    assert check_token(SECRET, parsed, at(15, 12, 0), RULES) == "expired"
    assert check_token("other", parsed, now, RULES) == "wrong"


@pytest.mark.parametrize(
    "text", ["", "ci_", "ci_abc", "ci_1_2", "ci_1_2_!!!!!!!!", "ci_x_2_abcdefghijkl"]
)
def test_malformed_tokens(text: str) -> None:
    assert parse_token(text) is None


def test_forged_token_for_another_activity_is_wrong() -> None:
    now = at(15, 10)
    token = parse_token(qr_token(1, SECRET, now, RULES))
    assert token is not None
    forged = type(token)(2, token.slot, token.signature)
    assert check_token(SECRET, forged, now, RULES) == "wrong"


# -- location -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "metres"),
    [
        ((0.0, 0.0), (0.0, 0.0), 0),
        ((0.0, 0.0), (0.0, 1.0), 111_195),
        ((39.9042, 116.4074), (31.2304, 121.4737), 1_067_000),  # Beijing - Shanghai
        ((30.0, 120.0), (30.001, 120.0), 111),
    ],
)
def test_distance(a: tuple[float, float], b: tuple[float, float], metres: float) -> None:
    assert distance_m(*a, *b) == pytest.approx(metres, rel=0.01, abs=1)


@given(
    st.floats(-89, 89), st.floats(-179, 179), st.floats(-89, 89), st.floats(-179, 179)
)
def test_distance_is_symmetric_and_bounded(a: float, b: float, c: float, d: float) -> None:
    there = distance_m(a, b, c, d)
    assert there == pytest.approx(distance_m(c, d, a, b), abs=1e-6)
    assert 0 <= there <= 20_016_000


@pytest.mark.parametrize(
    ("lat", "lon", "ok"),
    [(0, 0, True), (90, 180, True), (-90, -180, True), (91, 0, False), (0, 181, False),
     (float("nan"), 0, False), (0, float("inf"), False)],
)
def test_valid_coordinates(lat: float, lon: float, ok: bool) -> None:
    assert valid_coordinates(lat, lon) is ok


@pytest.mark.parametrize(
    ("forwarded", "age_s", "distance", "expected"),
    [
        (False, 0, 10, "ok"),
        (False, 120, 300, "ok"),
        (True, 0, 10, "forwarded"),
        (False, 121, 10, "stale"),
        (False, 0, 301, "outside"),
        (True, 500, 5000, "forwarded"),
    ],
)
def test_location_verdict(forwarded: bool, age_s: int, distance: float, expected: str) -> None:
    now = at(15, 10)
    assert location_verdict(
        forwarded=forwarded, sent_at=now - dt.timedelta(seconds=age_s), now=now,
        max_age=dt.timedelta(seconds=120), distance=distance, radius_m=300,
    ) == expected


# -- host rotation --------------------------------------------------------------------------

A, B, C = Candidate(1, "M001"), Candidate(2, "M002"), Candidate(3, "M003")
D1 = dt.datetime(2026, 3, 2, tzinfo=TZ)
D2 = dt.datetime(2026, 3, 16, tzinfo=TZ)
D3 = dt.datetime(2026, 3, 30, tzinfo=TZ)


@pytest.mark.parametrize(
    ("hosted", "order"),
    [
        ([], [A, B, C]),  # nobody hosted: by member id
        ([(1, D1)], [B, C, A]),
        ([(1, D1), (2, D2)], [C, A, B]),
        ([(1, D2), (2, D1), (3, D3)], [B, A, C]),  # all once: longest ago first
        ([(1, D1), (1, D2), (2, D3)], [C, B, A]),  # fewest first, even if more recent
        ([(9, D1)], [A, B, C]),  # someone who left the group does not matter
    ],
)
def test_host_order(hosted: list[tuple[int, dt.datetime]], order: list[Candidate]) -> None:
    assert host_order([C, A, B], hosted) == order
    assert propose_host([C, A, B], hosted) == order[0]


def test_propose_host_of_nobody() -> None:
    assert propose_host([], []) is None


def test_count_statuses() -> None:
    counts = count_statuses(["present", "late", "present", "bogus"])
    assert counts == {"present": 2, "late": 1, "early_leave": 0, "absent": 0, "excused": 0}


# -- typed input ----------------------------------------------------------------------------

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-10 15:30", dt.datetime(2026, 3, 10, 15, 30, tzinfo=TZ)),
        ("2026-03-10T15:30", dt.datetime(2026, 3, 10, 15, 30, tzinfo=TZ)),
        ("3-10 15:30", dt.datetime(2026, 3, 10, 15, 30, tzinfo=TZ)),
        ("3/10 9:05", dt.datetime(2026, 3, 10, 9, 5, tzinfo=TZ)),
        ("3月10日 15:30", dt.datetime(2026, 3, 10, 15, 30, tzinfo=TZ)),
        ("3月10日15点", dt.datetime(2026, 3, 10, 15, 0, tzinfo=TZ)),
        ("1-05 10:00", dt.datetime(2027, 1, 5, 10, 0, tzinfo=TZ)),  # next such date
        ("2026-02-30 10:00", None),
        ("2026-03-10 25:00", None),
        ("tomorrow", None),
        ("2026-03-10", None),
    ],
)
def test_parse_local_datetime(text: str, expected: dt.datetime | None) -> None:
    assert parse_local_datetime(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("90", 90), ("90分钟", 90), ("1.5h", 90), ("2小时", 120), ("2 hours", 120),
     ("45 min", 45), ("0", None), ("1000", None), ("1.5", None), ("abc", None)],
)
def test_parse_duration(text: str, minutes: int | None) -> None:
    assert parse_duration(text) == minutes


def test_every_outcome_has_a_message_in_both_languages() -> None:
    from typing import get_args

    from bot.activities.roll_call import CorrectionOutcome
    from bot.activities.rules import ACTIVITY_TYPES, STATUSES
    from bot.activities.scheduling import Outcome
    from bot.core.i18n import catalog

    keys = [f"attendance.schedule.refused_{o}" for o in get_args(Outcome) if o != "ok"]
    keys += [f"attendance.fix.{o}" for o in get_args(CorrectionOutcome) if o != "ok"]
    keys += [f"attendance.checkin.code_{v}" for v in ("wrong", "expired")]
    keys += [f"attendance.checkin.location_{v}" for v in ("forwarded", "stale")]
    keys += [f"attendance.status.{s}" for s in (*STATUSES, "none", "unrecorded")]
    keys += [f"attendance.type.{a}" for a in ACTIVITY_TYPES]
    keys += [f"attendance.weekday.{d}" for d in range(7)]
    keys += [f"attendance.notice.{c}" for c in ("new", "moved", "cancelled")]
    for lang in ("zh", "en"):
        missing = [k for k in keys if k not in catalog(lang)]
        assert missing == [], lang


# -- wrong check-in codes -------------------------------------------------------------------

_T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _mins(*minutes: int) -> list[dt.datetime]:
    return [_T0 + dt.timedelta(minutes=m) for m in minutes]


@pytest.mark.parametrize(
    ("wrong", "now_min", "limit", "expected_min"),
    [
        (_mins(), 0, 5, None),
        (_mins(0, 1, 2, 3), 4, 5, None),  # four: may still try
        (_mins(0, 1, 2, 3, 4), 4, 5, 19),  # the fifth locks until 15 min after it
        (_mins(0, 1, 2, 3, 4), 18, 5, 19),
        (_mins(0, 1, 2, 3, 4), 19, 5, None),  # the lock-out is over
        (_mins(0, 1, 2, 3, 50), 50, 5, 65),  # all five within the hour
        (_mins(0, 1, 2, 3, 60), 60, 5, None),  # the first one left the window
        (_mins(0, 1, 2, 3, 4), 4, 0, None),  # 0: no limit
        (_mins(3, 0, 4, 1, 2), 4, 5, 19),  # order does not matter
        (_mins(0, 1, 2, 3, 4, 30), 18, 5, 19),  # a try "in the future" is not counted
    ],
)
def test_code_locked_until(
    wrong: list[dt.datetime], now_min: int, limit: int, expected_min: int | None
) -> None:
    now = _T0 + dt.timedelta(minutes=now_min)
    got = code_locked_until(wrong, now, limit=limit, window=dt.timedelta(hours=1),
                            lockout=dt.timedelta(minutes=15))
    expected = None if expected_min is None else _T0 + dt.timedelta(minutes=expected_min)
    assert got == expected
