"""`studybot run` and `check-config` as real processes (issue 15): a start-up failure is one
line and a non-zero exit, never the token; no token with a config is an error, not the demo;
the token's form is checked without printing it; and the CLI's files are owner-only whatever
the umask it was started with."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

import pytest
from aiohttp import web

from bot.cli import main
from bot.core.config import problem
from tests.helpers import SMALL_ROSTER, free_port, said, write_config_file

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and processes")

SECRET = "AAHfakeFAKEfake_fake-fake0123456789"
TOKEN = f"123456789:{SECRET}"
ROOT = Path(__file__).resolve().parents[2]


def _env(token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "STUDYBOT_TOKEN"}
    if token is not None:
        env["STUDYBOT_TOKEN"] = token
    return env


@asynccontextmanager
async def telegram_answering(status: int, description: str) -> AsyncIterator[str]:
    """A stand-in for api.telegram.org answering every method with `status`; its base URL."""

    async def answer(request: web.Request) -> web.Response:
        body = {"ok": False, "error_code": status, "description": description}
        return web.Response(status=status, text=json.dumps(body),
                            content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def config_for(tmp: Path, base: str, **telegram: str) -> Path:
    return write_config_file(
        tmp / "config.toml", tmp / "studybot.sqlite3",
        telegram={"base_url": f"{base}/bot", "base_file_url": f"{base}/file/bot", **telegram},
    )


async def run_cli(
    tmp: Path, *argv: str, token: str | None = TOKEN, log_file: Path | None = None,
) -> tuple[int, str, str]:
    """Runs `python -m bot ARGV` in `tmp`; (exit code, stdout, stderr). With `log_file`,
    stderr goes there, as systemd's `StandardError=append:` would send it."""
    err_target: IO[bytes] | int = asyncio.subprocess.PIPE
    if log_file is not None:
        err_target = await asyncio.to_thread(log_file.open, "wb")
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *argv, cwd=tmp, env=_env(token),
            stdout=asyncio.subprocess.PIPE, stderr=err_target,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        if not isinstance(err_target, int):
            err_target.close()
    if log_file is not None:
        err = await asyncio.to_thread(log_file.read_bytes)
    assert proc.returncode is not None
    return proc.returncode, out.decode("utf-8", "replace"), (err or b"").decode("utf-8", "replace")


def assert_one_line_without_the_token(rc: int, out: str, err: str, key: str, **params: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 1, (rc, out, err)
    assert len(lines) == 1, err
    assert said(lines[0], key, **params), lines[0]
    assert "Traceback" not in err
    for text in (out, err):
        assert SECRET not in text and TOKEN not in text


@pytest.mark.parametrize(("status", "description"), [(401, "Unauthorized"), (404, "Not Found")])
async def test_a_token_telegram_refuses_is_one_line_and_exit_1(
    tmp_path: Path, status: int, description: str,
) -> None:
    async with telegram_answering(status, description) as base:
        config = config_for(tmp_path, base)
        rc, out, err = await run_cli(tmp_path, "run", "--config", str(config))
        assert_one_line_without_the_token(rc, out, err, "startup.bad_token", status=str(status))
        # With -v the traceback is logged, but the token still never is.
        log_file = tmp_path / "studybot.log"
        rc, out, _ = await run_cli(tmp_path, "-v", "run", "--config", str(config),
                                   log_file=log_file)
        logged = await asyncio.to_thread(log_file.read_text, "utf-8", "replace")
        assert rc == 1 and "start-up failed" in logged, logged
        assert SECRET not in logged and SECRET not in out


async def test_telegram_unreachable_is_one_line_and_exit_1(tmp_path: Path) -> None:
    config = config_for(tmp_path, f"http://127.0.0.1:{free_port()}")  # nobody listens there
    rc, out, err = await run_cli(tmp_path, "run", "--config", str(config))
    assert_one_line_without_the_token(rc, out, err, "startup.unreachable")


async def test_a_config_without_a_token_is_an_error_not_the_demo(tmp_path: Path) -> None:
    config = config_for(tmp_path, "http://127.0.0.1:9")
    rc, out, err = await run_cli(tmp_path, "run", "--config", str(config), token=None)
    assert rc == 2, (out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and said(lines[0], "startup.no_token", source=str(config)), err
    assert out == ""
    # ./config.toml is a config too (`studybot run` picks it up).
    rc, out, err = await run_cli(tmp_path, "run", token=None)
    assert rc == 2 and said(err, "startup.no_token", source="config.toml"), err


# -- check-config and the token --------------------------------------------------------------


@pytest.mark.parametrize("token", ["123456789", "123:short", f"bot{TOKEN}", f"{TOKEN} x",
                                   "12345678:" + "ä" * 35])
def test_check_config_flags_a_malformed_token_without_printing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    token: str,
) -> None:
    monkeypatch.delenv("STUDYBOT_TOKEN", raising=False)
    config = config_for(tmp_path, "http://127.0.0.1:9")
    config.write_text(config.read_text("utf-8") + f"token = {json.dumps(token)}\n", "utf-8")
    assert main(["check-config", "--config", str(config)]) == 2
    out, err = capsys.readouterr()
    assert "[telegram] token" in err and "OK" not in out
    assert token not in out + err
    # From the environment it is the same.
    config_for(tmp_path, "http://127.0.0.1:9")
    monkeypatch.setenv("STUDYBOT_TOKEN", token)
    assert main(["check-config", "--config", str(config)]) == 2
    out, err = capsys.readouterr()
    assert "[telegram] token" in err and token not in out + err


def test_check_config_warns_of_a_missing_token_and_passes_a_good_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STUDYBOT_TOKEN", raising=False)
    config = config_for(tmp_path, "http://127.0.0.1:9")
    assert main(["check-config", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    # The programme's default language (no `[program] language` in the file): zh.
    not_set = problem("zh", "[telegram] token", "token_not_set_run", env="STUDYBOT_TOKEN")
    assert "OK" in out and not_set in err
    monkeypatch.setenv("STUDYBOT_TOKEN", TOKEN)
    assert main(["check-config", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert "OK" in out and "[telegram] token" not in err and SECRET not in out + err


# -- owner-only files from the CLI -----------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_cli_writes_owner_only_files_under_umask_022(tmp_path: Path) -> None:
    config = config_for(tmp_path, "http://127.0.0.1:9", username="study_bot")
    roster = tmp_path / "roster.csv"
    roster.write_text(SMALL_ROSTER, encoding="utf-8")

    def cli(*argv: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "bot", *argv], cwd=tmp_path, env=_env(None), umask=0o022,
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert done.returncode == 0, (argv, done.stdout, done.stderr)

    cli("roster", "import", "--config", str(config), str(roster))
    cli("backup", "--config", str(config), "--out", str(tmp_path / "backups" / "b.sqlite3"))
    cli("export", "all", "--config", str(config), "--out", str(tmp_path / "all.xlsx"))
    cli("export", "roster", "--config", str(config), "--format", "csv",
        "--out", str(tmp_path / "roster-export.csv"))
    cli("invites", "--config", str(config), "--out", str(tmp_path / "invites"))
    files = [tmp_path / "studybot.sqlite3", tmp_path / "backups" / "b.sqlite3",
             tmp_path / "all.xlsx", tmp_path / "roster-export.csv",
             tmp_path / "invites" / "invites.csv", *(tmp_path / "invites" / "qr").iterdir()]
    assert len(files) > 6
    for path in files:
        assert _mode(path) == 0o600, path
    for folder in (tmp_path / "backups", tmp_path / "invites", tmp_path / "invites" / "qr"):
        assert _mode(folder) == 0o700, folder
