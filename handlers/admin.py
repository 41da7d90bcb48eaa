"""/admin (HR): the tasks HR does most, as buttons — deactivate or reactivate a member, move a
member to another group, change a group's leader, re-issue an invite, see the unreachable
members and everything pending HR's decision. Every change asks for a confirming tap."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.core import callbacks, commands, pending
from bot.core.callbacks import Callback
from bot.core.services import StudyContext
from bot.core.text import split_message
from bot.members import admin
from handlers.start import set_commands
from storage import members as members_repo
from storage.models import Member

PREFIX = "adm"
OPS = ("off", "on", "mv", "ld", "inv")


def _b(text: str, action: str, *args: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=callbacks.encode(PREFIX, action, *args))


Keyboard = list[list[InlineKeyboardButton]]


def _rows(buttons: list[InlineKeyboardButton], per_row: int = 2) -> Keyboard:
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


def _menu(context: StudyContext) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [_b(context.t("admin.members"), "grps", "m")],
        [_b(context.t("admin.leader"), "grps", "l")],
        [_b(context.t("admin.unreachable"), "unr")],
        [_b(context.t("admin.pending"), "pend")],
    ])


async def admin_command(update: Update, context: StudyContext) -> None:
    """Shows HR's menu."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    if not member.is_hr:
        await message.reply_text(context.t("admin.hr_only"))
        return
    await message.reply_text(context.t("admin.menu"), reply_markup=_menu(context))


def _label(context: StudyContext, m: Member) -> str:
    mark = "" if m.active else context.t("admin.inactive_mark")
    lead = context.t("admin.leader_mark") if m.role == "leader" else ""
    return f"{m.name}{lead}{mark}"


