"""Untrusted text (articles, titles, questions) as Rich `Text` that renders literally.

Rich markup is never parsed here: `Text(...)` takes its string as it is, so `[bold]` or
`[link=...]` show as typed. Control characters are the other danger: an ESC reaching the
terminal would style it (or worse), and `Text.from_ansi` *interprets* escapes. Each control
character is replaced by exactly one visible character, so offsets into the original string
stay valid for highlighting by span.
"""

from __future__ import annotations

from rich.text import Text

# C0 controls (but newline and tab), DEL and C1 controls (0x9b is a one-byte CSI on some
# terminals). ESC becomes the visible "␛"; the rest become their Control Pictures glyph
# or U+FFFD. One character in, one character out.
_CONTROL_MAP: dict[int, str] = {}
for _code in range(0x20):
    if chr(_code) not in "\n\t":
        _CONTROL_MAP[_code] = chr(0x2400 + _code)
_CONTROL_MAP[0x7F] = "\u2421"
for _code in range(0x80, 0xA0):
    _CONTROL_MAP[_code] = "\ufffd"


def visible(text: str) -> str:
    """Return `text` with every control character but newline and tab made visible.

    The result has the same length as `text`, so character offsets still line up.
    """
    return text.translate(_CONTROL_MAP)


def literal(text: str | None, style: str = "") -> Text:
    """A `Text` showing `text` exactly as written: no markup, no terminal escapes."""
    return Text(visible(text or ""), style=style)


def one_line(text: str | None, style: str = "") -> Text:
    """Like `literal`, with line breaks folded into spaces (for titles and list rows)."""
    return literal(" ".join((text or "").split()), style)
