"""EncryptedTextField and kka.lib.crypto: plaintext only in memory, tampering refused."""

from __future__ import annotations

import base64
import binascii
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.db import connection
from django.db.models.lookups import IsNull
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pytest_django import Settings as SettingsWrapper

from kka.lib import crypto
from kka.lib.crypto import (
    DecryptionError,
    _multifernet,
    decrypt_text,
    encrypt_text,
    new_field_key,
    parse_keys,
    rotate_token,
)
from kka.lib.datadir import secret_file
from kka.lib.fields import EncryptedTextField

KEY_OLD = Fernet.generate_key().decode("ascii")
KEY_NEW = Fernet.generate_key().decode("ascii")
NOTE = "Klien bercerita tentang perundungan di sekolah; merasa cemas 😟🙏 — “rahasia”."


@pytest.fixture(autouse=True)
def _fresh_key_cache(settings: SettingsWrapper) -> Iterator[None]:
    _multifernet.cache_clear()
    settings.FIELD_ENCRYPTION_KEYS = [KEY_OLD]
    yield
    _multifernet.cache_clear()


def _store(value: str | None) -> str | None:
    return EncryptedTextField().get_prep_value(value)


def _load(value: str | None) -> str | None:
    return EncryptedTextField().from_db_value(value, None, connection)


def _flip_middle(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


def test_text_round_trips_through_the_stored_token() -> None:
    token = _store(NOTE)

    assert token is not None and token != NOTE
    assert "perundungan" not in token
    assert _load(token) == NOTE


@hypothesis_settings(max_examples=50, deadline=None)
@given(text=st.text())
def test_any_text_round_trips(text: str) -> None:
    token = _store(text)

    assert isinstance(token, str) and token.isascii()
    assert _load(token) == text


def test_the_same_text_encrypts_differently_each_time() -> None:
    assert _store(NOTE) != _store(NOTE)


def test_none_stays_none_and_the_empty_string_is_encrypted_too() -> None:
    assert _store(None) is None
    assert _load(None) is None

    token = _store("")
    assert token  # not stored as an empty (and so recognisable) value
    assert _load(token) == ""


def test_a_tampered_token_is_refused() -> None:
    token = _store(NOTE)
    assert token is not None

    with pytest.raises(DecryptionError):
        _load(_flip_middle(token))


@hypothesis_settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_changed_character_is_refused_or_changes_nothing(data: st.DataObject) -> None:
    token = _store(NOTE)
    assert token is not None
    position = data.draw(st.integers(0, len(token) - 1), label="position")
    replacement = data.draw(
        st.characters(codec="utf-8").filter(lambda c: c != token[position]), label="char"
    )
    tampered = token[:position] + replacement + token[position + 1 :]
    try:
        same_bytes = base64.urlsafe_b64decode(tampered) == base64.urlsafe_b64decode(token)
    except (binascii.Error, ValueError):
        same_bytes = False

    if same_bytes:
        # Only unused padding bits changed: the very same token, so the very same text.
        assert _load(tampered) == NOTE
    else:
        with pytest.raises(DecryptionError):
            _load(tampered)


def test_stored_plaintext_is_refused_not_returned() -> None:
    with pytest.raises(DecryptionError):
        _load("Catatan yang tersimpan tanpa enkripsi")


def test_a_token_made_with_an_unconfigured_key_is_refused() -> None:
    foreign = Fernet(Fernet.generate_key()).encrypt(NOTE.encode()).decode("ascii")

    with pytest.raises(DecryptionError):
        _load(foreign)


def test_without_keys_nothing_is_stored_in_plaintext(settings: SettingsWrapper) -> None:
    settings.FIELD_ENCRYPTION_KEYS = []

    with pytest.raises(DecryptionError):
        _store(NOTE)


def test_key_rotation_keeps_old_values_readable(settings: SettingsWrapper) -> None:
    old_token = encrypt_text(NOTE)

    settings.FIELD_ENCRYPTION_KEYS = [KEY_NEW, KEY_OLD]
    _multifernet.cache_clear()
    assert decrypt_text(old_token) == NOTE
    rotated = rotate_token(old_token)
    fresh = encrypt_text(NOTE)

    settings.FIELD_ENCRYPTION_KEYS = [KEY_NEW]
    _multifernet.cache_clear()
    assert decrypt_text(rotated) == NOTE
    assert decrypt_text(fresh) == NOTE  # the newest key encrypts
    with pytest.raises(DecryptionError):
        decrypt_text(old_token)


def test_rotating_a_tampered_token_is_refused(settings: SettingsWrapper) -> None:
    token = encrypt_text(NOTE)
    settings.FIELD_ENCRYPTION_KEYS = [KEY_NEW, KEY_OLD]

    with pytest.raises(DecryptionError):
        rotate_token(_flip_middle(token))


def test_keys_are_checked_and_named_by_position() -> None:
    assert len(parse_keys([KEY_NEW, new_field_key()])) == 2
    with pytest.raises(ValueError, match="key #2"):
        parse_keys([KEY_NEW, "bukan-kunci"])
    assert crypto.new_field_key() != crypto.new_field_key()


@pytest.mark.parametrize(
    "lookup", ["exact", "iexact", "contains", "icontains", "startswith", "in", "gt", "regex"]
)
def test_encrypted_values_cannot_be_searched(lookup: str) -> None:
    with pytest.raises(FieldError, match=lookup):
        EncryptedTextField().get_lookup(lookup)


def test_isnull_is_the_one_lookup_allowed() -> None:
    assert EncryptedTextField().get_lookup("isnull") is IsNull


# --- at rest -------------------------------------------------------------------------------


def _database_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    for suffix in ("-wal", "-journal"):
        extra = Path(f"{path}{suffix}")
        if extra.exists():
            data += extra.read_bytes()
    return data


def _checkpoint() -> None:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy, _, _ = cursor.fetchone()
    assert busy == 0


@pytest.mark.django_db(transaction=True)
def test_the_sqlite_file_holds_no_plaintext() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps no single database file to search for plaintext")
    marker = f"KANARI-{uuid.uuid4()}"
    token = _store(marker)
    assert token is not None
    path = Path(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE enc_probe (id integer primary key, body text)")
    try:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO enc_probe (id, body) VALUES (1, %s)", [token])
            cursor.execute("SELECT body FROM enc_probe WHERE id = 1")
            assert _load(cursor.fetchone()[0]) == marker
        _checkpoint()

        stored = _database_bytes(path)
        assert token.encode("ascii") in stored  # the row did reach the file
        assert marker.encode("utf-8") not in stored

        with connection.cursor() as cursor:  # the same search does find plaintext
            cursor.execute("INSERT INTO enc_probe (id, body) VALUES (2, %s)", [marker])
        _checkpoint()
        assert marker.encode("utf-8") in _database_bytes(path)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE enc_probe")


# --- generated keys in the data directory (development mode) ------------------------------------


def test_secret_file_is_created_private_and_then_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("KKA_DATA_DIR", str(data))

    key = secret_file("field.keys", new_field_key)

    path = data / "field.keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert len(parse_keys([key])) == 1

    def must_not_be_called() -> str:
        raise AssertionError("an existing key file was regenerated")

    assert secret_file("field.keys", must_not_be_called) == key
    assert path.read_text().strip() == key
    assert os.listdir(data) == ["field.keys"]
