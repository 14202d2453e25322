"""The git adapter (not built yet)."""
