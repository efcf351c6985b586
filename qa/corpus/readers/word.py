"""Word documents (`.docx`): the paragraphs' text, through python-docx.

The title and created date come from the core properties (a created date only when the text
gives none; python-docx's own template date is no date). Before python-docx unpacks anything,
what the package says it unpacks into is checked against `limits.MAX_DOCX_UNPACKED` and
`limits.MAX_DOCX_PARTS`, and the paragraphs are counted against `limits.MAX_PARAGRAPHS`.
"""

from __future__ import annotations

import datetime as _dt
import io
import itertools
from pathlib import Path
from typing import Any

from qa.corpus import limits
from qa.corpus.article import article_from_body, article_id, document_title, iso_date
from qa.corpus.readers.registry import Read, SourceFile, Takes, register
from qa.types import Skipped

# Every document python-docx makes from its template says it was created then.
_PYTHON_DOCX_TEMPLATE_CREATED = _dt.datetime(2013, 12, 23, 23, 15, tzinfo=_dt.timezone.utc)


@register(".docx", takes=Takes.DOCUMENT)
def read_docx(file: SourceFile) -> Read:
    """One article: the document's paragraphs, a blank line between them."""
    rel = file.rel
    # python-docx costs ~0.2 s to import: only when a .docx is read.
    import docx

    problem = _package_problem(file.data)
    if problem:
        return [], [Skipped(rel, problem)]
    try:
        document = docx.Document(io.BytesIO(file.data))
        paragraphs = _paragraphs(document)
        if isinstance(paragraphs, str):
            return [], [Skipped(rel, paragraphs)]
        props = document.core_properties
        title = document_title(props.title)
        created = props.created
    except limits.LimitHit:
        raise
    except Exception as exc:  # not a zip, not a Word document, or a damaged one
        return [], [Skipped(rel, f"not a readable .docx file ({type(exc).__name__}: {exc})")]
    if created == _PYTHON_DOCX_TEMPLATE_CREATED:
        created = None
    if not paragraphs:
        return [], [Skipped(rel, "no text in the document")]
    article = article_from_body(
        "\n\n".join(paragraphs), id=article_id(rel), rel=rel, title=title,
        file_date=iso_date(created), fallback_title=Path(rel).stem,
    )  # fmt: skip
    if article is None:
        return [], [Skipped(rel, "no article text (only metadata or boilerplate)")]
    return [article], []


def _package_problem(data: bytes) -> str | None:
    """Why the package is not read at all (not a zip, or it unpacks past the limits), or None.

    python-docx reads every part of the package into memory and parses its XML: what the
    zip says it unpacks into is checked first (zipfile never yields more than a member's
    declared size, so the declaration is a real bound).
    """
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            members = package.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        return f"not a readable .docx file ({type(exc).__name__}: {exc})"
    unpacked = sum(m.file_size for m in members)
    max_bytes, max_parts = limits.MAX_DOCX_UNPACKED, limits.MAX_DOCX_PARTS
    if len(members) > max_parts or unpacked > max_bytes:
        return (f"the .docx unpacks to {unpacked / (1 << 20):,.0f} MB in {len(members):,} parts, "
                f"more than qa reads ({max_bytes >> 20} MB, {max_parts:,} parts); "
                "save the text as a smaller document or a .txt")
    return None


def _paragraphs(document: Any) -> list[str] | str:
    """The non-blank paragraphs of a python-docx document, or why they are not read (too many).

    Raises:
        limits.LimitHit: their text is longer than one article may be.
    """
    from docx.oxml.ns import qn

    most = limits.MAX_PARAGRAPHS
    body = document.element.body
    if sum(1 for _ in itertools.islice(body.iterchildren(qn("w:p")), most + 1)) > most:
        return (f"the document has more than {most:,} paragraphs, more than qa "
                "reads in one article; split it into several documents")
    paragraphs: list[str] = []
    length = 0
    for p in document.paragraphs:
        text = p.text
        if text.strip():
            paragraphs.append(text)
            length += len(text) + 2
            if length > limits.MAX_ARTICLE_CHARS:
                raise limits.too_long(length, at_least=True)
    return paragraphs
