"""Fetching the `tennis_atp` CSV files over HTTP(S) into a local cache.

A scheduled batch job must not fail because GitHub hiccups or the laptop is offline when a
copy from yesterday would do, and must not silently train on half a file. So every download
lands in a per-URL cache folder atomically, is revalidated cheaply (ETag / Last-Modified,
answered by 304), is retried on transient failures, and falls back to the cached copy with a
warning when the network is gone.
"""

from __future__ import annotations

import glob
import hashlib
import ipaddress
import json
import logging
import os
import secrets
import socket
import ssl
import time
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from importlib import metadata
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urljoin, urlsplit

import urllib3
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError
from urllib3.util import Retry, Timeout

from acebet import progress
from acebet.errors import AceBetError, InputError, NetworkError

UPSTREAM_URL = "https://raw.githubusercontent.com/JeffSackmann/tennis_atp/master/"

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
# A Retry-After longer than this is not worth blocking a batch job for: give up sooner
# and use the cached copy instead.
MAX_RETRY_AFTER = 30.0
CHUNK_SIZE = 64 * 1024
STALE_TEMP_SECONDS = 3600.0
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
_NOT_FOUND = frozenset({404, 410})


def default_cache_dir() -> Path:
    """Where downloads live between runs, so a scheduled job re-downloads only what changed.

    `$ACEBET_CACHE_DIR` wins so deployments (and tests) can pin it; otherwise the XDG base
    directory spec is followed, as users expect on Linux.
    """
    explicit = os.environ.get("ACEBET_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    # The XDG spec says relative values are invalid and must be ignored.
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "acebet"
    return Path.home() / ".cache" / "acebet"


def is_url(source: str) -> bool:
    """Whether a `--source` names a remote location rather than a local folder.

    Only http(s) counts: anything else is treated as a path, so a folder that happens to
    contain a colon is not mistaken for a URL.
    """
    return source.lower().startswith(("http://", "https://"))


def join_url(base: str, name: str) -> str:
    """Users write the base URL with or without the trailing slash; both must mean a folder.

    (`urllib.parse.urljoin` would drop the last segment of a base without a slash.)
    """
    return base.rstrip("/") + "/" + name.lstrip("/")


def fetch(
    url: str,
    *,
    cache_dir: Path | None = None,
    retries: int = 3,
    timeout: float = 30.0,
    backoff: float = 0.5,
    progress: bool | None = None,
) -> Path:
    """Return a local copy of `url` that is current if the network allows, cached otherwise.

    Callers get a path with the URL's basename (ingest keys on it) and never see a partial
    file. A missing remote file is the user's input error (`InputError`); a network that
    stays down is reported once, in one line, unless an older copy can stand in.
    """
    if not is_url(url):
        raise InputError(f"{url}: not an http(s) URL")
    if retries < 0:
        raise ValueError("retries must be >= 0")
    target = _cache_path(url, cache_dir if cache_dir is not None else default_cache_dir())
    meta_path = target.with_name(target.name + ".meta.json")
    cached = target.is_file()
    meta = _read_meta(meta_path) if cached else {}
    retry = _Retry(total=retries, backoff_factor=backoff, status_forcelist=_RETRY_STATUSES,
                   allowed_methods={"GET"}, raise_on_status=False, redirect=False)
    try:
        return _download(url, target, meta_path, meta, retry=retry, timeout=timeout,
                         show=progress)
    except _Unreachable as exc:
        if cached:
            log.warning("cannot download %s (%s); using the cached copy %s", url, exc, target)
            return target
        hint = "offline?" if exc.offline else f"gave up after {retries + 1} attempts"
        raise (NetworkError if exc.offline else AceBetError)(
            f"cannot download {url}: {exc} ({hint})") from None


# --- internals -------------------------------------------------------------------------


_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _Unreachable(Exception):
    """The file could not be had now (worth falling back to the cache for)."""

    def __init__(self, reason: str, *, offline: bool) -> None:
        super().__init__(reason)
        self.offline = offline


class _Retry(Retry):
    """urllib3's retries, minus two things a batch job should not wait for: errors that
    cannot heal within seconds, and Retry-After values longer than MAX_RETRY_AFTER."""

    def increment(self, method: str | None = None, url: str | None = None,
                  response: Any = None, error: Exception | None = None,
                  _pool: Any = None, _stacktrace: Any = None) -> Retry:
        if error is not None and _cannot_heal(error):
            raise MaxRetryError(_pool, url, error) from error
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RETRY_AFTER)


