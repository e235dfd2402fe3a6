"""Terminal output for the CLI: tables, summary lines, progress. Printing only.

Every value shown comes from the evaluator's results; nothing here decides anything.
Untrusted text (model ids, details) goes into rich ``Text`` objects, never into markup.
"""

from __future__ import annotations

import sys
from typing import Any, Self

from evaluator.run_report import counts_text

STATUS_STYLE = {"pass": ("pass", "green"), "fail": ("FAIL", "red"),
                "skip": ("skip", "dim"), "error": ("ERROR", "bold red")}
RUNTIME_MARK = "*"


def console(stderr: bool = False) -> Any:
    """A rich Console on stdout (or stderr); wide when not a terminal, so rows never wrap."""
    from rich.console import Console

    con = Console(stderr=stderr, highlight=False)
    if not con.is_terminal:
        con = Console(stderr=stderr, highlight=False, width=240)
    return con


def _text(value: Any, style: str = "") -> Any:
    from rich.text import Text

    return Text("-" if value is None else str(value), style=style)


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def _table(*columns: str, right: tuple[str, ...] = ()) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for name in columns:
        table.add_column(name, justify="right" if name in right else "left",
                         overflow="fold")
    return table


# -- bench ---------------------------------------------------------------------------------

def header_line(record: dict[str, Any]) -> str:
    """``suite: <id>@<version> · model=<id> · <n> cases · seed <n>`` (no seed part for a
    record that has none; ``<n> cases × <r> attempts`` for a repeated run)."""
    suite, model = record["suite"], record["model"]
    seed = (record.get("settings") or {}).get("seed")
    return (f"suite: {suite['id']}@{suite['version']} · model={model['id']} · "
            f"{counts_text(record)['size']}" + ("" if seed is None else f" · seed {seed}"))


def case_label(case: dict[str, Any]) -> str:
    """The case id, with ``#<attempt + 1>`` for an attempt of a repeated run."""
    attempt = case.get("attempt")
    return str(case["id"]) + (f" #{attempt + 1}" if isinstance(attempt, int) else "")


def turns_cell(case: dict[str, Any]) -> str:
    """The ``turns`` column: the requests the case's exchange made (``-`` when skipped)."""
    if isinstance(case.get("turns"), list):
        return str(len(case["turns"]))
    return "-" if case.get("transcript") is None else "1"


def exchange_line(case: dict[str, Any]) -> str | None:
    """For a multi-turn or tool-loop case that ran: its requests by kind, why the exchange
    ended, and the first-token time and decode speed over the whole exchange."""
    turns = case.get("turns")
    if not isinstance(turns, list) or not turns:
        return None
    users = sum(1 for t in turns if t.get("kind") == "user")
    rounds = len(turns) - users
    kinds = f"{users} user turn{'s' * (users != 1)}" + (
        f", {rounds} tool round{'s' * (rounds != 1)}" if rounds else "")
    ttft, speed = case.get("exchange_ttft_ms"), case.get("exchange_tok_s")
    return (f"  {case['id']}: {len(turns)} requests ({kinds}) · ended "
            f"{case.get('exchange_end')} · exchange ttft {_num(ttft)} ms · "
            f"{_num(speed, 1)} tok/s")


def summary_lines(record: dict[str, Any]) -> list[str]:
    """The ``# overall`` line (the evaluator's words: attempts for a repeated run) and the
    ``# avg tok/s`` line, then counts and the verdict."""
    summary = record["summary"]
    reasoning = summary.get("reasoning_ratio")
    p95 = summary.get("p95_ms")
    threshold = summary.get("pass_threshold")
    overall = f"# overall: {counts_text(record)['overall']}"
    speed = (f"# avg tok/s {_num(summary.get('avg_tok_s'), 1)} · avg reasoning ratio "
             f"{'-' if reasoning is None else f'{reasoning * 100:.0f}%'} · p95 latency "
             f"{'-' if p95 is None else f'{p95 / 1000:.1f} s'}")
    verdict = (f"# {summary['skipped']} skipped · {summary['errors']} errors · threshold "
               f"{'-' if threshold is None else f'{threshold * 100:.0f}%'} · verdict "
               f"{summary.get('verdict')}")
    return [overall, speed, verdict]


