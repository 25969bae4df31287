"""Printable labels: lots, locations and badges as SVG, PDF sheets and ZPL."""
