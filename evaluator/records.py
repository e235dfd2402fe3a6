"""Run records and comparisons: their formats, and reading one that came from outside.

A run record (``RECORD_FORMAT``) is what ``localrate bench --json`` writes and the page
exports and imports; a comparison (``COMPARISON_FORMAT``) holds several under ``runs``.
``read_records(text, source)`` parses such a file (depth-bounded, :mod:`evaluator.safejson`)
and checks every field a shell or the evaluator later reads, so that what it returns can be
shown, stored and re-scored without a surprise; anything else is one :class:`RecordError`
line naming the file and the field::

    run.json: runs[1].cases[3].status: expected one of pass, fail, skip, error, got 'x'

Limits: ``MAX_RECORD_BYTES`` of UTF-8 text, ``MAX_DEPTH`` levels of nesting, integers within
±2**53 (what JavaScript holds exactly), finite numbers only, no lone surrogates in strings
(they cannot be written out as UTF-8).
"""

from __future__ import annotations

import math
import re
from typing import Any

from evaluator.casespec import MAX_SEED
from evaluator.errors import SuiteError
from evaluator.safejson import MAX_DEPTH, DeepJSONError, loads
from evaluator.settings import THINKING_LEVELS
from evaluator.suite import RESOLVED_SOURCE, case_from_json

RECORD_FORMAT = "localrate.run/1"
COMPARISON_FORMAT = "localrate.comparison/1"
MAX_RECORD_BYTES = 64 * 1024 * 1024  # 64 MiB: a long run with every transcript fits easily
STATUSES = ("pass", "fail", "skip", "error")
VERDICTS = ("pass", "fail", "n/a")
MAX_INT = 2**53
MAX_REPEAT = 100  # a record from elsewhere may hold more attempts than the CLI offers
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_PREVIEW = 40
_MESSAGE = 200
MISSING: Any = object()  # what a required key that is absent reads as


class RecordError(ValueError):
    """A run record or comparison is invalid; the message is one line naming the source and
    the field."""


def _got(value: Any) -> str:
    if value is MISSING:
        return "nothing (the field is missing)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = repr(value[:_PREVIEW])
        return text + ("…" if len(value) > _PREVIEW else "")
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("-" if value < 0 else "") + "Infinity"
    if isinstance(value, (int, float)):
        return repr(value) if abs(value) < 1e18 else "a huge number"
    return "an object" if isinstance(value, dict) else "a list"


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_size(source: str, size: int) -> None:
    """RecordError when ``size`` bytes is more than a record may have."""
    if size > MAX_RECORD_BYTES:
        raise RecordError(f"{source}: {size} bytes, more than the {MAX_RECORD_BYTES} bytes "
                          "a record may have")


