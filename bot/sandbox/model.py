"""Plain data the sandbox records and hands to tests: transcript entries, callback answers,
stored files, counters, and the errors it raises.

Kept apart from the server and the client so both can import it without a cycle.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple

JSON = dict[str, Any]

Direction = Literal["in", "out"]
Kind = Literal["text", "photo", "document", "location", "media_group_item", "callback"]
ChangeKind = Literal["sent", "edited", "deleted"]


class CallbackAnswer(NamedTuple):
    """What the bot answered to a button press (answerCallbackQuery)."""

    text: str | None
    show_alert: bool


@dataclass(eq=False)
class Entry:
    """One line of a chat's transcript: a message either way, or a button press.

    Bot edits change the entry in place (the transcript shows the latest state); the earlier
    texts are kept in `history`. `raw` is the Bot API Message object as the bot last saw it.
    `seq` is the sandbox-wide sequence number it got when it was recorded (see `Change`).
    """

    direction: Direction
    chat_id: int
    message_id: int
    from_id: int
    date: dt.datetime
    kind: Kind = "text"
    text: str = ""  # text or caption, after parse_mode was applied ("" when there is none)
    source: str = ""  # text or caption exactly as the bot sent it (with markup)
    parse_mode: str | None = None
    reply_markup: JSON | None = None
    buttons: list[tuple[str, str]] = field(default_factory=list)
    media_type: str | None = None  # "photo"/"document" for media (also inside media groups)
    file_id: str | None = None
    file_bytes: bytes | None = None
    file_name: str | None = None
    file_size: int | None = None
    mime_type: str | None = None
    media_group_id: str | None = None
    location: tuple[float, float] | None = None
    forwarded: bool = False
    reply_to: int | None = None
    history: list[str] = field(default_factory=list)  # earlier texts, oldest first
    # Inline keyboards an edit replaced, oldest first: a client that has not yet received
    # the edit can still press them (see SandboxUser.press).
    past_keyboards: list[JSON] = field(default_factory=list, repr=False)
    deleted: bool = False
    # Button presses (kind "callback"): the data sent and the bot's answer, once given.
    callback_data: str | None = None
    callback_query_id: str | None = None
    answer: CallbackAnswer | None = None
    answer_url: str | None = None
    raw: JSON = field(default_factory=dict, repr=False)
    seq: int = 0

    @property
    def edited(self) -> bool:
        return bool(self.history) or "edit_date" in self.raw

    @property
    def edits(self) -> int:
        return len(self.history)

    @property
    def button_texts(self) -> list[str]:
        return [text for text, _ in self.buttons]


@dataclass(frozen=True, eq=False)
class Change:
    """One thing that happened in some chat, numbered by the sandbox's single counter: a
    message or press recorded, or a bot message edited or deleted. The numbers give one
    order across all chats, which per-chat transcripts (edited in place) cannot.

    `entry` is the live entry; `state` a copy as it was right after the change (a press's
    `state` is the live entry too: the bot's answer to it arrives later).
    """

    seq: int
    kind: ChangeKind
    entry: Entry
    state: Entry


def snapshot(entry: Entry) -> Entry:
    """A copy of `entry` that later edits leave alone (they replace `raw`, never mutate it)."""
    return replace(entry, history=list(entry.history), buttons=list(entry.buttons),
                   past_keyboards=list(entry.past_keyboards))


@dataclass(eq=False)
class StoredFile:
    """A file the sandbox knows by file_id: sent by a user or uploaded by the bot."""

    file_id: str
    file_unique_id: str
    file_path: str
    kind: str  # "photo", "document"; "sticker" or "voice" for those message kinds
    data: bytes | None  # None when a test only simulates the size
    file_size: int
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0


@dataclass
class SandboxStats:
    """Counters for tests and benchmarks. All are cheap increments on the request path."""

    requests: Counter[str] = field(default_factory=Counter)  # per Bot API method
    updates: int = 0  # updates created by simulated users
    sent_messages: int = 0  # messages the bot sent (each media-group item counts)
    edits: int = 0
    rate_limited: int = 0  # 429 answers, injected or enforced
    injected: int = 0  # answers produced by fail_next
    injected_5xx: int = 0
    forbidden: int = 0  # 403 answers
    bad_requests: int = 0  # 400 answers
    webhook_posts: int = 0
    webhook_failures: int = 0

    def as_dict(self) -> JSON:
        return {
            "requests": dict(self.requests),
            "updates": self.updates,
            "sent_messages": self.sent_messages,
            "edits": self.edits,
            "rate_limited": self.rate_limited,
            "injected": self.injected,
            "injected_5xx": self.injected_5xx,
            "forbidden": self.forbidden,
            "bad_requests": self.bad_requests,
            "webhook_posts": self.webhook_posts,
            "webhook_failures": self.webhook_failures,
        }


class SandboxError(AssertionError):
    """A test used the sandbox wrongly (no such button, unknown chat, ...).

    An AssertionError so pytest shows it as a failed expectation, not a crash.
    """


class SandboxTimeout(SandboxError):
    """Waited for the bot and it did not answer in time; the message shows the chat's tail."""


class ApiError(Exception):
    """A Bot API error answer: HTTP status, Telegram's description, optional retry_after."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def human_size(size: int | None) -> str:
    if size is None:
        return "? B"
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _indent(text: str, first: str, rest: str) -> list[str]:
    lines = text.split("\n") or [""]
    return [first + lines[0], *(rest + line for line in lines[1:])]


def render_entry(entry: Entry) -> list[str]:
    """The lines one entry prints as in a transcript (`>` from the user, `<` from the bot)."""
    arrow = ">" if entry.direction == "in" else "<"
    if entry.kind == "callback":
        lines = [f"  > [点击: {entry.text}]"]
        if entry.answer is not None and entry.answer.text:
            label = "弹窗" if entry.answer.show_alert else "提示"
            lines += _indent(f"({label}: {entry.answer.text})", "  < ", "    ")
        return lines
    parts: list[str] = []
    if entry.media_type == "photo":
        parts.append(f"[photo {human_size(entry.file_size)}]")
    elif entry.media_type is not None:
        name = f" {entry.file_name}" if entry.file_name else ""
        parts.append(f"[{entry.media_type}{name} {human_size(entry.file_size)}]")
    if entry.location is not None:
        lat, lon = entry.location
        extra = " live" if "live_period" in entry.raw.get("location", {}) else ""
        parts.append(f"[location {lat:.5f}, {lon:.5f}{extra}]")
    if entry.forwarded:
        parts.insert(0, "(forwarded)")
    if entry.text:
        parts.append(entry.text)
    body = " ".join(parts)
    if entry.edited:
        body += " (edited)"
    if entry.deleted:
        body += " (deleted)"
    lines = _indent(body, f"  {arrow} ", "    ")
    if entry.buttons and not entry.deleted:
        lines.append("    [按钮: " + " | ".join(entry.button_texts) + "]")
    return lines
