"""What the web shows of a file without sending it whole: its first bytes, or the first rows
of a CSV, JSON Lines or Parquet table. Every read is bounded, whatever the file's size."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy.orm import Session

from modelcommons.db.models import FileEntry
from modelcommons.errors import InvalidInputError
from modelcommons.hub import objects
from modelcommons.hub.lfs import find_object
from modelcommons.storage import get_git

PREVIEW_ROWS = 20
TEXT_BYTES = 1024 * 1024  # the head of a text file or table shown in the browser
PARQUET_BYTES = 32 * 1024 * 1024  # what a Parquet preview may read: footer + first pages
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet")


class _ByteReader:
    """Reads ranges of one file's bytes, wherever they are stored."""

    def __init__(self, session: Session, entry: FileEntry) -> None:
        self.size = entry.size
        self.stored = find_object(session, entry.lfs_sha256) if entry.lfs_sha256 else None
        self.blob = None if self.stored else get_git().blob_data(entry.oid)

    def read(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if start >= end:
            return b""
        if self.blob is not None:
            return self.blob[start:end]
        assert self.stored is not None
        return b"".join(objects.iter_object(self.stored, start, end))


def head_bytes(session: Session, entry: FileEntry, limit: int = TEXT_BYTES) -> bytes:
    return _ByteReader(session, entry).read(0, limit)


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    total_rows: int | None = None  # known for Parquet (from its footer)
    notes: list[str] = field(default_factory=list)


def is_table(path: str) -> bool:
    return path.lower().endswith(TABLE_SUFFIXES)


def preview_table(session: Session, entry: FileEntry, rows: int = PREVIEW_ROWS) -> Table:
    """The first rows of a table file; raises InvalidInputError when it cannot be read."""
    reader = _ByteReader(session, entry)
    path = entry.path.lower()
    if path.endswith(".parquet"):
        return _parquet(reader, rows)
    head = reader.read(0, TEXT_BYTES)
    truncated = entry.size > len(head)
    text = head.decode("utf-8", errors="replace")
    if truncated:  # drop a cut last line
        text = text[: text.rfind("\n") + 1]
    if path.endswith(".jsonl"):
        return _jsonl(text, rows)
    return _csv(text, rows, delimiter="\t" if path.endswith(".tsv") else ",")


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:199] + "…"


def _csv(text: str, rows: int, *, delimiter: str) -> Table:
    lines = list(islice(csv.reader(io.StringIO(text), delimiter=delimiter), rows + 1))
    if not lines:
        raise InvalidInputError("The file is empty.")
    header, body = lines[0], lines[1:]
    return Table(columns=header, rows=[[_cell(v) for v in line] for line in body])


def _jsonl(text: str, rows: int) -> Table:
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if len(records) == rows:
            break
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"Line {number} is not valid JSON: {exc.msg}.") from None
        records.append(record if isinstance(record, dict) else {"value": record})
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    return Table(
        columns=list(columns),
        rows=[[_cell(r.get(c, "")) for c in columns] for r in records],
    )


class _BoundedFile(io.RawIOBase):
    """A seekable file over a _ByteReader that refuses to read more than `budget` bytes."""

    def __init__(self, reader: _ByteReader, budget: int) -> None:
        self.reader, self.budget, self.position = reader, budget, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.reader.size}
        self.position = base[whence] + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self.reader.size - self.position)
        if want > self.budget:
            raise InvalidInputError("The first rows of this Parquet file are too big to preview.")
        data = self.reader.read(self.position, self.position + want)
        self.budget -= len(data)
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def _parquet(reader: _ByteReader, rows: int) -> Table:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InvalidInputError("Parquet previews need pyarrow (the 'ml' extra).") from None
    try:
        parquet = pq.ParquetFile(_BoundedFile(reader, PARQUET_BYTES))
        batch = next(parquet.iter_batches(batch_size=rows), None)
    except InvalidInputError:
        raise
    except Exception as exc:  # pyarrow raises several types for a malformed file
        raise InvalidInputError(f"Not a readable Parquet file: {exc}") from None
    columns = parquet.schema_arrow.names
    records = batch.to_pylist()[:rows] if batch is not None else []
    return Table(
        columns=columns,
        rows=[[_cell(r.get(c)) for c in columns] for r in records],
        total_rows=parquet.metadata.num_rows,
    )
