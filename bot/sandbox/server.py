"""A loopback Telegram Bot API for the end-to-end tests, the benchmarks and `studybot demo`.

python-telegram-bot talks to it over real HTTP (aiohttp on 127.0.0.1, a random port) once it is
given `base_url`/`base_file_url`. Simulated users (`bot.sandbox.client`) create updates; the bot
fetches them by long polling or receives them on its webhook; what the bot sends lands in
per-chat transcripts that tests read and wait on. Faults (5xx, 429, blocked users, slow answers)
and Telegram's flood limits can be switched on.

Nothing here touches the internet: the server only listens on loopback, webhooks are delivered
to loopback addresses only, and URLs given as files are refused instead of fetched.

Hot path: each request costs O(1) plus the size of its own chat at most. Benchmarks drive
hundreds of users through it, so no scans over all chats and no per-request logging.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import ipaddress
import itertools
import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from aiohttp import web

from bot.sandbox.client import SandboxGroup, SandboxUser
from bot.sandbox.markup import apply_parse_mode
from bot.sandbox.model import (
    JSON,
    ApiError,
    CallbackAnswer,
    Change,
    ChangeKind,
    Entry,
    SandboxError,
    SandboxStats,
    SandboxTimeout,
    StoredFile,
    render_entry,
    snapshot,
)

__all__ = ["Sandbox"]

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile refuses bigger files, like Telegram
MAX_UPLOAD = 50 * 1024 * 1024
# Telegram's flood limits: 30 messages/s overall, about 1/s per private chat, 20/min per group.
GLOBAL_RATE = (30, 1.0)
PRIVATE_RATE = (1, 1.0)
GROUP_RATE = (20, 60.0)

_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_BUTTON_ACTIONS = (
    "callback_data", "url", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "web_app",
    "callback_game", "pay", "copy_text",
)

Method = Callable[["Params"], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part of a multipart request."""

    name: str
    filename: str
    content_type: str
    data: bytes


