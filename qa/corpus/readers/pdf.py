"""PDF documents (`.pdf`): the text layer, through pypdf.

The title is the document's `/Title` (unless an editor's placeholder or a file name); its
`/CreationDate` is the date only when the text gives none (a file is often made long after
the article). Hard-wrapped lines are joined back into their paragraphs first. An encrypted
PDF that needs a password, or one with no text layer, is skipped with the reason.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

from qa.corpus.article import article_from_body, article_id, document_title, has_words, normalise
from qa.corpus.readers.registry import Read, SourceFile, Takes, register
from qa.dates import written_date
from qa.types import Skipped


@register(".pdf", takes=Takes.DOCUMENT)
def read_pdf(file: SourceFile) -> Read:
    """One article: the text of every page."""
    data, rel = file.data, file.rel
    # pypdf costs ~0.2 s to import: only when a PDF is read.
    import pypdf

    # pypdf logs every oddity it repairs ("EOF marker not found"); with no logging set up
    # they would land on the user's terminal. A PDF that cannot be read is reported below.
    log = logging.getLogger("pypdf")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            why = "encrypted PDF (it needs a password); save an unprotected copy"
            return [], [Skipped(rel, why)]
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = document_title(info.title) if info is not None else None
        created = str(info.creation_date_raw or "") if info is not None else ""
    except Exception as exc:  # pypdf raises assorted errors on damaged files
        return [], [Skipped(rel, f"PDF could not be read ({type(exc).__name__}: {exc})")]
    finally:
        log.setLevel(level)
    text = "\n\n".join(_reflow_pdf_page(page) for page in pages)
    if not has_words(text):
        return [], [Skipped(rel, "no text layer (scanned?)")]
    article = article_from_body(
        text, id=article_id(rel), rel=rel, title=title, file_date=written_date(created),
        fallback_title=Path(rel).stem,
    )  # fmt: skip
    if article is None:
        return [], [Skipped(rel, "no article text (only metadata or boilerplate)")]
    return [article], []


def _reflow_pdf_page(text: str) -> str:
    """Join a page's hard-wrapped lines back into paragraphs.

    A PDF's text layer breaks lines where the layout did; the sentence splitter would end a
    sentence at "Prime" / "Minister". A line as long as most of the page's lines ran to the
    margin and continues on the next one; a shorter line ends its paragraph or is a heading.
    """
    lines = [line.rstrip() for line in normalise(text).split("\n")]
    lengths = sorted(len(line) for line in lines if line.strip())
    if not lengths:
        return ""
    full = 0.75 * lengths[int(0.9 * (len(lengths) - 1))]
    out: list[str] = []
    prev = ""  # the previous line as the page has it
    for line in lines:
        if prev.strip() and line.strip() and len(prev) >= max(full, 40):
            # "well-" / "known" is one word again; the hyphen stays (it may be a real one).
            joined = prev.endswith("-") and prev[-2:-1].isalpha() and line.lstrip()[:1].islower()
            out[-1] += ("" if joined else " ") + line.lstrip()
        else:
            out.append(line)
        prev = line
    return "\n".join(out)

