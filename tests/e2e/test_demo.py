"""`studybot demo`: exits 0 and prints one timeline of every conversation in the order things
happened, headed by steps in the programme's language and closed by what to do next; --keep
keeps the files and a config the CLI's exports can use."""

from __future__ import annotations

import asyncio
import io
import os
import stat
import sys
from pathlib import Path

import openpyxl

from bot.core.i18n import t
from bot.demo.play import run_demo
from bot.demo.scenes import all_scenes
from tests.helpers import said, text_of


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


async def test_the_transcript_is_one_timeline_in_time_order(tmp_path: Path) -> None:
    out = io.StringIO()
    assert await run_demo(None, out=out) == 0
    lines = out.getvalue().splitlines()
    plain = out.getvalue().replace("\n    ", "\n")
    # Across people: 黄志强 is welcomed before his leader hears that he registered (grouped by
    # person, all of the leader's messages came first).
    welcome = plain.index(text_of("register.welcome", name="黄志强", role=t("zh", "role.trainee"),
                                  group="第一组").split("\n")[0])
    notice = plain.index(text_of("register.leader_notice", name="黄志强", member_id="M002",
                                 school="育才小学", group="第一组"))
    assert welcome < notice
    # An edit is shown after the press that made it, as an event of its own.
    press = lines.index("  > [点击: 批准]")
    after = [line for line in lines[press + 1:press + 3] if not line.startswith("  < (")]
    assert after[0].startswith("  ✎ ")  # (after the press's toast, if any)


async def test_the_steps_are_headed_in_the_programme_language_and_end_with_what_next() -> None:
    out = io.StringIO()
    assert await run_demo(None, out=out) == 0
    text = out.getvalue()
    scenes = all_scenes()
    for number, scene in enumerate(scenes, 1):
        title = t("zh", f"demo.scene.{scene.__name__.removeprefix('scene_')}")
        assert f"# {t('zh', 'demo.step', number=number, title=title)}\n" in text
        assert scene.__doc__ is not None and scene.__doc__.split(";")[0] not in text
    closing = f"# {t('zh', 'demo.next.title')}\n{t('zh', 'demo.next.steps')}"
    assert text.rstrip().endswith(closing)
    assert "@BotFather" in closing and "studybot run" in closing  # the real-bot steps


async def test_keep_writes_a_config_that_export_all_can_use(tmp_path: Path) -> None:
    keep = tmp_path / "kept"
    out = io.StringIO()
    assert await run_demo(keep, out=out) == 0
    config = keep / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # it leads to the members' records
    assert said(out.getvalue(), "demo.kept", dir=keep, config=config)
    workbook = tmp_path / "all.xlsx"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "export", "all", "--config", str(config),
        "--out", str(workbook), cwd=tmp_path, env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()
    book = openpyxl.load_workbook(workbook, read_only=True)
    cells = {str(cell) for sheet in book.worksheets
             for row in sheet.iter_rows(values_only=True) for cell in row}
    assert "罗宏伟" in cells  # the demo's members, from the kept database


async def test_a_notification_shows_after_its_cause_and_before_the_next_action() -> None:
    out = io.StringIO()
    assert await run_demo(None, out=out) == 0
    lines = out.getvalue().splitlines()
    welcome = text_of("register.welcome", name="黄志强", role=t("zh", "role.trainee"),
                      group="第一组").split("\n")[0]
    notice = text_of("register.leader_notice", name="黄志强", member_id="M002",
                     school="育才小学", group="第一组")
    caused = next(i for i, line in enumerate(lines) if line == f"  < {welcome}")
    told = lines.index(f"  < {notice}")
    # The next thing anyone does after 黄志强's welcome is 邹立新's /start; the leader's
    # notice was delivered before it, and the timeline shows it there.
    next_action = next(i for i in range(caused + 1, len(lines)) if lines[i].startswith("  > "))
    assert lines[next_action].startswith("  > /start ") and "邹立新" in lines[told + 1]
    assert caused < told < next_action