def _cannot_heal(error: Exception) -> bool:
    # A name that does not resolve or a host that refuses will not change within the
    # seconds a retry waits: retrying only delays the one line the user needs.
    return isinstance(error, NameResolutionError) or _is_certificate_failure(error) or (
        isinstance(error, NewConnectionError)
        and isinstance(error.__cause__, ConnectionRefusedError))


def _is_certificate_failure(error: BaseException | None) -> bool:
    return (isinstance(error, urllib3.exceptions.SSLError)
            and "CERTIFICATE_VERIFY_FAILED" in str(error))


def _cache_path(url: str, cache_dir: Path) -> Path:
    # One folder per URL: two mirrors of `atp_matches_2024.csv` must not overwrite each other,
    # while the file itself keeps its basename for ingest.
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    name = name.replace("/", "_").replace("\\", "_").replace("\0", "_")
    if name in ("", ".", ".."):
        name = "index"
    return cache_dir / key / name


def _read_meta(meta_path: Path) -> dict[str, str]:
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k in ("etag", "last_modified") and isinstance(v, str)}


def _download(url: str, target: Path, meta_path: Path, meta: dict[str, str], *,
              retry: Retry, timeout: float, show: bool | None) -> Path:
    """GET `url` (following safe redirects), answer 304 from the cache, store a 200."""
    headers = {"User-Agent": _user_agent(), "Accept-Encoding": "identity"}
    if meta.get("etag"):
        headers["If-None-Match"] = meta["etag"]
    if meta.get("last_modified"):
        headers["If-Modified-Since"] = meta["last_modified"]
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        response = _request(current, headers, retry, timeout)
        try:
            location = response.headers.get("Location")
            if response.status not in _REDIRECTS or not location:
                return _answer(url, response, target, meta_path, show)
            following = urljoin(current, location.strip())
            _refuse_unsafe_redirect(current, following)
            if hop == MAX_REDIRECTS:
                raise AceBetError(f"cannot download {url}: more than {MAX_REDIRECTS} redirects "
                                  f"(last from {current} to {following})")
            current = following
        finally:
            response.release_conn()
    raise AssertionError("unreachable")  # the loop returns or raises


def _request(url: str, headers: dict[str, str], retry: Retry, timeout: float) -> Any:
    try:
        return _pool_for(url).request("GET", url, headers=headers, retries=retry,
                                      redirect=False, preload_content=False,
                                      timeout=Timeout(connect=timeout, read=timeout))
    except MaxRetryError as exc:
        raise _unreachable(url, exc.reason) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise _unreachable(url, exc) from exc


def _unreachable(url: str, exc: BaseException | None) -> Exception:
    if _is_certificate_failure(exc):
        # Not transient and not "offline": an intercepting proxy or a wrong clock. Say so.
        return AceBetError(f"cannot download {url}: TLS certificate verification failed "
                           f"({_one_line(str(exc))})")
    if isinstance(exc, NameResolutionError):
        cause = exc.__cause__
        return _Unreachable("cannot resolve the host name"
                            + (f" ({_reason(cause)})" if cause else ""), offline=True)
    if isinstance(exc, NewConnectionError) and exc.__cause__ is not None:
        return _Unreachable(_reason(exc.__cause__), offline=True)
    if isinstance(exc, urllib3.exceptions.TimeoutError):
        return _Unreachable("timed out", offline=True)
    if isinstance(exc, urllib3.exceptions.ResponseError):  # retries used up on 5xx/429
        return _Unreachable(_one_line(str(exc)), offline=False)
    return _Unreachable(_one_line(str(exc)) or type(exc).__name__, offline=True)


def _answer(url: str, response: Any, target: Path, meta_path: Path, show: bool | None
            ) -> Path:
    code = response.status
    if code == 304:
        if target.is_file():
            log.debug("%s not modified; using %s", url, target)
            return target
        raise _Unreachable("HTTP 304 without a cached copy", offline=False)
    status = f"HTTP {code} {response.reason or ''}".strip()
    if code in _NOT_FOUND:
        raise InputError(f"{url}: not found (HTTP {code})")
    if code in _RETRY_STATUSES:  # still failing once retries are used up
        raise _Unreachable(status, offline=False)
    if code != 200:  # other 4xx, and 3xx without a Location
        raise AceBetError(f"cannot download {url}: {_one_line(status)}")
    try:
        _store(response, url, target, meta_path, show=show)
    except (OSError, urllib3.exceptions.HTTPError) as exc:
        if isinstance(exc, OSError) and not _is_network_error(exc):
            raise AceBetError(f"cannot write the cache file {target}: {_reason(exc)}") from exc
        # A body cut off half-way is not retried here: the cached copy (if any) stands in,
        # and the next scheduled run downloads it again.
        raise _Unreachable(f"connection broken ({_reason(exc)})", offline=True) from exc
    return target


