"""qa's fast load of the spaCy pipeline (qa.corpus.nlp.load_pipeline: an empty tokenizer
filled from the pipeline's file, the part of speech from the tag, numpy's BLAS, spaCy imported
without torch and pydantic.v1) parses as spaCy's own `spacy.load` does: article by article,
and sentence by sentence for the sentences and questions that are parsed alone."""

from __future__ import annotations

import json

import pytest

from qa.corpus import nlp
from tests.conftest import REPO, SEED_CORPUS

QUESTION_SETS = ("seeds.jsonl", "wikinews.jsonl", "wikinews_dev.jsonl", "wikinews_fresh.jsonl")

# Sentences the way questions and cited sentences come: alone, with the tokenizer's hard cases
# (abbreviations, contractions, URLs, e-mails, numbers with units, currencies, hyphens, quotes
# of every kind, emoticons, accents, dashes, brackets, all capitals, no final stop).
CRAFTED = [
    "What did the minister say about the new budget?",
    "Who won the election in 2019, and by how many votes?",
    "When was the bridge reopened after the flood?",
    "Why didn't they sign the agreement on Tuesday?",
    "How much did the U.S. pay for 3.5 million doses?",
    "Dr. Smith arrived at 5 p.m. with Mr. and Mrs. Jones.",
    "The e-mail came from press@example.org at 9:30am.",
    "See https://example.com/news?id=42&lang=en for the full report.",
    "Prices rose 4.2% to $1,250.75 (about €1,100) in Q3.",
    "It's 30km north of the capital; they'll arrive by 6pm.",
    "\"We won't stop,\" she said. 'Never.'",
    "“This is unacceptable,” the spokesperson told reporters — twice.",
    "«Nous sommes prêts», a-t-il déclaré à l’AFP.",
    "The co-operative's CEO — a 45-year-old ex-banker — resigned.",
    "I can't believe it :) what a day ;-)",
    "THE GOVERNMENT HAS FALLEN",
    "the talks resumed in geneva on monday",
    "Mr. O'Neill's rock'n'roll band played 'til 2 a.m.",
    "He said: \"(Maybe) [not] {now}...\"",
    "Ukraine's sovereignty, China's position and Russia's demands were discussed.",
    "The NATO-led force, the U.N. and the E.U. issued a joint statement.",
    "Temperatures hit -5°C at 06:00 GMT on 12/01/2022.",
    "Did Xi and Biden talk by phone on March 18?",
    "Which company bought the stadium for £20m?",
    "Over 1,200 members voted to accept a 4% pay rise.",
    "Is the port going to recover its lost trade???",
    "Nothing... nothing at all!",
    "He's gonna do it, ain't he?",
    "The #1 hashtag was #ElectionDay with 10k posts @ 3pm.",
    "Zoë and José met in São Paulo and Zürich.",
    "A 2-1 win, a 3–0 loss and a 1:1 draw.",
    "Section 4(b)(ii) of the act was repealed in 1998.",
    "Call +1 (555) 123-4567 or visit www.example.net.",
    "They paid US$5bn — roughly 0.3% of GDP.",
    "e.g. the i.e. etc. vs. cf. examples",
    "Oct. 5, Jan. 12 and Sept. 30 were the dates.",
    "Tabs\tand  double  spaces\nand a new line.",
    "'Tis the season, y'all.",
    "She asked, \"Where's the 'real' report?\"",
    "In the 1990s and '80s, the firm's profits doubled.",
]


def _seed_texts() -> list[str]:
    from qa.corpus.ingest import load_corpus

    articles, _ = load_corpus(SEED_CORPUS)
    return [a.text for a in articles]


def _sentences() -> list[str]:
    """The crafted sentences, the questions of the benchmark sets (questions as people ask
    them) and every sentence of the seed articles (sentences answers cite): several hundred."""
    from qa.corpus.chunking import split_sentences

    questions = [json.loads(line)["question"] for name in QUESTION_SETS
                 for line in (REPO / "bench" / "sets" / name).read_text().splitlines()
                 if line.strip()]
    found = [text[start:end].strip() for text in _seed_texts()
             for start, end in split_sentences(text)]
    return list(dict.fromkeys(CRAFTED + questions + [s for s in found if s]))


@pytest.fixture(scope="module")
def standard():  # type: ignore[no-untyped-def]
    """spaCy's plain load of the pipeline: its default tokenizer and every component loaded,
    set up as qa runs it: the attribute ruler off, its tag-to-POS table as a component,
    thinc's `NumpyOps`."""
    spacy = nlp._import_spacy()
    from thinc.api import NumpyOps

    plain = spacy.load(nlp.pipeline_path(), disable=["attribute_ruler"])
    for _, component in plain.pipeline:
        model = getattr(component, "model", None)
        for node in model.walk() if model is not None else ():
            node.ops = NumpyOps(use_blis=False)
    plain.add_pipe("qa_pos_of_tag", after="parser", config={
        "table": nlp._pos_of_tag(plain.get_pipe("attribute_ruler").patterns)})
    return plain


def _parse(doc):  # type: ignore[no-untyped-def]
    return ([(t.text, t.idx, t.whitespace_, t.tag_, t.pos_, t.dep_, t.head.i, t.ent_iob_,
              t.ent_type_, t.is_sent_start) for t in doc],
            [(e.start_char, e.end_char, e.label_) for e in doc.ents])


def test_sentences_parse_as_spacy_load_parses_them(standard):
    sentences = _sentences()
    assert len(sentences) >= 500
    ours = nlp.load_pipeline()
    differ = [s for s, a, b in zip(sentences, ours.pipe(sentences), standard.pipe(sentences),
                                   strict=True) if _parse(a) != _parse(b)]
    assert differ == []
    # One by one too, as questions are parsed.
    alone = sentences[:: len(sentences) // 60]
    assert [_parse(ours(s)) for s in alone] == [_parse(standard(s)) for s in alone]


def test_the_pipeline_parses_as_a_plain_spacy_load_does(standard):
    """qa loads the pipeline with an empty tokenizer that gets the pipeline's own rules, and
    without the attribute ruler (its tag patterns read from its file), the lemmatizer and the
    (disabled) sentence recogniser. On real articles, the tokenizer and every token, tag,
    part of speech, dependency, entity, sentence and noun phrase are those of spaCy's plain
    load, with spaCy's default tokenizer and every component loaded, set up as qa runs it:
    the attribute ruler off, its tag-to-POS table as a component, thinc's `NumpyOps`."""
    ours = nlp.load_pipeline()
    assert "attribute_ruler" in standard.component_names and "senter" in standard.component_names
    assert ours.tokenizer.to_bytes(exclude=["vocab"]) == \
        standard.tokenizer.to_bytes(exclude=["vocab"])
    assert len(standard.tokenizer.rules) > 1000
    texts = _seed_texts()
    assert len(texts) >= 5 and sum(map(len, texts)) > 10_000

    def parse(doc):  # type: ignore[no-untyped-def]
        return ([(t.text, t.idx, t.whitespace_, t.tag_, t.pos_, t.dep_, t.head.i, t.ent_iob_,
                  t.ent_type_) for t in doc],
                [(e.start_char, e.end_char, e.label_) for e in doc.ents],
                [(s.start, s.end) for s in doc.sents],
                [(n.start, n.end) for n in doc.noun_chunks])

    for a, b in zip(ours.pipe(texts), standard.pipe(texts), strict=True):
        assert parse(a) == parse(b)
        assert a.ents and {t.pos_ for t in a} >= {"NOUN", "VERB", "PROPN", "ADP", "DET"}
