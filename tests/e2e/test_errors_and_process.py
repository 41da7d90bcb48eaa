"""The error handler, and `studybot run` as a real process: graceful SIGTERM, no token in logs."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from telegram.ext import CommandHandler

from bot.sandbox.server import Sandbox
from tests.helpers import SMALL_ROSTER, T0, boom, load_roster, make_config, running_bot, said


async def test_error_is_apologised_for_and_reported_to_hr_chat(tmp_path: Path) -> None:
    async with running_bot(tmp_path, program={"hr_chat_id": -100777}) as h:
        h.app.add_handler(CommandHandler("boom", boom))
        hr_chat = h.sandbox.group(-100777, "人事科")
        user = await h.register("T1")
        reply = await user.ask("/boom")
        assert said(reply.text, "error.apology")
        report = await h.sandbox.wait_for_bot_message(hr_chat.id)
        assert "kaboom in a handler" in report.text
        assert h.sandbox.token not in report.text
        # The bot is still up.
        assert "黄志强" in (await user.ask("/me")).text


async def test_apology_in_english_for_an_english_member(tmp_path: Path) -> None:
    async with running_bot(tmp_path, program={"language": "en"}) as h:
        h.app.add_handler(CommandHandler("boom", boom))
        user = h.new_user()
        reply = await user.ask(f"/start {h.codes['T1']}")
        assert said(reply.text, "register.welcome", lang="en")
        assert said((await user.ask("/boom")).text, "error.apology", lang="en")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_run_process_stops_gracefully_and_never_logs_the_token(tmp_path: Path) -> None:
    async with Sandbox() as sb:
        cfg = make_config(tmp_path, sb)
        codes = await load_roster(cfg, SMALL_ROSTER, T0)
        config_file = tmp_path / "config.toml"
        config_file.write_text(
            "[telegram]\n"
            f"base_url = '{sb.base_url}'\nbase_file_url = '{sb.base_file_url}'\n"
            f"[storage]\npath = '{cfg.db_path}'\nfiles_dir = '{cfg.files_dir}'\n",
            encoding="utf-8",
        )
        env = {**os.environ, "STUDYBOT_TOKEN": sb.token}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "-v", "run", "--config", str(config_file),
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        try:
            user = sb.user(4242, "黄志强")
            reply = await user.ask(f"/start {codes['T1']}", timeout=30)
            assert said(reply.text, "register.welcome")
            assert "黄志强" in (await user.ask("/me")).text
        finally:
            proc.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
        log = output.decode("utf-8", "replace")
        assert proc.returncode == 0, log
        assert sb.token not in log
        assert sb.token.split(":")[1] not in log
        assert "stopping" in log
