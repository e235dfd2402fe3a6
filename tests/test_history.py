"""evaluator.history: model ids read as family/base/size/quant, runs of a model over time
with intervals and case diffs, the trend chart's geometry, and quantisation A/B tables.
Reference values: the exact McNemar p of b=0, c=n discordant cases is 2 * 0.5**n (the
two-sided binomial test), the Wilson interval is written out by hand, and the decode
speed's quartiles are statistics.quantiles(method="inclusive") (type 7, as documented)."""

from __future__ import annotations

import math
import statistics

import pytest

from evaluator.history import history, model_parts, quant_ab, trend_chart


@pytest.mark.parametrize(("model_id", "family", "base", "size", "quant", "bits"), [
    ("qwen3:4b-q4_K_M", "qwen3", "qwen3:4b", "4b", "q4_k_m", 4),
    ("qwen3:4b-q8_0", "qwen3", "qwen3:4b", "4b", "q8_0", 8),
    ("qwen3:4b", "qwen3", "qwen3:4b", "4b", None, None),
    ("Qwen2.5-7B-Instruct-Q4_K_M.gguf", "qwen2.5", "qwen2.5-7b-instruct", "7b", "q4_k_m", 4),
    ("mlx-community/Qwen2.5-7B-Instruct-4bit", "qwen2.5", "qwen2.5-7b-instruct", "7b", "4bit", 4),
    ("SmolLM2-135M-Instruct-F32.gguf", "smollm2", "smollm2-135m-instruct", "135m", "f32", 32),
    ("mixtral:8x7b-instruct-v0.1-fp16", "mixtral", "mixtral:8x7b-instruct-v0.1", "8x7b", "fp16", 16),
    ("hf.co/bartowski/Llama-3.2-3B-Instruct-GGUF:IQ4_XS", "llama-3.2", "llama-3.2-3b-instruct",
     "3b", "iq4_xs", 4),
])
def test_model_parts(model_id: str, family: str, base: str, size: str, quant: str | None,
                     bits: int | None) -> None:
    assert model_parts(model_id) == {"family": family, "base": base, "size": size,
                                     "quant": quant, "bits": bits}


def _record(model: str, when: str, statuses: list[str], speed: float = 20.0,
            sha: str = "s1", memory: float | None = None) -> dict:
    record = {"format": "localrate.run/1", "suite": {"id": "x", "version": "1", "sha256": sha},
              "model": {"id": model, "runtime": "ollama"}, "started_at": when,
              "cases": [{"id": f"c{i}", "status": s, "tok_s": speed + i}
                        for i, s in enumerate(statuses)]}
    if memory is not None:
        record["engine"] = {"memory": {"total_bytes": {"value": memory, "source": "x"}}}
    return record


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_history_groups_orders_and_diffs() -> None:
    old = _record("m:1b", "2026-11-01T00:00:00Z", ["pass"] * 6 + ["fail"] * 4)
    new = _record("m:1b", "2026-11-20T00:00:00Z", ["pass"] * 9 + ["fail"])
    other = _record("n:2b", "2026-11-05T00:00:00Z", ["pass"])
    groups = history([new, other, old])
    assert len(groups) == 1 and groups[0]["model"] == "m:1b"
    runs = groups[0]["runs"]
    assert [r["started_at"][:10] for r in runs] == ["2026-11-01", "2026-11-20"]
    low, high = _wilson(6, 10)
    assert runs[0]["rate"] == 0.6
    assert runs[0]["low"] == pytest.approx(low, abs=1e-4)
    assert runs[0]["high"] == pytest.approx(high, abs=1e-4)
    assert runs[1]["tok_s"] == pytest.approx(24.5)  # median of 20..29
    diff = runs[1]["previous"]
    assert diff["changed"] == [{"id": f"c{i}", "before": "fail", "after": "pass"}
                               for i in (6, 7, 8)]
    assert diff["p_value"] == 0.25  # 2 * 0.5**3
    assert "previous" not in runs[0]


def test_trend_chart_places_rates_bottom_up() -> None:
    points = [{"rate": 0.0, "low": 0.0, "high": 0.5, "tok_s": 10.0, "started_at": "2026-11-01"},
              {"rate": 1.0, "low": 0.5, "high": 1.0, "tok_s": 20.0, "started_at": "2026-11-02"}]
    chart = trend_chart(points, 300, 200, pad=20)
    a, b = chart["points"]
    assert (a["x"], a["y"], a["y_high"]) == (20.0, 180.0, 100.0)
    assert (b["x"], b["y"], b["s"]) == (280.0, 20.0, 20.0)
    assert a["s"] == 100.0 and chart["speed_max"] == 20.0
    # speed marks sit 7 px right of the rate marks, so the two bars never cover each other
    assert (a["sx"], b["sx"]) == (27.0, 287.0) and b["sx"] < 300


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return round(q1, 1), round(median, 1), round(q3, 1)