def print_record(record: dict[str, Any], con: Any) -> None:
    """The header, the per-case table, one line per non-passing case, the summary."""
    from rich.text import Text

    con.print(Text(header_line(record)))
    model = record["model"]
    con.print(Text(f"runtime {model['runtime']} at {model['base_url']} · capabilities: "
                   f"{', '.join(model['capabilities']) or 'none'}", style="dim"))
    table = _table("case", "pass", "total_ms", "ttft_ms", "tok_in", "tok_out", "tools",
                   "tok/s", "turns", right=("total_ms", "ttft_ms", "tok_in", "tok_out",
                                            "tools", "tok/s", "turns"))
    for case in record["cases"]:
        label, style = STATUS_STYLE.get(case["status"], (case["status"], ""))
        table.add_row(_text(case_label(case)), _text(label, style), _num(case["total_ms"]),
                      _num(case["ttft_ms"]), _num(case["tok_in"]), _num(case["tok_out"]),
                      str(len(case.get("tool_calls") or [])), _num(case["tok_s"], 1),
                      turns_cell(case))
    con.print(table)
    for case in record["cases"]:
        exchange = exchange_line(case)
        if exchange is not None:
            con.print(Text(exchange, style="dim"))
        if case["status"] == "pass" and case.get("remark"):
            remark = " ".join(str(case["remark"]).split())[:300]
            con.print(Text(f"  {case_label(case)} (pass with a remark): {remark}",
                           style="dim"))
        elif case["status"] != "pass" and case.get("detail"):
            detail = " ".join(str(case["detail"]).split())[:300]
            con.print(Text(f"  {case_label(case)} ({case['status']}): {detail}",
                           style="dim"))
            if case["status"] == "fail" and isinstance(case.get("expected"), str):
                wanted = case["expected"].splitlines()[0][:200]
                con.print(Text(f"    expected: {wanted}", style="dim"))
    con.print()
    for line in summary_lines(record):
        con.print(Text(line))


def print_comparison(records: list[dict[str, Any]], con: Any) -> None:
    """Side-by-side summary of several runs of the same suite."""
    table = _table("model", "runtime", "pass", "ratio", "verdict", "avg tok/s", "p95 s",
                   "skipped", "errors",
                   right=("pass", "ratio", "avg tok/s", "p95 s", "skipped", "errors"))
    for rec in records:
        s = rec["summary"]
        ran = s["passed"] + s["failed"] + s["errors"]
        ratio = s.get("pass_ratio")
        p95 = s.get("p95_ms")
        table.add_row(_text(rec["model"]["id"]), _text(rec["model"]["runtime"]),
                      f"{s['passed']}/{ran}", "-" if ratio is None else f"{ratio:.0%}",
                      _text(s.get("verdict"), "green" if s.get("verdict") == "pass"
                            else "red"),
                      _num(s.get("avg_tok_s"), 1), "-" if p95 is None else f"{p95 / 1000:.1f}",
                      str(s["skipped"]), str(s["errors"]))
    con.print(table)


class CaseProgress:
    """Progress on stderr: a rich bar on a terminal, one plain line per case otherwise."""

    def __init__(self, total: int) -> None:
        self.con = console(stderr=True)
        self.total = total
        self.done = 0
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> Self:
        if self.con.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), console=self.con, transient=True)
            self.bar.start()
            self.task = self.bar.add_task("", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, model_id: str, case: Any, result: dict[str, Any] | None) -> None:
        """Called before (result None) and after each case."""
        if result is None:
            if self.bar is not None:
                from rich.markup import escape

                self.bar.update(self.task, description=escape(f"{model_id} · {case.id}"))
            return
        self.done += 1
        if self.bar is not None:
            self.bar.advance(self.task)
            return
        secs = result.get("total_ms")
        took = "" if secs is None else f" {secs / 1000:.1f} s"
        print(f"[{self.done}/{self.total}] {model_id} {case.id} {result['status']}{took}",
              file=sys.stderr, flush=True)


# -- discover and suites -------------------------------------------------------------------

def print_discovery(found: dict[str, Any], con: Any) -> None:
    """Runtimes table, models table and the capability-source footnote."""
    from rich.text import Text

    runtimes = _table("runtime", "base URL", "state", "latency", "models", "detail",
                      right=("latency", "models"))
    for rt in found["runtimes"]:
        latency = rt.get("latency_ms")
        runtimes.add_row(_text(rt["runtime"]), _text(rt["base_url"]),
                         _text(rt["state"], "green" if rt["state"] == "up" else "yellow"),
                         "-" if latency is None else f"{latency:.0f} ms",
                         str(len(rt.get("models") or [])), _text(rt.get("detail") or ""))
    con.print(runtimes)
    if not found["models"]:
        con.print(Text("no models found", style="dim"))
        return
    models = _table("model", "runtime", "capabilities", "context", right=("context",))
    for card in found["models"]:
        caps = ", ".join(c["name"] + (RUNTIME_MARK if c["source"] == "runtime" else "")
                         for c in card["capabilities"])
        ctx = card.get("context_length")
        models.add_row(_text(card["id"]), _text(card["runtime"]), _text(caps),
                       "-" if ctx is None else f"{ctx:,}")
    con.print(models)
    con.print(Text(f"{RUNTIME_MARK} reported by the runtime; unmarked capabilities are "
                   "inferred from the model id", style="dim"))


def print_suites(rows: list[dict[str, Any]], con: Any) -> None:
    """The ``localrate suites`` table."""
    table = _table("id", "version", "cases", "takes", "path", right=("cases",))
    for row in rows:
        cases = "-" if row["cases"] is None else str(row["cases"])
        path = row["path"] if not row.get("error") else f"{row['path']} (error: {row['error']})"
        table.add_row(_text(row["id"]), _text(row["version"]), cases,
                      _text(row.get("duration") or "-"), _text(path))
    con.print(table)
