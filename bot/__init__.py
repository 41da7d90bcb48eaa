"""studybot application: config, wiring, CLI, domain rules, scheduler, i18n, sandbox."""

import os

# Opt in to python-telegram-bot's future behaviour (durations such as RetryAfter.retry_after as
# datetime.timedelta) instead of a deprecation warning on every 429; our code accepts both.
os.environ.setdefault("PTB_TIMEDELTA", "1")
