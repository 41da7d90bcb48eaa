"""Issue 10 "Bad input": generated hostile text, captions, file names and callback data.

Each test starts ONE bot and drives hypothesis examples through it on the same event loop
(an `asyncio.Runner` keeps the loop between examples; the bot's tasks run while an example
runs). For every input: an answer arrives, it is not the error apology, and refused inputs
change no data table.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.reports.rules import document_suffix
from bot.sandbox.client import SandboxUser
from bot.sandbox.model import Entry
from tests.e2e.test_authorization import APOLOGY, all_commands, snapshot
from tests.e2e.test_reports import (
    G1,
    PHOTOS,
    after_press,
    report_row,
    roll_call_and_end,
    start_filing,
)
from tests.helpers import Harness, import_schedule, running_bot, said, text_of

T = TypeVar("T")
Run = Callable[[Awaitable[T]], T]

NASTY = [
    "'; DROP TABLE members;--", "\" OR 1=1 --", "<b>*_[", "</b><i>", "*bold* _it_ [x](y)",
    "`code`", "\u202eevil\u202c", "\u200f\u200e", "🙂👍🏽👨‍👩‍👧", "\x00\x01\x07\x1b[31m",
    "%s%n{0}", "2026-02-30", "2026-13-01", "31/31/2026", "9999-99-99", "-1", "0000-00-00",
    "\\", "\t\r", "&amp;&lt;", "ﷺ" * 20,
]
PIECE = st.one_of(
    st.sampled_from(NASTY),
    st.text(min_size=1, max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30),
)
LONG = st.integers(min_value=4097, max_value=5000).map(lambda n: "字<b>'*_" * (n // 7 + 1))


def _printable(text: str) -> bool:
    """Telegram clients can't send empty/blank text; the bot API strips such messages."""
    return bool(text.strip()) and "\x00" not in text


TEXT = st.one_of(
    st.lists(PIECE, min_size=1, max_size=6).map(" ".join), LONG.map(lambda s: s[:5000])
).filter(_printable)
NO_SLASH = TEXT.map(lambda s: s.lstrip("/") or "x").filter(_printable)
CALLBACK = st.one_of(
    st.sampled_from(["rd:x", "leave:ok:1'--", "ann:send:<b>", "att::", ":::", "\u202e", "🙂"]),
    st.text(min_size=1, max_size=64),
).filter(lambda s: 1 <= len(s.encode()) <= 64)

