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
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.client import HTTPException, HTTPMessage, HTTPResponse
from importlib import metadata
from pathlib import Path
from typing import IO, Any, NoReturn
from urllib.parse import unquote, urljoin, urlsplit

import click

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
    show = _want_progress(progress)

    attempts = retries + 1
    failure = ""
    offline = False
    for attempt in range(attempts):
        try:
            return _download_once(url, target, meta_path, meta, timeout=timeout, show=show)
        except _Transient as exc:
            failure, offline = exc.reason, exc.offline
            log.debug("attempt %d/%d for %s failed: %s", attempt + 1, attempts, url, failure)
            if not exc.heals:
                attempts = attempt + 1
                break
            if attempt + 1 < attempts:
                time.sleep(max(backoff * 2**attempt, min(exc.retry_after, MAX_RETRY_AFTER)))

    if cached:
        log.warning("cannot download %s (%s); using the cached copy %s", url, failure, target)
        return target
    hint = "offline?" if offline else f"gave up after {attempts} attempts"
    raise (NetworkError if offline else AceBetError)(f"cannot download {url}: {failure} ({hint})")


def fetch_many(urls: list[str], **kwargs: Any) -> list[Path]:
    """Fetch several files with one set of options; sequential keeps the upstream host happy."""
    return [fetch(url, **kwargs) for url in urls]


# --- internals -------------------------------------------------------------------------


