"""Run settings taken from the runtime's own sampling defaults (``--from-engine``).

Two runtimes say what they sample with by default:

* **Ollama** — ``POST /api/show {"model": id}`` answers ``parameters``: the Modelfile's
  ``PARAMETER`` lines as text, one ``name value`` per line (Go's ``%-30s %#v``, so a
  string value is quoted and a list gives one line per item), e.g.
  ``"temperature                    0.6\\ntop_p                          0.95"``. Read:
  ``temperature``, ``top_p``, ``num_predict`` (as ``max_tokens`` when positive).
* **llama.cpp** — ``GET /props`` answers ``default_generation_settings``, whose ``params``
  (older builds: the object itself) hold ``temperature``, ``top_p`` and ``n_predict``
  (``-1``: no limit, not read).

``engine_defaults_plan(runtime, base_url, model_id)`` is the request to send (None for
other runtimes); ``parse_engine_defaults(runtime, status, body)`` reads the answer into
``{"values": {setting: value}, "detail": str}`` (values out of localrate's ranges are
left out and named in ``detail``); ``merge_engine_defaults(explicit, engine)`` puts the
user's explicit settings over the engine's and names the ones that came from the engine
(the record's ``settings.from_engine``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from evaluator.settings import MAX_TOKENS_LIMIT

READ = ("temperature", "top_p", "max_tokens")
_OLLAMA_NAMES = {"temperature": "temperature", "top_p": "top_p", "num_predict": "max_tokens"}
_LLAMACPP_NAMES = {"temperature": "temperature", "top_p": "top_p", "n_predict": "max_tokens"}


def engine_defaults_plan(runtime: str, base_url: str, model_id: str
                         ) -> dict[str, Any] | None:
    """``{"method", "url", "body"}`` asking ``runtime`` for its sampling defaults, or None
    when it does not expose them."""
    base = base_url.rstrip("/")
    if runtime == "ollama":
        return {"method": "POST", "url": f"{base}/api/show", "body": {"model": model_id}}
    if runtime == "llamacpp":
        return {"method": "GET", "url": f"{base}/props", "body": None}
    return None


def _in_range(name: str, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        return False
    if name == "temperature":
        return 0 <= value <= 2
    if name == "top_p":
        return 0 < value <= 1
    return isinstance(value, int) and 1 <= value <= MAX_TOKENS_LIMIT


def _whole(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def ollama_parameters(text: str) -> dict[str, Any]:
    """The ``parameters`` text of ``/api/show`` as ``{name: value}`` (a repeated name,
    such as ``stop``, keeps a list); values are JSON where they parse, else text."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        name, _, raw = line.strip().partition(" ")
        if not name:
            continue
        raw = raw.strip()
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        if name in out:
            kept = out[name]
            out[name] = [*kept, value] if isinstance(kept, list) else [kept, value]
        else:
            out[name] = value
    return out


def _body_json(body: Any) -> Any:
    if not isinstance(body, str):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def parse_engine_defaults(runtime: str, status: Any, body: Any) -> dict[str, Any]:
    """``{"values": {...}, "detail": "..."}`` from the runtime's answer (module docstring);
    ``values`` is empty when the answer holds none (``detail`` says why)."""
    data = _body_json(body)
    if status != 200 or not isinstance(data, dict):
        return {"values": {}, "detail": f"{runtime}: no usable answer (HTTP {status})"}
    if runtime == "ollama":
        raw = data.get("parameters")
        found = ollama_parameters(raw) if isinstance(raw, str) else {}
        names = _OLLAMA_NAMES
    elif runtime == "llamacpp":
        settings = data.get("default_generation_settings")
        settings = settings if isinstance(settings, dict) else {}
        params = settings.get("params")
        found = params if isinstance(params, dict) else settings
        names = _LLAMACPP_NAMES
    else:
        return {"values": {}, "detail": f"{runtime}: exposes no sampling defaults"}
    values: dict[str, Any] = {}
    skipped = []
    for key, setting in names.items():
        if key not in found:
            continue
        if _in_range(setting, found[key]):
            values[setting] = _whole(found[key])
        elif not (setting == "max_tokens" and found[key] in (-1, -2, 0)):
            skipped.append(f"{key} {str(found[key])[:20]}")
    detail = f"{runtime}: " + (", ".join(f"{k} {v}" for k, v in values.items())
                               or "no sampling defaults set")
    if skipped:
        detail += f" (out of range, not used: {', '.join(skipped)})"
    return {"values": values, "detail": detail}


def merge_engine_defaults(explicit: dict[str, Any], engine: dict[str, Any]
                          ) -> tuple[dict[str, Any], list[str]]:
    """The settings to run with: ``engine``'s values where ``explicit`` (the user's,
    None = not given) has none, and the sorted names taken from the engine."""
    merged = {k: v for k, v in explicit.items() if v is not None}
    taken = sorted(k for k, v in engine.items() if k in READ and k not in merged)
    merged.update({k: engine[k] for k in taken})
    return merged, taken
