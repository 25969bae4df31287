"""Scanning: barcodes parsed, resolved to what they name, judged and recorded."""
