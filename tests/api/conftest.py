"""Every API test counts its requests apart: rate-limit counters live in Django's cache,
which outlives a test (and with REDIS_URL is shared), so each test gets its own key
prefix instead of clearing a cache that others may be using."""

from __future__ import annotations

import uuid

import pytest

from kka.api import ratelimit


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "PREFIX", f"test-{uuid.uuid4().hex}:api:rate")
