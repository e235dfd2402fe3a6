"""Draw the vision fixtures of the local-model-rating suite into images/.

Standard library only: a tiny RGB canvas, filled circles and squares, a 5x7 bitmap font,
and a PNG writer (zlib + struct). Deterministic: no randomness, no clock, fixed layout.

    python suites/local-model-rating/make_images.py

Writes one image per entry of SCENES (a fixed list of shapes, text and grids each) into
images/. The suite's vision cases state their answers (each scene's comment says it);
change them together.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

Color = tuple[int, int, int]

WHITE: Color = (255, 255, 255)
BLACK: Color = (20, 20, 20)
BLUE: Color = (30, 90, 200)
ORANGE: Color = (240, 140, 20)
GREEN: Color = (40, 160, 60)
RED: Color = (210, 40, 40)
YELLOW: Color = (240, 200, 0)
PURPLE: Color = (130, 50, 170)
GREY: Color = (150, 150, 150)

# 5x7 bitmap font: seven rows per glyph, '#' = ink, '.' = paper.
FONT: dict[str, str] = {
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.",
    "D": "###.. #..#. #...# #...# #...# #..#. ###..",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .####",
    "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.",
    "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ...#. .##..",
    "-": "..... ..... ..... ##### ..... ..... .....",
    " ": "..... ..... ..... ..... ..... ..... .....",
}


class Canvas:
    """An RGB image held as one bytearray, row by row."""

    def __init__(self, width: int, height: int, background: Color = WHITE) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray(bytes(background) * (width * height))

    def put(self, x: int, y: int, color: Color) -> None:
        """Set one pixel; points outside the canvas are ignored."""
        if 0 <= x < self.width and 0 <= y < self.height:
            i = (y * self.width + x) * 3
            self.pixels[i : i + 3] = bytes(color)

    def rect(self, x: int, y: int, w: int, h: int, color: Color) -> None:
        """Fill the axis-aligned rectangle with top-left corner (x, y)."""
        for yy in range(y, y + h):
            for xx in range(x, x + w):
                self.put(xx, yy, color)

    def circle(self, cx: int, cy: int, r: int, color: Color) -> None:
        """Fill the disc of radius r centred on (cx, cy), testing pixel centres."""
        for yy in range(cy - r, cy + r + 1):
            for xx in range(cx - r, cx + r + 1):
                dx, dy = xx - cx, yy - cy
                if dx * dx + dy * dy <= r * r:
                    self.put(xx, yy, color)

    def text(self, x: int, y: int, text: str, scale: int, color: Color) -> None:
        """Draw text with the 5x7 font, each font pixel a scale x scale block."""
        for n, char in enumerate(text):
            if char not in FONT:
                raise ValueError(f"make_images: no glyph for {char!r} in {text!r}")
            left = x + n * 6 * scale  # 5 columns of ink + 1 of spacing
            for row, bits in enumerate(FONT[char].split()):
                for col, bit in enumerate(bits):
                    if bit == "#":
                        self.rect(left + col * scale, y + row * scale, scale, scale, color)

    def triangle(self, cx: int, cy: int, r: int, color: Color) -> None:
        """Fill the upward triangle with apex (cx, cy - r) and base corners (cx -/+ r, cy + r)."""
        for yy in range(cy - r, cy + r + 1):
            half = (yy - (cy - r)) // 2  # the width grows one pixel per row on each side
            for xx in range(cx - half, cx + half + 1):
                self.put(xx, yy, color)

    def outline(self, x: int, y: int, w: int, h: int, t: int, color: Color) -> None:
        """Draw the border, t pixels thick, of the rectangle with top-left corner (x, y)."""
        self.rect(x, y, w, t, color)
        self.rect(x, y + h - t, w, t, color)
        self.rect(x, y, t, h, color)
        self.rect(x + w - t, y, t, h, color)

    def grid(self, x: int, y: int, cols: int, rows: int, cell: int,
             fills: dict[str, Color], labels: bool) -> None:
        """A cols x rows grid of square cells; ``fills`` maps cells named like B3 (column
        letter, row number from the top) to a colour. ``labels`` writes A, B, ... above the
        columns and 1, 2, ... left of the rows."""
        for name, color in fills.items():
            col, row = ord(name[0]) - ord("A"), int(name[1:]) - 1
            self.rect(x + col * cell, y + row * cell, cell, cell, color)
        for i in range(cols + 1):
            self.rect(x + i * cell - 1, y - 1, 3, rows * cell + 3, BLACK)
        for j in range(rows + 1):
            self.rect(x - 1, y + j * cell - 1, cols * cell + 3, 3, BLACK)
        if labels:
            for i in range(cols):
                self.text(x + i * cell + cell // 2 - 7, y - 26, chr(ord("A") + i), 3, BLACK)
            for j in range(rows):
                self.text(x - 26, y + j * cell + cell // 2 - 10, str(j + 1), 3, BLACK)

    def scanlines(self) -> bytes:
        """The PNG filter-0 stream: each row prefixed with a zero byte."""
        stride = self.width * 3
        return b"".join(
            b"\x00" + bytes(self.pixels[r * stride : (r + 1) * stride]) for r in range(self.height)
        )


def encode_png(canvas: Canvas) -> bytes:
    """Encode the canvas as an 8-bit RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", canvas.width, canvas.height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(canvas.scanlines(), 9))
        + chunk(b"IEND", b"")
    )


