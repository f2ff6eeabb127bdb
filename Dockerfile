# Production image: Daphne serves HTTP and WebSocket; MySQL/MariaDB through mysqlclient.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        default-libmysqlclient-dev pkg-config build-essential \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt requirements-mysql.txt ./
RUN pip install -r requirements-mysql.txt

COPY . .
# Throwaway keys: collecting static files reads no secret (the key is base64 of
# "collectstatic-only-not-a-secret!").
RUN SECRET_KEY=collectstatic-only \
    FIELD_ENCRYPTION_KEY=Y29sbGVjdHN0YXRpYy1vbmx5LW5vdC1hLXNlY3JldCE= \
    python manage.py collectstatic --noinput --verbosity 0

RUN useradd --create-home --uid 10001 app \
    && mkdir -p /app/media /app/data \
    && chown -R app:app /app/media /app/data
USER app

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz/')"

# Migrations run in their own one-off command (see docker-compose.yml), not here.
CMD ["python", "-m", "config.serve", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "config.asgi:application"]
