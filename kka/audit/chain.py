"""The audit chain's hashing and verification, as pure functions over row dicts."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64

# The fields covered by the hash, in a fixed order. Changing this list breaks every
# existing chain: add a new chain version instead.
HASHED_FIELDS = (
    "id",
    "at",
    "actor_id",
    "actor_role",
    "organisation_id",
    "action",
    "object_type",
    "object_ref",
    "refs",
    "outcome",
    "request_id",
    "ip",
)


@functools.lru_cache(maxsize=4096)
def _compressed_ip(value: str) -> str:
    return ipaddress.ip_address(value).compressed


def normalise_ip(value: str | None) -> str | None:
    if not value:
        return None
    # Cached: verification normalises every row's address, and a log's addresses repeat.
    return _compressed_ip(value)


def _utc_text(value: Any) -> str:
    assert isinstance(value, dt.datetime) and value.tzinfo is not None
    utc = value.astimezone(dt.UTC)
    if utc.year < 1000:  # strftime does not pad such years the same way on every platform
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # The same text as strftime("%Y-%m-%dT%H:%M:%S.%fZ"), several times faster.
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


# One encoder for every row (json.dumps with options builds a new one per call).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical_bytes(row: Mapping[str, Any]) -> bytes:
    payload = {name: row[name] for name in HASHED_FIELDS}
    payload["at"] = _utc_text(payload["at"])
    payload["ip"] = normalise_ip(payload["ip"])
    return _ENCODER.encode(payload).encode()


def row_hash(row: Mapping[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical_bytes(row) + prev_hash.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    row_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"row #{self.row_id}" if self.row_id is not None else "end of log"
        return f"{where}: {self.reason}"


def verify_rows(
    rows: Iterable[Mapping[str, Any]], *, head_id: int | None, head_hash: str | None
) -> tuple[int, ChainBreak | None]:
    """Walk rows in id order; return (rows checked, first break or None)."""
    expected_prev = GENESIS_HASH
    expected_id = 1
    count = 0
    for row in rows:
        row_id = row["id"]
        if row_id != expected_id:
            if row_id > expected_id:
                return count, ChainBreak(row_id, f"row #{expected_id} is missing before it")
            return count, ChainBreak(row_id, "row out of order")
        if row["prev_hash"] != expected_prev:
            return count, ChainBreak(row_id, "does not link to the previous row")
        if row_hash(row, row["prev_hash"]) != row["row_hash"]:
            return count, ChainBreak(row_id, "contents do not match its hash")
        expected_prev = row["row_hash"]
        expected_id += 1
        count += 1
    last_id = expected_id - 1
    if head_id is not None and head_id != last_id:
        if head_id > last_id:
            return count, ChainBreak(last_id + 1, f"rows #{last_id + 1} to #{head_id} are missing")
        return count, ChainBreak(head_id + 1, "rows appended outside the audit service")
    if head_hash is not None and last_id and head_hash != expected_prev:
        return count, ChainBreak(last_id, "does not match the recorded chain head")
    return count, None
