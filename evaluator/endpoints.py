"""Endpoints beyond this machine: hosts a self-hoster allows, and API keys per endpoint.

**Allowed hosts.** The page may reach only 127.0.0.1 unless its builder (``localrate build
--allow-host``) or its local server (``localrate serve --allow-host``) allows more.
:func:`parse_allowed_host` checks one ``HOST[:PORT]`` (or ``http(s)://HOST[:PORT]``): a
name or an IP address, no wildcard, no user, path, query or fragment, no other scheme.
:func:`csp_sources` turns the allowed hosts into Content-Security-Policy ``connect-src``
sources, and :func:`host_allowed` says whether a custom endpoint's host and port are
among them (``evaluator.discovery.check_endpoint``).

**API keys.** A key belongs to one endpoint (its origin: scheme, host and port) and goes,
as ``Authorization: Bearer <key>``, only to URLs of that origin: :func:`auth_headers`.
The CLI reads them from ``KEY_ENV`` (one variable per runtime, for that runtime's base
URL) and ``--api-key`` (for ``--base-url``): :func:`env_keys`. :func:`check_api_key`
refuses what could not be a header value. A key never goes into a record, a report or a
share link; :func:`redact` takes it out of any text that is about to be shown.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

KEY_ENV = {"ollama": "OLLAMA_API_KEY", "lmstudio": "LM_STUDIO_API_KEY",
           "vllm": "VLLM_API_KEY", "llamacpp": "LLAMACPP_API_KEY", "mlx": "MLX_API_KEY"}
MAX_KEY_CHARS = 4096
MAX_ALLOWED_HOSTS = 32
_KEY = re.compile(r"[\x21-\x7e]+")  # visible ASCII: nothing that could end a header line
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_DEFAULT_PORTS = {"http": 80, "https": 443}
REDACTED = "[api key]"


class EndpointError(ValueError):
    """An allowed host or an API key is not acceptable; the message is one line."""


def canonical_host(text: str) -> str | None:
    """The host in canonical form (lower case; IPv6 in brackets), or None when invalid."""
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        address = None
    if address is not None:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed
    if text.startswith("[") or len(text) > 253:
        return None
    labels = text.rstrip(".").split(".")
    if not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        return None
    return text.rstrip(".").lower()


def parse_allowed_host(text: Any, where: str = "--allow-host") -> dict[str, Any]:
    """``"192.168.1.20:11434"`` → ``{"host": "192.168.1.20", "port": 11434, "schemes":
    ["http", "https"], "text": "192.168.1.20:11434"}``; a scheme limits ``schemes`` to
    itself; no port means every port of that host. EndpointError names the value."""
    if not isinstance(text, str):
        raise EndpointError(f"{where}: expected text like 192.168.1.20:11434")
    raw = text.strip()
    shown = repr(raw[:60] + ("..." if len(raw) > 60 else ""))
    if not raw or len(raw) > 300 or re.search(r"[\s\\\x00-\x1f\x7f]", raw):
        raise EndpointError(f"{where} {shown}: expected HOST or HOST:PORT, no spaces")
    if "*" in raw:
        raise EndpointError(f"{where} {shown}: wildcards are not allowed; name each host")
    scheme_match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", raw)
    if scheme_match is None and re.match(r"[A-Za-z][A-Za-z0-9+.-]*:(?![0-9]+/?$)", raw) \
            and not raw.startswith("["):
        raise EndpointError(f"{where} {shown}: not HOST[:PORT] (only http:// and https:// "
                            "schemes are allowed)")
    scheme = scheme_match.group(1).lower() if scheme_match else None
    if scheme not in (None, "http", "https"):
        raise EndpointError(f"{where} {shown}: only http:// and https:// are allowed")
    parts = urlsplit(raw if scheme else f"http://{raw}")
    if "@" in parts.netloc or parts.query or parts.fragment or "?" in raw or "#" in raw \
            or parts.path.strip("/"):
        raise EndpointError(f"{where} {shown}: only a host and a port (no user, path, "
                            "query or fragment)")
    try:
        port = parts.port
    except ValueError:
        raise EndpointError(f"{where} {shown}: the port must be a number from 1 to "
                            "65535") from None
    if port == 0:
        raise EndpointError(f"{where} {shown}: the port must be a number from 1 to 65535")
    netloc = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    host = canonical_host(netloc)
    if host is None:
        raise EndpointError(f"{where} {shown}: {netloc!r} is not a host name or IP address")
    schemes = [scheme] if scheme else ["http", "https"]
    label = f"{host}:{port}" if port is not None else host
    return {"host": host, "port": port, "schemes": schemes,
            "text": f"{scheme}://{label}" if scheme else label}


def parse_allowed_hosts(values: Iterable[Any], where: str = "--allow-host"
                        ) -> list[dict[str, Any]]:
    """Every value (text, or a parsed host again) checked (see :func:`parse_allowed_host`),
    duplicates dropped."""
    out: list[dict[str, Any]] = []
    for value in values:
        parsed = parse_allowed_host(value.get("text") if isinstance(value, dict) else value,
                                    where)
        if all(p["text"] != parsed["text"] for p in out):
            out.append(parsed)
    if len(out) > MAX_ALLOWED_HOSTS:
        raise EndpointError(f"{where}: {len(out)} hosts, more than {MAX_ALLOWED_HOSTS}")
    return out


def csp_sources(hosts: Iterable[Any]) -> list[str]:
    """``connect-src`` sources for the allowed hosts (``http://H:P``, ``https://H:*``)."""
    out: list[str] = []
    for item in parse_allowed_hosts(hosts):
        port = "*" if item["port"] is None else str(item["port"])
        for scheme in item["schemes"]:
            source = f"{scheme}://{item['host']}:{port}"
            if source not in out:
                out.append(source)
    return out


def host_allowed(scheme: str, host: str, port: int, hosts: Iterable[Any]) -> bool:
    """Is ``scheme://host:port`` among the allowed hosts (given as text or parsed)?"""
    canonical = canonical_host(host)
    for item in hosts:
        try:
            parsed = item if isinstance(item, dict) else parse_allowed_host(item)
        except EndpointError:
            continue
        if parsed.get("host") == canonical and scheme in parsed.get("schemes", ()) and \
                parsed.get("port") in (None, port):
            return True
    return False


def check_api_key(value: Any, where: str) -> str:
    """The key, stripped; EndpointError (never quoting the key) when it is empty, longer
    than ``MAX_KEY_CHARS`` or holds anything but visible ASCII (a space, a line end)."""
    if not isinstance(value, str) or not value.strip():
        raise EndpointError(f"{where}: the API key is empty")
    key = value.strip()
    if len(key) > MAX_KEY_CHARS:
        raise EndpointError(f"{where}: the API key is longer than {MAX_KEY_CHARS} characters")
    if not _KEY.fullmatch(key):
        raise EndpointError(f"{where}: the API key may hold only visible ASCII characters "
                            "(no spaces or line ends)")
    return key


def origin(url: str) -> str | None:
    """``scheme://host:port`` of a URL, the port always written; None when not http(s)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except (ValueError, AttributeError):
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = canonical_host(parts.hostname) or parts.hostname.lower()
    return f"{parts.scheme.lower()}://{host}:{port or _DEFAULT_PORTS[parts.scheme.lower()]}"


def env_keys(env: Mapping[str, str], plan: Iterable[Mapping[str, Any]]
             ) -> list[dict[str, str]]:
    """The keys of the environment for a probe plan's rows: ``[{"base_url", "api_key"}]``,
    the key of ``KEY_ENV[row.runtime]`` for that row's base URL. EndpointError names the
    variable of a bad key (never the key)."""
    out: list[dict[str, str]] = []
    for row in plan:
        name = KEY_ENV.get(str(row.get("runtime")))
        if name and env.get(name, "").strip():
            key = check_api_key(env[name], name)
            if all(k["base_url"] != row["base_url"] for k in out):
                out.append({"base_url": str(row["base_url"]), "api_key": key})
    return out


def key_for(url: str, keys: Iterable[Mapping[str, Any]]) -> str | None:
    """The key of the endpoint whose origin is ``url``'s, or None."""
    target = origin(url)
    if target is None:
        return None
    for entry in keys:
        base, key = entry.get("base_url"), entry.get("api_key")
        if isinstance(base, str) and isinstance(key, str) and key and origin(base) == target:
            return key
    return None


def auth_headers(url: str, keys: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``{"Authorization": "Bearer <key>"}`` when ``url`` belongs to an endpoint with a key
    (same scheme, host and port), else ``{}``: a key never goes to another endpoint."""
    key = key_for(url, keys)
    return {"Authorization": f"Bearer {key}"} if key else {}


def redact(text: str, keys: Iterable[Any]) -> str:
    """``text`` with every key in ``keys`` (strings, or ``{"api_key"}`` entries) replaced
    by ``[api key]``."""
    for entry in keys:
        key = entry.get("api_key") if isinstance(entry, Mapping) else entry
        if isinstance(key, str) and len(key) >= 1:
            text = text.replace(key, REDACTED)
    return text
