"""Simulated Telegram users and groups for the sandbox, and transcript printers.

A `SandboxUser` talks to the bot the way a Telegram client would (messages, photos, documents,
locations, stickers, voice messages, contacts, button presses) and waits for the bot's answers
without sleeping: waits are woken by the sandbox when the bot sends or edits. Each user keeps a
cursor over the bot's messages in its chat, so `ask()` returns the answer to *this* message and
`next_message()` the next one not yet looked at.

The waiting methods take `timeout=` (seconds) because a test reads better with it than with an
`asyncio.timeout()` block around every call; hence the ASYNC109 exemptions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from bot.sandbox.model import (
    JSON,
    CallbackAnswer,
    Entry,
    SandboxError,
    SandboxTimeout,
    render_entry,
)

if TYPE_CHECKING:
    from bot.sandbox.server import Sandbox

__all__ = [
    "CallbackAnswer", "Entry", "SandboxGroup", "SandboxUser", "Timeline", "render_transcript",
]

Predicate = Callable[[Entry], bool]


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{1,64})?")


def _text_content(text: str) -> JSON:
    """A text message; a leading /command gets its bot_command entity (PTB's CommandHandler
    only recognises commands by that entity)."""
    if not text:
        raise SandboxError("Telegram clients cannot send an empty message")
    content: JSON = {"text": text}
    # As Telegram marks them: a slash, 1-64 latin letters, digits or underscores, and maybe
    # @a_bot; a lone "/" or "/退出" is plain text.
    command = _COMMAND.match(text)
    if command:
        content["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": _utf16_len(command.group(0))}]
    return content


class _Conversation:
    """Cursor over the bot's messages in one chat, shared by users and groups."""

    def __init__(self, sandbox: Sandbox, chat_id: int) -> None:
        self._sandbox = sandbox
        self._chat_id = chat_id
        self._cursor = 0  # message_id of the last bot message consumed

    async def next_after(
        self, after: int | None, predicate: Predicate | None, limit_s: float
    ) -> Entry:
        start = self._cursor if after is None else after
        entry = await self._sandbox.wait_for_bot_message(
            self._chat_id, predicate, timeout=limit_s, after=start
        )
        self._cursor = max(self._cursor, entry.message_id)
        return entry

    def skip_to_end(self) -> None:
        out = self._sandbox.bot_messages(self._chat_id)
        if out:
            self._cursor = out[-1].message_id


