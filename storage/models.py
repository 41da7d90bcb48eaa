"""Plain records the repositories return; no Telegram, no SQL."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Literal

Role = Literal["trainee", "leader", "hr"]
ROLES: tuple[Role, ...] = ("trainee", "leader", "hr")


@dataclass(frozen=True, slots=True)
class Member:
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

    @property
    def is_hr(self) -> bool:
        return self.role == "hr"

    @property
    def is_leader(self) -> bool:
        return self.role == "leader"

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Member:
        return cls(
            pk=row["id"],
            member_id=row["member_id"],
            name=row["name"],
            role=row["role"],
            group_id=row["group_id"],
            group_name=row["group_name"],
            school=row["school"],
            stage=row["stage"],
            active=bool(row["active"]),
            telegram_id=row["telegram_id"],
            language=row["language"],
            registered_at=row["registered_at"],
            unreachable_at=row["unreachable_at"],
        )
