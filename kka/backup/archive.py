"""Named entries in one stream (inside the encryption): the database, files, manifest.

An entry is ``b"F"``, the name's length (2 bytes) and UTF-8 name, then segments of
length (4 bytes) and data, ended by a zero length; the archive ends with ``b"E"``.
Entries are streamed: neither side needs an entry's size in advance, so ``pg_dump``'s
output goes straight into the encrypted file and never to disk in plaintext.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Protocol

SEGMENT = 256 * 1024


class ArchiveError(Exception):
    """The decrypted stream is not a well-formed archive."""


class _Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


@dataclass(frozen=True)
class Written:
    size: int
    sha256: str


class ArchiveWriter:
    def __init__(self, out: _Writable):
        self._out = out

    def add(self, name: str, chunks: Iterable[bytes]) -> Written:
        encoded = name.encode("utf-8")
        self._out.write(b"F" + struct.pack(">H", len(encoded)) + encoded)
        digest = hashlib.sha256()
        size = 0
        for chunk in chunks:
            for start in range(0, len(chunk), SEGMENT):
                part = chunk[start : start + SEGMENT]
                self._out.write(struct.pack(">I", len(part)))
                self._out.write(part)
                digest.update(part)
                size += len(part)
        self._out.write(struct.pack(">I", 0))
        return Written(size=size, sha256=digest.hexdigest())

    def add_file(self, name: str, fh: IO[bytes]) -> Written:
        return self.add(name, iter(lambda: fh.read(SEGMENT), b""))

    def finish(self) -> None:
        self._out.write(b"E")


def _exactly(source: IO[bytes], size: int) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise ArchiveError("the archive ends in the middle of an entry")
    return data


def _segments(source: IO[bytes]) -> Iterator[bytes]:
    while True:
        (length,) = struct.unpack(">I", _exactly(source, 4))
        if length == 0:
            return
        yield _exactly(source, length)


def read_entries(source: IO[bytes]) -> Iterator[tuple[str, Iterator[bytes]]]:
    """(name, data chunks) per entry; each entry's chunks must be read before the next."""
    while True:
        kind = _exactly(source, 1)
        if kind == b"E":
            if source.read(1):
                raise ArchiveError("data after the end of the archive")
            return
        if kind != b"F":
            raise ArchiveError("unknown entry type")
        (length,) = struct.unpack(">H", _exactly(source, 2))
        name = _exactly(source, length).decode("utf-8")
        segments = _segments(source)
        yield name, segments
        for _rest in segments:  # the caller skipped (part of) this entry
            pass
