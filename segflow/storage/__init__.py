"""Storage: the one door to PostgreSQL (connections, named SQL files, COPY), the embedded server, migrations,
and the files segflow writes beside the database with private modes."""
