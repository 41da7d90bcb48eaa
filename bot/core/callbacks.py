"""Callback data: short prefixed strings (`leave:approve:123`), encoded and decoded here only.

Callback data comes from the client and can be forged: handlers decode it here and then check
authorisation against the database, never trusting what the data claims. Every number read
from it goes through `number()`, which refuses what no row id can be (SQLite's integers are
64-bit: a bigger one would raise OverflowError when bound, not "not found").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64
SEP = ":"
# SQLite's INTEGER range: anything outside it was never encoded by the bot.
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
# ASCII digits only: int() would also take " 7", "+7", "1_0" and other scripts' digits.
_INT = re.compile(r"-?[0-9]{1,19}")


def number(text: str | None) -> int | None:
    """`text` as an int when it is one the bot could have encoded (ASCII digits within
    SQLite's 64-bit range), else None: out of range or malformed is forged."""
    if text is None or not _INT.fullmatch(text):
        return None
    value = int(text)
    return value if INT_MIN <= value <= INT_MAX else None


@dataclass(frozen=True)
class Callback:
    prefix: str
    action: str
    args: tuple[str, ...]

    def arg(self, index: int = 0) -> str | None:
        """The index-th argument, or None when missing."""
        return self.args[index] if 0 <= index < len(self.args) else None

    def int_arg(self, index: int = 0) -> int | None:
        """The index-th argument as an int, or None when missing, not a number or outside
        SQLite's 64-bit range (see `number`)."""
        return number(self.arg(index))


def encode(prefix: str, action: str, *args: object) -> str:
    parts = [prefix, action, *(str(a) for a in args)]
    if any(SEP in p for p in parts):
        raise ValueError(f"callback part contains {SEP!r}: {parts}")
    data = SEP.join(parts)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def decode(data: str | None) -> Callback | None:
    """The parsed callback, or None for anything malformed."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    parts = data.split(SEP)
    if len(parts) < 2 or not all(parts[:2]):
        return None
    return Callback(parts[0], parts[1], tuple(parts[2:]))


def pattern(prefix: str) -> str:
    """The CallbackQueryHandler pattern for one prefix."""
    return rf"^{prefix}{SEP}"
