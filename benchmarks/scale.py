"""Scale: 5,000 members in 50 groups with a year of records (activities, roll calls, leave
requests, reading submissions, reports, the credit ledger), then

- HR's daily digest with its chart: `bot.reminders.digest.hr_now` (what `/digest` calls) from start
to
  text + chart PNG ready; `/digest` through the sandbox from the message to the chart photo;
  and the scheduled due check `digest.hr` once (compose, render, write the chart, queue),
  delivered, then `digest.charts` deleting its chart file; the size of HR's digest and of one
  leader's weekly digest (characters, messages), with the long lists cut at `[digest]
  max_names` (before that cap: 158k characters, 41 messages per HR chat);
- `/credits` (a trainee) and `/ranking` (HR) through the sandbox, as benchmarks.credits;
- peak RSS of this process (the bot, the sandbox server and the seeding all run in it).

Targets (issue 10): digest < 2 s, /credits < 1 s, /ranking < 1 s, peak RSS < 250 MB.

Records are inserted with executemany straight into the tables (columns and CHECK constraints
of storage/migrations). The credit ledger is then built by the bot's own reconciliation
(bot.credits.sync.sync, set-based SQL, timed as `first_sync_seconds`, in a process of its own
whose peak RSS is `first_sync_peak_rss_mb`) so that it matches the records and `/credits` does
not pay a catch-up; hand adjustments (`adjust:<n>`, which the sync never touches) are inserted
directly. The programme year starts on 03-01 (credits and reading)
so the whole seeded year is the current one.

    python -m benchmarks.scale [--n 5000] [--groups 50] [--weeks 52] [--asks 3]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import datetime as dt
import json
import logging
import multiprocessing
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import NOW, count, machine, peak_rss_mb, seed_members, timed
from bot.app import AppOptions, build_application, services_of, start_app, stop_app
from bot.core.clock import ManualClock
from bot.core.config import Config, parse_config
from bot.credits.sync import sync
from bot.sandbox.server import Sandbox
from storage.db import open_database, ts

FIRST_ID = 10_000
STATUSES = ("present", "present", "present", "late", "present", "absent", "early_leave",
            "present", "present", "present", "present", "present")
TARGETS = {"digest_seconds": 2.0, "credits_seconds": 1.0, "ranking_seconds": 1.0,
           "peak_rss_mb": 250.0}
# The previous scheduled HR digest: Friday 08:30 local (00:30 UTC); NOW is Monday 17:00 local,
# so the digest covers the weekend and Monday, like a real Monday digest (and more).
LAST_DIGEST = dt.datetime(2026, 2, 27, 0, 30, tzinfo=dt.UTC)
YEAR_START = dt.datetime(2025, 3, 3, 11, 0, tzinfo=dt.UTC)  # a Monday, 19:00 local


async def seed_year(db_path: Path, groups: int, weeks: int) -> dict[str, int]:
    """A year of records for the members seeded by benchmarks.common.seed_members."""
    db = await open_database(db_path)
    now = ts(NOW)
    try:
        async with db.tx() as conn:
            members = await conn.execute_fetchall(
                "SELECT id, group_id, role FROM members ORDER BY id")
            by_group: dict[int, list[int]] = {}
            hr: list[int] = []
            for pk, gid, role in members:
                if role == "hr":
                    hr.append(int(pk))
                else:
                    by_group.setdefault(int(gid), []).append(int(pk))
            everyone = [pk for g in sorted(by_group) for pk in by_group[g]]

            # Activities: a weekly group study per group (weekday by group), a monthly
            # collective session for everyone, two exams; all in the past closed.
            acts: list[tuple[Any, ...]] = []
            for g in range(1, groups + 1):
                for w in range(weeks):
                    start = YEAR_START + dt.timedelta(weeks=w, days=g % 7)
                    if start >= NOW:
                        continue
                    host = by_group[g][w % len(by_group[g])]
                    acts.append((f"G{g:03d}-{w:03d}", "group_study", "读书交流会", g, start,
                                 host))
            for k in range(weeks // 4 + 1):
                start = YEAR_START + dt.timedelta(weeks=4 * k, days=5, hours=-9)  # Sat 10:00
                if start < NOW:
                    acts.append((f"C{k:03d}", "collective", "集中学习", None, start, None))
            # One collective session inside the digest window, so the digest names people.
            acts.append(("C-LAST", "collective", "集中学习", None,
                         dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC), None))
            for k, day in enumerate((dt.datetime(2025, 7, 5, 1, 0, tzinfo=dt.UTC),
                                     dt.datetime(2026, 1, 10, 1, 0, tzinfo=dt.UTC))):
                acts.append((f"E{k:03d}", "exam", "考试", None, day, None))
            await conn.executemany(
                "INSERT INTO activities (activity_id, type, title, group_id, start_at, end_at,"
                " host_pk, secret, closed_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 's', ?, ?, ?)",
                [(aid, typ, title, g, ts(start), ts(start + dt.timedelta(hours=2)), host,
                  ts(start + dt.timedelta(hours=2)), now, now)
                 for aid, typ, title, g, start, host in acts],
            )
            rows = list(await conn.execute_fetchall(
                "SELECT id, group_id, type, host_pk, end_at FROM activities ORDER BY id"))

            # Roll calls: everyone concerned has a record; approved leave makes it 'excused'.
            records: list[tuple[Any, ...]] = []
            leaves: list[tuple[Any, ...]] = []
            for n, (apk, gid, _typ, _host, end_at) in enumerate(rows):
                people = by_group[int(gid)] if gid is not None else everyone
                for j, mpk in enumerate(people):
                    status = STATUSES[(n + j) % len(STATUSES)]
                    if (n * 7 + j) % 50 == 0:
                        status = "excused"
                        leaves.append((mpk, apk, "家中有事", "leader", "approved", end_at))
                    source = ("code" if status in ("present", "late", "early_leave")
                              else "leave" if status == "excused" else "close")
                    checkin = end_at if source == "code" else None
                    records.append((apk, mpk, status, checkin, source, end_at, end_at))
            await conn.executemany(
                "INSERT INTO attendance (activity_pk, member_pk, status, checkin_at, source,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                records,
            )
            # A few requests waiting for HR (the digest's "waiting for HR" section).
            upcoming = NOW + dt.timedelta(days=3)
            cur = await conn.execute(
                "INSERT INTO activities (activity_id, type, title, group_id, start_at, end_at,"
                " secret, created_at, updated_at) VALUES ('C-NEXT', 'collective', '集中学习',"
                " NULL, ?, ?, 's', ?, ?)",
                (ts(upcoming), ts(upcoming + dt.timedelta(hours=2)), now, now),
            )
            assert cur.lastrowid is not None
            next_pk = cur.lastrowid
            await conn.executemany(
                "INSERT INTO leave_requests (member_pk, activity_pk, reason, route, approver_pk,"
                " state, decided_by, decided_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, NULL, ?, NULL, ?, ?, ?)",
                [(m, a, r, route, st, at, at, at) for m, a, r, route, st, at in leaves],
            )
            await conn.executemany(
                "INSERT INTO leave_requests (member_pk, activity_pk, reason, route, state,"
                " created_at, updated_at) VALUES (?, ?, '出差', 'hr', 'pending', ?, ?)",
                [(mpk, next_pk, now, now) for mpk in everyone[:: len(everyone) // 20][:20]],
            )

            # Reports: one submitted per group study, by its host.
            await conn.executemany(
                "INSERT INTO reports (activity_pk, host_pk, state, studied, highlights,"
                " stated_headcount, due_at, submitted_at, created_at, updated_at)"
                " VALUES (?, ?, 'submitted', '第一章', '讨论热烈', 90, ?, ?, ?, ?)",
                [(apk, host, end_at, end_at, end_at, end_at)
                 for apk, _gid, typ, host, end_at in rows if typ == "group_study"],
            )

            # Reading: six submissions per member over the year (books and reflections).
            subs: list[tuple[Any, ...]] = []
            span = (NOW - YEAR_START).total_seconds()
            for i, mpk in enumerate(everyone):
                for k in range(6):
                    at = YEAR_START + dt.timedelta(seconds=span * ((i * 37 + k * 1013) % 997)
                                                   / 997)
                    kind = "book" if k < 4 else "reflection"
                    title = f"书目{k}" if kind == "book" else f"心得{k}"
                    status = "accepted" if k < 5 else "submitted"
                    subs.append((mpk, 2025, kind, title, title.lower(), at.date().isoformat(),
                                 "读后感" * 20, status, ts(at), ts(at)))
            await conn.executemany(
                "INSERT INTO reading_submissions (member_pk, year, kind, title, title_norm,"
                " finished_on, body, status, submitted_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                subs,
            )

            # The previous scheduled HR digest (what /digest and the due check start from).
            await conn.execute(
                "INSERT INTO digest_runs (kind, scope, period, covered_from, covered_to, status,"
                " messages, sent_at) VALUES ('hr', '', '2026-02-27', ?, ?, 'sent', 2, ?)",
                (ts(LAST_DIGEST - dt.timedelta(days=1)), ts(LAST_DIGEST), ts(LAST_DIGEST)),
            )
            # A delivered outbox history (one message per member per week) for realism.
            await conn.executemany(
                "INSERT INTO outbox (chat_id, member_pk, kind, payload, status, not_before,"
                " attempts, created_at, sent_at) VALUES (?, ?, 'reminder', '{}', 'sent', ?, 1,"
                " ?, ?)",
                [(FIRST_ID + mpk, mpk, ts(t), ts(t), ts(t))
                 for w in range(0, weeks, 4) for mpk in everyone
                 for t in (YEAR_START + dt.timedelta(weeks=w),)],
            )
        return {"activities": len(rows) + 1, "hr_members": len(hr)}
    finally:
        await db.close()


async def seed_adjustments(db_path: Path, members: int) -> None:
    """Hand adjustments HR made (not derived from records, untouched by the sync)."""
    db = await open_database(db_path)
    try:
        async with db.tx() as conn:
            await conn.executemany(
                "INSERT INTO credit_ledger (member_pk, on_date, points, rule, source, note,"
                " actor_pk, created_at, year) VALUES (?, '2025-12-01', ?, 'adjust', ?, '补录',"
                " NULL, ?, 2025)",
                [(pk, 0.5, f"adjust:{pk}", ts(NOW)) for pk in range(1, members + 1, 10)],
            )
    finally:
        await db.close()


async def _leader_digest_size(services: Any) -> tuple[int, int]:
    """(characters, messages) of the first group's weekly leader digest over the last week."""
    from bot.reminders import digest
    from storage import members as members_repo

    cfg = services.config
    async with services.db.read() as conn:
        group_id, name = (await members_repo.groups(conn))[0]
        leader = await members_repo.group_leader(conn, group_id)
        scope = digest.Scope("leader", cfg, "zh", NOW - dt.timedelta(days=7), NOW,
                             NOW.astimezone(cfg.tz).date(), group_id, name, leader)
        texts = digest.parts(await digest.compose(conn, scope))
    return sum(len(x) for x in texts), len(texts)


