"""One instance per database, and another poller on the token: `studybot run` as real processes.

Two bots started at once on one database: one runs, the other exits 2 with one line naming the
holder (its pid); once the holder is SIGKILLed (the OS drops its lock) a new one starts. A
process polling the same token for good (409 Conflict on every getUpdates) stops the bot with
exit 2; a single 409 does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.sandbox.server import Sandbox
from tests.helpers import SMALL_ROSTER, T0, load_roster, make_config, said

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and flock")

EXIT_WITHIN = 30.0  # seconds


def config_file(tmp_path: Path, sb: Sandbox, extra: str = "") -> Path:
    cfg = make_config(tmp_path, sb)
    path = tmp_path / "config.toml"
    path.write_text(
        "[telegram]\n"
        f"base_url = '{sb.base_url}'\nbase_file_url = '{sb.base_file_url}'\n{extra}"
        f"[storage]\npath = '{cfg.db_path}'\nfiles_dir = '{cfg.files_dir}'\n",
        encoding="utf-8",
    )
    return path


async def start(config: Path, sb: Sandbox, log: Path) -> asyncio.subprocess.Process:
    """`python -m bot run` with its output (logs included) in `log`."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(config),
            env={**os.environ, "STUDYBOT_TOKEN": sb.token},
            stdout=out, stderr=asyncio.subprocess.STDOUT,
        )


async def stop(proc: asyncio.subprocess.Process) -> int:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(proc.wait(), EXIT_WITHIN)


@contextlib.asynccontextmanager
async def cleanup(*procs: asyncio.subprocess.Process) -> AsyncIterator[None]:
    try:
        yield
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def test_a_second_instance_on_the_database_refuses_until_the_first_is_killed(
    tmp_path: Path,
) -> None:
    async with Sandbox() as sb:
        codes = await load_roster(make_config(tmp_path, sb), SMALL_ROSTER, T0)
        config = config_file(tmp_path, sb)
        logs = [tmp_path / "a.log", tmp_path / "b.log"]
        procs = list(await asyncio.gather(*(start(config, sb, log) for log in logs)))
        async with cleanup(*procs):
            done, _ = await asyncio.wait(
                [asyncio.ensure_future(p.wait()) for p in procs], timeout=EXIT_WITHIN,
                return_when=asyncio.FIRST_COMPLETED,
            )
            assert len(done) == 1, "one of the two should have refused to start"
            refused = next(i for i, p in enumerate(procs) if p.returncode is not None)
            holder, loser = procs[1 - refused], procs[refused]
            output = logs[refused].read_text(encoding="utf-8")
            assert loser.returncode == 2, output
            lines = output.strip().splitlines()
            assert len(lines) == 1, output
            assert said(lines[0], "instance.busy", db=tmp_path / "studybot.sqlite3",
                        pid=holder.pid), output
            assert holder.returncode is None
            # The one that runs is the bot.
            user = sb.user(4242, "黄志强")
            assert said((await user.ask(f"/start {codes['T1']}", timeout=30)).text,
                        "register.welcome")
            lock_file = tmp_path / "studybot.sqlite3.lock"
            assert lock_file.stat().st_mode & 0o777 == 0o600
            assert f'"pid": {holder.pid}' in lock_file.read_text(encoding="utf-8")

            # Killed, the holder's lock goes with it: a new instance starts and answers.
            holder.send_signal(signal.SIGKILL)
            await asyncio.wait_for(holder.wait(), EXIT_WITHIN)
            again = await start(config, sb, tmp_path / "c.log")
            async with cleanup(again):
                assert "黄志强" in (await user.ask("/me", timeout=30)).text
                assert again.returncode is None
                code = await stop(again)
                assert code == 0, (tmp_path / "c.log").read_text(encoding="utf-8")
            # Stopped cleanly, it names nobody in the lock file.
            assert lock_file.read_text(encoding="utf-8") == ""


async def rival_poller(sb: Sandbox) -> None:
    """Another process polling the bot's token: long polls, one after the other, for ever
    (each one ends the bot's waiting poll with a 409, as Telegram does)."""
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            await client.post(f"{sb.base_url}{sb.token}/getUpdates", json={"timeout": 2})


async def test_persistent_409_conflicts_stop_the_bot_with_exit_2(tmp_path: Path) -> None:
    async with Sandbox() as sb:
        await load_roster(make_config(tmp_path, sb), SMALL_ROSTER, T0)
        config = config_file(
            tmp_path, sb, "conflicts_before_exit = 3\nconflict_exit_seconds = 1\n")
        log = tmp_path / "bot.log"
        rival = asyncio.create_task(rival_poller(sb))
        proc = await start(config, sb, log)
        try:
            async with cleanup(proc):
                code = await asyncio.wait_for(proc.wait(), EXIT_WITHIN)
        finally:
            rival.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await rival
        output = log.read_text(encoding="utf-8")
        assert code == 2, output
        assert "409 Conflict 3 times in a row" in output
        assert said(output, "instance.conflict", count=3), output
        assert "stopping" in output  # the graceful stop ran


async def test_a_single_409_is_only_a_warning(tmp_path: Path) -> None:
    async with Sandbox() as sb:
        codes = await load_roster(make_config(tmp_path, sb), SMALL_ROSTER, T0)
        config = config_file(tmp_path, sb, "conflicts_before_exit = 2\nconflict_exit_seconds = 0\n")
        sb.fail_next("getUpdates", status=409,
                     description="Conflict: terminated by other getUpdates request")
        log = tmp_path / "bot.log"
        proc = await start(config, sb, log)
        async with cleanup(proc):
            user = sb.user(4242, "黄志强")
            reply = await user.ask(f"/start {codes['T1']}", timeout=30)
            assert said(reply.text, "register.welcome")
            assert proc.returncode is None
            assert await stop(proc) == 0
        output = log.read_text(encoding="utf-8")
        assert "409 Conflict" in output
