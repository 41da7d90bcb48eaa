"""Start-up: `studybot run` from process start until its first long poll reaches the sandbox.
Target: ready in < 3 s (heavy modules such as matplotlib are imported only when used).

    python -m benchmarks.startup [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import machine, seed_members
from bot.sandbox.server import Sandbox


async def once(tmp: Path, run: int) -> float:
    db_path = tmp / f"start-{run}.sqlite3"
    await seed_members(db_path, 50, groups=5)
    async with Sandbox() as sb:
        config = tmp / f"config-{run}.toml"
        config.write_text(
            f"[telegram]\nbase_url = '{sb.base_url}'\nbase_file_url = '{sb.base_file_url}'\n"
            f"[storage]\npath = '{db_path}'\nfiles_dir = '{tmp / 'files'}'\n",
            encoding="utf-8",
        )
        env = {**os.environ, "STUDYBOT_TOKEN": sb.token}
        start = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(config), env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await sb.wait_polling(timeout=30)
            elapsed = time.perf_counter() - start
        finally:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()
    return elapsed


async def run(runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        times = [await once(Path(tmp), i) for i in range(runs)]
    return {
        "ready_seconds_best": round(min(times), 2),
        "ready_seconds_all": [round(t, 2) for t in times],
        "target_seconds": 3,
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.runs)), indent=2))


if __name__ == "__main__":
    main()
