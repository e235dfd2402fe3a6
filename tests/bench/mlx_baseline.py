"""mlx-lm's own ``stream_generate``, in-process: the baseline of the bridge measurement.

Run as ``python -m tests.bench.mlx_baseline MODEL_DIR PROMPT MAX_TOKENS RUNS``; prints one
JSON list of ``{"tok_s", "tokens"}``: tokens over the time from the first generated token
to the last, with the same chat template and greedy sampling the bridge uses.
"""

from __future__ import annotations

import json
import os
import sys
import time


def measure(model_dir: str, prompt: str, max_tokens: int, runs: int) -> list[dict[str, float]]:
    """Generate ``runs`` times; the decode speed of each."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from mlx_lm import load, stream_generate
    from mlx_lm.sample_utils import make_sampler

    model, tokenizer = load(model_dir)[:2]
    ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                        add_generation_prompt=True)
    sampler = make_sampler(temp=0.0)
    out = []
    for _ in range(runs + 1):  # the first run warms up and is dropped
        stamps, tokens = [], 0
        for step in stream_generate(model, tokenizer, list(ids), max_tokens=max_tokens,
                                    sampler=sampler):
            stamps.append(time.perf_counter())
            tokens = step.generation_tokens
        decode = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
        out.append({"tok_s": (tokens - 1) / decode if decode else float("nan"),
                    "tokens": float(tokens)})
    return out[1:]


def main(argv: list[str]) -> int:
    """Command line: MODEL_DIR PROMPT MAX_TOKENS RUNS."""
    if len(argv) != 4:
        print("usage: python -m tests.bench.mlx_baseline MODEL_DIR PROMPT MAX_TOKENS RUNS",
              file=sys.stderr)
        return 2
    print(json.dumps(measure(argv[0], argv[1], int(argv[2]), int(argv[3]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
