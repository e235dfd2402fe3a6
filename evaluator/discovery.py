"""Discovery rules: which URLs to probe, what their answers mean, how to fix CORS.

Pure: the shells (server/rating/discovery.py with httpx, the page with fetch) do the requests and
hand the raw answers here. Always 127.0.0.1, never ``localhost`` (IPv6 ``::1`` trap).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from .capabilities import CAPABILITIES, context_length, model_kind, project
from .endpoints import canonical_host, host_allowed

__all__ = [
    "CORS_RECIPES",
    "DISCOVERY_ENV",
    "ENDPOINT_MAX_CHARS",
    "RUNTIMES",
    "check_endpoint",
    "cors_recipe",
    "discovery_table",
    "interpret_probe",
    "merge_metadata",
    "metadata_plan",
    "normalize_base_url",
    "probe_plan",
]

DISCOVERY_ENV = "LOCALRATE_DISCOVERY"
OPENAI_LIST_PATH = "/v1/models"  # every OpenAI-compatible server lists its models here
PROBE_TIMEOUT_S = 1.5  # how long a list probe waits (the page and the CLI)
LIST_KEYS = ("data", "models")  # where a list body keeps its model entries (OpenAI, Ollama)
ID_KEYS = ("id", "name", "model")  # an entry's id: the first of these that is a non-empty string
METADATA_TIMEOUT_S = 4.0  # how long a model's metadata request waits (the page and the CLI)
# What the page shows of a raw answer before Python reads it, as rows tried in order: the
# first whose every ``when`` field holds one of the listed values (a missing field reads as
# null) is shown, so the page matches data and writes no rule of its own. ``{ms}``,
# ``{status}`` and ``{timeout_s}`` are filled in; "fixable" rows offer the CORS recipe.
PROVISIONAL: tuple[dict[str, Any], ...] = (
    {"kind": "timeout", "when": {"error": ["timeout"]}, "badge": "no answer yet",
     "detail": "timed out after {timeout_s} s", "fixable": False},
    {"kind": "cors", "when": {"error": ["cors"]}, "badge": "CORS",
     "detail": "the port answers, but its CORS settings refuse this page · {ms} ms",
     "fixable": True},
    {"kind": "network", "when": {"status": [None]}, "badge": "no answer",
     "detail": "no answer (closed port or CORS) · {ms} ms", "fixable": True},
    {"kind": "denied", "when": {"status": [401, 403]}, "badge": "HTTP {status}",
     "detail": "answered in {ms} ms; reading it…", "fixable": True},
    {"kind": "status", "when": {}, "badge": "HTTP {status}",
     "detail": "answered in {ms} ms; reading it…", "fixable": False},
)


def provisional(observation: dict[str, Any]) -> dict[str, Any]:
    """The PROVISIONAL row the page shows for a raw probe ``observation`` (the same matching
    the page does on the table it is given)."""
    for row in PROVISIONAL:
        if all(observation.get(field) in values for field, values in row["when"].items()):
            return row
    raise AssertionError("the last PROVISIONAL row matches every observation")


_BADGES = {"refused": "refused", "unauthorized": "unauthorized", "timeout": "timed out",
           "error": "error", "loading": "loading", "blocked": "blocked",
           "key_rejected": "key rejected"}
_FIXABLE = ("refused", "unauthorized")  # states whose row offers the CORS recipe

# Read-only: copy a row before changing it.
RUNTIMES: tuple[dict[str, Any], ...] = (
    {"name": "ollama", "label": "Ollama", "port": 11434, "env": "OLLAMA_BASE_URL",
     "list_path": "/api/tags", "metadata": "show"},
    {"name": "lmstudio", "label": "LM Studio", "port": 1234, "env": "LM_STUDIO_BASE_URL",
     "list_path": OPENAI_LIST_PATH, "metadata": "v0"},
    {"name": "vllm", "label": "vLLM", "port": 8000, "env": "VLLM_BASE_URL",
     "list_path": OPENAI_LIST_PATH, "metadata": None},
    {"name": "llamacpp", "label": "llama.cpp", "port": 8080, "env": "LLAMACPP_BASE_URL",
     "list_path": OPENAI_LIST_PATH, "metadata": "props"},
    {"name": "mlx", "label": "MLX", "port": 8081, "env": "MLX_BASE_URL",
     "list_path": OPENAI_LIST_PATH, "metadata": None},
)
_BY_NAME = {row["name"]: row for row in RUNTIMES}
_NAMES = ", ".join(_BY_NAME)

# The CORS fix of runtimes.md, one per runtime; "{origin}" is the page's origin.
CORS_RECIPES: dict[str, str] = {
    "ollama": (
        "# Ollama answers other origins with an empty 403. Allow this page, then restart:\n"
        'OLLAMA_ORIGINS="{origin}" ollama serve\n'
        "# macOS app:\n"
        'launchctl setenv OLLAMA_ORIGINS "{origin}"   # then quit and reopen Ollama\n'
        "# Linux with systemd: run `sudo systemctl edit ollama.service`, add\n"
        "#   [Service]\n"
        '#   Environment="OLLAMA_ORIGINS={origin}"\n'
        "# then: sudo systemctl restart ollama"
    ),
    "lmstudio": (
        "# LM Studio's CORS is off by default. To let {origin} call it:\n"
        "# Developer → Server Settings → turn on “Enable CORS” (no restart needed), or:\n"
        "lms server start --cors"
    ),
    "vllm": (
        "# vLLM allows every origin by default: if this fails, check that it runs on this\n"
        "# port. If you restricted origins, add this page:\n"
        "vllm serve <model> --allowed-origins '[\"{origin}\"]'"
    ),
    "llamacpp": (
        "# llama.cpp's server allows every origin by default: if this fails, check that it\n"
        "# runs on this port. Newer builds restrict with --cors-origins; add this page:\n"
        "llama-server -m <model.gguf> --cors-origins {origin}"
    ),
    "mlx": (
        "# mlx_lm.server allows every origin by default: if this fails, check that it runs\n"
        "# on this port. If you restricted origins, add this page:\n"
        "mlx_lm.server --model <model> --allowed-origins {origin}"
    ),
}

_REFUSED = "no answer — the port is closed or CORS refused this page (a browser cannot tell which)"
_CLOSED = "the port is closed (connection refused): is the runtime running?"
_LNA = ("the browser's Local Network Access permission is not granted to this page ({state}): "
        "allow it when the browser asks, or in the site settings, then Rescan")
_CORS = "the port answers, but its CORS settings refuse this page's origin"
_OLLAMA_CORS = ("the port answers, but Ollama refuses this page's origin "
                "(it sends an empty 403 without CORS headers): set OLLAMA_ORIGINS")
_OLLAMA_403 = "403 with an empty body: Ollama does not allow this page's origin"
_LOOPBACK_ALIASES = {"localhost", "0.0.0.0", "::", "[::]", ""}


def _runtime_key(name: str) -> str:
    """A runtime's name as the table spells it (``"LM Studio"`` -> ``"lmstudio"``)."""
    return re.sub(r"[\s._-]+", "", name.strip().lower())


