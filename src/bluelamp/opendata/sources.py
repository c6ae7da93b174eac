"""The files an archive import reads: data.police.uk's monthly CSVs, plain, gzipped or in a
monthly zip, found by their names and checked (names, readability, headers, a zip's
contents) before anything is written; read as streams that decompress, hash and count as
they are parsed (``Source.reading``)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bluelamp.errors import InvalidInput
from bluelamp.opendata import vocabulary as vocab
from bluelamp.opendata.model import FileKind
from bluelamp.opendata.parsing import Refused

_NAME = re.compile(
    r"(?P<month>\d{4}-\d{2})-(?P<force>[a-z0-9]+(?:-[a-z0-9]+)*)-(?P<kind>street|outcomes|stop-and-search)\.csv"
    r"(?P<gz>\.gz)?"
)
_KIND_ORDER = {FileKind.STREET: 0, FileKind.OUTCOMES: 1, FileKind.STOP_AND_SEARCH: 2}
_COLUMNS = {
    FileKind.STREET: vocab.STREET_COLUMNS,
    FileKind.OUTCOMES: vocab.OUTCOME_COLUMNS,
    FileKind.STOP_AND_SEARCH: vocab.STOP_COLUMNS,
}


@dataclass(frozen=True)
class Source:
    """One archive CSV to import, as its name describes it."""

    label: str  # what reports show: the file name, or "archive.zip:2016-07/2016-07-x-street.csv"
    path: Path
    member: str | None  # the zip member, or None for a file of its own
    force_id: str
    month: int
    kind: FileKind
    size: int  # bytes as given (on disk, or compressed in the zip)
    expanded: int = 0  # bytes of CSV once uncompressed, as the file says (0: not known)

    @contextmanager
    def open_binary(self) -> Iterator[IO[bytes]]:
        """The CSV bytes, uncompressed, as a stream."""
        if self.member is not None:
            with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as stream:
                yield stream
        elif self.path.name.endswith(".gz"):
            with gzip.open(self.path, "rb") as stream:
                yield stream
        else:
            with self.path.open("rb") as stream:
                yield stream

    def head(self, lines: int) -> list[bytes]:
        """The first lines of the CSV (fewer when the file is shorter)."""
        with self.open_binary() as stream:
            return [line for line in (stream.readline() for _ in range(lines)) if line]

    @contextmanager
    def reading(self) -> Iterator[_Hashed]:
        """The CSV's bytes as a stream that hashes and counts what is read (decompressed as
        it is parsed, never held whole); ``Refused`` when it cannot be read in full."""
        try:
            with self.open_binary() as stream:
                yield _Hashed(stream)
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise Refused(f"cannot be read in full ({_reason(exc)})") from None


class _Hashed(io.RawIOBase):
    """A binary stream's bytes, SHA-256 hashed and counted as they are read."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self.stream, self.sha256, self.count = stream, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        self.count += n
        return n


def _expanded_size(path: Path) -> int:
    """A gzip file's uncompressed size from its trailer (modulo 4 GiB, as gzip keeps it)."""
    try:
        with path.open("rb") as handle:
            handle.seek(-4, io.SEEK_END)
            return int.from_bytes(handle.read(4), "little")
    except OSError:
        return 0


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "it is a folder"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, gzip.BadGzipFile | zlib.error | EOFError):
        return "not a complete gzip file"
    if isinstance(exc, zipfile.BadZipFile):
        return "not a complete zip file"
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _parse_name(name: str) -> tuple[int, str, FileKind] | None:
    found = _NAME.fullmatch(name)
    if found is None:
        return None
    try:
        month = vocab.parse_month(found["month"])
    except ValueError:
        raise InvalidInput(f"{name}: {found['month']!r} is not a month (YYYY-MM)", code="opendata.bad_name") from None
    return month, found["force"], FileKind(found["kind"])


