"""How the app is served: Daphne's command line with our server, ``python -m config.serve``
(the same options as ``daphne``; ``make run``, the Dockerfile and the live tests use it).

It adds what Daphne does not do on its own:

* **No secret in the access log.** Daphne writes each request's whole URI, query string
  included: WhatsApp's subscription check carries ``hub.verify_token``. Every entry's path
  goes through :func:`tenants.redaction.redact` first (``hub.verify_token=***``), whether
  the log goes to stdout or to ``--access-log FILE``.
* **A request body that stalls is cut off.** Daphne hands a request to the application only
  once its whole body has arrived, so the application cannot bound the wait; Twisted only
  drops a connection that sends nothing for a minute, and a client that trickles a byte
  now and then holds it forever. Here a request whose body is not complete
  ``HTTP_BODY_TIMEOUT`` seconds after its headers (plus a second for every
  ``HTTP_BODY_MIN_RATE`` bytes that did arrive, so a large upload on a slow link still
  gets through) is answered 408 and closed; a connection that sends nothing (its headers
  stalled, or idle between requests) is closed a few seconds after that.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server as DaphneServer
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tenants.redaction import redact

IDLE_MARGIN = 5.0  # seconds past HTTP_BODY_TIMEOUT before a silent connection is dropped


def body_limits() -> tuple[float, int]:
    """``(HTTP_BODY_TIMEOUT seconds, HTTP_BODY_MIN_RATE bytes/second)``; a bad value fails
    loudly at start-up."""
    timeout, rate = float(settings.HTTP_BODY_TIMEOUT), int(settings.HTTP_BODY_MIN_RATE)
    if timeout <= 0 or rate <= 0:
        raise ImproperlyConfigured(
            f"HTTP_BODY_TIMEOUT and HTTP_BODY_MIN_RATE must be positive, got {timeout}, {rate}"
        )
    return timeout, rate


class BoundedRequest(WebRequest):
    """Daphne's request, answered 408 when its body does not arrive in time. Daphne's
    server asks every request it knows (from its headers on) ``check_timeouts`` every
    two seconds."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.headers_at = time.monotonic()
        self.body_received = 0
        self.body_complete = False
        self.timed_out = False
        super().__init__(*args, **kwargs)

    def handleContentChunk(self, data: bytes) -> None:
        self.body_received += len(data)
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        self.body_complete = True
        super().requestReceived(command, path, version)

    def check_timeouts(self) -> None:
        if self.body_complete:
            super().check_timeouts()
            return
        if self.timed_out:
            return
        timeout, rate = self.server.body_limits
        allowed = timeout + self.body_received / rate
        if time.monotonic() - self.headers_at > allowed:
            self.body_timed_out(allowed)

    def body_timed_out(self, allowed: float) -> None:
        """408 and close: the request was never handed to the application."""
        self.timed_out = True
        body = json.dumps(
            {"ok": False, "error": f"request body not received within {allowed:.0f} s"}
        ).encode()
        self.channel.transport.write(
            b"HTTP/1.1 408 Request Timeout\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n"
            b"Connection: close\r\n\r\n" + body
        )
        path = getattr(self.channel, "_path", b"").decode("latin-1")
        method = getattr(self.channel, "_command", b"").decode("latin-1")
        client = self.getClientAddress()
        self.server.log_action(
            "http",
            "complete",
            {
                "path": path,
                "status": 408,
                "method": method,
                "client": f"{client.host}:{client.port}" if hasattr(client, "port") else None,
                "time_taken": time.monotonic() - self.headers_at,
                "size": len(body),
            },
        )
        self.channel.loseConnection()


class BoundedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BoundedRequest
        # Twisted's idle timeout (a minute) bounds headers that stall; the 408 (checked every
        # two seconds) comes first for a body.
        protocol.timeOut = self.server.body_limits[0] + IDLE_MARGIN
        return protocol


class Server(DaphneServer):
    """Daphne's server with a redacted access log and bounded request bodies."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.body_limits = body_limits()
        super().__init__(*args, **kwargs)

    @property
    def http_factory(self) -> HTTPFactory:
        return self._http_factory

    @http_factory.setter
    def http_factory(self, factory: HTTPFactory) -> None:
        # Daphne's run() builds its own factory: ours replaces it before anything listens.
        self._http_factory = (
            factory if isinstance(factory, BoundedHTTPFactory) else BoundedHTTPFactory(self)
        )

    def log_action(self, protocol: str, action: str, details: dict[str, Any]) -> None:
        if isinstance(details.get("path"), str):
            details = {**details, "path": redact(details["path"])}
        super().log_action(protocol, action, details)


class ServeCommandLine(CommandLineInterface):
    server_class = Server


def main(argv: list[str] | None = None) -> None:
    ServeCommandLine().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
