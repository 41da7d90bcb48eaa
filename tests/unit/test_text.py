"""bot.core.text: quoting user text back (clip) and splitting under Telegram's message limit."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.text import (
    ECHO_CHARS,
    MAX_CAPTION,
    MAX_MESSAGE,
    clip,
    split_message,
    split_payload,
    utf16_len,
)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("第一组", 60, "第一组"),
        ("x" * 60, 60, "x" * 60),
        ("x" * 61, 60, "x" * 59 + "…"),
        ("<b>&amp;", 4, "<b>…"),
        ("", 5, ""),
        ("😀" * 3, 6, "😀" * 3),  # 6 units
        ("😀" * 4, 6, "😀" * 2 + "…"),  # an emoji is 2 units, never cut in half
        ("a😀b", 3, "a…"),
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


# -- measured as Telegram does: UTF-16 code units ---------------------------------------------

E = "😀"  # outside the BMP: two UTF-16 units, one Python character


@pytest.mark.parametrize(
    ("text", "units"),
    [("", 0), ("abc", 3), ("第一组", 3), (E, 2), (E * 3 + "a", 7), ("𠀀", 2), ("é", 1)],
)
def test_utf16_len(text: str, units: int) -> None:
    assert utf16_len(text) == units


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("abc", 3, ["abc"]),
        ("abcd", 3, ["abc", "d"]),
        (E * 2, 4, [E * 2]),
        (E * 3, 4, [E * 2, E]),  # 6 units: len() would have said 3 and kept one part
        ("a" + E, 2, ["a", E]),  # never half an emoji
        (E * 2 + "\n" + E, 5, [E * 2, E]),  # the line break still wins
        ("ab\ncd\nef", 6, ["ab\ncd", "ef"]),  # a line break counts
        ("one two three", 9, ["one two ", "three"]),  # a long line is cut at a space
        ("abcdefghij", 4, ["abcd", "efgh", "ij"]),  # no space: anywhere
        ("", 10, [""]),
    ],
)
def test_split_message_table(text: str, limit: int, expected: list[str]) -> None:
    assert split_message(text, limit) == expected


@pytest.mark.parametrize(
    "text",
    [E * 2049, E * 2048, ("行" + E + "\n") * 1500, "x" * 4095 + E, (E + " ") * 3000],
)
def test_split_message_parts_fit_in_utf16(text: str) -> None:
    parts = split_message(text)
    assert all(utf16_len(p) <= MAX_MESSAGE for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    if utf16_len(text) <= MAX_MESSAGE:
        assert parts == [text]


def test_split_message_one_part_when_it_fits_in_utf16_only() -> None:
    assert split_message(E * 2048) == [E * 2048]
    assert len(split_message(E * 2049)) == 2


# -- split_payload: what one outbox row becomes ------------------------------------------------

BTN = [[["OK", "x:ok"]]]
LONG = "\n".join(f"line {i:04d} " + "字" * 40 for i in range(200))  # ~10,000 units


def _texts(parts: list[dict[str, Any]]) -> str:
    return "\n".join(p["text"] for p in parts)


@pytest.mark.parametrize(
    ("payload", "kinds", "buttons_at"),
    [
        # fits: unchanged, one row
        ({"text": "hi", "buttons": BTN}, ["text"], [0]),
        ({"text": E * 2048}, ["text"], []),
        ({"photo": "/p.png", "text": "c" * 1024}, ["photo"], []),
        # too long a text: text rows, the buttons on the last
        ({"text": LONG, "buttons": BTN}, ["text", "text", "text"], [2]),
        ({"text": E * 2049}, ["text", "text"], []),
        # too long a caption: the file with the caption's head, the rest as text after it
        ({"photo": "/p.png", "text": LONG}, ["photo", "text", "text", "text"], []),
        ({"photo": "/p.png", "text": E * 513, "buttons": BTN}, ["photo", "text"], [1]),
        ({"photos": ["/a", "/b"], "text": LONG}, ["photos", "text", "text", "text"], []),
        ({"document": "/d.pdf", "filename": "d.pdf", "text": "d" * 1500},
         ["document", "text"], []),
        # an edit: its message gets the first part, the rest follows as new messages
        ({"text": LONG, "edit_of": 7, "buttons": BTN}, ["edit", "text", "text"], [2]),
    ],
)
def test_split_payload(payload: dict[str, Any], kinds: list[str], buttons_at: list[int]) -> None:
    parts = split_payload(payload)

    def kind(p: dict[str, Any]) -> str:
        return next((k for k in ("photos", "photo", "document") if k in p),
                    "edit" if "edit_of" in p else "text")

    assert [kind(p) for p in parts] == kinds
    assert [i for i, p in enumerate(parts) if "buttons" in p] == buttons_at
    for i, p in enumerate(parts):
        limit = MAX_CAPTION if kind(p) in ("photo", "photos", "document") else MAX_MESSAGE
        assert utf16_len(p["text"]) <= limit, i
        assert "edit_of" not in p or i == 0
    # nothing lost, nothing repeated (cuts fall on line breaks or between characters)
    assert _texts(parts).replace("\n", "") == payload["text"].replace("\n", "")
    if len(parts) == 1:
        assert parts[0] is payload
    else:
        assert parts[0].get("filename") == payload.get("filename")


def test_split_payload_keeps_parse_mode_and_leaves_a_payload_without_text() -> None:
    parts = split_payload({"text": "a" * 5000, "parse_mode": "HTML"})
    assert [p.get("parse_mode") for p in parts] == ["HTML", "HTML"]
    assert split_payload({"photo": "/p.png"}) == [{"photo": "/p.png"}]
