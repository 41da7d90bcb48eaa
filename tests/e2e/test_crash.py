"""Crash: `studybot run` as a real process, killed with SIGKILL in the middle of 300 check-ins
and 50 leave decisions, then started again on the same database and sandbox.

Every update sent before the kill is handled after the restart (the inbox keeps what the killed
process had fetched but not handled; nobody has to ask again), every check-in and decision the
bot acknowledged is stored, nothing is recorded twice, and every outbox row is delivered exactly
once. The two documented exceptions: an outbox row Telegram had accepted when the process died,
before the row could be marked sent, may go out once more; an update whose handling had finished
but whose inbox row was not yet deleted is handled once more (a second, "already" answer)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.client import Entry, SandboxUser
from bot.sandbox.server import Sandbox
from storage import activities as activities_repo
from storage import members as members_repo
from storage.db import open_database, ts
from tests.helpers import load_roster, make_config, said

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

TRAINEES = 300
LEAVES = 50
FIRST_ID = 60_000
HR_ID = 59_999
OK_MARKS = ("签到成功", "记为迟到")  # attendance.checkin.ok / ok_late
ALREADY = "无需重复签到"  # attendance.checkin.already
DECIDED = "这条请假已经处理过了"  # leave.decide.already
CONCURRENCY = 40  # updates in flight at once
ANSWER_WITHIN = 60.0  # seconds, across the kill and the restart


def roster() -> str:
    lines = ["member_id,name,role,group,school,stage", "H1,周敏,hr,,人事科,"]
    for i in range(TRAINEES):
        role = "leader" if i % 10 == 0 else "trainee"
        lines.append(f"M{i:03d},成员{i},{role},第{i // 10 + 1}组,学校{i},小学")
    return "\n".join(lines) + "\n"


def about_checkin(entry: Entry) -> bool:
    """The answer to /checkin (a requester's leave decision may arrive in between)."""
    return "签到" in (entry.text or "")


class BotProcess:
    """`python -m bot run` in a subprocess, its output in a log file."""

    def __init__(self, config_file: Path, log: Path, token: str) -> None:
        self.config_file = config_file
        self.log = log
        self.env = {**os.environ, "STUDYBOT_TOKEN": token}
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        with self.log.open("a", encoding="utf-8") as out:
            out.write(f"\n===== start {self.starts} =====\n")
            out.flush()
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(self.config_file),
                env=self.env, stdout=out, stderr=asyncio.subprocess.STDOUT,
            )

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.proc.wait(), 10)
        assert self.proc.returncode == -signal.SIGKILL

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def output(self) -> str:
        return self.log.read_text("utf-8", "replace")[-4000:]


async def setup_db(db_path: Path, now: dt.datetime) -> None:
    """Links the accounts directly (registration is tested elsewhere) and adds an online
    activity open now (no code needed) and one tomorrow to ask leave for (decided by HR)."""
    db = await open_database(db_path)
    try:
        async with db.tx() as conn:
            for member_id, user_id in [("H1", HR_ID)] + [
                (f"M{i:03d}", FIRST_ID + i) for i in range(TRAINEES)
            ]:
                member = await members_repo.by_member_id(conn, member_id)
                assert member is not None
                await members_repo.link_telegram(conn, member.pk, user_id, "zh", ts(now))
            for activity_id, title, start in (
                ("CRASH", "线上学习", now - dt.timedelta(minutes=5)),
                ("LEAVE", "线上讲座", now + dt.timedelta(days=1)),
            ):
                await activities_repo.insert(
                    conn, activity_id=activity_id, type="online", title=title, group_id=None,
                    start_at=ts(start), end_at=ts(start + dt.timedelta(hours=3)), location="",
                    lat=None, lon=None, radius_m=None, host_pk=None,
                    secret=f"{activity_id}-secret", source="import", created_by=None,
                    now=ts(now),
                )
    finally:
        await db.close()


