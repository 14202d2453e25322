"""The kube adapter (not built yet)."""
