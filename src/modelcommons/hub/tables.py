"""What every table preview shares: the Table it returns, the bounds on its columns and cells,
and the byte ranges it reads. Kept apart so that hub.previews (CSV, JSON Lines) and
hub.parquet_preview build on it without importing each other."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

MAX_COLUMNS = 100  # columns shown; wider tables say how many more there are
CELL_CHARS = 200


class ByteRanges(Protocol):
    """A file's size and ranges of its bytes (hub.previews.ByteReader reads stored files)."""

    size: int

    def read(self, start: int, end: int) -> bytes: ...


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    total_rows: int | None = None  # known for Parquet (from its footer)
    notes: list[str] = field(default_factory=list)


def cell(value: Any) -> str:
    """A value as a table cell, cut to CELL_CHARS; lone surrogates (JSON's "\\ud800") become
    "?", since a page that holds one cannot be encoded."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"
    return text.encode("utf-8", "replace").decode("utf-8")


def narrow(table: Table, width: int) -> Table:
    """The table's first MAX_COLUMNS columns, saying so when there were more."""
    if width > MAX_COLUMNS:
        table.notes.append(f"Only the first {MAX_COLUMNS} of {width:,} columns are shown.")
    return table
