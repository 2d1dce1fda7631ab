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

__all__ = [
    "METADATA_ADDRESSES", "GuardedBackend", "GuardedTransport", "embedded_ipv4", "is_metadata_address",
    "is_public_address",
]

# Cloud metadata endpoints: refused even when private networks are allowed (AWS/GCP/Azure/
# OpenStack IMDS, ECS task metadata v2 and v3/v4, AWS IMDS over IPv6, Alibaba, Oracle's v2 path
# shares 169.254.169.254; GCP's metadata.google.internal resolves to it too).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "169.254.170.23", "fd00:ec2::254", "fd00:ec2::23",
              "100.100.100.200", "192.0.0.192")
)
# IPv6 prefixes that carry an IPv4 address a gateway forwards to: the IPv4 address decides.
NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def embedded_ipv4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
    (::a.b.c.d), NAT64 (64:ff9b::/96, the low 32 bits; 64:ff9b:1::/48 local-use, also the low
    32 bits as RFC 6052 places them for a /96 within it), 6to4 (2002:AABB:CCDD::/48) and Teredo
    (2001:0::/32, the client address inverted in the low 32 bits)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    value = int(ip)
    if any(ip in net for net in NAT64_PREFIXES):
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if value >> 32 == 0 and value > 1:  # deprecated IPv4-compatible ::a.b.c.d (:: and ::1 are not)
        return ipaddress.IPv4Address(value)
    return None


def is_metadata_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A cloud metadata endpoint, directly or through an address that embeds it."""
    return ip in METADATA_ADDRESSES or embedded_ipv4(ip) in METADATA_ADDRESSES


def is_public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable and not multicast; an IPv6 address that embeds an IPv4 one is judged
    by that IPv4 address (NAT64/6to4/Teredo would otherwise reach loopback or metadata)."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        ip = inner
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
            ok = not is_metadata_address(ip) and (self.allow_private or is_public_address(ip))
            (allowed if ok else refused).append((address, ip))
        if refused:
            # One private answer is enough to refuse: a host that resolves to both is suspect.
            bad = refused[0][1]
            if is_metadata_address(bad):
                raise BlockedAddress(f"{host} resolves to a cloud metadata address ({bad}); always refused")
            raise BlockedAddress(
                f"{host} resolves to a non-public address ({bad}); "
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
