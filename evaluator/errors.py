"""The evaluator's one user-facing error type."""

from __future__ import annotations


class SuiteError(ValueError):
    """A suite file (or a resolved suite) is invalid.

    The message is one line that names the file, the case and the field:
    ``suites/x/suite.yaml: case 'json-shape': expect.schema: $.type: ...``.
    """
