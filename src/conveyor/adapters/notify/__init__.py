"""The notify adapter (not built yet)."""
