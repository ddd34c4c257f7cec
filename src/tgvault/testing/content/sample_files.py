"""Small real files made in code for the sample channel: JPEG pictures a browser shows, a one-page PDF.

The pictures are baseline JPEGs in which every 8 x 8 block has one colour: only the DC coefficient of each
block is coded, with two tiny Huffman tables, so a 640 x 400 picture is made in milliseconds. That keeps
an image library (Pillow, a C extension) out of tgvault's dependencies for the sake of a demo; decoders
read these files like any other JPEG (checked in Chromium and with ImageMagick by the tests).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence

__all__ = ["Colour", "aurora_picture", "dome_picture", "jpeg_bytes", "pdf_bytes", "sunrise_picture"]

Colour = tuple[float, float, float]
"""Red, green and blue, each 0-255."""

BLOCK = 8
_DC_CATEGORIES = 12  # a DC difference of -2047..2047 needs at most 11 bits: categories 0..11
_QUANT = 8  # every coefficient divided by 8, so a block's DC is its mean level minus 128, exactly


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


class _Bits:
    """Entropy-coded data: bits packed MSB first, a 0x00 stuffed after every 0xFF byte."""

    def __init__(self) -> None:
        self.out = bytearray()
        self._value = 0
        self._count = 0

    def write(self, value: int, count: int) -> None:
        self._value = (self._value << count) | (value & ((1 << count) - 1))
        self._count += count
        while self._count >= 8:
            self._count -= 8
            byte = (self._value >> self._count) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0x00)
        self._value &= (1 << self._count) - 1

    def flush(self) -> bytes:
        if self._count:
            self.write((1 << (8 - self._count)) - 1, 8 - self._count)  # pad with 1 bits
        return bytes(self.out)


def _ycbcr(colour: Colour) -> tuple[int, int, int]:
    r, g, b = (min(255.0, max(0.0, channel)) for channel in colour)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return round(y) - 128, round(cb) - 128, round(cr) - 128


def jpeg_bytes(width: int, height: int, colour_at: Callable[[float, float], Colour]) -> bytes:
    """A baseline JPEG of ``width`` x ``height`` pixels (multiples of 8); each 8 x 8 block takes the
    colour ``colour_at(x, y)`` gives for its centre, ``x`` and ``y`` running from 0 to 1."""
    if width % BLOCK or height % BLOCK or not width or not height:
        raise ValueError("width and height must be positive multiples of 8")
    quant = bytes([0]) + bytes([_QUANT] * 64)
    frame = struct.pack(">BHHB", 8, height, width, 3) + b"".join(bytes([i, 0x11, 0]) for i in (1, 2, 3))
    # DC table: the twelve categories, four bits each (0000 .. 1011). AC table: end-of-block alone, "0".
    dc_table = bytes([0x00]) + bytes([0, 0, 0, _DC_CATEGORIES] + [0] * 12) + bytes(range(_DC_CATEGORIES))
    ac_table = bytes([0x10]) + bytes([1] + [0] * 15) + bytes([0x00])
    scan_header = bytes([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0])
    bits = _Bits()
    previous = [0, 0, 0]
    for row in range(height // BLOCK):
        for column in range(width // BLOCK):
            colour = colour_at((column + 0.5) * BLOCK / width, (row + 0.5) * BLOCK / height)
            for component, level in enumerate(_ycbcr(colour)):
                difference = level - previous[component]
                previous[component] = level
                category = abs(difference).bit_length()
                bits.write(category, 4)
                if category:
                    bits.write(difference if difference > 0 else difference + (1 << category) - 1, category)
                bits.write(0, 1)  # end of block: every AC coefficient is zero
    jfif = b"JFIF\x00" + struct.pack(">BBBHHBB", 1, 1, 0, 72, 72, 0, 0)
    return b"".join(
        (
            b"\xff\xd8",
            _segment(0xE0, jfif),
            _segment(0xDB, quant),
            _segment(0xC0, frame),
            _segment(0xC4, dc_table + ac_table),
            _segment(0xDA, scan_header),
            bits.flush(),
            b"\xff\xd9",
        )
    )


def _mix(a: Colour, b: Colour, share: float) -> Colour:
    share = min(1.0, max(0.0, share))
    return (a[0] + (b[0] - a[0]) * share, a[1] + (b[1] - a[1]) * share, a[2] + (b[2] - a[2]) * share)


def _star(x: float, y: float, seed: int) -> bool:
    """A sparse, fixed scatter of stars (about one block in 60)."""
    key = (int(x * 1000) * 7919 + int(y * 1000) * 104_729 + seed * 31) % 997
    return key < 16


def aurora_picture(seed: int, band: Colour = (80, 230, 140), width: int = 640, height: int = 400) -> bytes:
    """A night sky with a curtain of aurora over dark hills (``seed`` moves the curtain and the hills)."""
    phase = seed * 1.7

    def colour_at(x: float, y: float) -> Colour:
        ridge = 0.78 + 0.06 * math.sin(x * 7 + phase) + 0.03 * math.sin(x * 19 + phase * 2)
        if y > ridge:
            return _mix((18, 24, 30), (6, 8, 12), (y - ridge) * 4)
        sky = _mix((8, 12, 40), (20, 40, 80), y)
        curve = 0.35 + 0.12 * math.sin(x * 5 + phase) + 0.05 * math.sin(x * 13 - phase)
        glow = math.exp(-(((y - curve) / 0.09) ** 2)) * (0.6 + 0.4 * math.sin(x * 23 + phase) ** 2)
        if y < curve:  # the rays rise above the curtain and fade
            glow = max(glow, 0.45 * math.exp(-(curve - y) / 0.18) * math.sin(x * 41 + phase) ** 2)
        colour = _mix(sky, band, glow)
        return (235, 235, 255) if glow < 0.2 and _star(x, y, seed) else colour

    return jpeg_bytes(width, height, colour_at)


def dome_picture(width: int = 640, height: int = 400) -> bytes:
    """An observatory dome against a dusk sky."""

    def colour_at(x: float, y: float) -> Colour:
        ground = 0.82
        if y > ground:
            return (28, 30, 34)
        dx, dy = (x - 0.5) * width / height, ground - y
        if dx * dx + dy * dy < 0.3**2 and dy > 0:
            shade = 0.6 + 0.4 * (1 - abs(dx) / 0.3)
            slit = abs(dx + 0.05) < 0.025 and dy > 0.08
            return (20, 22, 30) if slit else (200 * shade, 205 * shade, 215 * shade)
        if abs(dx) < 0.32 and 0 < dy < 0.12:
            return (150, 150, 160)  # the drum under the dome
        return _mix((250, 150, 90), (40, 60, 130), (ground - y) / ground)

    return jpeg_bytes(width, height, colour_at)


def sunrise_picture(width: int = 640, height: int = 400) -> bytes:
    """A winter sunrise over the sea: the sun's disc, its path on the water."""

    def colour_at(x: float, y: float) -> Colour:
        horizon = 0.6
        dx, dy = (x - 0.62) * width / height, y - (horizon - 0.08)
        if y < horizon:
            if dx * dx + dy * dy < 0.07**2:
                return (255, 236, 170)
            return _mix((255, 170, 100), (70, 90, 160), (horizon - y) / horizon * 1.3)
        path = math.exp(-((dx / 0.08) ** 2)) * (0.5 + 0.5 * math.sin(y * 90) ** 2)
        return _mix(_mix((30, 60, 100), (10, 25, 50), (y - horizon) * 2.5), (255, 200, 130), path)

    return jpeg_bytes(width, height, colour_at)


def _pdf_text(line: str) -> str:
    safe = line.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(title: str, lines: Sequence[str]) -> bytes:
    """A one-page PDF (A4) showing ``title`` and ``lines`` in Helvetica (Latin-1 text)."""
    commands = [f"BT /F1 20 Tf 56 780 Td ({_pdf_text(title)}) Tj ET"]
    for index, line in enumerate(lines):
        commands.append(f"BT /F1 12 Tf 56 {740 - 18 * index} Td ({_pdf_text(line)}) Tj ET")
    stream = "\n".join(commands).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
