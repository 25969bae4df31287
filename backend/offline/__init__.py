"""Offline handhelds: the snapshot they check scans against, batch replay, exceptions."""
