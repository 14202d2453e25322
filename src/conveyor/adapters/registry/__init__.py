"""The registry adapter (not built yet)."""
