"""Credits in chat: /credits (the trainee's year as a chart), /ranking (leader: the group; HR:
everyone), /adjust (HR), /exits (HR decides exit proposals), /heatmap (HR's attendance grid).

Charts are drawn by bot.documents.charts in a worker thread (`asyncio.to_thread`) and sent as
photos; matplotlib is only imported there. Every button is checked against the database: exit
decisions only by HR, whatever the callback data says.
"""

from __future__ import annotations

import asyncio
import io

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.core import callbacks, commands
from bot.core.services import StudyContext
from bot.core.text import MAX_CAPTION, clip, split_message
from bot.credits import exit_review
from bot.credits import rules as credit_rules
from bot.credits import views as credit_views
from bot.credits.views import num, signed
from bot.documents import charts
from storage import credits as ledger
from storage import exits as exits_repo
from storage import members as members_repo
from storage.models import Member, Role

PREFIX = "cr"
EXIT = exit_review.PREFIX
EXITS_LISTED = 10
DETAIL_RECENT = 15

LEADER_HR: frozenset[Role] = frozenset({"leader", "hr"})
HR: frozenset[Role] = frozenset({"hr"})
EARNERS: frozenset[Role] = frozenset({"trainee", "leader"})
commands.register("credits", roles=EARNERS, order=50)
commands.register("ranking", roles=LEADER_HR, order=51)
commands.register("adjust", roles=HR, order=63)
commands.register("exits", roles=HR, order=64)
commands.register("heatmap", roles=HR, order=65)


def _b(text: str, prefix: str, action: str, *args: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=callbacks.encode(prefix, action, *args))


def _png(data: bytes, name: str) -> io.BytesIO:
    buf = io.BytesIO(data)
    buf.name = name
    return buf


async def _photo_action(context: StudyContext, message: Message) -> None:
    await context.bot.send_chat_action(message.chat_id, ChatAction.UPLOAD_PHOTO)


# -- /credits ---------------------------------------------------------------------------------


async def credits_command(update: Update, context: StudyContext) -> None:
    """The member's cumulative credits this year against the line and the group median."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    if member.is_hr:
        await message.reply_text(context.t("credits.hr_no_credits"))
        return
    services = context.services
    await _photo_action(context, message)
    progress = await credit_views.progress(services.db, services.config, services.now(), member)
    if progress is None:
        await message.reply_text(context.t("credits.not_ranked"))
        return
    chart = credit_views.progress_chart(context.lang, progress)
    png = await asyncio.to_thread(charts.render_progress, chart, services.config.credits.chart_font)
    caption = clip(credit_views.progress_caption(context.lang, progress), MAX_CAPTION)
    markup = InlineKeyboardMarkup([[_b(context.t("credits.detail_button"), PREFIX, "det")]])
    await message.reply_photo(_png(png, "credits.png"), caption=caption, reply_markup=markup)


def _rule_name(context: StudyContext, rule: str) -> str:
    try:
        return context.t(f"credits.rule.{rule}")
    except KeyError:
        return rule


async def _details(update: Update, context: StudyContext) -> None:
    """The presser's own ledger this year: sums by rule and the latest entries."""
    query = update.callback_query
    member = context.member
    assert query is not None and member is not None
    await query.answer()
    services = context.services
    today = services.now().astimezone(services.config.tz).date()
    year = credit_rules.credit_year(today, services.config.credits.year_starts).label
    async with services.db.read() as conn:
        sums = await ledger.rule_sums(conn, member.pk, year)
        entries = await ledger.member_entries(conn, member.pk, year)
    if not entries:
        lines = [context.t("credits.detail_empty")]
    else:
        lines = [context.t("credits.detail_header", year=year,
                           total=num(sum(e.points for e in entries)))]
        lines += [context.t("credits.detail_rule_line", rule=_rule_name(context, rule),
                            points=num(points), count=count)
                  for rule, points, count in sums if abs(points) > 1e-9 or count > 0]
        recent = entries[-DETAIL_RECENT:]
        lines.append("")
        lines.append(context.t("credits.detail_recent", count=len(recent)))
        lines += [context.t("credits.detail_entry", date=e.on_date[5:], points=signed(e.points),
                            rule=_rule_name(context, e.rule), note=e.note)
                  for e in reversed(recent)]
    assert query.message is not None
    for part in split_message("\n".join(lines)):
        await context.bot.send_message(query.message.chat.id, part)


# -- /ranking ---------------------------------------------------------------------------------


