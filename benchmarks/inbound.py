"""Inbound: N trainees check in at the same moment through the sandbox over loopback HTTP.

Reports updates handled per second and p50/p99 time from a user's message to the bot's answer,
for studybot (a real `/checkin` to an open online activity: gatekeeper, database transaction,
answer) and, in the same run on the same sandbox, for a bare python-telegram-bot echo bot.
Target: studybot >= 0.7 x the echo bot's throughput and p99 < 100 ms at N = 50.

The sandbox (the Bot API emulator and the simulated users, who also time the answers) runs in
a process of its own, as Telegram's servers and the users' phones do not share the bot's CPU:
in one process the sandbox's own work (HTTP, JSON, transcripts) would queue on the bot's event
loop and count against whichever bot is measured. Both bots face the same sandbox process, one
after the other. `--inline` runs the sandbox in the bot's process instead (the older, harsher
set-up) for comparison.

    python -m benchmarks.inbound [--n 50 500] [--rounds 3] [--inline]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import multiprocessing
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from benchmarks.common import NOW, machine, seed_members
from bot.app import AppOptions, build_application, services_of, start_app, stop_app
from bot.core.clock import ManualClock
from bot.core.config import parse_config
from bot.sandbox.client import SandboxUser
from bot.sandbox.server import Sandbox
from storage import activities as activities_repo
from storage.db import open_database, ts

FIRST_ID = 10_000
ECHO_FIRST_ID = 900_000
TEXT = "/checkin"


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


def _users(sb: Sandbox, first_id: int, n: int, prefix: str) -> list[SandboxUser]:
    return [sb.user(first_id + i, f"{prefix}{i}") for i in range(n)]


class Users(Protocol):
    """Where the simulated users live: what the bot needs to reach the sandbox, and a burst."""

    token: str
    base_url: str
    base_file_url: str
    bot_username: str

    async def burst(self, first_id: int, n: int, prefix: str) -> dict[str, float]: ...


class InlineUsers:
    """The sandbox and the users on the bot's own event loop."""

    def __init__(self, sb: Sandbox) -> None:
        self._sb = sb
        self.token, self.base_url = sb.token, sb.base_url
        self.base_file_url, self.bot_username = sb.base_file_url, sb.bot_username

    async def burst(self, first_id: int, n: int, prefix: str) -> dict[str, float]:
        return await _measure(_users(self._sb, first_id, n, prefix), TEXT)


def _sandbox_process(conn: Connection) -> None:
    """The child: a sandbox whose users send a burst on each request from the parent."""

    async def serve() -> None:
        async with Sandbox() as sb:
            conn.send({"token": sb.token, "base_url": sb.base_url,
                       "base_file_url": sb.base_file_url, "bot_username": sb.bot_username})
            while True:
                request = await asyncio.to_thread(conn.recv)
                if request is None:
                    return
                first_id, n, prefix = request
                conn.send(await _measure(_users(sb, first_id, n, prefix), TEXT))

    try:
        asyncio.run(serve())
    finally:
        conn.close()


class ProcessUsers:
    """The sandbox and the users in a process of their own (see the module docstring)."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_sandbox_process, args=(child,), daemon=True)

    async def __aenter__(self) -> ProcessUsers:
        self._proc.start()
        info: dict[str, str] = await asyncio.to_thread(self._conn.recv)
        self.token, self.base_url = info["token"], info["base_url"]
        self.base_file_url, self.bot_username = info["base_file_url"], info["bot_username"]
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            self._conn.send(None)
        except OSError:
            pass
        await asyncio.to_thread(self._proc.join, 10)
        if self._proc.is_alive():
            self._proc.kill()
        self._conn.close()

    async def burst(self, first_id: int, n: int, prefix: str) -> dict[str, float]:
        self._conn.send((first_id, n, prefix))
        result: dict[str, float] = await asyncio.to_thread(self._conn.recv)
        return result


async def echo_bot(users: Users, n: int) -> dict[str, float]:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    app = (
        Application.builder().token(users.token).base_url(users.base_url)
        .base_file_url(users.base_file_url).concurrent_updates(256).connection_pool_size(64)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(timeout=10, poll_interval=0.0)
    try:
        return await users.burst(ECHO_FIRST_ID, n, "echo")
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def studybot(users: Users, n: int, tmp: Path, round_no: int) -> dict[str, float]:
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
            "telegram": {"token": users.token, "base_url": users.base_url,
                         "base_file_url": users.base_file_url, "username": users.bot_username},
            "storage": {"path": str(db_path), "files_dir": str(tmp / "files")},
        },
        source="<bench>", base_dir=tmp, env={},
    )
    clock = ManualClock(NOW)
    app = build_application(cfg, AppOptions(clock=clock, tick_interval=None))
    await start_app(app)
    try:
        result = await users.burst(FIRST_ID, n, "成员")
        async with services_of(app).db.read() as conn:
            row = await (await conn.execute("SELECT COUNT(*) FROM attendance")).fetchone()
        result["records"] = row[0] if row else 0
        return result
    finally:
        await stop_app(app)


async def _round(n: int, tmp: Path, round_no: int, inline: bool) -> tuple[dict[str, float], ...]:
    if inline:
        async with Sandbox() as sb:
            users: Users = InlineUsers(sb)
            return await echo_bot(users, n), await studybot(users, n, tmp, round_no)
    async with ProcessUsers() as remote:
        return await echo_bot(remote, n), await studybot(remote, n, tmp, round_no)


async def run(sizes: list[int], rounds: int, *, inline: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            ours, echo = [], []
            for r in range(rounds):
                e, o = await _round(n, Path(tmp), r, inline)
                echo.append(e)
                ours.append(o)

            def best(rows: list[dict[str, float]]) -> dict[str, float]:
                return max(rows, key=lambda x: x["updates_per_second"])

            b_ours, b_echo = best(ours), best(echo)
            results[f"N={n}"] = {
                "studybot": b_ours,
                "echo_bot": b_echo,
                "throughput_ratio": round(
                    b_ours["updates_per_second"] / b_echo["updates_per_second"], 2),
                "studybot_p99_ms_all_rounds": [r["p99_ms"] for r in ours],
                "echo_bot_p99_ms_all_rounds": [r["p99_ms"] for r in echo],
                "targets": {"ratio": 0.7, "p99_ms_at_50": 100},
            }
    results["sandbox"] = "in the bot's process" if inline else "separate process"
    results["machine"] = machine()
    return results


def main() -> None:
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--rounds", type=int, default=3, help="best of this many rounds")
    parser.add_argument("--inline", action="store_true",
                        help="run the sandbox in the bot's process (the harsher old set-up)")
    args = parser.parse_args()
    result = asyncio.run(run(args.n, args.rounds, inline=args.inline))
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