class _Checker:
    """Field checks that raise one RecordError naming ``source`` and the path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, path: str, what: str) -> RecordError:
        return RecordError(f"{self.source}: {path}: {what}" if path else f"{self.source}: {what}")

    def wrong(self, path: str, kind: str, value: Any) -> RecordError:
        """``<path>: expected <kind>, got <value>`` (or ``missing`` when absent)."""
        if value is MISSING:
            return self.error(path, f"missing (expected {kind})")
        return self.error(path, f"expected {kind}, got {_got(value)}")

    def mapping(self, value: Any, path: str, what: str = "an object") -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.wrong(path, what, value)
        return value

    def items(self, value: Any, path: str, nonempty: bool = False) -> list[Any]:
        if not isinstance(value, list):
            raise self.wrong(path, "a list", value)
        if nonempty and not value:
            raise self.error(path, "expected a non-empty list, got an empty one")
        return value

    def text(self, value: Any, path: str, nullable: bool = False, nonempty: bool = False
            ) -> None:
        if value is None and nullable:
            return
        if not isinstance(value, str):
            raise self.wrong(path, "a string or null" if nullable else "a string", value)
        if nonempty and not value:
            raise self.error(path, "expected a non-empty string, got ''")

    def number(self, value: Any, path: str, nullable: bool = True, integer: bool = False,
               low: float | None = 0, high: float | None = None, above: bool = False) -> None:
        """A finite number (an integer with ``integer``) in ``[low, high]`` (``above``:
        more than ``low``), or null when ``nullable``."""
        if value is None and nullable:
            return
        kind = "an integer" if integer else "a number"
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok:
            raise self.wrong(path, kind + (" or null" if nullable else ""), value)
        if isinstance(value, float) and not math.isfinite(value) or abs(value) > MAX_INT:
            raise self.wrong(path, f"{kind} from -2**53 to 2**53", value)
        if low is not None and (value <= low if above else value < low):
            raise self.wrong(path, f"{kind} {'above' if above else 'at least'} {low:g}", value)
        if high is not None and value > high:
            raise self.wrong(path, f"{kind} at most {high:g}", value)

    def choice(self, value: Any, path: str, options: tuple[str, ...]) -> None:
        if not isinstance(value, str) or value not in options:
            raise self.wrong(path, f"one of {', '.join(options)}", value)

    def optional(self, obj: dict[str, Any], path: str, fields: dict[str, str]) -> None:
        """Check the keys of ``obj`` named in ``fields`` (when present) by kind:
        ``str?`` string or null, ``str`` string, ``num`` number >= 0 or null, ``int`` integer
        >= 0 or null, ``strs`` list of strings."""
        for key, kind in fields.items():
            if key not in obj:
                continue
            value, where = obj[key], _join(path, key)
            if kind in ("str", "str?"):
                self.text(value, where, nullable=kind == "str?")
            elif kind in ("num", "int"):
                self.number(value, where, integer=kind == "int")
            else:
                for i, item in enumerate(self.items(value, where)):
                    self.text(item, _join(where, i))


def _path(where: Any) -> str:
    """The field path of a ``(parent, key)`` chain; odd keys are quoted and cut short."""
    keys: list[str | int] = []
    while where is not None:
        where, key = where
        keys.append(key)
    path = ""
    for key in reversed(keys):
        plain = isinstance(key, int) or _PLAIN_KEY.fullmatch(key)
        path = _join(path, key) if plain else f"{path}[{_got(key)}]"
    return path


def _no_surrogates(check: _Checker, data: Any) -> None:
    """Every string (and key) must be valid Unicode. Walks the tree once, iteratively,
    making the path of a value only when it is wrong."""
    stack: list[tuple[Any, Any]] = [(data, None)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise check.error(_path(where), "a lone surrogate (not valid Unicode)")
        elif isinstance(value, list):
            stack.extend((item, (where, i)) for i, item in enumerate(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                if _SURROGATE.search(key):
                    raise check.error(_path(where), "a key holds a lone surrogate (not valid "
                                                    "Unicode)")
                stack.append((item, (where, key)))


CASE_FIELDS = {"ttft_ms": "num", "total_ms": "num", "tok_s": "num", "tok_in": "int",
               "tok_out": "int", "reasoning_tokens": "int", "tool_calls_dropped": "int",
               "tokens_source": "str?", "finish_reason": "str?", "output": "str",
               "reasoning": "str", "detail": "str", "expected": "str", "tags": "strs",
               "remark": "str?", "exchange_ttft_ms": "num", "exchange_tok_s": "num",
               "exchange_end": "str?", "attempt": "int", "prompt_per_second": "num"}
# one request of a conversational case (evaluator.result.score_turns)
TURN_FIELDS = {"kind": "str", "output": "str", "reasoning": "str", "finish_reason": "str?",
               "error": "str?", "ttft_ms": "num", "total_ms": "num", "tok_in": "int",
               "tok_out": "int", "tok_s": "num", "tokens_source": "str?"}
TRANSCRIPT_FIELDS = {"url": "str", "error": "str?", "ended_ms": "num"}
SUMMARY_FIELDS = {"passed": "int", "failed": "int", "skipped": "int", "errors": "int",
                  "total": "int"}


def _transcript(check: _Checker, value: Any, path: str) -> None:
    if value is None:
        return
    transcript = check.mapping(value, path, "an object or null")
    check.optional(transcript, path, TRANSCRIPT_FIELDS)
    if "status" in transcript:
        check.number(transcript["status"], _join(path, "status"), integer=True)
    if "events" in transcript:
        events = _join(path, "events")
        for i, item in enumerate(check.items(transcript["events"], events)):
            where = _join(events, i)
            if not isinstance(item, list) or len(item) != 2:
                raise check.error(where, f"expected [ms, data], got {_got(item)}")
            check.number(item[0], _join(where, 0), low=None)
            check.text(item[1], _join(where, 1))
    if transcript.get("redirect") is not None:
        where = _join(path, "redirect")
        redirect = check.mapping(transcript["redirect"], where, "an object or null")
        check.number(redirect.get("status"), _join(where, "status"), integer=True)
        check.text(redirect.get("location"), _join(where, "location"), nullable=True)


def _embedded_case(check: _Checker, value: Any, path: str) -> None:
    """The case definition a result carries, checked as the page's suites are."""
    try:
        case_from_json(value)
    except (TypeError, AttributeError, KeyError) as err:  # a shape the suite checks missed
        raise check.error(path, f"not a valid case definition ({type(err).__name__})") from None
    except SuiteError as err:
        text = str(err)
        case_id = value.get("id") if isinstance(value, dict) else None
        for prefix in (f"{RESOLVED_SOURCE}: case '{case_id}': ", f"{RESOLVED_SOURCE}: case #1: ",
                       f"{RESOLVED_SOURCE}: "):
            if text.startswith(prefix):
                text = text[len(prefix):]
                break
        field, sep, what = text.partition(": ")
        where = _join(path, field) if sep and " " not in field else path
        what = " ".join((what if where != path else text).split())
        cut = what[:_MESSAGE] + ("…" if len(what) > _MESSAGE else "")
        raise check.error(where, cut) from None


