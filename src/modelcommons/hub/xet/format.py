"""Xet wire formats, as the "Xet Protocol Specification" defines them: keyed BLAKE3 hashes,
the aggregated (Merkle) hash of chunk lists, xorbs (compressed chunks) and shards (file
reconstructions and xorb chunk lists). Pure functions on bytes; no I/O.

A hash is kept as the 32 raw bytes the protocol hashes and stores. Its text form is the
protocol's: each 8-byte group read as a little-endian u64 and printed as 16 hex digits.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import blake3
import lz4.frame

from modelcommons.errors import InvalidInputError, PayloadTooLargeError

# Hash keys fixed by the protocol (data leaves, internal nodes, shard range verification).
DATA_KEY = bytes(
    [
        102,
        151,
        245,
        119,
        91,
        149,
        80,
        222,
        49,
        53,
        203,
        172,
        165,
        151,
        24,
        28,
        157,
        228,
        33,
        16,
        155,
        235,
        43,
        88,
        180,
        208,
        176,
        75,
        147,
        173,
        242,
        41,
    ]
)
INTERNAL_NODE_KEY = bytes(
    [
        1,
        126,
        197,
        199,
        165,
        71,
        41,
        150,
        253,
        148,
        102,
        102,
        180,
        138,
        2,
        230,
        93,
        221,
        83,
        111,
        55,
        199,
        109,
        210,
        248,
        99,
        82,
        230,
        74,
        83,
        113,
        63,
    ]
)
ZERO_KEY = bytes(32)
MEAN_BRANCHING = 4
MAX_CHUNK_BYTES = 128 * 1024
XORB_FOOTER_IDENT = b"XETBLOB"
CHUNK_HEADER = struct.Struct("<B3sB3s")
SHARD_TAG = bytes(
    [
        72,
        70,
        82,
        101,
        112,
        111,
        77,
        101,
        116,
        97,
        68,
        97,
        116,
        97,
        0,
        85,
        105,
        103,
        69,
        106,
        123,
        129,
        87,
        131,
        165,
        189,
        217,
        92,
        205,
        209,
        74,
        169,
    ]
)
ENTRY = 48  # every shard record is 48 bytes
BOOKEND = b"\xff" * 32
FLAG_VERIFICATION = 1 << 31
FLAG_METADATA_EXT = 1 << 30


_U64X4 = struct.Struct("<4Q")


def to_hex(digest: bytes) -> str:
    return "{:016x}{:016x}{:016x}{:016x}".format(*_U64X4.unpack(digest))


def from_hex(text: str) -> bytes:
    if len(text) != 64:
        raise InvalidInputError(f"Invalid Xet hash {text[:80]!r}: expected 64 hex digits.")
    try:
        return _U64X4.pack(*(int(text[i : i + 16], 16) for i in range(0, 64, 16)))
    except (ValueError, struct.error) as exc:
        raise InvalidInputError(f"Invalid Xet hash {text!r}: not hexadecimal.") from exc


def chunk_hash(data: bytes | memoryview) -> bytes:
    return blake3.blake3(data, key=DATA_KEY).digest()


def _merge(entries: Sequence[tuple[bytes, int]]) -> tuple[bytes, int]:
    text = "".join(f"{to_hex(h)} : {size}\n" for h, size in entries)
    return blake3.blake3(text.encode(), key=INTERNAL_NODE_KEY).digest(), sum(s for _, s in entries)


def _next_cut(entries: Sequence[tuple[bytes, int]]) -> int:
    """Where the next group ends: at a hash ≡ 0 mod 4 (from the third on), at most 9 long."""
    if len(entries) <= 2:
        return len(entries)
    end = min(2 * MEAN_BRANCHING + 1, len(entries))
    for i in range(2, end):
        if int.from_bytes(entries[i][0][24:32], "little") % MEAN_BRANCHING == 0:
            return i + 1
    return end


def aggregated_hash(entries: Sequence[tuple[bytes, int]]) -> bytes:
    """The Merkle hash of (hash, size) pairs, with content-defined branching."""
    if not entries:
        return ZERO_KEY
    level = list(entries)
    while len(level) > 1:
        merged, i = [], 0
        while i < len(level):
            cut = i + _next_cut(level[i:])
            merged.append(_merge(level[i:cut]))
            i = cut
        level = merged
    return level[0][0]


def xorb_hash(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    return aggregated_hash(chunks)


def file_hash(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    if not chunks:
        return ZERO_KEY
    return blake3.blake3(aggregated_hash(chunks), key=ZERO_KEY).digest()


# ---------------------------------------------------------------- xorbs


@dataclass(frozen=True)
class XorbChunk:
    hash: bytes
    start: int  # offset of the chunk header in the xorb
    end: int  # offset just past its compressed bytes
    size: int  # uncompressed bytes


def _regroup_bg4(grouped: bytes) -> bytes:
    """Undo byte grouping: groups of bytes 0,1,2,3 mod 4, the first groups one longer."""
    n, split, rem = len(grouped), len(grouped) // 4, len(grouped) % 4
    sizes = [split + (1 if rem > g else 0) for g in range(4)]
    out = bytearray(n)
    offset = 0
    for g, size in enumerate(sizes):
        out[g::4] = grouped[offset : offset + size]
        offset += size
    return bytes(out)


Buffer = bytes | memoryview


def decompress_chunk(scheme: int, payload: Buffer, size: int) -> Buffer:
    try:
        if scheme == 0:
            data = payload
        elif scheme == 1:
            data = lz4.frame.decompress(payload)
        elif scheme == 2:
            data = _regroup_bg4(lz4.frame.decompress(payload))
        else:
            raise InvalidInputError(f"Unknown chunk compression scheme {scheme}.")
    except RuntimeError as exc:
        raise InvalidInputError(f"A chunk does not decompress: {exc}") from exc
    if len(data) != size:
        raise InvalidInputError("A chunk's size does not match its header.")
    return data


def read_chunk(buffer: memoryview, offset: int) -> tuple[Buffer, int]:
    """The uncompressed chunk at `offset`, and the offset after it (views, not copies)."""
    if offset + CHUNK_HEADER.size > len(buffer):
        raise InvalidInputError("Truncated chunk header in xorb.")
    version, clen, scheme, ulen = CHUNK_HEADER.unpack_from(buffer, offset)
    compressed = int.from_bytes(clen, "little")
    size = int.from_bytes(ulen, "little")
    if version != 0 or size > MAX_CHUNK_BYTES or compressed > 2 * MAX_CHUNK_BYTES:
        raise InvalidInputError("Malformed chunk header in xorb.")
    start = offset + CHUNK_HEADER.size
    if start + compressed > len(buffer):
        raise InvalidInputError("Truncated chunk data in xorb.")
    return decompress_chunk(scheme, buffer[start : start + compressed], size), start + compressed


CHUNK_RECORD = struct.Struct("<32sIII")  # hash, start, end, size


def pack_chunk_table(chunks: Sequence[XorbChunk]) -> bytes:
    return b"".join(CHUNK_RECORD.pack(c.hash, c.start, c.end, c.size) for c in chunks)


def unpack_chunk_table(table: bytes, start: int = 0, end: int | None = None) -> list[XorbChunk]:
    """Chunks [start, end) of a packed chunk table."""
    size = CHUNK_RECORD.size
    stop = len(table) // size if end is None else end
    return [XorbChunk(*CHUNK_RECORD.unpack_from(table, i * size)) for i in range(start, stop)]


def dedup_eligible(digest: bytes) -> bool:
    """Whether clients ask global dedup about this chunk (besides a file's first chunk)."""
    return int.from_bytes(digest[24:32], "little") % 1024 == 0


def parse_xorb(body: bytes, *, max_unpacked: int | None = None) -> list[XorbChunk]:
    """Every chunk of a serialized xorb (a trailing footer, if any, is ignored), refused
    once its chunks unpack past `max_unpacked` bytes: hf_xet packs at most 64 MiB, but LZ4
    let a 128 MB upload unpack to 31 GB, decompressed and hashed in one request."""
    chunks, offset, view, unpacked = [], 0, memoryview(body), 0
    while offset < len(body) and body[offset : offset + 7] != XORB_FOOTER_IDENT:
        data, end = read_chunk(view, offset)
        unpacked += len(data)
        if max_unpacked is not None and unpacked > max_unpacked:
            raise PayloadTooLargeError(f"The xorb unpacks to over {max_unpacked} bytes.")
        chunks.append(XorbChunk(chunk_hash(data), offset, end, len(data)))
        offset = end
    if not chunks:
        raise InvalidInputError("The xorb holds no chunks.")
    return chunks


def iter_chunks(buffer: bytes) -> Iterator[Buffer]:
    """Uncompressed chunks of a byte range of a xorb that starts at a chunk header."""
    offset, view = 0, memoryview(buffer)
    while offset < len(buffer):
        data, offset = read_chunk(view, offset)
        yield data


# ---------------------------------------------------------------- shards


@dataclass(frozen=True)
class Segment:
    xorb: bytes
    chunk_start: int
    chunk_end: int  # exclusive
    size: int


@dataclass
class ShardFile:
    hash: bytes
    segments: list[Segment]
    sha256: bytes | None = None


@dataclass
class ShardXorb:
    hash: bytes
    chunks: list[tuple[bytes, int, int]] = field(default_factory=list)  # hash, start, size


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def take(self, n: int) -> bytes:
        if self.offset + n > len(self.data):
            raise InvalidInputError("Truncated shard.")
        out = self.data[self.offset : self.offset + n]
        self.offset += n
        return out


def parse_shard(data: bytes) -> tuple[list[ShardFile], list[ShardXorb]]:
    """The file reconstructions and xorb listings of an uploaded shard."""
    reader = _Reader(data)
    if reader.take(32) != SHARD_TAG:
        raise InvalidInputError("Not a Xet shard (wrong magic number).")
    version, _footer_size = struct.unpack("<QQ", reader.take(16))
    if version != 2:
        raise InvalidInputError(f"Unsupported shard version {version}.")
    files = []
    while (record := reader.take(ENTRY))[:32] != BOOKEND:
        flags, count = struct.unpack_from("<II", record, 32)
        segments = []
        for _ in range(count):
            entry = reader.take(ENTRY)
            _xflags, size, start, end = struct.unpack_from("<IIII", entry, 32)
            if end <= start:
                raise InvalidInputError("A shard segment has an empty chunk range.")
            segments.append(Segment(entry[:32], start, end, size))
        if flags & FLAG_VERIFICATION:
            reader.take(ENTRY * count)  # range hashes; we check whole-file hashes instead
        sha256 = reader.take(ENTRY)[:32] if flags & FLAG_METADATA_EXT else None
        files.append(ShardFile(record[:32], segments, sha256))
    xorbs = []
    while (record := reader.take(ENTRY))[:32] != BOOKEND:
        _flags, count, _bytes, _disk = struct.unpack_from("<IIII", record, 32)
        xorb = ShardXorb(record[:32])
        for _ in range(count):
            entry = reader.take(ENTRY)
            start, size = struct.unpack_from("<II", entry, 32)
            xorb.chunks.append((entry[:32], start, size))
        xorbs.append(xorb)
    return files, xorbs


@dataclass(frozen=True)
class DedupXorb:
    hash: bytes
    chunks: Sequence[tuple[bytes, int, int]]  # chunk hash, offset in the xorb, size
    stored_size: int


def write_dedup_shard(xorbs: Sequence[DedupXorb], key: bytes, *, expires: int, now: int) -> bytes:
    """A shard announcing xorbs' chunks for global deduplication.

    Chunk hashes go out keyed with `key` (the footer carries it), so a client can match only
    chunks it already holds; it learns nothing about the others.
    """
    header = SHARD_TAG + struct.pack("<QQ", 2, FOOTER.size)
    files = BOOKEND + bytes(16)
    section, xorb_lookup, chunk_lookup = b"", [], []
    record = 0  # lookups point at 48-byte records of the xorb section
    unpacked_total = stored_total = 0
    for xorb in sorted(xorbs, key=lambda x: struct.unpack("<4Q", x.hash)):
        keyed = [blake3.blake3(h, key=key).digest() for h, _, _ in xorb.chunks]
        unpacked = sum(size for _, _, size in xorb.chunks)
        section += xorb.hash + struct.pack("<IIII", 0, len(keyed), unpacked, xorb.stored_size)
        for i, (h, (_, start, size)) in enumerate(zip(keyed, xorb.chunks, strict=True)):
            section += h + struct.pack("<IIII", start, size, 0, 0)
            chunk_lookup.append((_truncate(h), record, i))
        xorb_lookup.append((_truncate(xorb.hash), record))
        record += 1 + len(keyed)
        unpacked_total += unpacked
        stored_total += xorb.stored_size
    section += BOOKEND + bytes(16)
    xorb_lookup_bytes = b"".join(struct.pack("<QI", *entry) for entry in xorb_lookup)
    chunk_lookup_bytes = b"".join(struct.pack("<QII", *entry) for entry in sorted(chunk_lookup))
    file_info_offset = len(header)
    xorb_info_offset = file_info_offset + len(files)
    xorb_lookup_offset = xorb_info_offset + len(section)
    chunk_lookup_offset = xorb_lookup_offset + len(xorb_lookup_bytes)
    footer_offset = chunk_lookup_offset + len(chunk_lookup_bytes)
    footer = FOOTER.pack(
        1,
        file_info_offset,
        xorb_info_offset,
        xorb_lookup_offset,
        0,
        xorb_lookup_offset,
        len(xorb_lookup),
        chunk_lookup_offset,
        len(chunk_lookup),
        key,
        now,
        expires,
        0,
        0,
        0,
        0,
        0,
        0,
        stored_total,
        unpacked_total,
        stored_total,
        footer_offset,
    )
    return header + files + section + xorb_lookup_bytes + chunk_lookup_bytes + footer


def _truncate(digest: bytes) -> int:
    return int.from_bytes(digest[:8], "little")


# version, offsets and counts (8), HMAC key, created, expiry, 6 reserved, 3 byte counts, offset
FOOTER = struct.Struct("<9Q32s2Q6Q4Q")
