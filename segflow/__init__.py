"""segflow: scheduled customer segmentation on PostgreSQL."""

__version__ = "0.1.0"
