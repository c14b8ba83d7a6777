"""Metrics, heartbeats and health: how Celerity's processes tell Prometheus and the operator what they are doing."""
