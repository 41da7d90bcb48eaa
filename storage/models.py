"""Plain records the repositories return; no Telegram, no SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from storage.rows import Columns, FromRow, cast

Role = Literal["trainee", "leader", "hr"]
ROLES: tuple[Role, ...] = ("trainee", "leader", "hr")


@dataclass(frozen=True, slots=True)
class Member(FromRow):
    pk: int
    member_id: str
    name: str
    role: Role
    group_id: int | None
    group_name: str | None
    school: str
    stage: str
    active: bool
    telegram_id: int | None
    language: str | None
    registered_at: str | None
    unreachable_at: str | None

    COLUMNS: ClassVar[Columns] = {"pk": "id", "active": cast("active", bool)}

    @property
    def is_hr(self) -> bool:
        return self.role == "hr"

    @property
    def is_leader(self) -> bool:
        return self.role == "leader"
