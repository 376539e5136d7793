"""The encrypted backup file format: every change, reordering or cut is detected."""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterator
from typing import Any

import pytest

from kka.backup import container
from kka.backup.archive import ArchiveWriter, read_entries
from kka.backup.container import (
    MAGIC,
    BackupCryptoError,
    DecryptingReader,
    EncryptingWriter,
    PassphraseError,
    check_passphrase,
    decrypt_chunks,
    read_header,
)
from kka.backup.manifest import canonical

PASS = b"kata-sandi-cadangan-yang-panjang"
CHUNK = 64
FAST_N = 2**14  # the smallest cost the reader accepts; the real one is 2**17


@pytest.fixture(autouse=True)
def derive_once(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The real scrypt, once per passphrase, salt and parameters (hundreds of files are
    opened here)."""
    real = container._derive
    cache: dict[tuple[bytes, str], bytes] = {}

    def derive(passphrase: bytes, kdf: dict[str, Any]) -> bytes:
        key = (passphrase, json.dumps(kdf, sort_keys=True))
        if key not in cache:
            cache[key] = real(passphrase, kdf)
        return cache[key]

    monkeypatch.setattr(container, "_derive", derive)
    yield


def sealed(plaintext: bytes, passphrase: bytes = PASS) -> bytes:
    out = io.BytesIO()
    writer = EncryptingWriter(out, passphrase, chunk_size=CHUNK, scrypt_n=FAST_N)
    for start in range(0, len(plaintext), 10):  # many small writes
        writer.write(plaintext[start : start + 10])
    writer.close()
    return out.getvalue()


def opened(data: bytes, passphrase: bytes = PASS) -> bytes:
    return b"".join(decrypt_chunks(io.BytesIO(data), passphrase))


def chunk_offsets(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of every chunk in the file."""
    source = io.BytesIO(data)
    read_header(source)
    offsets = []
    position = source.tell()
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        end = position + 4 + 12 + length
        offsets.append((position, end))
        position = end
    return offsets


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 5 * CHUNK + 7])
def test_round_trip_of_any_length(size: int) -> None:
    plaintext = bytes(i % 251 for i in range(size))
    data = sealed(plaintext)
    assert opened(data) == plaintext
    assert DecryptingReader(io.BytesIO(data), PASS).read() == plaintext
    # Full chunks only while more follows, then exactly one last chunk (maybe empty).
    assert len(chunk_offsets(data)) == max(1, -(-size // CHUNK))


def test_the_header_is_the_only_plaintext() -> None:
    plaintext = b"Nama konseli: Siti Aminah, kelas 8B. " * 10
    data = sealed(plaintext)
    header, _digest = read_header(io.BytesIO(data))
    assert header["kdf"]["name"] == "scrypt"
    assert len(bytes.fromhex(header["kdf"]["salt"])) == 16
    assert b"Siti" not in data and b"kelas" not in data
    # A fresh salt (so key) and fresh nonces every time: equal inputs, different files.
    assert sealed(plaintext)[len(MAGIC) :] != data[len(MAGIC) :]


def test_a_wrong_passphrase_is_refused() -> None:
    data = sealed(b"isi")
    with pytest.raises(BackupCryptoError, match="wrong passphrase"):
        opened(data, b"kata-sandi-yang-lain-sama-sekali")


def test_every_flipped_byte_is_detected() -> None:
    plaintext = bytes(range(200))
    data = sealed(plaintext)
    for offset in range(len(data)):
        changed = bytearray(data)
        changed[offset] ^= 0x80
        with pytest.raises(BackupCryptoError):
            opened(bytes(changed))


def test_truncation_anywhere_is_detected() -> None:
    data = sealed(bytes(range(200)))
    for cut in range(len(data)):
        with pytest.raises(BackupCryptoError):
            opened(data[:cut])


def test_a_truncation_at_a_chunk_boundary_is_detected() -> None:
    data = sealed(bytes(5 * CHUNK + 3))
    for _start, end in chunk_offsets(data)[:-1]:
        with pytest.raises(BackupCryptoError, match="changed or truncated"):
            opened(data[:end])


def test_reordered_dropped_or_repeated_chunks_are_detected() -> None:
    data = sealed(bytes(range(256)) * 2)
    offsets = chunk_offsets(data)
    head = data[: offsets[0][0]]
    chunks = [data[s:e] for s, e in offsets]
    variants = {
        "swapped": [chunks[1], chunks[0], *chunks[2:]],
        "dropped": [chunks[0], *chunks[2:]],
        "repeated": [chunks[0], chunks[0], *chunks[1:]],
        "last moved": [*chunks[:-2], chunks[-1], chunks[-2]],
        "appended": [*chunks, chunks[-1]],
    }
    for name, variant in variants.items():
        with pytest.raises(BackupCryptoError):
            opened(head + b"".join(variant))
        assert name


def test_chunks_of_another_backup_with_the_same_passphrase_do_not_fit() -> None:
    one, other = sealed(bytes(300)), sealed(bytes(300))
    start, end = chunk_offsets(one)[1]
    ostart, oend = chunk_offsets(other)[1]
    spliced = one[:start] + other[ostart:oend] + one[end:]
    with pytest.raises(BackupCryptoError):
        opened(spliced)


def test_kdf_parameters_that_would_exhaust_memory_are_refused() -> None:
    data = sealed(b"x")
    source = io.BytesIO(data)
    header, _digest = read_header(source)
    header["kdf"]["n"] = 2**30
    header_bytes = json.dumps(header).encode()
    forged = MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes + data[source.tell() :]
    with pytest.raises(BackupCryptoError, match="out of range"):
        opened(forged)


@pytest.mark.parametrize("value", [None, "", "sebelas-11c"])
def test_a_missing_or_short_passphrase_is_refused(value: str | None) -> None:
    with pytest.raises(PassphraseError):
        check_passphrase(value)


def test_twelve_characters_are_enough() -> None:
    assert check_passphrase("duabelas-12c") == b"duabelas-12c"


def test_archive_entries_stream_through_the_encryption() -> None:
    out = io.BytesIO()
    writer = EncryptingWriter(out, PASS, chunk_size=CHUNK, scrypt_n=FAST_N)
    archive = ArchiveWriter(writer)
    first = archive.add("database/sqlite3", [b"a" * 1000, b"b" * 10])
    archive.add_file("files/x.pdf.enc", io.BytesIO(b"%PDF-" + bytes(500)))
    archive.add("manifest.json", [b"{}"])
    archive.finish()
    writer.close()
    reader = DecryptingReader(io.BytesIO(out.getvalue()), PASS)
    got = {name: b"".join(chunks) for name, chunks in read_entries(reader)}  # type: ignore[arg-type]
    assert got == {
        "database/sqlite3": b"a" * 1000 + b"b" * 10,
        "files/x.pdf.enc": b"%PDF-" + bytes(500),
        "manifest.json": b"{}",
    }
    assert first.size == 1010


def test_canonical_values_do_not_depend_on_the_time_zone_or_type() -> None:
    import datetime as dt
    import decimal
    import zoneinfo

    jakarta = dt.datetime(2026, 12, 6, 7, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Jakarta"))
    utc = dt.datetime(2026, 12, 6, 0, 0, tzinfo=dt.UTC)
    assert canonical(jakarta) == canonical(utc)
    assert canonical(b"\x00\x01") == canonical(memoryview(b"\x00\x01")) == {"hex": "0001"}
    assert canonical({"b": 1, "a": [1.5]}) == {"json": {"a": [{"float": "1.5"}], "b": 1}}
    assert canonical(decimal.Decimal("1.10")) == {"decimal": "1.10"}
    assert canonical("1") != canonical(1)