class _Transient(Exception):
    """A failure worth retrying (and, once retries run out, worth falling back to the cache)."""

    def __init__(self, reason: str, *, offline: bool, retry_after: float = 0.0,
                 heals: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offline = offline
        self.retry_after = retry_after
        # A name that does not resolve or a host that refuses will not change within the
        # seconds a retry waits: retrying only delays the one line the user needs.
        self.heals = heals


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


def _want_progress(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _download_once(
    url: str,
    target: Path,
    meta_path: Path,
    meta: dict[str, str],
    *,
    timeout: float,
    show: bool,
) -> Path:
    headers = {"User-Agent": _user_agent(), "Accept-Encoding": "identity"}
    if meta.get("etag"):
        headers["If-None-Match"] = meta["etag"]
    if meta.get("last_modified"):
        headers["If-Modified-Since"] = meta["last_modified"]
    request = urllib.request.Request(url, headers=headers)
    try:
        response = _opener(url).open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        with suppress(Exception):
            exc.close()
        return _handle_http_error(url, target, exc)
    except urllib.error.URLError as exc:
        raise _classify_os_error(url, exc.reason) from exc
    except (OSError, HTTPException) as exc:
        raise _classify_os_error(url, exc) from exc

    with response:
        try:
            _store(response, url, target, meta_path, show=show)
        except (OSError, HTTPException) as exc:
            if isinstance(exc, OSError) and not _is_network_error(exc):
                raise AceBetError(f"cannot write the cache file {target}: {_reason(exc)}") from exc
            raise _classify_os_error(url, exc) from exc
    return target


def _handle_http_error(url: str, target: Path, exc: urllib.error.HTTPError) -> Path:
    code = exc.code
    if code == 304:
        if target.is_file():
            log.debug("%s not modified; using %s", url, target)
            return target
        raise _Transient("HTTP 304 without a cached copy", offline=False)
    status = f"HTTP {code}"
    if code in _NOT_FOUND:
        raise InputError(f"{url}: not found ({status})")
    if code == 429 or 500 <= code <= 599:
        _raise_transient(f"{status} {exc.reason}".strip(), exc.headers)
    # Other 4xx, and 3xx that urllib would not follow (e.g. a redirect to file:), are final.
    raise AceBetError(f"cannot download {url}: {status} {_one_line(str(exc.reason))}".rstrip())


def _raise_transient(reason: str, headers: HTTPMessage | None) -> NoReturn:
    retry_after = 0.0
    value = headers.get("Retry-After") if headers is not None else None
    if value:
        with suppress(ValueError):
            retry_after = max(0.0, float(value))
    raise _Transient(reason, offline=False, retry_after=retry_after)


def _classify_os_error(url: str, exc: object) -> Exception:
    if isinstance(exc, ssl.SSLCertVerificationError):
        # Not transient and not "offline": an intercepting proxy or a wrong clock. Say so.
        return AceBetError(
            f"cannot download {url}: TLS certificate verification failed "
            f"({_one_line(exc.verify_message or str(exc))})"
        )
    if isinstance(exc, HTTPException):
        return _Transient(f"connection broken ({type(exc).__name__})", offline=True)
    if isinstance(exc, socket.gaierror):
        return _Transient(f"cannot resolve the host name ({_reason(exc)})", offline=True,
                          heals=False)
    if isinstance(exc, ConnectionRefusedError):
        return _Transient(_reason(exc), offline=True, heals=False)
    if isinstance(exc, BaseException):
        return _Transient(_reason(exc), offline=True)
    return _Transient(_one_line(str(exc)), offline=True)


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


def _store(response: HTTPResponse, url: str, target: Path, meta_path: Path, *, show: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale_temp_files(target)
    length_header = response.headers.get("Content-Length")
    expected = int(length_header) if length_header and length_header.isdigit() else None
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        # O_EXCL: never write through someone else's temp file; 0o666 lets the umask decide.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as out, _progress(show, expected, target.name) as advance:
            received = _copy(response, out, advance)
            out.flush()
            os.fsync(out.fileno())
        if expected is not None and received != expected:
            raise _Transient(f"truncated response ({received} of {expected} bytes)", offline=False)
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


def _copy(response: HTTPResponse, out: IO[bytes], advance: Callable[[int], None]) -> int:
    received = 0
    while chunk := response.read(CHUNK_SIZE):
        out.write(chunk)
        received += len(chunk)
        advance(len(chunk))
    return received


@contextmanager
def _progress(show: bool, length: int | None, name: str) -> Iterator[Callable[[int], None]]:
    if not show:
        yield lambda _n: None
        return
    # An unknown length needs an iterable without a length hint; the bar then shows bytes.
    bar = click.progressbar(
        iterable=None if length is not None else (x for x in ()),
        length=length,
        label=f"Downloading {name}",
        file=sys.stderr,
        show_pos=length is None,
    )
    with bar:
        yield bar.update


def _write_meta(meta_path: Path, headers: HTTPMessage) -> None:
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


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow only redirects that keep TLS: a downgrade to http would let anyone on the path
    feed us match data. Loopback-to-same-loopback is allowed for local test servers."""

    # Our own count (below) must trip first, so the error names the URLs in one line.
    max_redirections = max_repeats = MAX_REDIRECTS + 1

    def http_error_302(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
    ) -> Any:
        # Check before urllib does: it rejects file:/data: targets with a confusing HTTPError.
        location = headers.get("Location") or headers.get("URI")
        if location:
            _check_redirect(req, fp, urljoin(req.full_url, location.strip()))
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        _check_redirect(req, fp, newurl)
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            new.acebet_origin = getattr(req, "acebet_origin", req.full_url)  # type: ignore[attr-defined]
            new.acebet_redirects = getattr(req, "acebet_redirects", 0) + 1  # type: ignore[attr-defined]
        return new


def _check_redirect(req: urllib.request.Request, fp: IO[bytes], newurl: str) -> None:
    try:
        _refuse_unsafe_redirect(req, newurl)
    except AceBetError:
        fp.close()  # nobody else will: the redirect response is dropped here
        raise


def _refuse_unsafe_redirect(req: urllib.request.Request, newurl: str) -> None:
    source, target = urlsplit(req.full_url), urlsplit(newurl)
    secure = target.scheme == "https"
    local = (
        source.scheme == "http"
        and target.scheme in ("http", "https")
        and _is_loopback(source.hostname)
        and source.hostname == target.hostname
    )
    if not (secure or local):
        raise AceBetError(f"refusing redirect from {req.full_url} to {newurl}: target is not https")
    if getattr(req, "acebet_redirects", 0) >= MAX_REDIRECTS:
        origin = getattr(req, "acebet_origin", req.full_url)
        raise AceBetError(
            f"cannot download {origin}: more than {MAX_REDIRECTS} redirects "
            f"(last from {req.full_url} to {newurl})"
        )


_OPENERS: dict[bool, urllib.request.OpenerDirector] = {}


def _opener(url: str) -> urllib.request.OpenerDirector:
    # Loopback never goes through a proxy: a proxy cannot reach our own 127.0.0.1.
    direct = _is_loopback(urlsplit(url).hostname)
    opener = _OPENERS.get(direct)
    if opener is None:
        handlers: list[urllib.request.BaseHandler] = [
            urllib.request.HTTPSHandler(context=ssl.create_default_context()),
            _SafeRedirects(),
        ]
        if direct:
            handlers.append(urllib.request.ProxyHandler({}))
        opener = urllib.request.build_opener(*handlers)
        _OPENERS[direct] = opener
    return opener
