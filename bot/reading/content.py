"""What a reader sends as a reflection or an output: a text, or a .docx/.pdf/.txt document
downloaded under `[storage] files_dir`, checked and hashed; and removing a downloaded file
whose submission was not saved.

A refusal comes back as a catalog key and its parameters for the handler to answer with; a
file refused after the download is removed before returning. Telegram is only reached through
the bot object passed in (bot.documents.uploads.download), never imported here.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.core.config import Config
from bot.documents import uploads
from bot.reading import rules
from bot.reading.views import size_text
from storage.reading import StoredFile

if TYPE_CHECKING:
    from telegram import Bot


@dataclass(frozen=True)
class Upload:
    """A document as the message described it (nothing downloaded yet)."""

    file_id: str
    file_name: str | None
    mime_type: str | None
    file_size: int | None


@dataclass(frozen=True)
class Content:
    """A submission's content: the text, or the stored file."""

    body: str | None
    file: StoredFile | None


@dataclass(frozen=True)
class Refusal:
    """Why the content was not taken: the message key and its parameters."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def discard(cfg: Config, content: Content | None) -> None:
    """Removes a downloaded file whose submission was not saved."""
    if content is not None and content.file is not None:
        (cfg.files_dir / content.file.path).unlink(missing_ok=True)


def check_text(text: str, min_chars: int) -> Content | Refusal:
    """A typed reflection: within the length limits, stored stripped."""
    problem = rules.check_reflection(text, min_chars)
    if problem == "too_long":
        return Refusal("reading.reflection.too_long", {"max": rules.MAX_TEXT_CHARS})
    if problem == "too_short":
        return Refusal("reading.reflection.too_short",
                       {"count": rules.reflection_chars(text), "min": min_chars})
    return Content(text.strip(), None)


def _size_refusal(key: str, size: int | None) -> Refusal:
    return Refusal(key, {"size": size_text(size or 0),
                         "limit": size_text(rules.MAX_DOWNLOAD_BYTES)})


async def fetch_document(
    bot: Bot, cfg: Config, member_pk: int, year: int, doc: Upload, *, min_chars: int
) -> Content | Refusal:
    """Downloads an accepted document to reading/<year>/<member>/ and hashes it; a .txt must
    decode and be long enough. An empty or refused file is removed again."""
    suffix, problem = rules.check_document(doc.file_name, doc.mime_type, doc.file_size)
    if problem == "type" or suffix is None:
        return Refusal("reading.doc.type")
    if problem == "too_big":
        return _size_refusal("reading.doc.too_big", doc.file_size)
    stored = await uploads.download(
        bot, doc.file_id, cfg.files_dir,
        uploads.stored_path(Path("reading") / str(year) / str(member_pk), suffix),
    )
    if isinstance(stored, str):
        key = "reading.doc.too_big" if stored == "too_big" else "reading.doc.failed"
        return _size_refusal(key, doc.file_size)
    rel, dest = stored.rel, stored.path
    size = dest.stat().st_size
    refusal: Refusal | None = None
    if size == 0:
        refusal = Refusal("reading.doc.empty")
    elif suffix == ".txt":
        text = rules.decode_text_file(await asyncio.to_thread(dest.read_bytes))
        if text is None:
            refusal = Refusal("reading.doc.encoding")
        elif rules.reflection_chars(text) < min_chars:
            refusal = Refusal("reading.reflection.too_short",
                              {"count": rules.reflection_chars(text), "min": min_chars})
    if refusal is not None:
        dest.unlink(missing_ok=True)
        return refusal
    digest = await asyncio.to_thread(sha256, dest)
    name = uploads.display_name(doc.file_name, suffix)
    return Content(None, StoredFile(rel.as_posix(), name, size, digest))


async def receive(
    bot: Bot, cfg: Config, member_pk: int, year: int, *, text: str | None,
    doc: Upload | None, min_chars: int,
) -> Content | Refusal:
    """The content of one message: its document if it has one, else its text."""
    if doc is not None:
        return await fetch_document(bot, cfg, member_pk, year, doc, min_chars=min_chars)
    if text:
        return check_text(text, min_chars)
    return Refusal("reading.reflection.text_or_document")