# One op: ("circle"|"square"|"triangle", cx, cy, r, colour) (a square is 2r wide, centred),
# ("text", x, y, text, scale, colour), ("outline", x, y, w, h, thickness, colour) or
# ("grid", x, y, cols, rows, cell, {cell name: colour}, labels). Scene: (width, height, ops).
Op = tuple[object, ...]
SCENES: dict[str, tuple[int, int, list[Op]]] = {
    # 7 squares (and 2 circles that are not counted)
    "count-squares.png": (320, 220, [
        *(("square", x, y, 15, GREEN) for x, y in [(40, 40), (130, 35), (230, 50), (85, 110),
                                                     (285, 130), (45, 180), (175, 185)]),
        ("circle", 190, 115, 18, ORANGE), ("circle", 120, 180, 18, ORANGE)]),
    # 3 red circles among 5 blue ones
    "count-red-circles.png": (320, 220, [
        *(("circle", x, y, 20, RED) for x, y in [(50, 45), (250, 110), (130, 180)]),
        *(("circle", x, y, 20, BLUE) for x, y in [(150, 50), (270, 40), (60, 130), (160, 115),
                                                    (255, 185)])]),
    # 5 triangles (and 2 squares that are not counted)
    "count-triangles.png": (320, 220, [
        *(("triangle", x, y, 22, PURPLE) for x, y in [(45, 45), (160, 40), (275, 60),
                                                        (100, 170), (230, 175)]),
        ("square", 95, 100, 18, BLUE), ("square", 215, 110, 18, BLUE)]),
    # 6 black dots in one row
    "count-dots.png": (320, 80, [("circle", 35 + 50 * i, 40, 12, BLACK) for i in range(6)]),
    # the token KWT-4637
    "read-code.png": (320, 100, [("text", 19, 29, "KWT-4637", 6, BLACK)]),
    # a sign: ROOM over 627
    "read-room.png": (240, 170, [("outline", 20, 15, 200, 140, 4, BLACK),
                                 ("text", 62, 37, "ROOM", 5, BLACK),
                                 ("text", 69, 97, "627", 6, BLACK)]),
    # TIGER in black, MAPLE in red
    "read-red-word.png": (320, 150, [("text", 87, 25, "TIGER", 5, BLACK),
                                     ("text", 87, 90, "MAPLE", 5, RED)]),
    # three lines: APPLE, RIVER, CANDLE (the second line is RIVER)
    "read-lines.png": (320, 200, [("text", 70, 25, "APPLE", 5, BLACK),
                                  ("text", 70, 82, "RIVER", 5, BLACK),
                                  ("text", 70, 139, "CANDLE", 5, BLACK)]),
    # a triangle at the top, a square at the bottom
    "spatial-above.png": (200, 260, [("triangle", 100, 60, 40, BLUE),
                                     ("square", 100, 195, 40, ORANGE)]),
    # circle, triangle, square from left to right (the triangle is in the middle)
    "spatial-middle.png": (360, 140, [("circle", 60, 70, 40, RED),
                                      ("triangle", 180, 70, 40, GREEN),
                                      ("square", 300, 70, 40, BLUE)]),
    # a circle inside a square outline, a triangle outside it
    "spatial-inside.png": (360, 200, [("outline", 20, 20, 180, 160, 5, BLACK),
                                      ("circle", 110, 100, 30, RED),
                                      ("triangle", 290, 100, 35, BLUE)]),
    # a square, a triangle next to it and a circle far away (the triangle is closer)
    "spatial-nearest.png": (400, 160, [("square", 60, 80, 35, ORANGE),
                                       ("triangle", 155, 80, 35, GREEN),
                                       ("circle", 345, 80, 35, PURPLE)]),
    # a red circle, a blue square, a green triangle (the square is blue)
    "colour-square.png": (360, 140, [("circle", 60, 70, 40, RED),
                                     ("square", 180, 70, 40, BLUE),
                                     ("triangle", 300, 70, 40, GREEN)]),
    # four blue circles and one orange one
    "colour-odd.png": (360, 100, [("circle", 45 + 67 * i, 50, 25, ORANGE if i == 3 else BLUE)
                                  for i in range(5)]),
    # a small blue, a medium green and a large red circle
    "colour-largest.png": (360, 180, [("circle", 45, 90, 18, BLUE),
                                      ("circle", 130, 90, 35, GREEN),
                                      ("circle", 265, 90, 70, RED)]),
    # the word SEVEN in green
    "colour-text.png": (320, 100, [("text", 73, 29, "SEVEN", 6, GREEN)]),
    # a labelled 3x3 grid, cell C2 filled
    "grid-filled-cell.png": (260, 260, [("grid", 50, 50, 3, 3, 60, {"C2": BLACK}, True)]),
    # an unlabelled 4x4 grid with 5 cells filled
    "grid-count.png": (250, 250, [("grid", 25, 25, 4, 4, 50,
                                   {n: BLUE for n in ["A1", "C1", "B2", "D3", "B4"]}, False)]),
    # a labelled 4x4 grid, B3 red and D1 blue
    "grid-blue-cell.png": (300, 300, [("grid", 50, 50, 4, 4, 60,
                                       {"B3": RED, "D1": BLUE}, True)]),
}


