"""`studybot demo`: exits 0 and prints every conversation, per person; --keep keeps the files."""

from __future__ import annotations

import io
from pathlib import Path

from bot.demo.play import run_demo
from tests.helpers import said


async def test_demo_plays_every_scene_and_prints_the_transcript(tmp_path: Path) -> None:
    out = io.StringIO()
    keep = tmp_path / "kept"
    assert await run_demo(keep, out=out) == 0
    text = out.getvalue()
    plain = text.replace("\n    ", "\n")  # a message's later lines are indented
    assert "── 罗宏伟 (M001)" in text  # a section per person
    assert "> /start ABCD2345" in text and said(text, "register.wrong_code")  # the wrong code
    assert said(plain, "register.welcome", name="黄志强")
    assert said(text, "register.leader_notice")  # the leader's notification
    assert said(plain, "register.how_to")  # the stranger's how-to-register answer
    assert (keep / "demo.sqlite3").exists()
    assert "Traceback" not in text
