"""Lots and serials: search, detail and history."""