class SandboxUser:
    """A Telegram user talking to the bot. Create with `Sandbox.user()`."""

    def __init__(
        self,
        sandbox: Sandbox,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh",
        started: bool = True,
    ) -> None:
        self._sandbox = sandbox
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.started = started  # the user opened the bot; before that the bot can't write
        self.blocked = False
        self.api: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            self.api["last_name"] = last_name
        if username:
            self.api["username"] = username
        if language_code:
            self.api["language_code"] = language_code
        self._conversations: dict[int, _Conversation] = {}

    def __repr__(self) -> str:
        return f"SandboxUser({self.id}, {self.first_name!r})"

    @property
    def chat_id(self) -> int:
        """The private chat with the bot (same id as the user, as in Telegram)."""
        return self.id

    def _conversation(self, chat_id: int) -> _Conversation:
        conv = self._conversations.get(chat_id)
        if conv is None:
            conv = self._conversations[chat_id] = _Conversation(self._sandbox, chat_id)
        return conv

    # ---------------------------------------------------------------- sending

    async def send(
        self,
        text: str,
        *,
        chat: SandboxGroup | None = None,
        date: dt.datetime | None = None,
        forward_from: SandboxUser | str | None = None,
        reply_to: Entry | None = None,
    ) -> Entry:
        """Sends a text message (to the private chat, or to `chat`). `forward_from` makes it a
        forward (a user, or a name for a hidden user); `date` backdates it."""
        await self._sandbox.before_action()
        return self._sandbox.inject_message(
            self, self._target(chat), _text_content(text), date=date,
            forward_from=forward_from, reply_to=reply_to, kind="text", text=text, source=text,
        )

    async def send_photo(
        self,
        data: bytes,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        chat: SandboxGroup | None = None,
        date: dt.datetime | None = None,
    ) -> Entry:
        """Sends a photo (the bot can download exactly these bytes). With media_group_id it is
        one item of an album; send the other items with the same id."""
        stored = self._sandbox.store_file(data, "photo", mime_type="image/jpeg")
        content: JSON = {"photo": self._sandbox.media_json(stored)}
        if caption:
            content["caption"] = caption
        if media_group_id:
            content["media_group_id"] = media_group_id
        await self._sandbox.before_action()
        return self._sandbox.inject_message(
            self, self._target(chat), content, date=date,
            kind="media_group_item" if media_group_id else "photo", text=caption or "",
            source=caption or "", media_type="photo", file_id=stored.file_id, file_bytes=data,
            file_size=stored.file_size, mime_type=stored.mime_type,
            media_group_id=media_group_id,
        )

    async def send_document(
        self,
        data: bytes,
        file_name: str,
        *,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        file_size: int | None = None,
        chat: SandboxGroup | None = None,
        date: dt.datetime | None = None,
    ) -> Entry:
        """Sends a file. `file_size` overrides the reported size, e.g. to simulate a 25 MB
        file (getFile then refuses it, as Telegram does above 20 MB)."""
        stored = self._sandbox.store_file(
            data, "document", file_name=file_name, mime_type=mime_type, file_size=file_size
        )
        content: JSON = {"document": self._sandbox.media_json(stored)}
        if caption:
            content["caption"] = caption
        await self._sandbox.before_action()
        return self._sandbox.inject_message(
            self, self._target(chat), content, date=date, kind="document",
            text=caption or "", source=caption or "", media_type="document",
            file_id=stored.file_id, file_bytes=data, file_name=file_name,
            file_size=stored.file_size, mime_type=mime_type,
        )

    async def send_location(
        self,
        latitude: float,
        longitude: float,
        *,
        forwarded: bool = False,
        date: dt.datetime | None = None,
        live_period: int | None = None,
        chat: SandboxGroup | None = None,
    ) -> Entry:
        """Shares a location; `forwarded=True` makes it a forward of the user's own earlier
        location, `live_period` a live location."""
        location: JSON = {"latitude": latitude, "longitude": longitude}
        if live_period is not None:
            location["live_period"] = live_period
        await self._sandbox.before_action()
        return self._sandbox.inject_message(
            self, self._target(chat), {"location": location}, date=date,
            forward_from=self if forwarded else None, kind="location",
            location=(latitude, longitude),
        )

    async def send_sticker(
        self, *, emoji: str = "👍", chat: SandboxGroup | None = None,
        date: dt.datetime | None = None,
    ) -> Entry:
        """Sends a (static, regular) sticker."""
        stored = self._sandbox.store_file(b"RIFF\x00\x00\x00\x00WEBP", "sticker",
                                          mime_type="image/webp")
        sticker: JSON = {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "type": "regular", "width": 512, "height": 512, "is_animated": False,
            "is_video": False, "emoji": emoji, "file_size": stored.file_size,
        }
        await self._sandbox.before_action()
        return self._sandbox.inject_message(
            self, self._target(chat), {"sticker": sticker}, date=date, kind="sticker",
            media_type="sticker", file_id=stored.file_id,
        )

    async def send_voice(
        self, data: bytes = b"OggS voice", *, duration: int = 3,
        chat: SandboxGroup | None = None, date: dt.datetime | None = None,
    ) -> Entry:
        """Sends a voice message (the bot can download exactly these bytes)."""
        stored = self._sandbox.store_file(data, "voice", mime_type="audio/ogg")
        voice: JSON = {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "duration": duration, "mime_type": "audio/ogg", "file_size": stored.file_size,
        }
        await self._sandbox.before_action()
        return self._sandbox.inject_message(
            self, self._target(chat), {"voice": voice}, date=date, kind="voice",
            media_type="voice", file_id=stored.file_id, file_bytes=data,
            file_size=stored.file_size, mime_type="audio/ogg",
        )

    async def send_contact(
        self, phone_number: str, first_name: str, *, user_id: int | None = None,
        chat: SandboxGroup | None = None, date: dt.datetime | None = None,
    ) -> Entry:
        """Shares a contact card (a phone number and a name, optionally a Telegram user)."""
        contact: JSON = {"phone_number": phone_number, "first_name": first_name}
        if user_id is not None:
            contact["user_id"] = user_id
        await self._sandbox.before_action()
        return self._sandbox.inject_message(
            self, self._target(chat), {"contact": contact}, date=date, kind="contact",
            text=f"{first_name} {phone_number}",
        )

    def _target(self, chat: SandboxGroup | None) -> int:
        return self.chat_id if chat is None else chat.id

    # ---------------------------------------------------------------- buttons

    async def press(
        self, message: Entry, button: str, *, timeout: float = 10.0  # noqa: ASYNC109
    ) -> CallbackAnswer:
        """Presses the inline button whose text (or callback_data) is `button` and returns the
        bot's answerCallbackQuery. A button an edit has since removed can still be pressed
        (as from a client that had not received the edit yet): stale presses are real."""
        keyboards = [message.raw.get("reply_markup") or {}, *reversed(message.past_keyboards)]
        for markup in keyboards:
            for row in markup.get("inline_keyboard", []):
                for candidate in row:
                    if button not in (candidate.get("text"), candidate.get("callback_data")):
                        continue
                    if "callback_data" not in candidate:
                        raise SandboxError(f"button {button!r} has no callback_data")
                    return await self._press(
                        message, str(candidate["callback_data"]), str(candidate["text"]),
                        timeout,
                    )
        raise SandboxError(
            f"no button {button!r} on message #{message.message_id}; it has "
            f"{message.button_texts!r}"
        )

    async def press_data(
        self, message: Entry, data: str, *, timeout: float = 10.0  # noqa: ASYNC109
    ) -> CallbackAnswer:
        """Presses a button with any callback_data on `message` (a forged or stale press)."""
        label = next((text for text, value in message.buttons if value == data), f"data={data}")
        return await self._press(message, data, label, timeout)

    async def _press(
        self, message: Entry, data: str, label: str, limit_s: float
    ) -> CallbackAnswer:
        await self._sandbox.before_action()
        entry, future = self._sandbox.inject_callback(self, message, data, label)
        try:
            return await asyncio.wait_for(future, limit_s)
        except TimeoutError:
            assert entry.callback_query_id is not None
            self._sandbox.forget_query(entry.callback_query_id)
            raise SandboxTimeout(
                f"{self!r}: the bot did not answer the press of {label!r} within "
                f"{limit_s:g}s; chat {message.chat_id} ends with:\n"
                f"{self._sandbox.tail(message.chat_id)}"
            ) from None

    # ---------------------------------------------------------------- reading

    async def ask(
        self, text: str, *, timeout: float = 10.0, predicate: Predicate | None = None  # noqa: ASYNC109
    ) -> Entry:
        """Sends `text` and returns the bot's first message after it in the private chat
        (matching `predicate`, if given); the cursor moves past it."""
        sent = await self.send(text)
        return await self._conversation(self.chat_id).next_after(
            sent.message_id, predicate, timeout
        )

    async def next_message(
        self, *, timeout: float = 10.0, predicate: Predicate | None = None  # noqa: ASYNC109
    ) -> Entry:
        """The next bot message in the private chat this user has not consumed yet."""
        return await self._conversation(self.chat_id).next_after(None, predicate, timeout)

    def skip_pending(self) -> None:
        """Marks every bot message so far as consumed."""
        self._conversation(self.chat_id).skip_to_end()

    def messages(self) -> list[Entry]:
        """The bot's messages in the private chat, oldest first."""
        return self._sandbox.bot_messages(self.chat_id)

    def transcript(self) -> list[Entry]:
        return self._sandbox.transcript(self.chat_id)

    def last(self) -> Entry:
        """The bot's latest message in the private chat."""
        out = self.messages()
        if not out:
            raise SandboxError(f"{self!r} has no messages from the bot")
        return out[-1]

    def block(self) -> None:
        """Blocks the bot: its sends to this user fail with 403 until `unblock()`."""
        self._sandbox.block(self.id)

    def unblock(self) -> None:
        self._sandbox.unblock(self.id)


