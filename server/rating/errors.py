"""The errors a rating command ends with, and their exit codes (click prints the one line)."""

from __future__ import annotations

import click


class BadInput(click.ClickException):
    """A bad suite, case id or option value (exit code 2)."""

    exit_code = 2


class Unreachable(click.ClickException):
    """A model could not be found or its runtime did not answer (exit code 3)."""

    exit_code = 3
