"""The HTML and Markdown reports (evaluator.report_html, report_md, report_data): XSS
payloads through every string field of a record never become an element or attribute,
the HTML fetches nothing, Markdown table cells stay in their cells, and the figures are
the stats modules' (Wilson interval, paired verdict)."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from evaluator import page_api
from evaluator.report_data import ReportError, report_data
from evaluator.report_html import report_html
from evaluator.report_md import md_text, report_md

SHA = "ab" * 32
TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "table", "thead",
        "tbody", "tr", "th", "td", "code", "span", "svg", "rect", "line", "text", "p", "ul",
        "li"}
ATTRS = {"lang", "charset", "http-equiv", "content", "name", "class", "title", "width",
         "height", "viewbox", "role", "aria-label", "x", "y", "x1", "x2", "y1", "y2",
         "fill", "stroke", "stroke-width"}


def result(case_id: str, status: str, tags: list[str], **extra: Any) -> dict[str, Any]:
    return {"id": case_id, "status": status, "score": 1.0 if status == "pass" else 0.0,
            "weight": 1, "tags": tags, "ttft_ms": 120.0, "total_ms": 900.0, "tok_in": 40,
            "tok_out": 30, "tok_s": 25.0, "tokens_source": "usage", "output": "out",
            "reasoning": "", "detail": "expected X, got Y", "tool_calls": [], **extra}


def record(model: str, statuses: list[str]) -> dict[str, Any]:
    cases = [result(f"case-{i}", s, ["math" if i % 2 else "json"])
             for i, s in enumerate(statuses)]
    return {"format": "localrate.run/1", "localrate_version": "0.1.0",
            "suite": {"id": "suite-x", "version": "1.2.0", "sha256": SHA},
            "model": {"id": model, "runtime": "ollama", "base_url": "http://127.0.0.1:11434",
                      "capabilities": ["streaming"]},
            "started_at": "2026-11-30T12:00:00Z",
            "settings": {"seed": 99, "temperature": 0, "max_tokens": 256,
                         "system": "be brief", "from_engine": ["top_p"]},
            "cases": cases,
            "summary": {"passed": statuses.count("pass"), "failed": statuses.count("fail"),
                        "skipped": statuses.count("skip"), "errors": statuses.count("error"),
                        "total": len(statuses), "pass_ratio": 0.5, "pass_threshold": 0.6,
                        "verdict": "fail", "avg_tok_s": 25.0, "p95_ms": 900.0}}


def payload(n: int) -> str:
    return (f"P{n}Q\"'><script>alert({n})</script><img src=x onerror=alert({n})>"
            f"</style></title><svg onload=alert({n})>&amp;javascript:alert(1)"
            "[x](http://evil.example/a.png)|`|*_#\n\u2028")


def hostile(base: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Every string in the record (and a settings key) replaced by a numbered payload."""
    marks: list[str] = []

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            marks.append(payload(len(marks)))
            return marks[-1]
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value

    out = walk(copy.deepcopy(base))
    marks.append(payload(len(marks)))
    out["settings"][marks[-1]] = "v"
    return out, marks


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Collect:
    parser = Collect()
    parser.feed(page)
    parser.close()
    return parser


def test_xss_payloads_in_every_string_field_stay_text() -> None:
    runs = []
    for name, statuses in (("a", ["pass", "fail", "error", "skip"]),
                           ("b", ["pass", "pass", "fail", "fail"])):
        bad, _ = hostile(record(name, statuses))
        runs.append(bad)
    page = report_html(runs)
    parsed = parse(page)
    for tag, attrs in parsed.tags:
        assert tag in TAGS, tag
        for name, value in attrs:
            assert name in ATTRS, (tag, name)
            assert not re.match(r"\s*(javascript|data|https?):", value or "", re.IGNORECASE)
    assert not any(tag in ("script", "img", "iframe", "a", "link", "object", "embed", "form")
                   for tag, _ in parsed.tags)
    text = "".join(parsed.text)
    for shown in ("<script>alert(", "<img src=x onerror="):  # payloads arrive as text
        assert shown in text
    assert "<script" not in page and "onerror=" not in page.replace("onerror=alert", "")
    assert re.search(r"(src|href|url\()\s*=?\s*[\"']?https?:", page, re.IGNORECASE) is None