class SandboxGroup:
    """A group chat the bot is in. Create with `Sandbox.group()`."""

    def __init__(self, sandbox: Sandbox, chat_id: int, title: str) -> None:
        self._sandbox = sandbox
        self.id = chat_id
        self.title = title
        self.members: dict[int, SandboxUser] = {}
        self._conversation = _Conversation(sandbox, chat_id)

    def __repr__(self) -> str:
        return f"SandboxGroup({self.id}, {self.title!r})"

    @property
    def chat_id(self) -> int:
        return self.id

    async def send(self, user: SandboxUser, text: str, **kwargs: Any) -> Entry:
        """`user` writes `text` in the group (a `/cmd@bot` command works as in Telegram)."""
        return await user.send(text, chat=self, **kwargs)

    async def ask(
        self, user: SandboxUser, text: str, *, timeout: float = 10.0,  # noqa: ASYNC109
        predicate: Predicate | None = None,
    ) -> Entry:
        sent = await user.send(text, chat=self)
        return await self._conversation.next_after(sent.message_id, predicate, timeout)

    async def next_message(
        self, *, timeout: float = 10.0, predicate: Predicate | None = None  # noqa: ASYNC109
    ) -> Entry:
        return await self._conversation.next_after(None, predicate, timeout)

    def messages(self) -> list[Entry]:
        return self._sandbox.bot_messages(self.id)

    def transcript(self) -> list[Entry]:
        return self._sandbox.transcript(self.id)

    def last(self) -> Entry:
        out = self.messages()
        if not out:
            raise SandboxError(f"{self!r} has no messages from the bot")
        return out[-1]


