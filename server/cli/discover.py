"""``localrate discover``: its own module, so it loads only discovery (no suite loader, no
jsonschema, no httpx): the whole command takes about 0.15 s here."""

from __future__ import annotations

import json
import os

import click

from evaluator.discovery import PROBE_TIMEOUT_S
from server.rating.discovery import discover_sync
from server.rating.errors import BadInput


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--timeout", type=click.FloatRange(min=0.05), default=PROBE_TIMEOUT_S,
              show_default=True, help="Seconds to wait for each probe.")
def discover(as_json: bool, timeout: float) -> None:
    """Find the LLM runtimes on this machine and their models.

    Probes Ollama, LM Studio, vLLM, llama.cpp and MLX on 127.0.0.1 in parallel. Ports come
    from OLLAMA_BASE_URL (or OLLAMA_HOST), LM_STUDIO_BASE_URL, VLLM_BASE_URL,
    LLAMACPP_BASE_URL and MLX_BASE_URL; LOCALRATE_DISCOVERY=ollama,mlx limits the set.
    """
    try:
        found = discover_sync(os.environ, timeout)
    except ValueError as exc:  # a bad LOCALRATE_DISCOVERY or *_BASE_URL value
        raise BadInput(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({"runtimes": found["runtimes"], "models": found["models"]},
                              indent=2, ensure_ascii=False))
        return
    from server.rating.report import console, print_discovery

    print_discovery(found, console())
