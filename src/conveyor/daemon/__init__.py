"""Daemon loops: sync, registry scan, automation, the per-repo job queue (not built yet)."""
