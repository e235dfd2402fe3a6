"""The `localrate` command line: a click group whose subcommands live in small modules.

Subcommands are imported only when they run, so `localrate --help` and
`localrate discover` start fast.

Exit codes: 0 ok / suite passed, 1 suite below its passThreshold, 2 usage or suite
error, 3 a model or runtime could not be reached.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import click

CACHE_ENV = "LOCALRATE_CACHE"
NO_ARGS: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2

# command name -> "module:attribute" (module relative to the `server` package)
COMMANDS: dict[str, str] = {
    "discover": "server.cli.discover:discover",
    "bench": "server.cli.rate:bench",
    "rescore": "server.cli.rate:rescore",
    "compare": "server.cli.compare:compare",
    "report": "server.cli.report_cmd:report",
    "verify": "server.cli.report_cmd:verify",
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
    "compare": "Compare two saved runs case by case (paired test).",
    "report": "Write an HTML or Markdown report of saved runs.",
    "verify": "Re-score a shared run record and check its suite hash.",
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

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        """As click's, but a usage error is ONE line (`Error: ... (see: localrate X --help)`),
        like every other bad input, instead of click's usage block."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except NO_ARGS as exc:  # `localrate` alone: the help, as click prints it
            click.echo(exc.format_message(), err=True)
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            where = f" (see: {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
            click.echo(f"Error: {exc.format_message()}{where}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

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
    check_cache_env(os.environ.get(CACHE_ENV))


def check_cache_env(value: str | None) -> None:
    """A LOCALRATE_CACHE that can never hold the cache is a usage error (one line, exit 2),
    not a traceback from deep inside the first command that writes there."""
    if not value:
        return
    probe = Path(value).expanduser()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise click.UsageError(f"{CACHE_ENV}={value}: {probe} is not a folder, so the cache "
                               "cannot be kept there")
