"""Inbound: N trainees check in at the same moment through the sandbox over loopback HTTP.

Reports updates handled per second and p50/p99 time from a user's message to the bot's answer,
for studybot (a real `/checkin` to an open online activity: gatekeeper, database transaction,
answer) and, in the same run on the same sandbox, for a bare python-telegram-bot echo bot.
Target: studybot >= 0.7 x the echo bot's throughput and p99 < 100 ms at N = 50.

    python -m benchmarks.inbound [--n 50 500] [--rounds 3]
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

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from benchmarks.common import NOW, machine, seed_members
from bot.app import AppOptions, build_application, services_of, start_app, stop_app
from bot.clock import ManualClock
from bot.config import parse_config
from bot.sandbox.client import SandboxUser
from bot.sandbox.server import Sandbox
from storage import activities as activities_repo
from storage.db import open_database, ts

FIRST_ID = 10_000


async def _measure(users: list[SandboxUser], text: str) -> dict[str, float]:
    """Every user sends at once; the time each waits for its answer."""
    latencies: list[float] = []

    async def one(user: SandboxUser) -> None:
        start = time.perf_counter()
        await user.ask(text, timeout=60)
        latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(one(u) for u in users))
    wall = time.perf_counter() - start
    latencies.sort()
    return {
        "updates_per_second": round(len(users) / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
    }


async def echo_bot(sb: Sandbox, n: int) -> dict[str, float]:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    app = (
        Application.builder().token(sb.token).base_url(sb.base_url)
        .base_file_url(sb.base_file_url).concurrent_updates(256).connection_pool_size(64)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(timeout=10, poll_interval=0.0)
    try:
        users = [sb.user(900_000 + i, f"echo{i}") for i in range(n)]
        return await _measure(users, "/checkin")
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def studybot(sb: Sandbox, n: int, tmp: Path, round_no: int) -> dict[str, float]:
    db_path = tmp / f"inbound-{n}-{round_no}.sqlite3"
    await seed_members(db_path, n, groups=max(1, n // 10), first_telegram_id=FIRST_ID)
    start = NOW + dt.timedelta(minutes=5)
    db = await open_database(db_path)
    try:
        async with db.tx() as conn:
            await activities_repo.insert(
                conn, activity_id="BENCH", type="online", title="线上学习", group_id=None,
                start_at=ts(start), end_at=ts(start + dt.timedelta(hours=2)), location="",
                lat=None, lon=None, radius_m=None, host_pk=None, secret="bench-secret",
                source="import", created_by=None, now=ts(NOW),
            )
    finally:
        await db.close()
    cfg = parse_config(
        {
            "telegram": {"token": sb.token, "base_url": sb.base_url,
                         "base_file_url": sb.base_file_url, "username": sb.bot_username},
            "storage": {"path": str(db_path), "files_dir": str(tmp / "files")},
        },
        source="<bench>", base_dir=tmp, env={},
    )
    clock = ManualClock(NOW)
    app = build_application(cfg, AppOptions(clock=clock, tick_interval=None))
    await start_app(app)
    try:
        users = [sb.user(FIRST_ID + i, f"成员{i}") for i in range(n)]
        result = await _measure(users, "/checkin")
        async with services_of(app).db.read() as conn:
            row = await (await conn.execute("SELECT COUNT(*) FROM attendance")).fetchone()
        result["records"] = row[0] if row else 0
        return result
    finally:
        await stop_app(app)


async def run(sizes: list[int], rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            ours, echo = [], []
            for r in range(rounds):
                async with Sandbox() as sb:
                    echo.append(await echo_bot(sb, n))
                    ours.append(await studybot(sb, n, Path(tmp), r))

            def best(rows: list[dict[str, float]]) -> dict[str, float]:
                return max(rows, key=lambda x: x["updates_per_second"])

            b_ours, b_echo = best(ours), best(echo)
            results[f"N={n}"] = {
                "studybot": b_ours,
                "echo_bot": b_echo,
                "throughput_ratio": round(
                    b_ours["updates_per_second"] / b_echo["updates_per_second"], 2),
                "targets": {"ratio": 0.7, "p99_ms_at_50": 100},
            }
    results["machine"] = machine()
    return results


def main() -> None:
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--rounds", type=int, default=3, help="best of this many rounds")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.n, args.rounds)), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
