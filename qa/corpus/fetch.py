"""Fetching what a `.feeds` file lists: one deadline, a size cap, and only places qa may read.

A `.feeds` file is content like any article file: whoever wrote it chose the URLs, and what
qa fetches is indexed and then served (`qa serve`). So:

* `http(s)://` goes through httpcore (the HTTP transport httpx is built on) with a network
  backend of qa's own (`_GuardedBackend`). It resolves each host name itself and refuses
  loopback, link-local, private and other non-public addresses unless the
  `allow_private_feeds` setting is on, then connects to the very address it checked (a name
  cannot resolve elsewhere between the check and the connection). And it gives every
  connect, read and write only what is left of one deadline for the whole fetch: a per-read
  timeout never fires on a server that sends a byte every few seconds; this does.
  Redirects are followed here (at most `MAX_REDIRECTS`), each target checked like the first
  URL; a redirect to anything but http(s) is refused.
* `file://` is read only inside the corpus folder, only as a regular file (a FIFO or a
  device is refused, never waited on), and never through a link as its last part — as the
  corpus walk treats links.

Errors: `FeedRefused` (qa will not fetch it: the place is not allowed) and `FeedUnavailable`
(it could not be fetched now: no network, a timeout, an HTTP error, too large).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urljoin, urlparse
from urllib.request import url2pathname

if TYPE_CHECKING:
    import ssl

    import httpcore
    from httpcore._backends.base import SOCKET_OPTION

from ..regular_files import FileTooLargeError, NotRegularFileError, read_regular

MAX_FEED_BYTES = 20 << 20
MAX_REDIRECTS = 5
_HEADERS = [
    (b"User-Agent", b"qa feed reader"),
    (b"Accept", b"application/rss+xml, application/atom+xml, application/xml, text/xml;q=0.9, "
                b"*/*;q=0.5"),
    (b"Accept-Encoding", b"identity"),  # the size cap counts what is read, uncompressed
]
_ALLOW_HINT = ("set allow_private_feeds = true in the settings file (or QA_ALLOW_PRIVATE_FEEDS=1) "
               "to fetch feeds on this machine or the local network")


class FeedRefused(Exception):
    """qa does not fetch this URL (a place it may not read); the message says why."""


class FeedUnavailable(Exception):
    """The feed could not be fetched now (network, timeout, HTTP error, size)."""


def fetch_feed(url: str, *, corpus: Path, timeout: float, allow_private: bool,
               max_bytes: int = MAX_FEED_BYTES) -> bytes:
    """The bytes of the feed at `url` (http, https, or a file inside `corpus`).

    Args:
        corpus: the corpus folder (resolved): file:// URLs must point inside it.
        timeout: seconds for the whole fetch, redirects and all.
        allow_private: also fetch from loopback, link-local and private addresses.
        max_bytes: the most a feed may hold.

    Raises:
        FeedRefused: the URL, an address it resolves to, or a redirect leads somewhere qa
            does not read.
        FeedUnavailable: it could not be fetched (the message says why).
    """
    scheme = urlparse(url).scheme.lower()
    if scheme == "file":
        return _read_file_url(url, corpus, max_bytes)
    if scheme not in ("http", "https"):
        raise FeedRefused(f"{url!r} is not an http(s) or file URL")
    return _fetch_http(url, _Deadline(timeout), allow_private, max_bytes)


# --- file:// -----------------------------------------------------------------------------------
def _read_file_url(url: str, corpus: Path, max_bytes: int) -> bytes:
    parsed = urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise FeedRefused(f"{url} names a file on another machine ({parsed.netloc})")
    path = Path(url2pathname(unquote(parsed.path)))
    root = corpus.resolve()
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        raise FeedUnavailable(f"{path} does not exist") from None
    except (OSError, RuntimeError) as exc:  # a loop of links
        raise FeedRefused(f"{path} cannot be resolved ({exc})") from None
    if not real.is_relative_to(root):
        raise FeedRefused(
            f"{path} is outside the corpus folder {root}: qa reads file:// feeds only inside "
            "it. Move the feed file into the corpus folder (in a hidden folder such as .sites/ "
            "it is not also indexed on its own)")
    try:
        return read_regular(path, limit=max_bytes, follow_links=False)
    except NotRegularFileError:
        raise FeedRefused(f"{path} is not a regular file (a pipe, a socket or a device)") from None
    except FileTooLargeError:
        raise FeedUnavailable(f"larger than {max_bytes >> 20} MB") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FeedRefused(f"{path} is a symlink; qa follows no links in the corpus folder "
                              "(copy the file in instead)") from None
        raise FeedUnavailable(f"{path} cannot be read ({exc.strerror or exc})") from None


# --- http(s):// --------------------------------------------------------------------------------
class _Deadline:
    """The end of one fetch: what every network operation may still take."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self, timeout: float | None = None) -> float:
        """The time an operation with `timeout` may take now (raises once it is over)."""
        import httpcore

        left = self.at - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout(f"took longer than {self.seconds:g} s")
        return left if timeout is None else min(timeout, left)


