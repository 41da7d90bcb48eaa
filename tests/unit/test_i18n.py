"""Catalogs: zh and en have the same keys and placeholders; handlers hold no literal text."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from bot.core import commands
from bot.core.i18n import catalog, normalize, t

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
# Calls whose text argument reaches a user.
TEXT_CALLS = {
    "reply_text", "send_message", "edit_message_text", "edit_text", "answer",
    "reply_photo", "reply_document", "send_photo", "send_document", "edit_message_caption",
    "InlineKeyboardButton", "KeyboardButton", "BotCommand",
}


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_same_keys_in_every_language() -> None:
    zh, en = catalog("zh"), catalog("en")
    assert sorted(zh.keys() - en.keys()) == [], "missing in en"
    assert sorted(en.keys() - zh.keys()) == [], "missing in zh"


def test_same_placeholders_in_every_language() -> None:
    zh, en = catalog("zh"), catalog("en")
    bad = [k for k in zh if fields(zh[k]) != fields(en.get(k, ""))]
    assert bad == []


def test_every_command_has_a_description() -> None:
    from bot import features

    for name in features.handler_modules():
        __import__(name)
    for role in ("trainee", "leader", "hr"):
        for lang in ("zh", "en"):
            for name, desc in commands.describe(role, lang):  # type: ignore[arg-type]
                assert desc and len(desc) <= 256, name
                assert re.fullmatch(r"[a-z0-9_]{1,32}", name)


@pytest.mark.parametrize(("given", "expected"), [("en-GB", "en"), ("zh-hans", "zh"),
                                                  ("fr", "zh"), (None, "zh"), ("EN", "en")])
def test_normalize(given: str | None, expected: str) -> None:
    assert normalize(given) == expected


def test_missing_key_raises() -> None:
    with pytest.raises(KeyError):
        t("zh", "no.such.key")


def _literal_text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
        return node.value
    if isinstance(node, ast.JoinedStr):
        return ast.unparse(node)
    return None


def test_handlers_hold_no_user_visible_literals() -> None:
    problems: list[str] = []
    for path in sorted((ROOT / "handlers").glob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if CJK.search(node.value) and not _is_docstring(tree, node):
                    problems.append(f"{path.name}:{node.lineno}: {node.value[:30]!r}")
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else (
                    node.func.id if isinstance(node.func, ast.Name) else "")
                if name not in TEXT_CALLS:
                    continue
                args = list(node.args[:1]) + [
                    k.value for k in node.keywords if k.arg in ("text", "caption")
                ]
                for arg in args:
                    text = _literal_text(arg)
                    if text is not None:
                        problems.append(f"{path.name}:{node.lineno}: {name}({text[:30]!r})")
    assert problems == []


def _is_docstring(tree: ast.Module, node: ast.Constant) -> bool:
    for owner in ast.walk(tree):
        if isinstance(owner, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = owner.body
            if body and isinstance(body[0], ast.Expr) and body[0].value is node:
                return True
    return False
