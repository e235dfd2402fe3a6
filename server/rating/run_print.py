"""Terminal lines for issue 14's numbers: a run's report, the paired comparison, progress.

Printing only: every figure comes from the evaluator (``evaluator.run_report.run_report``,
``evaluator.stats.compare_records``, ``evaluator.eta.progress``). Untrusted text (model
ids, case ids) goes into rich ``Text`` objects, never into markup.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Self

from evaluator.eta import progress
from server.rating.report import console


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def rate_text(rate: dict[str, Any]) -> str:
    """``82% (95% CI 61–93%) · 18/22 attempts, 22 cases``; ``- · nothing scored (all
    skipped)`` when no attempt was scored (a tag whose cases all need a capability)."""
    if not rate["attempts"]:
        return "- · nothing scored (all skipped)"
    return (f"{_pct(rate['rate'])} (95% CI {_pct(rate['low'])}–{_pct(rate['high'])}) · "
            f"{rate['passed']}/{rate['attempts']} attempts, {rate['cases']} "
            f"case{'' if rate['cases'] == 1 else 's'}")


def _figure(spread: dict[str, Any], unit: str, digits: int = 0) -> str:
    if not spread.get("n"):
        return "-"
    return (f"median {spread['median']:.{digits}f}{unit} (IQR {spread['q1']:.{digits}f}–"
            f"{spread['q3']:.{digits}f}, n {spread['n']})")


def report_lines(report: dict[str, Any]) -> list[str]:
    """The run report's lines: pass rate with its interval, per tag, stability, speed
    profile with the prefill figure's source, cold start."""
    rates = report["pass_rates"]
    lines = [f"# pass rate {rate_text(rates['overall'])}"]
    for tag, rate in rates["tags"].items():
        lines.append(f"#   {tag}: {rate_text(rate)}")
    stab = report["stability"]
    if stab["repeat"] > 1:
        flaky = f" ({', '.join(stab['flaky_ids'][:8])}{' …' if stab['flaky'] > 8 else ''})" \
            if stab["flaky"] else ""
        lines.append(f"# stability: up to {stab['repeat']} attempts per case · "
                     f"{stab['flaky']} flaky{flaky}")
    speed = report["speed"]
    prefill = speed["prefill_tok_s"]
    source = f" [source: {prefill['source']}]" if prefill.get("source") else ""
    latency = speed["latency_ms"]
    p95 = "" if latency.get("p95") is None else f", p95 {latency['p95']:.0f} ms"
    lines += [f"# TTFT {_figure(speed['ttft_ms'], ' ms')}",
              f"# prefill {_figure(prefill, ' tok/s')}{source}",
              f"# decode {_figure(speed['decode_tok_s'], ' tok/s', 1)}",
              f"# latency {_figure(latency, ' ms')}{p95}"]
    cold = speed.get("cold_start")
    if cold is not None:
        ttft = "-" if cold.get("ttft_ms") is None else f"{cold['ttft_ms']:.0f} ms"
        total = "-" if cold.get("total_ms") is None else f"{cold['total_ms']:.0f} ms"
        detail = f": {cold['detail'][:120]}" if cold.get("detail") else ""
        lines.append(f"# cold start (warm-up): TTFT {ttft}, total {total} · "
                     f"{cold.get('status')}{detail}")
    settings = report["settings"]
    if not settings.get("thinking_applied", True):
        lines.append(f"# thinking {settings['thinking']} was not sent: this runtime takes "
                     "no thinking control")
    return lines


