"""``multipart/form-data`` bodies as the fakes receive them (RFC 7578), parsed strictly
enough to refuse what a real API would not read: fields as text, files kept as bytes."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message


@dataclass(frozen=True)
class Upload:
    """A file part: the name the client gave it, its declared type and its exact bytes."""

    filename: str
    content_type: str
    content: bytes


def _parameters(header: str) -> Message:
    holder = Message()
    holder["Content-Type"] = header
    return holder


def form_parse(raw: bytes, content_type: str) -> tuple[dict[str, str], dict[str, Upload]]:
    """``(fields, files)`` of a multipart body; ValueError when it is not one."""
    boundary = _parameters(content_type).get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("no multipart boundary")
    delimiter = b"--" + boundary.encode()
    chunks = raw.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise ValueError("unterminated multipart body")
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise ValueError("malformed part")
        head, separator, body = chunk[2:-2].partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("part without headers")
        headers = {}
        for line in head.decode("utf-8").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        # The disposition's parameters, read as a Content-Type header's are.
        disposition = _parameters(headers.get("content-disposition", ""))
        name = disposition.get_param("name")
        filename = disposition.get_param("filename")
        if not isinstance(name, str) or not name:
            raise ValueError("part without a name")
        if isinstance(filename, str):
            files[name] = Upload(
                filename, headers.get("content-type", "application/octet-stream"), body
            )
        else:
            fields[name] = body.decode("utf-8")
    return fields, files