def render_transcript(
    sandbox: Sandbox, chat_ids: Iterable[int], names: Mapping[int, str] | None = None
) -> str:
    """The conversations of `chat_ids`, one block per chat, readable:

        ── 罗宏伟 (user 1001) ──
          > /start ABCD2345
          < 欢迎，罗宏伟！…
            [按钮: 批准 | 驳回]
    """
    blocks: list[str] = []
    for chat_id in chat_ids:
        name = (names or {}).get(chat_id) or sandbox.chat_name(chat_id)
        label = "user" if chat_id > 0 else "group"
        lines = [f"── {name} ({label} {chat_id}) ──"]
        entries = sandbox.transcript(chat_id)
        if not entries:
            lines.append("  (no messages)")
        for entry in entries:
            lines.extend(render_entry(entry))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


class Timeline:
    """Every chat's messages in one list, in the order they happened, edits where they happen.

    The sandbox changes an edited message in place, so a per-chat transcript shows the final
    text where the message was first sent, i.e. before the press that changed it. A timeline
    instead reads the sandbox's numbered changes (`Sandbox(keep_changes=True)`): each message
    as it was when sent, each edit or deletion as a line of its own where it happened, all in
    the sandbox's one order across chats. Only the chats in `names` are shown; `names` is read
    when rendering (it may grow while the timeline records).
    """

    def __init__(self, sandbox: Sandbox, names: Mapping[int, str]) -> None:
        self._sandbox = sandbox
        self._names = names
        self._start = sandbox.last_seq  # what happened before the timeline is not its story
        self._headings: list[tuple[int, str]] = []  # (last seq before it, text)

    def heading(self, text: str) -> None:
        """A step heading, after everything that has happened so far."""
        self._headings.append((self._sandbox.last_seq, text))

    def render(self) -> str:
        """The timeline as text: a heading line per step, a `── name ──` line whenever the
        chat changes, `>`/`<` as in `render_transcript`, `✎` for an edit or deletion."""
        changes = [c for c in self._sandbox.changes(self._start) if c.entry.chat_id in self._names]
        headings = iter(self._headings)
        pending = next(headings, None)
        lines: list[str] = []
        current: int | None = None
        for change in changes:
            while pending is not None and pending[0] < change.seq:
                lines += ["", pending[1]]
                current = None
                pending = next(headings, None)
            chat_id = change.entry.chat_id
            if chat_id != current:
                current = chat_id
                name = self._names.get(chat_id) or self._sandbox.chat_name(chat_id)
                lines.append(f"── {name} ──")
            rendered = render_entry(change.state)
            if change.kind != "sent":
                rendered[0] = "  ✎ " + rendered[0][4:]
            lines += rendered
        while pending is not None:
            lines += ["", pending[1]]
            pending = next(headings, None)
        return "\n".join(lines).strip("\n")
