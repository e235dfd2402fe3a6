"""Where everything of the comparison chart goes: pass rate against decode tok/s.

The page measures each label's text (width, height, ascent, in CSS pixels) and asks
:func:`scatter_layout` for the drawing, at the width the chart really has, so a 390 px
phone gets text at its real size instead of a shrunken picture. Returned in pixels:
the plot box, the ticks, each point with its interval bar, the Pareto frontier as a
polyline, and each label's place.

Labels never overlap each other, a point, an interval bar, the frontier or the axes' text. Each label
takes the first free place around its point, trying rings of growing distance (right,
left, above, below, then the corners); a label placed away from its point gets a leader
line. A label that finds no free place inside the chart goes to a key under the x axis
(one per row, with its point's colour), which makes the chart taller: a crowded chart
stays readable instead of printing labels on top of each other.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from evaluator.stats_math import StatsError

RADIUS = 5.0  # a point's radius
GAP = 3.0  # free space kept around a label
RINGS = (8.0, 18.0, 30.0, 44.0, 60.0, 80.0)  # distances from a point tried for its label
KEY_ROW = 18.0  # height of one row of the key under the chart


def _nice_max(value: float) -> float:
    if value <= 0:
        return 10.0
    step = 10.0 ** math.floor(math.log10(value))
    return float(math.ceil(value * 1.1 / step) * step)


def _box_overlaps(a: tuple[float, float, float, float],
                  b: tuple[float, float, float, float]) -> bool:
    """Boxes are (left, top, right, bottom)."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _candidates(cx: float, cy: float, w: float, h: float, d: float
                ) -> list[tuple[float, float]]:
    """Top-left corners of a w x h box at distance d from (cx, cy): right, left, above,
    below, upper right, lower right, upper left, lower left."""
    return [(cx + d, cy - h / 2), (cx - d - w, cy - h / 2), (cx - w / 2, cy - d - h),
            (cx - w / 2, cy + d), (cx + d * 0.7, cy - d * 0.7 - h), (cx + d * 0.7, cy + d * 0.7),
            (cx - d * 0.7 - w, cy - d * 0.7 - h), (cx - d * 0.7 - w, cy + d * 0.7)]


def _size(value: Any, where: str) -> tuple[float, float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 3 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and v >= 0 for v in value):
        raise StatsError(f"{where}: expected [width, height, ascent] in pixels")
    return float(value[0]), float(value[1]), float(value[2])


def _point(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StatsError(f"{where}: expected an object")
    for key in ("x", "y", "low", "high"):
        v = value.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                              or not math.isfinite(v)):
            raise StatsError(f"{where}.{key}: expected a number or null, got {v!r}")
    return value


