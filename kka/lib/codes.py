"""Public identifiers: short, non-enumerable codes for URLs and documents."""

from __future__ import annotations

import secrets

# Crockford-style alphabet: no I, L, O, U, so codes read aloud and typed by hand survive.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_code(length: int = 10) -> str:
    """A random code; 10 characters give 50 bits, far beyond guessing range for lookups."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))