def test_history_speed_quartiles_reach_the_chart_with_the_axis_over_the_bars() -> None:
    a = _record("m:1b", "2026-11-01T00:00:00Z", ["pass"] * 10, speed=10.0)  # tok/s 10..19
    b = _record("m:1b", "2026-11-02T00:00:00Z", ["pass"], speed=15.0)  # one case: 15
    c = _record("m:1b", "2026-11-03T00:00:00Z", ["pass", "fail"])
    for case in c["cases"]:
        del case["tok_s"]  # a run with no speed at all
    runs = history([a, b, c])[0]["runs"]
    q1, median, q3 = _quartiles([10.0 + i for i in range(10)])
    assert (q1, median, q3) == (12.2, 14.5, 16.8)  # 10 + 9 * (0.25, 0.5, 0.75), rounded
    assert (runs[0]["tok_s_q1"], runs[0]["tok_s"], runs[0]["tok_s_q3"]) == (q1, median, q3)
    assert (runs[1]["tok_s_q1"], runs[1]["tok_s"], runs[1]["tok_s_q3"]) == (15.0, 15.0, 15.0)
    assert runs[2]["tok_s"] is None

    height, pad = 200, 20
    chart = trend_chart(runs, 300, height, pad=pad)
    # the axis top is run a's q3 (16.8), above every median (14.5, 15): its bar fits
    assert chart["speed_max"] == q3
    first, second, third = chart["points"]
    place = lambda v: round(pad + (height - 2 * pad) * (1 - v / q3), 1)
    assert (first["s_low"], first["s"], first["s_high"]) == \
        (place(q1), place(median), place(q3)) == (63.8, 41.9, 20.0)
    assert first["s_low"] > first["s"] > first["s_high"]  # q1 below the median, q3 above
    assert second["s_low"] == second["s"] == second["s_high"] == place(15.0) == 37.1
    assert (third["s"], third["s_low"], third["s_high"]) == (None, None, None)
    for p in (first, second):
        for key in ("s", "s_low", "s_high", "y", "y_low", "y_high"):
            assert pad <= p[key] <= height - pad, (key, p[key])
    assert first["speed_text"] == "14.5 (q1–q3 12.2–16.8)"
    assert second["speed_text"] == "15.0 (q1–q3 15.0–15.0)"
    assert third["speed_text"] == "–"
    assert "q1–q3 bar" in chart["legend"] and "16.8 tok/s" in chart["legend"]


def test_trend_chart_speed_bar_needs_both_quartiles_and_no_speed_no_legend() -> None:
    points = [{"rate": 0.5, "tok_s": 1234.5, "tok_s_q1": 1000.0, "tok_s_q3": None},
              {"rate": 0.5, "tok_s": True, "tok_s_q1": 1.0, "tok_s_q3": 2.0}]
    chart = trend_chart(points, 300, 200, pad=20)
    first, second = chart["points"]
    assert first["s"] == 20.0 and first["s_low"] is None and first["s_high"] is None
    assert first["speed_text"] == "1,234.5"  # grouped as the page writes numbers
    assert second["s"] is None and second["s_low"] is None  # a boolean is not a speed
    none = trend_chart([{"rate": 1.0}, {"rate": 0.0}], 300, 200, pad=20)
    assert none["speed_max"] is None
    assert none["legend"] == "Circles: pass rate with its 95% interval."


def test_quant_ab_against_the_most_precise() -> None:
    q8 = _record("qwen3:4b-q8_0", "2026-11-01", ["pass"] * 18 + ["fail"] * 2, 30.0, memory=5e9)
    q4 = _record("qwen3:4b-q4_K_M", "2026-11-02", ["pass"] * 12 + ["fail"] * 8, 45.0,
                 memory=3e9)
    unrelated = _record("llama3.2:3b-q4_0", "2026-11-02", ["pass"])
    other_suite = _record("qwen3:4b-q2_K", "2026-11-02", ["pass"], sha="s2")
    tables = quant_ab([q4, unrelated, q8, other_suite])
    assert len(tables) == 1
    table = tables[0]
    assert table["reference"]["quant"] == "q8_0" and table["reference"]["rate"] == 0.9
    row = table["rows"][0]
    assert row["quant"] == "q4_k_m" and row["rate"] == 0.6
    assert row["quality_delta"] == pytest.approx(-0.3)
    assert row["p_value"] == 0.03125  # 2 * 0.5**6
    assert row["verdict"] != "within noise"
    assert row["speed_delta"] == pytest.approx(15.0)
    assert row["memory_delta"] == -2e9
