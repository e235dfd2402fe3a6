"""The `localrate` command line: a click group whose subcommands live in small modules.

Subcommands are imported only when they run, so `localrate --help` and
`localrate discover` start fast.

Exit codes: 0 ok / suite passed, 1 suite below its passThreshold, 2 usage or suite
error, 3 a model or runtime could not be reached.
"""

from __future__ import annotations

import importlib

import click

# command name -> "module:attribute" (module relative to the `server` package)
COMMANDS: dict[str, str] = {
    "discover": "server.cli.discover:discover",
    "bench": "server.cli.rate:bench",
    "rescore": "server.cli.rate:rescore",
    "suites": "server.cli.rate:suites",
    "build": "server.cli.web:build",
    "serve": "server.cli.web:serve",
    "bridge": "server.cli.bridge:bridge",
    "demo-model": "server.cli.bridge:demo_model",
}

HELP_LINES: dict[str, str] = {
    "discover": "Find the LLM runtimes on this machine and their models.",
    "bench": "Rate one or more models on a suite.",
    "rescore": "Re-score a saved run record's transcripts.",
    "suites": "List the suites with their case counts.",
    "build": "Build the /local-models page into a static folder.",
    "serve": "Serve the page (and the MLX bridge where MLX runs).",
    "bridge": "Run the MLX bridge alone (OpenAI-compatible, mlx-lm).",
    "demo-model": "Prepare the bundled demo model (SmolLM2-135M) in the cache.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help text without importing every subcommand module.
        with formatter.section("Commands"):
            formatter.write_dl([(name, HELP_LINES[name]) for name in COMMANDS])


@click.group(cls=LazyGroup)
@click.version_option(package_name="localrate")
def main() -> None:
    """localrate: rate the LLMs running on your own machine.

    Exit codes: 0 ok (suite passed), 1 suite below its passThreshold,
    2 usage or suite error, 3 a model or runtime could not be reached.
    """
