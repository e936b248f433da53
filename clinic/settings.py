"""Settings for the clinic backend: one module, read from the environment.

With nothing set, everything is embedded (SQLite under ``var/``, a Celery broker on the file system,
emails written as .eml files to ``var/outbox/``), so ``make run`` works on a bare machine. Every value
that is set but malformed stops start-up with ``ImproperlyConfigured`` naming the variable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfoNotFoundError

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu.entity import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _read(name: str, parse: Callable[[str], T], default: T) -> T:
    """Return ``parse(value)`` of the variable, the default when unset, or fail naming the variable."""
    raw = env.str(name, default=None)
    if raw is None:
        return default
    try:
        return parse(raw)
    except (ValueError, KeyError, ImproperlyConfigured, ZoneInfoNotFoundError) as exc:
        raise ImproperlyConfigured(f"{name} has an invalid value {raw!r}: {exc}") from exc


def _strict_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("expected one of true/false, yes/no, on/off, 1/0")


def _url_with_scheme(*schemes: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        scheme = raw.split("://", 1)[0] if "://" in raw else ""
        if scheme not in schemes:
            raise ValueError(f"the scheme must be one of {', '.join(schemes)}")
        return raw

    return parse


def _rate(raw: str) -> str:
    """A DRF throttle rate such as ``60/min``."""
    count, _, period = raw.partition("/")
    if not count.isdigit() or period[:1] not in {"s", "m", "h", "d"}:
        raise ValueError("expected a rate like 60/min")
    return raw


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("expected zero or a positive whole number")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("expected a positive whole number")
    return value


# --- Environment ---------------------------------------------------------------------------------
DJANGO_ENV = _read("DJANGO_ENV", str, "development").strip()
if DJANGO_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured(
        f"DJANGO_ENV has an invalid value {DJANGO_ENV!r}: expected development, production or test"
    )
PRODUCTION = DJANGO_ENV == "production"

DEBUG = _read("DEBUG", _strict_bool, not PRODUCTION)
if PRODUCTION and "SECRET_KEY" not in env.ENVIRON:
    raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_ENV=production")
SECRET_KEY = _read("SECRET_KEY", str, "django-insecure-development-only-key-do-not-use-in-production")
if PRODUCTION and (len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters in production")

ALLOWED_HOSTS: list[str] = _read(
    "ALLOWED_HOSTS",
    lambda raw: [h.strip() for h in raw.split(",") if h.strip()],
    [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"],
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DJANGO_ENV=production")
CSRF_TRUSTED_ORIGINS: list[str] = _read(
    "CSRF_TRUSTED_ORIGINS", lambda raw: [h.strip() for h in raw.split(",") if h.strip()], []
)

# Absolute base of links in emails (admin links, activation links).
SITE_URL = _read("SITE_URL", _url_with_scheme("http", "https"), "http://127.0.0.1:8000").rstrip("/")

# --- Applications --------------------------------------------------------------------------------
INSTALLED_APPS = [
    "clinic.apps.ClinicAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc as static files (no CDN)
    "axes",
    "django_celery_beat",
    # Two-factor authentication of staff (TOTP apps and one-time recovery codes): django-otp.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "auditlog",
    "patients",
    "programs",
    "assessments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Binds a request id to every log line of the request (and of the tasks it publishes): clinic/logs.py.
    "django_structlog.middlewares.RequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # API requests without credentials (and failed authentications) are throttled per address before any view.
    "clinic.api.middleware.AnonymousThrottleMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "patients.middleware.ClinicTimezoneMiddleware",
    # A query parameter of the API that is not UTF-8 text is a 400 naming it.
    "clinic.api.middleware.UnencodableQueryMiddleware",
    # Last, so that a lockout raised during authentication becomes a 429 (admin login included).
    "axes.middleware.AxesMiddleware",
]

if PRODUCTION:
    # Serves the collected static files (collectstatic runs in the image build); runserver does it in development.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "clinic" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------------------------
DATABASES: dict[str, dict[str, Any]] = {
    "default": _read(
        "DATABASE_URL",
        lambda raw: env.db_url_config(_url_with_scheme("sqlite", "postgres", "postgresql", "pgsql")(raw)),
        {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "db.sqlite3")},
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: wait for locks and take the write lock up front.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttles, lockouts) -----------------------------------------------------------------
CACHES: dict[str, dict[str, Any]] = {
    "default": _read(
        "CACHE_URL",
        lambda raw: env.cache_url_config(
            _url_with_scheme("redis", "rediss", "locmemcache", "filecache", "dummycache", "dbcache")(raw)
        ),
        {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(VAR_DIR / "cache")},
    )
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # A dead or frozen cache must not hang or fail a request: short timeouts, then a per-process memory cache for
    # RETRY_AFTER seconds (clinic/cache.py). Lockouts are in the database, not here.
    CACHES["default"]["BACKEND"] = "clinic.cache.ResilientRedisCache"
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, "RETRY_AFTER": 10}
    )

# --- Authentication ------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # Counts failures and refuses locked-out (account, address) pairs before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = _read("AXES_FAILURE_LIMIT", _positive_int, 5)
AXES_COOLOFF_TIME = timedelta(minutes=15)  # a cool-off, never a permanent lockout
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "clinic.api.errors.lockout_response"
AXES_VERBOSE = False
# Reverse proxies in front of the site; X-Forwarded-For is trusted only that far (clinic/client_ip.py).
PROXY_COUNT = _read("PROXY_COUNT", _non_negative_int, 0)
AXES_CLIENT_IP_CALLABLE = "clinic.client_ip.client_ip"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
INVITATION_TTL = timedelta(days=7)
# Staff sign in to the admin with a second factor (a TOTP app or a recovery code): required in production,
# optional in development (`manage.py staff_2fa <email>` sets up a staff member's authenticator).
STAFF_2FA_REQUIRED = _read("STAFF_2FA_REQUIRED", _strict_bool, PRODUCTION)
OTP_TOTP_ISSUER = "Clinic admin"
# A password-reset link works once (Django's token changes with the password) and for this long.
PASSWORD_RESET_TIMEOUT = 2 * 3600

# --- Portal API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "patients.tokens.TokenAuthentication",  # knox tokens, one query: patients/tokens.py
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only; a string that cannot be encoded (a lone surrogate) is a 400 naming its field.
    "DEFAULT_PARSER_CLASSES": ["clinic.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "clinic.api.pagination.PagePagination",
    "DEFAULT_FILTER_BACKENDS": ["clinic.api.filters.FilterBackend"],  # django-filter, skipped when unused
    "DEFAULT_SCHEMA_CLASS": "clinic.api.schema.AutoSchema",  # error responses, bounds: clinic/api/schema.py
    "DEFAULT_THROTTLE_CLASSES": [
        "clinic.api.throttling.AnonRateThrottle",  # DRF's, in one Redis round trip
        "clinic.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": _read("THROTTLE_ANON", _rate, "60/min"),
        "user": _read("THROTTLE_USER", _rate, "600/min"),
        "login": _read("THROTTLE_LOGIN", _rate, "20/min"),
        # Reset emails: per client address, and per account address whoever asks.
        "password_reset": _read("THROTTLE_PASSWORD_RESET", _rate, "20/hour"),
        "password_reset_email": _read("THROTTLE_PASSWORD_RESET_EMAIL", _rate, "3/hour"),
    },
    "EXCEPTION_HANDLER": "clinic.api.errors.exception_handler",
    # Throttles key anonymous clients by address: the same trust rule as the lockouts.
    "NUM_PROXIES": PROXY_COUNT,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=_read("TOKEN_TTL_DAYS", _positive_int, 30)),
    "AUTO_REFRESH": False,
    "TOKEN_LIMIT_PER_USER": 20,
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Clinic portal API",
    "DESCRIPTION": "Self-assessments, program and trends for patients; alerts for therapists.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI (/api/v1/docs/) and Redoc (/api/v1/redoc/) from drf-spectacular-sidecar's static files, no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},  # no online validator badge
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "clinic.api.schema.error_responses_component",  # ErrorResponse under components/responses
    ],
    "ENUM_NAME_OVERRIDES": {
        "AssessmentKindEnum": "assessments.models.Entry.Kind",
        "SafetyScreenEnum": "assessments.questionnaires.SAFETY_SCREEN_CHOICES",
        "PhaseEnum": "programs.models.Phase",
    },
}

# --- Internationalisation ------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files --------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Security (production) -----------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _read("SECURE_SSL_REDIRECT", _strict_bool, True)
    SECURE_HSTS_SECONDS = _read("SECURE_HSTS_SECONDS", _positive_int, 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Email ---------------------------------------------------------------------------------------
EMAIL_TIMEOUT = _read("EMAIL_TIMEOUT", _positive_int, 10)
DEFAULT_FROM_EMAIL = _read("DEFAULT_FROM_EMAIL", str, "Clinic alerts <alerts@clinic.invalid>")
EMAIL_OUTBOX_DIR = VAR_DIR / "outbox"
_email: dict[str, Any] = _read(
    "EMAIL_URL",
    lambda raw: env.email_url_config(
        _url_with_scheme("smtp", "smtps", "smtp+tls", "smtp+ssl", "consolemail", "filemail", "memorymail", "dummymail")(
            raw
        )
    ),
    {"EMAIL_BACKEND": "clinic.email.OutboxFolderBackend"},
)
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
if "EMAIL_FILE_PATH" in _email:
    EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"]

# --- Celery --------------------------------------------------------------------------------------
_broker_default = "filesystem://localhost/"
CELERY_BROKER_URL = _read(
    "CELERY_BROKER_URL",
    _url_with_scheme("redis", "rediss", "amqp", "amqps", "filesystem", "memory"),
    _read("REDIS_URL", _url_with_scheme("redis", "rediss"), _broker_default),
)
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
    # Above the longest task's hard limit, so a running task is never handed to a second worker.
    "visibility_timeout": 3600,
    "socket_timeout": 3,
    "socket_connect_timeout": 2,
    "max_retries": 1,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing from a web request: give up fast; the periodic sweep picks the work up later.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Two queues, two worker pools: scans (and every other task) on "celery", everything that talks to the SMTP
# server on "email", consumed by a worker of its own (`celery -A clinic worker -Q email`, Procfile and
# docker-compose.yml). A hanging SMTP server then holds up emails only, never a scan; the default worker is
# started with `-Q celery`. A worker started without -Q consumes both (the tests' single worker).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("celery"), Queue("email"))  # type: ignore[no-untyped-call]
CELERY_TASK_ROUTES = {
    name: {"queue": "email"}
    for name in (
        "assessments.send_email",
        "assessments.sweep_outbox",
        "assessments.send_digests",
        "assessments.send_reminders",
    )
}
# The outbox lease: a row claimed for sending longer ago than this belongs to a worker that died mid-send and
# is resent (once, same Message-ID) by the next sweep. A live send is cut at 80 % of it, so it exceeds the
# longest legitimate send: 6 x EMAIL_TIMEOUT + 15 s (75 s at the default 10 s), at most 90 s. With the sweep
# every 15 s, an email whose worker died is resent within lease + 15 s (90 s at the defaults; 105 s at most).
OUTBOX_LEASE_SECONDS = min(6 * EMAIL_TIMEOUT + 15, 90)
OUTBOX_SWEEP_SECONDS = 15.0
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Beat only ticks; the database decides what is due. Beat writes these entries into its database schedule
# (Periodic tasks in the admin) each time it starts, so change them here, not there.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "sweep-unscanned-entries": {"task": "assessments.sweep_unscanned", "schedule": 30.0},
    # A sweep still queued when the next one is due is dropped (a hanging SMTP server must not pile them up).
    "sweep-outbox": {
        "task": "assessments.sweep_outbox",
        "schedule": OUTBOX_SWEEP_SECONDS,
        "options": {"expire_seconds": int(OUTBOX_SWEEP_SECONDS)},
    },
    "send-digests": {"task": "assessments.send_digests", "schedule": 300.0},
    "patient-reminders": {"task": "assessments.send_reminders", "schedule": crontab(minute=5)},
    "evaluate-enrolled-daily": {"task": "assessments.evaluate_enrolled", "schedule": crontab(minute=15, hour=3)},
    "purge-expired-tokens": {"task": "patients.purge_expired_tokens", "schedule": crontab(minute=45, hour=3)},
}

# --- Logging -------------------------------------------------------------------------------------
# One chain for every logger of every process (clinic/logs.py): structured lines, a request id carried into
# the Celery tasks a request causes, and no health information (names, emails, answers, search terms, query
# strings, paths outside the URL configuration are masked). docs/operations.md, "Logs".
LOG_LEVEL = _read("LOG_LEVEL", lambda raw: raw.upper(), "INFO")
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL has an invalid value {LOG_LEVEL!r}")
# JSON lines for log collectors (the default when DEBUG is off, so in production); readable key=value lines
# in development.
LOG_FORMAT = _read("LOG_FORMAT", lambda raw: raw.strip().lower(), "console" if DEBUG else "json")
if LOG_FORMAT not in {"json", "console"}:
    raise ImproperlyConfigured(f"LOG_FORMAT has an invalid value {LOG_FORMAT!r}: expected json or console")
LOGGING_CONFIG = "clinic.logs.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"structured": {"()": "clinic.logs.formatter", "fmt": LOG_FORMAT}},
    # Request lines carry paths, never query strings (an admin search holds a surname): see clinic/logs.py.
    "filters": {"no_query_strings": {"()": "clinic.logs.StripQueryStrings"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "structured", "filters": ["no_query_strings"]}
    },
    "loggers": {
        # Django's own handlers (plain text to the console when DEBUG, mail to ADMINS) are dropped: its records
        # reach the root handler, through the redaction.
        "django": {"handlers": [], "level": "NOTSET", "propagate": True},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # SQL and its parameters (names, answers) are never logged, whatever LOG_LEVEL says.
        "django.db.backends": {"level": "INFO"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
# django-structlog: the client address is bound by clinic/logs.py as the throttles see it (trusted proxies
# only); its Celery receivers are connected there and in clinic/celery.py, once per process.
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
