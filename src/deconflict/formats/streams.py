"""Byte sources for feeds: files (plain or gzip), ``-`` (stdin) and ``tcp://host:port``.

:func:`iter_chunks` yields the bytes of a source in bounded chunks (at most ``max_bytes`` each,
and, for live sources, as soon as ``max_wait_s`` passes with data pending), so a reader never
holds more than one chunk plus a partial record. :class:`LineSplitter` and the Beast framer keep
the partial record between chunks.
"""

from __future__ import annotations

import gzip
import os
import select
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final
from urllib.parse import urlsplit

from deconflict.errors import InvalidInputError

__all__ = ["LineSplitter", "is_stream", "iter_chunks", "parse_tcp"]

CHUNK_BYTES: Final = 4 * 1024 * 1024
"""Default chunk size, bytes."""


def is_stream(source: str) -> bool:
    """True for ``-`` and ``tcp://`` sources (unbounded, read in time-bounded batches)."""
    return source == "-" or source.lower().startswith("tcp://")


def parse_tcp(source: str) -> tuple[str, int]:
    """``tcp://host:port`` -> (host, port); an error naming the source otherwise."""
    parts = urlsplit(source)
    if parts.scheme.lower() != "tcp" or not parts.hostname or parts.port is None:
        raise InvalidInputError(field="SOURCE", reason=f"expected tcp://HOST:PORT, got {source!r}")
    return parts.hostname, parts.port


def iter_chunks(
    source: str,
    *,
    max_bytes: int = CHUNK_BYTES,
    max_wait_s: float = 1.0,
    connect_timeout_s: float = 10.0,
) -> Iterator[bytes]:
    """Yield the bytes of ``source`` in chunks; stops at end of file / stream / connection.

    For ``-`` and ``tcp://`` sources a chunk is yielded when ``max_bytes`` are buffered or when
    ``max_wait_s`` seconds pass with some data buffered. Connection errors propagate as
    :class:`OSError` (the feed gateway reconnects with backoff).
    """
    if source == "-":
        yield from _iter_fd(sys.stdin.buffer.fileno(), max_bytes, max_wait_s)
        return
    if source.lower().startswith("tcp://"):
        host, port = parse_tcp(source)
        with socket.create_connection((host, port), timeout=connect_timeout_s) as sock:
            yield from _iter_fd(sock.fileno(), max_bytes, max_wait_s)
        return
    path = Path(source)
    if not path.is_file():
        raise InvalidInputError(field="FILE", reason=f"no such file: {source}")
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
        handle: BinaryIO = gzip.open(path, "rb") if gzipped else open(path, "rb")  # type: ignore[assignment]  # noqa: SIM115
        with handle:
            while chunk := handle.read(max_bytes):
                yield chunk
    except (OSError, EOFError) as exc:
        raise InvalidInputError(field="FILE", reason=f"cannot read {source}: {exc}") from exc


def _iter_fd(fd: int, max_bytes: int, max_wait_s: float) -> Iterator[bytes]:
    pending = bytearray()
    deadline = time.monotonic() + max_wait_s
    while True:
        wait = max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([fd], [], [], wait)
        if ready:
            data = os.read(fd, min(65536, max_bytes))
            if not data:
                break
            pending += data
        if len(pending) >= max_bytes or (pending and time.monotonic() >= deadline):
            yield bytes(pending)
            pending.clear()
        if time.monotonic() >= deadline:
            deadline = time.monotonic() + max_wait_s
    if pending:
        yield bytes(pending)


class LineSplitter:
    """Turns byte chunks into whole lines: :meth:`push` returns complete lines, keeps the rest."""

    def __init__(self, *, max_line_bytes: int = 65536) -> None:
        self._rest = b""
        self.max_line_bytes = max_line_bytes

    def push(self, chunk: bytes) -> bytes:
        """Complete lines of ``rest + chunk`` (ending with a newline); the tail is kept."""
        data = self._rest + chunk
        cut = data.rfind(b"\n") + 1
        self._rest = data[cut:]
        if len(self._rest) > self.max_line_bytes:  # a runaway line: drop it, bounded memory
            self._rest = b""
        return data[:cut]

    def flush(self) -> bytes:
        """Whatever is left (a last line without newline)."""
        rest, self._rest = self._rest, b""
        return rest