def _tool_calls(check: _Checker, value: Any, path: str) -> None:
    for i, call in enumerate(check.items(value, path)):
        call = check.mapping(call, _join(path, i))
        check.optional(call, _join(path, i), {"id": "str?", "name": "str?", "arguments": "str?"})


def _turns(check: _Checker, result: dict[str, Any], path: str) -> None:
    """A conversational result's ``turns`` and ``transcripts`` (one per request)."""
    if "turns" in result:
        where = _join(path, "turns")
        for i, turn in enumerate(check.items(result["turns"], where, nonempty=True)):
            at = _join(where, i)
            turn = check.mapping(turn, at)
            check.optional(turn, at, TURN_FIELDS)
            if "sent" in turn:
                for j, message in enumerate(check.items(turn["sent"], _join(at, "sent"))):
                    check.mapping(message, _join(_join(at, "sent"), j))
            if "tool_calls" in turn:
                _tool_calls(check, turn["tool_calls"], _join(at, "tool_calls"))
    if "transcripts" in result:
        where = _join(path, "transcripts")
        for i, transcript in enumerate(check.items(result["transcripts"], where,
                                                   nonempty=True)):
            _transcript(check, check.mapping(transcript, _join(where, i)), _join(where, i))


def _case(check: _Checker, value: Any, path: str) -> None:
    result = check.mapping(value, path)
    check.text(result.get("id", MISSING), _join(path, "id"), nonempty=True)
    check.choice(result.get("status", MISSING), _join(path, "status"), STATUSES)
    check.number(result.get("score"), _join(path, "score"), high=1)
    if "weight" in result:
        check.number(result["weight"], _join(path, "weight"), nullable=False, above=True)
    check.optional(result, path, CASE_FIELDS)
    if "tool_calls" in result:
        _tool_calls(check, result["tool_calls"], _join(path, "tool_calls"))
    _turns(check, result, path)
    if "match" in result:
        where = _join(path, "match")
        for i, span in enumerate(check.items(result["match"], where)):
            if not isinstance(span, list) or len(span) != 2:
                raise check.error(_join(where, i), f"expected [start, end], got {_got(span)}")
            check.number(span[0], _join(_join(where, i), 0), nullable=False, integer=True)
            check.number(span[1], _join(_join(where, i), 1), nullable=False, integer=True,
                      low=span[0])
    _transcript(check, result.get("transcript"), _join(path, "transcript"))
    if "case" in result:
        _embedded_case(check, result["case"], _join(path, "case"))


