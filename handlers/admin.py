"""/admin (HR): the tasks HR does most, as buttons — deactivate or reactivate a member, move a
member to another group, change a group's leader, re-issue an invite, see the unreachable
members and everything pending HR's decision. Every change asks for a confirming tap.

What the menus show and every change come from bot.members.admin; this module decodes the
press, makes that call and renders the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.core import callbacks, commands
from bot.core.callbacks import Callback
from bot.core.services import StudyContext
from bot.core.text import split_message
from bot.members import admin
from handlers.replies import (
    Rows,
    chat_id,
    chunks,
    edit,
    forged,
    hr_only,
    lookup,
    markup,
    reply,
    say,
)
from handlers.start import set_commands
from storage.models import Member

PREFIX = "adm"


def _b(text: str, action: str, *args: object) -> tuple[str, str]:
    return text, callbacks.encode(PREFIX, action, *args)


def _back(context: StudyContext, action: str, *args: object) -> list[tuple[str, str]]:
    return [_b(context.t("admin.back"), action, *args)]


def _menu(context: StudyContext) -> Rows:
    return [
        [_b(context.t("admin.members"), "grps", "m")],
        [_b(context.t("admin.leader"), "grps", "l")],
        [_b(context.t("admin.unreachable"), "unr")],
        [_b(context.t("admin.pending"), "pend")],
    ]


async def admin_command(update: Update, context: StudyContext) -> None:
    """Shows HR's menu."""
    if await hr_only(update, context, "admin.hr_only") is None:
        return
    await reply(update, context.t("admin.menu"), reply_markup=markup(_menu(context)))


def _label(context: StudyContext, m: Member) -> str:
    mark = "" if m.active else context.t("admin.inactive_mark")
    lead = context.t("admin.leader_mark") if m.role == "leader" else ""
    return f"{m.name}{lead}{mark}"


async def _alert(update: Update, context: StudyContext, key: str) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(context.t(key), show_alert=True)


async def _show(update: Update, text: str, rows: Rows) -> None:
    """Answers the press and puts the next screen in its message."""
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    await query.answer()
    await edit(query.message, text, markup(rows))


async def _show_menu(update: Update, context: StudyContext, cb: Callback) -> None:
    await _show(update, context.t("admin.menu"), _menu(context))


async def _show_groups(update: Update, context: StudyContext, cb: Callback) -> None:
    purpose = cb.args[0] if cb.args and cb.args[0] in ("m", "l") else "m"
    groups = await admin.groups(context.services.db)
    buttons = [_b(name, "grp", purpose, gid) for gid, name in groups]
    await _show(update, context.t("admin.choose_group"),
                [*chunks(buttons, 3), _back(context, "menu")])


async def _show_group(update: Update, context: StudyContext, cb: Callback) -> None:
    gid = cb.int_arg(1)
    if gid is None or not cb.args or cb.args[0] not in ("m", "l"):
        await forged(update, context)
        return
    people = await admin.group_roster(context.services.db, gid)
    if cb.args[0] == "m":
        buttons = [_b(_label(context, m), "mem", m.pk) for m in people]
        text = context.t("admin.choose_member")
    else:
        buttons = [_b(_label(context, m), "ask", "ld", m.pk, gid)
                   for m in people if m.active and m.role != "leader"]
        text = context.t("admin.choose_leader")
    await _show(update, text, [*chunks(buttons, 2), _back(context, "grps", cb.args[0])])


async def _show_member(update: Update, context: StudyContext, cb: Callback) -> None:
    pk = cb.int_arg()
    m = await admin.member(context.services.db, pk) if pk is not None else None
    if m is None:
        await _alert(update, context, "admin.gone")
        return
    state = context.t("admin.state_active" if m.active else "admin.state_inactive")
    reg = context.t("admin.state_registered" if m.telegram_id else "admin.state_unregistered")
    text = context.t("admin.card", name=m.name, member_id=m.member_id,
                     role=context.t(f"role.{m.role}"), group=m.group_name or "—",
                     state=state, registered=reg)
    buttons = [
        _b(context.t("admin.op_on" if not m.active else "admin.op_off"), "ask",
           "on" if not m.active else "off", m.pk),
        _b(context.t("admin.op_inv"), "ask", "inv", m.pk),
    ]
    if m.role == "trainee" and m.active:
        buttons.append(_b(context.t("admin.op_mv"), "mvto", m.pk))
    back = _back(context, "grp", "m", m.group_id) if m.group_id else []
    await _show(update, text, [*chunks(buttons, 2), back])


