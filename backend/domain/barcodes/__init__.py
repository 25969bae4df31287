"""Reading barcodes: GS1 element strings, bracketed text, Digital Link, GTINs and our labels.

`parse_barcode(raw)` is the one entry point; it always returns a `Parsed`, with coded
`errors` (see `ERROR_CODES`) when the scan is not valid.
"""

from __future__ import annotations

from .errors import ERROR_CODES
from .parsed import BarcodeError, Kind, Parsed
from .reader import parse_barcode

__all__ = ["ERROR_CODES", "BarcodeError", "Kind", "Parsed", "parse_barcode"]
