"""Plain-text tables of the benchmark's measurements (no colours, copy-paste friendly)."""

from __future__ import annotations

from typing import Any

HEAD = ("figure", "median", "baseline", "ratio", "target", "")


def fmt(value: float | None, unit: str = "") -> str:
    """A number with sensible precision, and its unit."""
    if value is None:
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}" if abs(value) < 10 \
        else f"{value:.1f}"
    return f"{text} {unit}".strip()


def verdict(ok: bool | None) -> str:
    """OK / MISS / blank."""
    return "" if ok is None else "OK" if ok else "MISS"


def print_measurement(m: dict[str, Any]) -> None:
    """One measurement as a table, with its notes, skip reason or error."""
    print(f"\n{m['title']}")
    if m.get("error"):
        print(f"  ERROR: {m['error']}")
        return
    if m.get("skipped"):
        print(f"  skipped: {m['skipped']}")
        return
    lines = [HEAD]
    for r in m["rows"]:
        unit = r["unit"] if r["unit"] != "x" else ""
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.3f}"
        lines.append((r["metric"], fmt(r["value"], unit), fmt(r["baseline"], unit), ratio,
                      r["target"], verdict(r["ok"])))
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEAD))]
    for line in lines:
        cells = [line[0].ljust(widths[0])] + [c.rjust(w) for c, w in
                                                zip(line[1:4], widths[1:4])]
        cells += [line[4].ljust(widths[4]), line[5]]
        print("  " + "  ".join(cells).rstrip())
    for note in m.get("notes", []):
        print(f"  note: {note}")


def summary_line(results: list[dict[str, Any]]) -> str:
    """How many judged figures met their target, and which missed."""
    rows = [(m["name"], r) for m in results for r in m["rows"] if r["ok"] is not None]
    missed = [f"{name}: {r['metric']}" for name, r in rows if not r["ok"]]
    errors = [m["name"] for m in results if m.get("error")]
    text = f"\n{len(rows) - len(missed)} of {len(rows)} judged figures meet their target"
    if missed:
        text += "; missed: " + "; ".join(missed)
    if errors:
        text += "; crashed: " + ", ".join(errors)
    return text
