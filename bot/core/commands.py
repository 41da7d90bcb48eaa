"""The command registry: which commands each role sees in /help and in its command menu.

Feature modules add their commands here, so /help and setMyCommands never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.i18n import t
from storage.models import Role

ALL_ROLES: frozenset[Role] = frozenset({"trainee", "leader", "hr"})


@dataclass(frozen=True)
class CommandSpec:
    name: str
    roles: frozenset[Role]
    order: int


_REGISTRY: dict[str, CommandSpec] = {}


def register(name: str, roles: frozenset[Role] = ALL_ROLES, order: int = 100) -> None:
    """Declares a command; its description is the catalog key `cmd.<name>`."""
    _REGISTRY[name] = CommandSpec(name, roles, order)


def for_role(role: Role) -> list[CommandSpec]:
    return sorted(
        (c for c in _REGISTRY.values() if role in c.roles), key=lambda c: (c.order, c.name)
    )


def describe(role: Role, lang: str) -> list[tuple[str, str]]:
    """(command, description) pairs for a role, in the given language."""
    return [(c.name, t(lang, f"cmd.{c.name}")) for c in for_role(role)]


register("start", order=0)
register("help", order=1)
register("me", order=2)