async def _show_targets(update: Update, context: StudyContext, cb: Callback) -> None:
    pk = cb.int_arg()
    db = context.services.db
    m = await admin.member(db, pk) if pk is not None else None
    if m is None:
        await _alert(update, context, "admin.gone")
        return
    buttons = [_b(name, "ask", "mv", m.pk, gid)
               for gid, name in await admin.groups(db) if gid != m.group_id]
    await _show(update, context.t("admin.choose_target", name=m.name),
                [*chunks(buttons, 3), _back(context, "mem", m.pk)])


def _op_args(cb: Callback) -> tuple[str, int | None, int | None]:
    return (cb.args[0] if cb.args else ""), cb.int_arg(1), cb.int_arg(2)


async def _ask(update: Update, context: StudyContext, cb: Callback) -> None:
    """The confirmation step: says exactly what will happen, with Confirm / Back."""
    op, pk, gid = _op_args(cb)
    if not admin.valid_op(op, pk, gid):
        await forged(update, context)
        return
    assert pk is not None
    try:
        m, group = await admin.subject(context.services.db, pk, gid)
    except admin.AdminError as exc:
        await _alert(update, context, exc.key)
        return
    args = (op, pk) if gid is None else (op, pk, gid)
    await _show(update, context.t(f"admin.confirm_{op}", name=m.name, group=group or ""), [[
        _b(context.t("admin.confirm"), "do", *args), *_back(context, "mem", pk),
    ]])


async def _do(update: Update, context: StudyContext, cb: Callback) -> None:
    """Carries out a confirmed change; a stale or repeated confirm changes nothing."""
    member = context.member
    assert member is not None
    op, pk, gid = _op_args(cb)
    services = context.services
    try:
        performed = await admin.perform(services.db, services.config, member.pk, op, pk,
                                        gid, services.bot_username, services.now())
    except admin.AdminError as exc:
        await _alert(update, context, exc.key)
        return
    services.sender.notify()
    done = performed.done
    await _show(update, context.t(done.key, **done.params), [_back(context, "menu")])
    for person in performed.role_changed:
        assert person.telegram_id is not None
        await set_commands(context, person, person.telegram_id)


async def _show_unreachable(update: Update, context: StudyContext, cb: Callback) -> None:
    people = await admin.unreachable(context.services.db)
    lines = [context.t("admin.unreachable_header", count=len(people))]
    for m in people:
        why = context.t("admin.never_started" if m.telegram_id is None else "admin.blocked")
        lines.append(context.t("admin.unreachable_line", name=m.name, member_id=m.member_id,
                               group=m.group_name or "—", why=why))
    await _send_long(update, context, lines)


async def _show_pending(update: Update, context: StudyContext, cb: Callback) -> None:
    items = await admin.pending_items(context.services.db, context.lang)
    lines = [context.t("admin.pending_header", count=len(items)), *items]
    if not items:
        lines.append(context.t("admin.nothing_pending"))
    await _send_long(update, context, lines)


async def _send_long(update: Update, context: StudyContext, lines: list[str]) -> None:
    """A list in the pressed message, the rest in new messages; Back on the last part."""
    parts = split_message("\n".join(lines))
    back = [_back(context, "menu")]
    await _show(update, parts[0], back if len(parts) == 1 else [])
    for i, part in enumerate(parts[1:], start=2):
        await say(context, chat_id(update), part, markup(back) if i == len(parts) else None)


Press = Callable[[Update, StudyContext, Callback], Awaitable[None]]
PRESSES: dict[str, Press] = {
    "menu": _show_menu, "grps": _show_groups, "grp": _show_group, "mem": _show_member,
    "mvto": _show_targets, "ask": _ask, "do": _do, "unr": _show_unreachable,
    "pend": _show_pending,
}


async def on_button(update: Update, context: StudyContext) -> None:
    """Every /admin button; HR only (checked from the database)."""
    found = await lookup(update, context, PRESSES, allowed=lambda m: m.is_hr)
    if found is not None:
        cb, _, press = found
        await press(update, context, cb)


commands.register("admin", roles=frozenset({"hr"}), order=61)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("admin", admin_command))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))
