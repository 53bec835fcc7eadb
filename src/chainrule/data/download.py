"""Fetch a file over HTTP(S), verify its SHA-256, and only then put it in place."""
from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

from .atomic import atomic_write

TIMEOUT_S = 60.0
"""Seconds a stalled connection may stay silent before the download gives up."""

_CHUNK = 1 << 20


class DownloadError(OSError):
    """A download failed: unreachable, refused, an HTTP error, cut short, or a bad checksum."""


def download(url: str, destination: str | os.PathLike, sha256: str, timeout: float = TIMEOUT_S) -> Path:
    """Download ``url`` to ``destination`` if and only if its SHA-256 is ``sha256``.

    The bytes stream into a temporary file beside ``destination``; on any failure
    (including a checksum mismatch) it is removed, so no partial or unverified file
    is ever left behind. Raises DownloadError naming the URL (and, for a mismatch,
    the expected and actual checksums).
    """
    destination = Path(destination)
    with atomic_write(destination) as handle:
        actual = _fetch(url, handle, timeout)
        if actual != sha256:
            raise DownloadError(
                f"{url}: SHA-256 mismatch: expected {sha256}, got {actual}; the download was discarded"
            )
    return destination


def _fetch(url: str, handle: BinaryIO, timeout: float) -> str:
    """Stream ``url`` into ``handle``; return the SHA-256 of what arrived."""
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
        while True:
            try:
                chunk = response.read(_CHUNK)
            except (http.client.HTTPException, OSError) as exc:
                raise DownloadError(f"{url}: connection broken during the download ({exc!r})") from exc
            if not chunk:
                break
            received += len(chunk)
            digest.update(chunk)
            handle.write(chunk)
    # read(n) returns b"" rather than raising when the server hangs up early.
    if announced is not None and announced.isdigit() and received != int(announced):
        raise DownloadError(
            f"{url}: connection broken during the download (received {received} of {announced} bytes)"
        )
    return digest.hexdigest()
