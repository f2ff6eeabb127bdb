"""``python -m config.local_env --host H --port P``: the local ``.env`` that `make run` needs.

With no ``.env``, writes one for local development: ``DEBUG=1``, a generated ``SECRET_KEY``
and ``PUBLIC_BASE_URL`` from the host and port, so every ``manage.py`` command run in
another terminal afterwards uses the same settings as the server. An existing ``.env`` is
kept; with ``--port-given`` (the port or host was set on make's command line), the
``PUBLIC_BASE_URL`` of a ``.env`` this module wrote follows the new address, and a
hand-written one that disagrees gets a warning. It imports nothing of Django: it runs
before the settings can load.
"""

from __future__ import annotations

import argparse
import re
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

MARKER = "# Written by `make run`"
ROOT = Path(__file__).resolve().parent.parent


def public_base_url(host: str, port: str) -> str:
    # A server bound to every interface is still browsed on the loopback address.
    if host in ("0.0.0.0", "::", "[::]", ""):  # noqa: S104
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def local_env_text(*, url: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{MARKER} on {stamp} for local development; edit freely, or delete it to get a\n"
        "# new one. Every setting is listed in .env.example. Never use it in production.\n"
        "DEBUG=1\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"PUBLIC_BASE_URL={url}\n"
    )


def local_env_ensure(path: Path, *, host: str, port: str, port_given: bool) -> str:
    """Write or update ``path``; returns what happened, for the terminal."""
    url = public_base_url(host, port)
    if not path.exists():
        path.write_text(local_env_text(url=url), encoding="utf-8")
        return f"Wrote {path.name}: DEBUG=1, a new SECRET_KEY, PUBLIC_BASE_URL={url}."
    text = path.read_text(encoding="utf-8")
    current = re.search(r"^PUBLIC_BASE_URL=(.*)$", text, flags=re.MULTILINE)
    current_url = current.group(1).strip() if current else ""
    if not port_given or current_url == url:
        return f"Using {path.name} (PUBLIC_BASE_URL={current_url or 'the default'})."
    if not text.startswith(MARKER):
        return (
            f"Warning: {path.name} says PUBLIC_BASE_URL={current_url or '(unset)'} but the "
            f"server listens on {url}: printed links and the widget's origin will not match. "
            f"Edit {path.name}."
        )
    if current:
        text = text[: current.start()] + f"PUBLIC_BASE_URL={url}" + text[current.end() :]
    else:
        text = text.rstrip("\n") + f"\nPUBLIC_BASE_URL={url}\n"
    path.write_text(text, encoding="utf-8")
    return f"Updated {path.name}: PUBLIC_BASE_URL={url}."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="8000")
    parser.add_argument("--port-given", action="store_true")
    parser.add_argument("--path", type=Path, default=ROOT / ".env")
    args = parser.parse_args(argv)
    print(local_env_ensure(args.path, host=args.host, port=args.port, port_given=args.port_given))
    return 0


if __name__ == "__main__":
    sys.exit(main())
