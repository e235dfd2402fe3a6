"""Run a suite on the demo model through real llama.cpp, Q4_1 and F32, and print the evidence.

For each GGUF in turn (one server at a time): start tests/real/llamacpp_server.py (--ctx 8192,
--threads 2 unless told, alias `SmolLM2-135M-Instruct-<quant>`), run `localrate bench` against it through
llama.cpp discovery (LLAMACPP_BASE_URL), so the context comes from /props and a sweep size
that cannot fit is skipped, not sent), stop the server. Then print Markdown: per category (a
case's tags) both pass rates and skipped counts, the overall rate with its Wilson 95% interval,
median decode tok/s and TTFT, and the paired comparison of the two records.

The F32 file is the Q4_1 weights dequantized (tests/real/make_f32_gguf.py), so the A/B
isolates compute precision, not the information lost by quantising.

    python -m tests.real.suite_evidence [--case ID ...] [--table-only]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evaluator.stats_compare import compare_records
from evaluator.stats_math import wilson
from evaluator.stats_runs import SCORED, by_case, speed_profile

QUANTS = ("Q4_1", "F32")
MODEL_ID = "SmolLM2-135M-Instruct"
SEED = 20261130


def alias(quant: str) -> str:
    return f"{MODEL_ID}-{quant}"


def _pct(k: float, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.0f}%)" if n else "–"


def categories(record: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Per category (a case's tags joined with '+'): cases, scored, passed, errors, skipped."""
    out: dict[str, dict[str, int]] = {}
    for group in by_case(record["cases"]).values():
        tags = group[0].get("tags") or ["(untagged)"]
        row = out.setdefault("+".join(str(t) for t in tags),
                             {"cases": 0, "scored": 0, "passed": 0, "errors": 0, "skipped": 0})
        row["cases"] += 1
        for result in group:
            status = result.get("status")
            row["scored"] += status in SCORED
            row["passed"] += status == "pass"
            row["errors"] += status == "error"
            row["skipped"] += status == "skip"
    return dict(sorted(out.items()))


def overall(record: dict[str, Any]) -> tuple[int, int, float, float]:
    """(passed, scored, Wilson 95% low, high) over the scored results."""
    scored = [r for r in record["cases"] if r.get("status") in SCORED]
    passed = sum(1 for r in scored if r.get("status") == "pass")
    low, high = wilson(passed, len(scored))
    return passed, len(scored), low, high


def markdown(records: dict[str, dict[str, Any]], walls: dict[str, float] | None = None) -> str:
    """The evidence tables for two records keyed by quant (A = first, B = second)."""
    (name_a, rec_a), (name_b, rec_b) = records.items()
    cats = {name: categories(rec) for name, rec in records.items()}
    head = (f"| category | cases | {name_a} pass | {name_b} pass | {name_a} err/skip"
            f" | {name_b} err/skip |")
    lines = [head, "|---|---:|---:|---:|---:|---:|"]
    for cat in sorted(set(cats[name_a]) | set(cats[name_b])):
        a, b = cats[name_a].get(cat), cats[name_b].get(cat)
        row = [cat, str((a or b or {}).get("cases", 0))]
        row += [_pct(r["passed"], r["scored"]) if r else "–" for r in (a, b)]
        row += [f"{r['errors']}/{r['skipped']}" if r else "–" for r in (a, b)]
        lines.append("| " + " | ".join(row) + " |")
    head = ("| model | passed / scored | pass rate (Wilson 95%) | errors | skipped"
            " | median decode tok/s | median TTFT ms | wall |")
    lines += ["", head, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, rec in records.items():
        passed, scored, low, high = overall(rec)
        speed = speed_profile(rec["cases"])
        errors = sum(r["errors"] for r in cats[name].values())
        skipped = sum(r["skipped"] for r in cats[name].values())
        rate = f"{100 * passed / scored:.1f}% [{100 * low:.1f}, {100 * high:.1f}]" \
            if scored else "–"
        wall = f"{walls[name] / 60:.1f} min" if walls and name in walls else "–"
        lines.append(f"| {alias(name)} | {passed}/{scored} | {rate} | {errors} | {skipped} | "
                     f"{_num(speed['decode_tok_s']['median'])} | "
                     f"{_num(speed['ttft_ms']['median'])} | {wall} |")
    cmp = compare_records(rec_a, rec_b)
    table = cmp["table"]
    diff = cmp["difference"]
    lines += ["", f"Paired ({cmp['cases']} cases scored in both; A = {name_a}, B = {name_b}): "
              f"both pass {table['both']}, only {name_a} {table['a_only']}, only {name_b} "
              f"{table['b_only']}, neither {table['neither']}; difference A − B "
              f"{_signed(diff)} points, 95% CI [{_signed(cmp['interval'][0])}, "
              f"{_signed(cmp['interval'][1])}], exact McNemar p = {cmp['p_value']:.3g}: "
              f"**{cmp['verdict']}**." + ("" if cmp["same_suite"] else " (suites differ!)")]
    return "\n".join(lines)


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:.1f}"


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:+.1f}"


