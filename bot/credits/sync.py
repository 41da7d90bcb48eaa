"""Ledger reconciliation: credits follow the source records without hooks in other features.

From the current state of the source tables — roll-call records, counted study outputs, filed
activity reports, hosted activities, exam results — the database computes what every
(member, source) pair SHOULD be worth and compares it with what the ledger says it IS worth (the
sum of its rows per programme year), and appends the rows that settle the differences
(storage.credits.compare and book, all in SQL, so a large programme costs the database thread,
not the event loop or the heap). `plan()` is the reference of those rows, over plain data: the
old value reversed by a counter-entry (note "reversed: <the old note>") and the new value
booked. So:

- a corrected roll call (present -> absent) reverses +2 and books -2;
- a returned submission (no longer counted) is reversed; resubmitted, it is booked again;
- a cancelled activity reverses its attendance and hosting points;
- a changed `[credits]` value re-books every source it prices;
- running it twice changes nothing (the second run finds no difference).

Hand adjustments (`adjust:<n>`) are not derived from anything and are never touched.

A source table that does not exist yet (its feature has not landed) is skipped. Sync runs as a
due check on every tick and before /credits, /ranking, exports and the exit rules.

What changed is tracked precisely: triggers on the source tables (migration 0010) mark the
(source, member) pairs whose worth may have changed in `credit_dirty`, whoever writes (this
process or another, such as the CLI). A sync with no mark returns after one small read; with
marks it compares only those pairs (storage.credits.take_changes / compare(scoped=True)) —
writes to other tables (outbox, audit, inbox, reminders) cost it nothing. A full comparison of
every pair runs when the rules it was last made with differ from now: the first run, a changed
`[credits]` value or pass mark or review mode or time zone, and any migration (the fingerprint
in `credit_sync_state` holds the schema version); or when asked (`force=True`). Both settle the
same rows: tests/flows/test_credit_sync.py checks that a scoped sync after random changes leaves the
ledger identical, row for row, to full comparisons.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import aiosqlite

from bot.core.config import Config
from bot.credits import rules
from bot.reading.rules import counts as reading_counts
from bot.reading.rules import parse_year_starts
from storage import credits as ledger
from storage.db import Database, ts

if TYPE_CHECKING:
    from bot.core.services import Services

OWNED_PREFIXES: tuple[str, ...] = (
    "attendance:", "reading:", "report:", "recommended:", "host:", "exam:",
)

# More (source, member) pairs changed than this: compare everything (the same result).
FULL_ABOVE = 20_000

Key = tuple[int, str]
Diff = ledger.Diff


@dataclass(frozen=True, slots=True)
class Want:
    """What one (member, source) should be worth, and how its row reads."""

    member_pk: int
    source: str
    points: float
    on_date: str
    year: int
    rule: str
    note: str

    @property
    def key(self) -> Key:
        return (self.member_pk, self.source)


@dataclass(frozen=True, slots=True)
class Reverse:
    """Take back what (member, source) holds in `year`."""

    member_pk: int
    source: str
    year: int
    amount: float  # the sum held, which the counter-entry negates


@dataclass(frozen=True, slots=True)
class Book:
    want: Want


Action = Reverse | Book


def plan(diffs: Iterable[Diff]) -> list[Action]:
    """The rows that settle each difference: what is held in that year is reversed whole (when
    there is anything), then what is wanted there is booked (when it is not zero). Reversals
    come first, so the history reads "reversed: old", then "new"."""
    ordered = sorted(diffs, key=lambda d: (d.member_pk, d.source, d.year))
    actions: list[Action] = []
    books: list[Action] = []
    current: Key | None = None
    for d in ordered:
        if (d.member_pk, d.source) != current:
            actions += books
            books = []
            current = (d.member_pk, d.source)
        if abs(d.have) > rules.EPS:
            actions.append(Reverse(d.member_pk, d.source, d.year, d.have))
        if abs(d.want) > rules.EPS:
            assert d.on_date is not None and d.rule is not None and d.note is not None
            books.append(Book(Want(d.member_pk, d.source, d.want, d.on_date, d.year, d.rule,
                                   d.note)))
    return actions + books


def reconcile(want: Mapping[Key, Want], have: Mapping[Key, Mapping[int, float]]) -> list[Action]:
    """The same comparison as the database does, over plain data (the reference the SQL
    follows; pure, for tests): per (member, source, year), wanted vs. held."""
    diffs: list[Diff] = []
    for key in set(want) | set(have):
        w = want.get(key)
        held = have.get(key, {})
        years = set(held) | ({w.year} if w is not None else set())
        for year in years:
            wanted = w.points if w is not None and w.year == year else 0.0
            amount = held.get(year, 0.0)
            if abs(wanted - amount) <= rules.EPS:
                continue
            booked = w if w is not None and w.year == year and wanted else None
            diffs.append(Diff(key[0], key[1], year, wanted, amount,
                              booked.on_date if booked else None,
                              booked.rule if booked else None,
                              booked.note if booked else None))
    return plan(diffs)


# -- what the sources say ---------------------------------------------------------------------


@functools.cache
def tz_spans(tz_name: str) -> tuple[tuple[str, str], ...]:
    """(UTC time from which, SQLite modifier) for the zone's UTC offsets, 1970-2100: one span
    for a zone without daylight saving, one per change otherwise (found to the second)."""
    tz = ZoneInfo(tz_name)

    def offset(when: dt.datetime) -> int:
        delta = when.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    t = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    current = offset(t)
    spans = [("", f"{current:+d} seconds")]
    step = dt.timedelta(days=7)
    while t < end:
        nxt = t + step
        if offset(nxt) != current:
            lo, hi = t, nxt
            while hi - lo > dt.timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if offset(mid) == current:
                    lo = mid
                else:
                    hi = mid
            hi = hi.replace(microsecond=0)
            current = offset(hi)
            spans.append((ts(hi), f"{current:+d} seconds"))
            t = hi
        else:
            t = nxt
    return tuple(spans)


def prices(cfg: Config) -> ledger.Prices:
    """`[credits]` (and how sources are judged) as the database comparison needs it."""
    c = cfg.credits
    month, day = parse_year_starts(cfg.program.year_starts)
    return ledger.Prices(
        attendance={s: rules.points_for_attendance(c, s) for s in rules.ATTENDANCE_STATUSES},
        book=c.book, monograph=c.monograph,
        outputs={k: float(getattr(c, k)) for k in ("paper", "reflection", "management_analysis")},
        report_on_time=c.report_on_time, report_late=c.report_late, hosting=c.hosting,
        exam_passed=c.exam_passed, recommended_work=c.recommended_work,
        counted_statuses=tuple(s for s in ("submitted", "accepted", "returned")
                               if reading_counts(s, cfg.reading.review)),
        exam_pass_mark=cfg.exit.exam_pass_mark, year_starts=f"{month:02d}-{day:02d}",
        tz_spans=tz_spans(cfg.program.timezone),
    )


# -- running it -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _rules_digest(p: str) -> str:
    return hashlib.sha256(p.encode()).hexdigest()[:32]


def rules_key(cfg: Config, schema: int) -> str:
    """What a full comparison depends on besides the sources: the prices, how sources are
    judged, the time zone, the owned prefixes and the schema version."""
    return f"{schema}:{_rules_digest(repr((prices(cfg), OWNED_PREFIXES)))}"


async def fingerprint(conn: aiosqlite.Connection, cfg: Config) -> tuple[Any, ...]:
    """Changes whenever anything is written (here or by another process) or the rules change.
    (The exit rules watch this; the ledger sync itself watches only its sources.)"""
    async with conn.execute("PRAGMA data_version") as cur:
        row = await cur.fetchone()
    version = int(row[0]) if row else 0
    return (version, conn.total_changes, cfg.credits, cfg.exit.exam_pass_mark,
            cfg.reading.review, cfg.program.timezone)


async def sync(db: Database, cfg: Config, now: dt.datetime, *, force: bool = False) -> int:
    """Brings the ledger in line with the sources; returns how many rows it appended."""
    if not force:
        async with db.read() as conn:
            state = await ledger.sync_state(conn)
        if not state.changed and state.rules == rules_key(cfg, state.schema):
            return 0
    at = ts(now)
    written = 0
    async with db.tx() as conn:
        state = await ledger.sync_state(conn)
        key = rules_key(cfg, state.schema)
        full = force or state.rules != key
        if not full:
            in_scope = await ledger.take_changes(conn, OWNED_PREFIXES)
            if not in_scope:
                return 0
            # After a bulk import one pass over everything is cheaper than lookups per pair.
            full = in_scope > FULL_ABOVE
        if full:
            await ledger.forget_changes(conn)
        if await ledger.compare(conn, prices(cfg), OWNED_PREFIXES, scoped=not full):
            written = await ledger.book(conn, at)
        if full:
            await ledger.save_sync_state(conn, key, at)
    return written


async def sync_check(services: Services, now: dt.datetime) -> int:
    """Every tick: reconcile the ledger (a no-op when nothing changed)."""
    from bot.documents import charts

    # matplotlib and the 8 MB CJK font load in a background thread after start-up (the first
    # tick), so start-up stays fast and the first /credits is as quick as the others.
    charts.warm_up_in_background(services.config.credits.chart_font)
    await sync(services.db, services.config, now)
    # Appended rows are bookkeeping, not messages: report 0 so the tick wakes no sender.
    return 0
