"""Adapters: the only modules that do I/O.

Each has its own error types and imports no other adapter.
"""
