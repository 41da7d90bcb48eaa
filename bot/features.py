"""The one explicit, ordered list of studybot's features and what each brings: handler
modules, due checks, digest sections, exporters, importers, pending providers, config checks.

This is the composition root's table: nothing registers itself by being imported, and no
folder is scanned. `bot.app` and the CLI read it; core, delivery and documents never import it.
"""

from __future__ import annotations

# -- config checks (each feature validates its own config section) ---------------------------