async def on_button(update: Update, context: StudyContext) -> None:
    """Every /admin button; HR only (checked from the database)."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.decode(query.data)
    member = context.member
    if cb is None or member is None or not member.is_hr:
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    handler = {
        "menu": _show_menu, "grps": _show_groups, "grp": _show_group, "mem": _show_member,
        "mvto": _show_targets, "ask": _ask, "do": _do, "unr": _show_unreachable,
        "pend": _show_pending,
    }.get(cb.action)
    if handler is None:
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    await handler(update, context, cb)


async def _alert(update: Update, context: StudyContext, key: str) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(context.t(key), show_alert=True)


async def _edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text(text, reply_markup=markup)


async def _show_menu(update: Update, context: StudyContext, cb: Callback) -> None:
    await _edit(update, context.t("admin.menu"), _menu(context))


async def _show_groups(update: Update, context: StudyContext, cb: Callback) -> None:
    purpose = cb.args[0] if cb.args and cb.args[0] in ("m", "l") else "m"
    async with context.services.db.read() as conn:
        groups = await members_repo.groups(conn)
    buttons = [_b(name, "grp", purpose, gid) for gid, name in groups]
    rows = [*_rows(buttons, 3), [_b(context.t("admin.back"), "menu")]]
    await _edit(update, context.t("admin.choose_group"), InlineKeyboardMarkup(rows))


async def _show_group(update: Update, context: StudyContext, cb: Callback) -> None:
    gid = cb.int_arg(1)
    if gid is None or not cb.args or cb.args[0] not in ("m", "l"):
        await _alert(update, context, "error.forged")
        return
    async with context.services.db.read() as conn:
        people = await members_repo.group_roster(conn, gid)
    if cb.args[0] == "m":
        buttons = [_b(_label(context, m), "mem", m.pk) for m in people]
        text = context.t("admin.choose_member")
    else:
        buttons = [_b(_label(context, m), "ask", "ld", m.pk, gid)
                   for m in people if m.active and m.role != "leader"]
        text = context.t("admin.choose_leader")
    rows = [*_rows(buttons), [_b(context.t("admin.back"), "grps", cb.args[0])]]
    await _edit(update, text, InlineKeyboardMarkup(rows))


async def _show_member(update: Update, context: StudyContext, cb: Callback) -> None:
    pk = cb.int_arg()
    async with context.services.db.read() as conn:
        m = await members_repo.by_pk(conn, pk) if pk is not None else None
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
    back = [_b(context.t("admin.back"), "grp", "m", m.group_id)] if m.group_id else []
    await _edit(update, text, InlineKeyboardMarkup([*_rows(buttons), back]))


async def _show_targets(update: Update, context: StudyContext, cb: Callback) -> None:
    pk = cb.int_arg()
    async with context.services.db.read() as conn:
        m = await members_repo.by_pk(conn, pk) if pk is not None else None
        groups = await members_repo.groups(conn)
    if m is None:
        await _alert(update, context, "admin.gone")
        return
    buttons = [_b(name, "ask", "mv", m.pk, gid) for gid, name in groups if gid != m.group_id]
    rows = [*_rows(buttons, 3), [_b(context.t("admin.back"), "mem", m.pk)]]
    await _edit(update, context.t("admin.choose_target", name=m.name), InlineKeyboardMarkup(rows))


async def _ask(update: Update, context: StudyContext, cb: Callback) -> None:
    """The confirmation step: says exactly what will happen, with Confirm / Back."""
    op = cb.args[0] if cb.args else ""
    pk = cb.int_arg(1)
    gid = cb.int_arg(2)
    if op not in OPS or pk is None or (op in ("mv", "ld") and gid is None):
        await _alert(update, context, "error.forged")
        return
    async with context.services.db.read() as conn:
        m = await members_repo.by_pk(conn, pk)
        group = dict(await members_repo.groups(conn)).get(gid) if gid is not None else None
    if m is None or (gid is not None and group is None):
        await _alert(update, context, "admin.gone")
        return
    text = context.t(f"admin.confirm_{op}", name=m.name, group=group or "")
    args = (op, pk) if gid is None else (op, pk, gid)
    markup = InlineKeyboardMarkup([[
        _b(context.t("admin.confirm"), "do", *args), _b(context.t("admin.back"), "mem", pk),
    ]])
    await _edit(update, text, markup)


async def _do(update: Update, context: StudyContext, cb: Callback) -> None:
    """Carries out a confirmed change; a stale or repeated confirm changes nothing."""
    query = update.callback_query
    member = context.member
    assert query is not None and member is not None
    op = cb.args[0] if cb.args else ""
    pk = cb.int_arg(1)
    gid = cb.int_arg(2)
    if op not in OPS or pk is None or (op in ("mv", "ld") and gid is None):
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    services = context.services
    cfg, now = services.config, services.now()
    old: Member | None = None
    try:
        async with services.db.tx() as conn:
            if op in ("on", "off"):
                done = await admin.set_active(conn, cfg, member, pk, op == "on", now)
            elif op == "mv":
                assert gid is not None
                done = await admin.move(conn, cfg, member, pk, gid, now)
            elif op == "ld":
                assert gid is not None
                old = await members_repo.group_leader(conn, gid)
                done = await admin.change_leader(conn, cfg, member, gid, pk, now)
            else:
                done = await admin.reissue(conn, cfg, member, pk, services.bot_username, now)
    except admin.AdminError as exc:
        await query.answer(context.t(exc.key), show_alert=True)
        return
    services.sender.notify()
    await _edit(update, context.t(done.key, **done.params),
                InlineKeyboardMarkup([[_b(context.t("admin.back"), "menu")]]))
    if op == "ld":
        # Both people's command menus change with their role.
        async with services.db.read() as conn:
            changed = [await members_repo.by_pk(conn, pk)]
            if old is not None:
                changed.append(await members_repo.by_pk(conn, old.pk))
        for person in changed:
            if person is not None and person.telegram_id is not None:
                await set_commands(context, person, person.telegram_id)


async def _show_unreachable(update: Update, context: StudyContext, cb: Callback) -> None:
    async with context.services.db.read() as conn:
        people = await members_repo.unreachable(conn)
    lines = [context.t("admin.unreachable_header", count=len(people))]
    for m in people:
        why = context.t("admin.never_started" if m.telegram_id is None else "admin.blocked")
        lines.append(context.t("admin.unreachable_line", name=m.name, member_id=m.member_id,
                               group=m.group_name or "—", why=why))
    await _send_long(update, context, lines)


async def _show_pending(update: Update, context: StudyContext, cb: Callback) -> None:
    async with context.services.db.read() as conn:
        items = await pending.gather(conn, context.lang)
    lines = [context.t("admin.pending_header", count=len(items)), *items]
    if not items:
        lines.append(context.t("admin.nothing_pending"))
    await _send_long(update, context, lines)


async def _send_long(update: Update, context: StudyContext, lines: list[str]) -> None:
    parts = split_message("\n".join(lines))
    back = InlineKeyboardMarkup([[_b(context.t("admin.back"), "menu")]])
    await _edit(update, parts[0], back if len(parts) == 1 else None)
    query = update.callback_query
    assert query is not None and query.message is not None
    for i, part in enumerate(parts[1:], start=2):
        await context.bot.send_message(
            query.message.chat.id, part, reply_markup=back if i == len(parts) else None
        )


commands.register("admin", roles=frozenset({"hr"}), order=61)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("admin", admin_command))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))
