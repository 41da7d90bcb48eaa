"""Text helpers for Telegram's limits."""

from __future__ import annotations

MAX_MESSAGE = 4096
MAX_CAPTION = 1024


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Splits text into parts of at most `limit` characters, at line breaks where possible."""
    if limit < 1:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current or not parts:
        parts.append(current)
    return [p.rstrip("\n") or p for p in parts]


ECHO_CHARS = 60


def clip(text: str, limit: int = ECHO_CHARS) -> str:
    """User text quoted back in an answer ("no group named …"), cut to `limit` characters so the
    answer always fits in one message. Answers are sent as plain text (no parse_mode), so the
    text needs no escaping; a caller that sends HTML must still pass it through html.escape."""
    if limit < 1:
        raise ValueError("limit must be positive")
    return text if len(text) <= limit else text[: limit - 1] + "…"
