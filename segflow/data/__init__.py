"""Data: transaction lines in (imports, generated data, customer attributes), the incremental aggregates folded
from them, and the per-customer features (RFM and the rest) computed from those aggregates in SQL."""
