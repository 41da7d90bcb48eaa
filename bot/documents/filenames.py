"""File names and sizes of what users send, as pure rules (no Telegram, no I/O): the 20 MB
download limit, the accepted-suffix check, the generated stored name and the display label.

The stored file's name is never built from the user's: it is a random hex name plus a suffix
from the feature's allow-list, in a folder the code chooses, so a hostile original name (path
separators, `..`, control characters, thousands of characters) cannot choose where the file
lands or what it is called on disk. The original name is kept only as a label
(`display_name`), shown in chat and given back as the document's file name.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Collection
from pathlib import Path, PurePosixPath

# Bots can download files of at most 20 MB (getFile).
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
DISPLAY_NAME_MAX = 128
_SUFFIX = re.compile(r"\.[a-z0-9]{1,10}")
_PART = re.compile(r"[A-Za-z0-9_-]{1,64}")


def too_big(size: int | None) -> bool:
    """Whether a file of `size` bytes (None: unknown) is over what a bot may download."""
    return size is not None and size > MAX_DOWNLOAD_BYTES


def suffix_of(file_name: str | None, allowed: Collection[str]) -> str | None:
    """The lower-case suffix of `file_name` when it is one of `allowed`, else None.

    Only the part after the last dot is looked at, so "../../x.pdf" gives ".pdf"."""
    if not file_name or "." not in file_name:
        return None
    suffix = "." + file_name.rsplit(".", 1)[1].strip().lower()
    return suffix if suffix in allowed else None


def stored_path(folder: PurePosixPath | Path, suffix: str, *, prefix: str = "") -> Path:
    """A new unique path relative to files_dir: `folder/<prefix><32 hex><suffix>`.

    `folder` and `prefix` come from the code (ids it made), `suffix` from an allow-list;
    anything else is a programming error and raises ValueError."""
    parts = PurePosixPath(*Path(folder).parts).parts
    if not parts or not all(_PART.fullmatch(p) for p in parts):
        raise ValueError(f"unsafe folder for a stored file: {folder!r}")
    if not _SUFFIX.fullmatch(suffix):
        raise ValueError(f"unsafe suffix for a stored file: {suffix!r}")
    if prefix and not _PART.fullmatch(prefix):
        raise ValueError(f"unsafe prefix for a stored file: {prefix!r}")
    return Path(*parts) / f"{prefix}{uuid.uuid4().hex}{suffix}"


# Dropped from a name shown to people: control characters (Cc), format characters (Cf: the
# right-to-left override that turns "\u202efdp.exe" into what reads as "exe.pdf", zero-width
# joiners and spaces, the BOM) and lone surrogates (Cs), which no chat can render.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def display_name(original: str | None, suffix: str, limit: int = DISPLAY_NAME_MAX) -> str:
    """The user's file name as a label: control, format (bidi overrides, zero-width) and
    surrogate characters dropped, cut to `limit` characters, `document<suffix>` when nothing
    is left. Never used as a path."""
    text = "".join(
        c for c in (original or "") if unicodedata.category(c) not in _HIDDEN_CATEGORIES
    ).strip()
    if not text:
        return f"document{suffix}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
