"""Credits at scale: N members with a term of roll calls, then `/credits` (a trainee) and
`/ranking` (HR: everyone) through the sandbox over loopback HTTP, from the message to the photo.
Target: each under 1 s at N = 5,000, also when a roll-call record changed just before (so the
ledger sync runs first). Also reports the first (full) ledger sync, a sync with nothing
changed, a sync after one corrected roll-call record, and the tick's `credits.sync` (and, for
comparison, `exits.evaluate`) right after writes to tables the ledger does not derive from
(an outbox row and an audit row).

    python -m benchmarks.credits [--n 5000] [--activities 40] [--asks 5]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import NOW, count, machine, seed_members, timed
from bot.app import AppOptions, build_application, services_of, start_app, stop_app
from bot.core import scheduler
from bot.core.clock import ManualClock
from bot.core.config import parse_config
from bot.core.services import Services
from bot.credits.sync import sync
from bot.documents import charts
from bot.sandbox.server import Sandbox
from storage.db import open_database, ts

FIRST_ID = 10_000
STATUSES = ("present", "present", "present", "late", "present", "absent", "early_leave",
            "present", "excused", "present")


async def seed_roll_calls(db_path: Path, groups: int, per_group: int) -> None:
    """`per_group` past group studies per group, every member with a record."""
    db = await open_database(db_path)
    try:
        async with db.tx() as conn:
            members = await conn.execute_fetchall(
                "SELECT id, group_id FROM members WHERE role IN ('trainee', 'leader')")
            by_group: dict[int, list[int]] = {}
            for pk, gid in members:
                by_group.setdefault(int(gid), []).append(int(pk))
            activities = []
            for g in range(1, groups + 1):
                for i in range(per_group):
                    start = NOW - dt.timedelta(days=per_group - i, hours=g % 7)
                    activities.append((
                        f"B{g:04d}-{i:03d}", g, ts(start), ts(start + dt.timedelta(hours=2)),
                        by_group[g][i % len(by_group[g])], ts(NOW),
                    ))
            await conn.executemany(
                "INSERT INTO activities (activity_id, type, title, group_id, start_at, end_at,"
                " host_pk, secret, closed_at, created_at, updated_at)"
                " VALUES (?, 'group_study', '读书交流会', ?, ?, ?, ?, 's', ?, ?, ?)",
                [(*a[:5], a[3], a[5], a[5]) for a in activities],
            )
            rows = await conn.execute_fetchall("SELECT id, group_id FROM activities")
            records = []
            for n, (apk, gid) in enumerate(rows):
                for j, mpk in enumerate(by_group[int(gid)]):
                    records.append((apk, mpk, STATUSES[(n + j) % len(STATUSES)], ts(NOW)))
            await conn.executemany(
                "INSERT INTO attendance (activity_pk, member_pk, status, source, created_at,"
                " updated_at) VALUES (?, ?, ?, 'close', ?, ?)",
                [(*r, r[3]) for r in records],
            )
    finally:
        await db.close()


async def unrelated_write_ticks(services: Services, times: int) -> dict[str, Any]:
    """The due checks `credits.sync` and `exits.evaluate`, each right after an outbox row and
    an audit row were written (nothing the ledger derives from)."""
    out: dict[str, Any] = {}
    now = services.clock.now()
    for name in ("credits.sync", "exits.evaluate"):
        check = scheduler.checks().get(name)
        if check is None:
            continue
        runs: list[float] = []
        for _ in range(times):
            async with services.db.tx() as conn:
                await conn.execute(
                    "INSERT INTO outbox (chat_id, kind, payload, status, not_before, attempts,"
                    " created_at, sent_at) VALUES (1, 'bench', '{}', 'sent', ?, 1, ?, ?)",
                    (ts(now), ts(now), ts(now)))
                await conn.execute(
                    "INSERT INTO audit_log (at, action, subject, reason)"
                    " VALUES (?, 'bench', 'bench', '')", (ts(now),))
            start = time.perf_counter()
            await check(services, now)
            runs.append(time.perf_counter() - start)
        key = name.replace(".", "_")
        out[f"{key}_after_unrelated_write_ms_median"] = round(statistics.median(runs) * 1000, 1)
        out[f"{key}_after_unrelated_write_ms_all"] = [round(x * 1000, 1) for x in runs]
    return out


async def run(n: int, per_group: int, asks: int) -> dict[str, Any]:
    groups = max(1, n // 10)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db_path = tmp / "credits.sqlite3"
        await seed_members(db_path, n, groups=groups, first_telegram_id=FIRST_ID)
        await seed_roll_calls(db_path, groups, per_group)
        async with Sandbox() as sb:
            cfg = parse_config(
                {
                    "telegram": {"token": sb.token, "base_url": sb.base_url,
                                 "base_file_url": sb.base_file_url,
                                 "username": sb.bot_username},
                    "storage": {"path": str(db_path), "files_dir": str(tmp / "files")},
                },
                source="<bench>", base_dir=tmp, env={},
            )
            clock = ManualClock(NOW.astimezone(cfg.tz))
            app = build_application(cfg, AppOptions(clock=clock, tick_interval=None))
            await start_app(app)
            try:
                services = services_of(app)
                start = time.perf_counter()
                appended = await sync(services.db, cfg, clock.now())
                first_sync = time.perf_counter() - start
                start = time.perf_counter()
                await sync(services.db, cfg, clock.now())
                idle_sync = time.perf_counter() - start
                async with services.db.tx() as conn:
                    await conn.execute(
                        "UPDATE attendance SET status = 'absent' WHERE id = 1")
                start = time.perf_counter()
                await sync(services.db, cfg, clock.now())
                changed_sync = time.perf_counter() - start
                unrelated = await unrelated_write_ticks(services, asks)
                await asyncio.to_thread(charts.setup, "")  # what the first tick's warm-up does
                trainee = sb.user(FIRST_ID + groups + 1, "学员")
                hr = sb.user(FIRST_ID + n, "人事一")
                credits_s = await timed(lambda: trainee.ask("/credits", timeout=60), asks)
                ranking_s = await timed(
                    lambda: hr.ask("/ranking", timeout=60, predicate=lambda e: e.media_type
                                   == "photo"), asks)
                assert trainee.last().media_type == "photo"
                flip = iter(["present", "absent"] * asks)

                async def corrected_then_credits() -> None:
                    # A roll-call record changes just before: /credits pays a real sync.
                    async with services.db.tx() as conn:
                        await conn.execute("UPDATE attendance SET status = ? WHERE id = 2",
                                           (next(flip),))
                    await trainee.ask("/credits", timeout=60)

                after_write_s = await timed(corrected_then_credits, asks)
            finally:
                await stop_app(app)
        ledger_rows = count(db_path, "SELECT COUNT(*) FROM credit_ledger")
        records = count(db_path, "SELECT COUNT(*) FROM attendance")
    return {
        "members": n,
        "attendance_records": records,
        "ledger_rows": ledger_rows,
        "first_sync_seconds": round(first_sync, 2),
        "first_sync_rows_appended": appended,
        "sync_nothing_changed_ms": round(idle_sync * 1000, 1),
        "sync_one_correction_seconds": round(changed_sync, 3),
        **unrelated,
        "credits_seconds_median": round(statistics.median(credits_s), 3),
        "credits_seconds_all": [round(x, 3) for x in credits_s],
        "credits_after_a_correction_seconds_median": round(statistics.median(after_write_s), 3),
        "ranking_seconds_median": round(statistics.median(ranking_s), 3),
        "ranking_seconds_all": [round(x, 3) for x in ranking_s],
        "target_seconds": 1.0,
        "machine": machine(),
    }


def main() -> None:
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--activities", type=int, default=40, help="per group")
    parser.add_argument("--asks", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.n, args.activities, args.asks)), ensure_ascii=False,
                     indent=2))


if __name__ == "__main__":
    main()
