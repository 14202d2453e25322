"""The store adapter (not built yet)."""