class Params:
    """A request's parameters, whatever the encoding: form fields arrive as strings (complex
    values JSON-encoded inside them), a JSON body gives real types; files come apart."""

    __slots__ = ("files", "values")

    def __init__(self, values: dict[str, Any], files: dict[str, Upload]) -> None:
        self.values = values
        self.files = files

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        return str(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(400, f"Bad Request: invalid {name} specified") from None

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ApiError(400, f"Bad Request: invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def obj(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
        return value

    def chat_id(self) -> int:
        value = self.values.get("chat_id")
        if value is None or value == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        try:
            return int(value)
        except (TypeError, ValueError):
            # "@channelusername" and the like: the sandbox has no public chats.
            raise ApiError(400, "Bad Request: chat not found") from None


class _Signal:
    """Wakes every waiter of a chat when the bot sends, edits or answers there."""

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def wait(self, limit_s: float) -> None:
        """Returns on the next notify; raises TimeoutError after `limit_s` seconds."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await asyncio.wait_for(fut, limit_s)
        finally:
            if not fut.done():
                fut.cancel()


class _Window:
    """Sliding-window rate limit: at most `limit` events per `period` seconds, O(1) per check."""

    __slots__ = ("limit", "period", "times")

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.times: deque[float] = deque(maxlen=limit)

    def wait(self, now: float) -> float:
        """Seconds until one more event is allowed (0 when it is allowed now)."""
        if len(self.times) < self.limit:
            return 0.0
        return max(0.0, self.times[0] + self.period - now)

    def record(self, now: float) -> None:
        self.times.append(now)  # maxlen drops the oldest


@dataclass(eq=False)
class _Chat:
    id: int
    type: str
    api: JSON  # the Bot API Chat object
    transcript: list[Entry] = field(default_factory=list)
    messages: dict[int, Entry] = field(default_factory=dict)
    out: list[Entry] = field(default_factory=list)  # bot messages, by message_id
    next_message_id: int = 1
    signal: _Signal = field(default_factory=_Signal)
    window: _Window | None = None
    menu_button: JSON | None = None

    def allocate_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass(slots=True)
class _Update:
    update_id: int
    kind: str
    payload: JSON


@dataclass
class _Fault:
    status: int
    description: str
    retry_after: int | None
    remaining: int
    chat_id: int | None


@dataclass
class _PendingQuery:
    entry: Entry
    future: asyncio.Future[CallbackAnswer]
    chat: _Chat


def _message_id(entry: Entry) -> int:
    return entry.message_id


def _utf16_len(text: str) -> int:
    """Telegram measures text in UTF-16 code units (an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def _timestamp(when: dt.datetime) -> int:
    return int(when.timestamp())


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, GIF or JPEG from its header; (0, 0) if unknown."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data) and data[i] == 0xFF:
            marker = data[i + 1]
            if marker == 0xD8 or marker == 0x01 or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height = int.from_bytes(data[i + 5 : i + 7], "big")
                width = int.from_bytes(data[i + 7 : i + 9], "big")
                return width, height
            i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return 0, 0


def _parse_markup(value: Any) -> tuple[JSON | None, list[tuple[str, str]]]:
    """Validates reply_markup like Telegram; returns it and its buttons as (text, data/url)."""
    if value is None:
        return None, []
    if not isinstance(value, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    buttons: list[tuple[str, str]] = []
    if "inline_keyboard" in value:
        rows = value["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise ApiError(
                400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be '
                "an Array of Arrays"
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
                if "callback_data" in button:
                    data = str(button["callback_data"])
                    if not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                    buttons.append((str(button["text"]), data))
                elif "url" in button:
                    url = str(button["url"])
                    if not url.startswith(("http://", "https://", "tg://")):
                        raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
                    buttons.append((str(button["text"]), url))
                elif any(action in button for action in _BUTTON_ACTIONS):
                    buttons.append((str(button["text"]), ""))
                else:
                    raise ApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
    elif "keyboard" in value:
        for row in value["keyboard"]:
            for button in row:
                text = button if isinstance(button, str) else str(button.get("text", ""))
                buttons.append((text, text))
    return value, buttons


def _inline(markup: JSON | None) -> JSON | None:
    """Only inline keyboards are part of a Message; reply keyboards live on the client."""
    return markup if markup is not None and "inline_keyboard" in markup else None


def _error_response(
    status: int, description: str, retry_after: int | None = None
) -> web.Response:
    body: JSON = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.Response(status=status, body=json.dumps(body), content_type="application/json")


def _ok(result: Any) -> web.Response:
    return web.Response(
        body=json.dumps({"ok": True, "result": result}), content_type="application/json"
    )


async def _read_params(request: web.Request) -> Params:
    values: dict[str, Any] = dict(request.query)
    files: dict[str, Upload] = {}
    if not request.can_read_body:
        return Params(values, files)
    ctype = request.content_type
    try:
        if ctype == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: the request body must be a JSON object")
            values.update(body)
        elif ctype == "multipart/form-data":
            # Read parts straight into memory; request.post() would spool files to disk.
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    files[part.name] = Upload(
                        part.name, part.filename,
                        part.headers.get(aiohttp.hdrs.CONTENT_TYPE, "application/octet-stream"),
                        bytes(await part.read()),
                    )
                else:
                    values[part.name] = await part.text()
        else:
            values.update(parse_qsl(await request.text(), keep_blank_values=True))
    except (ValueError, UnicodeDecodeError, aiohttp.ClientError):
        raise ApiError(400, "Bad Request: can't parse the request") from None
    return Params(values, files)


class Sandbox:
    """An in-process Telegram Bot API on loopback. Use `async with Sandbox() as sb:`.

    Point the bot at `base_url`/`base_file_url`; create users with `user()` and let them talk
    (see `SandboxUser`); read what the bot said with `transcript()`/`bot_messages()` or wait
    for it with `wait_for_bot_message()`.

    Every message, press, edit and deletion gets the next number of one sandbox-wide counter
    (`Entry.seq`, `last_seq`); with `keep_changes=True` the sandbox also keeps them, with the
    state each left, in `changes()`: one exact order across chats.
    """

    def __init__(
        self,
        token: str = "123456:SANDBOX-TOKEN",
        *,
        bot_username: str = "studybot_sandbox_bot",
        host: str = "127.0.0.1",
        port: int = 0,
        now: Callable[[], dt.datetime] | None = None,
        enforce_rate_limits: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
        keep_changes: bool = False,
    ) -> None:
        bot_id, sep, _ = token.partition(":")
        if not sep or not bot_id.isdigit():
            raise ValueError("token must look like '<bot id>:<secret>'")
        if not _is_loopback(host):
            raise ValueError("the sandbox only listens on loopback addresses")
        self.token = token
        self.bot_username = bot_username
        self.bot_id = int(bot_id)
        self.host = host
        self.port = port
        self.enforce_rate_limits = enforce_rate_limits
        self.stats = SandboxStats()
        self._now: Callable[[], dt.datetime] = now or (lambda: dt.datetime.now(dt.UTC))
        self._monotonic = monotonic
        self._bot_user: JSON = {
            "id": self.bot_id, "is_bot": True, "first_name": "StudyBot",
            "username": bot_username,
        }
        self._users: dict[int, SandboxUser] = {}
        self._groups: dict[int, SandboxGroup] = {}
        self._chats: dict[int, _Chat] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_seq = itertools.count(1)
        self._media_group_seq = itertools.count(1)
        self._query_seq = itertools.count(1)
        self._seq = 0  # the last number given to a change, in any chat
        # Off by default: a snapshot per change is memory a load benchmark need not spend.
        self._changes: list[Change] | None = [] if keep_changes else None
        self._queries: dict[str, _PendingQuery] = {}
        # Updates wait here until confirmed (getUpdates offset) or delivered (webhook).
        self._updates: deque[_Update] = deque()
        self._update_seq = itertools.count(1)
        self._updates_event = asyncio.Event()
        self._poll_generation = 0
        self._polls_waiting = 0  # getUpdates calls parked waiting for an update
        self._poll_signal = _Signal()
        self._allowed_updates: frozenset[str] | None = None  # None: Telegram's default set
        self._webhook_url = ""
        self._webhook_secret: str | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._commands: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._default_menu_button: JSON = {"type": "commands"}
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, float] = {}
        self._global_window = _Window(*GLOBAL_RATE)
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._busy = 0
        self._last_activity = time.monotonic()
        self._methods: dict[str, tuple[str, Method]] = {
            name.lower(): (name, impl)
            for name, impl in (
                ("getMe", self._get_me),
                ("getUpdates", self._get_updates),
                ("setWebhook", self._set_webhook),
                ("deleteWebhook", self._delete_webhook),
                ("getWebhookInfo", self._get_webhook_info),
                ("sendMessage", self._send_message),
                ("sendPhoto", self._send_photo),
                ("sendDocument", self._send_document),
                ("sendMediaGroup", self._send_media_group),
                ("editMessageText", self._edit_message_text),
                ("editMessageCaption", self._edit_message_caption),
                ("editMessageReplyMarkup", self._edit_message_reply_markup),
                ("deleteMessage", self._delete_message),
                ("answerCallbackQuery", self._answer_callback_query),
                ("getFile", self._get_file),
                ("setMyCommands", self._set_my_commands),
                ("getMyCommands", self._get_my_commands),
                ("deleteMyCommands", self._delete_my_commands),
                ("setChatMenuButton", self._set_chat_menu_button),
                ("getChatMenuButton", self._get_chat_menu_button),
                ("sendChatAction", self._send_chat_action),
                ("getChat", self._get_chat),
                ("close", self._true),
                ("logOut", self._true),
            )
        }

    # ----------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        return f"http://{self._url_host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self._url_host}:{self.port}/file/bot"

    @property
    def _url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    async def start(self) -> None:
        if self._runner is not None:
            return
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        # handler_cancellation: a long poll whose client went away stops at once instead of
        # holding the update queue; access_log=None: no log line per request.
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self._closing = False
        address = runner.addresses[0]
        self.port = int(address[1])

    async def stop(self) -> None:
        self._closing = True
        self._updates_event.set()  # long polls answer now instead of at their timeout
        await self._stop_webhook()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------- people, chats

    def user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh",
        started: bool = True,
    ) -> SandboxUser:
        """The simulated user `user_id` (its private chat has the same id); created once,
        later calls return the same object unchanged. `started=False`: the user never opened
        the bot, so the bot cannot write first (403) until the user sends something."""
        existing = self._users.get(user_id)
        if existing is not None:
            return existing
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = SandboxUser(
            self, user_id, first_name, last_name=last_name, username=username,
            language_code=language_code, started=started,
        )
        self._users[user_id] = user
        chat_api: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            chat_api["last_name"] = last_name
        if username:
            chat_api["username"] = username
        self._chats[user_id] = _Chat(user_id, "private", chat_api)
        return user

    def group(
        self, chat_id: int, title: str, members: Iterable[SandboxUser] = ()
    ) -> SandboxGroup:
        """A group the bot is a member of (negative id; <= -10**12 makes a supergroup)."""
        existing = self._groups.get(chat_id)
        if existing is None:
            if chat_id >= 0:
                raise ValueError("group ids are negative")
            kind = "supergroup" if chat_id <= -(10**12) else "group"
            existing = SandboxGroup(self, chat_id, title)
            self._groups[chat_id] = existing
            self._chats[chat_id] = _Chat(chat_id, kind, {"id": chat_id, "type": kind,
                                                         "title": title})
        for member in members:
            existing.members[member.id] = member
        return existing

    def get_user(self, user_id: int) -> SandboxUser | None:
        return self._users.get(user_id)

    def chat_name(self, chat_id: int) -> str:
        """A user's first name or a group's title (the chat id if unknown)."""
        if chat_id in self._users:
            return self._users[chat_id].first_name
        if chat_id in self._groups:
            return self._groups[chat_id].title
        return str(chat_id)

    def transcript(self, chat_id: int) -> list[Entry]:
        """Everything in the chat, both directions, in order (a copy of the list)."""
        chat = self._chats.get(chat_id)
        return list(chat.transcript) if chat is not None else []

    @property
    def last_seq(self) -> int:
        """The number of the latest change in any chat (0 before the first)."""
        return self._seq

    def changes(self, after: int = 0) -> list[Change]:
        """The changes numbered above `after`, in order (needs `keep_changes=True`)."""
        if self._changes is None:
            raise SandboxError("changes are only kept by Sandbox(keep_changes=True)")
        start = bisect.bisect_right(self._changes, after, key=lambda change: change.seq)
        return self._changes[start:]

    def _happened(self, kind: ChangeKind, entry: Entry) -> None:
        """Numbers a change the moment it happens (and keeps it, when asked to)."""
        self._seq += 1
        if kind == "sent":
            entry.seq = self._seq
        if self._changes is not None:
            state = entry if entry.kind == "callback" else snapshot(entry)
            self._changes.append(Change(self._seq, kind, entry, state))

    async def before_action(self) -> None:
        """Awaited before every simulated user action; a hook for subclasses (the demo
        delivers the bot's pending notifications there, so its transcript reads in cause
        order). The sandbox itself does nothing."""

    def bot_messages(self, chat_id: int) -> list[Entry]:
        chat = self._chats.get(chat_id)
        return list(chat.out) if chat is not None else []

    def commands_for(
        self, chat_id: int | None = None, *, language_code: str = ""
    ) -> list[tuple[str, str]]:
        """The commands the bot set for BotCommandScopeChat(chat_id), or for the default
        scope when chat_id is None; [] when none were set."""
        key = "default" if chat_id is None else f"chat:{chat_id}"
        return list(self._commands.get((key, language_code), []))

    def menu_button(self, chat_id: int | None = None) -> JSON:
        """The menu button set for a chat (or the default one)."""
        if chat_id is not None:
            chat = self._chats.get(chat_id)
            if chat is not None and chat.menu_button is not None:
                return chat.menu_button
        return self._default_menu_button

    def file(self, file_id: str) -> StoredFile | None:
        return self._files.get(file_id)

    # ----------------------------------------------------------------- faults

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """The next `times` calls of `method` (to `chat_id` only, if given) fail with `status`.
        429 always carries retry_after (default 1 s)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            elif status == 403:
                description = "Forbidden: bot was blocked by the user"
            elif status == 400:
                description = "Bad Request: injected failure"
            else:
                try:
                    description = HTTPStatus(status).phrase
                except ValueError:
                    description = f"Error {status}"
        fault = _Fault(status, description, retry_after, times, chat_id)
        self._faults.setdefault(method.lower(), []).append(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    def block(self, user_id: int, *, notify: bool = True) -> None:
        """The user blocks the bot: sends to the chat answer 403 until `unblock`. With notify,
        the bot gets the my_chat_member update Telegram sends ("kicked")."""
        user = self._users[user_id]
        if not user.blocked:
            user.blocked = True
            if notify:
                self._my_chat_member(user, "member", "kicked")

    def unblock(self, user_id: int, *, notify: bool = True) -> None:
        user = self._users[user_id]
        if user.blocked:
            user.blocked = False
            if notify:
                self._my_chat_member(user, "kicked", "member")

    def set_delay(self, method: str | None, seconds: float) -> None:
        """Answers to `method` (all methods when None) come `seconds` late; 0 removes."""
        key = "*" if method is None else method.lower()
        if seconds > 0:
            self._delays[key] = seconds
        else:
            self._delays.pop(key, None)

    # ----------------------------------------------------------------- waiting

    async def wait_for_bot_message(
        self,
        chat_id: int,
        predicate: Callable[[Entry], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
        after: int = 0,
    ) -> Entry:
        """The first bot message in the chat with message_id > `after` that satisfies
        `predicate` (checked on its current state, so edits count), waiting for it if needed.
        Raises SandboxTimeout (an AssertionError) with the chat's tail after `timeout` s."""
        chat = self._chats.get(chat_id)
        if chat is None:
            raise SandboxError(f"unknown chat {chat_id}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            start = bisect.bisect_right(chat.out, after, key=_message_id)
            for index in range(start, len(chat.out)):
                entry = chat.out[index]
                if predicate is None or predicate(entry):
                    return entry
            remaining = deadline - loop.time()
            if remaining <= 0:
                what = "a matching bot message" if predicate else "a bot message"
                raise SandboxTimeout(
                    f"waited {timeout:g}s for {what} in chat {chat_id} after message "
                    f"#{after}; the chat ends with:\n{self.tail(chat_id)}"
                )
            try:
                await chat.signal.wait(remaining)
            except TimeoutError:
                pass

    async def wait_polling(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Returns once a getUpdates long poll is parked waiting for updates (the bot is
        ready to receive); raises SandboxTimeout otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._polls_waiting == 0:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise SandboxTimeout(f"no getUpdates long poll within {timeout:g}s")
            try:
                await self._poll_signal.wait(remaining)
            except TimeoutError:
                pass

    def tail(self, chat_id: int, count: int = 8) -> str:
        """The last entries of a chat, rendered (for failure messages)."""
        chat = self._chats.get(chat_id)
        if chat is None or not chat.transcript:
            return "  (empty)"
        lines: list[str] = []
        for entry in chat.transcript[-count:]:
            lines.extend(render_entry(entry))
        return "\n".join(lines)

    async def wait_idle(
        self, quiet: float = 0.2, timeout: float = 30.0  # noqa: ASYNC109
    ) -> None:
        """For the demo and benchmarks only (uses wall time): returns once no update is
        pending and no request but long polls arrived or ran for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            idle = now - self._last_activity
            if self._busy == 0 and not self._updates and idle >= quiet:
                return
            if now >= deadline:
                raise SandboxTimeout(f"the bot was still busy after {timeout:g}s")
            await asyncio.sleep(max(quiet - idle, 0.01))

    # ---------------------------------------------- what simulated users do

    def store_file(
        self,
        data: bytes,
        kind: str,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
    ) -> StoredFile:
        """Keeps a file by a new file_id. `file_size` overrides the reported size (to simulate
        a big file without its bytes)."""
        n = next(self._file_seq)
        suffix = ""
        if kind == "photo":
            suffix = ".jpg"
        elif file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1][:10]
        folder = "photos" if kind == "photo" else "documents"
        width, height = _image_size(data) if kind == "photo" else (0, 0)
        stored = StoredFile(
            file_id=f"SBX{kind[:3].upper()}{n:08d}",
            file_unique_id=f"SBXU{n:08d}",
            file_path=f"{folder}/file_{n}{suffix}",
            kind=kind,
            data=data,
            file_size=len(data) if file_size is None else file_size,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def media_json(stored: StoredFile) -> Any:
        """The Bot API object for a stored file: [PhotoSize] for photos, else a Document."""
        if stored.kind == "photo":
            return [
                {
                    "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                    "width": stored.width, "height": stored.height,
                    "file_size": stored.file_size,
                }
            ]
        doc: JSON = {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
        }
        if stored.file_name:
            doc["file_name"] = stored.file_name
        if stored.mime_type:
            doc["mime_type"] = stored.mime_type
        return doc

    def inject_message(
        self,
        user: SandboxUser,
        chat_id: int,
        content: JSON,
        *,
        date: dt.datetime | None = None,
        forward_from: SandboxUser | str | None = None,
        reply_to: Entry | None = None,
        **fields: Any,
    ) -> Entry:
        """Low level: `user` posts a message with Bot API `content` (text/photo/...) in the
        chat; records it and queues the update. `fields` go to the Entry."""
        chat = self._chats.get(chat_id)
        if chat is None:
            raise SandboxError(f"unknown chat {chat_id}")
        if chat.type == "private":
            if chat_id != user.id:
                raise SandboxError(f"user {user.id} cannot post in the private chat {chat_id}")
            # Writing to the bot starts the conversation; a Telegram client makes you unblock
            # a bot before you can write to it.
            user.started = True
            if user.blocked:
                self.unblock(user.id)
        else:
            self._groups[chat_id].members.setdefault(user.id, user)
        when = date or self._now()
        message_id = chat.allocate_id()
        raw: JSON = {
            "message_id": message_id, "from": user.api, "chat": chat.api,
            "date": _timestamp(when), **content,
        }
        if forward_from is not None:
            origin: JSON = {"date": _timestamp(when)}
            if isinstance(forward_from, str):
                origin.update(type="hidden_user", sender_user_name=forward_from)
            else:
                origin.update(type="user", sender_user=forward_from.api)
            raw["forward_origin"] = origin
            fields["forwarded"] = True
        if reply_to is not None:
            raw["reply_to_message"] = self._quoted(reply_to)
            fields["reply_to"] = reply_to.message_id
        entry = Entry("in", chat_id, message_id, user.id, when, raw=raw, **fields)
        chat.transcript.append(entry)
        chat.messages[message_id] = entry
        self._happened("sent", entry)
        self._enqueue("message", {"message": raw})
        return entry

    def inject_callback(
        self, user: SandboxUser, message: Entry, data: str, label: str
    ) -> tuple[Entry, asyncio.Future[CallbackAnswer]]:
        """Low level: `user` presses a button with `data` on `message`; the future resolves
        with the bot's answerCallbackQuery."""
        chat = self._chats.get(message.chat_id)
        if chat is None or chat.messages.get(message.message_id) is not message:
            raise SandboxError("that message is not in this sandbox")
        if message.deleted:
            raise SandboxError(f"message #{message.message_id} was deleted")
        query_id = str(next(self._query_seq))
        entry = Entry(
            "in", chat.id, message.message_id, user.id, self._now(), kind="callback",
            text=label, callback_data=data, callback_query_id=query_id,
        )
        chat.transcript.append(entry)
        self._happened("sent", entry)
        future: asyncio.Future[CallbackAnswer] = asyncio.get_running_loop().create_future()
        self._queries[query_id] = _PendingQuery(entry, future, chat)
        self._enqueue(
            "callback_query",
            {
                "callback_query": {
                    "id": query_id, "from": user.api, "message": message.raw,
                    "chat_instance": f"ci{chat.id}", "data": data,
                }
            },
        )
        return entry, future

    def forget_query(self, query_id: str) -> None:
        """Expires a pending button press: a late answer then fails like Telegram's."""
        self._queries.pop(query_id, None)

    def _quoted(self, entry: Entry) -> JSON:
        # A replied-to message is embedded without its own reply (Telegram nests one level).
        return {k: v for k, v in entry.raw.items() if k != "reply_to_message"}

    def _my_chat_member(self, user: SandboxUser, old: str, new: str) -> None:
        chat = self._chats[user.id]
        when = _timestamp(self._now())
        self._enqueue(
            "my_chat_member",
            {
                "my_chat_member": {
                    "chat": chat.api, "from": user.api, "date": when,
                    "old_chat_member": {"status": old, "user": self._bot_user},
                    "new_chat_member": (
                        {"status": "kicked", "user": self._bot_user, "until_date": 0}
                        if new == "kicked" else {"status": new, "user": self._bot_user}
                    ),
                }
            },
        )

    def _enqueue(self, kind: str, body: JSON) -> None:
        if self._allowed_updates is not None and kind not in self._allowed_updates:
            return  # Telegram does not create updates of kinds the bot opted out of
        update_id = next(self._update_seq)
        self._updates.append(_Update(update_id, kind, {"update_id": update_id, **body}))
        self.stats.updates += 1
        self._last_activity = time.monotonic()
        self._updates_event.set()

    # ------------------------------------------------------------------ HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error_response(401, "Unauthorized")
        found = self._methods.get(request.match_info["method"].lower())
        if found is None:
            return _error_response(404, "Not Found: method not found")
        name, impl = found
        polling = name == "getUpdates"
        if not polling:
            self._busy += 1
        try:
            try:
                params = await _read_params(request)
            except ApiError as exc:
                return self._error(exc)
            self.stats.requests[name] += 1
            key = name.lower()
            delay = self._delays.get(key, self._delays.get("*", 0.0))
            if delay > 0:
                await asyncio.sleep(delay)  # a deliberately slow answer (set_delay)
            if self._faults:
                injected = self._take_fault(key, params)
                if injected is not None:
                    return injected
            try:
                return _ok(await impl(params))
            except ApiError as exc:
                return self._error(exc)
        finally:
            if not polling:
                self._busy -= 1
                self._last_activity = time.monotonic()

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error_response(401, "Unauthorized")
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None or stored.data is None:
            return _error_response(404, "Not Found")
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    def _take_fault(self, key: str, params: Params) -> web.Response | None:
        faults = self._faults.get(key)
        if not faults:
            return None
        chat = params.values.get("chat_id")
        for index, fault in enumerate(faults):
            if fault.chat_id is not None and str(fault.chat_id) != str(chat):
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                del faults[index]
            self.stats.injected += 1
            if fault.status >= 500:
                self.stats.injected_5xx += 1
            return self._error(ApiError(fault.status, fault.description, fault.retry_after))
        return None

    def _error(self, exc: ApiError) -> web.Response:
        if exc.status == 429:
            self.stats.rate_limited += 1
        elif exc.status == 403:
            self.stats.forbidden += 1
        elif exc.status == 400:
            self.stats.bad_requests += 1
        return _error_response(exc.status, exc.description, exc.retry_after)

    # ------------------------------------------------------------ chat checks

    def _writable_chat(self, chat_id: int) -> _Chat:
        """The chat the bot wants to write to, or Telegram's refusal."""
        if chat_id > 0:
            user = self._users.get(chat_id)
            if user is None or not user.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            if user.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _check_rate(self, chat: _Chat) -> None:
        if not self.enforce_rate_limits:
            return
        now = self._monotonic()
        if chat.window is None:
            chat.window = _Window(*(PRIVATE_RATE if chat.type == "private" else GROUP_RATE))
        wait = max(self._global_window.wait(now), chat.window.wait(now))
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        self._global_window.record(now)
        chat.window.record(now)

    def _reply_target(self, chat: _Chat, p: Params) -> int | None:
        reply = p.obj("reply_parameters")
        allow = p.flag("allow_sending_without_reply")
        if isinstance(reply, dict):
            target = reply.get("message_id")
            allow = allow or bool(reply.get("allow_sending_without_reply"))
        else:
            target = p.integer("reply_to_message_id")
        if target is None:
            return None
        entry = chat.messages.get(int(target))
        if entry is None or entry.deleted:
            if allow:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return entry.message_id

    def _text(self, p: Params, name: str, limit: int, *, required: bool) -> tuple[str, str]:
        """(plain text, source) of a text or caption parameter, validated like Telegram."""
        source = p.text(name) or ""
        parse_mode = p.text("parse_mode")
        text = apply_parse_mode(source, parse_mode) if source else ""
        if required and not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > limit:
            if name == "caption":
                raise ApiError(400, "Bad Request: message caption is too long")
            raise ApiError(400, "Bad Request: message is too long")
        return text, source

    def _input_file(self, p: Params, name: str, kind: str) -> StoredFile:
        value = p.values.get(name)
        if value is None:
            upload = p.files.get(name)
            if upload is None:
                raise ApiError(400, f"Bad Request: there is no {name} in the request")
            return self._store_upload(upload, kind)
        return self._file_ref(str(value), p, kind)

    def _file_ref(self, ref: str, p: Params, kind: str) -> StoredFile:
        if ref.startswith("attach://"):
            upload = p.files.get(ref[len("attach://"):])
            if upload is None:
                raise ApiError(400, f"Bad Request: file {ref} not found in the request")
            return self._store_upload(upload, kind)
        if ref.startswith(("http://", "https://")):
            # The sandbox never fetches anything from the network.
            raise ApiError(400, "Bad Request: failed to get HTTP URL content")
        stored = self._files.get(ref)
        if stored is None:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise ApiError(
                400, f"Bad Request: can't use file of type {stored.kind.title()} as "
                f"{kind.title()}"
            )
        return stored

    def _store_upload(self, upload: Upload, kind: str) -> StoredFile:
        return self.store_file(
            upload.data, kind, file_name=upload.filename, mime_type=upload.content_type
        )

    def _record_out(self, chat: _Chat, content: JSON, **fields: Any) -> Entry:
        """Records a bot message; returns its Entry (with `raw`, the Message to answer)."""
        when = self._now()
        message_id = chat.allocate_id()
        raw: JSON = {
            "message_id": message_id, "from": self._bot_user, "chat": chat.api,
            "date": _timestamp(when), **content,
        }
        markup = _inline(fields.get("reply_markup"))
        if markup is not None:
            raw["reply_markup"] = markup
        reply_to = fields.get("reply_to")
        if reply_to is not None:
            raw["reply_to_message"] = self._quoted(chat.messages[reply_to])
        entry = Entry("out", chat.id, message_id, self.bot_id, when, raw=raw, **fields)
        chat.transcript.append(entry)
        chat.messages[message_id] = entry
        chat.out.append(entry)
        self._happened("sent", entry)
        self.stats.sent_messages += 1
        chat.signal.notify()
        return entry

    # --------------------------------------------------------------- methods

    async def _true(self, p: Params) -> bool:
        return True

    async def _get_me(self, p: Params) -> JSON:
        return {
            **self._bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, p: Params) -> list[JSON]:
        offset = p.integer("offset") or 0
        limit = min(max(p.integer("limit") or 100, 1), 100)
        timeout = max(p.number("timeout") or 0.0, 0.0)
        allowed = p.obj("allowed_updates")
        if allowed is not None:
            self._set_allowed(allowed)
        if self._webhook_url:
            raise ApiError(
                409, "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first"
            )
        # Confirming: updates before `offset` are forgotten (negative: keep the last -offset).
        updates = self._updates
        if offset > 0:
            while updates and updates[0].update_id < offset:
                updates.popleft()
        elif offset < 0:
            while len(updates) > -offset:
                updates.popleft()
        # Like Telegram, a newer getUpdates ends an older one still waiting (409 Conflict).
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_event.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409, "Conflict: terminated by other getUpdates request; make sure that "
                    "only one bot instance is running"
                )
            if self._webhook_url:
                raise ApiError(409, "Conflict: webhook was set while polling")
            if updates or self._closing:
                return [u.payload for u in itertools.islice(updates, limit)]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            self._updates_event.clear()
            self._polls_waiting += 1
            self._poll_signal.notify()
            try:
                await asyncio.wait_for(self._updates_event.wait(), remaining)
            except TimeoutError:
                pass
            finally:
                self._polls_waiting -= 1

    def _set_allowed(self, allowed: Any) -> None:
        if not isinstance(allowed, list):
            raise ApiError(400, "Bad Request: can't parse allowed_updates JSON object")
        # An empty list means Telegram's default: everything this sandbox produces.
        self._allowed_updates = frozenset(str(a) for a in allowed) if allowed else None
        if self._allowed_updates is not None:
            kept = [u for u in self._updates if u.kind in self._allowed_updates]
            if len(kept) != len(self._updates):
                self._updates = deque(kept)

    async def _set_webhook(self, p: Params) -> bool:
        url = p.text("url") or ""
        if not url:
            await self._drop_webhook(p.flag("drop_pending_updates"))
            return True
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not _is_loopback(parts.hostname):
            raise ApiError(
                400, "Bad Request: bad webhook: the sandbox only delivers to loopback addresses"
            )
        secret = p.text("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        allowed = p.obj("allowed_updates")
        if allowed is not None:
            self._set_allowed(allowed)
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        await self._stop_webhook()
        self._webhook_url = url
        self._webhook_secret = secret
        self._webhook_error = None
        self._updates_event.set()  # a waiting long poll now answers 409
        self._webhook_task = asyncio.create_task(self._webhook_loop(), name="sandbox-webhook")
        return True

    async def _delete_webhook(self, p: Params) -> bool:
        await self._drop_webhook(p.flag("drop_pending_updates"))
        return True

    async def _drop_webhook(self, drop_pending: bool) -> None:
        await self._stop_webhook()
        self._webhook_url = ""
        self._webhook_secret = None
        if drop_pending:
            self._updates.clear()

    async def _stop_webhook(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _get_webhook_info(self, p: Params) -> JSON:
        info: JSON = {
            "url": self._webhook_url, "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook_url:
            info["max_connections"] = 40
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _webhook_loop(self) -> None:
        """Posts queued updates to the webhook one at a time, in order, retrying failures."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                trust_env=False, timeout=aiohttp.ClientTimeout(total=10)
            )
        session = self._session
        url = self._webhook_url
        headers = {"Content-Type": "application/json"}
        if self._webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self._webhook_secret
        failures = 0
        while not self._closing:
            if not self._updates:
                self._updates_event.clear()
                await self._updates_event.wait()
                continue
            update = self._updates[0]
            error = ""
            try:
                async with session.post(
                    url, data=json.dumps(update.payload), headers=headers
                ) as resp:
                    await resp.read()
                    if not 200 <= resp.status < 300:
                        error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"Connection failed: {exc!r}"
            if not error:
                failures = 0
                self.stats.webhook_posts += 1
                if self._updates and self._updates[0] is update:
                    self._updates.popleft()
                continue
            failures += 1
            self.stats.webhook_failures += 1
            self._webhook_error = (_timestamp(self._now()), error)
            log.warning("sandbox webhook delivery failed: %s", error)
            # Telegram retries with growing pauses; short ones here keep tests quick.
            await asyncio.sleep(min(0.05 * 2**failures, 2.0))

    async def _send_message(self, p: Params) -> JSON:
        chat = self._writable_chat(p.chat_id())
        text, source = self._text(p, "text", MAX_TEXT, required=True)
        markup, buttons = _parse_markup(p.obj("reply_markup"))
        reply_to = self._reply_target(chat, p)
        self._check_rate(chat)
        content: JSON = {"text": text}
        entities = p.obj("entities")
        if entities:
            content["entities"] = entities
        entry = self._record_out(
            chat, content, kind="text", text=text, source=source,
            parse_mode=p.text("parse_mode"), reply_markup=markup, buttons=buttons,
            reply_to=reply_to,
        )
        return entry.raw

    async def _send_photo(self, p: Params) -> JSON:
        return await self._send_file(p, "photo")

    async def _send_document(self, p: Params) -> JSON:
        return await self._send_file(p, "document")

    async def _send_file(self, p: Params, kind: str) -> JSON:
        chat = self._writable_chat(p.chat_id())
        caption, source = self._text(p, "caption", MAX_CAPTION, required=False)
        markup, buttons = _parse_markup(p.obj("reply_markup"))
        reply_to = self._reply_target(chat, p)
        stored = self._input_file(p, kind, kind)
        self._check_rate(chat)
        content: JSON = {kind: self.media_json(stored)}
        if caption:
            content["caption"] = caption
        entry = self._record_out(
            chat, content, kind=kind, text=caption, source=source,
            parse_mode=p.text("parse_mode"), reply_markup=markup, buttons=buttons,
            reply_to=reply_to, **self._file_fields(stored),
        )
        return entry.raw

    @staticmethod
    def _file_fields(stored: StoredFile) -> JSON:
        return {
            "media_type": stored.kind, "file_id": stored.file_id, "file_bytes": stored.data,
            "file_name": stored.file_name, "file_size": stored.file_size,
            "mime_type": stored.mime_type,
        }

    async def _send_media_group(self, p: Params) -> list[JSON]:
        chat = self._writable_chat(p.chat_id())
        media = p.obj("media")
        if not isinstance(media, list) or not all(isinstance(m, dict) for m in media):
            raise ApiError(400, "Bad Request: can't parse media JSON object")
        if not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: media group must contain 2-10 items")
        kinds = {str(m.get("type")) for m in media}
        unsupported = kinds - {"photo", "document"}
        if unsupported:
            raise ApiError(
                400, f"Bad Request: the sandbox does not emulate {sorted(unsupported)[0]} media"
            )
        if len(kinds) > 1:
            raise ApiError(400, "Bad Request: document can't be mixed with other media types")
        # Validate every item before any message exists: Telegram sends all or nothing.
        items: list[tuple[StoredFile, str, str, str | None]] = []
        for item in media:
            kind = str(item["type"])
            source = str(item.get("caption") or "")
            parse_mode = item.get("parse_mode")
            caption = apply_parse_mode(source, parse_mode) if source else ""
            if _utf16_len(caption) > MAX_CAPTION:
                raise ApiError(400, "Bad Request: message caption is too long")
            ref = item.get("media")
            if not isinstance(ref, str):
                raise ApiError(400, "Bad Request: there is no media in the request")
            items.append((self._file_ref(ref, p, kind), caption, source, parse_mode))
        reply_to = self._reply_target(chat, p)
        self._check_rate(chat)
        group_id = str(13_000_000_000_000_000 + next(self._media_group_seq))
        results: list[JSON] = []
        for stored, caption, source, parse_mode in items:
            content: JSON = {stored.kind: self.media_json(stored), "media_group_id": group_id}
            if caption:
                content["caption"] = caption
            entry = self._record_out(
                chat, content, kind="media_group_item", text=caption, source=source,
                parse_mode=parse_mode, media_group_id=group_id, reply_to=reply_to,
                **self._file_fields(stored),
            )
            results.append(entry.raw)
        return results

    def _editable(self, p: Params) -> tuple[_Chat, Entry]:
        if p.values.get("inline_message_id"):
            raise ApiError(400, "Bad Request: the sandbox does not emulate inline messages")
        chat = self._writable_chat(p.chat_id())
        message_id = p.integer("message_id")
        if message_id is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        entry = chat.messages.get(message_id)
        if entry is None or entry.deleted:
            raise ApiError(400, "Bad Request: message to edit not found")
        if entry.direction != "out":
            raise ApiError(400, "Bad Request: message can't be edited")
        return chat, entry

    def _apply_edit(
        self, chat: _Chat, entry: Entry, content: JSON, markup: JSON | None,
        buttons: list[tuple[str, str]], drop: tuple[str, ...] = (), **fields: Any,
    ) -> JSON:
        """Changes a bot message in place; `drop` lists Message fields the edit replaces."""
        entry.history.append(entry.text)
        old_keyboard = _inline(entry.reply_markup)
        if old_keyboard is not None and old_keyboard != _inline(markup):
            entry.past_keyboards.append(old_keyboard)
        for name, value in fields.items():
            setattr(entry, name, value)
        entry.reply_markup = markup
        entry.buttons = buttons
        # A new dict, not an update in place: updates already queued keep the old state.
        raw = {k: v for k, v in entry.raw.items() if k != "reply_markup" and k not in drop}
        raw.update(content)
        raw["edit_date"] = _timestamp(self._now())
        inline = _inline(markup)
        if inline is not None:
            raw["reply_markup"] = inline
        entry.raw = raw
        self._happened("edited", entry)
        self.stats.edits += 1
        chat.signal.notify()
        return raw

    @staticmethod
    def _not_modified() -> ApiError:
        return ApiError(
            400, "Bad Request: message is not modified: specified new message content and "
            "reply markup are exactly the same as a current content and reply markup of the "
            "message"
        )

    async def _edit_message_text(self, p: Params) -> JSON:
        chat, entry = self._editable(p)
        if entry.media_type is not None or entry.location is not None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text, source = self._text(p, "text", MAX_TEXT, required=True)
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        markup, buttons = _parse_markup(p.obj("reply_markup"))
        if text == entry.text and _inline(markup) == _inline(entry.reply_markup):
            raise self._not_modified()
        self._check_rate(chat)
        return self._apply_edit(
            chat, entry, {"text": text}, markup, buttons, drop=("text", "entities"),
            text=text, source=source, parse_mode=p.text("parse_mode"),
        )

    async def _edit_message_caption(self, p: Params) -> JSON:
        chat, entry = self._editable(p)
        if entry.media_type is None:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption, source = self._text(p, "caption", MAX_CAPTION, required=False)
        markup, buttons = _parse_markup(p.obj("reply_markup"))
        if caption == entry.text and _inline(markup) == _inline(entry.reply_markup):
            raise self._not_modified()
        self._check_rate(chat)
        content: JSON = {"caption": caption} if caption else {}
        return self._apply_edit(
            chat, entry, content, markup, buttons, drop=("caption", "caption_entities"),
            text=caption, source=source, parse_mode=p.text("parse_mode"),
        )

    async def _edit_message_reply_markup(self, p: Params) -> JSON:
        chat, entry = self._editable(p)
        markup, buttons = _parse_markup(p.obj("reply_markup"))
        if _inline(markup) == _inline(entry.reply_markup):
            raise self._not_modified()
        self._check_rate(chat)
        return self._apply_edit(chat, entry, {}, markup, buttons)

    async def _delete_message(self, p: Params) -> bool:
        chat = self._chats.get(p.chat_id())
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        message_id = p.integer("message_id")
        entry = chat.messages.get(message_id) if message_id is not None else None
        if entry is None or entry.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        entry.deleted = True
        self._happened("deleted", entry)
        chat.signal.notify()
        return True

    async def _answer_callback_query(self, p: Params) -> bool:
        query_id = p.text("callback_query_id") or ""
        text = p.text("text")
        if text is not None and len(text) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        pending = self._queries.pop(query_id, None)
        if pending is None:
            raise ApiError(
                400, "Bad Request: query is too old and response timeout expired or query ID "
                "is invalid"
            )
        answer = CallbackAnswer(text or None, p.flag("show_alert"))
        pending.entry.answer = answer
        pending.entry.answer_url = p.text("url")
        if not pending.future.done():
            pending.future.set_result(answer)
        pending.chat.signal.notify()
        return True

    async def _get_file(self, p: Params) -> JSON:
        stored = self._files.get(p.text("file_id") or "")
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.file_size > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size, "file_path": stored.file_path,
        }

    def _scope_key(self, p: Params) -> str:
        scope = p.obj("scope")
        if scope is None:
            return "default"
        if not isinstance(scope, dict):
            raise ApiError(400, "Bad Request: can't parse scope JSON object")
        kind = str(scope.get("type", "default"))
        if kind in ("default", "all_private_chats", "all_group_chats",
                    "all_chat_administrators"):
            return kind
        if kind in ("chat", "chat_administrators", "chat_member"):
            try:
                chat_id = int(scope.get("chat_id"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ApiError(400, "Bad Request: chat not found") from None
            if chat_id not in self._chats:
                raise ApiError(400, "Bad Request: chat not found")
            if kind == "chat_member":
                return f"chat_member:{chat_id}:{scope.get('user_id')}"
            return f"{kind}:{chat_id}"
        raise ApiError(400, "Bad Request: wrong scope type specified")

    async def _set_my_commands(self, p: Params) -> bool:
        commands = p.obj("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands")
        parsed: list[tuple[str, str]] = []
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not _COMMAND_NAME.fullmatch(name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            parsed.append((name, description))
        key = (self._scope_key(p), p.text("language_code") or "")
        if parsed:
            self._commands[key] = parsed
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, p: Params) -> list[JSON]:
        key = (self._scope_key(p), p.text("language_code") or "")
        return [{"command": c, "description": d} for c, d in self._commands.get(key, [])]

    async def _delete_my_commands(self, p: Params) -> bool:
        self._commands.pop((self._scope_key(p), p.text("language_code") or ""), None)
        return True

    async def _set_chat_menu_button(self, p: Params) -> bool:
        button = p.obj("menu_button") or {"type": "default"}
        if not isinstance(button, dict):
            raise ApiError(400, "Bad Request: can't parse menu_button JSON object")
        chat_id = p.integer("chat_id")
        if chat_id is None:
            self._default_menu_button = button
            return True
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        chat.menu_button = button
        return True

    async def _get_chat_menu_button(self, p: Params) -> JSON:
        return self.menu_button(p.integer("chat_id"))

    async def _send_chat_action(self, p: Params) -> bool:
        self._writable_chat(p.chat_id())
        if not p.text("action"):
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _get_chat(self, p: Params) -> JSON:
        chat = self._chats.get(p.chat_id())
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return {
            **chat.api, "accent_color_id": 0, "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        }
