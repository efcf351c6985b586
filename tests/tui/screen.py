"""Read what a running app shows, as plain lines of text (from its SVG screenshot)."""

from __future__ import annotations

import html
import re

from textual.app import App
from textual.widget import Widget

_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" clip-path="url\(#[^)]*-line-(\d+)\)">([^<]*)</text>')
CELL_WIDTH = 12.2  # pixels per column in Textual's SVG export


def screen_lines(app: App) -> list[str]:
    """The terminal's lines as the user would see them (styles dropped)."""
    width, height = app.size
    rows = [[" "] * width for _ in range(height)]
    for x, line, text in _TEXT.findall(app.export_screenshot()):
        row = int(line)
        col = round(float(x) / CELL_WIDTH)
        for i, ch in enumerate(html.unescape(text).replace("\xa0", " ")):
            if row < height and col + i < width:
                rows[row][col + i] = ch
    return ["".join(r).rstrip() for r in rows]


def screen_text(app: App) -> str:
    """All lines joined with newlines."""
    return "\n".join(screen_lines(app))


_FRAME = re.compile("[\u2500-\u259f]")  # box drawing and block elements: borders, scrollbars


def on_screen(app: App, needle: str, within: Widget | None = None) -> bool:
    """Is `needle` visible (inside `within`'s region if given), perhaps wrapped across lines?"""
    lines = screen_lines(app)
    if within is not None:
        region = within.region
        lines = [line[region.x : region.right] for line in lines[region.y : region.bottom]]
    if any(needle in line for line in lines):
        return True
    squashed = " ".join(" ".join(_FRAME.sub(" ", line).split()) for line in lines)
    return " ".join(needle.split()) in squashed
