"""The encrypted backup file: a plaintext header, then AES-256-GCM chunks.

Layout of ``kka-backup.enc``::

    MAGIC (8 bytes) | header length (4 bytes, big-endian) | header (JSON, plaintext)
    chunk*          where chunk = length (4) | nonce (12) | ciphertext+tag

The header holds only the format, the scrypt salt and parameters and the chunk size.
The key is scrypt(passphrase, salt). Every chunk has its own random nonce, and its
associated data binds the header's digest, the chunk's index and whether it is the
last chunk: a chunk moved, dropped, duplicated or cut off, or a changed header, fails
authentication. There is always a last chunk (possibly empty), so a file cut at a
chunk boundary is detected too.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterator
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"KKABAK1\n"
FORMAT = "kka-backup"
FORMAT_VERSION = 1
CHUNK_SIZE = 1024 * 1024
MIN_PASSPHRASE = 12
# scrypt cost: 128 MiB of memory and ~0.4 s per derivation on a small server.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
_NONCE = 12
_TAG = 16
_MAX_HEADER = 64 * 1024
_MAX_CHUNK = 64 * 1024 * 1024


class BackupCryptoError(Exception):
    """The file is not a backup, the passphrase is wrong, or the file was changed."""


class PassphraseError(ValueError):
    """No passphrase, or one too short."""


def check_passphrase(passphrase: str | None) -> bytes:
    if not passphrase:
        raise PassphraseError("KKA_BACKUP_PASSPHRASE is not set")
    if len(passphrase) < MIN_PASSPHRASE:
        raise PassphraseError(f"KKA_BACKUP_PASSPHRASE is shorter than {MIN_PASSPHRASE} characters")
    return passphrase.encode("utf-8")


def _derive(passphrase: bytes, kdf: dict[str, Any]) -> bytes:
    if kdf.get("name") != "scrypt":
        raise BackupCryptoError("unknown key derivation in the header")
    try:
        salt = bytes.fromhex(kdf["salt"])
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupCryptoError("damaged header (key derivation)") from exc
    # Refuse parameters that would make a forged header exhaust memory or time.
    if not (2**14 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 16 and 1 <= p <= 4):
        raise BackupCryptoError("key-derivation parameters out of range")
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def _aad(header_digest: bytes, index: int, last: bool) -> bytes:
    return header_digest + struct.pack(">QB", index, 1 if last else 0)


class EncryptingWriter:
    """A write-only binary stream that encrypts into ``out`` chunk by chunk."""

    def __init__(
        self,
        out: IO[bytes],
        passphrase: bytes,
        *,
        chunk_size: int = CHUNK_SIZE,
        scrypt_n: int = SCRYPT_N,
    ):
        salt = os.urandom(16)
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "cipher": "AES-256-GCM",
            "chunk_size": chunk_size,
            "kdf": {
                "name": "scrypt",
                "salt": salt.hex(),
                "n": scrypt_n,
                "r": SCRYPT_R,
                "p": SCRYPT_P,
            },
        }
        header_bytes = json.dumps(header, sort_keys=True).encode("ascii")
        self._aead = AESGCM(_derive(passphrase, header["kdf"]))  # type: ignore[arg-type]
        self._digest = hashlib.sha256(MAGIC + header_bytes).digest()
        self._out = out
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._index = 0
        self._closed = False
        out.write(MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes)

    def write(self, data: bytes) -> int:
        if self._closed:
            raise ValueError("write to a closed backup")
        self._buffer += data
        # Strictly more than a chunk: the remainder at close() is always the last chunk.
        while len(self._buffer) > self._chunk_size:
            self._emit(bytes(self._buffer[: self._chunk_size]), last=False)
            del self._buffer[: self._chunk_size]
        return len(data)

    def _emit(self, plaintext: bytes, *, last: bool) -> None:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, plaintext, _aad(self._digest, self._index, last))
        self._out.write(struct.pack(">I", len(sealed)) + nonce + sealed)
        self._index += 1

    def close(self) -> None:
        if not self._closed:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._closed = True


def read_header(source: IO[bytes]) -> tuple[dict[str, Any], bytes]:
    """The plaintext header and its digest; the stream is left at the first chunk."""
    magic = source.read(len(MAGIC))
    if magic != MAGIC:
        raise BackupCryptoError("not a KKA backup file")
    (length,) = struct.unpack(">I", _read_exactly(source, 4))
    if length > _MAX_HEADER:
        raise BackupCryptoError("damaged header")
    header_bytes = _read_exactly(source, length)
    try:
        header = json.loads(header_bytes)
    except ValueError as exc:
        raise BackupCryptoError("damaged header") from exc
    if header.get("format") != FORMAT or header.get("version") != FORMAT_VERSION:
        raise BackupCryptoError("unsupported backup format or version")
    return header, hashlib.sha256(MAGIC + header_bytes).digest()


def _read_exactly(source: IO[bytes], size: int) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise BackupCryptoError("the backup file is truncated")
    return data


def decrypt_chunks(source: IO[bytes], passphrase: bytes) -> Iterator[bytes]:
    """The plaintext, chunk by chunk, each authenticated before it is yielded.

    Raises :class:`BackupCryptoError` on a wrong passphrase, any change, reordering or
    truncation (at the latest when the last chunk is read).
    """
    header, digest = read_header(source)
    aead = AESGCM(_derive(passphrase, header.get("kdf") or {}))
    index = 0
    pending = _read_chunk(source)
    if pending is None:
        raise BackupCryptoError("the backup file is truncated")
    while pending is not None:
        following = _read_chunk(source)
        last = following is None
        nonce, sealed = pending
        try:
            plaintext = aead.decrypt(nonce, sealed, _aad(digest, index, last))
        except InvalidTag as exc:
            if index == 0:
                raise BackupCryptoError(
                    "wrong passphrase, or the backup file was changed or truncated"
                ) from exc
            raise BackupCryptoError(
                f"the backup file was changed or truncated (chunk {index})"
            ) from exc
        yield plaintext
        index += 1
        pending = following


def _read_chunk(source: IO[bytes]) -> tuple[bytes, bytes] | None:
    prefix = source.read(4)
    if not prefix:
        return None
    if len(prefix) != 4:
        raise BackupCryptoError("the backup file is truncated")
    (length,) = struct.unpack(">I", prefix)
    if length < _TAG or length > _MAX_CHUNK + _TAG:
        raise BackupCryptoError("the backup file is damaged (chunk length)")
    nonce = _read_exactly(source, _NONCE)
    return nonce, _read_exactly(source, length)


class DecryptingReader:
    """A read-only binary stream over :func:`decrypt_chunks`."""

    def __init__(self, source: IO[bytes], passphrase: bytes):
        self._chunks = decrypt_chunks(source, passphrase)
        self._buffer = b""
        self._offset = 0
        self._eof = False

    def read(self, size: int = -1) -> bytes:
        parts = []
        wanted = size
        while wanted != 0:
            if self._offset >= len(self._buffer):
                if self._eof:
                    break
                try:
                    self._buffer = next(self._chunks)
                except StopIteration:
                    self._eof = True
                    break
                self._offset = 0
                continue
            end = len(self._buffer) if wanted < 0 else min(len(self._buffer), self._offset + wanted)
            part = self._buffer[self._offset : end]
            self._offset = end
            parts.append(part)
            if wanted > 0:
                wanted -= len(part)
        return b"".join(parts)