async def ranking_command(update: Update, context: StudyContext) -> None:
    """Horizontal bars with the line: a leader's group, or everyone (or one group) for HR."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    if not (member.is_hr or member.is_leader):
        await message.reply_text(context.t("credits.ranking_refused"))
        return
    services = context.services
    group_id: int | None = None
    scope = context.t("credits.everyone")
    if member.is_leader:
        group_id, scope = member.group_id, member.group_name or ""
    elif context.args:
        wanted = " ".join(context.args).strip()
        async with services.db.read() as conn:
            groups = {name: gid for gid, name in await members_repo.groups(conn)}
        if wanted not in groups:
            await message.reply_text(context.t("credits.ranking_unknown_group", group=clip(wanted)))
            return
        group_id, scope = groups[wanted], wanted
    await _photo_action(context, message)
    board = await credit_views.board(services.db, services.config, services.now())
    standings = board.ordered if group_id is None else board.of_group(group_id)
    if not standings:
        await message.reply_text(context.t("credits.ranking_empty", scope=scope))
        return
    lang = context.lang
    title = context.t("credits.ranking_title", scope=scope, year=board.year.label)
    chart = credit_views.ranking_chart(lang, board, standings, title, member.pk)
    png = await asyncio.to_thread(charts.render_ranking, chart, services.config.credits.chart_font)
    below = [s for s in standings if s.below]
    caption = context.t(
        "credits.ranking_caption", scope=scope, year=board.year.label, count=len(standings),
        line=num(board.line), top_n=board.averaged_over, average=num(board.average),
        ratio=num(board.ratio * 100), below=len(below),
    )
    await message.reply_photo(_png(png, "ranking.png"), caption=clip(caption, MAX_CAPTION))
    lines = credit_views.at_risk_lines(lang, board, standings)
    text = "\n".join([context.t("credits.at_risk_header", line=num(board.line)), *lines]) \
        if lines else context.t("credits.at_risk_none")
    for part in split_message(text):
        await message.reply_text(part)


# -- /adjust ----------------------------------------------------------------------------------


async def adjust_command(update: Update, context: StudyContext) -> None:
    """/adjust MEMBER_ID POINTS REASON (HR): a hand entry in the ledger, with its reason."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    if not member.is_hr:
        await message.reply_text(context.t("credits.adjust.hr_only"))
        return
    args = context.args or []
    if len(args) < 3:
        await message.reply_text(context.t("credits.adjust.usage"))
        return
    member_id, points_text, reason = args[0], args[1], " ".join(args[2:]).strip()
    points = credit_views.parse_points(points_text)
    if points is None:
        await message.reply_text(
            context.t("credits.adjust.bad_points", max=num(credit_views.MAX_ADJUST)))
        return
    if len(reason) > credit_views.REASON_MAX:
        await message.reply_text(
            context.t("credits.adjust.reason_long", max=credit_views.REASON_MAX))
        return
    services = context.services
    async with services.db.read() as conn:
        target = await members_repo.by_member_id(conn, member_id) \
            or await members_repo.by_member_id(conn, member_id.upper())
    if target is None:
        await message.reply_text(
            context.t("credits.adjust.unknown_member", member_id=clip(member_id)))
        return
    if target.is_hr:
        await message.reply_text(context.t("credits.adjust.not_ranked", name=target.name))
        return
    async with services.db.tx() as conn:
        done = await credit_views.adjust(conn, services.config, target, points, reason, member,
                                         services.now())
    services.sender.notify()
    await message.reply_text(context.t(
        "credits.adjust.done", name=target.name, points=signed(points), reason=reason,
        year=done.year, total=num(done.total),
    ))


# -- /exits -----------------------------------------------------------------------------------


def _exit_buttons(context: StudyContext, proposal_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        _b(context.t("credits.exit.btn_confirm"), EXIT, "ask", proposal_id),
        _b(context.t("credits.exit.btn_dismiss"), EXIT, "dis", proposal_id),
    ]])


async def exits_command(update: Update, context: StudyContext) -> None:
    """Open exit proposals, one message each with Confirm exit / Dismiss (HR)."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    if not member.is_hr:
        await message.reply_text(context.t("credits.exit.hr_only"))
        return
    services = context.services
    await exit_review.evaluate(services.db, services.config, services.now())
    services.sender.notify()
    async with services.db.read() as conn:
        open_ = await exits_repo.proposals(conn, ("open",))
        people = await ledger.members_by_pk(conn, [p.member_pk for p in open_])
    if not open_:
        await message.reply_text(context.t("credits.exit.none"))
        return
    await message.reply_text(context.t("credits.exit.header", count=len(open_)))
    for p in open_[:EXITS_LISTED]:
        person = people.get(p.member_pk)
        if person is None:
            continue
        await message.reply_text(exit_review.card(context.lang, p, person),
                                 reply_markup=_exit_buttons(context, p.id))
    if len(open_) > EXITS_LISTED:
        await message.reply_text(context.t("credits.exit.more", count=len(open_) - EXITS_LISTED))


async def on_exit_button(update: Update, context: StudyContext) -> None:
    """Confirm (asks once more) / dismiss an exit proposal; HR only, checked in the database."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.decode(query.data)
    member = context.member
    pid = cb.int_arg() if cb is not None else None
    if cb is None or pid is None or member is None or not member.is_hr \
            or cb.action not in ("ask", "back", "do", "dis"):
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    services = context.services
    if cb.action in ("ask", "back"):
        async with services.db.read() as conn:
            p = await exits_repo.proposal(conn, pid)
            person = await members_repo.by_pk(conn, p.member_pk) if p else None
        if p is None or person is None:
            await query.answer(context.t("error.forged"), show_alert=True)
            return
        if p.state != "open":
            await query.answer(context.t(f"credits.exit.already_{p.state}"), show_alert=True)
            return
        await query.answer()
        if cb.action == "ask":
            markup = InlineKeyboardMarkup([[
                _b(context.t("credits.exit.btn_yes", name=person.name), EXIT, "do", pid),
                _b(context.t("credits.exit.btn_back"), EXIT, "back", pid),
            ]])
            await query.edit_message_text(context.t("credits.exit.ask", name=person.name),
                                          reply_markup=markup)
        else:
            await query.edit_message_text(exit_review.card(context.lang, p, person),
                                          reply_markup=_exit_buttons(context, pid))
        return
    try:
        async with services.db.tx() as conn:
            decided = await exit_review.decide(conn, services.config, member, pid,
                                               cb.action == "do", services.now(), context.lang)
    except exit_review.ExitError as exc:
        await query.answer(context.t(exc.key), show_alert=True)
        return
    services.sender.notify()
    await query.answer(context.t(decided.answer_key))
    await query.edit_message_text(decided.text)


