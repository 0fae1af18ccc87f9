"""Small builders shared by tests (kept out of conftest so tests can import them by name)."""

# One Online Retail II line with a distinct invoice per i.
LINE = "{i},S,D,1,2010-01-01 00:00:00,1.5,c{i},United Kingdom\n"
