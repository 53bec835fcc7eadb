"""Fetch a file over HTTP(S), verify its SHA-256, and only then put it in place."""
from __future__ import annotations

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

from .atomic import atomic_write

TIMEOUT_S = 300.0
"""Seconds a whole download may take, connecting included (a total deadline, not an idle timeout)."""

_CHUNK = 1 << 20


class DownloadError(OSError):
    """A download failed: unreachable, refused, an HTTP error, cut short, or a bad checksum."""


def download(url: str, destination: str | os.PathLike, sha256: str, timeout: float = TIMEOUT_S,
             size: int | None = None) -> Path:
    """Download ``url`` to ``destination`` if and only if its SHA-256 is ``sha256``.

    The bytes stream into a temporary file beside ``destination``; on any failure
    (including a checksum mismatch) it is removed, so no partial or unverified file
    is ever left behind. ``timeout`` is a deadline for the whole download, however
    slowly the server trickles; ``size``, when known, is the exact size expected: an
    announced or received byte beyond it ends the download at once. Raises
    DownloadError naming the URL (and, for a mismatch, the expected and actual
    checksums).
    """
    destination = Path(destination)
    with atomic_write(destination) as handle:
        actual = _fetch(url, handle, time.monotonic() + timeout, timeout, size)
        if actual != sha256:
            raise DownloadError(
                f"{url}: SHA-256 mismatch: expected {sha256}, got {actual}; the download was discarded"
            )
    return destination


def _fetch(url: str, handle: BinaryIO, deadline: float, timeout: float, size: int | None) -> str:
    """Stream ``url`` into ``handle`` until ``deadline`` (time.monotonic()); return the SHA-256 of
    what arrived."""
    digest = hashlib.sha256()
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise DownloadError(f"{url}: cannot connect ({exc.reason})") from exc
    except (http.client.HTTPException, OSError) as exc:
        raise DownloadError(f"{url}: no valid response ({exc!r})") from exc
    received = 0
    with response:
        announced = response.headers.get("Content-Length")
        if size is not None and announced is not None and announced.isdigit() and int(announced) > size:
            raise DownloadError(f"{url}: the server announces {announced} bytes, expected {size}; not downloaded")
        while True:
            _set_socket_timeout(response, deadline - time.monotonic(), url, received)
            try:
                # read1: whatever one receive brings, so that the deadline is checked between
                # receives (read(n) would wait for n bytes from a server that trickles).
                chunk = response.read1(_CHUNK)
            except TimeoutError as exc:
                raise DownloadError(_too_slow(url, received)) from exc
            except (http.client.HTTPException, OSError) as exc:
                raise DownloadError(f"{url}: connection broken during the download ({exc!r})") from exc
            if not chunk:
                break
            received += len(chunk)
            if size is not None and received > size:
                raise DownloadError(f"{url}: received more than the expected {size} bytes; the download was discarded")
            digest.update(chunk)
            handle.write(chunk)
    # read1 returns b"" rather than raising when the server hangs up early.
    if announced is not None and announced.isdigit() and received != int(announced):
        raise DownloadError(
            f"{url}: connection broken during the download (received {received} of {announced} bytes)"
        )
    return digest.hexdigest()


def _set_socket_timeout(response, remaining: float, url: str, received: int) -> None:
    """Let the next receive wait no longer than the time left before the deadline."""
    if remaining <= 0:
        raise DownloadError(_too_slow(url, received))
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(remaining)


def _too_slow(url: str, received: int) -> str:
    return f"{url}: the download did not finish in time ({received} bytes received); the partial file was discarded"
