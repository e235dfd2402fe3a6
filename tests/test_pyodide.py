"""The evaluator inside the vendored Pyodide (under Node) agrees with CPython.

tests/pyodide_runner.mjs starts the pinned Pyodide with the page's own start-up code
(web/js/python.mjs: the same evaluator zip, unpacked the same way), runs every row of
tests/data/check_table.json through `evaluator.page_api.call`, then does it again in a Python
restored from the memory snapshot the first one made (as a returning visitor's page does).
Each reply must be identical to the same call in CPython, and must say what the table says.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from evaluator import page_api
from server.site import assets
from server.site.build import EVALUATOR_DIR

HERE = Path(__file__).parent
RUNNER = HERE / "pyodide_runner.mjs"
TABLE = HERE / "data" / "check_table.json"


def table_rows() -> list[dict[str, Any]]:
    data = json.loads(TABLE.read_text("utf-8"))
    return list(data if isinstance(data, list) else data["rows"])


def cpython_reply(row: dict[str, Any]) -> Any:
    args = {"expect": row["expect"], "answer": row["answer"],
            "tool_calls": row.get("tool_calls") or []}
    return json.loads(page_api.call(json.dumps({"op": "run_check", "args": args})))


@pytest.fixture(scope="module")
def pyodide_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the Pyodide tests need Node >= 18 "
                    "(./dev.sh test installs it with apt-get)")
    folder = assets.fetch_pyodide(log=lambda _line: None)
    if folder is None:
        pytest.fail("npm is not installed: cannot fetch the pinned Pyodide for this test")
    zip_path = tmp_path_factory.mktemp("pyodide") / "evaluator.zip"
    zip_path.write_bytes(assets.build_evaluator_zip(assets.fetch_wheels(log=lambda _l: None),
                                                    EVALUATOR_DIR))
    proc = subprocess.run([node, str(RUNNER), str(folder), str(zip_path), str(TABLE)],
                          capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, f"pyodide_runner.mjs failed:\n{proc.stderr[-3000:]}"
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_zip_unpacks_into_the_pinned_site_packages(pyodide_run: dict[str, Any]) -> None:
    assert pyodide_run["site_packages"] == assets.SITE_PACKAGES


def test_every_row_ran(pyodide_run: dict[str, Any]) -> None:
    rows = table_rows()
    assert len(rows) >= 10
    assert [r["id"] for r in pyodide_run["results"]] == [r["id"] for r in rows]


def test_pyodide_and_cpython_agree(pyodide_run: dict[str, Any]) -> None:
    by_id = {r["id"]: r["reply"] for r in pyodide_run["results"]}
    differ = [row["id"] for row in table_rows() if by_id[row["id"]] != cpython_reply(row)]
    assert differ == [], f"Pyodide and CPython disagree on rows: {differ}"


def test_pyodide_gives_the_tables_outcomes(pyodide_run: dict[str, Any]) -> None:
    wrong = []
    for row, result in zip(table_rows(), pyodide_run["results"], strict=True):
        reply = result["reply"]
        if not reply["ok"] or reply["value"]["passed"] is not row["passed"]:
            wrong.append((row["id"], reply))
    assert wrong == []


def test_python_restored_from_its_snapshot_gives_the_same_replies(
        pyodide_run: dict[str, Any]) -> None:
    """The page saves a memory snapshot of the started Python and restores it on later
    visits (web/js/python.mjs); the restored evaluator must answer exactly as the fresh
    one, and the files it reads lazily must be there again."""
    restored = pyodide_run["restored"]
    assert restored["site_packages"] == assets.SITE_PACKAGES
    assert restored["results"] == pyodide_run["results"]
    assert pyodide_run["snapshot_bytes"] > 1_000_000
