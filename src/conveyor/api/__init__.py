"""HTTP API, webhooks, metrics and dashboard."""
