"""The offline segment report: what it reads from the database, its figures, its HTML sections, the page."""
