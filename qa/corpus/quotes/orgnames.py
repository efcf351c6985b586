"""Names of organisations the entity recogniser splits or misses: "the Supreme Court of
Freedonia" (an organisation and a place), a capitalised phrase ending in a body's noun
("Elm Valley Fire and Rescue Service were called"), and the short names an article gives in
brackets ("Transport for Elmtown (TfE)").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .names import is_body

if TYPE_CHECKING:
    from spacy.tokens import Doc


class QuotedText(Protocol):
    """What these rules read of the article's quotations (`mentions.QuotedText`)."""

    def inside(self, at: int) -> bool:
        """Whether character `at` is inside quotation marks."""
        ...


PERSON, ORG = "PERSON", "ORG"
#: An organisation's name of more words is the recogniser's run-on.
ORG_MAX_WORDS = 8
# A short name in brackets: "(Rail)", "(TfE)".
_BRACKETED = re.compile(r"\(([A-Z][A-Za-z]{1,20})\)")


def of_place(doc: Doc, end: int) -> int:
    """Where an organisation's name ending at token `end` ends with the place it is "of":
    "the Supreme Court of Freedonia", "the Parliament of the Elm Islands"."""
    k = end + 1 if end + 1 < len(doc) and doc[end].lower_ == "of" else -1
    if k > 0 and doc[k].lower_ == "the" and doc[k].ent_type_ != "GPE" and k + 1 < len(doc):
        k += 1  # ("the" outside the place's name, or inside it)
    if k < 0 or doc[k].ent_type_ != "GPE" or doc[k].ent_iob_ != "B":
        return end
    k += 1
    while k < len(doc) and doc[k].ent_iob_ == "I":
        k += 1
    return k


def bodies_named(pieces: list[tuple[int, Doc]], quoted: QuotedText) -> list[str]:
    """Capitalised phrases ending in a noun of a body that the recogniser did not label an
    organisation ("Elm Valley Fire and Rescue Service were called"): organisations' names."""
    from spacy.attrs import TAG

    out = []
    for offset, doc in pieces:
        if not len(doc):
            continue
        tags = doc.to_array([TAG])
        proper = doc.vocab.strings["NNP"], doc.vocab.strings["NNPS"]
        for i in np.flatnonzero(np.isin(tags, proper)).tolist():
            tok = doc[i]
            if not is_body(tok.lower_) or not tok.text[:1].isupper() or (
                    i + 1 < len(doc) and doc[i + 1].tag_ in ("NNP", "NNPS")) \
                    or quoted.inside(offset + tok.idx):
                continue
            k = i
            while k > 0 and (doc[k - 1].tag_ in ("NNP", "NNPS") and doc[k - 1].dep_ != "poss"
                             and doc[k - 1].text[:1].isupper()
                             or doc[k - 1].lower_ in ("and", "of", "for") and k - 1 > 0
                             and doc[k - 2].tag_ in ("NNP", "NNPS")):
                k -= 1
            span = doc[k: i + 1]
            if 2 <= len(span) <= ORG_MAX_WORDS and "\n" not in span.text \
                    and not any(t.ent_type_ == PERSON for t in span) and not (
                        span[0].ent_type_ == ORG and span[0].ent_iob_ == "B"
                        and all(t.ent_iob_ == "I" for t in span[1:])):  # (labelled already)
                out.append(span.text)
    return out


def aliases(pieces: list[tuple[int, Doc]], quoted: QuotedText) -> dict[str, str]:
    """The short names an article gives organisations in brackets after their full names:
    "Elm Valley Rail (Rail)", "Transport for Elmtown (TfE)". The short name is a word of the
    full one or its initials (small words' too); a person's name with a party in brackets
    ("Ada Okafor (Elm Party)") is neither."""
    out: dict[str, str] = {}
    for offset, doc in pieces:
        for m in _BRACKETED.finditer(doc.text):
            short = m.group(1)
            if quoted.inside(offset + m.start()):
                continue
            span = doc.char_span(m.start(), m.start() + 1)
            if span is None or span.start == 0:
                continue
            k = span.start - 1
            words: list[str] = []
            while k >= 0 and ((doc[k].tag_ in ("NNP", "NNPS") or doc[k].tag_ == "NN"
                               and doc[k].text[:1].isupper()) and doc[k].dep_ != "case"
                              or doc[k].lower_ in ("of", "for", "and") and words):
                words.insert(0, doc[k].text)
                k -= 1
            while words and not words[0][:1].isupper():
                words = words[1:]
            if len(words) < 2 or len(words) > ORG_MAX_WORDS \
                    or doc[span.start - 1].ent_type_ == PERSON:
                continue  # (a person's name is no organisation's)
            initials = "".join(w[0] for w in words)
            if short in words or short.lower() == initials.lower():
                out.setdefault(short, " ".join(words))
    return out
