"""Issue 14, the newcomer's first minutes: quiet server logs and no 404 on every page."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def test_the_favicon_is_served_not_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert "max-age=86400" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO header


def test_loading_the_embedding_model_prints_no_progress_bar(tmp_path):
    """The server's log had a tqdm "Loading weights" bar on every start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_HUB_DISABLE")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="1",
        SECRET_KEY="newcomer-test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        HF_HUB_OFFLINE="1",
    )
    script = "import django; django.setup(); from catalog.index import get_embedder; get_embedder()"
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "Loading SentenceTransformer model" in done.stderr  # the model did load
    assert "Loading weights" not in done.stderr
    assert "it/s]" not in done.stderr
