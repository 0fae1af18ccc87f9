"""Imports of transaction files: layouts and mappings, parsing lines, loading them by COPY, and batches.

layouts.py (which column is which field, --map, header sniffing) -> parse.py (a line to a row or a reject reason)
-> load.py (the one-transaction COPY of a file, its batch record); files.py opens and checks a file; batches.py
lists and removes batches. Import from the module that defines a name: this package re-exports nothing."""
