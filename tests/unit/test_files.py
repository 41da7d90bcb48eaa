"""Stored files: the place a download lands is chosen by the code, never by the user's file
name (path separators, `..`, control characters, very long names); the name is only a label."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.documents import uploads as files
from bot.reading.rules import DOCUMENT_SUFFIXES as READING_SUFFIXES
from bot.reports.rules import DOCUMENT_SUFFIXES as REPORT_SUFFIXES

HOSTILE = [
    "../../etc/passwd.pdf",
    "..\\..\\windows\\system32\\x.pdf",
    "/abs/olute.pdf",
    "C:\\temp\\x.pdf",
    "..pdf",
    "a/../../b.pdf",
    "line\nbreak.pdf",
    "nul\x00byte.pdf",
    "bell\x07\x1b[31m.pdf",
    "‮fdp.exe.pdf",  # right-to-left override
    "长" * 5000 + ".pdf",
    "x" * 300 + ".PDF",
    " spaced .pdf ",
]


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize(
    ("folder", "prefix"),
    [(Path("reading") / "2026" / "7", ""), (Path("reports") / "G001", "work-"),
     (Path("reports") / "S260302ab9", "")],
)
def test_stored_path_ignores_the_users_name(name: str, folder: Path, prefix: str,
                                            tmp_path: Path) -> None:
    suffix = files.suffix_of(name, {".pdf"})
    assert suffix == ".pdf"
    rel = files.stored_path(folder, suffix, prefix=prefix)
    assert rel.parent == folder
    assert re.fullmatch(re.escape(prefix) + r"[0-9a-f]{32}\.pdf", rel.name), rel.name
    assert not rel.is_absolute() and ".." not in rel.parts
    assert (tmp_path / rel).resolve().is_relative_to(tmp_path.resolve())
    assert len(str(rel)) < 80


def test_stored_paths_are_unique() -> None:
    paths = {files.stored_path(Path("reading"), ".txt") for _ in range(200)}
    assert len(paths) == 200


@pytest.mark.parametrize(
    ("folder", "suffix", "prefix"),
    [
        (Path("reports") / "..", ".pdf", ""),
        (Path("/etc"), ".pdf", ""),
        (Path("reports") / "a b", ".pdf", ""),
        (Path(""), ".pdf", ""),
        (Path("reading"), ".p/df", ""),
        (Path("reading"), "/../x", ""),
        (Path("reading"), "pdf", ""),
        (Path("reading"), ".pdf\n", ""),
        (Path("reading"), ".pdf", "../"),
    ],
)
def test_stored_path_refuses_unsafe_parts(folder: Path, suffix: str, prefix: str) -> None:
    with pytest.raises(ValueError):
        files.stored_path(folder, suffix, prefix=prefix)


@pytest.mark.parametrize(
    ("name", "allowed", "expected"),
    [
        ("心得.DOCX", READING_SUFFIXES, ".docx"),
        ("../../etc/passwd.txt", READING_SUFFIXES, ".txt"),
        ("a.pdf ", READING_SUFFIXES, ".pdf"),
        ("a.tar.gz", REPORT_SUFFIXES, None),
        ("photo.jpg", READING_SUFFIXES, None),
        ("photo.jpg", REPORT_SUFFIXES, ".jpg"),
        ("x.pdf/..", REPORT_SUFFIXES, None),
        ("x.pdf\x00.exe", REPORT_SUFFIXES, None),
        ("noext", REPORT_SUFFIXES, None),
        ("", REPORT_SUFFIXES, None),
        (None, REPORT_SUFFIXES, None),
    ],
)
def test_suffix_of(name: str | None, allowed: frozenset[str], expected: str | None) -> None:
    assert files.suffix_of(name, allowed) == expected


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("三点体会.docx", "三点体会.docx"),
        ("../我的读书心得.docx", "../我的读书心得.docx"),  # a label only: kept as sent
        ("line\nbreak\r.pdf", "linebreak.pdf"),
        ("nul\x00\x07\x1b.pdf", "nul.pdf"),
        ("\x00\n", "document.pdf"),
        ("   ", "document.pdf"),
        (None, "document.pdf"),
        ("长" * 5000 + ".pdf", "长" * 127 + "…"),
    ],
)
def test_display_name(original: str | None, expected: str) -> None:
    assert files.display_name(original, ".pdf") == expected
    assert len(files.display_name(original, ".pdf")) <= files.DISPLAY_NAME_MAX


@pytest.mark.parametrize(
    ("size", "expected"),
    [(None, False), (0, False), (20 * 1024 * 1024, False), (20 * 1024 * 1024 + 1, True)],
)
def test_too_big(size: int | None, expected: bool) -> None:
    assert files.too_big(size) is expected