def _runtime(name: str, where: str) -> dict[str, Any]:
    key = _runtime_key(name)
    if key not in _BY_NAME:
        raise ValueError(f"{where}: unknown runtime {name!r}; valid: {_NAMES}")
    return _BY_NAME[key]


def normalize_base_url(value: str, where: str, default_port: int | None = None) -> str:
    """``"localhost:11434/v1/"`` → ``"http://127.0.0.1:11434"``.

    No scheme means ``http://``; ``localhost``/``0.0.0.0``/``::`` become 127.0.0.1;
    trailing slashes and a trailing ``/v1`` are dropped; `default_port` fills in a missing
    port only when no scheme was given (as Ollama reads ``OLLAMA_HOST``).
    """
    text = value.strip()
    has_scheme = "://" in text
    parts = urlsplit(text if has_scheme else f"http://{text}")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{where}: {value!r} is not an http(s) URL or host:port")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{where}: {value!r} has a bad port") from None
    host = parts.hostname or ""
    host = "127.0.0.1" if host in _LOOPBACK_ALIASES else host
    if ":" in host:
        host = f"[{host}]"
    if port is None and not has_scheme:
        port = default_port
    path = parts.path.rstrip("/")
    path = path.removesuffix("/v1").rstrip("/")
    return f"{parts.scheme}://{host}{'' if port is None else f':{port}'}{path}"