def _address_problem(address: str) -> str | None:
    """Why qa does not fetch from `address` without `allow_private_feeds`, or None."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
        address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if ip.is_loopback or ip.is_unspecified:
        return "a loopback address (this machine)"
    if ip.is_link_local:
        return "a link-local address (the local link, where clouds serve instance metadata)"
    if ip.is_private:
        return "a private address (the local network)"
    if not ip.is_global or ip.is_multicast:
        return "not a public address"
    return None


def _resolve(host: str, port: int, deadline: _Deadline) -> list[str]:
    """The addresses `host` resolves to, within the deadline (getaddrinfo has no timeout of
    its own: it runs in a thread that is left behind if the resolver hangs)."""
    import httpcore

    infos: list[tuple[object, object, object, object, tuple[object, ...]]] = []
    errors: list[OSError] = []

    def look_up() -> None:
        try:
            infos.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            errors.append(exc)

    worker = threading.Thread(target=look_up, daemon=True, name="qa-feed-dns")
    worker.start()
    worker.join(deadline.left())
    if worker.is_alive():
        raise httpcore.ConnectTimeout(f"took longer than {deadline.seconds:g} s")
    if errors:
        raise httpcore.ConnectError(f"cannot resolve {host} ({errors[0]})")
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _network_backend(deadline: _Deadline, allow_private: bool) -> httpcore.NetworkBackend:
    import httpcore

    class GuardedStream(httpcore.NetworkStream):
        def __init__(self, inner: httpcore.NetworkStream) -> None:
            self._inner = inner

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return self._inner.read(max_bytes, deadline.left(timeout))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self._inner.write(buffer, deadline.left(timeout))

        def close(self) -> None:
            self._inner.close()

        def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                      timeout: float | None = None) -> httpcore.NetworkStream:
            return GuardedStream(self._inner.start_tls(ssl_context, server_hostname,
                                                       deadline.left(timeout)))

        def get_extra_info(self, info: str) -> object:
            return self._inner.get_extra_info(info)

    class GuardedBackend(httpcore.NetworkBackend):
        """Connects only to addresses the settings allow, within the deadline."""

        def __init__(self) -> None:
            self._inner = httpcore.SyncBackend()

        def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                        local_address: str | None = None,
                        socket_options: Iterable[SOCKET_OPTION] | None = None
                        ) -> httpcore.NetworkStream:
            addresses = _resolve(host, port, deadline)
            if not allow_private:
                for address in addresses:
                    problem = _address_problem(address)
                    if problem:
                        named = host if host == address else f"{host} resolves to {address}, which"
                        raise FeedRefused(f"{named} is {problem}; qa fetches feeds only from "
                                          f"public addresses unless told otherwise: {_ALLOW_HINT}")
            error: Exception | None = None
            for address in addresses:  # the checked address itself, never the name again
                try:
                    return GuardedStream(self._inner.connect_tcp(
                        address, port, timeout=deadline.left(timeout),
                        local_address=local_address, socket_options=socket_options))
                except httpcore.ConnectError as exc:
                    error = exc
            raise error or httpcore.ConnectError(f"{host} has no address")

        def connect_unix_socket(self, path: str, timeout: float | None = None,
                                socket_options: Iterable[SOCKET_OPTION] | None = None
                                ) -> httpcore.NetworkStream:
            raise FeedRefused("a feed cannot be read from a unix socket")

        def sleep(self, seconds: float) -> None:
            time.sleep(min(seconds, deadline.left()))

    return GuardedBackend()


def _fetch_http(url: str, deadline: _Deadline, allow_private: bool, max_bytes: int) -> bytes:
    import httpcore  # with h11; only a build that reads a .feeds file pays the import

    try:
        with httpcore.ConnectionPool(network_backend=_network_backend(deadline, allow_private),
                                     retries=0) as pool:
            for _ in range(MAX_REDIRECTS + 1):
                left = deadline.left()
                timeouts = {"connect": left, "read": left, "write": left, "pool": left}
                with pool.stream("GET", url, headers=_HEADERS,
                                 extensions={"timeout": timeouts}) as response:
                    headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                               for k, v in response.headers}
                    if response.status in (301, 302, 303, 307, 308):
                        url = _redirect_target(url, headers.get("location", ""))
                        continue
                    if response.status != 200:
                        raise FeedUnavailable(f"the server answered HTTP {response.status}")
                    encoding = headers.get("content-encoding", "identity").strip().lower()
                    if encoding not in ("", "identity"):
                        raise FeedUnavailable(f"the server sent it compressed ({encoding}) "
                                              "although qa asked for it uncompressed")
                    body = bytearray()
                    for piece in response.iter_stream():
                        body += piece
                        if len(body) > max_bytes:
                            raise FeedUnavailable(f"larger than {max_bytes >> 20} MB")
                    return bytes(body)
            raise FeedUnavailable(f"more than {MAX_REDIRECTS} redirects")
    except httpcore.TimeoutException:
        raise FeedUnavailable(f"it took longer than {deadline.seconds:g} s (feed_timeout)") from None
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol,
            httpcore.ProxyError) as exc:
        raise FeedUnavailable(f"{exc or type(exc).__name__}; is there a network?") from None


def _redirect_target(url: str, location: str) -> str:
    if not location.strip():
        raise FeedUnavailable("the server redirected without saying where")
    target = urljoin(url, location.strip())
    if urlparse(target).scheme.lower() not in ("http", "https"):
        raise FeedRefused(f"it redirects to {target}, which is not an http(s) URL")
    return target