def draw_scene(width: int, height: int, ops: list[Op]) -> Canvas:
    """A canvas with every op of a scene drawn in order."""
    c = Canvas(width, height)
    for kind, *args in ops:
        if kind == "circle":
            c.circle(*args)  # type: ignore[arg-type]
        elif kind == "square":
            cx, cy, r, color = args
            c.rect(cx - r, cy - r, 2 * r, 2 * r, color)  # type: ignore[operator, arg-type]
        elif kind == "triangle":
            c.triangle(*args)  # type: ignore[arg-type]
        elif kind == "text":
            c.text(*args)  # type: ignore[arg-type]
        elif kind == "outline":
            c.outline(*args)  # type: ignore[arg-type]
        elif kind == "grid":
            c.grid(*args)  # type: ignore[arg-type]
        else:
            raise ValueError(f"make_images: unknown op {kind!r}")
    return c


def scene(name: str) -> Callable[[], Canvas]:
    """The drawing function of one scene of SCENES."""
    return lambda: draw_scene(*SCENES[name])


IMAGES: dict[str, Callable[[], Canvas]] = {
    **{name: scene(name) for name in SCENES},
}


def render_all() -> dict[str, Canvas]:
    """Every fixture, by file name."""
    return {name: draw() for name, draw in IMAGES.items()}


def main() -> None:
    """Write every fixture into images/ beside this script."""
    out = Path(__file__).resolve().parent / "images"
    out.mkdir(exist_ok=True)
    for name, canvas in render_all().items():
        (out / name).write_bytes(encode_png(canvas))
        print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
