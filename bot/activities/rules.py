"""Attendance rules: check-in windows, statuses, rotating roll-call codes, distances, host rotation.

Pure functions only (no Telegram, no SQL), so every rule is a row in a unit-test table. Times
are tz-aware datetimes; the callers pass the clock's `now`.

Roll-call codes need no storage: the 6-digit code of an activity for a time slot is an HMAC of
the activity's secret and the slot number (`unix time // rotation`). The code of the current
slot is accepted, and the previous slot's during the first `grace` seconds of the current one,
so a trainee who read the code just before it rotated is not refused. The QR deep link carries
the slot explicitly, signed with the same secret, so a photographed QR expires like a code.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Status = Literal["present", "late", "early_leave", "absent", "excused"]
STATUSES: tuple[Status, ...] = ("present", "late", "early_leave", "absent", "excused")
# Statuses of someone who came (and may still check out).
ATTENDED: frozenset[str] = frozenset({"present", "late"})

ActivityType = Literal["group_study", "collective", "exam", "online"]
ACTIVITY_TYPES: tuple[ActivityType, ...] = ("group_study", "collective", "exam", "online")

CODE_DIGITS = 6
CODE_SHAPE = re.compile(r"^\d{6}$")
# How far back a code is still recognised as "expired" rather than "wrong".
EXPIRED_LOOKBACK_SLOTS = 240
EARTH_RADIUS_M = 6_371_008.8
TOKEN_PREFIX = "ci_"
_TOKEN_SHAPE = re.compile(r"^(\d{1,12})_(\d{1,12})_([A-Za-z0-9_-]{8,16})$")
_SIG_CHARS = 12


@dataclass(frozen=True, slots=True)
class Rules:
    """The `[checkin]` settings the rules need, in plain units."""

    opens_before: dt.timedelta
    late_after: dt.timedelta
    checkout_opens_before_end: dt.timedelta
    rotation_seconds: int
    grace_seconds: int

    @classmethod
    def of(
        cls,
        *,
        opens_before_minutes: int,
        late_after_minutes: int,
        checkout_opens_before_end_minutes: int,
        code_rotation_seconds: int,
        code_grace_seconds: int,
    ) -> Rules:
        return cls(
            opens_before=dt.timedelta(minutes=opens_before_minutes),
            late_after=dt.timedelta(minutes=late_after_minutes),
            checkout_opens_before_end=dt.timedelta(minutes=checkout_opens_before_end_minutes),
            rotation_seconds=max(1, code_rotation_seconds),
            grace_seconds=max(0, min(code_grace_seconds, code_rotation_seconds)),
        )


@dataclass(frozen=True, slots=True)
class Windows:
    """When an activity's check-in opens, turns late, check-out opens, and roll call closes."""

    opens_at: dt.datetime
    late_at: dt.datetime
    checkout_at: dt.datetime
    closes_at: dt.datetime


def windows(start: dt.datetime, end: dt.datetime, rules: Rules) -> Windows:
    late_at = min(start + rules.late_after, end)
    checkout_at = max(end - rules.checkout_opens_before_end, start)
    return Windows(start - rules.opens_before, late_at, checkout_at, end)


CheckinVerdict = Literal["too_early", "present", "late", "closed"]


def checkin_verdict(
    now: dt.datetime, start: dt.datetime, end: dt.datetime, rules: Rules
) -> CheckinVerdict:
    """What a check-in at `now` records: present until `late_at`, late until the end."""
    w = windows(start, end, rules)
    if now < w.opens_at:
        return "too_early"
    if now >= w.closes_at:
        return "closed"
    return "present" if now <= w.late_at else "late"


def is_open(now: dt.datetime, start: dt.datetime, end: dt.datetime, rules: Rules) -> bool:
    return checkin_verdict(now, start, end, rules) in ("present", "late")


CheckoutVerdict = Literal["not_started", "early", "ok", "closed"]


def checkout_verdict(
    now: dt.datetime, start: dt.datetime, end: dt.datetime, rules: Rules
) -> CheckoutVerdict:
    """A check-out before the check-out window is an early leave; after the end it is too late."""
    w = windows(start, end, rules)
    if now >= w.closes_at:
        return "closed"
    if now >= w.checkout_at:
        return "ok"
    if now < w.opens_at:
        return "not_started"
    return "early"