# -- /heatmap ---------------------------------------------------------------------------------


async def heatmap_command(update: Update, context: StudyContext) -> None:
    """HR picks a group (or everyone) for the attendance heatmap; `/heatmap 第一组` directly."""
    message = update.effective_message
    member = context.member
    assert message is not None and member is not None
    if not member.is_hr:
        await message.reply_text(context.t("credits.heatmap.hr_only"))
        return
    async with context.services.db.read() as conn:
        groups = await members_repo.groups(conn)
    if context.args:
        wanted = " ".join(context.args).strip()
        gid = next((g for g, name in groups if name == wanted), None)
        if gid is None:
            await message.reply_text(context.t("credits.ranking_unknown_group", group=clip(wanted)))
            return
        await _send_heatmap(context, message, member, gid, wanted)
        return
    buttons = [_b(name, PREFIX, "hm", gid) for gid, name in groups]
    buttons.append(_b(context.t("credits.heatmap.all_button"), PREFIX, "hm", "all"))
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    await message.reply_text(context.t("credits.heatmap.choose"),
                             reply_markup=InlineKeyboardMarkup(rows))


async def _send_heatmap(
    context: StudyContext, message: Message, member: Member, group_id: int | None, scope: str,
) -> bool:
    """Sends the heatmap photo; False (and nothing sent) when too many members for one chart."""
    services = context.services
    chart = await credit_views.heatmap(services.db, services.config, services.now(), member,
                                       group_id, context.lang)
    if chart is None:
        return False
    if not chart.activities:
        await message.reply_text(context.t("credits.heatmap.empty", scope=scope))
        return True
    await _photo_action(context, message)
    png = await asyncio.to_thread(charts.render_heatmap, chart, services.config.credits.chart_font)
    today = services.now().astimezone(services.config.tz).date()
    year = credit_rules.credit_year(today, services.config.credits.year_starts).label
    caption = context.t("credits.heatmap.caption", scope=scope, year=year,
                        count=len(chart.activities))
    await message.reply_photo(_png(png, "heatmap.png"), caption=clip(caption, MAX_CAPTION))
    return True


async def on_button(update: Update, context: StudyContext) -> None:
    """The credits buttons: ledger details (own), heatmap scope (HR)."""
    query = update.callback_query
    assert query is not None
    cb = callbacks.decode(query.data)
    member = context.member
    if cb is None or member is None:
        await query.answer(context.t("error.forged"), show_alert=True)
        return
    if cb.action == "det" and not member.is_hr:
        await _details(update, context)
        return
    if cb.action == "hm" and member.is_hr and query.message is not None and cb.args:
        async with context.services.db.read() as conn:
            groups = dict(await members_repo.groups(conn))
        gid = None if cb.args[0] == "all" else cb.int_arg()
        if gid is not None and gid not in groups:
            await query.answer(context.t("error.forged"), show_alert=True)
            return
        scope = groups[gid] if gid is not None else context.t("credits.everyone")
        message = query.message
        assert isinstance(message, Message)
        await query.answer()
        if not await _send_heatmap(context, message, member, gid, scope):
            await message.reply_text(context.t("credits.heatmap.too_many"))
        return
    await query.answer(context.t("error.forged"), show_alert=True)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("credits", credits_command))
    app.add_handler(CommandHandler("ranking", ranking_command))
    app.add_handler(CommandHandler("adjust", adjust_command))
    app.add_handler(CommandHandler("exits", exits_command))
    app.add_handler(CommandHandler("heatmap", heatmap_command))
    app.add_handler(CallbackQueryHandler(on_button, pattern=callbacks.pattern(PREFIX)))
    app.add_handler(CallbackQueryHandler(on_exit_button, pattern=callbacks.pattern(EXIT)))
