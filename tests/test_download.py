"""Downloads: cached, revalidated, retried, atomic, and loud only in one line when they fail."""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path

import pytest

from acebet import download
from acebet.download import (
    UPSTREAM_URL,
    default_cache_dir,
    fetch,
    is_url,
    join_url,
)
from acebet.errors import AceBetError, InputError, NetworkError
from tests.httpserver import serve_folder

CSV = b"tourney_id,tourney_name,winner_name\n2024-339,Brisbane,Grigor Dimitrov\n"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "a.csv").write_bytes(CSV)
    (folder / "b.csv").write_bytes(CSV * 3)
    return folder


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("ACEBET_CACHE_DIR", str(folder))
    return folder


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/a.csv"


def _leftovers(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.name.endswith(".tmp")]


# --- small helpers ------------------------------------------------------------------


def test_upstream_url_is_a_folder() -> None:
    assert UPSTREAM_URL.startswith("https://") and UPSTREAM_URL.endswith("/")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("http://example.org/x", True),
        ("https://example.org/", True),
        ("HTTPS://example.org/", True),
        ("data/tennis_atp", False),
        ("/abs/path", False),
        ("ftp://example.org/x", False),
        ("C:/data", False),
        ("https:/oops", False),
    ],
)
def test_is_url(source: str, expected: bool) -> None:
    assert is_url(source) is expected


@pytest.mark.parametrize("base", ["https://h/x", "https://h/x/"])
def test_join_url_with_or_without_trailing_slash(base: str) -> None:
    assert join_url(base, "atp_matches_2024.csv") == "https://h/x/atp_matches_2024.csv"


def test_default_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ACEBET_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("ACEBET_CACHE_DIR")
    assert default_cache_dir() == tmp_path / "xdg" / "acebet"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "acebet"


# --- fetching -----------------------------------------------------------------------


def test_fetch_returns_identical_bytes_under_the_basename(site: Path, cache: Path) -> None:
    with serve_folder(site) as base:
        path = fetch(base + "a.csv", backoff=0)
        assert base.requests[0].headers["User-Agent"].startswith("acebet/")
    assert path.read_bytes() == CSV
    assert path.name == "a.csv"
    assert cache in path.parents
    assert _leftovers(cache) == []


