"""Shared set-up for the benchmarks: a programme of N registered members on a real SQLite file."""

from __future__ import annotations

import datetime as dt
import platform
import resource
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from storage.db import open_database, ts

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


async def seed_members(db_path: Path, n: int, groups: int, first_telegram_id: int = 10_000) -> None:
    """N members in `groups` groups (one leader each) plus 2 HR, all registered."""
    db = await open_database(db_path)
    now = ts(NOW)
    try:
        async with db.tx() as conn:
            await conn.executemany(
                "INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)",
                [(g + 1, f"第{g + 1}组", now) for g in range(groups)],
            )
            rows: list[tuple[Any, ...]] = []
            for i in range(n):
                group = i % groups + 1
                role = "leader" if i < groups else "trainee"
                tg = first_telegram_id + i
                rows.append((f"M{i:05d}", f"成员{i}", role, group, tg, now, now, now))
            rows.append(("H0001", "人事一", "hr", None, first_telegram_id + n, now, now, now))
            rows.append(("H0002", "人事二", "hr", None, first_telegram_id + n + 1, now, now, now))
            await conn.executemany(
                "INSERT INTO members (member_id, name, role, group_id, telegram_id, language,"
                " registered_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'zh', ?, ?, ?)",
                rows,
            )
    finally:
        await db.close()


async def timed(fn: Callable[[], Awaitable[object]], times: int) -> list[float]:
    """Wall seconds of each of `times` awaits of fn()."""
    out = []
    for _ in range(times):
        start = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - start)
    return out


def machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB. On Linux VmHWM, the high-water mark of the
    process's own memory: ru_maxrss survives exec, so a child spawned by a 150 MB parent would
    report at least 150 MB whatever it did itself."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def count(db_path: Path, sql: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute(sql).fetchone()[0])