ENDPOINT_MAX_CHARS = 200
# What the page's Content-Security-Policy lets it reach: this computer at 127.0.0.1.
_ENDPOINT_HOSTS = {"127.0.0.1", *_LOOPBACK_ALIASES}
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):", re.IGNORECASE)
_HOST_PORT = re.compile(r"[^:/]+:[0-9]")
_UNSAFE = re.compile(r"[\s\\\x00-\x1f\x7f]")


def check_endpoint(text: Any, dialect: Any, allowed_hosts: Iterable[Any] = ()
                   ) -> dict[str, str | None]:
    """Check a custom endpoint the visitor typed (or stored): ``{"base_url", "problem"}``.

    ``base_url`` is the normalised ``http(s)://127.0.0.1:PORT`` (``problem`` is None), or
    ``problem`` is one line saying what is wrong (``base_url`` is None). Accepted:
    ``host:port`` or ``http(s)://host:port``, optionally ending in ``/`` or ``/v1``; the
    host is this computer (127.0.0.1, localhost, 0.0.0.0 or ``::``, all read as
    127.0.0.1: the page may reach no other host); a missing port is the dialect's default.
    Refused: other schemes (``javascript:``, ``file:``), user names or passwords, paths,
    queries and fragments, spaces, control characters and backslashes, ports outside
    1-65535, and text longer than ``ENDPOINT_MAX_CHARS``. ``allowed_hosts`` (what the
    page was built or served with, ``evaluator.endpoints``) adds hosts beyond this
    computer; such an endpoint keeps its host in ``base_url``.
    """
    def bad(what: str) -> dict[str, str | None]:
        return {"base_url": None, "problem": what}

    if not isinstance(dialect, str):
        return bad(f"the runtime is missing or not text; valid: {_NAMES}")
    key = _runtime_key(dialect)
    if key not in _BY_NAME:
        return bad(f"unknown runtime {dialect!r}; valid: {_NAMES}")
    if not isinstance(text, str):
        return bad(f"the address is not text: {json.dumps(text)[:40]}")
    raw = text.strip()
    shown = repr(raw if len(raw) <= 60 else raw[:57] + "...")
    if not raw:
        return bad("enter host:port, for example 127.0.0.1:11500")
    if len(raw) > ENDPOINT_MAX_CHARS:
        return bad(f"{shown}: longer than {ENDPOINT_MAX_CHARS} characters")
    if _UNSAFE.search(raw):
        return bad(f"{shown}: spaces, control characters and backslashes are not allowed")
    has_scheme = "://" in raw
    scheme = _SCHEME.match(raw)
    if has_scheme and raw.split("://", 1)[0].lower() not in ("http", "https"):
        return bad(f"{shown}: only http:// and https:// addresses are allowed")
    if not has_scheme and scheme and not _HOST_PORT.match(raw):
        return bad(f"{shown}: not host:port or an http(s):// address "
                   f"('{scheme.group(1)}:' is not allowed)")
    parts = urlsplit(raw if has_scheme else f"http://{raw}")
    if "?" in raw or "#" in raw:
        return bad(f"{shown}: a query or fragment (? or #) is not allowed")
    if "@" in parts.netloc:
        return bad(f"{shown}: a user name or password (user@host) is not allowed")
    try:
        port = parts.port
    except ValueError:
        return bad(f"{shown}: the port must be a number from 1 to 65535")
    if port == 0:
        return bad(f"{shown}: the port must be a number from 1 to 65535")
    host = (parts.hostname or "").lower()
    if not host:
        return bad(f"{shown}: no host: write host:port, for example 127.0.0.1:11500")
    if parts.path.rstrip("/") not in ("", "/v1"):
        return bad(f"{shown}: a path is not allowed (only an optional /v1)")
    port = port or int(_BY_NAME[key]["port"])
    if host not in _ENDPOINT_HOSTS:
        allowed = list(allowed_hosts or ())
        if not host_allowed(parts.scheme.lower(), host, port, allowed):
            more = " or a host this page allows" if allowed else ""
            return bad(f"{shown}: only this computer{more} can be reached from this page: "
                       "use 127.0.0.1 (or localhost)")
        return {"base_url": f"{parts.scheme.lower()}://{canonical_host(host)}:{port}",
                "problem": None}
    return {"base_url": f"{parts.scheme.lower()}://127.0.0.1:{port}", "problem": None}


