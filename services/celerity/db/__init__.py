"""Database helpers for parallel tasks: rows locked in a fixed order, and retries on deadlock/serialization errors."""
