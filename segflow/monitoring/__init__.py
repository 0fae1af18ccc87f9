"""Monitoring: drift between segment populations (the maths, the verdict that decides a retrain, Evidently's
pages and workspace), the offline segment report, and retention of what runs leave behind."""