def _base_url(row: dict[str, Any], env: Mapping[str, str]) -> str:
    port = row["port"]
    if env.get(row["env"], "").strip():
        return normalize_base_url(env[row["env"]], row["env"], port)
    if row["name"] == "ollama" and env.get("OLLAMA_HOST", "").strip():
        return normalize_base_url(env["OLLAMA_HOST"], "OLLAMA_HOST", port)
    return f"http://127.0.0.1:{port}"


def probe_plan(
    env: Mapping[str, str], only: list[str] | None = None, custom: Iterable[dict[str, Any]] = (),
    allowed_hosts: Iterable[Any] = ()
) -> list[dict[str, str]]:
    """The list probes to run: ``[{"runtime", "base_url", "url"}]``, in `RUNTIMES` order.

    `only` (else ``LOCALRATE_DISCOVERY``, comma-separated) limits the runtimes; `custom`
    rows ``{"runtime", "base_url"}`` (endpoints the user added) are probed after the
    others, each as `check_endpoint` normalises it; a row it refuses is left out (the page
    shows that row's problem), so one bad row never stops the others. Two rows with the
    same URL are probed once (the first wins). ``allowed_hosts`` as for `check_endpoint`.
    """
    if only is None:
        names = [n for n in env.get(DISCOVERY_ENV, "").split(",") if n.strip()]
        where = DISCOVERY_ENV
    else:
        names, where = list(only), "runtimes"
    rows = [_runtime(n, where) for n in names] if names else list(RUNTIMES)
    chosen = [r for r in RUNTIMES if r in rows]
    plan = [(row, _base_url(row, env)) for row in chosen]
    for extra in custom:
        if not isinstance(extra, Mapping):
            continue
        checked = check_endpoint(extra.get("base_url"), extra.get("runtime"), allowed_hosts)
        if checked["base_url"] is not None:
            plan.append((_runtime(str(extra["runtime"]), "custom endpoint"), checked["base_url"]))
    out: list[dict[str, str]] = []
    for row, base in plan:
        url = base + row["list_path"]
        if all(p["url"] != url for p in out):
            out.append({"runtime": row["name"], "base_url": base, "url": url})
    return out


def _snippet(body: str | None, size: int = 40) -> str:
    return " ".join((body or "").split())[:size]


def _entries(body: str | None) -> list[dict[str, Any]] | None:
    """The model entries of a list body (OpenAI ``data`` or Ollama ``models``), or None."""
    try:
        doc = json.loads(body or "")
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    for key in LIST_KEYS:
        if isinstance(doc.get(key), list):
            return [e for e in doc[key] if isinstance(e, dict)]
    return None


def _entry_id(entry: dict[str, Any]) -> str | None:
    for key in ID_KEYS:
        if isinstance(entry.get(key), str) and entry[key]:
            return str(entry[key])
    return None


def _detect(runtime: str, entries: list[dict[str, Any]]) -> str:
    """llama.cpp and mlx_lm.server share port 8080 upstream: tell them apart by owned_by."""
    owners = {e.get("owned_by") for e in entries}
    if runtime == "mlx" and owners == {"llamacpp"}:
        return "llamacpp"
    if runtime == "llamacpp" and entries and "llamacpp" not in owners:
        return "vllm" if owners == {"vllm"} else "mlx"
    return runtime


