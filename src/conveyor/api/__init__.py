"""HTTP API, webhooks, metrics and dashboard (not built yet)."""
