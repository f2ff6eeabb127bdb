"""Settings for pytest: the real settings with throwaway keys and a fast hasher."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
# base64 of "test-only-field-key-not-for-prod": a Fernet key for tests only.
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "dGVzdC1vbmx5LWZpZWxkLWtleS1ub3QtZm9yLXByb2Q=")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests must never depend on a developer's collected static files.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The test client speaks plain HTTP: no redirect to HTTPS, no HSTS, no HTTPS-only cookies
# (tests/functional/test_deploy_settings.py checks the production values).
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Static files come from the finders; no collected folder is needed (or warned about).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

# SQLite tests run on a throwaway file, as production does, not Django's default shared
# in-memory database: its table locks fail at once instead of waiting, which a worker
# running several tasks on threads meets and production never does.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    _db_folder = Path(tempfile.mkdtemp(prefix="test-db-"))
    atexit.register(shutil.rmtree, _db_folder, ignore_errors=True)
    DATABASES["default"]["TEST"] = {"NAME": str(_db_folder / "test.sqlite3")}  # noqa: F405

# Uploaded files and the vector index live in throwaway folders.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="test-media-"))
CHROMA_DIR = Path(tempfile.mkdtemp(prefix="test-chroma-"))
for _folder in (MEDIA_ROOT, CHROMA_DIR):
    atexit.register(shutil.rmtree, _folder, ignore_errors=True)
TASKS_IN_PROCESS_WORKER = False
# Tests change accounts with .update() too: no cross-request cache of webhook accounts
# (the cache has its own tests, which turn it on).
CHANNEL_ACCOUNT_CACHE_SECONDS = 0

# The LLM: never a real provider from tests, whatever the environment says. Tests
# that need one start an OpenAI-compatible server on 127.0.0.1 (tests/fakes).
LLM_API_KEY = ""
LLM_BASE_URL = "http://127.0.0.1:9/v1"

# Outbound webhooks: test receivers listen on 127.0.0.1, and retries wait milliseconds.
WEBHOOK_ALLOW_PRIVATE_URLS = True
WEBHOOK_RETRY_SCHEDULE = [0.05, 0.1]
WEBHOOK_RETRY_WINDOW = 5.0
WEBHOOK_CONNECT_TIMEOUT = 2.0
WEBHOOK_READ_TIMEOUT = 2.0

# Pages without a member (the sign-in, operators) read English in tests, the language the
# assertions are written in; members read their own or their tenant's
# (tests/functional/test_desk_i18n.py checks the Spanish default and Accept-Language).
LANGUAGE_CODE = "en"
