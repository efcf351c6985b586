"""The speaker a who-said-what question asks about, read from its words.

Questions are short and asked one at a time: a few patterns ("What did X say …", "quotes by
X", "according to X") and the name grammar of `qa.corpus.quotes.names` find the name without
parsing the question.
"""

from __future__ import annotations

import re

from .names import UPPER, person_in

_SPEAKER_Q = [
    re.compile(r"\bwhat (?:did|does|has|have|do) (?P<n>.+?) (?:say|said|says|tell|told|write|wrote|think|claim|state|warn|argue)\b", re.I),
    re.compile(r"\bhow did (?P<n>.+?) (?:describe|respond|react|characteri[sz]e)\b", re.I),
    re.compile(r"\b(?:quotes?|statements?|remarks?|comments?|words) (?:of|from|by) (?P<n>[^?.,]+)", re.I),
    re.compile(r"\baccording to (?P<n>[^?.,]+)", re.I),
    re.compile(r"\b(?P<n>[A-Z][\w.’'-]*(?:\s+[A-Z][\w.’'-]*){0,2})['’]s (?:view|position|stance|remarks|comments|statement|words)\b"),
]
# Words that stand for someone the question does not name.
_NOT_A_NAME = frozenset("he she they we i it them him her".split()) | {"the articles",
                                                                      "the article"}


def find_speaker(question: str) -> str | None:
    """The person or body a who-said-what question is about, or None.

    "What did Okafor say about the meeting?" → "Okafor"; "What did the club say?"
    → None; "What did the town hall say?" → "town hall" (bodies speak too). Pronouns give
    None: resolve follow-ups first (`qa.conversation.resolve_followup`). Whether the name is a
    person's is for `is_person` to say, with the index's speakers.
    """
    for pat in _SPEAKER_Q:
        m = pat.search(question)
        if not m:
            continue
        phrase = m["n"].strip()
        if phrase.lower() in _NOT_A_NAME:
            return None
        name = person_in(phrase)
        if name:
            return name
        cleaned = re.sub(r"^(?:the|a|an)\s+", "", phrase, flags=re.I)
        if re.match(rf"[{UPPER}]", cleaned) and len(cleaned.split()) <= 4:
            return cleaned  # "Acme", "the town hall": bodies speak too
    return None
