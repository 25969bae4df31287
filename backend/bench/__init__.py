"""`lotline bench`: self-contained benchmarks with real clients."""
