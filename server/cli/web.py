"""`localrate build` and `localrate serve`: the page as a static folder, and a server for it."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from evaluator.endpoints import EndpointError, parse_allowed_hosts
from evaluator.errors import SuiteError
from server.site.assets import AssetError, cache_dir
from server.site.build import BuildError, BuildOptions, build_site

ALLOW_HOST = click.option(
    "--allow-host", "allow_hosts", multiple=True, metavar="HOST[:PORT]",
    help="Also let the page connect to this host (no port: any port); repeatable. "
         "http:// or https:// limits it to that scheme; no wildcards.")


class BuildFailed(click.ClickException):
    """A build problem (bad option, suite, download or hash): exit code 2."""

    exit_code = 2


def _build(opts: BuildOptions) -> dict[str, object]:
    """Run the build; every expected failure becomes a one-line error with exit code 2."""
    try:
        return build_site(opts, log=lambda line: click.echo(f"build: {line}", err=True))
    except (BuildError, AssetError, SuiteError) as exc:
        raise BuildFailed(str(exc)) from exc
    except OSError as exc:  # --out under a file, on a read-only disk, ...
        raise BuildFailed(f"--out {opts.out}: cannot write the site there "
                          f"({exc.filename}: {exc.strerror or exc})") from exc


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("_site"),
              show_default=True, help="Folder to write the site into.")
@click.option("--base-path", default="/", show_default=True,
              help="URL path the site is served under, e.g. /tools/localrate/.")
@click.option("--origin", default=None, help="Public origin, e.g. https://example.org.")
@click.option("--pyodide", "pyodide_mode", type=click.Choice(["vendored", "cdn"]),
              default="vendored", show_default=True,
              help="Ship Pyodide in the folder, or load the same pinned files from its CDN "
                   "with Subresource Integrity (also the fallback when npm is missing).")
@click.option("--force", is_flag=True, help="Rebuild even if the inputs did not change.")
@ALLOW_HOST
def build(out: Path, base_path: str, origin: str | None, pyodide_mode: str, force: bool,
          allow_hosts: tuple[str, ...]) -> None:
    """Build the /local-models page into a static folder (default _site/).

    The folder works from any static host at the given base path. Pyodide and the
    evaluator's wheels are downloaded once (npm pack, pip download), checked against
    pinned hashes and cached in $LOCALRATE_CACHE (default ~/.cache/localrate). The build is
    skipped when nothing it reads has changed.

    The page reaches runtimes on 127.0.0.1 only; --allow-host HOST[:PORT] (repeatable; a
    LAN address, a tunnel's host) adds that host to its Content-Security-Policy and lets
    visitors add endpoints there. The build prints what it allowed.
    """
    opts = BuildOptions(out=out, base_path=base_path, origin=origin, pyodide=pyodide_mode,
                        force=force, allowed_hosts=list(allow_hosts))
    manifest = _build(opts)
    click.echo(f"{out}/{manifest['page']}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
@click.option("--no-bridge", is_flag=True, help="Do not start the MLX bridge.")
@click.option("--bridge-port", default=8081, show_default=True, type=click.IntRange(1, 65535),
              help="Port of the MLX bridge (always on 127.0.0.1).")
@click.option("--rebuild", is_flag=True, help="Rebuild the site even if it is up to date.")
@click.option("--pyodide", "pyodide_mode", type=click.Choice(["vendored", "cdn"]),
              default="vendored", show_default=True, help="As for `localrate build`.")
@ALLOW_HOST
def serve(host: str, port: int, no_bridge: bool, bridge_port: int, rebuild: bool,
          pyodide_mode: str, allow_hosts: tuple[str, ...]) -> None:
    """Serve the page at http://127.0.0.1:8765/local-models (building it if needed).

    The site is built into $LOCALRATE_CACHE/site. Responses carry the page's
    Content-Security-Policy, compression and cache headers. Where mlx-lm is installed,
    the MLX bridge runs beside it on 127.0.0.1:8081 with the demo model (prepared in the
    cache on first start); --no-bridge turns it off. --allow-host widens the page's
    Content-Security-Policy as for `localrate build` (and says so). Stop with Ctrl-C.
    """
    from server.cli import serving
    from server.site.app import bridge_app_if_available, create_app

    try:  # a bad --allow-host stops here, before a port is taken
        parse_allowed_hosts(allow_hosts)
    except EndpointError as exc:
        raise BuildFailed(str(exc)) from exc
    serving.require_free(host, port, "--port")
    cap = serving.prepare(servers=2)  # before mlx-lm is imported; it is then kept
    site = cache_dir() / "site"
    _build(BuildOptions(out=site, pyodide=pyodide_mode, force=rebuild,
                        allowed_hosts=list(allow_hosts)))
    bridge_app, line = bridge_app_if_available(no_bridge, "127.0.0.1", bridge_port, port)
    click.echo(line)
    click.echo(serving.limits_line(cap), err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"localrate: serving http://{shown}:{port}/local-models (Ctrl-C stops)")
    servers = [serving.server(create_app(site), host, port, cap=cap, log_level="warning")]
    stops = []
    if bridge_app is not None:
        servers.append(
            serving.server(bridge_app, "127.0.0.1", bridge_port, cap=cap, log_level="warning")
        )
        stops.append(bridge_app.state.worker.shutdown)
    serving.quiet_logs(logging.WARNING)
    serving.run(servers, on_stop=stops)