def _run(check: _Checker, value: Any, path: str) -> dict[str, Any]:
    record = check.mapping(value, path, "a run record (an object)")
    fmt = record.get("format", MISSING)
    if fmt != RECORD_FORMAT:
        _bad_format(check, fmt, _join(path, "format"), (RECORD_FORMAT,))
    suite = check.mapping(record.get("suite", MISSING), _join(path, "suite"))
    for key in ("id", "version", "sha256"):
        check.text(suite.get(key, MISSING), _join(_join(path, "suite"), key))
    where = _join(path, "model")
    model = check.mapping(record.get("model", MISSING), where)
    for key in ("id", "runtime", "base_url"):
        check.text(model.get(key, MISSING), _join(where, key))
    caps = _join(where, "capabilities")
    for i, name in enumerate(check.items(model.get("capabilities", MISSING), caps)):
        check.text(name, _join(caps, i))
    where = _join(path, "settings")
    settings = check.mapping(record.get("settings", MISSING), where)
    for key in ("temperature", "timeout_s"):
        if key in settings:
            check.number(settings[key], _join(where, key))
    if "max_tokens" in settings:
        check.number(settings["max_tokens"], _join(where, "max_tokens"), integer=True)
    if "seed" in settings:
        check.number(settings["seed"], _join(where, "seed"), nullable=False, integer=True)
        if settings["seed"] > MAX_SEED:
            raise check.wrong(_join(where, "seed"), f"an integer from 0 to {MAX_SEED}",
                              settings["seed"])
    _new_settings(check, settings, where)
    if "warmup" in record:
        _warmup(check, record["warmup"], _join(path, "warmup"))
    for key in ("engine", "machine"):  # facts the shell read; shown as text, never as HTML
        if key in record:
            facts = check.mapping(record[key], _join(path, key))
            check.optional(facts, _join(path, key), {"notes": "strs"})
    check.text(record.get("started_at", MISSING), _join(path, "started_at"))
    if "localrate_version" in record:  # the writer's version (evaluator.version)
        check.text(record["localrate_version"], _join(path, "localrate_version"))
    cases = _join(path, "cases")
    for i, result in enumerate(check.items(record.get("cases", MISSING), cases,
                                           nonempty=True)):
        _case(check, result, _join(cases, i))
    _summary(check, record.get("summary", MISSING), _join(path, "summary"))
    return record


def _new_settings(check: _Checker, settings: dict[str, Any], where: str) -> None:
    """The settings added with repeats (evaluator.settings), when present."""
    if "top_p" in settings:
        check.number(settings["top_p"], _join(where, "top_p"), high=1, above=True)
    if "system" in settings:
        check.text(settings["system"], _join(where, "system"))
    if "thinking" in settings:
        check.choice(settings["thinking"], _join(where, "thinking"), THINKING_LEVELS)
    if "repeat" in settings:
        check.number(settings["repeat"], _join(where, "repeat"), nullable=False,
                     integer=True, low=1, high=MAX_REPEAT)
    if "warmup" in settings and not isinstance(settings["warmup"], bool):
        raise check.wrong(_join(where, "warmup"), "true or false", settings["warmup"])
    if "from_engine" in settings:
        check.optional(settings, where, {"from_engine": "strs"})


def _warmup(check: _Checker, value: Any, path: str) -> None:
    warmup = check.mapping(value, path)
    check.optional(warmup, path, {"ttft_ms": "num", "total_ms": "num", "status": "str",
                                  "detail": "str"})


