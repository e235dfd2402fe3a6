"""Draw the vision fixtures of the classic-rating fixture suite (local-model-rating 0.3.0)
into images/.

Standard library only: a tiny RGB canvas, filled circles and squares, a 5x7 bitmap font,
and a PNG writer (zlib + struct). Deterministic: no randomness, no clock, fixed layout.

    python tests/data/suites/classic-rating/make_images.py

Writes images/shapes-count.png, images/text-token.png and images/spatial.png. The suite's
vision cases state their answers (4 circles, the token PLUM-47, the square is on the left);
change them together.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

Color = tuple[int, int, int]

WHITE: Color = (255, 255, 255)
BLACK: Color = (20, 20, 20)
BLUE: Color = (30, 90, 200)
ORANGE: Color = (240, 140, 20)
GREEN: Color = (40, 160, 60)
RED: Color = (210, 40, 40)

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


def shapes_count() -> Canvas:
    """Four blue circles and two orange squares, well apart. Answer: 4 circles."""
    c = Canvas(320, 200)
    for cx, cy in [(50, 50), (170, 45), (270, 70), (110, 150)]:
        c.circle(cx, cy, 24, BLUE)
    c.rect(200, 120, 44, 44, ORANGE)
    c.rect(20, 105, 36, 36, ORANGE)
    return c


def text_token() -> Canvas:
    """The token PLUM-47 in large black letters."""
    token, scale = "PLUM-47", 6
    c = Canvas(320, 120)
    width = len(token) * 6 * scale - scale
    c.text((c.width - width) // 2, (c.height - 7 * scale) // 2, token, scale, BLACK)
    return c


def spatial() -> Canvas:
    """A green square on the left, a red circle on the right. Answer: the square."""
    c = Canvas(320, 160)
    c.rect(40, 40, 80, 80, GREEN)
    c.circle(240, 80, 42, RED)
    return c


IMAGES = {
    "shapes-count.png": shapes_count,
    "text-token.png": text_token,
    "spatial.png": spatial,
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
