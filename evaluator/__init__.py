"""localrate's evaluator: every decision, no I/O.

Pure Python (standard library and jsonschema only). It runs unchanged in CPython and in
Pyodide; the CLI (``server/``) and the page (``web/``) hand it raw material (parsed suite
files, recorded transcripts, probe observations) and show what it returns. See
``docs/architecture.md`` for the contract between modules; ``page_api.call`` is the single
JSON-string entry point the browser uses.
"""

from evaluator.errors import SuiteError

__all__ = ["SuiteError"]
