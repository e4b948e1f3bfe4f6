"""Metric implementations with the semantics of the official XTREME scripts (pure Python)."""
