"""Every article format a news reader meets: CSV/TSV, PDF, DOCX, e-mail, feeds — and every
other file listed as skipped with its reason.

The fixtures in tests/fixtures/formats/ are small real files (make_fixtures.py made the PDF and
the DOCX; the rest is written by hand).
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from conftest import SHARED, HashEmbedder

import qa.corpus.ingest
from qa import CorpusError, Retriever, build_index
from qa.corpus.chunking import split_sentences
from qa.corpus.ingest import load_corpus, read_article_file

FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
WIKINEWS = SHARED / "news" / "wikinews"


def read(name: str, folder: Path = FORMATS) -> tuple[dict, dict]:
    articles, skipped = read_article_file(folder / name, folder)
    return {a.id: a for a in articles}, {s.path: s.reason for s in skipped}


def fields(article) -> tuple:
    return article.title, article.date, article.url, article.source


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


@pytest.fixture
def formats_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(FORMATS, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return folder


# --- one reader per format ---------------------------------------------------------------------


def test_csv_rows_with_header_synonyms_and_a_multi_line_body() -> None:
    # desk.csv: "Headline,Published,Link,Body", CRLF line ends, a quoted body over three lines.
    got, skipped = read("desk.csv")
    assert list(got) == ["desk/1", "desk/2"]
    assert fields(got["desk/1"]) == (
        "Bridge inspection finds cracks", "2022-03-05", "https://news.example.com/bridge",
        "news.example.com",
    )  # fmt: skip
    assert got["desk/1"].text == (
        "Inspectors found cracks in the Hardanger bridge on Saturday.\n\n"
        "Traffic will be limited to one lane, the agency said."
    )
    assert got["desk/2"].title == "Wind farm approved, with conditions"  # a quoted comma
    assert got["desk/2"].date == "2022-03-07"  # "7 March 2022"
    assert skipped == {"desk.csv:3": "row 3: no text"}
    assert all(a.path == "desk.csv" for a in got.values())


def test_tsv_rows() -> None:
    got, skipped = read("wire.tsv")
    assert skipped == {}
    assert [fields(a) for a in got.values()] == [
        ("Cod quota cut by a fifth", "2022-02-14", "https://news.example.com/cod", "news.example.com"),
        ("Hospital ward reopens", "2022-02-15", "https://news.example.com/ward", "news.example.com"),
    ]
    assert list(got) == ["wire/1", "wire/2"]


def test_csv_id_column_semicolons_and_a_dateline_in_the_body(tmp_path: Path) -> None:
    (tmp_path / "export.csv").write_text(
        "ID;Title;Pub Date;Content;Outlet\n"
        "a-17;Port strike ends;;\"Friday, March 11, 2022\n\nDockers returned to work.\";Harbour Post\n",
        encoding="utf-8",
    )
    got, skipped = read("export.csv", tmp_path)
    assert skipped == {}
    (a,) = got.values()
    assert a.id == "export/a-17"  # the id column, verbatim, as .jsonl does
    assert (a.title, a.date, a.source) == ("Port strike ends", "2022-03-11", "Harbour Post")
    assert a.text == "Dockers returned to work."  # the dateline went into `date`


def test_pdf_text_layer_metadata_and_reflowed_lines() -> None:
    got, skipped = read("port.pdf")
    assert skipped == {}
    (a,) = got.values()
    assert a.id == "port" and a.path == "port.pdf"
    assert a.title == "Northern port reopens after the storm"  # /Title; the headline line left
    assert a.date == "2022-03-14"  # /CreationDate D:20220314083000+01'00'
    assert a.text.startswith("The harbour authority reopened the northern port of Skarvik")
    # The page breaks "... Harbour master Mayor" / "Ingrid Dahl said ...": one sentence again.
    assert (
        "Harbour master Mayor Ingrid Dahl said the breakwater had held and that no vessel was lost."
        in sentences(a.text)
    )
    # A short line ends its paragraph: the next one is not glued to it.
    assert "overnight.\nFerry traffic" in a.text


def test_docx_paragraphs_and_core_properties() -> None:
    got, skipped = read("lighthouse.docx")
    assert skipped == {}
    (a,) = got.values()
    assert (a.id, a.title, a.date) == ("lighthouse", "Lighthouse keepers vote to strike", "2022-02-10")
    assert a.text == (
        "Lighthouse keepers on the western coast voted on Thursday to strike over pay. "
        "\u201cWe kept the lamps lit through every winter,\u201d said union leader Tor Olsen.\n\n"
        "The strike would begin on March 1 unless talks resume."
    )  # the heading equal to the title is metadata, not text


def test_a_dateline_in_a_document_beats_its_creation_date(tmp_path: Path) -> None:
    import docx

    document = docx.Document()  # python-docx's template says "created 2013-12-23": not a date
    document.add_paragraph("Tuesday, March 8, 2022")
    document.add_paragraph("The council met on Tuesday and approved the budget.")
    document.save(tmp_path / "minutes.docx")
    (a,), _ = read_article_file(tmp_path / "minutes.docx", tmp_path)
    assert a.date == "2022-03-08" and a.text == "The council met on Tuesday and approved the budget."
    document = docx.Document()
    document.add_paragraph("The council met and approved the budget.")
    document.save(tmp_path / "undated.docx")
    (b,), _ = read_article_file(tmp_path / "undated.docx", tmp_path)
    assert b.date is None


def test_eml_reads_the_plain_part_without_its_signature() -> None:
    got, skipped = read("briefing.eml")
    assert skipped == {}
    (a,) = got.values()
    assert a.id == "briefing"
    assert (a.title, a.source) == ("Glacier observatory opens on the Jostedal ice cap", "Morning Briefing")
    assert a.date == "2022-03-15"  # the day the Date header names (23:30 -0500), not UTC's
    assert a.text == (
        "Scientists opened a glacier observatory on the Jostedal ice cap on Tuesday. The station "
        "will measure how fast the ice retreats each summer.\n\n"
        '"The glacier has lost a kilometre since 1930," said glaciologist Astrid Berg.'
    )  # quoted-printable decoded; no HTML part, no "Unsubscribe" signature


def test_mbox_gives_one_article_per_message_and_reads_html_only_messages() -> None:
    got, skipped = read("weekly.mbox")
    assert skipped == {}
    assert list(got) == ["weekly/1", "weekly/2"]
    first, second = got.values()
    assert fields(first) == ("Salmon farms move offshore", "2022-02-21", None, "Coastal Weekly")
    assert first.text.startswith("Two salmon farms near Bodo")
    assert second.title == "Ferry fares frozen for the winter"
    assert "The county council froze ferry fares until April" in second.text
    assert "<p>" not in second.text and "color: red" not in second.text
    assert all(a.path == "weekly.mbox" for a in got.values())


def test_rss_entries() -> None:
    got, skipped = read("fjord.rss")
    assert skipped == {}
    assert list(got) == ["fjord/fjord-example-com-p-101", "fjord/fjord-example-com-p-102"]
    avalanche, school = got.values()
    assert fields(avalanche) == (
        "Avalanche closes mountain road", "2022-03-02",
        "https://fjord.example.com/2022/03/avalanche", "Fjord Gazette",
    )  # fmt: skip
    # content:encoded wins over the short description; its HTML becomes paragraphs.
    assert avalanche.text == (
        "An avalanche closed the mountain road to Geiranger on Wednesday.\n\n"
        "Road crews expect to reopen it by the weekend, the roads authority said."
    )
    assert school.text == "The village school in Olden got a new turf roof, paid for by a local bake sale."


def test_atom_entries() -> None:
    got, skipped = read("arctic.atom")
    assert skipped == {}
    herders, aurora = got.values()
    assert herders.id == "arctic/tag-arctic-example-org-2022-herders"
    assert fields(herders) == (
        "Reindeer herders win grazing case", "2022-03-09", "https://arctic.example.org/herders",
        "Arctic Wire",
    )  # fmt: skip
    assert herders.text == (
        "The supreme court ruled on Wednesday that the wind farm broke the herders\u2019 grazing rights."
    )  # content over summary; the entity decoded
    assert aurora.date == "2022-03-08" and aurora.text.startswith("Tromso counted a record")


def test_feed_ids_survive_a_new_entry_at_the_top(tmp_path: Path) -> None:
    rss = (FORMATS / "fjord.rss").read_text(encoding="utf-8")
    before, _ = read("fjord.rss")
    newer = (
        "<item><title>Ferry delayed by fog</title><guid>https://fjord.example.com/?p=103</guid>"
        "<description>The morning ferry was delayed by fog.</description></item>"
    )
    (tmp_path / "fjord.rss").write_text(rss.replace("<item>", newer + "<item>", 1), encoding="utf-8")
    after, _ = read("fjord.rss", tmp_path)
    assert list(after) == ["fjord/fjord-example-com-p-103", *before]
    assert [after[i].hash for i in before] == [a.hash for a in before.values()]


def test_an_xml_feed_is_read_and_other_xml_is_skipped(tmp_path: Path) -> None:
    shutil.copy(FORMATS / "arctic.atom", tmp_path / "arctic.xml")
    (tmp_path / "sitemap.xml").write_text(
        '<?xml version="1.0"?><urlset><url><loc>https://x.example/</loc></url></urlset>',
        encoding="utf-8",
    )
    articles, skipped = load_corpus(tmp_path)
    assert [a.path for a in articles] == ["arctic.xml", "arctic.xml"]
    assert [(s.path, s.reason.split(";")[0]) for s in skipped] == [
        ("sitemap.xml", "XML that is not an RSS or Atom feed")
    ]


# --- skipped, with the reason ------------------------------------------------------------------


def test_unsupported_and_unreadable_files_are_listed_with_their_reason(tmp_path: Path) -> None:
    import pypdf

    (tmp_path / "good.txt").write_text("A real article sentence.", encoding="utf-8")
    (tmp_path / "budget.xlsx").write_bytes(b"PK\x03\x04 not really")
    (tmp_path / "Makefile").write_text("all:\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("This folder holds the articles.", encoding="utf-8")
    (tmp_path / "LICENSE").write_text("CC BY 2.5", encoding="utf-8")
    (tmp_path / "headers.csv").write_text("url,date,headline\nhttps://x.example/a,2022-01-01,A\n")
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)  # a page with no text: as a scanner makes
    buffer = io.BytesIO()
    writer.write(buffer)
    (tmp_path / "scan.pdf").write_bytes(buffer.getvalue())
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not a PDF body\n")
    (tmp_path / "broken.docx").write_bytes(b"ignored")
    (tmp_path / "notes.mbox").write_text("No From line here, so no message.\n", encoding="utf-8")
    (tmp_path / ".hidden.xlsx").write_bytes(b"hidden files stay ignored")
    articles, skipped = load_corpus(tmp_path)
    assert [a.id for a in articles] == ["good"]
    why = {s.path: s.reason for s in skipped}
    formats = ".txt .md .html .jsonl .csv .tsv .pdf .docx .eml .mbox .rss .atom .feeds"
    assert why["budget.xlsx"] == f"unsupported format .xlsx; qa reads {formats}"
    assert why["Makefile"] == f"unsupported format (no file extension); qa reads {formats}"
    assert why["README.md"].startswith("a README or licence file, not an article")
    assert why["LICENSE"].startswith("a README or licence file, not an article")
    assert why["headers.csv"] == (
        "no text column: its header names url, date, headline; qa wants a column named text, "
        "body, content, article (or story, full_text, article_text, maintext), and reads title, "
        "date, url, source and id columns when present"
    )
    assert why["scan.pdf"] == "no text layer (scanned?)"
    assert why["broken.pdf"].startswith("PDF could not be read (")
    assert why["broken.docx"].startswith("not a readable .docx file (")
    assert why["notes.mbox"].startswith("no messages")
    assert ".hidden.xlsx" not in why
    assert len(why) == len(skipped) == 9


def test_a_pipe_in_the_corpus_is_listed_not_read(tmp_path: Path) -> None:
    import os

    (tmp_path / "a.txt").write_text("A real article sentence.", encoding="utf-8")
    os.mkfifo(tmp_path / "feed.txt")  # opening it would block the build forever
    articles, skipped = load_corpus(tmp_path)
    assert [a.id for a in articles] == ["a"]
    assert [(s.path, s.reason) for s in skipped] == [
        ("feed.txt", "not a regular file (a pipe, socket or device)")
    ]


def test_read_article_file_never_reads_an_unsupported_file_as_text(tmp_path: Path) -> None:
    (tmp_path / "table.xlsx").write_text("Looks like text but is not an article.", encoding="utf-8")
    articles, skipped = read_article_file(tmp_path / "table.xlsx", tmp_path)
    assert articles == [] and skipped[0].reason.startswith("unsupported format .xlsx")


def test_a_reader_registered_for_a_new_suffix_is_used_by_load_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adding a format is one registration: load_corpus looks the suffix up (in any case), the
    reader gets the checked, decoded text, and the messages name the new format."""
    from qa.corpus import readers
    from qa.corpus.article import article_from_body, article_id

    # This test's registration goes with it.
    monkeypatch.setattr(readers.registry, "READERS", dict(readers.READERS))
    (tmp_path / "ferry.note").write_text("Ferry news | The ferry ran late.\r\nAgain.",
                                         encoding="utf-8")
    (tmp_path / "BRIDGE.NOTE").write_text("Bridge | The bridge reopened.", encoding="utf-8")
    (tmp_path / "broken.note").write_bytes(b"\xff\xfeU\x00T\x00F\x00")
    (tmp_path / "old.rtf").write_text("{\\rtf1 not read}", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"ferry\.note \(unsupported format \.note\)"):
        load_corpus(tmp_path)  # not a format yet

    @readers.register(".note")
    def read_note(file: readers.SourceFile) -> readers.Read:
        title, _, body = (file.text or "").partition("|")
        article = article_from_body(body, id=article_id(file.rel), rel=file.rel,
                                    title=title.strip(), fallback_title=file.rel)
        return ([article] if article else []), []

    articles, skipped = load_corpus(tmp_path)
    assert [(a.id, a.title, a.text) for a in articles] == [
        ("bridge", "Bridge", "The bridge reopened."),
        ("ferry", "Ferry news", "The ferry ran late.\nAgain."),  # CRLF normalised first
    ]
    reasons = {s.path: s.reason for s in skipped}
    assert reasons["broken.note"] == "UTF-16 text; re-save it as UTF-8"  # checked before it
    assert reasons["old.rtf"].startswith("unsupported format .rtf") and " .note" in reasons["old.rtf"]
    with pytest.raises(ValueError, match=r"\.note already has a reader"):
        readers.register(".NOTE")(read_note)


