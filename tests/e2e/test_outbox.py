"""The outbox sender against the sandbox: 429, 5xx, 403, per-chat order, restart, exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import notify
from storage import members as members_repo
from storage import outbox as outbox_repo
from tests.helpers import Harness, restart, running_bot


@pytest.fixture
async def h(tmp_path: Path):  # type: ignore[no-untyped-def]
    # No background sender: only the tests' explicit flushes deliver.
    async with running_bot(tmp_path, start_sender=False) as harness:
        yield harness


async def queue(h: Harness, member_id: str, text_key: str = "register.leader_notice",
                n: int = 1) -> list[int]:
    ids = []
    async with h.services.db.tx() as conn:
        member = await members_repo.by_member_id(conn, member_id)
        assert member is not None
        for i in range(n):
            row = await notify.to_member(
                conn, h.config, member, text_key, now=h.services.now_ts(),
                name=f"成员{i}", member_id=f"X{i}", school="学校", group="第一组",
            )
            assert row is not None
            ids.append(row)
    return ids


async def statuses(h: Harness) -> dict[str, int]:
    async with h.services.db.read() as conn:
        return await outbox_repo.counts(conn)


async def test_429_then_success_delivers_once(h: Harness) -> None:
    user = await h.register("L1")
    await queue(h, "L1")
    h.sandbox.fail_next("sendMessage", status=429, retry_after=5, chat_id=user.chat_id)
    assert await h.flush() == 0
    assert await statuses(h) == {"pending": 1}
    assert len(user.messages()) == 1  # only the welcome
    h.clock.advance(seconds=4)
    assert await h.flush() == 0  # retry_after not yet over
    h.clock.advance(seconds=2)
    assert await h.flush() == 1
    assert await statuses(h) == {"sent": 1}
    assert await h.flush() == 0
    notices = [m for m in user.messages() if "新成员已注册" in m.text]
    assert len(notices) == 1


async def test_5xx_is_retried_with_backoff_then_given_up(h: Harness) -> None:
    user = await h.register("L1")
    await queue(h, "L1")
    h.sandbox.fail_next("sendMessage", status=502, chat_id=user.chat_id, times=2)
    assert await h.flush() == 0
    h.clock.advance(seconds=2)
    assert await h.flush() == 0
    h.clock.advance(seconds=4)
    assert await h.flush() == 1
    async with h.services.db.read() as conn:
        row = await (await conn.execute("SELECT attempts, status FROM outbox")).fetchone()
    assert tuple(row) == (3, "sent")


async def test_403_marks_member_unreachable(h: Harness) -> None:
    user = await h.register("T1")
    await queue(h, "T1", n=3)
    user.block()
    assert await h.flush() == 0
    assert await statuses(h) == {"unreachable": 3}
    async with h.services.db.read() as conn:
        member = await members_repo.by_member_id(conn, "T1")
        unreachable = await members_repo.unreachable(conn)
    assert member is not None and member.unreachable_at is not None
    assert "T1" in [m.member_id for m in unreachable]


async def test_chat_order_is_kept(h: Harness) -> None:
    user = await h.register("L1")
    await queue(h, "L1", n=5)
    assert await h.flush() == 5
    texts = [m.text for m in user.messages() if "新成员已注册" in m.text]
    assert [t.split("：")[1][:3] for t in texts] == [f"成员{i}" for i in range(5)]


async def test_pending_rows_are_delivered_exactly_once_after_restart(h: Harness) -> None:
    user = await h.register("L1")
    await queue(h, "L1", n=4)
    # The bot stops with four rows pending (as after a crash: nothing was marked sent).
    await restart(h)
    assert await h.flush() == 4
    await restart(h)
    assert await h.flush() == 0
    assert await statuses(h) == {"sent": 4}
    notices = [m for m in user.messages() if "新成员已注册" in m.text]
    assert len(notices) == 4


async def test_dedupe_key_queues_once(h: Harness) -> None:
    async with h.services.db.tx() as conn:
        a = await outbox_repo.enqueue(conn, chat_id=1, kind="k", payload={"text": "x"},
                                      now=h.services.now_ts(), dedupe_key="same")
        b = await outbox_repo.enqueue(conn, chat_id=1, kind="k", payload={"text": "x"},
                                      now=h.services.now_ts(), dedupe_key="same")
    assert a is not None and b is None


async def test_stop_waits_for_the_pass_in_progress(tmp_path: Path) -> None:
    import asyncio

    async with running_bot(tmp_path, start_sender=False) as h:
        await h.register("L1")
        await queue(h, "L1")
        h.sandbox.set_delay("sendMessage", 0.3)
        before = h.sandbox.stats.requests.get("sendMessage", 0)
        sender = h.services.sender
        sender.start()
        for _ in range(500):  # until the (slow) send has reached the sandbox
            if h.sandbox.stats.requests.get("sendMessage", 0) > before:
                break
            await asyncio.sleep(0.01)
        await sender.stop()
        # stop() returned only after the pass marked its row: the database can close now.
        assert await statuses(h) == {"sent": 1}
