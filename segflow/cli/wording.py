"""How the command line words every segflow error: one table, error type -> (sentence, hint), built from the
error's fields. The library's sentence names values and settings; this table adds which command or option to use.

A type missing from WORDING prints its library sentence as is; LIBRARY_SENTENCE lists the types for which that is
deliberate, and a test checks that every SegflowError subclass is in one of the two. The errors the commands raise
themselves (segflow/cli/errors.py) are worded where they are raised."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from segflow.cli.errors import (
    AggregatesDiffer,
    AppPortTaken,
    AppStopped,
    NoDriftReport,
    OptionInvalid,
    RfmOnlyFromTransactions,
    ScoreFileMissing,
)
from segflow.data.attributes import ColumnsCollide, CustomerLineInvalid, CustomerRepeated, MissingIdColumn
from segflow.data.features import (
    NobodyActive,
    RecomputeNotPartitioned,
    SourceColumnsMissing,
    SourceTableMissing,
    TooFewFeatures,
)
from segflow.data.generate import InvalidSpec, UnknownArchetypes
from segflow.data.ingest.batches import BatchNotRemovable
from segflow.data.ingest.files import NotInEncoding
from segflow.data.ingest.layouts import (
    HeaderRejected,
    MappingColumnsAbsent,
    MappingInvalid,
    OtherDelimiter,
    RequiredColumnsAbsent,
    UnrecognisedHeader,
)
from segflow.data.ingest.load import ImportOptionInvalid, MalformedCsv
from segflow.data.ingest.parse import DatesReadBothWays
from segflow.errors import (
    BatchReadDifferently,
    CannotConnect,
    ConfigError,
    DatabaseUnreachable,
    EmbeddedNoSocket,
    EmbeddedNotStarted,
    EmbeddedPortTaken,
    FileMissing,
    FileProblem,
    ImportFailed,
    ImportRejected,
    MigrationError,
    NoChampion,
    NonNumericFeature,
    SegflowError,
    SettingMissing,
    SocketGroupUnusable,
    UnknownFeature,
)
from segflow.modelling.candidates import NoCentroids
from segflow.modelling.mlflow_mirror import MlflowNotInstalled, MlflowUnavailable
from segflow.modelling.registry import ModelIntegrityError, UnknownModelVersion
from segflow.modelling.scoring import MissingFeatureValues
from segflow.modelling.segment_model import FeaturesLacking, TrainingRefused
from segflow.modelling.selection import (
    ClusterRangeInvalid,
    NoCandidatePassed,
    PcaComponentsInvalid,
    TooFewCustomers,
    UnknownAlgorithms,
)
from segflow.monitoring.drift_shares import DriftInputInvalid, SegmentSharesInvalid
from segflow.orchestration.alerts import AutomationsFileError
from segflow.orchestration.prefect_server import PrefectServerUnavailable
from segflow.orchestration.run_guard import RunTimedOut
from segflow.orchestration.runs import (
    AttemptNotRunning,
    BackfillRangeInvalid,
    NoModelVersion,
    NoPublishedRun,
    RunNotFound,
    RunRowsDropped,
    RunUnpublished,
    UnknownAttempt,
    UnknownRun,
)
from segflow.orchestration.withdrawal import (
    AlreadyWithdrawn,
    MissingReason,
    NoEarlierChampion,
    NothingToReturnTo,
    PromotionInUse,
    RunNotPublished,
    UnknownRunDate,
    WithdrawRefused,
)
from segflow.serving.bi import BiLoginRefused, EmptyPassword, LoginNameInvalid, NoRolePermission, RoleRace, RoleTaken
from segflow.serving.bi_catalog import MissingGeneratedSection
from segflow.serving.customers import FeatureValueInvalid, UnknownCustomer
from segflow.serving.uploads import LineTooLong, ScoringTooSlow, TooManyColumns, UnreadableCsv, UploadRefused
from segflow.settings import ConfigFileError
from segflow.stages.prepare import (
    FutureAsOf,
    NoChampionToKeep,
    NoPurchaseLines,
    OutsideSourceWindow,
    RunRefused,
    StaleSource,
    UnknownRetrainMode,
)
from segflow.storage.migrations import (
    DatabaseNewer,
    MigrationEdited,
    MigrationFileMisnamed,
    MigrationVersionsRepeated,
    SqlFolderMismatch,
)

# --- the table ---

Part = str | Callable[[Any], str] | None


@dataclasses.dataclass(frozen=True)
class Wording:
    """A sentence (a str.format template over the error's facts, a function of the error, or None: the library's
    sentence) and a hint appended to it (same forms; None: no hint). A hint carries its own leading punctuation."""

    sentence: Part = None
    hint: Part = None


_FEATURE_OPTIONS = {"recency_days": "--recency", "frequency": "--frequency", "monetary": "--monetary"}


def _date_format_hint(error: DatesReadBothWays) -> str:
    day_first, month_first = error.formats["day-first"], error.formats["month-first"]
    if error.day_first and not error.month_first:
        return f" (pass --date-format '{day_first}')"
    return f" (pass --date-format '{day_first}' for day-first dates, or '{month_first}' for month-first)"


def _import_failed_hint(error: ImportFailed) -> str:
    dates = (
        "; if the dates are in another layout, pass --date-format with strptime codes for values like "
        "the first rejected one (e.g. '%d-%b-%y %H:%M' reads '14-Jan-15 08:26')"
        if "unparseable_date" in error.rejected
        else ""
    )
    return f"{dates}; see segflow batches, and segflow.import_rejects for its first rejected lines"


def _missing_features(error: MissingFeatureValues) -> str:
    if error.file:  # score-file
        return f"{error.file} lacks column(s) the model needs: {error.sentence()}"
    return error.sentence()


def _missing_features_hint(error: MissingFeatureValues) -> str:
    if error.file:
        return f" (pass --map {','.join(f'{name}=COLUMN' for name in error.features)})"
    return f" (give {', '.join(_FEATURE_OPTIONS.get(f, f'--feature {f}=VALUE') for f in error.features)})"


def _unrecognised_header(error: UnrecognisedHeader) -> str:
    where = f"{error.file}: " if error.file else ""
    return (
        f"{where}unrecognised header ({error.shown}); expected the Online Retail or Online Retail II layout, "
        f"or pass --map target=source,... (e.g. --map {error.example})"
    )


WORDING: dict[type[SegflowError], Wording] = {
    NoChampion: Wording(hint="; run `segflow run` (or `segflow demo`) first"),
    UnknownModelVersion: Wording(hint=" (see: segflow models list)"),
    UnknownFeature: Wording(hint=lambda e: "" if e.attributes_loaded else " (segflow load-customers)"),
    MissingFeatureValues: Wording(_missing_features, _missing_features_hint),
    FeatureValueInvalid: Wording(),
    DatesReadBothWays: Wording(hint=_date_format_hint),
    OtherDelimiter: Wording(hint=" (pass --delimiter '{found}')"),
    NotInEncoding: Wording(lambda e: f"{e.where()}; pass --encoding latin-1 (or the file's encoding)"),
    UnrecognisedHeader: Wording(_unrecognised_header),
    MissingIdColumn: Wording(lambda e: e.where() + ("" if e.given is not None else "; pass --id COLUMN")),
    MappingInvalid: Wording("--map: {message}"),
    StaleSource: Wording(
        hint="; load the missing days first, or pass --allow-stale-source to run this date anyway "
        "(a deliberate what-if)"
    ),
    UnknownRetrainMode: Wording("--retrain must be one of {modes}, got {mode!r}"),
    InvalidSpec: Wording("--{field} {rule}, got {value}"),  # the spec's fields are `segflow generate`'s options
    BatchReadDifferently: Wording(
        hint="; to load it this way instead, add --replace to this command "
        "(the earlier batch's lines are removed in the same transaction)"
    ),
    ImportFailed: Wording(hint=_import_failed_hint),
    PrefectServerUnavailable: Wording(
        hint=lambda e: " (stop it with segflow prefect stop, then try again)" if e.still_running else ""
    ),
}

# Types whose library sentence is already what the command line says: nothing to add, on purpose.
LIBRARY_SENTENCE: frozenset[type[SegflowError]] = frozenset(
    {
        SegflowError,  # a plain sentence raised by code outside segflow
        # groups, raised only through their subclasses
        ConfigError,
        DatabaseUnreachable,
        ImportRejected,
        MigrationError,
        HeaderRejected,
        TrainingRefused,
        RunRefused,
        UnknownRun,
        WithdrawRefused,
        UploadRefused,
        BiLoginRefused,
        # the database, settings and files: the sentence names the setting or file to fix
        CannotConnect,
        EmbeddedNotStarted,
        EmbeddedNoSocket,
        EmbeddedPortTaken,
        SocketGroupUnusable,
        SettingMissing,
        ConfigFileError,
        AutomationsFileError,
        MlflowNotInstalled,
        MlflowUnavailable,
        FileMissing,
        FileProblem,
        MalformedCsv,
        MappingColumnsAbsent,
        RequiredColumnsAbsent,
        ImportOptionInvalid,
        BatchNotRemovable,
        ColumnsCollide,
        CustomerLineInvalid,
        CustomerRepeated,
        MigrationFileMisnamed,
        MigrationVersionsRepeated,
        SqlFolderMismatch,
        DatabaseNewer,
        MigrationEdited,
        MissingGeneratedSection,
        # runs and models: the sentence says what to do without an option
        NonNumericFeature,
        TooFewFeatures,
        SourceTableMissing,
        SourceColumnsMissing,
        RecomputeNotPartitioned,
        NobodyActive,
        NoCentroids,
        FeaturesLacking,
        NoCandidatePassed,
        UnknownAlgorithms,
        PcaComponentsInvalid,
        TooFewCustomers,
        ClusterRangeInvalid,
        ModelIntegrityError,
        UnknownCustomer,
        UnknownAttempt,
        RunNotFound,
        RunRowsDropped,
        RunUnpublished,
        NoModelVersion,
        AttemptNotRunning,
        BackfillRangeInvalid,
        OutsideSourceWindow,
        FutureAsOf,
        NoPurchaseLines,
        NoChampionToKeep,
        NoPublishedRun,
        RunTimedOut,
        UnknownArchetypes,
        DriftInputInvalid,
        SegmentSharesInvalid,
        UnknownRunDate,
        RunNotPublished,
        AlreadyWithdrawn,
        NothingToReturnTo,
        PromotionInUse,
        NoEarlierChampion,
        MissingReason,
        TooManyColumns,
        LineTooLong,
        ScoringTooSlow,
        UnreadableCsv,
        EmptyPassword,
        LoginNameInvalid,
        RoleTaken,
        NoRolePermission,
        RoleRace,
        # the commands' own errors, worded where they are raised
        OptionInvalid,
        NoDriftReport,
        AggregatesDiffer,
        ScoreFileMissing,
        RfmOnlyFromTransactions,
        AppStopped,
        AppPortTaken,
    }
)


def _part(part: Part, error: SegflowError) -> str:
    if part is None:
        return ""
    if isinstance(part, str):
        return part.format(**error.facts(), message=str(error))
    return part(error)


def worded(error: SegflowError) -> str:
    """The error in this command line's words: its sentence (the library's unless the table has one) and hint."""
    wording = WORDING.get(type(error))
    if wording is None:
        return str(error)
    sentence = _part(wording.sentence, error) if wording.sentence is not None else str(error)
    return sentence + _part(wording.hint, error)
