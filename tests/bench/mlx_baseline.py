"""mlx-lm's own ``stream_generate``, in-process: the baseline of the bridge measurement.

Run as ``python -m tests.bench.mlx_baseline MODEL_DIR PROMPT MAX_TOKENS``: it loads the
model, generates once to warm up, prints ``ready``, then generates once per line read on
stdin and prints one JSON line ``{"tok_s", "tokens"}`` each time: tokens over the time
from the first generated token to the last, with the same chat template and greedy
sampling the bridge uses. (One line at a time, so the benchmark can interleave these runs
with the bridge's and load changes on a shared machine hit both alike.)
"""

from __future__ import annotations

import json
import os
import sys
import time


def serve(model_dir: str, prompt: str, max_tokens: int) -> None:
    """Load, warm up, then generate once per stdin line and print its decode speed."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from mlx_lm import load, stream_generate
    from mlx_lm.sample_utils import make_sampler

    model, tokenizer = load(model_dir)[:2]
    ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                        add_generation_prompt=True)
    sampler = make_sampler(temp=0.0)
    def once() -> dict[str, float]:
        stamps, tokens = [], 0
        for step in stream_generate(model, tokenizer, list(ids), max_tokens=max_tokens,
                                    sampler=sampler):
            stamps.append(time.perf_counter())
            tokens = step.generation_tokens
        decode = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
        return {"tok_s": (tokens - 1) / decode if decode else float("nan"),
                "tokens": float(tokens)}

    once()
    print("ready", flush=True)
    for _line in sys.stdin:
        print(json.dumps(once()), flush=True)


def main(argv: list[str]) -> int:
    """Command line: MODEL_DIR PROMPT MAX_TOKENS."""
    if len(argv) != 3:
        print("usage: python -m tests.bench.mlx_baseline MODEL_DIR PROMPT MAX_TOKENS",
              file=sys.stderr)
        return 2
    serve(argv[0], argv[1], int(argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
