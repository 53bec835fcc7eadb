"""A throwaway HTTP server on 127.0.0.1 for the download tests (no internet needed)."""
from __future__ import annotations

import contextlib
import http.server
import socket
import threading
import time
from typing import Iterator

LIFETIME_S = 60.0
"""The server shuts itself down after this long even if a test forgets to."""


TRICKLE_INTERVAL_S = 0.05
"""A trickled file arrives one byte per this many seconds."""


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    cut_short: frozenset[str] = frozenset()
    trickled: frozenset[str] = frozenset()
    unannounced: frozenset[str] = frozenset()
    requests: list[str] = []

    def do_GET(self):
        self.requests.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if self.path in self.unannounced:
            # No Content-Length: the body ends when the connection closes (HTTP/1.0 style).
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
            return
        if self.path in self.trickled:
            # A server that never goes silent for long, but never finishes either.
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for byte in body:
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:  # the client gave up
                    return
                time.sleep(TRICKLE_INTERVAL_S)
            return
        if self.path in self.cut_short:
            # Promise more than is sent, then hang up: a connection broken mid-download.
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving(files: dict[str, bytes], cut_short: set[str] = frozenset(), trickled: set[str] = frozenset(),
            unannounced: set[str] = frozenset()) -> Iterator[tuple[str, list[str]]]:
    """Serve ``files`` (URL path -> bytes); yields (base URL ending in "/", requested paths).

    Paths in ``cut_short`` promise more than they send; in ``trickled`` arrive a byte at a
    time; in ``unannounced`` come without a Content-Length."""
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"files": files, "cut_short": frozenset(cut_short),
                                            "trickled": frozenset(trickled),
                                            "unannounced": frozenset(unannounced), "requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    deadline = threading.Timer(LIFETIME_S, server.shutdown)
    deadline.daemon = True
    thread.start()
    deadline.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        deadline.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def refused_url() -> str:
    """A URL on a local port where nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
