"""Applies a message's parse_mode the way Telegram does: the markup is stripped from the text
the user sees, and malformed markup is refused with Telegram's "can't parse entities" error.

Refusing matters: a user's name with a `<` in it, or an unescaped `.` in MarkdownV2, fails
against the real API; the sandbox should fail the same way so tests catch it. Entities are not
computed; the bot never reads them back.
"""

from __future__ import annotations

import re

from bot.sandbox.model import ApiError

_HTML_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
        "span", "tg-spoiler", "tg-emoji", "blockquote",
    }
)
_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_SPECIAL = re.compile(r"[<&]")
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")

_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler",
    "[": "TextUrl",
}


def _fail(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {reason}")


def _offset(text: str, index: int) -> int:
    """Telegram reports positions in UTF-8 bytes."""
    return len(text[:index].encode("utf-8"))


def apply_parse_mode(text: str, parse_mode: str | None) -> str:
    """The plain text a user would see; raises ApiError(400) on markup Telegram refuses."""
    if not parse_mode:
        return text
    mode = parse_mode.lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown(text)
    raise ApiError(400, f"Bad Request: unsupported parse_mode \"{parse_mode}\"")


def _parse_html(text: str) -> str:
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    n = len(text)
    while pos < n:
        match = _HTML_SPECIAL.search(text, pos)
        if match is None:
            out.append(text[pos:])
            break
        i = match.start()
        out.append(text[pos:i])
        if text[i] == "&":
            end = text.find(";", i + 1, i + 12)
            name = text[i + 1 : end] if end != -1 else ""
            if name in _HTML_ENTITIES:
                out.append(_HTML_ENTITIES[name])
                pos = end + 1
                continue
            if name.startswith("#"):
                try:
                    hexa = name[1:2] in ("x", "X")
                    out.append(chr(int(name[2:], 16) if hexa else int(name[1:])))
                    pos = end + 1
                    continue
                except (ValueError, OverflowError):
                    pass
            out.append("&")  # Telegram keeps an unknown entity's ampersand as is
            pos = i + 1
            continue
        end = text.find(">", i + 1)
        if end == -1:
            raise _fail(f"Unclosed start tag at byte offset {_offset(text, i)}")
        inner = text[i + 1 : end]
        if inner.startswith("/"):
            name = inner[1:].strip().lower()
            if not stack:
                raise _fail(f"Unexpected end tag at byte offset {_offset(text, i)}")
            if stack[-1] != name:
                raise _fail(f"Unmatched end tag at byte offset {_offset(text, i)}, "
                    f'expected "</{stack[-1]}>", found "</{name}>"',
                )
            stack.pop()
        else:
            tag = _TAG_NAME.match(inner)
            name = tag.group(0).lower() if tag else ""
            if name not in _HTML_TAGS:
                raise _fail(f'Unsupported start tag "{name}" at byte offset {_offset(text, i)}'
                )
            if name == "span" and "tg-spoiler" not in inner:
                raise _fail('Tag "span" must have class "tg-spoiler"')
            stack.append(name)
        pos = end + 1
    if stack:
        raise _fail(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def _parse_markdown_v2(text: str) -> str:
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 < n and 0 < ord(text[i + 1]) < 127:
                out.append(text[i + 1])
                i += 2
                continue
            out.append(c)
            i += 1
            continue
        if c == "`":
            fence = "```" if text.startswith("```", i) else "`"
            j = i + len(fence)
            body: list[str] = []
            while j < n and not text.startswith(fence, j):
                if text[j] == "\\" and j + 1 < n and text[j + 1] in "`\\":
                    j += 1
                body.append(text[j])
                j += 1
            if j >= n:
                kind = "Pre" if fence == "```" else "Code"
                raise _fail(f"Can't find end of {kind} entity at byte offset "
                                  f"{_offset(text, i)}")
            code = "".join(body)
            if fence == "```" and "\n" in code:
                first, rest = code.split("\n", 1)
                if first and " " not in first:  # a language name, not content
                    code = rest
            out.append(code)
            i = j + len(fence)
            continue
        if c in "*_~|":
            marker = text[i : i + 2] if text[i : i + 2] in ("__", "||") else c
            if marker == "|":
                raise _fail("Character '|' is reserved and must be escaped with the "
                                  "preceding '\\'")
            if stack and stack[-1][0] == marker:
                stack.pop()
            else:
                stack.append((marker, i))
            i += len(marker)
            continue
        if c == "[":
            stack.append(("[", i))
            i += 1
            continue
        if c == "]" and stack and stack[-1][0] == "[":
            stack.pop()
            i += 1
            if i < n and text[i] == "(":
                j = i + 1
                while j < n and text[j] != ")":
                    j += 2 if text[j] == "\\" else 1
                if j >= n:
                    raise _fail(f"Can't find end of a url at byte offset {_offset(text, i)}")
                i = j + 1
            continue
        if c == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # blockquote marker at the start of a line
            continue
        if c in _MDV2_RESERVED:
            raise _fail(f"Character '{c}' is reserved and must be escaped with the "
                              "preceding '\\'")
        out.append(c)
        i += 1
    if stack:
        marker, at = stack[-1]
        raise _fail(f"Can't find end of {_MDV2_NAMES[marker]} entity at byte offset "
                          f"{_offset(text, at)}")
    return "".join(out)


def _parse_markdown(text: str) -> str:
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
            continue
        if c in "*_`":
            fence = "```" if text.startswith("```", i) else c
            end = text.find(fence, i + len(fence))
            if end == -1:
                raise _fail("Can't find end of the entity starting at byte offset "
                                  f"{_offset(text, i)}")
            out.append(text[i + len(fence) : end])
            i = end + len(fence)
            continue
        if c == "[":
            close = text.find("]", i + 1)
            if close == -1:
                raise _fail("Can't find end of the entity starting at byte offset "
                                  f"{_offset(text, i)}")
            out.append(text[i + 1 : close])
            i = close + 1
            if text.startswith("(", i):
                end = text.find(")", i)
                i = n if end == -1 else end + 1
            continue
        out.append(c)
        i += 1
    return "".join(out)
