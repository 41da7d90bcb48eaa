"""Start-up stays light: building the whole application imports no chart or spreadsheet library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from bot.app import build_application
from bot.core.config import parse_config
build_application(parse_config({"telegram": {"token": "1:x"}}, env={}))
heavy = sorted(m for m in ("matplotlib", "openpyxl", "segno") if m in sys.modules)
print(",".join(heavy))
"""


def test_building_the_app_imports_no_heavy_module() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == "", f"imported at start-up: {out.stdout.strip()}"
