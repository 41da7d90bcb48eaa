"""aiosqlite storage: connection, migrations, repositories."""
