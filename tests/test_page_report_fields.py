"""The page's run figures are the CLI's: what web/js/run-report.mjs hands run_report.

The page does not send a case's transcripts to the evaluator after every case
(``scoringFields``), but run_report's prefill speed of a multi-turn case reads the first
request of its ``turns`` (the case's own ``tok_in`` counts every request). The fields the
page sends (``reportFields``, run under Node) must give the same report as the whole
record, here for a three-turn case recorded by ``localrate bench`` from a scripted fake.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from evaluator.run_report import run_report
from tests.test_cli import env_for
from tests.test_engine_cli import bench, record_of, serve
from tests.test_stream import node_path

REPO = Path(__file__).resolve().parent.parent
MAP = """import { reportFields } from "./web/js/run-report.mjs";
let input = "";
for await (const piece of process.stdin) input += piece;
process.stdout.write(JSON.stringify(JSON.parse(input).map(reportFields)));"""


def test_a_multi_turn_cases_prefill_is_the_clis(fake_runtime: Any) -> None:
    fake = serve(fake_runtime, "vllm")
    record = record_of(bench(env_for({"vllm": fake}), "--json", "--seed", "3",
                             "--no-warmup", "--case", "recall-two-turns"))
    [case] = record["cases"]
    first = case["turns"][0]
    assert len(case["turns"]) == 3 and case["tok_in"] > first["tok_in"]
    sent = subprocess.run([node_path(), "--input-type=module", "-e", MAP], cwd=REPO,
                          input=json.dumps(record["cases"]), capture_output=True, text=True,
                          timeout=60, check=True)
    cases = json.loads(sent.stdout)
    page = run_report({key: record.get(key) for key in ("model", "settings", "warmup")}
                      | {"cases": cases})
    assert page == run_report(record)
    assert "transcripts" not in cases[0] and len(cases[0]["turns"]) == 1
    assert page["speed"]["prefill_tok_s"]["median"] == round(
        first["tok_in"] / (first["ttft_ms"] / 1000), 1)
