"""Test settings: the real settings, with an isolated data directory and fast hashing."""

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
os.environ["KKA_DATA_DIR"] = os.environ.get("KKA_TEST_DATA_DIR", str(_ROOT / "var" / "test"))

from kka.settings import *  # noqa: E402,F403

# Manifest storage needs collectstatic; the finders serve the same files in tests.
STORAGES = {
    **STORAGES,  # noqa: F405  (keeps "private", the uploaded files)
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Argon2 is configured in kka.settings (a test checks it); tests hash faster.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (whitenoise warns if missing)
