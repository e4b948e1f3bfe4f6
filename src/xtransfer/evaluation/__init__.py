"""Scoring with the official XTREME / XTREME-R semantics (no torch imports here)."""
