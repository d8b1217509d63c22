"""The first rows of a Parquet file, decoded within a byte budget.

A few kilobytes of Parquet can decode to gigabytes: one compressed page of a repeated
character, or a dictionary holding one huge string that every row points at. So before
pyarrow decodes anything, the page headers of the first row group are read (Thrift's
compact protocol, a few bytes each) and the pages the preview needs must fit the budget;
then strings are kept dictionary-encoded and every cell is cut before it is expanded.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from modelcommons.errors import InvalidInputError
from modelcommons.hub.tables import CELL_CHARS, MAX_COLUMNS, ByteRanges, Table, cell, narrow

FIRST_READ = 1024  # most page headers are a few dozen bytes
HEADER_BYTES = 64 * 1024  # a page header longer than this (huge statistics) is refused
MAX_PAGES = 500  # page headers read for one preview, all columns together
DATA_PAGE, DATA_PAGE_V2 = 0, 3  # the page types that count values (a dictionary page is 2)
LIST_ITEMS = 10  # items of a list cell shown before "…"


class _Unreadable(Exception):
    """A page header that is not valid compact Thrift."""


class _CutShort(_Unreadable):
    """A page header longer than the bytes read for it."""


class _Thrift:
    """Just enough of Thrift's compact protocol to read Parquet page headers."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise _CutShort("the page header is cut short")
        self.pos += 1
        return self.data[self.pos - 1]

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
            if shift > 63:
                raise _Unreadable("a varint is too long")

    def zigzag(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def skip(self, kind: int, depth: int = 0) -> None:
        if depth > 16:
            raise _Unreadable("the page header is nested too deeply")
        if kind in (1, 2):  # booleans live in the field header
            return
        if kind == 3:
            self.pos += 1
        elif kind in (4, 5, 6):
            self.varint()
        elif kind == 7:
            self.pos += 8
        elif kind == 8:
            length = self.varint()  # read first: `pos += varint()` would add to the old pos
            self.pos += length
        elif kind in (9, 10):
            head = self.byte()
            count = head >> 4 if head >> 4 != 15 else self.varint()
            for _ in range(count):
                self.skip(head & 0x0F if head & 0x0F != 1 else 3, depth + 1)
        elif kind == 11:
            count = self.varint()
            types = self.byte() if count else 0
            for _ in range(count):
                self.skip(types >> 4, depth + 1)
                self.skip(types & 0x0F, depth + 1)
        elif kind == 12:
            self.struct(depth + 1)
        else:
            raise _Unreadable(f"unknown Thrift type {kind}")

    def struct(self, depth: int = 0, want: dict[int, Any] | None = None) -> dict[int, Any]:
        """Reads a struct; integer fields in `want` are returned, structs in it read too."""
        found: dict[int, Any] = {}
        field_id = 0
        while True:
            head = self.byte()
            if head == 0:
                return found
            kind, delta = head & 0x0F, head >> 4
            field_id = field_id + delta if delta else self.zigzag()
            if want is not None and field_id in want and kind == 5:
                found[field_id] = self.zigzag()
            elif want is not None and isinstance(want.get(field_id), dict) and kind == 12:
                found[field_id] = self.struct(depth + 1, want[field_id])
            else:
                self.skip(kind, depth)


# PageHeader: 1 type, 2 uncompressed size, 3 compressed size, 5 / 8 data page (v1 / v2)
# headers whose field 1 is num_values; 7 the dictionary page header.
_PAGE_FIELDS: dict[int, Any] = {1: None, 2: None, 3: None, 5: {1: None}, 8: {1: None}}


def _page(reader: ByteRanges, offset: int) -> tuple[int, int, int, int]:
    """(type, decoded size, bytes to the next page, values) of the page at `offset`."""
    for window in (FIRST_READ, HEADER_BYTES):
        parser = _Thrift(reader.read(offset, offset + window))
        try:
            fields = parser.struct(want=_PAGE_FIELDS)
            break
        except _CutShort:
            if window == HEADER_BYTES or len(parser.data) < window:
                raise
    if 2 not in fields or 3 not in fields or min(fields[2], fields[3]) < 0:
        raise _Unreadable("a page header has no sizes")
    values = (fields.get(5) or fields.get(8) or {}).get(1, 0)
    return fields.get(1, -1), fields[2], parser.pos + fields[3], values


def _first_page(chunk: Any) -> int:
    """Where a column chunk's pages start: its dictionary page, when it has one."""
    offsets: list[int] = [o for o in (chunk.dictionary_page_offset, chunk.data_page_offset) if o]
    return min(offsets)


def _chunk_pages(reader: ByteRanges, chunk: Any, rows: int) -> Iterator[int]:
    """Decoded sizes of a column chunk's pages, up to the page that holds row `rows`.
    (For a repeated column, values are list items, so this may stop a page early.)"""
    offset, values = _first_page(chunk), 0
    end = offset + chunk.total_compressed_size
    while offset < end and values < rows:
        try:
            kind, size, step, count = _page(reader, offset)
        except _Unreadable as exc:
            raise InvalidInputError(f"Not a readable Parquet file: {exc}.") from exc
        yield size
        values += count if kind in (DATA_PAGE, DATA_PAGE_V2) else 0
        offset += step


def _check_decoded_size(
    reader: ByteRanges, meta: Any, columns: list[int], rows: int, budget: int
) -> None:
    """Refuses a file whose first `rows` rows would decode to more than `budget` bytes."""
    decoded, covered, pages = 0, 0, 0
    for group in range(meta.num_row_groups):
        if covered >= rows:
            return
        row_group = meta.row_group(group)
        for column in columns:
            for size in _chunk_pages(reader, row_group.column(column), rows - covered):
                decoded, pages = decoded + size, pages + 1
                if pages > MAX_PAGES:
                    raise InvalidInputError(
                        f"Its first {rows} rows span more than {MAX_PAGES} pages."
                    )
                if decoded > budget:
                    raise InvalidInputError(
                        f"Its first {rows} rows decode to more than {budget:,} bytes, "
                        "more than a preview may decode."
                    )
        covered += row_group.num_rows


class _BoundedFile(io.RawIOBase):
    """A seekable file over a file's ByteRanges that refuses to read more than `budget` bytes."""

    def __init__(self, reader: ByteRanges, budget: int) -> None:
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


def _text(scalar: Any, depth: int = 0) -> Any:
    """A JSON-able view of an Arrow value, cut before it is copied out of Arrow's buffers."""
    import pyarrow as pa

    if not scalar.is_valid:
        return None
    if isinstance(scalar, pa.DictionaryScalar):
        return _text(scalar.value, depth)
    if isinstance(scalar, pa.StringScalar | pa.LargeStringScalar):
        return scalar.as_buffer()[: CELL_CHARS * 4].to_pybytes().decode("utf-8", "replace")
    if isinstance(scalar, pa.BinaryScalar | pa.LargeBinaryScalar):
        return repr(scalar.as_buffer()[:CELL_CHARS].to_pybytes())
    if depth > 4:
        return "…"
    if isinstance(scalar, pa.ListScalar | pa.LargeListScalar | pa.FixedSizeListScalar):
        items = scalar.values
        shown = [_text(items[i], depth + 1) for i in range(min(len(items), LIST_ITEMS))]
        return shown + (["…"] if len(items) > LIST_ITEMS else [])
    if isinstance(scalar, pa.StructScalar):
        return {name: _text(scalar[name], depth + 1) for name in list(scalar.keys())[:LIST_ITEMS]}
    return scalar.as_py()


def preview_parquet(reader: ByteRanges, rows: int, *, budget: int) -> Table:
    """The first rows of a Parquet file, reading and decoding at most `budget` bytes."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InvalidInputError("Parquet previews need pyarrow (the 'ml' extra).") from exc
    try:
        parquet = pq.ParquetFile(_BoundedFile(reader, budget))
        meta, schema = parquet.metadata, parquet.schema
        names = parquet.schema_arrow.names[:MAX_COLUMNS]
        leaves = [schema.column(i) for i in range(meta.num_columns)]
        wanted = [i for i, leaf in enumerate(leaves) if leaf.path.split(".")[0] in names]
        _check_decoded_size(reader, meta, wanted, rows, budget)
        strings = [leaves[i].path for i in wanted if leaves[i].physical_type == "BYTE_ARRAY"]
        parquet = pq.ParquetFile(_BoundedFile(reader, budget), read_dictionary=strings)
        batch = next(parquet.iter_batches(batch_size=rows, columns=names), None)
        records = [] if batch is None else _cells(batch, rows)
    except InvalidInputError:
        raise
    except Exception as exc:  # pyarrow raises several types for a malformed file
        raise InvalidInputError(f"Not a readable Parquet file: {exc}") from exc
    table = Table(columns=[cell(n) for n in names], rows=records, total_rows=meta.num_rows)
    return narrow(table, len(parquet.schema_arrow.names))


def _cells(batch: Any, rows: int) -> list[list[str]]:
    columns = [batch.column(i) for i in range(batch.num_columns)]
    return [[cell(_text(column[r])) for column in columns] for r in range(min(rows, len(batch)))]
