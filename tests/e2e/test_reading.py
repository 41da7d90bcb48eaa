"""The reading log end to end through the sandbox: catalog search and pick, own titles, dates,
short reflections, documents (stored, retrievable, too large, wrong kind), duplicates, return and
resubmit, both review modes, forged buttons, the leader's and HR's tables, /submit, the monthly
nudge by the clock, and the export."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from bot.documents.tables import read_table
from bot.reading.books import COLUMNS as BOOK_COLUMNS
from bot.reading.books import import_books, validate_books
from bot.sandbox.client import SandboxUser
from bot.sandbox.model import Entry
from storage import members as members_repo
from storage import reading as reading_repo
from storage.db import ts
from storage.reading import Submission
from tests.helpers import TZ, Harness, running_bot, said, text_of

SAMPLE_BOOKS = Path(__file__).resolve().parents[2] / "bot" / "samples" / "books.csv"
REFLECTION = "读了这本书，我对课堂教学有了新的认识。" * 20  # 360 characters
FORGED = text_of("error.forged")
MONO = text_of("reading.line.mono")
BOOK, PAPER = text_of("reading.kind.book"), text_of("reading.kind.paper")
ANALYSIS = text_of("reading.kind.management_analysis")
REVIEW_BUTTONS = [text_of("reading.btn.accept"), text_of("reading.btn.return")]
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


async def load_books(h: Harness) -> None:
    entries, problems = validate_books(read_table(SAMPLE_BOOKS, BOOK_COLUMNS))
    assert not problems
    await import_books(h.services.db, entries, h.clock.now())


@pytest.fixture
async def h(h: Harness) -> Harness:
    """The shared bot (tests/conftest.py) with the book catalog loaded."""
    await load_books(h)
    return h


async def subs_of(h: Harness, member_id: str) -> list[Submission]:
    async with h.services.db.read() as conn:
        member = await members_repo.by_member_id(conn, member_id)
        assert member is not None
        return await reading_repo.for_member(conn, member.pk, 2026)


async def pick_book(user: SandboxUser, words: str, button: str) -> Entry:
    """/read, search, press the result; returns the date question."""
    await user.ask("/read")
    results = await user.ask(words)
    await user.press(results, button)
    return await user.next_message()


async def log_book(
    user: SandboxUser, words: str, button: str, *, date: str = "昨天", text: str = REFLECTION
) -> Entry:
    """The whole /read flow for a catalog book; returns the confirmation."""
    question = await pick_book(user, words, button)
    assert said(question.text, "reading.read.ask_date"), question.text
    prompt = await user.ask(date)
    assert said(prompt.text, "reading.read.ask_reflection"), prompt.text
    return await user.ask(text)


def texts(user: SandboxUser, needle: str) -> list[str]:
    return [m.text for m in user.messages() if needle in m.text]


# -- logging --------------------------------------------------------------------------------------


async def test_catalog_search_and_pick(h: Harness) -> None:
    t1 = await h.register("T1")
    ask = await t1.ask("/read")
    assert said(ask.text, "reading.read.ask", year=2026) and ask.button_texts == ["✍️ 书目以外的书"]
    none = await t1.ask("量子力学")
    assert said(none.text, "reading.read.no_match", query="量子力学")
    results = await t1.ask("建议")
    assert results.button_texts == [
        "《给教师的建议》苏霍姆林斯基", "《给校长的建议》郑杰", "✍️ 书目以外的书"
    ]
    await t1.press(results, "《给教师的建议》苏霍姆林斯基")
    question = await t1.next_message()
    assert said(question.text, "reading.read.ask_date", title="给教师的建议")
    assert question.button_texts == ["今天", "昨天"]
    await t1.press(question, "昨天")
    prompt = await t1.next_message()
    assert said(prompt.text, "reading.read.ask_reflection", min=300)
    short = await t1.ask("很好的一本书，收获很大。")
    assert said(short.text, "reading.reflection.too_short", count=12, min=300)
    assert await subs_of(h, "T1") == []
    done = await t1.ask(REFLECTION)
    assert said(done.text, "reading.read.saved", title="给教师的建议", mono=MONO, date="2026-03-01")
    assert said(
        done.text,
        "reading.progress.short",
        books=1,
        books_target=6,
        monographs=1,
        monographs_target=2,
    )
    [sub] = await subs_of(h, "T1")
    assert (sub.book_code, sub.finished_on, sub.status, sub.body) == (
        "B01", "2026-03-01", "submitted", REFLECTION
    )
    books = await t1.ask("/books")
    assert said(
        books.text,
        "reading.books.line",
        mark=text_of("reading.mark.done"),
        book_id="B01",
        title="给教师的建议",
    )
    assert said(
        books.text,
        "reading.books.line",
        mark=text_of("reading.mark.none"),
        book_id="B02",
        title="静悄悄的革命",
    )


async def test_search_words_as_arguments_and_the_eight_result_limit(h: Harness) -> None:
    extra = h.config.base_dir / "more.csv"
    extra.write_text(
        SAMPLE_BOOKS.read_text("utf-8")
        + "".join(f"C{i:02d},课堂观察第{i}讲,某作者,elective,other,2026\n" for i in range(10)),
        encoding="utf-8",
    )
    entries, problems = validate_books(read_table(extra, BOOK_COLUMNS))
    assert not problems
    await import_books(h.services.db, entries, h.clock.now())
    t1 = await h.register("T1")
    direct = await t1.ask("/read 乡土")
    assert direct.button_texts == ["《乡土中国》费孝通", "✍️ 书目以外的书"]
    many = await t1.ask("课堂")
    assert said(many.text, "reading.read.results", count=10)
    assert said(many.text, "reading.read.more", shown=8)
    assert len(many.button_texts) == 8 + 1
    narrower = await t1.ask("课堂 第9讲")
    assert narrower.button_texts == ["《课堂观察第9讲》某作者", "✍️ 书目以外的书"]


async def test_own_title_with_monograph_question(h: Harness) -> None:
    t1 = await h.register("T1")
    ask = await t1.ask("/read")
    await t1.press(ask, "✍️ 书目以外的书")
    title_prompt = await t1.next_message()
    assert said(title_prompt.text, "reading.read.ask_title")
    mono = await t1.ask("《教育的情调》")
    assert said(mono.text, "reading.read.ask_monograph", title="教育的情调")
    await t1.press(mono, "是，教育专著")
    when = await t1.next_message()
    assert said(when.text, "reading.read.ask_date")
    await t1.ask("02-20")
    done = await t1.ask(REFLECTION)
    assert said(done.text, "reading.read.saved", title="教育的情调", mono=MONO, date="2026-02-20")
    assert said(
        done.text,
        "reading.progress.short",
        books=1,
        books_target=6,
        monographs=1,
        monographs_target=2,
    )
    [sub] = await subs_of(h, "T1")
    assert (sub.book_pk, sub.title, sub.monograph) == (None, "教育的情调", True)
    # A second own title that is not a monograph.
    ask = await t1.ask("/read")
    await t1.press(ask, "✍️ 书目以外的书")
    await t1.next_message()
    mono = await t1.ask("人类简史")
    await t1.press(mono, "不是")
    await t1.next_message()
    await t1.ask("今天")
    done = await t1.ask(REFLECTION)
    assert said(
        done.text,
        "reading.progress.short",
        books=2,
        books_target=6,
        monographs=1,
        monographs_target=2,
    )


async def test_typed_catalog_title_is_the_catalog_book(h: Harness) -> None:
    t1 = await h.register("T1")
    ask = await t1.ask("/read")
    await t1.press(ask, "✍️ 书目以外的书")
    await t1.next_message()
    match = await t1.ask("给教师的 建议")
    assert said(match.text, "reading.read.catalog_match")
    when = await t1.next_message()
    assert said(when.text, "reading.read.ask_date")  # no monograph question: the catalog knows
    await t1.ask("今天")
    await t1.ask(REFLECTION)
    [sub] = await subs_of(h, "T1")
    assert sub.book_code == "B01" and sub.monograph


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("2026-03-03", "不能晚于今天（2026-03-02）"),
        ("2025-12-31", "必须在本年度内（2026-01-01 起）"),
        ("上个月", "没看懂这个日期"),
    ],
)
async def test_bad_dates_are_refused(h: Harness, typed: str, answer: str) -> None:
    t1 = await h.register("T1")
    await pick_book(t1, "乡土", "《乡土中国》费孝通")
    reply = await t1.ask(typed)
    assert answer in reply.text
    ok = await t1.ask("2026-01-15")
    assert said(ok.text, "reading.read.ask_reflection")


async def test_duplicate_book_refused(h: Harness) -> None:
    t1 = await h.register("T1")
    await log_book(t1, "教师", "《给教师的建议》苏霍姆林斯基")
    again = await pick_book(t1, "教师", "《给教师的建议》苏霍姆林斯基")
    assert said(
        again.text,
        "reading.read.duplicate",
        title="给教师的建议",
        date="2026-03-01",
        status=text_of("reading.status.counted"),
    )
    # Typed as an own title it is the same catalog book.
    ask = await t1.ask("/read")
    await t1.press(ask, "✍️ 书目以外的书")
    await t1.next_message()
    await t1.ask("《给教师的建议》")
    refused = await t1.next_message()
    assert said(refused.text, "reading.read.duplicate")
    # Own titles are compared normalised.
    ask = await t1.ask("/read")
    await t1.press(ask, "✍️ 书目以外的书")
    await t1.next_message()
    mono = await t1.ask("教育的情调")
    await t1.press(mono, "不是")
    await t1.next_message()
    await t1.ask("今天")
    await t1.ask(REFLECTION)
    ask = await t1.ask("/read")
    await t1.press(ask, "✍️ 书目以外的书")
    await t1.next_message()
    dup = await t1.ask("《教育的 情调》")
    assert said(dup.text, "reading.read.duplicate")
    assert len(await subs_of(h, "T1")) == 2
    # Another trainee may log the same book.
    t2 = await h.register("T2")
    done = await log_book(t2, "教师", "《给教师的建议》苏霍姆林斯基")
    assert said(done.text, "reading.read.saved")


# -- documents ------------------------------------------------------------------------------------


async def test_document_reflection_stored_and_retrievable(h: Harness) -> None:
    t1 = await h.register("T1")
    l1 = await h.register("L1")
    data = b"PK\x03\x04" + os.urandom(3000)
    question = await pick_book(t1, "革命", "《静悄悄的革命》佐藤学")
    await t1.ask("2026-02-28")
    await t1.send_document(data, "../我的读书心得.docx", mime_type=DOCX_MIME)
    done = await t1.next_message()
    assert said(done.text, "reading.read.saved", title="静悄悄的革命"), question.text
    [sub] = await subs_of(h, "T1")
    assert sub.body is None and sub.file is not None
    assert sub.file.name == "../我的读书心得.docx"
    assert sub.file.size == len(data)
    assert sub.file.sha256 == hashlib.sha256(data).hexdigest()
    stored = h.config.files_dir / sub.file.path
    assert stored.read_bytes() == data
    assert stored.resolve().is_relative_to((h.config.files_dir / "reading").resolve())
    assert "读书心得" not in sub.file.path and stored.suffix == ".docx"
    # The leader opens it from the group table and gets the very document back.
    mine = await l1.ask("/reading")
    await l1.press(mine, "📋 本组读书情况")
    table = await l1.next_message()
    assert said(table.text, "reading.table.row", name="黄志强", books=1, books_target=6)
    await l1.press(table, "黄志强")
    detail = await l1.next_message()
    assert "《静悄悄的革命》" in detail.text and "📎" in detail.text
    await l1.press(detail, "查看 1")
    opened = await l1.next_message()
    assert opened.media_type == "document"
    assert opened.file_bytes == data
    assert opened.file_name == "../我的读书心得.docx"
    assert said(opened.text, "reading.open.header", name="黄志强", group="第一组")
    # Auto mode: it counts already; the leader may still accept (the trainee hears) or return.
    assert opened.button_texts == REVIEW_BUTTONS


async def test_too_large_and_wrong_documents_refused(h: Harness) -> None:
    t1 = await h.register("T1")
    await pick_book(t1, "乡土", "《乡土中国》费孝通")
    await t1.ask("今天")
    await t1.send_document(b"%PDF-1.4 big", "心得.pdf", mime_type="application/pdf",
                           file_size=25 * 1024 * 1024)
    big = await t1.next_message()
    assert said(big.text, "reading.doc.too_big", size="25.0 MB") and "20.0 MB" in big.text
    assert h.sandbox.stats.requests["getFile"] == 0  # refused before any download
    await t1.send_document(b"\xd0\xcf\x11\xe0", "心得.doc", mime_type="application/msword")
    kind = await t1.next_message()
    assert said(kind.text, "reading.doc.type")
    await t1.send_document("太短".encode(), "心得.txt", mime_type="text/plain")
    short = await t1.next_message()
    assert said(short.text, "reading.reflection.too_short", count=2)
    await t1.send_document(b"", "empty.pdf", mime_type="application/pdf")
    empty = await t1.next_message()
    assert said(empty.text, "reading.doc.empty")
    assert await subs_of(h, "T1") == []
    reading_dir = h.config.files_dir / "reading"
    assert not reading_dir.exists() or not any(p.is_file() for p in reading_dir.rglob("*"))
    # Still waiting for the reflection: a proper .txt is taken.
    await t1.send_document(REFLECTION.encode("gb18030"), "心得.txt", mime_type="text/plain")
    done = await t1.next_message()
    assert said(done.text, "reading.read.saved", title="乡土中国")


async def test_over_long_text_asks_for_a_document(h: Harness) -> None:
    t1 = await h.register("T1")
    await pick_book(t1, "乡土", "《乡土中国》费孝通")
    await t1.ask("今天")
    long = await t1.ask("字" * 4001)
    assert said(long.text, "reading.reflection.too_long", max=4000)
    assert await subs_of(h, "T1") == []


# -- review ---------------------------------------------------------------------------------------


async def test_return_and_resubmit_in_auto_mode(h: Harness) -> None:
    t1 = await h.register("T1")
    l1 = await h.register("L1")
    await log_book(t1, "教师", "《给教师的建议》苏霍姆林斯基")
    mine = await l1.ask("/reading")
    await l1.press(mine, "📋 本组读书情况")
    table = await l1.next_message()
    await l1.press(table, "黄志强")
    detail = await l1.next_message()
    await l1.press(detail, "查看 1")
    opened = await l1.next_message()
    assert REFLECTION in opened.text
    await l1.press(opened, "↩️ 退回")
    prompt = await l1.next_message()
    assert said(prompt.text, "reading.review.ask_comment", name="黄志强", title="给教师的建议")
    done = await l1.ask("请结合本校实际多写一些。")
    assert said(done.text, "reading.review.returned", name="黄志强", title="给教师的建议")
    await h.flush()
    notice = await t1.next_message(predicate=lambda m: said(m.text, "reading.notice.returned"))
    assert said(
        notice.text,
        "reading.notice.returned",
        reviewer="罗宏伟",
        kind_name=BOOK,
        title="给教师的建议",
    )
    assert "请结合本校实际多写一些。" in notice.text
    progress = await t1.ask("/reading")
    assert said(progress.text, "reading.progress.books", n=0, target=6)
    assert said(progress.text, "reading.status.returned")
    assert said(
        progress.text, "reading.line.comment", by="罗宏伟", comment="请结合本校实际多写一些。"
    )
    # The returned book cannot be logged anew, but /read of it leads to the resubmission.
    again = await pick_book(t1, "教师", "《给教师的建议》苏霍姆林斯基")
    assert said(again.text, "reading.resubmit.ask", title="给教师的建议")
    await t1.ask("/cancel")
    await t1.press(notice, "重新提交")
    ask = await t1.next_message()
    assert said(ask.text, "reading.resubmit.ask", title="给教师的建议")
    short = await t1.ask("改好了")
    assert said(short.text, "reading.reflection.too_short", min=300)
    resubmitted = await t1.ask(REFLECTION + "结合本校实际。")
    assert said(resubmitted.text, "reading.resubmit.done", title="给教师的建议")
    assert said(resubmitted.text, "reading.progress.short", books=1, books_target=6)
    [sub] = await subs_of(h, "T1")
    assert (sub.status, sub.revision) == ("submitted", 2)
    async with h.services.db.read() as conn:
        events = [e["action"] for e in await reading_repo.events(conn, sub.id)]
    assert events == ["submitted", "returned", "resubmitted"]
    # The leader who returned it hears of the resubmission.
    await h.flush()
    heard = await l1.next_message(predicate=lambda m: said(m.text, "reading.review.resubmitted"))
    assert said(
        heard.text,
        "reading.review.resubmitted",
        name="黄志强",
        group="第一组",
        kind_name=BOOK,
        title="给教师的建议",
    )
    # The old notice's button no longer works.
    answer = await t1.press(notice, "重新提交")
    assert answer.show_alert and said(answer.text, "reading.resubmit.not_returned")


async def test_required_mode_counts_once_accepted(tmp_path: Path) -> None:
    async with running_bot(tmp_path, reading={"review": "required"}) as h:
        await load_books(h)
        t1 = await h.register("T1")
        l1 = await h.register("L1")
        h1 = await h.register("H1")
        done = await log_book(t1, "教师", "《给教师的建议》苏霍姆林斯基")
        assert said(
            done.text,
            "reading.progress.short",
            books=0,
            books_target=6,
            monographs=0,
            monographs_target=2,
        )
        assert said(done.text, "reading.progress.pending_suffix", n=1)
        assert said(done.text, "reading.mode.required")
        await h.flush()
        ask = await l1.next_message(predicate=lambda m: said(m.text, "reading.review.new"))
        assert said(
            ask.text,
            "reading.review.new",
            name="黄志强",
            group="第一组",
            kind_name=BOOK,
            title="给教师的建议",
        )
        assert ask.button_texts == [text_of("reading.btn.open"), *REVIEW_BUTTONS]
        assert texts(h1, "请审核") == []  # HR is not bothered with a group's own review
        books = await t1.ask("/books")
        assert said(
            books.text,
            "reading.books.line",
            mark=text_of("reading.mark.pending"),
            book_id="B01",
            title="给教师的建议",
        )
        accept_data = ask.buttons[1][1]
        answer = await l1.press(ask, "✅ 通过")
        assert answer.text == text_of("reading.review.accepted_toast") and not answer.show_alert
        confirmed = await l1.next_message()
        assert said(confirmed.text, "reading.review.accepted", name="黄志强", title="给教师的建议")
        await h.flush()
        notice = await t1.next_message(predicate=lambda m: said(m.text, "reading.notice.accepted"))
        assert said(
            notice.text,
            "reading.notice.accepted",
            reviewer="罗宏伟",
            kind_name=BOOK,
            title="给教师的建议",
        )
        progress = await t1.ask("/reading")
        assert said(progress.text, "reading.progress.books", n=1, target=6)
        assert said(progress.text, "reading.status.accepted")
        # Pressing again (or HR later) changes nothing.
        assert ask.buttons == []  # the decided notice loses its buttons
        again = await l1.press_data(ask, accept_data)
        assert again.show_alert and said(again.text, "reading.review.already")
        # Returned then resubmitted: out of the count, and back to the leader for review.
        await t1.ask("/submit")
        kinds = t1.last()
        await t1.press(kinds, "论文")
        await t1.next_message()
        await t1.ask("乡村学校的课堂改革")
        await t1.ask(REFLECTION)
        await h.flush()
        paper = await l1.next_message(predicate=lambda m: said(
            m.text, "reading.review.new", kind_name=PAPER, title="乡村学校的课堂改革"
        ))
        await l1.press(paper, "↩️ 退回")
        await l1.next_message()
        await l1.ask("请补充数据。")
        await h.flush()
        back = await t1.next_message(predicate=lambda m: said(
            m.text, "reading.notice.returned", kind_name=PAPER
        ))
        await t1.press(back, "重新提交")
        await t1.next_message()
        re_done = await t1.ask(REFLECTION + "补充了数据。")
        assert said(re_done.text, "reading.mode.required")
        await h.flush()
        review = await l1.next_message(predicate=lambda m: said(
            m.text, "reading.review.resubmitted", kind_name=PAPER
        ))
        assert review.button_texts == [text_of("reading.btn.open"), *REVIEW_BUTTONS]
        await l1.press(review, "✅ 通过")
        subs = await subs_of(h, "T1")
        assert [s.status for s in subs] == ["accepted", "accepted"]


async def test_required_mode_leaders_own_work_goes_to_hr(tmp_path: Path) -> None:
    async with running_bot(tmp_path, reading={"review": "required"}) as h:
        await load_books(h)
        l1 = await h.register("L1")
        h1 = await h.register("H1")
        await log_book(l1, "乡土", "《乡土中国》费孝通")
        await h.flush()
        ask = await h1.next_message(predicate=lambda m: said(m.text, "reading.review.new"))
        assert said(
            ask.text,
            "reading.review.new",
            name="罗宏伟",
            group="第一组",
            kind_name=BOOK,
            title="乡土中国",
        )
        # The leader cannot accept their own work.
        [sub] = await subs_of(h, "L1")
        own = await l1.press_data(l1.last(), f"rd:acc:{sub.id}")
        assert own.show_alert and own.text == FORGED
        await h1.press(ask, "✅ 通过")
        assert [s.status for s in await subs_of(h, "L1")] == ["accepted"]


async def test_forged_review_buttons_change_nothing(h: Harness) -> None:
    t1 = await h.register("T1")
    t2 = await h.register("T2")
    l2 = await h.register("L2")
    await log_book(t1, "教师", "《给教师的建议》苏霍姆林斯基")
    [sub] = await subs_of(h, "T1")
    async with h.services.db.read() as conn:
        t1_member = await members_repo.by_member_id(conn, "T1")
    assert t1_member is not None and t1_member.group_id is not None
    t2_msg = await t2.ask("/reading")
    l2_msg = await l2.ask("/reading")
    presses = [
        (t2, t2_msg, f"rd:acc:{sub.id}"),  # a group mate
        (t2, t2_msg, f"rd:ret:{sub.id}"),
        (t2, t2_msg, f"rd:open:{sub.id}"),
        (t2, t2_msg, f"rd:resub:{sub.id}"),  # not the owner
        (t2, t2_msg, f"rd:grp:{t1_member.group_id}"),  # a trainee is no leader
        (l2, l2_msg, f"rd:acc:{sub.id}"),  # another group's leader
        (l2, l2_msg, f"rd:ret:{sub.id}"),
        (l2, l2_msg, f"rd:open:{sub.id}"),
        (l2, l2_msg, f"rd:grp:{t1_member.group_id}"),
        (l2, l2_msg, f"rd:mem:{t1_member.pk}"),
        (l2, l2_msg, "rd:acc:999999"),
        (l2, l2_msg, "rd:acc:x"),
        (l2, l2_msg, "rd:pick:1"),  # no /read dialog open
        (l2, l2_msg, "rd:nonsense:1"),
    ]
    for user, message, data in presses:
        answer = await user.press_data(message, data)
        assert answer.show_alert and answer.text == FORGED, data
    [after] = await subs_of(h, "T1")
    assert (after.status, after.reviewed_by, after.revision) == ("submitted", None, 1)
    async with h.services.db.read() as conn:
        assert len(await reading_repo.events(conn, sub.id)) == 1


async def test_book_pick_outside_the_offered_results_is_refused(h: Harness) -> None:
    t1 = await h.register("T1")
    await t1.ask("/read")
    results = await t1.ask("乡土")
    answer = await t1.press_data(results, "rd:pick:1")  # B01 was not among the results
    assert answer.show_alert and answer.text == FORGED


# -- /submit, tables ------------------------------------------------------------------------------


async def test_submit_management_analysis(h: Harness) -> None:
    t1 = await h.register("T1")
    kinds = await t1.ask("/submit")
    assert kinds.button_texts == ["论文", "心得体会", "学校管理分析"]
    await t1.press(kinds, "学校管理分析")
    title = await t1.next_message()
    assert said(title.text, "reading.submit.ask_title", kind=ANALYSIS)
    body = await t1.ask("关于我校课后服务管理的分析与建议")
    assert said(body.text, "reading.submit.ask_body", kind=ANALYSIS, min=300)
    short = await t1.ask("建议加强管理。")
    assert said(short.text, "reading.reflection.too_short", min=300)
    done = await t1.ask(REFLECTION)
    assert said(
        done.text, "reading.submit.saved", kind=ANALYSIS, title="关于我校课后服务管理的分析与建议"
    )
    assert said(done.text, "reading.progress.short", analysis=text_of("reading.progress.done"))
    progress = await t1.ask("/reading")
    assert said(progress.text, "reading.progress.analysis", state=text_of("reading.progress.done"))
    again = await t1.ask("/submit")
    await t1.press(again, "学校管理分析")
    await t1.next_message()
    dup = await t1.ask("关于我校课后服务管理的分析与建议")
    assert said(dup.text, "reading.read.duplicate")
    hr = await h.register("H1")
    refused = await hr.ask("/submit")
    assert said(refused.text, "reading.only_readers")


async def test_progress_pace_and_hr_overview(h: Harness) -> None:
    t1 = await h.register("T1")
    hr = await h.register("H1")
    await log_book(t1, "教师", "《给教师的建议》苏霍姆林斯基")
    # 2026-07-03: pace counts from when T1 registered (2 March, issue 16), not from 1 January:
    # 2 books expected by now (3 for the whole year's half).
    h.clock.set(dt.datetime(2026, 7, 3, 10, 0, tzinfo=TZ))
    progress = await t1.ask("/reading")
    assert said(progress.text, "reading.progress.header", date="2026-07-03")
    assert said(progress.text, "reading.progress.pace", pace=text_of("reading.pace.behind", n=1),
                share=34, expected=2)
    overview = await hr.ask("/reading")
    assert said(overview.text, "reading.table.overview_header", total=5, behind=5)
    assert said(overview.text, "reading.table.group", group="第一组")
    assert said(overview.text, "reading.table.group", group="第二组")
    assert said(overview.text, "reading.table.row", name="黄志强", role="", books=1, books_target=6,
                monographs=1, monographs_target=2, analysis=text_of("reading.table.analysis_no"),
                pace=text_of("reading.pace.behind", n=1))
    assert said(
        overview.text, "reading.table.row", name="罗宏伟", role=text_of("reading.table.leader")
    ,
                books=0, books_target=6)
    assert overview.button_texts == ["第一组", "第二组"]
    await hr.press(overview, "第二组")
    table = await hr.next_message()
    assert said(table.text, "reading.table.group_header", group="第二组", year=2026)
    assert "王芳" in table.text
    assert "黄志强" not in table.text
    assert table.button_texts == ["陈静", "王芳"]


async def test_big_tables_are_split_under_the_limit(tmp_path: Path) -> None:
    lines = ["member_id,name,role,group,school,stage"]
    for g in range(4):
        for i in range(30):
            role = "leader" if i == 0 else "trainee"
            lines.append(f"G{g}M{i:02d},学员{g}{i:02d}号欧阳诸葛司马,{role},第{g + 1}组,学校,小学")
    lines.append("H1,周敏,hr,,教育局人事科,")
    async with running_bot(tmp_path, roster="\n".join(lines) + "\n") as h:
        hr = await h.register("H1")
        first = await hr.ask("/reading")
        parts = [first]
        while not parts[-1].buttons:
            parts.append(await hr.next_message())
        assert len(parts) >= 2
        assert all(len(p.text) <= 4096 for p in parts)
        whole = "\n".join(p.text for p in parts)
        assert whole.count("欧阳诸葛司马") == 120
        assert parts[-1].button_texts == ["第1组", "第2组", "第3组", "第4组"]


# -- the monthly nudge ----------------------------------------------------------------------------


async def test_monthly_nudge_only_when_behind_and_at_most_once_a_month(h: Harness) -> None:
    t1 = await h.register("T1")  # reads nothing until May
    t2 = await h.register("T2")  # one book in March
    # Both joined when the year began (pace counts from joining): see test_reading_joiners.py.
    async with h.services.db.tx() as conn:
        await conn.execute("UPDATE members SET registered_at = ? WHERE member_id IN ('T1', 'T2')",
                           (ts(dt.datetime(2026, 1, 1, 9, 0, tzinfo=TZ)),))
    await log_book(t2, "乡土", "《乡土中国》费孝通")

    def nudges(user: SandboxUser) -> list[str]:
        return texts(user, "读书小提醒")

    await h.tick()  # 2026-03-02: on March 1 nobody was behind yet (0.97 books due)
    assert nudges(t1) == [] and nudges(t2) == []
    h.clock.set(dt.datetime(2026, 4, 1, 8, 30, tzinfo=TZ))
    await h.tick()
    assert nudges(t1) == []  # not before nudge_time
    await h.tick(minutes=30)
    [april] = nudges(t1)
    assert said(april, "reading.nudge.text", expected=1, books=0, monographs=0, behind=1)
    assert said(april, "reading.nudge.suggest", title="给教师的建议", author="苏霍姆林斯基")
    assert nudges(t2) == []  # one book: on pace
    for _ in range(6):
        await h.tick(hours=5)
    await h.tick(days=10)
    assert len(nudges(t1)) == 1  # once a month
    # May: the moment passes at night; the nudge waits for the morning.
    h.clock.set(dt.datetime(2026, 5, 1, 22, 30, tzinfo=TZ))
    await h.tick()
    await h.tick(hours=3)
    assert len(nudges(t1)) == 1
    h.clock.set(dt.datetime(2026, 5, 2, 7, 0, tzinfo=TZ))
    await h.tick()
    assert len(nudges(t1)) == 2 and nudges(t2) == []
    # T1 catches up with two books before June; T2 falls behind (2 due on June 1).
    await log_book(t1, "教师", "《给教师的建议》苏霍姆林斯基")
    await log_book(t1, "修炼", "《第五项修炼》彼得·圣吉")
    h.clock.set(dt.datetime(2026, 6, 1, 9, 0, tzinfo=TZ))
    await h.tick()
    assert len(nudges(t1)) == 2
    [june] = nudges(t2)
    assert said(june, "reading.nudge.text", behind=1) and "《给教师的建议》" in june
    async with h.services.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'reading.nudge'"
        )
    assert rows[0][0] == 3


async def test_no_nudge_when_turned_off(tmp_path: Path) -> None:
    async with running_bot(tmp_path, reading={"nudge_day": 0}) as h:
        t1 = await h.register("T1")
        h.clock.set(dt.datetime(2026, 9, 1, 10, 0, tzinfo=TZ))
        await h.tick()
        assert texts(t1, "读书小提醒") == []


# -- lower minimum and the export -----------------------------------------------------------------


def export_args(**overrides: Any) -> argparse.Namespace:
    values: dict[str, Any] = {"export_command": "reading", "format": "xlsx", "date_from": None,
                              "date_to": None, "out": None, "codes": True}
    values.update(overrides)
    return argparse.Namespace(**values)


async def test_configured_minimum_and_export_columns(tmp_path: Path) -> None:
    from bot.documents.exports import cli_export
    from bot.reading.export import COLUMNS

    async with running_bot(tmp_path, reading={"min_reflection_chars": 10}) as h:
        await load_books(h)
        t1 = await h.register("T1")
        l1 = await h.register("L1")
        short = "十个字的心得体会写完了"
        done = await log_book(t1, "教师", "《给教师的建议》苏霍姆林斯基", text=short)
        assert said(done.text, "reading.read.saved")
        data = b"%PDF-1.4 paper"
        await t1.ask("/submit")
        await t1.press(t1.last(), "论文")
        await t1.next_message()
        await t1.ask("课堂观察")
        await t1.send_document(data, "课堂观察.pdf", mime_type="application/pdf")
        await t1.next_message()
        [_, paper] = await subs_of(h, "T1")
        mine = await l1.ask("/reading")
        await l1.press(mine, "📋 本组读书情况")
        table = await l1.next_message()
        await l1.press(table, "黄志强")
        detail = await l1.next_message()
        await l1.press(detail, "查看 2")
        opened = await l1.next_message()
        await l1.press(opened, "↩️ 退回")
        await l1.next_message()
        await l1.ask("请补充")

        out = tmp_path / "reading.csv"
        args = export_args(format="csv", out=out)
        assert await cli_export(args, h.config) == 0
        raw = out.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
        assert list(rows[0].keys()) == list(COLUMNS)
        assert list(COLUMNS) == [
            "member_id", "name", "group", "kind", "book_id", "title", "category",
            "finished_on", "status", "counted", "submitted_at", "reviewed_by", "reviewed_at",
            "comment", "file", "file_name",
        ]
        book, paper_row = rows
        assert {k: book[k] for k in ("member_id", "name", "group", "kind", "book_id", "title",
                                     "category", "finished_on", "status", "counted")} == {
            "member_id": "T1", "name": "黄志强", "group": "第一组", "kind": "book",
            "book_id": "B01", "title": "给教师的建议", "category": "education_monograph",
            "finished_on": "2026-03-01", "status": "submitted", "counted": "1",
        }
        assert book["submitted_at"] == "2026-03-02 09:00" and book["file"] == ""
        assert (paper_row["kind"], paper_row["status"], paper_row["counted"]) == (
            "paper", "returned", "0"
        )
        assert (paper_row["reviewed_by"], paper_row["comment"]) == ("罗宏伟", "请补充")
        assert paper.file is not None and paper_row["file"] == paper.file.path
        assert paper_row["file_name"] == "课堂观察.pdf"
        assert (h.config.files_dir / paper_row["file"]).read_bytes() == data

        # Dates select by the day finished / submitted.
        args = export_args(format="csv", date_from=dt.date(2026, 3, 2), out=out)
        assert await cli_export(args, h.config) == 0
        rows = list(csv.DictReader(out.read_text("utf-8-sig").splitlines()))
        assert [r["kind"] for r in rows] == ["paper"]

        import openpyxl

        xlsx = tmp_path / "reading.xlsx"
        assert await cli_export(export_args(out=xlsx), h.config) == 0
        ws: Any = openpyxl.load_workbook(xlsx)["reading"]
        assert [c.value for c in ws[1]] == list(COLUMNS)
        assert ws["A1"].font.bold and ws.freeze_panes == "A2" and ws.auto_filter.ref
        assert ws["H2"].value == dt.datetime(2026, 3, 1)  # finished_on: a real date
        assert ws["H2"].number_format == "yyyy-mm-dd"
        assert ws["K2"].value == dt.datetime(2026, 3, 2, 9, 0)  # submitted_at, local time
        assert ws["J2"].value is True and ws["J3"].value is False  # counted

        # The reading sheet is part of an export of everything too.
        from bot.documents import exports

        assert "reading" in exports.exporters()
        assert await cli_export(export_args(out=None), h.config) == 2  # xlsx needs --out
