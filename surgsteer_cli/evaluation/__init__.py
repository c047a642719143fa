"""Scoring model answers: matching against references, metrics, per-sample logs."""