def scatter_layout(points: Sequence[Any], sizes: Sequence[Any], width: float,
                   frontier: Sequence[int] = (), tick_size: Any = (30, 14, 11)
                   ) -> dict[str, Any]:
    """Lay out the chart (module docstring). ``points``: ``{"x" (decode tok/s or None:
    drawn at 0), "y" (pass rate 0..1, or None: left out), "low", "high"}``; ``sizes``:
    each point's label ``[width, height, ascent]``; ``width``: the chart's width in
    pixels (at least 240 is used); ``frontier``: indexes of the frontier's points in
    order; ``tick_size``: the measured size of the widest tick text.

    Returns ``{"width", "height", "plot": [left, top, right, bottom], "x_ticks",
    "y_ticks" ([{"at", "text"}]; an x tick adds its text's ``anchor``: the last one ends
    at the plot's right edge, so a wide number is not cut off), "points": [{"cx", "cy", "bar": [y_low, y_high] or None,
    "label": {"x", "y" (text start and baseline), "box": [l, t, r, b], "leader": [x1, y1,
    x2, y2] or None, "in_key": bool}} or None], "frontier": [[x, y], ...], "x_title",
    "y_title"}``.
    """
    if len(points) != len(sizes):
        raise StatsError(f"sizes: expected {len(points)} label sizes, got {len(sizes)}")
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not math.isfinite(width):
        raise StatsError(f"width: expected a number of pixels, got {width!r}")
    pts = [_point(p, f"points[{i}]") for i, p in enumerate(points)]
    boxes = [_size(s, f"sizes[{i}]") for i, s in enumerate(sizes)]
    tick_w, tick_h, _ = _size(tick_size, "tick_size")
    w = max(240.0, float(width))
    height = round(min(340.0, max(220.0, w * 0.62)))
    plot = [round(tick_w + 28), 14.0, w - 12, height - tick_h - 30.0]
    left, top, right, bottom = plot
    max_x = _nice_max(max([float(p["x"]) for p in pts
                           if p.get("x") is not None and p.get("y") is not None] or [0.0]))

    def sx(x: float) -> float:
        return round(left + x / max_x * (right - left), 1)

    def sy(y: float) -> float:
        return round(top + (1 - y) * (bottom - top), 1)

    digits = 1 if max_x < 8 else 0
    x_ticks = [{"at": sx(max_x * i / 4), "text": f"{max_x * i / 4:.{digits}f}",
                "anchor": "end" if i == 4 else "middle"} for i in range(5)]
    y_ticks = [{"at": sy(y), "text": f"{round(y * 100)}%"} for y in (0, 0.25, 0.5, 0.75, 1)]
    laid: list[dict[str, Any] | None] = []
    obstacles: list[tuple[float, float, float, float]] = []
    for p in pts:
        if p.get("y") is None:
            laid.append(None)
            continue
        cx, cy = sx(float(p.get("x") or 0.0)), sy(float(p["y"]))
        bar = None
        if p.get("low") is not None and p.get("high") is not None:
            bar = [sy(float(p["low"])), sy(float(p["high"]))]
            obstacles.append((cx - 4, bar[1], cx + 4, bar[0]))
        obstacles.append((cx - RADIUS - 1, cy - RADIUS - 1, cx + RADIUS + 1, cy + RADIUS + 1))
        laid.append({"cx": cx, "cy": cy, "bar": bar})
    line = [[laid[i]["cx"], laid[i]["cy"]] for i in frontier  # type: ignore[index]
            if isinstance(i, int) and 0 <= i < len(laid) and laid[i] is not None]
    obstacles.extend(_along(line))
    bounds = (left + 2, 0.0, w, bottom - 2)  # labels stay clear of the ticks' text
    keyed = 0
    for i, spot in enumerate(laid):
        if spot is None:
            continue
        bw, bh, ascent = boxes[i]
        spot["label"] = _place(spot["cx"], spot["cy"], bw, bh, ascent, bounds, obstacles)
        if spot["label"] is None:
            y0 = height + keyed * KEY_ROW
            keyed += 1
            tx = left + 14
            spot["label"] = {"x": tx, "y": round(y0 + ascent + 2, 1),
                             "box": [tx, y0 + 2, round(tx + bw, 1), y0 + 2 + bh],
                             "leader": None, "in_key": True}
        else:
            box = spot["label"]["box"]
            obstacles.append((box[0] - GAP, box[1] - GAP, box[2] + GAP, box[3] + GAP))
    return {"width": w, "height": height + keyed * KEY_ROW + (6 if keyed else 0),
            "plot": plot, "x_ticks": x_ticks, "y_ticks": y_ticks, "points": laid,
            "frontier": line, "x_title": "decode speed (median tok/s)",
            "y_title": "pass rate (95% interval)", "key_top": height if keyed else None}


def _along(line: list[list[float]]) -> list[tuple[float, float, float, float]]:
    """Small boxes covering a polyline (every 4 px), so no label sits on the frontier."""
    boxes = []
    for (x1, y1), (x2, y2) in itertools.pairwise(line):
        steps = max(1, math.ceil(math.hypot(x2 - x1, y2 - y1) / 4))
        for k in range(steps + 1):
            x, y = x1 + (x2 - x1) * k / steps, y1 + (y2 - y1) * k / steps
            boxes.append((x - 2, y - 2, x + 2, y + 2))
    return boxes


def _place(cx: float, cy: float, w: float, h: float, ascent: float,
           bounds: tuple[float, float, float, float],
           obstacles: list[tuple[float, float, float, float]]) -> dict[str, Any] | None:
    """The first free place for a w x h label around (cx, cy), or None."""
    for ring, d in enumerate(RINGS):
        for x, y in _candidates(cx, cy, w, h, d + RADIUS):
            box = (x, y, x + w, y + h)
            if box[0] < bounds[0] or box[1] < bounds[1] or box[2] > bounds[2] \
                    or box[3] > bounds[3]:
                continue
            if any(_box_overlaps(box, o) for o in obstacles):
                continue
            leader = None
            if ring > 0:  # from the point's edge to the nearest point of the box
                nx, ny = min(max(cx, box[0]), box[2]), min(max(cy, box[1]), box[3])
                dist = math.hypot(nx - cx, ny - cy) or 1.0
                leader = [round(cx + (nx - cx) * RADIUS / dist, 1),
                          round(cy + (ny - cy) * RADIUS / dist, 1), round(nx, 1), round(ny, 1)]
            return {"x": round(x, 1), "y": round(y + ascent, 1),
                    "box": [round(v, 1) for v in box], "leader": leader, "in_key": False}
    return None
