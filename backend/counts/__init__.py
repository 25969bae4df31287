"""Cycle counts: blind counts by bin and lot, recounts, approval, adjustments."""
