"""Authorization matrix: every command and every button, for each kind of actor.

Allowed commands answer; the others are refused politely (no apology) and change no data.
Forged button presses get an answer and change no data.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from bot import commands
from bot.sandbox.client import SandboxUser
from handlers import feature_modules
from tests.helpers import Harness, running_bot

ROOT = Path(__file__).resolve().parents[2]
DATA_TABLES = (
    "members", "attendance", "leave_requests", "reading_submissions", "reports",
    "credit_ledger", "audit_log", "announcements",
)
APOLOGY = "抱歉"
ROLE_OF = {"T1": "trainee", "L2": "leader", "L1": "leader", "H1": "hr", "T2": "trainee"}


def all_commands() -> list[str]:
    for name in feature_modules():
        importlib.import_module(f"handlers.{name}")
    names = {c.name for role in commands.ALL_ROLES for c in commands.for_role(role)}
    return sorted(names)


def allowed(role: str) -> set[str]:
    all_commands()
    return {c.name for c in commands.for_role(role)}  # type: ignore[arg-type]


def _bot_prefix(module: str) -> str:
    text = (ROOT / "bot" / f"{module}.py").read_text(encoding="utf-8")
    found = re.search(r'^PREFIX = "(\w+)"', text, re.M)
    assert found, module
    return found.group(1)


def callback_table() -> dict[str, list[str]]:
    """{prefix: actions} read from handlers/*.py: every callbacks.pattern(...) target, with the
    actions its module compares against, encodes or dispatches on."""
    table: dict[str, list[str]] = {}
    for path in sorted((ROOT / "handlers").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        names: dict[str, str] = {}
        for name, lit in re.findall(r'^(\w+) = "(\w+)"$', text, re.M):
            names[name] = lit
        for name, module in re.findall(r"^(\w+) = (\w+)\.PREFIX$", text, re.M):
            names[name] = _bot_prefix(module)
        for module, imported in re.findall(r"^from bot\.(\w+) import (.*)$", text, re.M):
            if re.search(r"\bPREFIX\b", imported):
                names["PREFIX"] = _bot_prefix(module)
        actions = {
            *re.findall(r'action [!=]= "(\w+)"', text),  # if cb.action == "ok"
            *re.findall(r'encode\(\w+, "(\w+)"', text),  # callbacks.encode(PREFIX, "pick", ..)
            *re.findall(r'"(\w+)": _\w+', text),  # {"menu": _show_menu, ...}.get(cb.action)
        }
        for target in re.findall(r"callbacks\.pattern\(([^)]*)\)", text):
            target = target.strip()
            prefix = target.strip("\"'") if target[:1] in "\"'" else names[target]
            table.setdefault(prefix, [])
            table[prefix] = sorted({*table[prefix], *actions, "x"})
    return table


async def counts(h: Harness) -> dict[str, int]:
    out: dict[str, int] = {}
    async with h.services.db.read() as conn:
        for table in DATA_TABLES:
            async with conn.execute(f"SELECT COUNT(*) FROM {table}") as cur:
                row = await cur.fetchone()
            assert row is not None
            out[table] = int(row[0])
    return out


async def make_actor(h: Harness, actor: str) -> SandboxUser:
    if actor == "unregistered":
        return h.new_user("陌生人")
    if actor == "exited":
        user = await h.register("T2")
        async with h.services.db.tx() as conn:
            await conn.execute("UPDATE members SET active = 0 WHERE member_id = 'T2'")
        return user
    return await h.register(actor)


async def run_command(user: SandboxUser, command: str) -> list[str]:
    """Sends /command, then /cancel; returns every bot text that arrived in between."""
    user.skip_pending()
    sent = await user.send(f"/{command}")
    await user.next_message(timeout=5)
    await user.ask("/cancel", timeout=5)
    texts = [e.text or "" for e in user.messages() if e.message_id > sent.message_id]
    user.skip_pending()
    return texts


ACTORS = ["unregistered", "T1", "L2", "L1", "H1", "exited"]


@pytest.mark.parametrize("actor", ACTORS)
async def test_every_command_for_every_actor(tmp_path: Path, actor: str) -> None:
    names = all_commands()
    assert {"start", "help", "me", "cancel"} <= set(names)
    permitted = allowed(ROLE_OF[actor]) if actor in ROLE_OF else set()
    problems: list[str] = []
    async with running_bot(tmp_path) as h:
        user = await make_actor(h, actor)
        for name in names:
            before = await counts(h)
            texts = await run_command(user, name)
            first = texts[0] if texts else ""
            refused = name not in permitted
            if actor == "unregistered":
                if name != "start" and "邀请链接" not in first:
                    problems.append(f"/{name}: not the how-to answer: {first!r}")
            elif actor == "exited":
                if "已停用" not in first:
                    problems.append(f"/{name}: not the deactivated answer: {first!r}")
            elif any(APOLOGY in t for t in texts):
                problems.append(f"/{name}: apology instead of a refusal: {texts!r}")
            if refused or actor in ("unregistered", "exited"):
                after = await counts(h)
                if after != before:
                    problems.append(f"/{name}: data changed {before} -> {after}")
    assert problems == []


CALLBACKS = callback_table()


def test_callback_table_found_every_prefix() -> None:
    assert {"adm", "ann", "att", "cr", "exit", "lang", "leave", "rd", "rem", "rep", "sch"} <= set(
        CALLBACKS
    )


@pytest.mark.parametrize("actor", ["T1", "L2"])
async def test_forged_buttons_change_nothing(tmp_path: Path, actor: str) -> None:
    problems: list[str] = []
    async with running_bot(tmp_path) as h:
        user = await make_actor(h, actor)
        message = user.last()
        for prefix, actions in sorted(CALLBACKS.items()):
            for action in actions:
                data = f"{prefix}:{action}:999999"
                before = await counts(h)
                answer = await user.press_data(message, data, timeout=5)
                if APOLOGY in (answer.text or ""):
                    problems.append(f"{data}: apology {answer.text!r}")
                after = await counts(h)
                if after != before:
                    problems.append(f"{data}: data changed {before} -> {after}")
        user.skip_pending()
        texts = [e.text or "" for e in user.messages()]
        if any(APOLOGY in t for t in texts):
            problems.append(f"an apology was sent: {texts!r}")
    assert problems == []
