"""What the web shows of a file without sending it whole: its first bytes, or the first rows
of a CSV, JSON Lines or Parquet table. Every read is bounded in bytes read, bytes decoded,
rows, columns and cell length, whatever the file holds; a file that cannot be previewed
within those bounds raises InvalidInputError, which the page shows instead of the table."""

from __future__ import annotations

import codecs
import csv
import io
import json
from itertools import islice
from typing import Any

from sqlalchemy.orm import Session

from modelcommons.config import get_settings
from modelcommons.errors import InvalidInputError
from modelcommons.hub import objects
from modelcommons.hub.files import FileEntry
from modelcommons.hub.lfs import find_object
from modelcommons.hub.parquet_preview import preview_parquet
from modelcommons.hub.tables import MAX_COLUMNS, Table, cell, narrow
from modelcommons.storage import get_git

PREVIEW_ROWS = 20
TEXT_BYTES = 1024 * 1024  # the head of a text file or table shown in the browser
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet")
# The csv module refuses fields over 128 KiB; a field can be as long as the head we read.
csv.field_size_limit(max(csv.field_size_limit(), TEXT_BYTES))


class ByteReader:
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
    return ByteReader(session, entry).read(0, limit)


def decode_head(data: bytes, *, complete: bool) -> str:
    """UTF-8 text of a file's first bytes; a character cut at the end is dropped."""
    return codecs.getincrementaldecoder("utf-8")("replace").decode(data, final=complete)


def head_text(session: Session, entry: FileEntry, limit: int) -> str:
    data = head_bytes(session, entry, limit)
    return decode_head(data, complete=len(data) >= entry.size)


def is_table(path: str) -> bool:
    return path.lower().endswith(TABLE_SUFFIXES)


def preview_table(session: Session, entry: FileEntry, rows: int = PREVIEW_ROWS) -> Table:
    """The first rows of a table file; raises InvalidInputError when it cannot be read."""
    reader = ByteReader(session, entry)
    path = entry.path.lower()
    if path.endswith(".parquet"):
        return preview_parquet(reader, rows, budget=get_settings().preview_bytes)
    head = reader.read(0, TEXT_BYTES)
    truncated = entry.size > len(head)
    text = decode_head(head, complete=not truncated)
    if truncated:  # drop a cut last line
        text = text[: text.rfind("\n") + 1]
    if path.endswith(".jsonl"):
        return _jsonl(text, rows)
    return _csv(text, rows, delimiter="\t" if path.endswith(".tsv") else ",")


def _csv(text: str, rows: int, *, delimiter: str) -> Table:
    try:
        lines = list(islice(csv.reader(io.StringIO(text), delimiter=delimiter), rows + 1))
    except csv.Error as exc:
        raise InvalidInputError(f"Not a readable CSV file: {exc}.") from exc
    if not lines:
        raise InvalidInputError("The file is empty.")
    header, body = lines[0], lines[1:]
    table = Table(
        columns=[cell(c) for c in header[:MAX_COLUMNS]],
        rows=[[cell(v) for v in line[:MAX_COLUMNS]] for line in body],
    )
    return narrow(table, max(len(line) for line in lines))


def _json_line(line: str, number: int) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"Line {number} is not valid JSON: {exc.msg}.") from exc
    except RecursionError:  # from None: its traceback is a thousand frames of the parser
        raise InvalidInputError(f"Line {number} is nested too deeply to preview.") from None


def _jsonl(text: str, rows: int) -> Table:
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if len(records) == rows:
            break
        if not line.strip():
            continue
        record = _json_line(line, number)
        records.append(record if isinstance(record, dict) else {"value": record})
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    shown = list(columns)[:MAX_COLUMNS]
    try:
        body = [[cell(r.get(c, "")) for c in shown] for r in records]
    except RecursionError:  # json.dumps of a value nested almost to the parser's limit
        # from None: the RecursionError's traceback is a thousand frames of json.dumps
        raise InvalidInputError("A row is nested too deeply to preview.") from None
    return narrow(Table(columns=[cell(c) for c in shown], rows=body), len(columns))
