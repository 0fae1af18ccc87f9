"""Opening an import file (.csv or .csv.gz): the checks before reading, its content digest, and where its
text is not valid in the encoding it is read with."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from segflow.errors import FileMissing, FileProblem, ImportRejected


@dataclasses.dataclass(eq=False)
class NotInEncoding(ImportRejected):
    """The file is not valid text in the encoding it was read with."""

    file: str
    encoding: str
    line: int | None = None  # None when the reader cannot tell

    def where(self) -> str:
        """'{file}: not valid {encoding} text at line {line}', the line left out when unknown."""
        at = f" at line {self.line}" if self.line is not None else ""
        return f"{self.file}: not valid {self.encoding} text{at}"

    def __str__(self) -> str:
        return f"{self.where()}; read it with its own encoding (e.g. latin-1)"


def check_file(path: Path) -> None:
    """Refuse, with a one-line reason, anything that is not a readable CSV text file."""
    if not path.exists():
        raise FileMissing(str(path), "file not found")
    if not path.is_file():
        raise FileMissing(str(path), "not a file")
    name = path.name.lower()
    if not (name.endswith(".csv") or name.endswith(".csv.gz")):
        raise FileProblem(path.name, "expected a .csv or .csv.gz file")
    with path.open("rb") as raw:
        magic = raw.read(4)
    if name.endswith(".gz") and magic[:2] != b"\x1f\x8b":
        raise FileProblem(path.name, "named .gz but is not gzip-compressed")
    try:
        with open_binary(path) as (stream, _raw):
            head = stream.read(64 * 1024)
    except (OSError, EOFError) as exc:
        raise FileProblem(path.name, f"cannot be read: {exc}") from exc
    if not head.strip():
        raise FileProblem(path.name, "the file is empty")
    if head.startswith(b"PK\x03\x04"):
        raise FileProblem(path.name, "is a zip/Excel file, not CSV; export the sheet as CSV first")
    if b"\x00" in head:
        raise FileProblem(path.name, "is not a CSV text file (it contains binary data)")


def content_sha256(path: Path) -> str:
    """sha256 of the file's decompressed bytes: the same data as .csv or .csv.gz is one import."""
    digest = hashlib.sha256()
    with open_binary(path) as (stream, _raw):
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def open_binary(path: Path) -> Iterator[tuple[gzip.GzipFile | io.BufferedReader, io.BufferedReader]]:
    """The decompressed byte stream and the raw file under it (whose position shows progress)."""
    with path.open("rb") as raw:
        if raw.read(2) == b"\x1f\x8b":
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw) as unzipped:
                yield unzipped, raw
        else:
            raw.seek(0)
            yield raw, raw


def first_undecodable_line(path: Path, encoding: str) -> int:
    """The number of the first line that is not valid text in `encoding` (0 when every line is)."""
    # The text layer decodes whole blocks, so the csv reader's position is not where the bad byte is.
    with open_binary(path) as (stream, _raw):
        for number, raw_line in enumerate(stream, start=1):
            try:
                raw_line.decode(encoding)
            except UnicodeDecodeError:
                return number
    return 0