def test_the_plain_report_has_no_url_at_all() -> None:
    page = report_html([record("a", ["pass", "fail"]), record("b", ["pass", "pass"])])
    assert "://" not in page and "src=" not in page and "href=" not in page
    assert "url(" not in page and "@import" not in page
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert meta and meta[1].startswith("default-src 'none'")
    for needle in (SHA, "Seed</td><td>99, 99", "localrate version</td><td>0.1.0, 0.1.0",
                   "suite-x 1.2.0", "<svg", "Paired comparison", "Per category", "Speed",
                   "be brief"):
        assert needle in page, needle


def test_the_figures_are_the_stats_modules() -> None:
    a = record("a", ["pass"] * 8 + ["fail"] * 2)
    b = record("b", ["fail"] * 6 + ["pass"] * 2 + ["fail"] * 2)
    data = report_data([a, b])
    overall = data["runs"][0]["rates"]["overall"]
    # Wilson 95% for 8 of 10: (0.4902, 0.9433) in published tables (Newcombe 1998, table I)
    assert (overall["rate"], overall["low"], overall["high"]) == (0.8, 0.4902, 0.9433)
    pair = data["paired"][0]
    # a wins 6 cases, b wins 0: exact McNemar p = 2 * 0.5**6
    assert (pair["verdict"], pair["a_wins"], pair["b_wins"]) == ("A better", 6, 0)
    assert pair["p_value"] == pytest.approx(2 * 0.5**6)
    assert "80.0% [49.0–94.3%] · 8/10" in report_md([a, b])


def test_markdown_carries_hash_seed_and_version() -> None:
    a, b = record("a", ["pass"]), record("b", ["fail"])
    b["settings"]["seed"], b["localrate_version"] = 7, "0.2.0"
    head = report_md([a, b]).split("## ", 1)[0]
    assert f"- Suite sha256: {SHA}\n" in head
    assert "- Seed: 99, 7\n" in head
    assert "- localrate version: 0\\.1\\.0, 0\\.2\\.0\n" in head


def md_cells(row: str) -> list[str]:
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


def test_markdown_escapes_and_keeps_cells() -> None:
    runs = [hostile(record("a", ["pass", "fail"]))[0], record("b", ["pass", "pass"])]
    text = report_md(runs)
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("| ---"):
            assert len(md_cells(line)) in (2, 3, 5), line
    assert re.search(r"(?<!\\)<", text) is None, "an unescaped < could open an HTML tag"
    assert re.search(r"(?<!\\)\]\(", text) is None, "an unescaped ]( could open a link"
    assert re.search(r"(?<!\\)\[x", text) is None
    assert "javascript\\:alert" in text and "http\\://evil" in text


@pytest.mark.parametrize(("raw", "escaped"), [
    ("a|b", "a\\|b"),
    ("x\ny\r\nz", "x y z"),
    ("[l](javascript:x)", "\\[l\\]\\(javascript\\:x\\)"),
    ("<img src=x>", "\\<img src=x\\>"),
    ("**b** _i_ `c` # h ~s~", "\\*\\*b\\*\\* \\_i\\_ \\`c\\` \\# h \\~s\\~"),
    ("www.evil.example & a@b.c $x$", "www\\.evil\\.example \\& a\\@b\\.c \\$x\\$"),
    ("back\\slash", "back\\\\slash"),
])
def test_md_text(raw: str, escaped: str) -> None:
    assert md_text(raw) == escaped


@pytest.mark.parametrize("bad", [None, [], {}, [1], [{"cases": 3}], "x"])
def test_bad_input_is_one_line(bad: Any) -> None:
    with pytest.raises(ReportError) as err:
        report_html(bad)
    assert str(err.value).startswith("report: ") and "\n" not in str(err.value)
    reply = json.loads(page_api.call(json.dumps({"op": "report_md", "args": {"records": bad}})))
    assert reply == {"ok": False, "error": f"ReportError: {err.value}"}


def test_page_ops_give_the_same_text() -> None:
    runs = [record("a", ["pass", "fail"])]
    for op, render in (("report_html", report_html), ("report_md", report_md)):
        reply = json.loads(page_api.call(json.dumps({"op": op, "args": {"records": runs}})))
        assert reply == {"ok": True, "value": render(runs)}
