"""Files that unpack into far more than they hold, and tables whose quoting goes wrong
(issue 22): each limit that is hit is a skipped file (or record) with its reason, found
quickly and without the memory the file would have cost; everything else is indexed."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest

from qa.corpus import limits
from qa.corpus.ingest import load_corpus, read_article_file

FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx_with_body(path: Path, pieces, repeat: int) -> Path:
    """A .docx (the fixture's parts) whose document.xml is `pieces` written `repeat` times
    inside <w:body>, streamed into the zip so the test never holds it whole."""
    with zipfile.ZipFile(FORMATS / "lighthouse.docx") as src, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename != "word/document.xml":
                out.writestr(info, src.read(info))
        with out.open("word/document.xml", "w", force_zip64=True) as doc:
            doc.write(f"<?xml version='1.0' encoding='UTF-8'?><w:document {_W}><w:body>"
                      .encode())
            for _ in range(repeat):
                doc.write(pieces)
            doc.write(b"</w:body></w:document>")
    return path


def test_a_docx_that_unpacks_past_the_limit_is_skipped_unread(tmp_path):
    """Finding 3: a .docx of ~1 MB unpacked into a 537-million-character article (3.6 GB).
    This one holds 150 MB of paragraphs (well under the paragraph limit) in ~0.5 MB."""
    paragraph = b"<w:p><w:r><w:t>" + b"news " * 2000 + b"</w:t></w:r></w:p>"  # 10 KB of text
    bomb = docx_with_body(tmp_path / "bomb.docx", paragraph * 10, 1500)
    assert bomb.stat().st_size < 2_000_000
    t0 = time.monotonic()
    articles, skipped = read_article_file(bomb, tmp_path)
    assert time.monotonic() - t0 < 5
    assert articles == [] and len(skipped) == 1
    assert "unpacks to" in skipped[0].reason and "MB" in skipped[0].reason, skipped[0].reason


def test_a_docx_of_too_many_paragraphs_is_skipped_quickly(tmp_path):
    """Finding 3: three million tiny paragraphs in 357 KB were still being read after 240 s.
    300,000 here (10 MB unpacked: under the size limit)."""
    bomb = docx_with_body(tmp_path / "many.docx", b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * 100,
                          3000)
    t0 = time.monotonic()
    articles, skipped = read_article_file(bomb, tmp_path)
    assert time.monotonic() - t0 < 10
    assert articles == [] and len(skipped) == 1
    assert "paragraphs" in skipped[0].reason, skipped[0].reason


def test_an_article_longer_than_the_limit_is_skipped_with_the_reason(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "book.txt").write_text("Headline\n\n" + "The ferry ran late again. " * 2_500_000,
                                     encoding="utf-8")  # 65 million characters
    (corpus / "short.txt").write_text("The ferry ran on time.\n", encoding="utf-8")
    articles, skipped = load_corpus(corpus)
    assert [a.id for a in articles] == ["short"]
    assert [s.path for s in skipped] == ["book.txt"]
    assert "characters" in skipped[0].reason and "split" in skipped[0].reason


def test_records_past_the_row_limit_are_skipped_once_with_the_reason(tmp_path, monkeypatch):
    """A table, a JSON-lines file, a mailbox and a feed stop at MAX_RECORDS articles; the
    rest is one skip naming how many were left out."""
    monkeypatch.setattr(limits, "MAX_RECORDS", 3)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = "".join(f"{n},Title {n},Story number {n} of the wire.\n" for n in range(1, 8))
    (corpus / "wire.csv").write_text("id,title,text\n" + rows, encoding="utf-8")
    lines = "".join(f'{{"id": "{n}", "text": "Line story {n}."}}\n' for n in range(1, 6))
    (corpus / "lines.jsonl").write_text(lines, encoding="utf-8")
    articles, skipped = load_corpus(corpus)
    assert sorted(a.id for a in articles) == ["lines/1", "lines/2", "lines/3", "wire/1",
                                              "wire/2", "wire/3"]
    why = {s.path: s.reason for s in skipped}
    assert "4 more" in why["wire.csv"] and "2 more" in why["lines.jsonl"], why


# --- finding 11: a stray quote in a CSV --------------------------------------------------------
@pytest.mark.parametrize("text, good", [
    # A quote opened in the last column and never closed: csv read on to the next quote and
    # made rows 1-4 one article. Row 3's stray quote stays on its line: read as written.
    ('id,title,text\n1,Ferry,"The ferry left at noon, the harbour master said.\n'
     '2,Bridge,The bridge reopened on Monday.\n'
     '3,Market,"The market opened early," a trader said.\n4,Rain,It rained all day.\n',
     ["wire/2", "wire/3", "wire/4"]),
    # ... or never closed before the end of the file.
    ('id,title,text\n1,Ferry,"The ferry left at noon.\n2,Bridge,The bridge reopened.\n',
     ["wire/2"]),
], ids=["closed-later", "never-closed"])
def test_a_stray_quote_in_a_csv_is_reported_and_the_rows_after_it_are_read(tmp_path, text,
                                                                           good):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "wire.csv").write_text(text, encoding="utf-8")
    articles, skipped = load_corpus(corpus)
    assert sorted(a.id for a in articles) == good, [(a.id, a.text) for a in articles]
    assert any(s.path.startswith("wire.csv:") and "quote" in s.reason for s in skipped), skipped
    assert not any("\n2,Bridge" in a.text for a in articles)
