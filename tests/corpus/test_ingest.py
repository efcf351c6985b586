"""Ingestion on real files: every format, every bad input, and the real seed shapes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa.corpus.ingest import load_corpus, parse_date, read_article_file, strip_boilerplate
from qa.errors import CorpusError

SEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "seeds"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))
    return path


def by_id(articles: list) -> dict:
    return {a.id: a for a in articles}


def reasons(skipped: list) -> dict[str, str]:
    return {s.path: s.reason for s in skipped}


@pytest.fixture(scope="module")
def seeds() -> dict:
    articles, skipped = load_corpus(SEEDS)
    assert skipped == []
    return {a.path[:3]: a for a in articles}


# --- formats -----------------------------------------------------------------------------------


def test_txt_with_headline_and_dateline(tmp_path: Path) -> None:
    write(
        tmp_path / "news" / "Xi Call.txt",
        "Xi and Putin hold a video call\n\nDec. 15, 2021\n\nThe two leaders spoke for 90 minutes. "
        "They agreed on joint actions.\n",
    )
    (a,), skipped = load_corpus(tmp_path)
    assert skipped == []
    assert a.id == "news/xi-call"
    assert a.path == "news/Xi Call.txt"
    assert a.title == "Xi and Putin hold a video call"
    assert a.date == "2021-12-15"
    assert a.text == "The two leaders spoke for 90 minutes. They agreed on joint actions."
    assert a.source == "" and a.url is None


def test_md_front_matter(tmp_path: Path) -> None:
    write(
        tmp_path / "a.md",
        '---\ntitle: "Biden and Xi to talk"\ndate: March 18, 2022\nurl: https://www.example.com/x\n'
        "outlet: Example Times\ntitle_note: anything else is ignored\n---\n"
        "Biden and Xi to talk\n\nBiden and Xi will speak on Friday.\n",
    )
    (a,), _ = load_corpus(tmp_path)
    assert (a.title, a.date, a.url, a.source) == (
        "Biden and Xi to talk",
        "2022-03-18",
        "https://www.example.com/x",
        "Example Times",
    )
    assert a.text == "Biden and Xi will speak on Friday."  # the repeated headline is metadata


def test_md_source_falls_back_to_url_host(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "---\nurl: https://www.aljazeera.com/news/x\n---\nA body line.\n")
    (a,), _ = load_corpus(tmp_path)
    assert a.source == "aljazeera.com"
    assert a.title == "A body line."


def test_html_through_trafilatura(tmp_path: Path) -> None:
    body = "".join(
        f"<p>Paragraph {i}: China and Russia held talks on Monday about the war in Ukraine, "
        "officials said.</p>"
        for i in range(3)
    )
    write(
        tmp_path / "page.html",
        "<html><head><title>Talks in Beijing</title>"
        '<meta property="og:site_name" content="Example News">'
        '<meta name="date" content="2022-03-01">'
        '<link rel="canonical" href="https://example.com/talks"></head>'
        f"<body><nav>Home | About | Contact</nav><article><h1>Talks in Beijing</h1>{body}"
        "</article><footer>Copyright 2022</footer></body></html>",
    )
    (a,), skipped = load_corpus(tmp_path)
    assert skipped == []
    assert a.title == "Talks in Beijing"
    assert a.date == "2022-03-01"
    assert a.source == "Example News"
    assert a.url == "https://example.com/talks"
    assert a.text.startswith("Paragraph 0: China and Russia")
    assert "Home | About" not in a.text and "Copyright" not in a.text


def test_jsonl_lines_and_a_malformed_line(tmp_path: Path) -> None:
    lines = [
        json.dumps({"_id": "MED-10", "title": "First", "text": "Alpha text here."}),
        json.dumps({"id": 7, "title": "Second", "date": "2022-02-05", "text": "Beta text.",
                    "url": "https://example.org/b", "source": "Wire"}),  # fmt: skip
        "",
        json.dumps({"title": "No id", "text": "Gamma text."}),
        json.dumps({"id": "e", "title": "Empty", "text": "   "}),
        "",
        '{"id": "broken", "text": ',
        json.dumps(["not", "an", "object"]),
    ]
    write(tmp_path / "dump" / "Corpus.jsonl", "\n".join(lines) + "\n")
    articles, skipped = load_corpus(tmp_path)
    got = by_id(articles)
    assert list(got) == ["dump/corpus/MED-10", "dump/corpus/7", "dump/corpus/4"]
    assert got["dump/corpus/7"].date == "2022-02-05"
    assert got["dump/corpus/7"].source == "Wire"
    assert got["dump/corpus/4"].title == "No id"
    assert all(a.path == "dump/Corpus.jsonl" for a in articles)
    why = reasons(skipped)
    assert why["dump/Corpus.jsonl:5"] == "line 5: no text"
    assert why["dump/Corpus.jsonl:7"].startswith("line 7: not valid JSON (")
    assert why["dump/Corpus.jsonl:8"] == "line 8: not a JSON object"


# --- bad inputs --------------------------------------------------------------------------------


def test_missing_folder_names_the_next_step(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"does not exist.*qa index"):
        load_corpus(tmp_path / "nope")


def test_a_file_instead_of_a_folder(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not a folder"):
        load_corpus(write(tmp_path / "a.txt", "text"))


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / ".hidden.txt", "Hidden article text.")
    write(tmp_path / ".git" / "config", "[core]")
    with pytest.raises(CorpusError, match=r"is empty.*qa index"):
        load_corpus(tmp_path)


def test_bad_files_are_skipped_and_the_rest_loads(tmp_path: Path) -> None:
    write(tmp_path / "good.txt", "A real article sentence.")
    write(tmp_path / "empty.txt", "")
    write(tmp_path / "blank.md", " \n\t\n")
    write(tmp_path / "binary.txt", b"PK\x03\x04\x00\x00binary")
    write(tmp_path / "latin1.txt", "Caf\u00e9 au lait.".encode("latin-1"))
    write(tmp_path / "utf16.txt", "Hello".encode("utf-16"))
    write(tmp_path / "only-boilerplate.txt", "Leave a Reply\n\nBack to top button\n")
    articles, skipped = load_corpus(tmp_path)
    assert [a.id for a in articles] == ["good"]
    assert reasons(skipped) == {
        "binary.txt": "binary file (contains NUL bytes), not an article",
        "blank.md": "empty file",
        "empty.txt": "empty file",
        "latin1.txt": "not UTF-8 text; re-save it as UTF-8",
        "only-boilerplate.txt": "no article text (only metadata or boilerplate)",
        "utf16.txt": "UTF-16 text; re-save it as UTF-8",
    }


# Real permission bits are exercised with a dropped uid in
# tests/test_reliability.py (root reads any file); here the failing read is simulated.
def test_permission_error_is_reported_even_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root reads any file, so the failing read is simulated for the one locked file.
    write(tmp_path / "good.txt", "Readable.")
    write(tmp_path / "locked.txt", "Secret.")
    import qa.corpus.ingest

    real = qa.corpus.ingest.read_regular

    def read_regular(path, **kw) -> bytes:
        if Path(path).name == "locked.txt":
            raise PermissionError(13, "Permission denied")
        return real(path, **kw)

    monkeypatch.setattr(qa.corpus.ingest, "read_regular", read_regular)
    articles, skipped = load_corpus(tmp_path)
    assert [a.id for a in articles] == ["good"]
    assert reasons(skipped) == {
        "locked.txt": "cannot be read (permission denied); check its permissions"
    }


def test_symlinks_are_reported_not_followed(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside" / "secret.txt", "Outside text.")
    corpus = tmp_path / "corpus"
    write(corpus / "good.txt", "Inside text.")
    (corpus / "out.txt").symlink_to(outside)
    (corpus / "copy.txt").symlink_to(corpus / "good.txt")
    (corpus / "loop.txt").symlink_to(corpus / "loop.txt")
    (corpus / "dirloop").symlink_to(corpus)
    (corpus / "broken.md").symlink_to(corpus / "missing.md")
    articles, skipped = load_corpus(corpus)
    assert [a.id for a in articles] == ["good"]
    why = reasons(skipped)
    assert "outside the corpus" in why["out.txt"]
    assert "loop" in why["loop.txt"]
    assert "inside the corpus" in why["copy.txt"] and "inside the corpus" in why["dirloop"]
    assert "broken" in why["broken.md"]


def test_crlf_bom_and_duplicates(tmp_path: Path) -> None:
    write(tmp_path / "b.txt", "\ufeffHeadline here\r\n\r\nFirst line.\r\nSecond line.\rThird.")
    write(tmp_path / "d.txt", "Headline here\n\nFirst line.\nSecond line.\nThird.")
    write(tmp_path / "C.md", "Another text entirely.")
    write(tmp_path / "c.txt", "Same id as C.md once slugified.")
    articles, skipped = load_corpus(tmp_path)
    assert [a.id for a in articles] == ["c", "b"]  # sorted by file name: "C.md" < "b.txt"
    b = articles[1]
    assert b.text == "First line.\nSecond line.\nThird."
    assert b.title == "Headline here"
    why = reasons(skipped)
    assert "already used by C.md" in why["c.txt"]
    assert "duplicate of b.txt" in why["d.txt"]


# --- real seed shapes --------------------------------------------------------------------------


def test_seed_dates_and_titles_are_recovered(seeds: dict) -> None:
    assert seeds["000"].date == "2022-02-26"
    assert seeds["001"].date == "2022-02-05"
    assert seeds["002"].date is None
    assert seeds["004"].date == "2021-12-17"
    assert seeds["002"].title == "China Sides with Russia over Looming Conflict in Ukraine"
    assert seeds["003"].title == "Biden and Xi to talk on phone as US presses China over Russia"
    assert seeds["004"].title == "The Mutual Embrace of True Friendship"
    # No headline: the first sentence, shortened.
    assert seeds["000"].title == (
        "As the war between Russia and Ukraine intensified on Saturday, a top…"
    )


def test_seed_metadata_lines_leave_the_text(seeds: dict) -> None:
    assert seeds["000"].text.startswith("As the war between Russia and Ukraine")
    assert "date 2022" not in seeds["001"].text
    assert seeds["002"].text.startswith("Beijing criticizes NATO")
    assert seeds["004"].text.startswith('"Both China and Russia need')
    assert "December 17, 2021" not in seeds["004"].text


def test_seed_boilerplate_is_removed_and_real_sentences_stay(seeds: dict) -> None:
    t3 = seeds["003"].text
    for junk in ("Leave a Reply", "Your email address", "Back to top"):
        assert junk not in t3
    assert t3.endswith("The two have met more than 30 times since 2013.")
    t4 = seeds["004"].text
    for junk in ("Labels:", "Follow @rheytah", "Tweet", "https://image.cnbcfm.com", "Kremlin.ru"):
        assert junk not in t4
    assert "insisting that Taiwan is part of mainland China" in t4
    assert t4.endswith("the closer ties forged over recent years between Moscow and Beijing.")
    assert "70th anniversary of diplomatic relations between Russia and China\n" in t4
    assert "Image: AP" not in seeds["000"].text
    assert seeds["000"].text.endswith("diplomatic counsellor to French President Emmanuel Macron.")
    # The body is otherwise kept as written: headings and curly quotes included.
    assert "\n\nRussia's security concerns should be addressed properly: China\n\n" in (
        seeds["000"].text
    )
    assert "\n\n\n" not in t3 and "\n\n\n" not in t4


def test_strip_boilerplate_keeps_real_sentences() -> None:
    text = (
        "Leave a reply to the question, he said.\nImage: AP\nPhoto: Reuters\n(Kremlin.ru)\n"
        "Share this article\nThe photo: a view of Beijing.\nSubscribe to our newsletter\n"
        "https://example.com/image/1.jpg\nKeep me."
    )
    assert strip_boilerplate(text) == (
        "Leave a reply to the question, he said.\nThe photo: a view of Beijing.\nKeep me."
    )


def test_parse_date_forms() -> None:
    for value in (
        "December 17, 2021",
        "Friday, December 17, 2021",
        "17 December 2021",
        "2021-12-17",
        "Dec. 17, 2021",
        "Dec 17 2021",
        "2021-12-17T08:00:00Z",
        "2021/12/17",
        "Fri, 17 Dec 2021 23:30:00 -0500",  # e-mail and RSS: the day as written, not UTC's
        "17 Dec 2021 10:00 GMT",
        "Friday, December 17, 2021 at 3:45 p.m. ET",
        "D:20211217083000+01'00'",  # PDF metadata
    ):
        assert parse_date(value) == "2021-12-17", value
    assert parse_date("February 30, 2022") is None
    assert parse_date("Friday") is None
    assert parse_date("2021-12/17") is None
    assert parse_date("December 17, 2021 and then some") is None


# --- stability -----------------------------------------------------------------------------------


def test_ids_and_hashes_are_stable_and_follow_edits(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "c")
    first, _ = load_corpus(tmp_path / "c")
    again, _ = load_corpus(tmp_path / "c")
    assert [(a.id, a.hash) for a in first] == [(a.id, a.hash) for a in again]
    assert [a.id for a in first] == sorted(a.id for a in first)
    target = tmp_path / "c" / "002_05be32e38e33c0c9.txt"
    target.write_text(target.read_text(encoding="utf-8") + " One more sentence.", "utf-8")
    edited, _ = load_corpus(tmp_path / "c")
    changed = [a.id for a, b in zip(first, edited) if a.hash != b.hash]
    assert changed == ["002-05be32e38e33c0c9"]


def test_read_article_file_reports_relative_paths(tmp_path: Path) -> None:
    path = write(tmp_path / "sub" / "x.txt", "")
    articles, skipped = read_article_file(path, tmp_path)
    assert articles == [] and skipped[0].path == "sub/x.txt"


def test_a_large_article_loads(tmp_path: Path) -> None:
    paragraph = "Mr. Xi met Mr. Putin on Feb. 4. They signed a 5,000-word statement.\n\n"
    write(tmp_path / "big.txt", "Big headline\n\n" + paragraph * 150_000)  # about 10 MB
    (a,), _ = load_corpus(tmp_path)
    assert a.title == "Big headline"
    assert len(a.text) > 9_000_000


def test_an_article_of_only_invisible_characters_is_skipped(tmp_path):
    from qa.corpus.ingest import load_corpus

    (tmp_path / "ghost.txt").write_text("\u200b\u200c\u0301\u200d\n\u2060", encoding="utf-8")
    (tmp_path / "real.txt").write_text("Harbour reopens.\n\nThe harbour reopened on Monday.", encoding="utf-8")
    articles, skipped = load_corpus(tmp_path)
    assert [a.path for a in articles] == ["real.txt"]
    assert skipped[0].path == "ghost.txt" and "no article text" in skipped[0].reason
