"""The sandbox through real HTTP: python-telegram-bot's Bot and Application talk to it exactly
as they would to Telegram, and the tests check both sides (what PTB sees, what the transcript
records). No test sleeps: waits are event-driven and the rate-limit clock is injected."""

from __future__ import annotations

import asyncio
import datetime as dt
import struct
import warnings
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.sandbox import CallbackAnswer, Sandbox, SandboxTimeout, render_transcript
from bot.sandbox.client import Timeline

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def png(width: int = 3, height: int = 2) -> bytes:
    """A tiny valid PNG (the sandbox reads its size from the header)."""
    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


class ManualMonotonic:
    """The rate limiter's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB warns about int vs timedelta retry_after
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


@pytest.fixture
def mono() -> ManualMonotonic:
    return ManualMonotonic()


@pytest.fixture
async def sb(mono: ManualMonotonic) -> AsyncIterator[Sandbox]:
    async with Sandbox(now=lambda: T0, monotonic=mono) as sandbox:
        yield sandbox


@pytest.fixture
async def bot(sb: Sandbox) -> AsyncIterator[Bot]:
    async with Bot(sb.token, base_url=sb.base_url, base_file_url=sb.base_file_url) as b:
        yield b


async def one_update(bot: Bot) -> Update:
    updates = await bot.get_updates(timeout=5)
    assert len(updates) == 1, updates
    await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)  # confirm
    return updates[0]


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in pairs]])


# ---------------------------------------------------------------- basics


async def test_get_me(sb: Sandbox, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == sb.bot_id == 123456
    assert me.username == "studybot_sandbox_bot" and me.is_bot
    assert sb.base_url == f"http://127.0.0.1:{sb.port}/bot" and sb.port > 0


async def test_message_reaches_get_updates_and_reply_lands(sb: Sandbox, bot: Bot) -> None:
    user = sb.user(1001, "罗宏伟", username="luo")
    sent = await user.send("/start ABCD2345")
    [update] = await bot.get_updates(timeout=0)
    message = update.message
    assert message is not None and message.from_user is not None
    assert message.text == "/start ABCD2345" and message.chat.type == "private"
    assert message.from_user.id == 1001 and message.from_user.language_code == "zh"
    assert message.date == T0 and message.message_id == sent.message_id
    assert message.entities[0].type == "bot_command" and message.entities[0].length == 6
    await message.reply_text("欢迎，罗宏伟！")
    assert [(e.direction, e.text) for e in sb.transcript(1001)] == [
        ("in", "/start ABCD2345"), ("out", "欢迎，罗宏伟！")]
    assert user.last().text == "欢迎，罗宏伟！" and user.last().date == T0
    # Confirming by offset drops the update; ids keep increasing.
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    await user.send("再来")
    [later] = await bot.get_updates(timeout=0)
    assert later.update_id == update.update_id + 1
    assert later.message is not None and later.message.message_id > sent.message_id + 1


async def test_long_poll_wakes_on_a_new_update(sb: Sandbox, bot: Bot) -> None:
    user = sb.user(1001, "罗宏伟")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await sb.wait_polling()
    await user.send("你好")
    updates = await poll
    assert [u.message.text for u in updates if u.message] == ["你好"]


async def test_newer_poll_ends_the_older_one_with_conflict(sb: Sandbox, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await sb.wait_polling()
    # PTB's own getUpdates connection pool holds one request; a second client polls raw.
    async with aiohttp.ClientSession() as http:
        url = f"{sb.base_url}{sb.token}/getUpdates"
        second = asyncio.create_task(http.post(url, data={"timeout": "5"}))
        with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates"):
            await first
        await sb.wait_polling()
        await sb.user(1001, "A").send("x")
        async with await second as resp:
            body = await resp.json()
    assert [u["message"]["text"] for u in body["result"]] == ["x"]


# ---------------------------------------------------------------- buttons


async def test_inline_keyboard_press_and_answer(sb: Sandbox, bot: Bot) -> None:
    user = sb.user(1001, "罗宏伟")
    await bot.send_message(
        1001, "请审批", reply_markup=keyboard(("批准", "ok:1"), ("驳回", "no:1"))
    )
    message = user.last()
    assert message.buttons == [("批准", "ok:1"), ("驳回", "no:1")]
    press = asyncio.create_task(user.press(message, "批准"))
    query = (await one_update(bot)).callback_query
    assert query is not None and query.data == "ok:1" and query.from_user.id == 1001
    assert query.message is not None and query.message.message_id == message.message_id
    await query.answer("已批准", show_alert=True)
    assert await press == CallbackAnswer("已批准", True)
    callback = sb.transcript(1001)[-1]
    assert callback.kind == "callback" and callback.text == "批准"
    assert callback.answer == ("已批准", True)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer("again")


async def test_forged_callback_data(sb: Sandbox, bot: Bot) -> None:
    user = sb.user(1001, "罗宏伟")
    await bot.send_message(1001, "请审批", reply_markup=keyboard(("批准", "ok:1")))
    press = asyncio.create_task(user.press_data(user.last(), "admin:drop-all"))
    query = (await one_update(bot)).callback_query
    assert query is not None and query.data == "admin:drop-all"
    await query.answer()
    assert await press == CallbackAnswer(None, False)


async def test_unanswered_press_times_out_with_the_chat_tail(sb: Sandbox, bot: Bot) -> None:
    user = sb.user(1001, "罗宏伟")
    await bot.send_message(1001, "请审批", reply_markup=keyboard(("批准", "ok:1")))
    with pytest.raises(SandboxTimeout, match="请审批"):
        await user.press(user.last(), "ok:1", timeout=0)
    query = (await one_update(bot)).callback_query
    assert query is not None
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer("late")


# ---------------------------------------------------------------- edits


async def test_edit_message_text_updates_the_transcript(sb: Sandbox, bot: Bot) -> None:
    user = sb.user(1001, "罗宏伟")
    sent = await bot.send_message(1001, "待审批", reply_markup=keyboard(("批准", "ok")))
    waiter = asyncio.create_task(
        sb.wait_for_bot_message(1001, lambda e: e.text == "已批准", timeout=5)
    )
    edited = await bot.edit_message_text("已批准", chat_id=1001, message_id=sent.message_id)
    assert isinstance(edited, type(sent)) and edited.edit_date is not None
    entry = await waiter
    assert entry is user.last() and len(user.messages()) == 1
    assert entry.edited and entry.history == ["待审批"] and entry.buttons == []
    # A stale press of the removed button still reaches the bot (a client behind the edit).
    stale = asyncio.create_task(user.press(entry, "批准"))
    query = (await one_update(bot)).callback_query
    assert query is not None and query.data == "ok"
    await query.answer()
    await stale
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("已批准", chat_id=1001, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)to edit not found"):
        await bot.edit_message_text("x", chat_id=1001, message_id=999)
    await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=keyboard(("撤销", "u")))
    assert user.last().buttons == [("撤销", "u")] and user.last().text == "已批准"
    assert await bot.delete_message(1001, sent.message_id)
    assert user.last().deleted
    with pytest.raises(BadRequest, match=r"(?i)to delete not found"):
        await bot.delete_message(1001, sent.message_id)
    assert "已批准 (edited) (deleted)" in render_transcript(sb, [1001])


async def test_parse_mode_is_applied_and_bad_markup_refused(sb: Sandbox, bot: Bot) -> None:
    user = sb.user(1001, "罗宏伟")
    await bot.send_message(1001, "<b>粗体</b> &lt;名单&gt; A&B", parse_mode=ParseMode.HTML)
    assert user.last().text == "粗体 <名单> A&B"
    assert user.last().source == "<b>粗体</b> &lt;名单&gt; A&B"
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(1001, "王<小>明", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)end tag"):
        await bot.send_message(1001, "<b>未闭合", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)reserved"):
        await bot.send_message(1001, "第1.5节", parse_mode=ParseMode.MARKDOWN_V2)
    await bot.send_message(1001, r"*第1\.5节*", parse_mode=ParseMode.MARKDOWN_V2)
    assert user.last().text == "第1.5节"


# ---------------------------------------------------------------- files


async def test_send_photo_and_media_group(sb: Sandbox, bot: Bot) -> None:
    user = sb.user(1001, "罗宏伟")
    image = png(3, 2)
    photo = await bot.send_photo(1001, image, caption="签到图")
    entry = user.last()
    assert entry.kind == "photo" and entry.file_bytes == image and entry.text == "签到图"
    assert (photo.photo[-1].width, photo.photo[-1].height) == (3, 2)
    # Re-sending by file_id reuses the stored bytes.
    await bot.send_photo(1001, photo.photo[-1].file_id)
    assert user.last().file_bytes == image
    album = await bot.send_media_group(
        1001, [InputMediaPhoto(png(1, 1), caption="第一张"), InputMediaPhoto(png(2, 2))]
    )
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    items = user.messages()[-2:]
    assert [e.kind for e in items] == ["media_group_item", "media_group_item"]
    assert items[0].text == "第一张" and items[1].file_bytes == png(2, 2)
    with pytest.raises(BadRequest, match=r"(?i)2-10"):
        await bot.send_media_group(1001, [InputMediaPhoto(png())])
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(1001, "no-such-file-id")
    assert "[photo" in render_transcript(sb, [1001])


async def test_user_document_download_and_size_limit(sb: Sandbox, bot: Bot) -> None:
    user = sb.user(1001, "罗宏伟")
    data = "姓名,小组\n罗宏伟,第一组\n".encode()
    await user.send_document(data, "roster.csv", mime_type="text/csv", caption="名单")
    message = (await one_update(bot)).message
    assert message is not None and message.document is not None
    assert message.document.file_name == "roster.csv" and message.caption == "名单"
    assert message.document.file_size == len(data)
    file = await bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == data
    # A 25 MB file (only its size is simulated): getFile refuses it, as Telegram does.
    await user.send_document(b"x", "big.zip", file_size=25 * 1024 * 1024)
    big = (await one_update(bot)).message
    assert big is not None and big.document is not None
    assert big.document.file_size == 25 * 1024 * 1024
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(big.document.file_id)
    # A user's photo can be downloaded too.
    await user.send_photo(png(4, 4), caption="现场")
    shot = (await one_update(bot)).message
    assert shot is not None and shot.photo
    photo_file = await bot.get_file(shot.photo[-1].file_id)
    assert bytes(await photo_file.download_as_bytearray()) == png(4, 4)


async def test_location_and_forward(sb: Sandbox, bot: Bot) -> None:
    user = sb.user(1001, "罗宏伟")
    await user.send_location(30.25, 120.16, forwarded=True, live_period=600)
    message = (await one_update(bot)).message
    assert message is not None and message.location is not None
    assert message.location.latitude == 30.25
    assert message.location.live_period in (600, dt.timedelta(seconds=600))
    assert message.forward_origin is not None
    assert "[location 30.25000, 120.16000 live]" in render_transcript(sb, [1001])


# ---------------------------------------------------------------- faults


async def test_injected_429_raises_retry_after(sb: Sandbox, bot: Bot) -> None:
    sb.user(1001, "A")
    sb.user(1002, "B")
    sb.fail_next("sendMessage", status=429, retry_after=7, chat_id=1001)
    await bot.send_message(1002, "other chats are not affected")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1001, "x")
    assert seconds(caught.value) == 7
    await bot.send_message(1001, "then it works")
    assert sb.stats.rate_limited == 1 and sb.stats.injected == 1


async def test_injected_500_raises_network_error(sb: Sandbox, bot: Bot) -> None:
    sb.user(1001, "A")
    sb.fail_next("sendmessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(1001, "x")
    await bot.send_message(1001, "x")
    assert sb.stats.injected_5xx == 2 and sb.stats.sent_messages == 1


async def test_blocked_user_is_forbidden(sb: Sandbox, bot: Bot) -> None:
    user = sb.user(1001, "A")
    user.block()
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(1001, "x")
    [update] = await bot.get_updates(timeout=0)
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"
    user.unblock()
    await bot.send_message(1001, "x")
    assert sb.stats.forbidden == 1


async def test_unknown_or_unstarted_chat_is_forbidden(sb: Sandbox, bot: Bot) -> None:
    with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation"):
        await bot.send_message(4242, "x")
    shy = sb.user(1003, "C", started=False)
    with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation"):
        await bot.send_message(1003, "x")
    await shy.send("hi")  # writing to the bot starts the conversation
    await bot.send_message(1003, "x")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(-777, "x")


async def test_validation_like_telegram(sb: Sandbox, bot: Bot) -> None:
    sb.user(1001, "A")
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(1001, "字" * 4097)
    await bot.send_message(1001, "字" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)empty"):
        await bot.send_message(1001, "   ")
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(1001, "x", reply_markup=keyboard(("长", "字" * 22)))  # 66 bytes
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(1001, png(), caption="x" * 1025)


async def test_slow_answers(sb: Sandbox, bot: Bot) -> None:
    sb.user(1001, "A")
    sb.set_delay("sendMessage", 0.01)
    await bot.send_message(1001, "slow but fine")
    sb.set_delay("sendMessage", 0)
    assert sb.stats.requests["sendMessage"] == 1


async def test_rate_limits(sb: Sandbox, bot: Bot, mono: ManualMonotonic) -> None:
    sb.enforce_rate_limits = True
    sb.user(1001, "A")
    await bot.send_message(1001, "one")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1001, "two")
    assert seconds(caught.value) == 1
    mono.now += 1.0
    await bot.send_message(1001, "two")
    # Groups: 20 per minute.
    sb.group(-100, "第一组")
    for i in range(20):
        await bot.send_message(-100, f"g{i}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(-100, "g20")
    assert seconds(caught.value) == 60
    # Overall: 30 per second, whatever the chat.
    mono.now += 60.0
    for uid in range(2000, 2030):
        sb.user(uid, "U")
        await bot.send_message(uid, "hi")
    sb.user(2030, "U")
    with pytest.raises(RetryAfter):
        await bot.send_message(2030, "hi")
    assert sb.stats.rate_limited == 3


# ---------------------------------------------------------------- commands, webhook, token


async def test_commands_per_chat_scope(sb: Sandbox, bot: Bot) -> None:
    sb.user(1001, "A")
    await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("help", "帮助")])
    await bot.set_my_commands(
        [BotCommand("start", "开始"), BotCommand("me", "我的信息")], scope=BotCommandScopeChat(1001)
    )
    assert sb.commands_for() == [("start", "开始"), ("help", "帮助")]
    assert sb.commands_for(1001) == [("start", "开始"), ("me", "我的信息")]
    got = await bot.get_my_commands(scope=BotCommandScopeChat(1001))
    assert [c.command for c in got] == ["start", "me"]
    await bot.delete_my_commands(scope=BotCommandScopeChat(1001))
    assert sb.commands_for(1001) == []
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


async def test_webhook_posts_updates_with_the_secret(sb: Sandbox, bot: Bot) -> None:
    received: asyncio.Queue[tuple[str | None, dict[str, Any]]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        await received.put((secret, await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        user = sb.user(1001, "A")
        with pytest.raises(BadRequest, match=r"(?i)loopback"):
            await bot.set_webhook("https://example.com/hook")
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        await user.send("via webhook")
        secret, body = await asyncio.wait_for(received.get(), 5)
        assert secret == "s3cret" and body["message"]["text"] == "via webhook"
        update = Update.de_json(body, bot)
        assert update.message is not None and update.message.from_user is not None
        assert update.message.from_user.id == 1001
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook")
        with pytest.raises(Conflict):
            await bot.get_updates(timeout=0)
        await bot.delete_webhook()
        await user.send("via polling")
        [polled] = await bot.get_updates(timeout=0)
        assert polled.message is not None and polled.message.text == "via polling"
    finally:
        await runner.cleanup()


async def test_wrong_token_and_raw_wire_format(sb: Sandbox) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=sb.base_url, base_file_url=sb.base_file_url):
            pass  # initialize() calls getMe, which the sandbox refuses
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sb.base_url}{sb.token}/noSuchMethod") as resp:
            assert resp.status == 404
            assert (await resp.json())["description"] == "Not Found: method not found"
        async with http.post(f"{sb.base_url}999:WRONG/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {"ok": False, "error_code": 401,
                                         "description": "Unauthorized"}
        # A JSON body works like form fields.
        sb.user(1001, "A")
        payload = {"chat_id": 1001, "text": "json", "reply_markup": {"inline_keyboard": [[
            {"text": "b", "callback_data": "d"}]]}}
        async with http.post(f"{sb.base_url}{sb.token}/sendMessage", json=payload) as resp:
            body = await resp.json()
            assert body["ok"] and body["result"]["reply_markup"]["inline_keyboard"][0][0] == {
                "text": "b", "callback_data": "d"}
        async with http.get(f"{sb.base_file_url}999:WRONG/documents/x") as resp:
            assert resp.status == 401


# ---------------------------------------------------------------- groups, misc


async def test_group_messages_and_misc_methods(sb: Sandbox, bot: Bot) -> None:
    alice = sb.user(1001, "A")
    group = sb.group(-1001234567890123, "第一组", [alice])
    await group.send(alice, f"/report@{sb.bot_username} 今天")
    message = (await one_update(bot)).message
    assert message is not None and message.chat.type == "supergroup"
    assert message.entities[0].length == len(f"/report@{sb.bot_username}")
    await bot.send_message(group.id, "收到")
    assert group.last().text == "收到"
    assert await bot.send_chat_action(1001, "typing")
    chat = await bot.get_chat(group.id)
    assert chat.title == "第一组"
    assert await bot.set_chat_menu_button(1001)
    assert sb.menu_button(1001) == {"type": "default"}
    assert await bot.close() and await bot.log_out()


# ---------------------------------------------------------------- a PTB Application


async def test_application_polling_echo(sb: Sandbox) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            f"start: {' '.join(context.args or [])}", reply_markup=keyboard(("好", "ok"))
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer(f"pressed {update.callback_query.data}")
        await update.callback_query.edit_message_text("已确认")

    app: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder().token(sb.token).base_url(sb.base_url)
        .base_file_url(sb.base_file_url).build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    user = sb.user(1001, "罗宏伟")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=10)
        await sb.wait_polling()
        # An unsolicited message first: ask() must return the answer to its own message.
        await app.bot.send_message(1001, "通知：明天开会")
        reply = await user.ask("你好")
        assert reply.text == "echo: 你好"
        welcome = await user.ask("/start ABCD2345")
        assert welcome.text == "start: ABCD2345"
        assert await user.press(welcome, "好") == CallbackAnswer("pressed ok", False)
        edited = await sb.wait_for_bot_message(1001, lambda e: e.text == "已确认")
        assert edited is welcome
        with pytest.raises(SandboxTimeout, match="echo: 你好"):
            await user.next_message(timeout=0)
        await app.updater.stop()
        await app.stop()
    text = render_transcript(sb, [1001], {1001: "罗宏伟"})
    assert text.splitlines()[0] == "── 罗宏伟 (user 1001) ──"
    assert "  > /start ABCD2345" in text and "  < 已确认 (edited)" in text
    assert "    [按钮: 好]" not in text  # the edit removed the keyboard
    assert "  > [点击: 好]" in text and "  < (提示: pressed ok)" in text


# ---------------------------------------------------------------- one order across chats


async def test_sequence_numbers_increase_across_chats_and_edits(mono: ManualMonotonic) -> None:
    async with Sandbox(now=lambda: T0, monotonic=mono, keep_changes=True) as sb:
        async with Bot(sb.token, base_url=sb.base_url, base_file_url=sb.base_file_url) as b:
            first, second = sb.user(1001, "罗宏伟"), sb.user(1002, "黄志强")
            asked = await first.send("/leave")
            card = await b.send_message(1002, "罗宏伟 请假", reply_markup=keyboard(("批准", "ok")))
            pressed, _ = sb.inject_callback(second, sb.transcript(1002)[-1], "ok", "批准")
            await b.edit_message_text("已批准", chat_id=1002, message_id=card.message_id)
            told = await b.send_message(1001, "您的请假已批准")
            await b.delete_message(1001, told.message_id)
            changes = sb.changes()
            assert [(c.kind, c.entry.chat_id, c.state.text) for c in changes] == [
                ("sent", 1001, "/leave"), ("sent", 1002, "罗宏伟 请假"),
                ("sent", 1002, "批准"), ("edited", 1002, "已批准"),
                ("sent", 1001, "您的请假已批准"), ("deleted", 1001, "您的请假已批准"),
            ]
            seqs = [c.seq for c in changes]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
            assert sb.last_seq == seqs[-1]
            # An entry keeps the number it was sent with; its state then is kept apart
            # from the later edit, which is what a timeline prints at each point.
            card_entry = sb.transcript(1002)[0]
            assert asked.seq < card_entry.seq < pressed.seq < changes[3].seq
            assert changes[1].state.text == "罗宏伟 请假" and changes[1].state.buttons
            assert card_entry.text == "已批准" and not changes[3].state.buttons
            assert changes[5].state.deleted and not changes[4].state.deleted
            assert [c.seq for c in sb.changes(after=seqs[3])] == seqs[4:]


async def test_the_timeline_prints_in_sequence_with_edits_where_they_happened(
    mono: ManualMonotonic,
) -> None:
    async with Sandbox(now=lambda: T0, monotonic=mono, keep_changes=True) as sb:
        async with Bot(sb.token, base_url=sb.base_url, base_file_url=sb.base_file_url) as b:
            leader, trainee = sb.user(1001, "罗宏伟"), sb.user(1002, "黄志强")
            timeline = Timeline(sb, {1001: "罗宏伟", 1002: "黄志强"})
            timeline.heading("# 1")
            card = await b.send_message(1001, "黄志强 请假", reply_markup=keyboard(("批准", "ok")))
            await trainee.send("/me")  # another chat, between the card and its approval
            sb.inject_callback(leader, sb.transcript(1001)[-1], "ok", "批准")
            await b.edit_message_text("已批准", chat_id=1001, message_id=card.message_id)
            await b.send_message(1002, "您的请假已批准")
            assert timeline.render().splitlines() == [
                "# 1",
                "── 罗宏伟 ──", "  < 黄志强 请假", "    [按钮: 批准]",
                "── 黄志强 ──", "  > /me",
                "── 罗宏伟 ──", "  > [点击: 批准]", "  ✎ 已批准 (edited)",
                "── 黄志强 ──", "  < 您的请假已批准",
            ]
