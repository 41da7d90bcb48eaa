"""Keeps secrets (the bot token) out of every log line, whatever library logged it.

httpx logs request URLs (which hold the token) at INFO and PTB logs its base URL at DEBUG;
rather than trusting every logger's level, a filter on the root handlers redacts the token
from each record's message and traceback.
"""

from __future__ import annotations

import logging

REDACTED = "<token>"


class RedactFilter(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        # The secret part after the colon is redacted too, in case it appears alone.
        parts = {s for s in secrets if s} | {s.split(":", 1)[1] for s in secrets if ":" in s}
        self._secrets = sorted((p for p in parts if len(p) >= 8), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def install(secrets: list[str]) -> None:
    """Adds the redacting filter to every handler of the root logger."""
    root = logging.getLogger()
    flt = RedactFilter(secrets)
    for handler in root.handlers:
        handler.addFilter(flt)
