"""Site furniture in article text: share and subscribe lines, photo credits, bare URLs.

One rule for every format (`strip_boilerplate`); readers apply it to a body before they look
for its headline and dateline.
"""

from __future__ import annotations

import re

# Whole lines that are site furniture, matched against the stripped line (case-insensitive).
_BOILERPLATE_LINE = re.compile(
    r"""(?ix)
    leave\ a\ (?:reply|comment)(?:\ cancel\ reply)?
    | your\ email\ address\ will\ not\ be\ published\.?(?:\s*required\ fields\ are\ marked\ \*)?
    | required\ fields\ are\ marked\ \*
    | back\ to\ top(?:\ button)?
    | labels:[\s,]*
    | (?:follow\ @\w+\s*)?tweet
    | follow\ @\w+
    | (?:share|follow\ us|like\ us)(?:\ this)?(?:\ (?:article|story|post))?
      (?:\ (?:on|via)\ (?:facebook|twitter|x|whatsapp|linkedin|telegram|email)
        (?:\s*[,|/]?\s*(?:facebook|twitter|x|whatsapp|linkedin|telegram|email))*)?:?
    | share\ (?:via|on):?(?:[ \t]+\w+)*
    | subscribe(?:\ (?:now|here|today))?(?:\ to\ (?:our|the)\ (?:newsletter|channel))?!?
    | sign\ up\ for\ (?:our|the)\ newsletter\.?
    | click\ here\ to\ subscribe\.?
    | (?:image|images|photo|photos|photograph|picture|credit|photo\ credit|image\ credit|
        image\ source|photo\ source)\s*:\s*[^.!?]{1,60}
    | \(?(?:[\w-]+\.)+[a-z]{2,}\)?                 # a bare credit such as "(Palace.gov)"
    | (?:https?://|www\.)\S+                        # a bare URL, usually an image
    """
)
# A photo credit glued to the end of a real line: "...met in the capital.  Example.org" or a
# caption ending in "(Example.org)". Only the credit goes; the sentence stays.
_TRAILING_CREDIT = re.compile(
    r"(?i)(?:(?<=[.!?\"”’'])[ \t\u00a0]+(?:[\w-]+\.)+[a-z]{2,}|[ \t\u00a0]+\((?:[\w-]+\.)+[a-z]{2,}\))"
    r"[ \t\u00a0]*$"
)
_MAX_BOILERPLATE_CHARS = 200  # longer lines are article text, whatever they start with


def strip_boilerplate(text: str) -> str:
    """Remove boilerplate lines and collapse the blank lines they leave.

    Only whole lines go ("Leave a Reply", "Your email address will not be published.",
    "Back to top button", "Labels: , , ,", "Follow @x Tweet", share/subscribe lines, bare URLs,
    photo credit lines such as "Image: AP" or "(Palace.gov)"), plus a credit glued to the end of
    a line ("... the capital.  Palace.gov"). Other lines are kept byte for byte; runs of blank
    (whitespace-only) lines become one empty line, and the result is trimmed.

    Args:
        text: Article text with `\\n` line ends.

    Returns:
        The cleaned text.
    """
    kept: list[str] = []
    blank = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped and len(stripped) <= _MAX_BOILERPLATE_CHARS:
            if _BOILERPLATE_LINE.fullmatch(stripped):
                continue
            if stripped[-1] == ")" or "." in stripped[-40:]:
                line = _TRAILING_CREDIT.sub("", line)
                stripped = line.strip()
        elif stripped:
            tail = line[-80:]
            if _TRAILING_CREDIT.search(tail):
                line = line[: len(line) - len(tail)] + _TRAILING_CREDIT.sub("", tail)
                stripped = line.strip()
        if not stripped:
            blank = True
            continue
        if blank and kept:
            kept.append("")
        blank = False
        kept.append(line)
    return "\n".join(kept).strip()