def test_cache_path_is_per_url(site: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.csv").write_bytes(b"different\n")
    with serve_folder(site) as one, serve_folder(other) as two:
        first = fetch(one + "a.csv", cache_dir=tmp_path / "c", backoff=0)
        second = fetch(two + "a.csv", cache_dir=tmp_path / "c", backoff=0)
        again = fetch(one + "a.csv", cache_dir=tmp_path / "c", backoff=0)
    assert first != second and first.name == second.name == "a.csv"
    assert again == first
    assert first.read_bytes() == CSV and second.read_bytes() == b"different\n"


def test_second_fetch_is_revalidated_and_served_from_cache(site: Path, cache: Path) -> None:
    with serve_folder(site) as base:
        path = fetch(base + "a.csv", backoff=0)
        before = path.stat()
        again = fetch(base + "a.csv", backoff=0)
        assert [r.status for r in base.requests] == [200, 304]
        assert base.requests[1].headers.get("If-None-Match")
    after = again.stat()
    assert again == path
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert again.read_bytes() == CSV


def test_changed_upstream_file_is_downloaded_again(site: Path, cache: Path) -> None:
    with serve_folder(site) as base:
        path = fetch(base + "a.csv", backoff=0)
        (site / "a.csv").write_bytes(CSV + b"2024-580,Australian Open,Jannik Sinner\n")
        os.utime(site / "a.csv", ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
        again = fetch(base + "a.csv", backoff=0)
        assert [r.status for r in base.requests] == [200, 200]
    assert again == path
    assert again.read_bytes().endswith(b"Jannik Sinner\n")


def test_missing_file_raises_input_error_naming_the_url(site: Path, cache: Path) -> None:
    with serve_folder(site) as base:
        url = base + "atp_matches_1066.csv"
        with pytest.raises(InputError) as info:
            fetch(url, backoff=0)
        assert base.hits("/atp_matches_1066.csv") == 1  # a 404 is not retried
    assert str(info.value) == f"{url}: not found (HTTP 404)"
    assert info.value.exit_code == 2
    assert not any(p.is_file() for p in cache.rglob("*"))


def test_transient_503_is_retried(site: Path, cache: Path) -> None:
    with serve_folder(site, fail_first={"/a.csv": 2}) as base:
        path = fetch(base + "a.csv", retries=3, backoff=0)
        assert [r.status for r in base.requests] == [503, 503, 200]
    assert path.read_bytes() == CSV


def test_persistent_503_gives_up_after_retries(site: Path, cache: Path) -> None:
    with serve_folder(site, fail_first={"/a.csv": 10}) as base:
        with pytest.raises(AceBetError) as info:
            fetch(base + "a.csv", retries=2, backoff=0)
        assert base.hits("/a.csv") == 3
    message = str(info.value)
    assert not isinstance(info.value, InputError)
    assert base + "a.csv" in message and "503" in message and "\n" not in message


def test_closed_port_is_reported_as_offline_quickly(cache: Path) -> None:
    url = _closed_port_url()
    started = time.monotonic()
    with pytest.raises(AceBetError) as info:
        fetch(url, retries=2, timeout=1, backoff=0)
    assert time.monotonic() - started < 3
    message = str(info.value)
    assert not isinstance(info.value, InputError)
    assert url in message and "offline" in message and "\n" not in message
    assert message.startswith(f"cannot download {url}: ")


def test_offline_with_cached_copy_returns_it(
    site: Path, cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with serve_folder(site) as base:
        url = base + "a.csv"
        cached = fetch(url, backoff=0)
    # The server is gone now: its port is closed.
    with caplog.at_level(logging.WARNING, logger="acebet.download"):
        again = fetch(url, retries=1, timeout=1, backoff=0)
    assert again == cached and again.read_bytes() == CSV
    assert any(url in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_redirect_within_loopback_is_followed(site: Path, cache: Path) -> None:
    with serve_folder(site, redirects={"/old.csv": "/a.csv"}) as base:
        path = fetch(base + "old.csv", backoff=0)
        assert [r.path for r in base.requests] == ["/old.csv", "/a.csv"]
    assert path.read_bytes() == CSV and path.name == "old.csv"


def test_redirect_to_plain_http_elsewhere_is_refused(site: Path, cache: Path) -> None:
    evil = "http://example.invalid/a.csv"
    with serve_folder(site, redirects={"/a.csv": evil}) as base:
        url = base + "a.csv"
        with pytest.raises(AceBetError) as info:
            fetch(url, backoff=0)
        assert base.hits("/a.csv") == 1  # refusing is final, not retried
    message = str(info.value)
    assert url in message and evil in message and "not https" in message
    assert "offline" not in message  # no attempt was made to reach example.invalid


@pytest.mark.parametrize("target", ["file:///etc/passwd", "http://localhost:1/a.csv"])
def test_redirect_to_other_schemes_or_hosts_is_refused(
    site: Path, cache: Path, target: str
) -> None:
    with serve_folder(site, redirects={"/a.csv": target}) as base:
        with pytest.raises(AceBetError, match="refusing redirect from .* to " + target):
            fetch(base + "a.csv", backoff=0)


def test_redirect_loop_is_cut(site: Path, cache: Path) -> None:
    with serve_folder(site, redirects={"/loop.csv": "/loop.csv"}) as base:
        with pytest.raises(AceBetError, match="more than 5 redirects"):
            fetch(base + "loop.csv", backoff=0)
        assert base.hits("/loop.csv") == 6


def test_redirect_chains_are_capped(site: Path, cache: Path) -> None:
    chain = {f"/r{i}.csv": f"/r{i + 1}.csv" for i in range(6)}
    chain["/r6.csv"] = "/a.csv"
    with serve_folder(site, redirects=chain) as base:
        with pytest.raises(AceBetError, match="more than 5 redirects"):
            fetch(base + "r0.csv", backoff=0)
        assert base.hits("/a.csv") == 0
        # Five hops are fine.
        assert fetch(base + "r2.csv", backoff=0).read_bytes() == CSV


def test_failed_download_leaves_no_temp_file(
    site: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_copy(response, out, advance):  # type: ignore[no-untyped-def]
        out.write(b"half a ")
        raise ConnectionResetError(104, "Connection reset by peer")

    with serve_folder(site) as base:
        url = base + "a.csv"
        good = fetch(url, backoff=0)
        (site / "a.csv").write_bytes(b"new content\n")
        os.utime(site / "a.csv", ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
        monkeypatch.setattr(download, "_copy", broken_copy)
        again = fetch(url, retries=1, backoff=0)
    # The interrupted download neither replaced nor corrupted the cached copy.
    assert again == good and good.read_bytes() == CSV
    assert _leftovers(cache) == []


def test_stale_temp_files_of_killed_downloads_are_swept(site: Path, cache: Path) -> None:
    with serve_folder(site) as base:
        url = base + "a.csv"
        folder = fetch(url, backoff=0).parent
        stale, fresh = folder / ".a.csv.dead01.tmp", folder / ".a.csv.live02.tmp"
        stale.write_bytes(b"half")
        fresh.write_bytes(b"half")
        old = time.time() - 2 * download.STALE_TEMP_SECONDS
        os.utime(stale, (old, old))
        (site / "a.csv").write_bytes(b"changed\n")
        os.utime(site / "a.csv", ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
        fetch(url, backoff=0)
    assert not stale.exists()
    assert fresh.exists()  # may belong to a concurrent download


@pytest.mark.parametrize("progress", [False, None])
def test_no_progress_output_off_a_terminal(
    site: Path, cache: Path, capfd: pytest.CaptureFixture[str], progress: bool | None
) -> None:
    with serve_folder(site) as base:
        fetch(base + "a.csv", backoff=0, progress=progress)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_non_url_is_an_input_error(cache: Path) -> None:
    with pytest.raises(InputError):
        fetch("ftp://example.org/a.csv")


def _count_connection_attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every connection starts with a name lookup: record them (and never sleep)."""
    lookups: list[str] = []
    real = socket.getaddrinfo

    def counting(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        lookups.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    monkeypatch.setattr(download.time, "sleep", lambda _s: None)
    return lookups


def test_unresolvable_host_fails_at_once_without_retries(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups = _count_connection_attempts(monkeypatch)
    url = "https://acebet-test.invalid/atp_players.csv"  # .invalid never resolves (RFC 2606)
    with pytest.raises(NetworkError) as info:
        fetch(url, retries=3, backoff=5)
    assert lookups == ["acebet-test.invalid"]  # a name that does not resolve: no retry
    message = str(info.value)
    assert message.startswith(f"cannot download {url}: cannot resolve the host name")
    assert "offline" in message and "\n" not in message


def test_connection_refused_is_not_retried(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = _closed_port_url()
    lookups = _count_connection_attempts(monkeypatch)
    with pytest.raises(NetworkError, match="offline"):
        fetch(url, retries=3, backoff=5)
    assert lookups == ["127.0.0.1"]


def test_a_silent_server_is_retried(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Errors that can heal still get their retries."""
    lookups = _count_connection_attempts(monkeypatch)
    with socket.socket() as listener:  # connections queue up, nothing ever answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/a.csv"
        with pytest.raises(AceBetError):
            fetch(url, retries=2, timeout=1, backoff=0)
    assert len(lookups) == 3
