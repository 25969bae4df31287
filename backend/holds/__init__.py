"""Holds, quarantines and recalls: lot status with its history, impact and effects."""
