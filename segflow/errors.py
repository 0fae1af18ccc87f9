"""Errors a user can act on; the CLI prints their message as one line."""


class SegflowError(Exception):
    """Base for errors whose message is meant for the person running segflow."""


class ConfigError(SegflowError):
    """A setting has a value segflow cannot use."""


class DatabaseUnreachable(SegflowError):
    """PostgreSQL could not be reached; the message names the host, never the password."""


class NoChampion(SegflowError):
    """There is no champion model yet: nothing has been trained."""

    def __init__(self) -> None:
        super().__init__("there is no champion model yet")


class UnknownFeature(SegflowError):
    """A requested feature is neither an RFM feature nor a loaded customer attribute."""

    def __init__(self, message: str, attributes_loaded: bool) -> None:
        self.attributes_loaded = attributes_loaded
        super().__init__(message)


class NonNumericFeature(SegflowError):
    """A requested customer attribute holds text: k-means clusters on numbers only."""

    def __init__(self, feature: str, non_numeric: int, customers: int, example: str) -> None:
        self.feature, self.non_numeric, self.customers, self.example = feature, non_numeric, customers, example
        super().__init__(
            f"feature {feature!r} is not numeric: {non_numeric:,} of its {customers:,} values are text "
            f"(e.g. {example!r}); clustering needs numbers: leave {feature} out of the features, or load it "
            "encoded as numbers (e.g. one 0/1 column per category)"
        )


class MigrationError(SegflowError):
    """The schema ledger disagrees with the migration files."""


class ImportRejected(SegflowError):
    """A file cannot be imported at all (as opposed to single rejected lines)."""


class ImportFailed(ImportRejected):
    """A file was read but too many of its lines were rejected: nothing was loaded, the batch is recorded
    as failed (batch_id is set once it is)."""

    def __init__(
        self,
        name: str,
        layout: str,
        lines_read: int,
        rejected: dict[str, int],
        first_rejects: list[tuple[int, str, str, str]],
        max_reject_share: float,
    ) -> None:
        self.name, self.layout, self.lines_read, self.rejected = name, layout, lines_read, rejected
        self.first_rejects, self.max_reject_share = first_rejects, max_reject_share
        self.batch_id: int | None = None
        super().__init__(self.summary())

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


class BatchReadDifferently(ImportRejected):
    """The same file content was imported before, read with other options (mapping, date format, ...)."""

    def __init__(self, name: str, batch_id: int, earlier: dict, now: dict) -> None:
        self.name, self.batch_id, self.earlier, self.now = name, batch_id, earlier, now
        changed = ", ".join(
            f"{key} {earlier.get(key)!r} then, {now.get(key)!r} now"
            for key in sorted(set(earlier) | set(now))
            if earlier.get(key) != now.get(key)
        )
        super().__init__(
            f"{name}: this content was imported as batch {batch_id} read another way ({changed}); "
            "nothing was loaded: replace that batch to load it this way"
        )


class EmbeddedPortTaken(DatabaseUnreachable):
    """The loopback TCP port chosen for the embedded server is held by another program."""

    def __init__(self, port: int) -> None:
        self.port = port
        super().__init__(
            f"port {port} on 127.0.0.1 is taken by another program, so the embedded PostgreSQL cannot listen on it "
            "(SEGFLOW_EMBEDDED_TCP_PORT): choose a free port or leave the setting unset"
        )


class SocketGroupUnusable(ConfigError):
    """The OS group meant to reach the embedded server's socket does not exist or cannot be given the folder."""

    def __init__(self, group: str, reason: str) -> None:
        self.group, self.reason = group, reason
        super().__init__(f"socket group {group!r} (SEGFLOW_EMBEDDED_SOCKET_GROUP) cannot be used: {reason}")