def gguf_path(quant: str) -> Path:
    from server.demo.model import GGUF_NAME, cache_dir
    from tests.real.make_f32_gguf import ensure_f32

    q4 = cache_dir() / GGUF_NAME
    return q4 if quant == "Q4_1" else ensure_f32(q4)


def run_one(quant: str, args: argparse.Namespace) -> float:
    """Serve one GGUF, bench it into args.out_dir/evidence-<quant>.json; the wall seconds."""
    from tests.real.servers import CLI, REPO, free_port, running

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = [sys.executable, str(REPO / "tests" / "real" / "llamacpp_server.py"),
              str(gguf_path(quant)), "--port", str(port), "--alias", alias(quant),
              "--ctx", "8192", "--threads", str(args.threads)]
    out = args.out_dir / f"evidence-{quant}.json"
    bench = [*CLI, "bench", "--suite", args.suite, "--runtime", "llamacpp",
             "--model", alias(quant), "--seed", str(args.seed), "--json", "--out", str(out)]
    for case in args.case:
        bench += ["--case", case]
    env = {**os.environ, "LLAMACPP_BASE_URL": base, "LOCALRATE_DISCOVERY": "llamacpp"}
    print(f"{quant}: {' '.join(bench[3:])}", file=sys.stderr, flush=True)
    with running(server, base, args.out_dir / f"evidence-{quant}.server.log"):
        start = time.monotonic()
        done = subprocess.run(bench, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, check=False)
        wall = time.monotonic() - start
    print(f"{quant}: exit {done.returncode} after {wall / 60:.1f} min", file=sys.stderr)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{quant}: localrate bench exited {done.returncode}: "
                         f"{done.stderr.strip()[-500:]}")
    return wall


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="local-model-rating")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--case", action="append", default=[], help="repeatable")
    parser.add_argument("--out-dir", type=Path, default=Path("/tmp"))
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    parser.add_argument("--only", choices=QUANTS, action="append",
                        help="run only this quant (the table reads the other's record)")
    parser.add_argument("--table-only", action="store_true", help="print from the records")
    args = parser.parse_args(argv)
    walls_path = args.out_dir / "evidence-walls.json"
    walls: dict[str, float] = {}
    if walls_path.is_file():
        walls = json.loads(walls_path.read_text(encoding="utf-8"))
    if not args.table_only:
        for quant in args.only or QUANTS:
            walls[quant] = round(run_one(quant, args), 1)
            walls_path.write_text(json.dumps(walls), encoding="utf-8")
    paths = {q: args.out_dir / f"evidence-{q}.json" for q in QUANTS}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise SystemExit(f"no table yet: {', '.join(missing)} not written (run without --only)")
    records = {q: json.loads(p.read_text(encoding="utf-8")) for q, p in paths.items()}
    print(markdown(records, walls))


if __name__ == "__main__":
    main()
