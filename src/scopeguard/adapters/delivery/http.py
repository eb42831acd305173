"""Outgoing HTTP for alert channels, guarded against server-side request forgery.

Channel URLs come from configuration, and a configured URL can still point a
request at the machine's own services or a cloud metadata endpoint
(``169.254.169.254``). So before connecting, the host name is resolved and every
address it resolves to is checked: loopback, private, link-local, reserved,
multicast, shared (CGNAT) and unspecified addresses are refused unless the
channel says ``allow_private: true``. The connection then goes to the checked
address itself (the name is sent as ``Host`` and as TLS SNI, and the
certificate is verified against the name), so a DNS answer that changes between
the check and the connection (DNS rebinding) cannot slip another address in.
Redirects are never followed, and every request has a short timeout.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError

from scopeguard.adapters.delivery.errors import DeliveryError, RefusedAddressError
from scopeguard.adapters.retry_after import retry_after_seconds as parse_retry_after

Resolver = Callable[[str, int], Sequence[str]]
MAX_BODY = 64 * 1024
"""Bytes of a receiver's answer kept (for error messages); the rest is not read."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA), in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in found:
            found.append(address)
    return found


def address_forbidden(address: str) -> str | None:
    """Why alerts may not go to ``address`` (``None``: a public address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        # ::ffff:127.0.0.1 reaches 127.0.0.1.
        ip = ip.ipv4_mapped
    checks = (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    )
    for name, hit in checks:
        if hit:
            return name
    if not ip.is_global:
        return "non-public"  # e.g. 100.64.0.0/10, shared address space
    return None


def checked_addresses(
    host: str, port: int, *, allow_private: bool, resolver: Resolver = system_resolver
) -> list[str]:
    """The addresses to connect to for ``host``, each one checked.

    Raises :class:`RefusedAddressError` if any address is forbidden (a name that
    resolves to a public and a private address is refused as a whole), and a
    retryable :class:`DeliveryError` if the name does not resolve.
    """
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = list(resolver(host, port))
        except (OSError, UnicodeError) as exc:
            raise DeliveryError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise DeliveryError(f"cannot resolve {host}: no addresses")
    if not allow_private:
        for address in addresses:
            why = address_forbidden(address)
            if why is not None:
                raise RefusedAddressError(
                    f"refused: {host} resolves to {why} address {address} "
                    "(set allow_private: true on the channel to allow it)"
                )
    return addresses


@dataclass(frozen=True)
class HttpAnswer:
    """What the receiver answered (a 2xx; other statuses raise)."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); ``None`` if absent or bad."""
    moment = now if now is not None else datetime.now(UTC)
    return parse_retry_after(value, moment.timestamp())


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    allow_private: bool = False,
    resolver: Resolver = system_resolver,
) -> HttpAnswer:
    """POST ``body`` to ``url`` through the SSRF guard; 2xx returns, anything else raises.

    Errors are :class:`DeliveryError`: network errors, timeouts, 408, 429 and
    5xx are retryable (with the receiver's ``Retry-After``); redirects and
    other 4xx are permanent.
    """
    try:
        parsed = urllib3.util.parse_url(url)
    except ValueError as exc:
        raise DeliveryError(f"bad URL: {exc}", permanent=True) from exc
    scheme = (parsed.scheme or "").lower()
    if scheme not in ("http", "https") or not parsed.host:
        raise DeliveryError(f"not an http(s) URL: {url!r}", permanent=True)
    host = parsed.host.strip("[]")
    port = parsed.port or (443 if scheme == "https" else 80)
    addresses = checked_addresses(host, port, allow_private=allow_private, resolver=resolver)
    default_port = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
    host_header = f"[{host}]" if ":" in host else host
    request_headers = {
        **headers,
        "Host": host_header if default_port else f"{host_header}:{port}",
        "Content-Length": str(len(body)),
    }
    path = parsed.request_uri or "/"
    last_error: Exception | None = None
    for address in addresses:
        pool = _pool(scheme, address, port, host, timeout)
        try:
            response = pool.urlopen(
                "POST",
                path,
                body=body,
                headers=request_headers,
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,
            )
        except (NewConnectionError, ConnectTimeoutError) as exc:
            # This address is unreachable; the next one (IPv4 after IPv6) may not be.
            last_error = exc
            pool.close()
            continue
        except HTTPError as exc:
            pool.close()
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        try:
            answer = response.read(MAX_BODY, decode_content=False)
        except HTTPError as exc:
            raise DeliveryError(f"reading the answer failed: {exc}") from exc
        finally:
            response.release_conn()
            pool.close()
        return _judge(response.status, dict(response.headers.items()), answer or b"")
    raise DeliveryError(f"cannot connect to {host}:{port}: {last_error}")


def _pool(
    scheme: str, address: str, port: int, host: str, timeout: float
) -> urllib3.HTTPConnectionPool:
    limit = urllib3.Timeout(connect=timeout, read=timeout)
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=limit,
            cert_reqs="CERT_REQUIRED",
            assert_hostname=host,
            server_hostname=host,
            retries=False,
        )
    return urllib3.HTTPConnectionPool(address, port, timeout=limit, retries=False)


def _judge(status: int, headers: Mapping[str, str], body: bytes) -> HttpAnswer:
    if 200 <= status < 300:
        return HttpAnswer(status, headers, body)
    lowered = {k.lower(): v for k, v in headers.items()}
    snippet = body[:200].decode("utf-8", "replace").strip()
    detail = f"HTTP {status}" + (f": {snippet}" if snippet else "")
    if 300 <= status < 400:
        where = lowered.get("location", "?")
        raise DeliveryError(f"{detail} (redirect to {where} not followed)", permanent=True)
    if status in (408, 429) or status >= 500:
        raise DeliveryError(detail, retry_after=retry_after_seconds(lowered.get("retry-after")))
    raise DeliveryError(detail, permanent=True)