def test_a_folder_of_only_unsupported_files_names_them_instead_of_empty(tmp_path: Path) -> None:
    (tmp_path / "budget.xlsx").write_bytes(b"PK\x03\x04")
    (tmp_path / "slides.pptx").write_bytes(b"PK\x03\x04")
    (tmp_path / "LICENSE.md").write_text("CC BY 2.5", encoding="utf-8")
    with pytest.raises(CorpusError) as caught:
        load_corpus(tmp_path)
    message = str(caught.value)
    assert "empty" not in message
    assert "holds no file qa can read" in message
    assert "budget.xlsx (unsupported format .xlsx)" in message
    assert "slides.pptx (unsupported format .pptx)" in message
    assert "LICENSE.md (a README or licence file, not an article)" in message
    assert ".csv" in message and ".pdf" in message and "qa index" in message


def test_build_names_unsupported_files_in_its_report(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Harbour reopens.\n\nThe harbour reopened on Monday.", encoding="utf-8")
    (corpus / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    report = build_index(corpus, tmp_path / "ix", embedder=HashEmbedder())
    assert report.articles == 1
    assert [(s.path, s.reason.split(";")[0]) for s in report.skipped] == [
        ("photo.jpg", "unsupported format .jpg")
    ]
    again = build_index(corpus, tmp_path / "ix", embedder=HashEmbedder())
    assert again.up_to_date and [s.path for s in again.skipped] == ["photo.jpg"]


# --- the real Wikinews CSVs, as they are -----------------------------------------------------------


@pytest.mark.skipif(not WIKINEWS.is_dir(), reason=f"the shared Wikinews corpus is absent ({WIKINEWS})")
def test_the_wikinews_csvs_load_as_295_articles_with_titles_dates_and_urls() -> None:
    articles, skipped = load_corpus(WIKINEWS)
    assert len(articles) == 295
    assert {a.path for a in articles} == {"wikinews_2019.csv", "wikinews_2020.csv"}
    assert len({a.id for a in articles}) == 295
    assert articles[0].id == "wikinews-2019/1" and articles[-1].id == "wikinews-2020/124"
    for a in articles:
        assert a.title and not a.title.endswith("…"), a.id  # the title column, not a sentence
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", a.date or ""), a.id
        assert (a.url or "").startswith("https://en.wikinews.org/"), a.id
        assert a.source == "en.wikinews.org"
    first = articles[0]
    assert first.title == "Magnitogorsk apartment building collapses after explosion, dozens dead"
    assert first.date == "2019-01-04"
    # The "Friday, January 4, 2019" dateline at the top of the text is metadata, not text.
    assert first.text.startswith("An apartment building collapsed on Monday in Magnitogorsk")
    # Only the licence beside the CSVs is skipped, and it is named.
    assert [(s.path, s.reason.split(";")[0]) for s in skipped] == [
        ("LICENSE.md", "a README or licence file, not an article")
    ]


# --- end to end through build_index -------------------------------------------------------------


def test_a_folder_of_every_format_builds_and_updates_incrementally(
    formats_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (formats_corpus / "story.md").write_text(
        "---\ntitle: Tunnel opens\ndate: 2022-03-01\n---\nThe longest road tunnel opened on Tuesday.\n",
        encoding="utf-8",
    )
    (formats_corpus / "data.xlsx").write_bytes(b"PK\x03\x04")
    index = tmp_path / "ix"
    report = build_index(formats_corpus, index, embedder=HashEmbedder())
    # csv 2 (+1 empty row), tsv 2, pdf 1, docx 1, eml 1, mbox 2, rss 2, atom 2, md 1
    assert report.articles == 14 and len(report.added) == 14
    assert sorted((s.path, s.reason.split(";")[0]) for s in report.skipped) == [
        ("data.xlsx", "unsupported format .xlsx"),
        ("desk.csv:3", "row 3: no text"),
    ]
    retriever = Retriever.open(index, embedder=HashEmbedder())
    for question, article_id in [
        ("Hardanger bridge cracks", "desk/1"),
        ("cod quota", "wire/1"),
        ("Skarvik breakwater", "port"),
        ("lighthouse keepers strike", "lighthouse"),
        ("Jostedal glacier observatory", "briefing"),
        ("ferry fares frozen", "weekly/2"),
        ("Geiranger avalanche", "fjord/fjord-example-com-p-101"),
        ("reindeer herders grazing", "arctic/tag-arctic-example-org-2022-herders"),
    ]:
        hit = retriever.search(question, k=1, mode="bm25")[0]
        assert hit.article_id == article_id, question

    # Nothing changed: no file is parsed again (desk.csv had a skipped row, so it is re-read
    # to report it again), and the multi-article files give back all their articles.
    parsed: list[str] = []
    real = qa.corpus.ingest.read_article_file
    monkeypatch.setattr(
        qa.corpus.ingest, "read_article_file", lambda p, r: parsed.append(p.name) or real(p, r)
    )
    again = build_index(formats_corpus, index, embedder=HashEmbedder())
    assert again.up_to_date and again.articles == 14 and len(again.unchanged) == 14
    assert parsed == ["desk.csv"]

    # A new entry in one feed: only that file is parsed, one article is added.
    parsed.clear()
    rss = formats_corpus / "fjord.rss"
    rss.write_text(
        rss.read_text(encoding="utf-8").replace(
            "<item>",
            "<item><title>Ferry delayed by fog</title><guid>https://fjord.example.com/?p=103</guid>"
            "<description>The morning ferry to Balestrand was delayed by fog.</description></item>"
            "<item>",
            1,
        ),
        encoding="utf-8",
    )
    counting = HashEmbedder()
    third = build_index(formats_corpus, index, embedder=counting)
    assert sorted(parsed) == ["desk.csv", "fjord.rss"]
    assert third.added == ("fjord/fjord-example-com-p-103",)
    assert not third.changed and not third.removed and len(third.unchanged) == 14
    assert counting.jobs[0] == third.embedded_chunks == 1
    hit = Retriever.open(index, embedder=HashEmbedder()).search("Balestrand fog", k=1, mode="bm25")[0]
    assert hit.article_id == "fjord/fjord-example-com-p-103"


def test_a_feed_url_list_is_fetched_and_an_unreachable_feed_is_skipped_with_its_reason(
        tmp_path, monkeypatch):
    """A `.feeds` file lists feed URLs. A file:// URL inside the corpus (in a hidden folder,
    not indexed on its own) stands in for a site (tests never leave the machine);
    127.0.0.1:9 (discard, closed) for a network that is not there — loopback, so only with
    allow_private_feeds (tests/test_feeds.py has what is refused)."""
    from qa.corpus.ingest import load_corpus

    monkeypatch.setenv("QA_ALLOW_PRIVATE_FEEDS", "1")
    corpus = tmp_path / "corpus"
    feeds = corpus / ".sites"
    feeds.mkdir(parents=True)
    shutil.copy(FORMATS / "fjord.rss", feeds / "fjord.rss")
    (corpus / "news.feeds").write_text(
        f"# my feeds\n{(feeds / 'fjord.rss').as_uri()}\nhttp://127.0.0.1:9/feed.xml\nnot a url\n")
    articles, skipped = load_corpus(corpus)
    assert len(articles) == 2 and all(a.path == "news.feeds" for a in articles)
    reasons = " ".join(s.reason for s in skipped)
    assert "http://127.0.0.1:9/feed.xml could not be fetched" in reasons and "network" in reasons
    assert "not an http(s) or file URL" in reasons


def test_a_feed_that_cannot_be_fetched_keeps_what_was_indexed_from_it(tmp_path):
    from conftest import HashEmbedder

    from qa import Retriever, build_index

    corpus = tmp_path / "corpus"
    feeds = corpus / ".sites"
    feeds.mkdir(parents=True)
    shutil.copy(FORMATS / "fjord.rss", feeds / "fjord.rss")
    (corpus / "news.feeds").write_text((feeds / "fjord.rss").as_uri() + "\n")
    (corpus / "other.md").write_text("---\ntitle: Other\n---\nA story of its own.\n")
    build_index(corpus, tmp_path / "ix", embedder=HashEmbedder())
    before = {a.id for a in Retriever.open(tmp_path / "ix", embedder=HashEmbedder()).articles()}
    (feeds / "fjord.rss").unlink()  # the site is unreachable now
    report = build_index(corpus, tmp_path / "ix", embedder=HashEmbedder())
    assert any("could not be fetched" in s.reason for s in report.skipped)
    after = {a.id for a in Retriever.open(tmp_path / "ix", embedder=HashEmbedder()).articles()}
    assert after == before and len(before) == 3
