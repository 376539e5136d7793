"""KKA settings: one module, driven by environment variables.

Zero configuration gives a development instance on SQLite in ``./var``. Every
variable is listed in README.md ("Configuration"). Problems are reported by the
system checks in ``kka.checks`` (ids ``kka.E0xx`` / ``kka.W0xx``), so that
``kka check`` explains them and production refuses to start on an error.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url

from kka.lib.datadir import data_dir, new_secret_key, secret_file


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent
KKA_ENV = os.environ.get("KKA_ENV", "development").strip().lower()
PRODUCTION = KKA_ENV == "production"
DATA_DIR = data_dir()

# Marker for "no secret key was given"; the kka.E001 check refuses it in production.
# Accepted (bandit B105, until 2027-05-31): marker refused by kka.E001.
INSECURE_SECRET_KEY = "kka-insecure-default-secret-key-do-not-use"  # noqa: S105  # nosec B105

if os.environ.get("KKA_SECRET_KEY"):
    SECRET_KEY = os.environ["KKA_SECRET_KEY"]
elif PRODUCTION:
    SECRET_KEY = INSECURE_SECRET_KEY
else:
    SECRET_KEY = secret_file("secret.key", new_secret_key)

# Field-encryption keys (MultiFernet), newest first; separate from SECRET_KEY.
if os.environ.get("KKA_FIELD_KEYS"):
    FIELD_ENCRYPTION_KEYS = env_list("KKA_FIELD_KEYS", [])
elif PRODUCTION:
    FIELD_ENCRYPTION_KEYS = []
else:
    from kka.lib.crypto import new_field_key

    # One key per line (or comma-separated), newest first, as in KKA_FIELD_KEYS.
    FIELD_ENCRYPTION_KEYS = secret_file("field.keys", new_field_key).replace(",", " ").split()

# Key for blind indexes (keyed hashes that let names be searched without storing them).
if os.environ.get("KKA_INDEX_KEY"):
    SEARCH_INDEX_KEY = os.environ["KKA_INDEX_KEY"]
elif PRODUCTION:
    SEARCH_INDEX_KEY = ""
else:
    SEARCH_INDEX_KEY = secret_file("index.key", new_secret_key)

DEBUG = env_bool("KKA_DEBUG", False)

ALLOWED_HOSTS = env_list(
    "KKA_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("KKA_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "whitenoise.runserver_nostatic",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "ninja",
    "kka.audit",
    "kka.accounts",
    "kka.cases",
    "kka.conferences",
    "kka.documents",
    "kka.portal",
    "kka.privacy",
    "kka.api",
    "kka.jobs",
    "kka.reports",
    "kka.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kka.lib.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "kka.lib.request_context.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "kka.accounts.middleware.OrganisationMiddleware",
    "kka.accounts.middleware.LanguageMiddleware",
    "kka.lib.security.RejectNulPathMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Idle (KKA_SESSION_IDLE_MINUTES) and absolute (12 h) session limits; after messages,
    # so the login page can say why the session ended.
    "kka.accounts.sessions.SessionLimitsMiddleware",
    # Second factor: a logged-in person who has not given it is sent to verify/enrol.
    "kka.accounts.two_factor.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a refused login into the lockout answer (kka.accounts.views).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kka.urls"
WSGI_APPLICATION = "kka.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kka.accounts.context_processors.organisation",
                "kka.lib.security.csp",
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------
SQLITE_PATH = DATA_DIR / "kka.sqlite3"
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database that does not answer fails a request (503) and /readyz within seconds
    # instead of holding a worker for the operating system's TCP timeout.
    if "postgresql" in DATABASES["default"].get("ENGINE", ""):
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", int(os.environ.get("KKA_DB_CONNECT_TIMEOUT", "3") or "3")
        )
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            "OPTIONS": {
                # Writers take the lock at BEGIN, so they queue instead of failing mid-way.
                "transaction_mode": "IMMEDIATE",
                "timeout": 25,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA busy_timeout=25000;"
                ),
            },
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The report indexes carry INCLUDE columns for PostgreSQL's index-only scans; SQLite
# builds the same indexes without them (docs/performance.md, "Program reports").
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- Accounts -----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 2
# Axes first: it refuses a locked-out email/address pair before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# --- Brute force (django-axes) -----------------------------------------------------------
# Six failed logins for one email from one address lock that pair for 30 minutes: never
# forever, never another address, and an unknown email is locked exactly like a known one.
# Attempts are rows in the database, so every application server sees the same lock. Only
# the typed email and the address are kept, and only until the cool-off has passed; KKA's
# own audit log (auth.login_failed / auth.locked_out) is the lasting record.
AXES_ENABLED = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = 6
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts made while locked are refused but do not push the end of the lock further out.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_FORM_FIELD = "username"  # the login form's field (it holds the email)
AXES_CLIENT_IP_CALLABLE = "kka.lib.request_context.client_ip"  # same address as the audit log
AXES_LOCKOUT_CALLABLE = "kka.accounts.views.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # successful logins are in the audit log already
AXES_ENABLE_ACCESS_FAILURE_LOG = False  # no lasting list of typed emails
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "csrfmiddlewaretoken"]

# Sessions live in the database, which every application server shares: ending a session
# (logout, "end all", a deactivated member) deletes its row and takes effect everywhere.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# Absolute lifetime from login, whatever the activity; idle limit between 5 and 30 minutes
# (kka.E015). Both are enforced by kka.accounts.sessions.SessionLimitsMiddleware.
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_ABSOLUTE_SECONDS = SESSION_COOKIE_AGE
_idle_minutes = os.environ.get("KKA_SESSION_IDLE_MINUTES", "15").strip() or "15"
SESSION_IDLE_MINUTES = int(_idle_minutes) if _idle_minutes.isdigit() else -1  # -1: kka.E015
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# In production the names carry the __Host- prefix: the browser then accepts the cookie
# only if it is Secure, has Path=/ and no Domain, so no subdomain can set or shadow it.
SESSION_COOKIE_NAME = "__Host-kka_session" if PRODUCTION else "kka_session"
CSRF_COOKIE_NAME = "__Host-kka_csrf" if PRODUCTION else "kka_csrf"

# --- Internationalisation ---------------------------------------------------------
LANGUAGE_CODE = "id"
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "kka_lang"
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Jakarta"

# --- Static files -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"
# Uploaded case files (encrypted) live here, outside the static root and never served directly.
PRIVATE_FILES_ROOT = DATA_DIR / "private"

# --- Many machines (docs/deployment.md) ---------------------------------------------------
# How many application servers run this configuration. Above 1, nothing may live on one
# server only: PostgreSQL (kka.E030), Redis (kka.E031) and shared files (kka.W030).
_servers = os.environ.get("KKA_SERVERS", "1").strip() or "1"
KKA_SERVERS = int(_servers) if _servers.isdigit() else 0  # 0: kka.E032
REDIS_URL = os.environ.get("REDIS_URL", "").strip()

# API rate limits (kka.api.ratelimit): per token, and per address for bad tokens.
KKA_API_RATE_PER_MINUTE = int(os.environ.get("KKA_API_RATE_PER_MINUTE", "120"))
KKA_API_FAILED_PER_MINUTE = int(os.environ.get("KKA_API_FAILED_PER_MINUTE", "30"))
# The private file storage is a mount every server shares (NFS, ...): no kka.W030.
KKA_SHARED_FILES = env_bool("KKA_SHARED_FILES", False)
# Cache: rate limits and other short-lived counters. Sessions stay in the database and
# django-axes keeps its lock state there too, so both are shared without Redis.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "kka",
            # A Redis that does not answer fails fast instead of hanging page requests.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Uploaded files go through STORAGES["private"] (kka.lib.private_files), always encrypted
# before they reach it: the file system under PRIVATE_FILES_ROOT, or S3-compatible object
# storage through django-storages when KKA_S3_BUCKET is set.
KKA_S3_BUCKET = os.environ.get("KKA_S3_BUCKET", "").strip()
if KKA_S3_BUCKET:
    STORAGES["private"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": KKA_S3_BUCKET,
            "location": os.environ.get("KKA_S3_PREFIX", "private").strip("/"),
            "endpoint_url": os.environ.get("KKA_S3_ENDPOINT") or None,
            "region_name": os.environ.get("KKA_S3_REGION") or None,
            # Without keys boto3 finds credentials itself (AWS_* variables, instance role).
            "access_key": os.environ.get("KKA_S3_ACCESS_KEY") or None,
            "secret_key": os.environ.get("KKA_S3_SECRET_KEY") or None,
            "default_acl": None,  # the bucket's own policy: private
            "querystring_auth": True,  # never a public URL; KKA serves files itself anyway
            # Names are 160 random bits: no need to ask the bucket whether one exists, and
            # key rotation rewrites a file under its own name.
            "file_overwrite": True,
        },
    }
else:
    STORAGES["private"] = {"BACKEND": "kka.lib.private_files.PrivateFileSystemStorage"}
UPLOAD_MAX_BYTES = int(os.environ.get("KKA_UPLOAD_MAX_MB", "10")) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1024 * 1024
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# --- Mail ---------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = os.environ.get("KKA_MAIL_FROM", "KKA <kka@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_SUBJECT_PREFIX = "[KKA] "
if os.environ.get("KKA_SMTP_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["KKA_SMTP_HOST"]
    EMAIL_PORT = int(os.environ.get("KKA_SMTP_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("KKA_SMTP_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("KKA_SMTP_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("KKA_SMTP_TLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = env_bool("KKA_SMTP_SSL", EMAIL_PORT == 465)
    EMAIL_TIMEOUT = 30
    MAIL_DELIVERED = True
else:
    # Development: every message is written to a file; the UI says nothing was sent.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = DATA_DIR / "mail"
    MAIL_DELIVERED = False

# --- Security -------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "kka.web.errors.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("KKA_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("KKA_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("KKA_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("KKA_HSTS_PRELOAD", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
if env_bool("KKA_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = False

# --- Logging: never client data; every line carries the request id. ----------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "kka.lib.request_context.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("KKA_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's request logger prints full URLs and, on errors, local variables.
        "django.request": {"level": "ERROR", "propagate": True},
        # At DEBUG the template engine logs every failed variable lookup with the whole
        # context (decrypted case data): never below INFO, whatever KKA_LOG_LEVEL says.
        "django.template": {"level": "INFO", "propagate": True},
        # django-axes reports every attempt at INFO; failures and locks are WARNING.
        "axes": {"level": "WARNING", "propagate": True},
    },
}

# Second factor (TOTP + hashed backup codes) for every staff account; on by default in
# production (kka.W012 warns when production turns it off, e.g. for a demo).
KKA_REQUIRE_2FA = env_bool("KKA_REQUIRE_2FA", PRODUCTION)
# A fresh second factor is asked again before sensitive actions older than this.
KKA_STEP_UP_SECONDS = 5 * 60
OTP_TOTP_ISSUER = "KKA"
OTP_TOTP_THROTTLE_FACTOR = 1
KKA_DEMO_PASSWORD = os.environ.get("KKA_DEMO_PASSWORD", "")
# The address people reach KKA at, for links in mail (private invitation links).
KKA_BASE_URL = os.environ.get("KKA_BASE_URL", "" if PRODUCTION else "http://127.0.0.1:8000")

# --- Background jobs (Celery; kka/celery.py, kka/jobs) ------------------------------------
# With REDIS_URL, tasks go to Redis and run in `celery -A kka.celery worker` processes
# (beat: `celery -A kka.celery beat`). Without it (one school, one process) they run
# in-process when enqueued and nothing else is started. Celery's own "eager propagates"
# would turn the first retry into an error; kka.jobs.enqueue raises a task's final
# failure (after its retries) instead, as the code did before it had tasks.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_RESULT_EXPIRES = 24 * 60 * 60
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Acknowledged after the work is done: a worker that dies mid-task leaves the message to
# be delivered again (kka.jobs.runs makes the second delivery do nothing twice).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A message not acknowledged within this many seconds is delivered again (Redis has no
# real acks): longer than the longest task, shorter than anyone's patience after a crash.
_visibility = int(os.environ.get("KKA_JOB_VISIBILITY_SECONDS", "900") or "900")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _visibility,
    # How often a worker looks for messages whose visibility ran out (kombu's default
    # is about every 100 s; a short visibility, as in the crash tests, wants seconds).
    "unacked_restore_interval": 10 if _visibility >= 60 else 1,
    "unacked_restore_throttle": 10 if _visibility >= 60 else 1,
}
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # our LOGGING (no client data, request ids)
CELERY_TIMEZONE = TIME_ZONE
# The local hour at which each organisation gets its daily reminders (beat checks every
# hour at :15, so they go out at 06:15 in the organisation's own time zone).
KKA_REMIND_HOUR = int(os.environ.get("KKA_REMIND_HOUR", "6"))
# Tests of a killed worker only: seconds a mail task waits before sending (never in
# production).
KKA_TEST_TASK_DELAY = 0.0 if PRODUCTION else float(os.environ.get("KKA_TEST_TASK_DELAY") or 0)
# Beat's record of when each schedule last ran (one beat per installation).
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
