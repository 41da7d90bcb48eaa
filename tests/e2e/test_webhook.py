"""Webhook mode end to end: the sandbox posts updates to the bot's own HTTP server."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.helpers import free_port, running_bot


async def test_webhook_mode_registers_and_refuses_a_wrong_secret(tmp_path: Path) -> None:
    port = free_port()
    webhook = {
        "listen": "127.0.0.1", "port": port, "path": "tg-hook",
        "url": f"http://127.0.0.1:{port}/tg-hook", "secret_token": "s3cret-Value_1",
    }
    async with running_bot(tmp_path, telegram={"mode": "webhook", "webhook": webhook}) as h:
        user = await h.register("T1")  # the update arrives by webhook POST
        assert "黄志强" in (await user.ask("/me")).text
        async with httpx.AsyncClient() as client:
            forged = {"update_id": 999999, "message": {
                "message_id": 1, "date": 0, "chat": {"id": user.id, "type": "private"},
                "from": {"id": user.id, "is_bot": False, "first_name": "x"}, "text": "/me"}}
            wrong = await client.post(
                webhook["url"], json=forged,
                headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            )
            missing = await client.post(webhook["url"], json=forged)
        assert wrong.status_code == 403
        assert missing.status_code == 403
        before = len(user.messages())
        # A real update after the forged ones is answered; the forged ones never were.
        assert "黄志强" in (await user.ask("/me")).text
        assert len(user.messages()) == before + 1
