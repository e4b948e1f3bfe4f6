"""Data sources: one loader per source (embedded, hub, ...), used by every task."""
