"""The suites folder the tests run: the shipped suites plus the ``classic-rating`` fixture.

``classic-rating`` (tests/data/suites/classic-rating) is local-model-rating 0.3.0, 22 fixed
cases, kept so the CLI, page and benchmark tests keep a small suite with hand-written
scripted answers (tests/fakes/scripts/strong.json and weak.json). The shipped
local-model-rating is tested for its content by tests/test_suite_answers.py. A symlink
would be refused by the suite loader, so the folder is a copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURE_SUITES = REPO / "tests" / "data" / "suites"
CLASSIC = "classic-rating"


def make_suites_dir(folder: Path) -> Path:
    """Copy ``suites/*`` and the fixture suites into ``folder/suites``; return it (for
    ``LOCALRATE_SUITES_DIR``)."""
    root = folder / "suites"
    shutil.copytree(REPO / "suites", root, ignore=shutil.ignore_patterns("__pycache__"))
    for suite in FIXTURE_SUITES.iterdir():
        shutil.copytree(suite, root / suite.name, ignore=shutil.ignore_patterns("__pycache__"))
    return root
