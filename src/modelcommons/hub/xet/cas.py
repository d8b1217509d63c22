"""The Xet content-addressed store: verified xorbs, registered file reconstructions, and
reading files back from them (for Xet clients as terms, for everyone else as bytes).

Nothing a client claims is taken on trust: a xorb's hash is recomputed from its chunks, a
file's hash from the chunks its segments name, and its sha256 from its reconstructed bytes,
because the sha256 is how commits (and deduplication across repos) find the file.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelcommons.config import get_settings
from modelcommons.db.engine import read_session, write_session
from modelcommons.db.models import (
    IndexEntry,
    StoredObject,
    XetDedupChunk,
    XetFile,
    XetFileXorb,
    XetXorb,
)
from modelcommons.errors import InvalidInputError, NotFoundError, PayloadTooLargeError
from modelcommons.hub.gc_notes import note_named
from modelcommons.hub.lfs import Uploader, record_uploads
from modelcommons.hub.xet import format
from modelcommons.storage import get_store

MAX_XORB_BYTES = 128 * 1024 * 1024
# How many times a shard may make the hub go over the distinct chunks it names, to prove and
# hash its files: files that share chunks (checkpoints of one tune) are normal, but prefix
# after prefix of one compressible xorb made a 10 KB shard cost 12 GB of decompressing and
# hashing, and a 64 MB one days.
MAX_SHARD_REUSE = 16
DEDUP_SHARD_TTL = 7 * 24 * 3600
DEDUP_MAX_FILES, DEDUP_MAX_XORBS = 8, 32


def xorb_key(hash_hex: str) -> str:
    return f"xorbs/{hash_hex[:2]}/{hash_hex}"


def _index_for_dedup(session: Session, xorb_hex: str, chunk_hashes: list[bytes]) -> None:
    for digest in chunk_hashes:
        chunk_hex = format.to_hex(digest)
        if session.get(XetDedupChunk, chunk_hex) is None:
            session.add(XetDedupChunk(chunk_hash=chunk_hex, xorb_hash=xorb_hex))
            session.flush()


def ingest_xorb(hash_hex: str, body: bytes) -> bool:
    """Verify and keep a xorb. Returns False when it was already stored (uploads are idempotent)."""
    expected = format.from_hex(hash_hex)
    with read_session() as session:
        if session.get(XetXorb, hash_hex) is not None:
            return False
    chunks = format.parse_xorb(body, max_unpacked=MAX_XORB_BYTES)
    actual = format.xorb_hash([(c.hash, c.size) for c in chunks])
    if actual != expected:
        raise InvalidInputError(
            f"The xorb's content hashes to {format.to_hex(actual)}, not {hash_hex}."
        )
    get_store().put_bytes(xorb_key(hash_hex), body)
    with write_session() as session:
        if session.get(XetXorb, hash_hex) is not None:
            return False  # a concurrent upload of the same xorb won
        table = format.pack_chunk_table(chunks)
        session.add(
            XetXorb(hash=hash_hex, size=len(body), chunk_count=len(chunks), chunk_table=table)
        )
        session.flush()
        _index_for_dedup(
            session, hash_hex, [c.hash for c in chunks if format.dedup_eligible(c.hash)]
        )
    return True


def _chunks(session: Session, xorb_hex: str, start: int, end: int) -> list[format.XorbChunk]:
    xorb = session.get(XetXorb, xorb_hex)
    if xorb is None:
        raise InvalidInputError(f"Xorb {xorb_hex} was never uploaded.")
    if not 0 <= start < end <= xorb.chunk_count:
        raise InvalidInputError(f"Chunks {start}..{end} are not all in xorb {xorb_hex}.")
    return format.unpack_chunk_table(xorb.chunk_table, start, end)


def _verify_file(session: Session, file: format.ShardFile) -> tuple[list[list[object]], int]:
    """Check a file's segments against stored xorbs; return them as stored, and the size."""
    leaves: list[tuple[bytes, int]] = []
    segments: list[list[object]] = []
    for segment in file.segments:
        xorb_hex = format.to_hex(segment.xorb)
        if session.get(XetXorb, xorb_hex) is None:
            raise InvalidInputError(f"The shard names xorb {xorb_hex}, which was never uploaded.")
        rows = _chunks(session, xorb_hex, segment.chunk_start, segment.chunk_end)
        if sum(r.size for r in rows) != segment.size:
            raise InvalidInputError(f"A segment's size does not match xorb {xorb_hex}.")
        leaves += [(r.hash, r.size) for r in rows]
        segments.append([xorb_hex, segment.chunk_start, segment.chunk_end, segment.size])
    if format.file_hash(leaves) != file.hash:
        raise InvalidInputError(
            f"File {format.to_hex(file.hash)} does not hash to the chunks its segments name."
        )
    return segments, sum(size for _, size in leaves)


