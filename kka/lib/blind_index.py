"""Keyed blind indexes: search encrypted names without storing them in plaintext.

A name is normalised (case, accents, punctuation removed), split into words, and
each word's prefixes of 3+ characters are turned into HMAC-SHA256 tokens with
``settings.SEARCH_INDEX_KEY``. The database holds only tokens; a query is turned
into tokens the same way and matched. Without the key, tokens reveal nothing but
their count.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from django.conf import settings

MIN_PREFIX = 3
MAX_PREFIX = 12


def normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", " ", stripped.casefold()).strip()


def words(text: str) -> list[str]:
    return [w for w in normalise(text).split() if w]


def token(value: str, *, purpose: str) -> str:
    key = settings.SEARCH_INDEX_KEY.encode("utf-8")
    digest = hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()
    return digest[:32]


def name_tokens(name: str) -> set[str]:
    """Tokens for every word prefix (3 to 12 characters) and every whole word."""
    tokens: set[str] = set()
    for word in words(name):
        tokens.add(token(word, purpose="name"))
        for length in range(MIN_PREFIX, min(len(word), MAX_PREFIX) + 1):
            tokens.add(token(word[:length], purpose="name"))
    return tokens


def query_tokens(query: str) -> list[str]:
    """One token per query word (words shorter than 3 characters are ignored)."""
    result = []
    for word in words(query):
        if len(word) < MIN_PREFIX:
            continue
        result.append(token(word[:MAX_PREFIX], purpose="name"))
    return result


def identifier_token(kind: str, value: str) -> str:
    """Exact-match token for an identifier such as a NISN or employee number."""
    return token(re.sub(r"\s+", "", value or "").upper(), purpose=f"id:{kind}")
