"""Rate limits for the API, counted in Django's cache (Redis when ``REDIS_URL`` is set, so
every application server counts together).

Fixed one-minute windows, counted with the cache's atomic ``add`` + ``incr``:

- per token: ``KKA_API_RATE_PER_MINUTE`` requests (default 120);
- per address: ``KKA_API_FAILED_PER_MINUTE`` requests with a token that is unknown,
  revoked or expired (default 30). Once over it, every token request from that address is
  refused until the minute ends, a valid token's too: otherwise a guess that happens to
  hit would still be let through, and the limit would not slow guessing at all.

Over a limit the API answers 429 ``rate_limited`` with ``Retry-After`` (seconds to the end
of the window). The first refusal in a window writes one ``api.rate_limited`` audit row.
Keys hold a token's public code or an address, never a token value.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

WINDOW = 60  # seconds
PREFIX = "api:rate"  # of the cache keys (tests give each test its own)
DEFAULT_PER_TOKEN = 120
DEFAULT_FAILED_PER_ADDRESS = 30


def clock() -> float:
    """The clock of this module; tests replace it to stay inside one window."""
    return time.time()


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("rate_limited")
        self.retry_after = retry_after


def per_token() -> int:
    return int(getattr(settings, "KKA_API_RATE_PER_MINUTE", DEFAULT_PER_TOKEN))


def failed_per_address() -> int:
    return int(getattr(settings, "KKA_API_FAILED_PER_MINUTE", DEFAULT_FAILED_PER_ADDRESS))


def _window() -> tuple[int, int]:
    """(number of the current window, seconds until it ends; at least 1)."""
    moment = clock()
    number = int(moment // WINDOW)
    return number, max(1, int((number + 1) * WINDOW - moment + 0.999))


def _incr(key: str) -> int:
    cache.add(key, 0, timeout=WINDOW * 2)
    try:
        return int(cache.incr(key))
    except ValueError:  # evicted between add and incr: this request starts the count
        cache.set(key, 1, timeout=WINDOW * 2)
        return 1


def _token_key(code: str, number: int) -> str:
    return f"{PREFIX}:token:{code}:{number}"


def _address_key(address: str, number: int) -> str:
    return f"{PREFIX}:failed:{address}:{number}"


def count_token_request(code: str) -> tuple[int, int, int]:
    """Count one request of the token: (count in this window, limit, retry-after)."""
    number, retry_after = _window()
    return _incr(_token_key(code, number)), per_token(), retry_after


def address_blocked(address: str) -> int:
    """Seconds to wait when the address already failed too often this minute, else 0."""
    number, retry_after = _window()
    failed = cache.get(_address_key(address, number), 0)
    return retry_after if int(failed) >= failed_per_address() else 0


def count_failure(address: str) -> tuple[int, int]:
    """Count one failed token attempt of the address: (count in this window, limit)."""
    number, _retry_after = _window()
    return _incr(_address_key(address, number)), failed_per_address()
