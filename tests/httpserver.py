"""A throwaway HTTP server on 127.0.0.1 for tests that ingest from a URL.

The network in CI reaches nothing but package registries, so tests serve fixture folders
locally. The server can inject failures (503s, redirects) and records every request so
tests can assert how many round trips a download took.

    with serve_folder(tmp_path, fail_first={"/a.csv": 2}) as base:
        fetch(base + "a.csv", backoff=0)
        assert base.hits("/a.csv") == 3
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass
class RecordedRequest:
    """One request as the server saw it; `status` is filled in once it has answered."""

    method: str
    path: str
    headers: dict[str, str]
    status: int | None = None


class ServedURL(str):
    """The base URL (ending in "/"), carrying the log of requests the server received.

    A str subclass so existing code can treat it as a plain URL.
    """

    requests: list[RecordedRequest]

    def __new__(cls, value: str, requests: list[RecordedRequest]) -> ServedURL:
        self = super().__new__(cls, value)
        self.requests = requests
        return self

    def hits(self, path: str) -> int:
        """How many requests reached `path` (e.g. "/a.csv"), failed ones included."""
        return sum(1 for r in self.requests if r.path == path)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        handler: Callable[..., Any],
        fail_first: dict[str, int],
        redirects: dict[str, str],
    ) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.fail_first = dict(fail_first)
        self.redirects = dict(redirects)

    def take_failure(self, path: str) -> bool:
        with self.lock:
            left = self.fail_first.get(path, 0)
            if left <= 0:
                return False
            self.fail_first[path] = left - 1
            return True


def _etag_for(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    return f'"{st.st_size:x}-{st.st_mtime_ns:x}"'


def _etag_matches(header: str, etag: str) -> bool:
    # If-None-Match uses the weak comparison: ignore W/ prefixes.
    wanted = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in wanted or etag in wanted


class _Handler(SimpleHTTPRequestHandler):
    server: _Server
    _record: RecordedRequest | None = None
    _etag: str | None = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self._record is not None and isinstance(code, int):
            self._record.status = int(code)

    def end_headers(self) -> None:
        if self._etag is not None:
            self.send_header("ETag", self._etag)
        super().end_headers()

    def do_GET(self) -> None:
        self._handle(super().do_GET)

    def do_HEAD(self) -> None:
        self._handle(super().do_HEAD)

    def _handle(self, serve: Callable[[], None]) -> None:
        path = urlsplit(self.path).path
        self._record = RecordedRequest(self.command, path, dict(self.headers.items()))
        with self.server.lock:
            self.server.requests.append(self._record)

        if self.server.take_failure(path):
            self._empty(HTTPStatus.SERVICE_UNAVAILABLE)
            return
        location = self.server.redirects.get(path)
        if location is not None:
            self._empty(HTTPStatus.FOUND, Location=location)
            return

        self._etag = _etag_for(Path(self.translate_path(self.path)))
        if_none_match = self.headers.get("If-None-Match")
        if self._etag and if_none_match and _etag_matches(if_none_match, self._etag):
            self._empty(HTTPStatus.NOT_MODIFIED)
            return
        serve()

    def _empty(self, status: HTTPStatus, **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", "0")
        self.end_headers()


@contextmanager
def serve_folder(
    folder: Path,
    *,
    fail_first: dict[str, int] | None = None,
    redirects: dict[str, str] | None = None,
) -> Iterator[ServedURL]:
    """Serve `folder` on an ephemeral 127.0.0.1 port for the duration of the block.

    `fail_first` maps a path ("/a.csv") to how many initial requests get a 503;
    `redirects` maps a path to a Location answered with a 302. Files get an ETag from
    size and mtime, and a matching If-None-Match is answered with 304.
    """
    handler = partial(_Handler, directory=str(folder))
    server = _Server(handler, fail_first or {}, redirects or {})
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield ServedURL(f"http://{host}:{port}/", server.requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
