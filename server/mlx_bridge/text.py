"""Split a model's raw text stream into answer, reasoning and tool-call text, and stop.

The bridge feeds every generated piece to an `OutputSplitter`. It knows the model's
markers (`<think>`/`</think>`, and e.g. `<tool_call>`/`</tool_call>` as mlx-lm's tool
parsers name them) and the request's stop strings, and returns events:

* `("content", text)`   answer text, safe to send now;
* `("reasoning", text)` text between the think markers;
* `("tool", text)`      the whole text of one tool call (between its markers).

Text that could be the start of a marker or a stop string is held back until the next
piece decides it. Stop strings apply to the answer only; once one is seen, `stopped` is
True and the text from the stop string on is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Event = tuple[str, str]


def _held_back(text: str, markers: list[str]) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of a marker."""
    best = 0
    for marker in markers:
        for size in range(min(len(marker) - 1, len(text)), best, -1):
            if text.endswith(marker[:size]):
                best = size
                break
    return best


@dataclass
class OutputSplitter:
    """A small state machine over the states normal, reasoning and tool."""

    think: tuple[str, str] | None = None
    tool: tuple[str, str] | None = None
    stop: list[str] = field(default_factory=list)
    state: str = "normal"
    stopped: bool = False
    _buffer: str = ""
    _tool_text: str = ""

    def _normal_markers(self) -> list[tuple[str, str]]:
        found = [("stop", s) for s in self.stop if s]
        if self.think:
            found.append(("reasoning", self.think[0]))
        if self.tool:
            found.append(("tool", self.tool[0]))
        return found

    def feed(self, text: str) -> list[Event]:
        """Take one generated piece; return the events it completes."""
        if self.stopped:
            return []
        self._buffer += text
        events: list[Event] = []
        while self._buffer and not self.stopped:
            if not self._step(events):
                break
        return [e for e in events if e[1] or e[0] == "tool"]

    def _step(self, events: list[Event]) -> bool:
        """Consume what can be decided now; False when the rest must wait for more text."""
        buf = self._buffer
        if self.state == "normal":
            hits = [(buf.find(m), kind, m) for kind, m in self._normal_markers() if m in buf]
            if hits:
                at, kind, marker = min(hits)
                events.append(("content", buf[:at]))
                self._buffer = buf[at + len(marker) :]
                if kind == "stop":
                    self.stopped, self._buffer = True, ""
                else:
                    self.state = kind
                return True
            keep = _held_back(buf, [m for _, m in self._normal_markers()])
            events.append(("content", buf[: len(buf) - keep]))
            self._buffer = buf[len(buf) - keep :]
            return False
        markers = self.think if self.state == "reasoning" else self.tool
        end = markers[1] if markers else ""
        if end and end in buf:
            at = buf.find(end)
            self._emit_inside(events, buf[:at], closed=True)
            self._buffer, self.state = buf[at + len(end) :], "normal"
            return True
        keep = _held_back(buf, [end]) if end else 0
        self._emit_inside(events, buf[: len(buf) - keep], closed=False)
        self._buffer = buf[len(buf) - keep :]
        return False

    def _emit_inside(self, events: list[Event], text: str, closed: bool) -> None:
        if self.state == "reasoning":
            events.append(("reasoning", text))
            return
        self._tool_text += text
        if closed:
            events.append(("tool", self._tool_text))
            self._tool_text = ""

    def finish(self) -> list[Event]:
        """The end of generation: flush held-back text and an unclosed tool call."""
        if self.stopped:
            return []
        rest, self._buffer = self._buffer, ""
        if self.state == "normal":
            return [("content", rest)] if rest else []
        if self.state == "reasoning":
            return [("reasoning", rest)] if rest else []
        text, self._tool_text = self._tool_text + rest, ""
        return [("tool", text)] if text.strip() else []