def _median(xs: list[float]) -> float:
    return round(statistics.median(xs), 3)


def _config(db_path: Path, tmp: Path, telegram: dict[str, Any]) -> Config:
    return parse_config(
        {
            "telegram": telegram,
            "storage": {"path": str(db_path), "files_dir": str(tmp / "files")},
            "credits": {"year_starts": "03-01"},
            "reading": {"year_starts": "03-01"},
        },
        source="<bench>", base_dir=tmp, env={},
    )


async def seed(db_path: Path, n: int, groups: int, weeks: int) -> dict[str, Any]:
    """Seeds the database (members, a year of records, hand adjustments)."""
    start = time.perf_counter()
    await seed_members(db_path, n, groups=groups, first_telegram_id=FIRST_ID)
    seeded: dict[str, Any] = dict(await seed_year(db_path, groups, weeks))
    await seed_adjustments(db_path, n)
    seeded["seed_seconds"] = round(time.perf_counter() - start, 2)
    seeded["seed_peak_rss_mb"] = round(peak_rss_mb(), 1)
    return seeded


async def first_sync(db_path: Path) -> dict[str, Any]:
    """Builds the ledger: the first, full sync (in a fresh process, so its peak RSS is its
    own: the interpreter, the bot's modules and the sync)."""
    cfg = _config(db_path, db_path.parent, {"token": "1:bench"})
    db = await open_database(db_path)
    try:
        out: dict[str, Any] = {"first_sync_rss_before_mb": round(peak_rss_mb(), 1)}
        start = time.perf_counter()
        out["first_sync_rows_appended"] = await sync(db, cfg, NOW)
        out["first_sync_seconds"] = round(time.perf_counter() - start, 2)
    finally:
        await db.close()
    out["first_sync_peak_rss_mb"] = round(peak_rss_mb(), 1)
    return out


