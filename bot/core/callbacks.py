"""Callback data: short prefixed strings (`leave:approve:123`), encoded and decoded here only.

Callback data comes from the client and can be forged: handlers decode it here and then check
authorisation against the database, never trusting what the data claims.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_BYTES = 64
SEP = ":"


@dataclass(frozen=True)
class Callback:
    prefix: str
    action: str
    args: tuple[str, ...]

    def int_arg(self, index: int = 0) -> int | None:
        """The index-th argument as an int, or None when missing or not a number."""
        try:
            return int(self.args[index])
        except (IndexError, ValueError):
            return None


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