def interpret_probe(plan_row: dict[str, str], observation: dict[str, Any]) -> dict[str, Any]:
    """What one list probe found: state, a human detail, and the models.

    `observation` = ``{"status", "body", "error": "timeout"|"network"|"closed"|"cors"|str|None,
    "elapsed_ms", "permission"?}``; ``permission`` is the page's Local Network Access
    permission state (prompt, denied, granted) on a public origin; ``with_key`` is true
    when the request carried an API key. States: up, refused, unauthorized, key_rejected
    (401/403 to a request with a key), timeout, error, loading, blocked (no permission,
    so nothing was sent).
    ``badge`` is the state's short text for the page; ``fixable`` says whether the row offers
    the CORS recipe.
    """
    runtime, base = plan_row["runtime"], plan_row["base_url"]
    status, body, error = observation.get("status"), observation.get("body"), observation.get("error")
    elapsed = float(observation.get("elapsed_ms") or 0.0)
    models: list[dict[str, Any]] = []
    lna_pending = observation.get("permission") in ("prompt", "denied")
    if error == "timeout" and not lna_pending:
        state, detail = "timeout", f"timed out after {elapsed / 1000:.1f} s".replace(".0 s", " s")
    elif status is None and error in (None, "network", "cors", "timeout") and lna_pending:
        # A public page without the browser's Local Network Access permission: no request
        # left the browser (Chrome fails it at once; Firefox holds it while its prompt is
        # open, so the probe times out), so neither the port nor CORS is to blame.
        state = "blocked"
        detail = _LNA.format(state=observation["permission"])
    elif status is None:
        state = "refused"
        if error == "closed":  # a client that can tell (the CLI): nothing listens there
            detail = _CLOSED
        elif error == "cors":  # the page: an opaque no-cors request did get an answer
            if runtime == "ollama":
                state, detail = "unauthorized", _OLLAMA_CORS
            else:
                detail = _CORS
        else:
            detail = _REFUSED if error in (None, "network") else f"no answer: {error}"
    elif status in (401, 403) and observation.get("with_key"):
        state = "key_rejected"  # an API key was sent: the key is wrong, not CORS
        detail = f"HTTP {status}: key rejected: this endpoint refused the API key sent to it"
    elif status in (401, 403):
        state = "unauthorized"
        if runtime == "ollama" and status == 403 and not (body or "").strip():
            detail = _OLLAMA_403
        elif status == 401:
            detail = "HTTP 401: the server wants an API key"
        else:
            detail = f"HTTP 403: refused: '{_snippet(body)}'"
    elif status == 503 and (runtime in ("llamacpp", "mlx") or "loading" in (body or "").lower()):
        state, detail = "loading", "loading the model"
    elif not 200 <= status < 300:
        state, detail = "error", f"HTTP {status}"
    else:
        entries = _entries(body)
        if entries is None:
            state, detail = "error", f"answered, but not with a model list: '{_snippet(body)}'"
        else:
            found = _detect(runtime, entries)
            for entry in entries:
                model_id = _entry_id(entry)
                if model_id:
                    models.append({"id": model_id, "runtime": found, "base_url": base,
                                   "raw": entry})
            count = f"{len(models)} model{'' if len(models) == 1 else 's'}"
            state, detail = "up", f"{count} · {round(elapsed)} ms"
            if found != runtime:
                detail += f" · this is {_BY_NAME[found]['label']}, not {_BY_NAME[runtime]['label']}"
            runtime = found
    found_n = len(models)
    badge = f"up · {found_n} model{'' if found_n == 1 else 's'}" if state == "up" \
        else _BADGES[state]
    return {"runtime": runtime, "base_url": base, "state": state, "detail": detail,
            "latency_ms": round(elapsed, 1), "models": models, "badge": badge,
            "fixable": state in _FIXABLE}