def _prove_files(
    session: Session, files: list[format.ShardFile]
) -> tuple[list[tuple[format.ShardFile, list[list[object]], int]], list[str]]:
    """Check every file of a shard against stored chunks, known files too: naming a known
    file proves nothing until its segments hash to it. Returns the new files (with segments
    and size) and the sha256s of the known ones."""
    fresh, known = [], []
    limit = get_settings().max_upload_bytes
    for file in files:
        segments, size = _verify_file(session, file)
        stored = session.get(XetFile, format.to_hex(file.hash))
        if stored is not None:
            if file.sha256 is not None and format.to_hex(file.sha256) != stored.sha256:
                raise InvalidInputError(
                    f"File {stored.hash}'s sha256 is not the one the shard claims."
                )
            known.append(stored.sha256)
        elif size > limit:
            raise PayloadTooLargeError(
                f"File {format.to_hex(file.hash)} has {size} bytes; the limit is {limit}."
            )
        else:
            fresh.append((file, segments, size))
    return fresh, known


def _union(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Chunk ranges [start, end) merged where they overlap or touch."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _spans(files: list[format.ShardFile]) -> tuple[dict[str, list[tuple[int, int]]], int]:
    """The distinct chunk ranges the files name, per xorb, and how many chunks they name."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    named = 0
    for file in files:
        for segment in file.segments:
            ranges.setdefault(format.to_hex(segment.xorb), []).append(
                (segment.chunk_start, segment.chunk_end)
            )
            named += segment.chunk_end - segment.chunk_start
    return {xorb: _union(spans) for xorb, spans in ranges.items()}, named


def _too_much(what: str, named: int, distinct: int) -> InvalidInputError:
    return InvalidInputError(
        f"The shard's files name {named} {what} over {distinct} distinct ones: at most "
        f"{MAX_SHARD_REUSE} times the distinct {what} per shard; upload such files in "
        "several commits."
    )


def _bound_chunks(files: list[format.ShardFile]) -> None:
    """Proving a file reads the chunk records its segments name: refuse a shard that names
    its chunks far more often than they exist (before any of that work)."""
    spans, named = _spans(files)
    distinct = sum(end - start for ranges in spans.values() for start, end in ranges)
    if named > MAX_SHARD_REUSE * max(distinct, 1):
        raise _too_much("chunks", named, distinct)


def _bound_bytes(session: Session, fresh: list[format.ShardFile], sizes: list[int]) -> None:
    """Registering a new file reconstructs and hashes all of it: refuse a shard whose new
    files add up to far more bytes than the distinct chunks they are made of."""
    spans, _ = _spans(fresh)
    distinct = sum(
        chunk.size
        for xorb, ranges in spans.items()
        for start, end in ranges
        for chunk in _chunks(session, xorb, start, end)
    )
    if sum(sizes) > MAX_SHARD_REUSE * max(distinct, 1):
        raise _too_much("bytes", sum(sizes), distinct)


def register_shard(data: bytes, *, uploader: Uploader | None) -> int:
    """Register the files of an uploaded shard. Returns 1 if anything was new, else 0.

    Every file the shard proves, new or already stored, counts as the uploader's upload to
    their repo (None: the hub's own conversions, which commit nothing).
    """
    files, xorbs = format.parse_shard(data)
    unique: dict[bytes, format.ShardFile] = {}
    for file in files:
        unique.setdefault(file.hash, file)  # a file named twice is proven and hashed once
    files = list(unique.values())
    _bound_chunks(files)
    with read_session() as session:
        for xorb in xorbs:
            if session.get(XetXorb, format.to_hex(xorb.hash)) is None:
                raise InvalidInputError(
                    f"The shard lists xorb {format.to_hex(xorb.hash)}, which was never uploaded."
                )
        fresh, proven = _prove_files(session, files)
        _bound_bytes(session, [file for file, _, _ in fresh], [size for _, _, size in fresh])
    registered = 0
    for file, segments, size in fresh:
        file_hex = format.to_hex(file.hash)
        digest = hashlib.sha256()
        for block in _iter_segments(segments, 0, size):
            digest.update(block)
        sha256 = digest.hexdigest()
        # The shard stores the sha256 like every hash: as four little-endian u64s.
        if file.sha256 is not None and format.to_hex(file.sha256) != sha256:
            raise InvalidInputError(f"File {file_hex}'s sha256 is not the one the shard claims.")
        proven.append(sha256)
        with write_session() as session:
            if session.get(XetFile, file_hex) is not None:
                continue
            session.add(XetFile(hash=file_hex, size=size, sha256=sha256, segments=segments))
            session.add_all(
                XetFileXorb(file_hash=file_hex, xorb_hash=xorb)
                for xorb in {str(segment[0]) for segment in segments}
            )
            if segments:  # clients always ask dedup about a file's first chunk
                first_xorb, first_chunk = str(segments[0][0]), int(str(segments[0][1]))
                [chunk] = _chunks(session, first_xorb, first_chunk, first_chunk + 1)
                _index_for_dedup(session, first_xorb, [chunk.hash])
            if session.get(StoredObject, sha256) is None:
                session.add(StoredObject(sha256=sha256, size=size, kind="xet", location=file_hex))
            registered += 1
    if uploader is not None and proven:
        with write_session() as session:
            record_uploads(session, uploader, proven)
    return 1 if registered or not files else 0


def dedup_shard(chunk_hex: str) -> bytes | None:
    """A shard describing the xorbs that hold a chunk and its neighbours, for global dedup.

    Answering with every xorb of the files that use the chunk's xorb (bounded) lets one hit
    deduplicate a whole earlier upload, not just the xorb the queried chunk lies in.
    """
    format.from_hex(chunk_hex)
    with read_session() as session:
        hit = session.get(XetDedupChunk, chunk_hex)
        if hit is None:
            return None
        files = select(XetFileXorb.file_hash).where(XetFileXorb.xorb_hash == hit.xorb_hash)
        neighbours = session.scalars(
            select(XetFileXorb.xorb_hash)
            .where(XetFileXorb.file_hash.in_(files.limit(DEDUP_MAX_FILES)))
            .distinct()
            .limit(DEDUP_MAX_XORBS)
        )
        wanted = {hit.xorb_hash, *neighbours}
        xorbs = [
            format.DedupXorb(
                format.from_hex(x.hash),
                [(c.hash, c.start, c.size) for c in format.unpack_chunk_table(x.chunk_table)],
                x.size,
            )
            for x in session.scalars(select(XetXorb).where(XetXorb.hash.in_(wanted)))
        ]
    # The client may register a shard naming these xorbs minutes later: spare them till then.
    note_named(get_store(), xorbs=wanted)
    now = int(time.time())
    return format.write_dedup_shard(
        xorbs, secrets.token_bytes(32), expires=now + DEDUP_SHARD_TTL, now=now
    )


def find_xorb(session: Session, hash_hex: str) -> XetXorb | None:
    return session.get(XetXorb, hash_hex)


def repo_file(session: Session, repo_id: int, file_hex: str) -> XetFile:
    """A Xet file that some commit of the repo holds (a token reads its own repo's files)."""
    file = session.get(XetFile, file_hex)
    held = file is not None and session.scalar(
        select(IndexEntry.lfs_sha256)
        .where(IndexEntry.lfs_sha256 == file.sha256, IndexEntry.repo_id == repo_id)
        .limit(1)
    )
    if file is None or not held:
        raise NotFoundError(f"No file {file_hex} in the repo this token is for.")
    return file


def get_file(session: Session, file_hex: str) -> XetFile:
    file = session.get(XetFile, file_hex)
    if file is None:
        raise NotFoundError(f"No Xet file {file_hex}.")
    return file


@dataclass(frozen=True)
class Term:
    """A run of chunks of one xorb, with the byte range (end exclusive) that holds them."""

    xorb: str
    chunk_start: int
    chunk_end: int
    size: int
    byte_start: int
    byte_end: int


def plan(
    session: Session, segments: list[list[object]], start: int, end: int
) -> tuple[list[Term], int]:
    """The terms covering bytes [start, end) of a file, and how far into the first to skip."""
    terms: list[Term] = []
    skip, position = 0, 0
    for xorb, first, last, size in segments:
        assert isinstance(xorb, str) and isinstance(first, int) and isinstance(last, int)
        assert isinstance(size, int)
        if position + size <= start:
            position += size
            continue
        if position >= end:
            break
        chosen: list[tuple[int, format.XorbChunk]] = []
        for index, chunk in enumerate(_chunks(session, xorb, first, last), start=first):
            if position + chunk.size > start and position < end:
                if not terms and not chosen:
                    skip = start - position
                chosen.append((index, chunk))
            position += chunk.size
        terms.append(
            Term(
                xorb,
                chosen[0][0],
                chosen[-1][0] + 1,
                sum(c.size for _, c in chosen),
                chosen[0][1].start,
                chosen[-1][1].end,
            )
        )
    return terms, skip


def _iter_terms(terms: list[Term], skip: int, length: int) -> Iterator[bytes]:
    store = get_store()
    for term in terms:
        raw = b"".join(store.iter_range(xorb_key(term.xorb), term.byte_start, term.byte_end))
        for data in format.iter_chunks(raw):
            if skip:
                data, skip = data[skip:], max(0, skip - len(data))
                if not data:
                    continue
            if length <= 0:
                return
            piece = bytes(data[:length])
            yield piece
            length -= len(piece)


def _iter_segments(segments: list[list[object]], start: int, end: int) -> Iterator[bytes]:
    with read_session() as session:
        terms, skip = plan(session, segments, start, end)
    return _iter_terms(terms, skip, end - start)


def iter_file(file_hex: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """Bytes [start, end) of a Xet-stored file, reconstructed from its xorbs."""
    with read_session() as session:
        file = get_file(session, file_hex)
        segments, size = file.segments, file.size
    return _iter_segments(segments, start, size if end is None else min(end, size))
