"""Outbound: an announcement to 1,000 members through the outbox, the sandbox enforcing Telegram's
limits (~30 messages/s overall, 1/s per chat, 429 with retry_after beyond). Target: >= 27
messages/s sustained, 0 lost, 0 duplicated, 429s retried.

    python -m benchmarks.outbound [--members 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path

from benchmarks.common import count, machine, seed_members
from bot.app import AppOptions, build_application, services_of, start_app, stop_app
from bot.core.config import parse_config
from bot.sandbox.server import Sandbox
from storage import outbox as outbox_repo


async def run(members: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.sqlite3"
        await seed_members(db_path, members, groups=max(1, members // 100))
        async with Sandbox(enforce_rate_limits=True) as sb:
            for i in range(members):
                sb.user(10_000 + i, f"成员{i}")
            cfg = parse_config(
                {
                    "telegram": {"token": sb.token, "base_url": sb.base_url,
                                 "base_file_url": sb.base_file_url, "username": sb.bot_username},
                    "storage": {"path": str(db_path), "files_dir": str(Path(tmp) / "files")},
                },
                source="<bench>", base_dir=Path(tmp), env={},
            )
            app = build_application(cfg, AppOptions(tick_interval=None, start_sender=False))
            await start_app(app)
            services = services_of(app)
            try:
                async with services.db.tx() as conn:
                    now = services.now_ts()
                    for i in range(members):
                        await outbox_repo.enqueue(
                            conn, chat_id=10_000 + i, kind="announce",
                            payload={"text": f"通知：明天下午三点集中培训（第 {i} 份）"}, now=now,
                        )
                start = time.perf_counter()
                sent = 0
                while sent < members:
                    sent += await services.sender.run_once()
                    if sent < members:
                        # 429s reschedule rows on the real clock; wait for the earliest one.
                        async with services.db.read() as conn:
                            due = await outbox_repo.next_due_at(conn)
                        if due is None:
                            break
                        await asyncio.sleep(0.05)
                elapsed = time.perf_counter() - start
            finally:
                await stop_app(app)
            per_chat = [len(sb.bot_messages(10_000 + i)) for i in range(members)]
            stats = sb.stats
        lost = count(db_path, "SELECT COUNT(*) FROM outbox WHERE status != 'sent'")
    return {
        "members": members,
        "seconds": round(elapsed, 2),
        "messages_per_second": round(members / elapsed, 1),
        "lost": lost,
        "duplicated": sum(1 for c in per_chat if c > 1),
        "missing_in_sandbox": sum(1 for c in per_chat if c == 0),
        "http_429": stats.rate_limited,
    }


def main() -> None:
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1000)
    args = parser.parse_args()
    result = asyncio.run(run(args.members))
    result["target_messages_per_second"] = 27
    result["machine"] = machine()  # type: ignore[assignment]
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
