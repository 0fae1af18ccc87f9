"""Errors a user can act on; the CLI prints their message as one line."""


class SegflowError(Exception):
    """Base for errors whose message is meant for the person running segflow."""


class ConfigError(SegflowError):
    """A setting has a value segflow cannot use."""


class DatabaseUnreachable(SegflowError):
    """PostgreSQL could not be reached; the message names the host, never the password."""


class MigrationError(SegflowError):
    """The schema ledger disagrees with the migration files."""


class ImportRejected(SegflowError):
    """A file cannot be imported at all (as opposed to single rejected lines)."""
