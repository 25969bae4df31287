"""Pure warehouse rules: no I/O, no framework imports."""
