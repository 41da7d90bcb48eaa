"""`studybot demo`: exits 0 and prints every conversation, per person; --keep keeps the files."""

from __future__ import annotations

import io
from pathlib import Path

from bot.demo.play import run_demo


async def test_demo_plays_every_scene_and_prints_the_transcript(tmp_path: Path) -> None:
    out = io.StringIO()
    keep = tmp_path / "kept"
    assert await run_demo(keep, out=out) == 0
    text = out.getvalue()
    assert "── 罗宏伟 (M001)" in text  # a section per person
    assert "> /start ABCD2345" in text and "邀请码不正确" in text  # the wrong code
    assert "注册成功，黄志强" in text
    assert "新成员已注册" in text  # the leader's notification
    assert "您好！这是" in text  # the stranger's how-to-register answer
    assert (keep / "demo.sqlite3").exists()
    assert "Traceback" not in text
