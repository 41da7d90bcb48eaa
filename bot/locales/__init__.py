"""Message catalogs (TOML), one file per language."""
