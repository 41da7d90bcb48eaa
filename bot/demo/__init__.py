"""The demo: the real bot against the sandbox, playing scripted scenes."""
