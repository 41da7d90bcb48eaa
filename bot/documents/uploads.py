"""Files users send (report photos and documents, reading reflections): downloading them
from Telegram to a unique safe place under `[storage] files_dir`.

The naming rules (size limit, suffix allow-list, generated stored name, display label) are in
bot/documents/filenames.py, pure, so feature rules can use them without Telegram; they are
re-exported here for the flows that download.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the domain modules import this one: no Telegram at import time
    from telegram import Bot


from bot.documents.filenames import DISPLAY_NAME_MAX as DISPLAY_NAME_MAX
from bot.documents.filenames import MAX_DOWNLOAD_BYTES as MAX_DOWNLOAD_BYTES
from bot.documents.filenames import display_name as display_name
from bot.documents.filenames import stored_path as stored_path
from bot.documents.filenames import suffix_of as suffix_of
from bot.documents.filenames import too_big as too_big
from storage.db import private_dirs, private_file

log = logging.getLogger(__name__)

DownloadProblem = Literal["too_big", "failed"]


@dataclass(frozen=True, slots=True)
class Stored:
    """A downloaded file: `rel` (what the database records) under files_dir, and `path`."""

    rel: Path
    path: Path

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


async def download(
    bot: Bot, file_id: str, files_dir: Path, rel: Path
) -> Stored | DownloadProblem:
    """Downloads a Telegram file to files_dir/rel (owner-only folders made as needed, the file
    0600). On failure the partial file is removed and the problem returned: "too_big" when
    Telegram refuses the size, else "failed"."""
    from telegram.error import TelegramError

    dest = files_dir / rel
    private_dirs(dest.parent)
    private_file(dest)  # created 0600 before a byte arrives; the download keeps the mode
    try:
        tg_file = await bot.get_file(file_id)
        await tg_file.download_to_drive(dest)
    except TelegramError as exc:
        log.warning("download to %s failed: %s", rel.parent, exc)
        dest.unlink(missing_ok=True)
        return "too_big" if "too big" in str(exc).lower() else "failed"
    return Stored(rel, dest)
