"""Text helpers for Telegram's limits.

Telegram measures a message or caption in UTF-16 code units, not in Python characters: an
emoji outside the Basic Multilingual Plane (😀, 𠀀) counts twice. Every limit here is measured
the same way (`utf16_len`).
"""

from __future__ import annotations

from typing import Any

MAX_MESSAGE = 4096
MAX_CAPTION = 1024


def utf16_len(text: str) -> int:
    """The length Telegram sees: UTF-16 code units (an astral character counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def _fitting_prefix(line: str, limit: int) -> int:
    """How many characters of `line` fit in `limit` UTF-16 units (at least one, so a caller
    always makes progress); the cut moves back to the last space in the second half of the
    window, so a long paragraph is not cut inside a word."""
    used = 0
    end = 0
    for ch in line:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            break
        end += 1
    end = max(end, 1)
    if end < len(line):
        space = line.rfind(" ", 0, end)
        if space >= end // 2:
            end = space + 1
    return end


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Splits text into parts of at most `limit` UTF-16 units, at line breaks where possible
    (else at a space, else anywhere between two characters). The parts are consecutive slices
    of the text, each without its trailing line breaks."""
    if limit < 1:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    current = ""
    used = 0
    for line in text.splitlines(keepends=True):
        size = utf16_len(line)
        while size > limit:
            if current:
                parts.append(current)
                current, used = "", 0
            cut = _fitting_prefix(line, limit)
            parts.append(line[:cut])
            line = line[cut:]
            size = utf16_len(line)
        if used + size > limit:
            parts.append(current)
            current, used = "", 0
        current += line
        used += size
    if current or not parts:
        parts.append(current)
    return [p.rstrip("\n") or p for p in parts]


# Payload keys that make an outbox row a photo / album / document: its text is a caption.
_MEDIA_KEYS = ("photo", "photos", "document")
# Keys a continuation part keeps (how its text is read); nothing else is repeated.
_CARRIED_KEYS = ("parse_mode",)


def split_payload(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """An outbox payload cut into payloads that each fit Telegram's limits, in sending order.

    A text (or an edit) longer than MAX_MESSAGE becomes several text messages; a photo, album
    or document whose caption is longer than MAX_CAPTION keeps its file with the first
    MAX_CAPTION units of the caption, and the rest of the caption follows as text messages.
    Nothing is dropped. The buttons go on the last part only (the message a reader answers,
    and the one a later edit rewrites). An edit (`edit_of`) rewrites its message with the first
    part; the rest follows as new messages. A payload that fits is returned as it is.
    """
    text = payload.get("text")
    if not isinstance(text, str):
        return [payload]
    media = any(key in payload for key in _MEDIA_KEYS) and "edit_of" not in payload
    limit = MAX_CAPTION if media else MAX_MESSAGE
    if utf16_len(text) <= limit:
        return [payload]
    head = split_message(text, limit)[0]
    rest = text[len(head):].lstrip("\n")
    first = {k: v for k, v in payload.items() if k != "buttons"}
    first["text"] = head
    out = [first]
    for part in split_message(rest) if rest else []:
        follow: dict[str, Any] = {"text": part}
        follow.update({k: payload[k] for k in _CARRIED_KEYS if k in payload})
        out.append(follow)
    if payload.get("buttons"):
        out[-1]["buttons"] = payload["buttons"]
    return out


ECHO_CHARS = 60


def clip(text: str, limit: int = ECHO_CHARS) -> str:
    """`text` cut to `limit` UTF-16 units (as Telegram counts) with an ellipsis when longer:
    user text quoted back in an answer ("no group named …"), a caption, an excerpt, a button
    label. Answers are sent as plain text (no parse_mode), so the text needs no escaping; a
    caller that sends HTML must still pass it through html.escape."""
    if limit < 1:
        raise ValueError("limit must be positive")
    if utf16_len(text) <= limit:
        return text
    used = end = 0
    for ch in text:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit - 1:  # room for the ellipsis (one unit)
            break
        end += 1
    return text[:end] + "…"
