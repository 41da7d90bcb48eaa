"""A loopback Telegram Bot API emulator and simulated users, for tests, benchmarks and the demo.

`Sandbox` (server.py) serves the Bot API over HTTP on 127.0.0.1; `SandboxUser`/`SandboxGroup`
(client.py) act as people talking to the bot; `Entry` (model.py) is one line of a chat's
transcript. It never touches the internet.
"""

from bot.sandbox.client import SandboxGroup, SandboxUser, render_transcript
from bot.sandbox.model import CallbackAnswer, Entry, SandboxError, SandboxStats, SandboxTimeout
from bot.sandbox.server import Sandbox

__all__ = [
    "CallbackAnswer",
    "Entry",
    "Sandbox",
    "SandboxError",
    "SandboxGroup",
    "SandboxStats",
    "SandboxTimeout",
    "SandboxUser",
    "render_transcript",
]
