"""The address guard of the one HTTP client: every connection, so every redirect hop, goes to an
address vetted here, and only there.

Built on public APIs only: an ``httpcore.NetworkBackend`` that resolves the host itself, refuses
the answer when any address is non-public (or a cloud metadata endpoint), and connects to the
vetted address through ``httpcore.SyncBackend``, so no second DNS lookup can answer differently;
an ``httpx.BaseTransport`` over an ``httpcore.ConnectionPool`` that uses that backend.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterator

import httpcore
import httpx

from pipeline.infra.http_errors import BlockedAddress, ConnectFailed

__all__ = ["METADATA_ADDRESSES", "GuardedBackend", "GuardedTransport", "is_public_address"]

# Cloud metadata endpoints: refused even when private networks are allowed.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)


def is_public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves, vets every address of the answer, and connects to a vetted one."""

    def __init__(self, allow_private: bool):
        self.allow_private = allow_private
        self._sockets = httpcore.SyncBackend()

    def vetted_addresses(self, host: str, port: int) -> list[str]:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ConnectFailed(f"DNS lookup failed for {host}: {exc.strerror or exc}") from None
        allowed, refused = [], []
        for _family, _type, _proto, _canon, sockaddr in infos:
            address = sockaddr[0]  # an IPv6 address may carry its zone ("fe80::1%eth0")
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            ok = ip not in METADATA_ADDRESSES and (self.allow_private or is_public_address(ip))
            (allowed if ok else refused).append((address, ip))
        if refused:
            # One private answer is enough to refuse: a host that resolves to both is suspect.
            raise BlockedAddress(
                f"{host} resolves to a non-public address ({refused[0][1]}); "
                "set NEWSMON_ALLOW_PRIVATE_NETWORKS=true to allow it"
            )
        return [address for address, _ip in allowed]

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        last_exc: Exception | None = None
        for address in self.vetted_addresses(host, port):
            try:
                # an address literal: the socket layer does no DNS lookup of its own
                return self._sockets.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                 socket_options=socket_options or [])
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_exc = exc
        raise last_exc or httpcore.ConnectError(f"no address for {host}")

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise BlockedAddress("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    """httpcore's exceptions as the httpx ones of the same name (what httpx's own transport does),
    so callers catch ``httpx.TimeoutException`` and friends; anything else passes unchanged."""
    try:
        yield
    except httpcore.TimeoutException as exc:
        raise getattr(httpx, type(exc).__name__, httpx.TimeoutException)(str(exc)) from exc
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.ProxyError, httpcore.UnsupportedProtocol) as exc:
        raise getattr(httpx, type(exc).__name__, httpx.TransportError)(str(exc)) from exc


class _ResponseBody(httpx.SyncByteStream):
    def __init__(self, stream):
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        self._stream.close()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport whose connections all go through ``GuardedBackend``."""

    def __init__(self, allow_private: bool, *, ssl_context=None, limits: httpx.Limits | None = None):
        limits = limits or httpx.Limits()
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,  # None: httpcore builds its default only for a TLS connection
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(allow_private),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port,
                             target=request.url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            response = self._pool.handle_request(core_request)
        return httpx.Response(response.status, headers=response.headers, stream=_ResponseBody(response.stream),
                              extensions=response.extensions)

    def close(self) -> None:
        self._pool.close()
