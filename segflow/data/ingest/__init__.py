"""Imports of transaction files: layouts and mappings, parsing lines, loading them by COPY, and batches."""