def _is_network_error(exc: OSError) -> bool:
    return isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror, ssl.SSLError))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return _one_line(exc.strerror)
    return _one_line(str(exc)) or type(exc).__name__


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _store(response: Any, url: str, target: Path, meta_path: Path, *,
           show: bool | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale_temp_files(target)
    length_header = response.headers.get("Content-Length")
    expected = int(length_header) if length_header and length_header.isdigit() else None
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        # O_EXCL: never write through someone else's temp file; 0o666 lets the umask decide.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as out, progress.task(
                f"download {target.name}", total=expected, enabled=show) as bar:
            received = _copy(response, out, bar.advance)
            out.flush()
            os.fsync(out.fileno())
        if expected is not None and received != expected:
            raise _Unreachable(f"truncated response ({received} of {expected} bytes)",
                               offline=False)
        # Data first, validators second: a crash in between leaves old validators, which
        # only cost a full download next time, never a 304 for the wrong content.
        os.replace(tmp, target)
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()
    _write_meta(meta_path, response.headers)
    log.debug("downloaded %s to %s (%d bytes)", url, target, received)


def _sweep_stale_temp_files(target: Path) -> None:
    # A SIGKILLed download leaves its temp file behind (never the final file). Only old ones
    # go: a young one may belong to another process downloading the same URL right now.
    cutoff = time.time() - STALE_TEMP_SECONDS
    for tmp in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        with suppress(OSError):
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()


def _copy(response: Any, out: IO[bytes], advance: Callable[[int], None]) -> int:
    received = 0
    while chunk := response.read(CHUNK_SIZE):
        out.write(chunk)
        received += len(chunk)
        advance(len(chunk))
    return received


def _write_meta(meta_path: Path, headers: Any) -> None:
    meta = {
        key: value
        for key, value in (
            ("etag", headers.get("ETag")),
            ("last_modified", headers.get("Last-Modified")),
        )
        if value
    }
    try:
        if not meta:
            meta_path.unlink(missing_ok=True)
            return
        tmp = meta_path.with_name(f".{meta_path.name}.{secrets.token_hex(6)}.tmp")
        try:
            tmp.write_text(json.dumps(meta), encoding="utf-8")
            os.replace(tmp, meta_path)
        finally:
            with suppress(FileNotFoundError):
                tmp.unlink()
    except OSError as exc:
        # Validators are an optimisation: without them the next run downloads in full.
        log.warning("cannot record cache validators in %s: %s", meta_path, exc)


def _user_agent() -> str:
    try:
        version = metadata.version("acebet")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"acebet/{version}"


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    host = host.lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse_unsafe_redirect(source_url: str, newurl: str) -> None:
    """Follow only redirects that keep TLS: a downgrade to http would let anyone on the path
    feed us match data. Loopback-to-same-loopback is allowed for local test servers."""
    source, target = urlsplit(source_url), urlsplit(newurl)
    secure = target.scheme == "https"
    local = (
        source.scheme == "http"
        and target.scheme in ("http", "https")
        and _is_loopback(source.hostname)
        and source.hostname == target.hostname
    )
    if not (secure or local):
        raise AceBetError(f"refusing redirect from {source_url} to {newurl}: target is not https")


_POOLS: dict[str, urllib3.PoolManager] = {}


def _pool_for(url: str) -> urllib3.PoolManager:
    """One connection pool per proxy; TLS always verified against the system's CAs.

    urllib3 ignores the proxy environment variables that urllib honoured, so they are read
    here; loopback never goes through a proxy (a proxy cannot reach our own 127.0.0.1).
    """
    parts = urlsplit(url)
    proxy = "" if _is_loopback(parts.hostname) or urllib.request.proxy_bypass(
        parts.hostname or "") else urllib.request.getproxies().get(parts.scheme, "")
    pool = _POOLS.get(proxy)
    if pool is None:
        context = ssl.create_default_context()
        pool = (urllib3.ProxyManager(proxy, ssl_context=context) if proxy
                else urllib3.PoolManager(ssl_context=context))
        _POOLS[proxy] = pool
    return pool
