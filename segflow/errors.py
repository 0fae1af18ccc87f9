"""Errors a user can act on. Each carries the facts (the bad value, the file, the line, the setting's name, the
limit) as typed fields, and its str() is a readable sentence built from them for logs; the CLI (segflow/cli/wording.py),
the API and the app word the same fields for their own reader. A library sentence never names a CLI flag.

Errors live beside the domain that raises them (ingest's in the segflow/data/ingest/ module that raises each, the
registry's in segflow/modelling/registry.py, ...); this module holds the base and the ones several modules raise."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar


class SegflowError(Exception):
    """Base for errors whose message is meant for the person running segflow.

    A subclass is a dataclass whose fields are the facts and whose `template` (a str.format string over those
    fields) is its sentence; one whose sentence needs more than a template overrides __str__. Raising the base with
    a plain sentence still works, for code outside segflow."""

    template: ClassVar[str] = ""

    def facts(self) -> dict[str, Any]:
        """The error's fields by name (a class with its own __init__: its public attributes; a plain sentence: none)."""
        if dataclasses.is_dataclass(self):
            return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        return {name: value for name, value in vars(self).items() if not name.startswith("_")}

    def __str__(self) -> str:
        if self.template:
            return self.template.format(**self.facts())
        return super().__str__()

    def __reduce__(self) -> tuple[Any, ...]:
        # A dataclass error's fields are not its args; rebuild it from its attributes (Prefect pickles task errors).
        return (_restored, (type(self), dict(self.__dict__), self.args))


def _restored(cls: type[SegflowError], state: dict[str, Any], args: tuple[Any, ...]) -> SegflowError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


def joined(values: Any) -> str:
    """Names in a sentence: 'a, b, c'."""
    return ", ".join(str(v) for v in values)


class ConfigError(SegflowError):
    """A setting has a value segflow cannot use."""


@dataclasses.dataclass(eq=False)
class SettingMissing(ConfigError):
    """A setting a command needs is unset."""

    template = "no {what}: set {setting} to {purpose}"
    what: str
    setting: str
    purpose: str


class DatabaseUnreachable(SegflowError):
    """PostgreSQL could not be reached; the message names the host, never the password."""


@dataclasses.dataclass(eq=False)
class CannotConnect(DatabaseUnreachable):
    """A connection to PostgreSQL failed."""

    template = "cannot reach PostgreSQL at {address}: {reason}"
    address: str  # host:port/database or the socket folder, never the password
    reason: str


@dataclasses.dataclass(eq=False)
class EmbeddedNotStarted(DatabaseUnreachable):
    """The embedded PostgreSQL would not start."""

    template = "could not start the embedded PostgreSQL in {folder}: {reason} (log: {log})"
    folder: str
    reason: str
    log: str


@dataclasses.dataclass(eq=False)
class EmbeddedNoSocket(DatabaseUnreachable):
    """The embedded PostgreSQL runs but reports no socket folder."""

    template = "the embedded PostgreSQL in {folder} reports no socket folder"
    folder: str


@dataclasses.dataclass(eq=False)
class NoChampion(SegflowError):
    """There is no champion model yet: nothing has been trained."""

    template = "there is no champion model yet"


@dataclasses.dataclass(eq=False)
class UnknownFeature(SegflowError):
    """A requested feature is neither an RFM feature nor a loaded customer attribute."""

    unknown: list[str]
    rfm_features: list[str]
    loaded: list[str]

    @property
    def attributes_loaded(self) -> bool:
        return bool(self.loaded)

    def __str__(self) -> str:
        attributes = (
            f"; loaded attributes are {joined(self.loaded)}" if self.loaded else "; no customer attributes are loaded"
        )
        return f"unknown feature(s) {joined(self.unknown)}; RFM features are {joined(self.rfm_features)}{attributes}"


@dataclasses.dataclass(eq=False)
class NonNumericFeature(SegflowError):
    """A requested customer attribute holds text: k-means clusters on numbers only."""

    template = (
        "feature {feature!r} is not numeric: {non_numeric:,} of its {customers:,} values are text "
        "(e.g. {example!r}); clustering needs numbers: leave {feature} out of the features, or load it "
        "encoded as numbers (e.g. one 0/1 column per category)"
    )
    feature: str
    non_numeric: int
    customers: int
    example: str


class MigrationError(SegflowError):
    """The schema ledger disagrees with the migration files."""


class ImportRejected(SegflowError):
    """A file cannot be imported at all (as opposed to single rejected lines)."""


@dataclasses.dataclass(eq=False)
class FileProblem(ImportRejected):
    """A file that cannot be read as a CSV for one named reason (empty, not found, binary, no data lines, ...)."""

    template = "{file}: {problem}"
    file: str
    problem: str


@dataclasses.dataclass(eq=False)
class FileMissing(ImportRejected):
    """The path names no file: nothing there, or a folder."""

    template = "{problem}: {path}"
    path: str
    problem: str  # "file not found" or "not a file"


@dataclasses.dataclass(eq=False)
class ImportFailed(ImportRejected):
    """A file was read but too many of its lines were rejected: nothing was loaded, the batch is recorded
    as failed (batch_id is set once it is)."""

    name: str
    layout: str
    lines_read: int
    rejected: dict[str, int]
    first_rejects: list[tuple[int, str, str, str]]
    max_reject_share: float
    batch_id: int | None = None

    def summary(self) -> str:
        count = sum(self.rejected.values())
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in sorted(self.rejected.items(), key=lambda kv: -kv[1]))
        first = f" (first: line {self.first_rejects[0][0]}, {self.first_rejects[0][2]})" if self.first_rejects else ""
        what = (
            f"all {count:,} lines were rejected"
            if count == self.lines_read
            else f"{count:,} of {self.lines_read:,} lines were rejected ({count / self.lines_read:.1%}, more than "
            f"max_reject_share {self.max_reject_share:.0%})"
        )
        return f"{self.name}: {what}: {reasons}{first}; nothing was loaded"

    def __str__(self) -> str:
        recorded = f"; recorded as failed batch {self.batch_id}" if self.batch_id is not None else ""
        return self.summary() + recorded


@dataclasses.dataclass(eq=False)
class BatchReadDifferently(ImportRejected):
    """The same file content was imported before, read with other options (mapping, date format, ...)."""

    name: str
    batch_id: int
    earlier: dict
    now: dict

    def __str__(self) -> str:
        changed = ", ".join(
            f"{key} {self.earlier.get(key)!r} then, {self.now.get(key)!r} now"
            for key in sorted(set(self.earlier) | set(self.now))
            if self.earlier.get(key) != self.now.get(key)
        )
        return (
            f"{self.name}: this content was imported as batch {self.batch_id} read another way ({changed}); "
            "nothing was loaded: replace that batch to load it this way"
        )


@dataclasses.dataclass(eq=False)
class EmbeddedPortTaken(DatabaseUnreachable):
    """The loopback TCP port chosen for the embedded server is held by another program."""

    template = (
        "port {port} on 127.0.0.1 is taken by another program, so the embedded PostgreSQL cannot listen on it "
        "({setting}): choose a free port or leave the setting unset"
    )
    port: int
    setting: str = "SEGFLOW_EMBEDDED_TCP_PORT"


@dataclasses.dataclass(eq=False)
class SocketGroupUnusable(ConfigError):
    """The OS group meant to reach the embedded server's socket does not exist or cannot be given the folder."""

    template = "socket group {group!r} ({setting}) cannot be used: {reason}"
    group: str
    reason: str
    setting: str = "SEGFLOW_EMBEDDED_SOCKET_GROUP"