def _summary(check: _Checker, value: Any, path: str) -> None:
    summary = check.mapping(value, path)
    for key in SUMMARY_FIELDS:
        check.number(summary.get(key, MISSING), _join(path, key), nullable=False,
                     integer=True)
    check.number(summary.get("pass_threshold", MISSING), _join(path, "pass_threshold"),
                 nullable=False, high=1)
    check.number(summary.get("pass_ratio"), _join(path, "pass_ratio"), high=1)
    check.choice(summary.get("verdict", MISSING), _join(path, "verdict"), VERDICTS)
    check.optional(summary, path, {"avg_tok_s": "num", "p95_ms": "num",
                                   "reasoning_ratio": "num", "passed_with_remark": "int"})


def _bad_format(check: _Checker, fmt: Any, path: str, known: tuple[str, ...]) -> None:
    names = " or ".join(repr(k) for k in known)
    if fmt is MISSING:
        raise check.error(path, f"missing (expected {names})")
    if isinstance(fmt, str) and fmt.startswith(("localrate.run/", "localrate.comparison/")) \
            and fmt not in known:
        raise check.error(path, f"{_got(fmt)} is an unsupported version (this localrate "
                                f"reads {' and '.join(repr(k) for k in known)})")
    raise check.error(path, f"expected {names}, got {_got(fmt)}")


def check_records(data: Any, source: str, unicode_checked: bool = False) -> dict[str, Any]:
    """Validate parsed JSON as a run record or a comparison → ``{"format", "runs"}``.
    ``unicode_checked``: the caller knows no string can hold a lone surrogate."""
    check = _Checker(source)
    top = check.mapping(data, "", "a run record or a comparison (a JSON object)")
    if not unicode_checked:
        _no_surrogates(check, top)
    fmt = top.get("format", MISSING)
    if fmt == COMPARISON_FORMAT:
        runs = check.items(top.get("runs", MISSING), "runs", nonempty=True)
        return {"format": fmt, "runs": [_run(check, r, _join("runs", i))
                                        for i, r in enumerate(runs)]}
    if fmt != RECORD_FORMAT:
        _bad_format(check, fmt, "format", (RECORD_FORMAT, COMPARISON_FORMAT))
    return {"format": fmt, "runs": [_run(check, top, "")]}


def read_records(text: str, source: str) -> dict[str, Any]:
    """Parse and validate a run record or comparison file's text → ``{"format", "runs"}``
    (``format`` as the file says; ``runs`` the records, one for a run record).
    Raises :class:`RecordError` with one line naming ``source`` and the field."""
    if not isinstance(text, str):
        raise RecordError(f"{source}: expected text, got {_got(text)}")
    if len(text) > MAX_RECORD_BYTES:
        check_size(source, len(text))
    check_size(source, len(text.encode("utf-8", errors="surrogatepass")))
    try:
        data = loads(text)
    except DeepJSONError:
        raise RecordError(f"{source}: JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as err:
        line = getattr(err, "lineno", None)
        where = f" (stopped at line {line})" if line is not None else ""
        raise RecordError(f"{source}: not JSON{where}") from None
    # Lone surrogates come from "\\udXXX" escapes (or from the text itself); none: no walk.
    plain = not _ESCAPED_SURROGATE.search(text) and not _SURROGATE.search(text)
    return check_records(data, source, unicode_checked=plain)


def run_list(value: Any, most: int, what: str, error: type[ValueError]
             ) -> list[dict[str, Any]]:
    """A list of run records, a comparison ``{"runs": [...]}`` or one record → the list of
    records, checked shallowly (each an object with a ``cases`` list, at most ``most``);
    ``error(one line starting with what)`` otherwise. Reports and share links take any of
    the three."""
    if isinstance(value, dict) and isinstance(value.get("runs"), list):
        value = value["runs"]
    elif isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise error(f"{what}: expected one or more run records")
    if len(value) > most:
        raise error(f"{what}: {len(value)} runs, more than {most}")
    for i, record in enumerate(value):
        if not isinstance(record, dict) or not isinstance(record.get("cases"), list):
            raise error(f"{what}: runs[{i}]: expected a run record with cases")
    return value

