"""Receiving goods into lots."""