def discover(
    paths: Iterable[Path | str],
    *,
    forces: Iterable[str] | None = None,
    months: Iterable[int] | None = None,
) -> list[Source]:
    """The archive CSVs the paths name, filtered to the forces and months given, in import
    order (month, force, then street before outcomes before stops). Checks names, that
    each file exists and opens, and that zips hold only archive CSVs; raises
    ``InvalidInput`` (one line) on the first problem, before anything is imported."""
    wanted_forces = set(forces) if forces else None
    wanted_months = set(months) if months else None
    found: list[Source] = []

    def keep(month: int, force_id: str) -> bool:
        return (wanted_forces is None or force_id in wanted_forces) and (
            wanted_months is None or month in wanted_months
        )

    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            why = "it is a folder (give the files, or the zip)" if path.is_dir() else "no such file"
            raise InvalidInput(f"{path}: cannot be read ({why})", code="opendata.unreadable")
        if path.name.endswith(".zip"):
            found.extend(_zip_sources(path, keep))
            continue
        parsed = _parse_name(path.name)
        if parsed is None:
            raise InvalidInput(
                f"{path.name}: not named as data.police.uk names its files "
                "(YYYY-MM-<force>-street.csv, -outcomes.csv or -stop-and-search.csv, optionally .gz; or a .zip)",
                code="opendata.bad_name",
            )
        month, force_id, kind = parsed
        if keep(month, force_id):
            size = path.stat().st_size
            expanded = _expanded_size(path) if path.name.endswith(".gz") else size
            found.append(Source(path.name, path, None, force_id, month, kind, size, expanded))
    found.sort(key=lambda s: (s.month, s.force_id, _KIND_ORDER[s.kind]))
    for source in found:
        check_header(source)
    return found


def _zip_sources(path: Path, keep: Callable[[int, str], bool]) -> list[Source]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
    except (OSError, zipfile.BadZipFile) as exc:
        raise InvalidInput(f"{path.name}: cannot be read ({_reason(exc)})", code="opendata.unreadable") from None
    sources, unexpected = [], []
    for info in members:
        parts = info.filename.split("/")
        parsed = _parse_name(parts[-1]) if len(parts) <= 2 and not parts[-1].endswith(".gz") else None
        if parsed is None or (len(parts) == 2 and parts[0] != vocab.month_text(parsed[0])):
            unexpected.append(info.filename)
            continue
        month, force_id, kind = parsed
        if keep(month, force_id):
            sources.append(
                Source(
                    f"{path.name}:{info.filename}",
                    path,
                    info.filename,
                    force_id,
                    month,
                    kind,
                    info.compress_size,
                    info.file_size,
                )
            )
    if unexpected:
        shown = ", ".join(unexpected[:5]) + (f" and {len(unexpected) - 5} more" if len(unexpected) > 5 else "")
        raise InvalidInput(
            f"{path.name}: holds files that are not data.police.uk archive CSVs (YYYY-MM/YYYY-MM-<force>-<kind>.csv): "
            f"{shown}; nothing of it was imported",
            code="opendata.unexpected_files",
        )
    return sources


def check_header(source: Source) -> tuple[int, ...] | None:
    """Check the file's first line is the archive header of its kind; the column order to
    read it in (None: the archive's own order). ``InvalidInput`` names what is wrong."""
    try:
        first = b"".join(source.head(1))
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise InvalidInput(f"{source.label}: cannot be read ({_reason(exc)})", code="opendata.unreadable") from None
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{source.label}: cannot be read (not UTF-8 text)", code="opendata.unreadable") from None
    header = next(csv.reader([text]), None)
    if not header:
        raise InvalidInput(f"{source.label}: the file is empty (no header)", code="opendata.bad_columns")
    return column_order(source, header)


def column_order(source: Source, header: list[str]) -> tuple[int, ...] | None:
    expected = _COLUMNS[source.kind]
    header = [h.strip() for h in header]
    if tuple(header) == expected:
        return None
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    if missing or extra or len(header) != len(expected):
        problems = []
        if missing:
            problems.append("missing " + ", ".join(repr(c) for c in missing))
        if extra:
            problems.append("unexpected " + ", ".join(repr(c) for c in extra))
        if not problems:
            problems.append("a column is repeated")
        raise InvalidInput(
            f"{source.label}: not a {source.kind} file's columns ({'; '.join(problems)})",
            code="opendata.bad_columns",
        )
    return tuple(header.index(c) for c in expected)
