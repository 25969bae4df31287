"""Returns: items rescanned back into the lot they shipped from, into quarantine or disposal."""
