"""The token never reaches a log line, in messages, arguments or tracebacks."""

from __future__ import annotations

import io
import logging

from bot.core.logsafe import RedactFilter

TOKEN = "987654321:AAH-secret-token-value"


def test_message_args_and_traceback_are_redacted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactFilter([TOKEN]))
    log = logging.getLogger("test.logsafe")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("GET https://api.telegram.org/bot%s/getMe", TOKEN)
        log.warning("secret part alone: AAH-secret-token-value")
        try:
            raise RuntimeError(f"bad url /bot{TOKEN}/sendMessage")
        except RuntimeError:
            log.exception("request failed")
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert "AAH-secret-token-value" not in out
    assert out.count("<token>") == 3
    assert "RuntimeError" in out