def _seed_in_child(db_path: str, n: int, groups: int, weeks: int) -> dict[str, Any]:
    return asyncio.run(seed(Path(db_path), n, groups, weeks))


def _first_sync_in_child(db_path: str) -> dict[str, Any]:
    return asyncio.run(first_sync(Path(db_path)))


async def run(n: int = 5000, groups: int = 50, weeks: int = 52, asks: int = 3) -> dict[str, Any]:
    """Seeding and the first full ledger sync run in child processes (one each), so this
    process's peak RSS is the bot's (and the in-process sandbox's) while it answers, and the
    first sync's is its own."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db_path = tmp / "scale.sqlite3"
        ctx = multiprocessing.get_context("spawn")
        loop = asyncio.get_running_loop()
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
            seeded = await loop.run_in_executor(
                pool, _seed_in_child, str(db_path), n, groups, weeks)
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
            seeded.update(await loop.run_in_executor(pool, _first_sync_in_child, str(db_path)))
        rss_before_bot = round(peak_rss_mb(), 1)
        async with Sandbox() as sb:
            cfg = _config(db_path, tmp, {"token": sb.token, "base_url": sb.base_url,
                                         "base_file_url": sb.base_file_url,
                                         "username": sb.bot_username})
            clock = ManualClock(NOW.astimezone(cfg.tz))
            app = build_application(cfg, AppOptions(clock=clock, tick_interval=None))
            await start_app(app)
            try:
                from bot.reminders import digest

                services = services_of(app)
                start = time.perf_counter()
                idle_sync = await sync(services.db, cfg, clock.now())
                idle_sync_s = time.perf_counter() - start

                # Cold: the first digest of the process pays matplotlib's import and fonts.
                start = time.perf_counter()
                cold = await digest.hr_now(services, "zh")
                digest_cold = time.perf_counter() - start
                assert cold.chart is not None and cold.texts
                digest_s = await timed(lambda: digest.hr_now(services, "zh"), asks)
                result = await digest.hr_now(services, "zh")
                chart_bytes = len(result.chart or b"")
                digest_chars = sum(len(x) for x in result.texts)
                leader_chars, leader_messages = await _leader_digest_size(services)

                hr = sb.user(FIRST_ID + n, "人事一")
                trainee = sb.user(FIRST_ID + groups + 1, "学员")
                photo = (lambda e: e.media_type == "photo")  # noqa: E731
                digest_cmd_s = await timed(
                    lambda: hr.ask("/digest", timeout=60, predicate=photo), asks)
                credits_s = await timed(lambda: trainee.ask("/credits", timeout=60), asks)
                assert trainee.last().media_type == "photo"
                ranking_s = await timed(
                    lambda: hr.ask("/ranking", timeout=60, predicate=photo), asks)

                # The scheduled digest once (compose, render, write the chart, queue to HR).
                start = time.perf_counter()
                queued = await digest.hr_due(services, clock.now())
                due_s = time.perf_counter() - start
                # Deliver it before stopping (stop_app must not close the db under a pass in
                # progress); the bot paces each chat at 1 message/s, so this takes a while.
                start = time.perf_counter()
                await services.sender.flush()
                delivery_s = time.perf_counter() - start
                # Sent: the chart file goes at the next tick.
                charts_deleted = await digest.prune_charts(services, clock.now())
                charts_left = len(list((cfg.files_dir / "digests").glob("*.png")))
            finally:
                await stop_app(app)
        with sqlite3.connect(db_path) as sq:
            digest_rows = dict(sq.execute(
                "SELECT status, COUNT(*) FROM outbox WHERE kind LIKE 'digest.hr%'"
                " GROUP BY status").fetchall())
        figures = {
            "attendance_records": count(db_path, "SELECT COUNT(*) FROM attendance"),
            "ledger_rows": count(db_path, "SELECT COUNT(*) FROM credit_ledger"),
            "reading_submissions": count(db_path, "SELECT COUNT(*) FROM reading_submissions"),
            "leave_requests": count(db_path, "SELECT COUNT(*) FROM leave_requests"),
            "reports": count(db_path, "SELECT COUNT(*) FROM reports"),
            "outbox_rows": count(db_path, "SELECT COUNT(*) FROM outbox"),
            "db_mb": round(db_path.stat().st_size / 2**20, 1),
        }
    rss = round(peak_rss_mb(), 1)
    out: dict[str, Any] = {
        "members": n,
        "groups": groups,
        **seeded,
        **figures,
        "sync_nothing_changed_seconds": round(idle_sync_s, 3),
        "sync_nothing_changed_rows": idle_sync,
        "digest_window": f"{ts(LAST_DIGEST)} .. {ts(NOW)} UTC",
        "digest_text_chars": digest_chars,
        "digest_messages": len(result.texts),
        "digest_max_names": cfg.digest.max_names,
        "leader_digest_text_chars": leader_chars,
        "leader_digest_messages": leader_messages,
        "digest_chart_bytes": chart_bytes,
        "digest_cold_seconds": round(digest_cold, 3),
        "digest_seconds_median": _median(digest_s),
        "digest_seconds_all": [round(x, 3) for x in digest_s],
        "digest_command_seconds_median": _median(digest_cmd_s),
        "digest_command_seconds_all": [round(x, 3) for x in digest_cmd_s],
        "digest_due_check_seconds": round(due_s, 3),
        "digest_due_check_queued": queued,
        "digest_due_check_outbox_by_status": digest_rows,
        "digest_due_check_delivery_seconds": round(delivery_s, 3),
        "digest_chart_files_deleted_after_delivery": charts_deleted,
        "digest_chart_files_left": charts_left,
        "credits_seconds_median": _median(credits_s),
        "credits_seconds_all": [round(x, 3) for x in credits_s],
        "ranking_seconds_median": _median(ranking_s),
        "ranking_seconds_all": [round(x, 3) for x in ranking_s],
        "peak_rss_mb": rss,
        "rss_before_bot_started_mb": rss_before_bot,
        "targets": TARGETS,
        "machine": machine(),
    }
    out["met"] = {
        "digest": max(out["digest_seconds_median"], out["digest_command_seconds_median"])
        < TARGETS["digest_seconds"],
        "credits": out["credits_seconds_median"] < TARGETS["credits_seconds"],
        "ranking": out["ranking_seconds_median"] < TARGETS["ranking_seconds"],
        "peak_rss": rss < TARGETS["peak_rss_mb"],
        "first_sync_peak_rss": out["first_sync_peak_rss_mb"] < TARGETS["peak_rss_mb"],
    }
    return out


def main() -> None:
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--asks", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.n, args.groups, args.weeks, args.asks)),
                     ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