async def query(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    db = await open_database(db_path)
    try:
        async with db.read() as conn:
            return list(await (await conn.execute(sql, params)).fetchall())
    finally:
        await db.close()


async def wait_until(check: Any, limit: float, what: str, bot: BotProcess) -> None:
    """Polls the other process's progress (it runs on its own; there is nothing to await)."""
    deadline = time.monotonic() + limit
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; the bot's log:\n{bot.output()}")
        await asyncio.sleep(0.05)


def sent_text(entry: Entry) -> str:
    """A bot message's text as first sent (an edit keeps the old text in its history)."""
    return entry.history[0] if entry.history else (entry.text or "")


def delivered(sb: Sandbox, chat_id: int, text: str) -> int:
    """How many messages in the chat carried `text` when sent."""
    return sum(sent_text(entry) == text for entry in sb.bot_messages(chat_id))


async def test_sigkill_mid_way_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)  # the subprocess runs on the system clock
    async with Sandbox() as sb:
        cfg = make_config(tmp_path, sb)
        await load_roster(cfg, roster(), now)
        await setup_db(cfg.db_path, now)
        config_file = tmp_path / "config.toml"
        config_file.write_text(
            "[telegram]\n"
            f"base_url = '{sb.base_url}'\nbase_file_url = '{sb.base_file_url}'\n"
            f"[storage]\npath = '{cfg.db_path}'\nfiles_dir = '{cfg.files_dir}'\n"
            "[outbox]\nprivate_chat_interval_seconds = 0.0\n",
            encoding="utf-8",
        )
        hr = sb.user(HR_ID, "周敏")
        users = [sb.user(FIRST_ID + i, f"成员{i}") for i in range(TRAINEES)]
        bot = BotProcess(config_file, tmp_path / "bot.log", sb.token)
        await bot.start()
        try:
            await sb.wait_polling(timeout=20)
            # -- before the crash: 50 leave requests reach HR (cards through the outbox).
            gate = asyncio.Semaphore(CONCURRENCY)

            async def request(user: SandboxUser) -> None:
                async with gate:
                    prompt = await user.ask("/leave LEAVE", timeout=20)
                    assert said(prompt.text, "leave.ask.reason"), prompt.text
                    confirm = await user.ask("家中有事，需请假一天", timeout=20)
                    assert said(confirm.text, "leave.ask.confirm"), confirm.text
                    await user.press(confirm, "✅ 确认提交", timeout=20)

            await asyncio.gather(*(request(u) for u in users[:LEAVES]))

            def cards() -> list[Entry]:
                return [e for e in hr.messages() if "请假申请 #" in sent_text(e) and e.buttons]

            async def all_cards() -> bool:
                return len(cards()) >= LEAVES

            await wait_until(all_cards, 20, "50 leave cards to HR", bot)
            assert len(cards()) == LEAVES

            # -- the crash: 300 check-ins and 50 decisions at once, SIGKILL after ~half.
            answered = 0
            half = asyncio.Event()
            approved: set[int] = set()  # request numbers HR was told are approved

            def card_number(card: Entry) -> int:
                found = re.search(r"请假申请 #(\d+)", sent_text(card))
                assert found is not None, sent_text(card)
                return int(found.group(1))

            async def checkin(user: SandboxUser) -> None:
                nonlocal answered
                async with gate:
                    # Asked once: an update the killed process had fetched is in the inbox.
                    reply = await user.ask(
                        "/checkin", timeout=ANSWER_WITHIN, predicate=about_checkin
                    )
                    # "Already": the first handling stored the record, then the process died
                    # before the answer went out, and the replay found the record.
                    assert any(m in reply.text for m in (*OK_MARKS, ALREADY)), reply.text
                    answered += 1
                    if answered >= (TRAINEES + LEAVES) // 2:
                        half.set()

            async def decide(card: Entry) -> None:
                nonlocal answered
                async with gate:
                    answer = await hr.press(card, "批准", timeout=ANSWER_WITHIN)
                    if answer.text == "已批准":
                        approved.add(card_number(card))
                    else:
                        assert answer.text is not None and DECIDED in answer.text, answer
                    answered += 1
                    if answered >= (TRAINEES + LEAVES) // 2:
                        half.set()

            # Interleaved (the gate is first come, first served): a decision after every six
            # check-ins, so the kill lands among both and among the decisions' notifications.
            checkins = [checkin(u) for u in users]
            decisions = [decide(c) for c in cards()]
            jobs = []
            for i, job in enumerate(checkins):
                jobs.append(job)
                if i % 6 == 5 and decisions:
                    jobs.append(decisions.pop())
            jobs.extend(decisions)
            tasks = [asyncio.ensure_future(j) for j in jobs]
            await asyncio.wait_for(half.wait(), 30)
            await bot.kill()
            assert not all(t.done() for t in tasks)  # the kill interrupted work in progress
            # What Telegram had accepted when the process died but the outbox had not yet
            # marked sent: the at-least-once window.
            in_flight = set()
            pending_at_kill = await query(
                cfg.db_path, "SELECT chat_id, payload FROM outbox WHERE status = 'pending'"
            )
            for chat_id, payload in pending_at_kill:
                text = json.loads(payload).get("text")
                if text and delivered(sb, chat_id, text):
                    in_flight.add((chat_id, text))
            acked_at_kill = answered
            # The inbox at the kill: fetched updates not yet handled, or handled with the row
            # not yet deleted (the replay window: those senders may get a second answer).
            inbox_at_kill = await query(cfg.db_path, "SELECT payload FROM inbox")
            senders_at_kill: Counter[int] = Counter(
                int((p.get("message") or p.get("callback_query"))["from"]["id"])
                for p in (json.loads(row[0]) for row in inbox_at_kill)
            )
            answered_at_kill = {u.id for u in users if any(map(about_checkin, u.messages()))}
            replay_window = {uid for uid in senders_at_kill if uid in answered_at_kill}
            await bot.start()
            await asyncio.gather(*tasks)  # nobody asked twice: every update got handled
            assert TRAINEES // 3 <= acked_at_kill < TRAINEES + LEAVES
            # The kill left work in the inbox and the second run replayed it.
            assert inbox_at_kill, "the kill should have caught fetched, unhandled updates"
            assert "replayed" in bot.log.read_text("utf-8", "replace"), bot.output()

            async def outbox_drained() -> bool:
                rows = await query(
                    cfg.db_path, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
                return int(rows[0][0]) == 0

            await wait_until(outbox_drained, 20, "the outbox to drain", bot)
        finally:
            await bot.stop()

        # -- the inbox was emptied; nobody got two answers to one /checkin except in the window.
        assert await query(cfg.db_path, "SELECT update_id FROM inbox") == []
        assert len(replay_window) <= CONCURRENCY
        for u in users:
            answers = [e.text for e in u.messages() if about_checkin(e)]
            assert len(answers) == 1 or (u.id in replay_window and len(answers) == 2), (
                u.id, answers)

        # -- every acknowledged check-in is stored, none twice.
        acked_checkins = {
            u.id for u in users if any(m in (e.text or "") for e in u.messages() for m in OK_MARKS)
        }
        stored = {
            int(r[0]) for r in await query(
                cfg.db_path,
                "SELECT m.telegram_id FROM attendance r JOIN members m ON m.id = r.member_pk"
                " JOIN activities a ON a.id = r.activity_pk WHERE a.activity_id = 'CRASH'",
            )
        }
        assert acked_checkins <= stored, sorted(acked_checkins - stored)[:10]
        # Everyone got an answer (the replay handled what the kill interrupted).
        assert len(stored) == TRAINEES
        dupes = await query(
            cfg.db_path,
            "SELECT activity_pk, member_pk FROM attendance GROUP BY activity_pk, member_pk"
            " HAVING COUNT(*) > 1",
        )
        assert dupes == []
        # A member told "checked in" twice would mean two records or a lost first one.
        for u in users:
            oks = sum(any(m in (e.text or "") for m in OK_MARKS) for e in u.messages())
            assert oks <= 1, (u.id, [e.text for e in u.messages()])

        # -- every acknowledged decision is stored; no request decided or asked twice.
        rows = await query(cfg.db_path, "SELECT id, state FROM leave_requests ORDER BY id")
        assert len(rows) == LEAVES
        states = {int(r[0]): str(r[1]) for r in rows}
        assert approved, "no decision was acknowledged"
        assert all(states[n] == "approved" for n in approved), states
        assert set(states.values()) == {"approved"}  # pressed once each, all handled

        # -- the ledger (if anything wrote to it) has no entry twice.
        ledger_dupes = await query(
            cfg.db_path,
            "SELECT member_pk, source, rule, points, COUNT(*) FROM credit_ledger"
            " GROUP BY member_pk, source, rule, points, on_date HAVING COUNT(*) > 1",
        )
        assert ledger_dupes == []

        # -- every outbox row: sent, and delivered exactly once (at least once for the rows
        # in flight at the kill).
        outbox = await query(cfg.db_path, "SELECT chat_id, payload, status FROM outbox")
        assert outbox, "the scenario should have queued notifications"
        assert {str(r[2]) for r in outbox} == {"sent"}
        rows_per_key: Counter[tuple[int, str]] = Counter()
        for chat_id, payload, _ in outbox:
            p = json.loads(payload)
            if "edit_of" in p or "text" not in p:
                continue
            rows_per_key[(int(chat_id), str(p["text"]))] += 1
        assert len(in_flight) <= 16  # [outbox] concurrency: at most that many sends at once
        for (chat_id, text), n in rows_per_key.items():
            got = delivered(sb, chat_id, text)
            if (chat_id, text) in in_flight:
                assert n <= got <= n + 1, (chat_id, text, n, got)
            else:
                assert got == n, (chat_id, text, n, got)