def _value(name: str, value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if name.endswith("_bytes"):
            return f"{value / 1e9:.2f} GB"
        if name.endswith("_fraction"):
            return f"{value * 100:.0f}%"
    return str(value)[:80]


def _figures(section: str, figures: Any) -> list[str]:
    if not isinstance(figures, dict):
        return []
    if "value" in figures and "source" in figures:  # one figure, e.g. the version
        figures = {section: figures}
    return [f"#   {name}: {_value(name, fig.get('value'))} [{str(fig.get('source'))[:100]}]"
            for name, fig in figures.items() if isinstance(fig, dict) and "value" in fig]


def facts_lines(record: dict[str, Any]) -> list[str]:
    """What the runtime told of its engine (version, memory, context, KV cache, details)
    and the note of the machine, each figure with its source; the record's notes last."""
    lines: list[str] = []
    engine, machine = record.get("engine"), record.get("machine")
    if isinstance(engine, dict):
        lines.append(f"# engine ({str(engine.get('runtime'))[:40]}):")
        for section in ("version", "memory", "context", "kv_cache", "details"):
            lines += _figures(section, engine.get(section))
        lines += [f"#   note: {str(n)[:160]}" for n in engine.get("notes") or []]
    if isinstance(machine, dict):
        lines.append(f"# {str(machine.get('label'))[:60]}:")
        for section in ("os", "cpu", "cores", "ram_bytes"):
            lines += _figures(section, machine.get(section))
        for i, gpu in enumerate(machine.get("gpus") or []):
            lines += _figures(f"gpu{i}", gpu)
        lines += [f"#   note: {str(n)[:160]}" for n in machine.get("notes") or []]
    return lines


def print_report(report: dict[str, Any], con: Any, record: dict[str, Any] | None = None
                 ) -> None:
    """:func:`report_lines`, one per line, then the record's :func:`facts_lines`."""
    from rich.text import Text

    for line in report_lines(report) + (facts_lines(record) if record else []):
        con.print(Text(line))


def _signed(value: Any) -> str:
    return "-" if value is None else f"{value * 100:+.1f} pts"


def compare_lines(result: dict[str, Any], a_name: str, b_name: str) -> list[str]:
    """The paired comparison: verdict, difference with its interval, the method, the cases
    that differ and the settings that differ."""
    low, high = result["interval"]
    lines = [f"A: {a_name} · {rate_text(result['a_pass_rates']['overall'])}",
             f"B: {b_name} · {rate_text(result['b_pass_rates']['overall'])}",
             (f"verdict: {result['verdict']} (p = {result['p_value']:.4g}, alpha "
             f"{result['alpha']:g})"),
             (f"difference A - B: {_signed(result['difference'])} "
             f"(95% CI {_signed(low)} to {_signed(high)}) over {result['cases']} paired "
             f"cases: A ahead on {result['a_wins']}, B ahead on {result['b_wins']}, "
             f"{result['ties']} tied"),
             f"method: {result['method']}"]
    if not result["same_suite"]:
        lines.append("warning: the runs are of different suites (suite.sha256 differs); "
                     "only cases with the same id are paired")
    for side in ("a_only", "b_only"):
        ids = result["unpaired"][side]
        if ids:
            lines.append(f"not paired ({'A' if side == 'a_only' else 'B'} only): "
                         f"{', '.join(ids[:10])}{' …' if len(ids) > 10 else ''}")
    lines.append(f"cases that differ: {len(result['differing'])}")
    for row in result["differing"]:
        a_pass, a_n = row["a"]
        b_pass, b_n = row["b"]
        lines.append(f"  {row['id']}: A {a_pass}/{a_n} · B {b_pass}/{b_n} · "
                     f"{row['better']} better")
    if result["settings_differ"]:
        lines.append("settings that differ:")
        for diff in result["settings_differ"]:
            lines.append(f"  {diff['field']}: A {str(diff['a'])[:60]} · B {str(diff['b'])[:60]}")
    else:
        lines.append("settings: the same")
    return lines


class AttemptProgress:
    """Progress on stderr, in attempts, with the time left from the measured pace: a rich
    bar on a terminal, one plain line per attempt otherwise."""

    def __init__(self, total: int, repeat: int) -> None:
        self.con = console(stderr=True)
        self.total, self.repeat, self.done = total, repeat, 0
        self.start = time.perf_counter()
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> Self:
        if self.con.is_terminal:
            from rich.progress import BarColumn, Progress, TextColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                TextColumn("{task.fields[eta]}"), console=self.con,
                                transient=True)
            self.bar.start()
            self.task = self.bar.add_task("", total=self.total, eta=self._eta()["text"])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def _eta(self) -> dict[str, Any]:
        return progress(self.done, self.total, (time.perf_counter() - self.start) * 1000)

    def __call__(self, model_id: str, attempt: int, case: Any,
                 result: dict[str, Any] | None) -> None:
        """Called before (result None) and after each attempt."""
        label = f"{model_id} · {case.id}" + (f" #{attempt + 1}" if self.repeat > 1 else "")
        if result is None:
            if self.bar is not None:
                from rich.markup import escape

                self.bar.update(self.task, description=escape(label))
            return
        self.done += 1
        state = self._eta()
        if self.bar is not None:
            self.bar.update(self.task, advance=1, eta=state["text"])
            return
        secs = result.get("total_ms")
        took = "" if secs is None else f" {secs / 1000:.1f} s"
        left = state["text"].partition(" · ")[2]  # "about 40 s left", "" when done
        print(f"[{self.done}/{self.total}] {label} {result['status']}{took}"
              f"{' · ' + left if left else ''}", file=sys.stderr, flush=True)
