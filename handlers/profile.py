"""/help (the commands of the user's role; in a group, what works there) and /me (name, role,
group, leader)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.core import commands
from bot.core.services import StudyContext
from bot.members import profile
from handlers.replies import reply
from handlers.start import group_name, role_name


async def help_command(update: Update, context: StudyContext) -> None:
    """Lists the commands of the user's role."""
    member = context.member
    assert member is not None
    lines = [context.t("help.header", role=role_name(context.lang, member))]
    lines += [
        context.t("help.line", command=name, description=desc)
        for name, desc in commands.describe(member.role, context.lang)
    ]
    await reply(update, "\n".join(lines))


async def help_in_group(update: Update, context: StudyContext) -> bool:
    """/help in a group (the gatekeeper answers it there): the commands that work in a group
    (/chatid for HR) and where everything else is."""
    member = context.member
    assert member is not None
    shown = [("help", context.t("group.help_help"))]
    if member.is_hr:
        shown.append(("chatid", context.t("group.help_chatid")))
    lines = [context.t("group.help_header")]
    lines += [context.t("help.line", command=name, description=desc) for name, desc in shown]
    lines.append(context.t("group.help_footer", bot=context.services.bot_username.lstrip("@")))
    await reply(update, "\n".join(lines))
    return True


async def me(update: Update, context: StudyContext) -> None:
    """Shows the user's own record and their group leader."""
    member = context.member
    assert member is not None
    leader_name = context.t("me.none")
    if member.group_id is not None:
        leader = await profile.group_leader(context.services.db, member.group_id)
        if leader is not None:
            leader_name = leader.name
    none = context.t("me.none")
    await reply(
        update,
        context.t(
            "me.card", name=member.name, member_id=member.member_id,
            role=role_name(context.lang, member), group=group_name(context.lang, member),
            leader=leader_name, school=member.school or none, stage=member.stage or none,
        )
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("help", help_command))
    app.add_handler(CommandHandler("me", me))