def metadata_plan(model_row: dict[str, Any]) -> list[dict[str, Any]]:
    """The extra requests that describe one model: ``[{"method", "url", "body"}]``.

    Ollama ``POST /api/show``; LM Studio ``GET /api/v0/models`` and (0.4+)
    ``GET /api/v1/models`` (either may 404); llama.cpp ``GET /props``; others none. Each
    request waits at most ``timeout_s`` (:data:`METADATA_TIMEOUT_S`).
    """
    base, runtime = model_row["base_url"], model_row["runtime"]
    plan: list[dict[str, Any]]
    if runtime == "ollama":
        plan = [{"method": "POST", "url": f"{base}/api/show", "body": {"model": model_row["id"]}}]
    elif runtime == "lmstudio":
        plan = [{"method": "GET", "url": f"{base}/api/v0/models", "body": None},
                {"method": "GET", "url": f"{base}/api/v1/models", "body": None}]
    elif runtime == "llamacpp":
        plan = [{"method": "GET", "url": f"{base}/props", "body": None}]
    else:
        plan = []
    return [{**req, "timeout_s": METADATA_TIMEOUT_S} for req in plan]


def _pick(entries: Any, model_id: str, keys: tuple[str, ...]) -> dict[str, Any] | None:
    """The entry whose id (under one of `keys`) is `model_id`; exact, then case-insensitive."""
    rows = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    for same in (str.__eq__, lambda a, b: a.lower() == b.lower()):
        for entry in rows:
            if any(isinstance(entry.get(k), str) and same(entry[k], model_id) for k in keys):
                return entry
    return None


def merge_metadata(model_row: dict[str, Any], responses: list[dict[str, Any]]) -> dict[str, Any]:
    """The model card: id, runtime, base_url, capabilities, context_length, kind, label, raw.

    `responses` = ``[{"url", "status", "body"}]`` answers to `metadata_plan()`; failed or
    unparsable ones are ignored (the id patterns still apply).
    """
    model_id, runtime = model_row["id"], model_row["runtime"]
    meta: dict[str, Any] = {"list": model_row.get("raw") or {}}
    for response in responses:
        if response.get("status") != 200:
            continue
        try:
            doc = json.loads(response.get("body") or "")
        except ValueError:
            continue
        path = urlsplit(str(response.get("url", ""))).path
        if not isinstance(doc, dict):
            continue
        if path.endswith("/api/show"):
            meta["show"] = doc
        elif path.endswith("/api/v0/models"):
            meta["v0"] = _pick(doc.get("data"), model_id, ("id",))
        elif path.endswith("/api/v1/models"):
            meta["v1"] = _pick(doc.get("models"), model_id, ("key", "id"))
        elif path.endswith("/props"):
            meta["props"] = doc
    meta = {k: v for k, v in meta.items() if v is not None}
    caps = project(model_id, runtime, meta)
    return {"id": model_id, "runtime": runtime, "base_url": model_row["base_url"],
            "capabilities": caps, "context_length": context_length(runtime, meta),
            "kind": model_kind(caps), "label": _BY_NAME.get(runtime, {}).get("label", runtime),
            "raw": meta}


_ORIGIN = re.compile(r"https?://(?:[a-z0-9.-]+|\[[0-9a-f:]+\])(?::[0-9]{1,5})?", re.IGNORECASE)


def cors_recipe(runtime: str, origin: str) -> str:
    """The CORS fix for `runtime` with the page's `origin` filled in (shell or UI steps)."""
    row = _runtime(runtime, "cors_recipe")
    clean = origin.strip().rstrip("/")
    if clean != "*" and not _ORIGIN.fullmatch(clean):
        raise ValueError(f"cors_recipe: {origin!r} is not an origin like https://example.org")
    return CORS_RECIPES[row["name"]].replace("{origin}", clean)


def discovery_table() -> dict[str, Any]:
    """Everything the page bakes in at build time (JSON-able)."""
    return {
        "runtimes": [
            {**row, "default_base_url": f"http://127.0.0.1:{row['port']}",
             "recipe": CORS_RECIPES[row["name"]]}
            for row in RUNTIMES
        ],
        "discovery_env": DISCOVERY_ENV,
        "capabilities": list(CAPABILITIES),
        "messages": {"refused": _REFUSED, "ollama_403": _OLLAMA_403},
        "probe_timeout_s": PROBE_TIMEOUT_S,
        "metadata_timeout_s": METADATA_TIMEOUT_S,
        "list_keys": list(LIST_KEYS),
        "id_keys": list(ID_KEYS),
        "provisional": list(PROVISIONAL),
    }