IDLE = text_of("dialog.idle")  # what a message nothing waits for gets
SETTINGS = settings(
    max_examples=15, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@contextmanager
def one_bot(tmp_path: Path) -> Iterator[tuple[Run[Any], Harness]]:
    with asyncio.Runner() as runner:
        cm = running_bot(tmp_path)
        h = runner.run(cm.__aenter__())
        try:
            yield runner.run, h
        finally:
            runner.run(cm.__aexit__(None, None, None))


async def answer_to(user: SandboxUser, text: str) -> str:
    user.skip_pending()
    reply = await user.ask(text, timeout=5)
    return reply.text or ""


def check(text: str, reply: str) -> None:
    assert reply, f"no reply to {text!r}"
    assert APOLOGY not in reply, f"apology for {text!r}: {reply!r}"


async def refused(h: Harness, user: SandboxUser, text: str) -> str:
    before = await snapshot(h)
    reply = await answer_to(user, text)
    check(text, reply)
    assert await snapshot(h) == before, f"data changed for {text!r}"
    return reply


def test_free_text_photo_captions_and_file_names(tmp_path: Path) -> None:
    """Nothing is waiting for input: every message (text, photo, document, an album) gets the
    pointer to /help, once per message (once per album), and nothing changes."""
    with one_bot(tmp_path) as (run, h):
        user = run(h.register("T1"))
        album = [0]

        @settings(SETTINGS, max_examples=5)
        @given(text=NO_SLASH, caption=TEXT, name=TEXT)
        def case(text: str, caption: str, name: str) -> None:
            async def go() -> None:
                assert IDLE in await refused(h, user, text)
                album[0] += 1
                sends: list[Callable[[], Awaitable[Entry]]] = [
                    lambda: user.send_photo(b"\xff\xd8jpeg", caption=caption[:1024]),
                    lambda: user.send_document(b"data", name[:255], caption=caption[:1024]),
                    lambda: user.send_photo(b"\xff\xd81", caption=caption[:1024],
                                            media_group_id=f"a{album[0]}"),
                ]
                for send in sends:
                    before = await snapshot(h)
                    user.skip_pending()
                    sent = await send()
                    reply = await user.next_message(timeout=5)
                    assert reply.message_id > sent.message_id
                    check(caption, reply.text)
                    assert IDLE in reply.text, reply.text
                    assert await snapshot(h) == before
                # The album's second photo: no second answer.
                second = await user.send_photo(b"\xff\xd82", media_group_id=f"a{album[0]}")
                marker = await user.ask("/cancel", timeout=5)
                cancelled = said(marker.text, "dialog.cancelled")
                assert cancelled or said(marker.text, "dialog.nothing"), marker.text
                assert not [m.text for m in user.messages()
                            if second.message_id < m.message_id < marker.message_id]
            run(go())

        case()


def test_unregistered_start_codes(tmp_path: Path) -> None:
    with one_bot(tmp_path) as (run, h):
        stranger = h.new_user("陌生人")

        @SETTINGS
        @given(code=TEXT)
        def case(code: str) -> None:
            run(refused(h, stranger, f"/start {code}"))

        case()


def test_mute_date_ranges(tmp_path: Path) -> None:
    with one_bot(tmp_path) as (run, h):
        user = run(h.register("T2"))

        @SETTINGS
        @given(args=TEXT)
        def case(args: str) -> None:
            async def go() -> None:
                before = await snapshot(h)
                reply = await answer_to(user, f"/mute {args}")
                check(args, reply)
                if not said(reply, "reminders.mute.done"):  # refused: nothing may change
                    assert await snapshot(h) == before, f"data changed for {args!r}"
            run(go())

        case()


def test_read_dialog_answers(tmp_path: Path) -> None:
    with one_bot(tmp_path) as (run, h):
        user = run(h.register("T1"))

        @SETTINGS
        @given(search=NO_SLASH, title=NO_SLASH)
        def case(search: str, title: str) -> None:
            async def go() -> None:
                await answer_to(user, "/cancel")
                await refused(h, user, "/read")
                await refused(h, user, search)  # a catalog search writes nothing
                await answer_to(user, "/cancel")
                ask = await user.ask("/read", timeout=5)
                await user.press(ask, "✍️ 书目以外的书", timeout=5)
                await refused(h, user, title)  # own title: asks monograph or refuses
                await answer_to(user, "/cancel")
            run(go())

        case()


def test_announce_text_step(tmp_path: Path) -> None:
    with one_bot(tmp_path) as (run, h):
        hr = run(h.register("H1"))

        @SETTINGS
        @given(text=NO_SLASH)
        def case(text: str) -> None:
            async def go() -> None:
                await answer_to(hr, "/cancel")
                menu = await hr.ask("/announce", timeout=5)
                await hr.press(menu, "全体成员", timeout=5)
                await refused(h, hr, text)  # the preview (or "too long"); nothing sent yet
                await answer_to(hr, "/cancel")
            run(go())

        case()


def test_forged_callback_data(tmp_path: Path) -> None:
    with one_bot(tmp_path) as (run, h):
        user = run(h.register("T1"))
        message = user.last()

        @SETTINGS
        @given(data=CALLBACK)
        def case(data: str) -> None:
            async def go() -> None:
                before = await snapshot(h)
                answer = await user.press_data(message, data, timeout=5)
                assert APOLOGY not in (answer.text or ""), (data, answer.text)
                assert await snapshot(h) == before, f"data changed for {data!r}"
            run(go())

        case()
        assert not any(APOLOGY in (m.text or "") for m in user.messages())


def test_echoed_title_is_escaped(tmp_path: Path) -> None:
    with one_bot(tmp_path) as (run, h):
        user = run(h.register("T1"))

        async def go() -> None:
            for title in ("<b>粗体 & *星_号 [链", "《_*`[书]`*_》<i>"):
                ask = await user.ask("/read", timeout=5)
                await user.press(ask, "✍️ 书目以外的书", timeout=5)
                await user.next_message(timeout=5)  # the title prompt
                reply = (await user.ask(title, timeout=5)).text or ""
                check(title, reply)
                core = title.strip("<>《》_*`[]i").split("<")[0]  # the bot may re-bracket titles
                assert core in reply, f"title not echoed literally: {reply!r}"
                await answer_to(user, "/cancel")
        run(go())


# -- /leave: the reason step -----------------------------------------------------------------------

REASON = st.one_of(
    TEXT,
    st.sampled_from([
        "家中有事<b>&amp;", "'; DELETE FROM leave_requests;--", "\u202e事由\u202c 🙂", "/", "/退出",
    ]),
# A reason that starts with a command (/cancel, /x) is that command, in Telegram as here.
).filter(_printable).filter(lambda s: not re.match(r"/[A-Za-z0-9_]", s))
SENT = "✅ 请假申请 #"


async def _stored_reasons(h: Harness) -> list[str]:
    async with h.services.db.read() as conn:
        async with conn.execute("SELECT reason FROM leave_requests ORDER BY id") as cur:
            return [str(row[0]) for row in await cur.fetchall()]


def test_leave_reason_step(tmp_path: Path) -> None:
    with one_bot(tmp_path) as (run, h):
        user = run(h.register("T1"))
        approver = run(h.register("L1"))
        limit = h.config.leave.max_reason_chars
        made = [0]

        @settings(SETTINGS, max_examples=10)
        @given(reason=REASON)
        def case(reason: str) -> None:
            async def go() -> None:
                made[0] += 1
                activity_id = f"GX{made[0]}"
                await import_schedule(h, f"{activity_id},group_study,读书交流{made[0]},第一组,"
                                         "2026-03-06 15:00,2026-03-06 17:00,会议室,,,T1")
                await answer_to(user, "/cancel")
                prompt = await answer_to(user, f"/leave {activity_id}")
                assert said(prompt, "leave.ask.reason"), prompt
                before = await snapshot(h)
                user.skip_pending()
                confirm = await user.ask(reason, timeout=5)
                check(reason, confirm.text)
                assert await snapshot(h) == before, f"saved before confirming: {reason!r}"
                typed = reason.strip()
                if len(typed) > limit:
                    assert said(confirm.text, "leave.ask.too_long", limit=limit), confirm.text
                    assert not confirm.buttons
                    return
                assert said(confirm.text, "leave.ask.confirm"), confirm.text
                assert typed in confirm.text, confirm.text
                await user.press(confirm, "✅ 确认提交", timeout=5)
                done = await h.sandbox.wait_for_bot_message(
                    confirm.chat_id, lambda e: e is confirm and SENT in e.text,
                    after=confirm.message_id - 1, timeout=5,
                )
                assert typed in done.text  # the echo is the literal text (plain-text message)
                assert (await _stored_reasons(h))[-1] == typed
                # The approver's card (through the outbox) quotes it too: a markup error there
                # would leave the row undelivered rather than apologise, so look for the card.
                await h.flush()
                cards = [m for m in approver.messages() if typed in m.text and m.buttons]
                assert cards, typed
                # The approver rejects with the same text typed as the reason: refused when too
                # long or blank, else stored as typed and quoted in the trainee's notice.
                approver.skip_pending()
                await approver.press(cards[-1], "驳回", timeout=5)
                await approver.next_message(timeout=5, predicate=lambda m: said(
                    m.text, "leave.decide.ask_reason"
                ))
                note = typed[::-1].strip() or "x"
                approver.skip_pending()
                answer = await approver.ask(note, timeout=5)
                check(note, answer.text)
                if len(note) <= limit:
                    assert said(answer.text, "leave.decide.done_rejected"), answer.text
                    await h.flush()
                    row = await h.services.db.fetchone(
                        "SELECT state, decision_note FROM leave_requests ORDER BY id DESC")
                    assert row is not None and tuple(row) == ("rejected", note)
                    assert any(note in m.text for m in user.messages() if said(
                        m.text, "leave.notice.rejected_reason"
                    ))
                await answer_to(approver, "/cancel")
            run(go())

        case()


# -- documents after /submit: hostile file names ---------------------------------------------------

NAME = st.tuples(
    st.one_of(
        st.sampled_from([
            "../../../etc/passwd", "..\\..\\boot", "/abs/path", "a\x00b", "\u202egpj.exe",
            '"quoted"; filename="x', "名\r\n字", "🙂" * 10, "x" * 300, "CON", ".", "<b>&lt;",
            "\x07\x1b[31m", "~/.ssh/id", "%2e%2e%2f",
        ]),
        st.text(max_size=300),
    ),
    st.sampled_from([".pdf", ".PDF", ".txt", ".exe", ""]),
).map("".join).filter(lambda s: "\x00" not in s)
TXT_BODY = ("读了这本书，我对课堂教学有了新的认识。" * 20).encode()


async def _last_file(h: Harness) -> tuple[int, str, str] | None:
    async with h.services.db.read() as conn:
        async with conn.execute(
            "SELECT id, file_path, file_name FROM reading_submissions "
            "WHERE file_path IS NOT NULL ORDER BY id DESC LIMIT 1"
        ) as cur:
            row = await cur.fetchone()
    return None if row is None else (int(row[0]), str(row[1]), str(row[2]))


def test_submitted_document_names(tmp_path: Path) -> None:
    with one_bot(tmp_path) as (run, h):
        user = run(h.register("T1"))
        leader = run(h.register("L1"))
        made = [0]
        root = h.config.files_dir.resolve()

        @settings(SETTINGS, max_examples=10)
        @given(name=NAME)
        @example(name='"quoted"; filename="x.pdf')
        @example(name="名\r\n字\t<b>&amp;.txt")
        @example(name="长" * 300 + ".pdf")
        @example(name="\u202egpj.exe.pdf")
        @example(name="../../../../etc/cron.d/x.txt")
        @example(name="\x01\x7f.pdf")
        def case(name: str) -> None:
            async def go() -> None:
                made[0] += 1
                await answer_to(user, "/cancel")
                kinds = await user.ask("/submit", timeout=5)
                await user.press(kinds, "论文", timeout=5)
                await user.next_message(timeout=5)
                await refused(h, user, f"论文{made[0]}")  # asks for the body; nothing saved
                before = await snapshot(h)
                user.skip_pending()
                sent = await user.send_document(TXT_BODY, name, mime_type="text/plain")
                reply = await user.next_message(timeout=5)
                assert reply.message_id > sent.message_id
                check(name, reply.text)
                last = await _last_file(h)
                if await snapshot(h) == before:  # refused: not a kind the bot takes
                    assert not said(reply.text, "reading.submit.saved"), reply.text
                    return
                assert said(reply.text, "reading.submit.saved"), reply.text
                assert last is not None
                sub_id, rel, shown = last
                stored = (root / rel).resolve()
                assert stored.is_relative_to(root / "reading") and stored.is_file(), rel
                assert len(stored.name) <= 40 and stored.suffix in (".pdf", ".txt"), rel
                assert len(shown) <= 128
                # The leader opens it: the document goes out under the shown name (plain-text
                # caption), and the sandbox accepted the upload.
                leader.skip_pending()
                answer = await leader.press_data(leader.last(), f"rd:open:{sub_id}", timeout=5)
                assert APOLOGY not in (answer.text or "")
                opened = await leader.next_message(timeout=5)
                assert opened.media_type == "document", opened.text
                assert opened.file_bytes == TXT_BODY
            run(go())

        case()


# -- typed dates: /schedule and the /read finishing day --------------------------------------------


def test_typed_dates(tmp_path: Path) -> None:
    with one_bot(tmp_path) as (run, h):
        leader = run(h.register("L1"))

        @settings(SETTINGS, max_examples=10)
        @given(when=NO_SLASH)
        def case(when: str) -> None:
            async def go() -> None:
                await answer_to(leader, "/cancel")
                menu = await leader.ask("/schedule", timeout=5)
                await leader.press(menu, "➕ 新建活动", timeout=5)
                await leader.next_message(timeout=5)
                await refused(h, leader, "读书交流")  # asks for the time
                await refused(h, leader, when)  # a bad/past time, or the next question
                await answer_to(leader, "/cancel")
                ask = await leader.ask("/read", timeout=5)
                await leader.press(ask, "✍️ 书目以外的书", timeout=5)
                await leader.next_message(timeout=5)
                mono = await leader.ask("某本书", timeout=5)
                await leader.press(mono, "不是", timeout=5)
                await leader.next_message(timeout=5)
                await refused(h, leader, when)  # the day finished: refused or asks for text
                await answer_to(leader, "/cancel")
            run(go())

        case()


# -- every command with hostile arguments ---------------------------------------------------------

COMMANDS = sorted(set(all_commands()) - {"start"})  # /start codes: test_unregistered_start_codes


def test_command_arguments(tmp_path: Path) -> None:
    """Arguments nobody expects (an over-long group name after /ranking, an id with markup after
    /attendance): an answer, never the apology; a quoted argument is cut to fit."""
    with one_bot(tmp_path) as (run, h):
        people = {m: run(h.register(m)) for m in ("T1", "L1", "H1")}

        @settings(SETTINGS, max_examples=25)
        @given(who=st.sampled_from(sorted(people)), command=st.sampled_from(COMMANDS),
               args=TEXT)
        @example(who="H1", command="ranking", args="组" * 4090)
        @example(who="H1", command="heatmap", args="<b>" * 1365)
        @example(who="L1", command="attendance", args="字" * 4090)
        @example(who="H1", command="adjust", args="M" * 4000 + " 1 原因")
        def case(who: str, command: str, args: str) -> None:
            async def go() -> None:
                user = people[who]
                await answer_to(user, "/cancel")
                user.skip_pending()
                sent = f"/{command} {args}"[:4096]  # what a client can send
                reply = await user.ask(sent, timeout=10)
                check(sent, reply.text or reply.media_type or "")
                for m in user.messages():
                    assert len(m.text) <= 4096 and APOLOGY not in m.text, (sent, m.text[:200])
                quoted = sent.split(" ", 1)[1].strip()
                if len(quoted) >= 500:  # a long argument is never quoted back whole
                    assert quoted[:500] not in "".join(m.text for m in user.messages())
            run(go())

        case()


# -- the activity report: a photo caption and the recommended work's file name -------------------

REFUSED_NAME = st.tuples(
    st.one_of(st.sampled_from(["../../x", "a\x01b", "\u202ecod.", "<b>&", "'; --"]),
              st.text(max_size=300)),
    st.sampled_from([".exe", "", ".docx.exe", ".sh", ".."]),
).map("".join).filter(lambda s: "\x00" not in s and document_suffix(s) is None)
HOSTILE_DOC = '../"名".docx\r\n<b>&amp;' + "长" * 300 + "\u202e.docx"


def test_report_photo_caption_and_document_names(tmp_path: Path) -> None:
    with one_bot(tmp_path) as (run, h):
        host = run(h.register("T1"))
        run(h.register("T2"))
        run(h.register("L1"))
        hr = run(h.register("H1"))
        root = h.config.files_dir.resolve()

        async def to_the_document_step() -> None:
            await import_schedule(h, G1)
            await roll_call_and_end(h)
            question = await start_filing(h, host)
            assert said(question.text, "reports.ask.studied")
            await host.ask("共读《给教师的建议》<b>&", timeout=5)
            asked = await host.ask("'; DROP TABLE reports;-- *_`", timeout=5)
            assert said(asked.text, "reports.ask.photos")
            await host.send_photo(PHOTOS[0], caption="<b>\u202e../../x" + "长" * 1000)
            status = await host.next_message(predicate=lambda m: said(
                m.text, "reports.photos.received", count=1
            ),
                                             timeout=5)
            recommend = await after_press(host, status, "照片已发完")
            who = await after_press(host, recommend, "⭐ 推荐成果")
            title = await after_press(host, who, "邹立新")
            assert said(title.text, "reports.ask.rec_title")
            body = await host.ask("<i>三点体会</b>", timeout=5)
            assert said(body.text, "reports.ask.rec_body")

        run(to_the_document_step())

        @settings(SETTINGS, max_examples=8)
        @given(name=REFUSED_NAME)
        def case(name: str) -> None:
            async def go() -> None:
                before = await snapshot(h)
                host.skip_pending()
                await host.send_document(b"MZ\x90\x00", name)
                reply = await host.next_message(timeout=5)
                check(name, reply.text)
                assert said(reply.text, "reports.rec.bad_document"), reply.text
                assert await snapshot(h) == before
            run(go())

        case()

        async def submit() -> None:
            host.skip_pending()
            await host.send_document(b"PK\x03\x04 docx", HOSTILE_DOC)
            count_q = await host.next_message(timeout=5)
            assert said(count_q.text, "reports.ask.headcount"), count_q.text
            preview = await host.ask("2", timeout=5)
            check("2", preview.text)
            await after_press(host, preview, "✅ 提交报告")
            await h.flush()
            row = await report_row(h)
            photo = await h.services.db.fetchone(
                "SELECT file_path FROM report_photos WHERE report_pk = ?", (row["id"],))
            assert photo is not None
            for rel in (str(row["recommended_file"]), str(photo[0])):
                stored = (root / rel).resolve()
                assert stored.is_relative_to(root / "reports" / "G1") and stored.is_file(), rel
                assert len(stored.name) <= 48 and "名" not in rel, rel
            shown = str(row["recommended_file_name"])
            assert len(shown) <= 128 and "\r" not in shown and "\n" not in shown, shown
            [document] = [m for m in hr.messages() if m.media_type == "document"]
            assert document.file_bytes == b"PK\x03\x04 docx"
            # httpx writes a multipart filename the HTML5 way (" as %22); the rest arrives as is
            assert document.file_name == shown.replace('"', "%22"), document.file_name
        run(submit())
