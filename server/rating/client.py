"""The HTTP client for talking to local runtimes: httpx, set up once, imported lazily.

Three things keep `localrate` quick to start and its timings honest:
- httpx imports its own command-line module (and with it rich and pygments, ~70 ms) when
  those happen to be installed; localrate never uses it, so it is not loaded.
- TLS verification loads the system's CA bundle (20–50 ms per client). Runtimes on
  127.0.0.1 speak plain http, so it is only set up when a URL is https.
- anyio imports its asyncio backend on a client's first request (30–50 ms). A client is
  made before a case's clock starts, so the backend is imported there, not inside the
  first case's time to first token.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterable
from typing import Any


def httpx_module() -> Any:
    """`import httpx`, without `httpx._main` (its CLI, unused here)."""
    if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
        # httpx's __init__ does `from ._main import main` inside try/except ImportError;
        # an empty stand-in module makes that import fail fast into its fallback.
        sys.modules["httpx._main"] = types.ModuleType("httpx._main")
    import httpx

    return httpx


def make_client(timeout: Any, urls: Iterable[str]) -> Any:
    """An httpx.AsyncClient for these URLs: no proxies (loopback must stay loopback), no
    redirects, TLS verification only when one of them is https."""
    httpx = httpx_module()
    if not isinstance(timeout, httpx.Timeout):
        timeout = httpx.Timeout(timeout)
    try:  # what the first request would otherwise import (see the module docstring)
        importlib.import_module("anyio._backends._asyncio")
    except ImportError:  # another anyio layout: only the first request's timing suffers
        pass
    verify = any(str(url).lower().startswith("https:") for url in urls)
    return httpx.AsyncClient(trust_env=False, timeout=timeout, follow_redirects=False,
                             verify=verify)
