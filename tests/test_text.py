"""bot.text: quoting user text back (clip) and splitting under Telegram's message limit."""

from __future__ import annotations

import pytest

from bot.text import ECHO_CHARS, MAX_MESSAGE, clip, split_message


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("第一组", 60, "第一组"),
        ("x" * 60, 60, "x" * 60),
        ("x" * 61, 60, "x" * 59 + "…"),
        ("<b>&amp;", 4, "<b>…"),
        ("", 5, ""),
    ],
)
def test_clip(text: str, limit: int, expected: str) -> None:
    assert clip(text, limit) == expected


def test_clip_default_keeps_an_answer_under_the_limit() -> None:
    assert len(clip("字" * 10_000)) == ECHO_CHARS
    with pytest.raises(ValueError):
        clip("x", 0)


@pytest.mark.parametrize("text", ["", "a\nb", "字" * 5000, ("行\n" * 3000)])
def test_split_message_parts_fit_and_keep_the_text(text: str) -> None:
    parts = split_message(text)
    assert all(len(p) <= MAX_MESSAGE for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