def status_on_close(
    participants: Iterable[int], recorded: Iterable[int], excused: Iterable[int]
) -> dict[int, Status]:
    """The records to add when roll call closes: excused with approved leave, else absent."""
    have = set(recorded)
    ok_leave = set(excused)
    return {
        pk: ("excused" if pk in ok_leave else "absent")
        for pk in sorted(set(participants))
        if pk not in have
    }


# -- rotating codes -------------------------------------------------------------------------


def slot_of(now: dt.datetime, rotation_seconds: int) -> int:
    return int(now.timestamp()) // max(1, rotation_seconds)


def slot_start(slot: int, rotation_seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(slot * rotation_seconds, dt.UTC)


def _mac(secret: str, message: str) -> bytes:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()


def code_for(secret: str, slot: int) -> str:
    """The 6-digit code of a slot (dynamic truncation as in HOTP, RFC 4226)."""
    digest = _mac(secret, f"code:{slot}")
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(number % 10**CODE_DIGITS).zfill(CODE_DIGITS)


def current_code(secret: str, now: dt.datetime, rules: Rules) -> str:
    return code_for(secret, slot_of(now, rules.rotation_seconds))


def code_valid_until(now: dt.datetime, rules: Rules) -> dt.datetime:
    """When the code shown at `now` stops being accepted (end of its slot plus the grace)."""
    slot = slot_of(now, rules.rotation_seconds)
    return slot_start(slot + 1, rules.rotation_seconds) + dt.timedelta(seconds=rules.grace_seconds)


CodeVerdict = Literal["ok", "expired", "wrong"]


def _accepted_slots(now: dt.datetime, rules: Rules) -> list[int]:
    slot = slot_of(now, rules.rotation_seconds)
    into = now - slot_start(slot, rules.rotation_seconds)
    if into < dt.timedelta(seconds=rules.grace_seconds):
        return [slot, slot - 1]
    return [slot]


def check_code(secret: str, typed: str, now: dt.datetime, rules: Rules) -> CodeVerdict:
    """ok for the current code (or the previous one within the grace), expired for an older
    code of this activity, wrong otherwise."""
    typed = normalize_code(typed)
    if not CODE_SHAPE.match(typed):
        return "wrong"
    accepted = _accepted_slots(now, rules)
    if any(hmac.compare_digest(code_for(secret, s), typed) for s in accepted):
        return "ok"
    oldest = min(accepted)
    for back in range(1, EXPIRED_LOOKBACK_SLOTS + 1):
        if hmac.compare_digest(code_for(secret, oldest - back), typed):
            return "expired"
    return "wrong"


def code_locked_until(
    wrong_at: Iterable[dt.datetime], now: dt.datetime, *, limit: int, window: dt.timedelta,
    lockout: dt.timedelta,
) -> dt.datetime | None:
    """Until when a member who typed wrong codes at `wrong_at` (for one activity) may not try
    again: `limit` or more of them within `window` before `now` lock further tries until
    `lockout` after the latest; None when they may try now (or `limit` is 0, no limit)."""
    if limit <= 0:
        return None
    recent = sorted(t for t in wrong_at if now - window < t <= now)
    if len(recent) < limit:
        return None
    until = recent[-1] + lockout
    return until if until > now else None


def normalize_code(text: str) -> str:
    """What a user typed as a code: digits only (spaces and dashes dropped, full-width folded)."""
    folded = "".join(
        chr(ord(c) - 0xFEE0) if "０" <= c <= "９" else c for c in text.strip()
    )
    return re.sub(r"[\s\-]", "", folded)


def looks_like_code(text: str) -> bool:
    return bool(CODE_SHAPE.match(normalize_code(text)))


def _signature(secret: str, activity_pk: int, slot: int) -> str:
    raw = _mac(secret, f"qr:{activity_pk}:{slot}")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")[:_SIG_CHARS]


def qr_token(activity_pk: int, secret: str, now: dt.datetime, rules: Rules) -> str:
    """The deep-link payload (without "ci_") for the current slot: `<pk>_<slot>_<signature>`."""
    slot = slot_of(now, rules.rotation_seconds)
    return f"{activity_pk}_{slot}_{_signature(secret, activity_pk, slot)}"


def deep_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={TOKEN_PREFIX}{token}"


@dataclass(frozen=True, slots=True)
class ParsedToken:
    activity_pk: int
    slot: int
    signature: str


def parse_token(token: str) -> ParsedToken | None:
    """The parts of a deep-link token, or None when it is not shaped like one."""
    if token.startswith(TOKEN_PREFIX):
        token = token[len(TOKEN_PREFIX) :]
    m = _TOKEN_SHAPE.match(token)
    if m is None:
        return None
    return ParsedToken(int(m.group(1)), int(m.group(2)), m.group(3))


def check_token(secret: str, token: ParsedToken, now: dt.datetime, rules: Rules) -> CodeVerdict:
    """ok for a genuine token of an accepted slot, expired for a genuine older one."""
    expected = _signature(secret, token.activity_pk, token.slot)
    if not hmac.compare_digest(expected, token.signature):
        return "wrong"
    if token.slot in _accepted_slots(now, rules):
        return "ok"
    return "expired"


# -- location -------------------------------------------------------------------------------


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def valid_coordinates(lat: float, lon: float) -> bool:
    return (
        math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180
    )


LocationVerdict = Literal["ok", "forwarded", "stale", "outside"]


def location_verdict(
    *,
    forwarded: bool,
    sent_at: dt.datetime,
    now: dt.datetime,
    max_age: dt.timedelta,
    distance: float,
    radius_m: float,
) -> LocationVerdict:
    """A shared location counts when it is the user's own, fresh, and within the radius."""
    if forwarded:
        return "forwarded"
    if now - sent_at > max_age:
        return "stale"
    if distance > radius_m:
        return "outside"
    return "ok"


# -- host rotation --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    pk: int
    member_id: str


def host_order(
    candidates: Sequence[Candidate], hosted: Iterable[tuple[int, dt.datetime]]
) -> list[Candidate]:
    """Candidates in rotation order: who hosted least first, then who hosted longest ago
    (never before first), then by member id. `hosted` is (host pk, activity start) pairs."""
    count: dict[int, int] = {}
    last: dict[int, dt.datetime] = {}
    for pk, when in hosted:
        count[pk] = count.get(pk, 0) + 1
        if pk not in last or when > last[pk]:
            last[pk] = when
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(
        candidates,
        key=lambda c: (count.get(c.pk, 0), last.get(c.pk, never), c.member_id),
    )


def propose_host(
    candidates: Sequence[Candidate], hosted: Iterable[tuple[int, dt.datetime]]
) -> Candidate | None:
    order = host_order(candidates, hosted)
    return order[0] if order else None


# -- counting -------------------------------------------------------------------------------


def count_statuses(statuses: Iterable[str]) -> dict[Status, int]:
    """How many of each status (every status present, zero when none)."""
    counts: dict[Status, int] = dict.fromkeys(STATUSES, 0)
    for s in statuses:
        if s in counts:
            counts[s] += 1
    return counts


# -- typed input ----------------------------------------------------------------------------

_DATE_TIME = re.compile(
    r"^\s*(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*[T\s]?\s*"
    r"(\d{1,2})\s*[:：点时]\s*(\d{2})?\s*分?\s*$"
)
_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(h|hr|hrs|hours?|小时|个小时|m|min|mins|minutes?|分钟|分)?\s*$",
    re.IGNORECASE,
)
MAX_DURATION_MINUTES = 12 * 60


def parse_local_datetime(text: str, now: dt.datetime) -> dt.datetime | None:
    """A date and time a person types ("2026-03-10 15:30", "3-10 15:30", "3月10日 15:30"),
    in `now`'s time zone; without a year, the next such date from `now`."""
    m = _DATE_TIME.match(text)
    if m is None:
        return None
    year_text, month, day, hour, minute = m.groups()
    try:
        year = int(year_text) if year_text else now.year
        when = dt.datetime(year, int(month), int(day), int(hour), int(minute or 0),
                           tzinfo=now.tzinfo)
        if not year_text and when < now - dt.timedelta(days=1):
            when = when.replace(year=year + 1)
    except ValueError:
        return None
    return when


def parse_duration(text: str) -> int | None:
    """Minutes from "90", "90分钟", "1.5h", "2小时"; None when not a sensible duration."""
    m = _DURATION.match(text)
    if m is None:
        return None
    value = float(m.group(1))
    unit = (m.group(2) or "").lower()
    minutes = value * 60 if unit and unit[0] in ("h", "小", "个") else value
    if not minutes.is_integer() and unit[:1] not in ("h", "小", "个"):
        return None
    result = round(minutes)
    return result if 1 <= result <= MAX_DURATION_MINUTES else None
