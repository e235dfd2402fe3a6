"""Which address space a URL's host is in, as Chrome's Local Network Access names them.

A page's fetch to this computer or the local network carries ``targetAddressSpace``
(``loopback`` or ``local``); a request whose real address is in another space than the one
it names fails. :func:`address_space` says which one a URL names: ``loopback`` for
127.0.0.0/8, ``::1`` and ``localhost``; ``local`` for private, link-local and unique-local
addresses (10/8, 172.16/12, 192.168/16, 169.254/16, 100.64/10, fc00::/7, fe80::/10); and
None for anything else (a public address, or a host name only DNS can place), for which
the page names no space and lets the browser decide.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (tailnets use it)


def address_space(url: str) -> str | None:
    """``"loopback"``, ``"local"`` or None for the host of ``url`` (see the module)."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.is_loopback:
        return "loopback"
    if address.is_private or address.is_link_local or \
            (address.version == 4 and address in _SHARED):
        return "local" if not address.is_unspecified else None
    return None
