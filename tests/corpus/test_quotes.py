import ast
import io
import json
import random
import re
import time
import tokenize
from pathlib import Path

import pytest

from qa.corpus.chunking import split_sentences
from qa.corpus.ingest import load_corpus
from qa.corpus.nlp import PIECE_CHARS, ParsedArticle, parse_texts
from qa.corpus.quotes import extract_quotes, find_speaker, is_person, person_in, person_names
from qa.corpus.quotes.cues import NAMING_VERBS
from qa.types import Article
from tests.conftest import REPO, SEED_CORPUS


def _extract_all(articles):
    """Each article with its quotes, found from its parse as a build finds them."""
    return [(a, extract_quotes(a, split_sentences(a.text), parsed))
            for a, parsed in zip(articles, parse_texts([a.text for a in articles]))]


@pytest.fixture(scope="module")
def seed_quotes():
    articles, _skipped = load_corpus(SEED_CORPUS)
    return {a.id: (a, qs) for a, qs in _extract_all(articles)}


def _by(seed_quotes, speaker):
    return [q for a, qs in seed_quotes.values() for q in qs if q.speaker == speaker]


def test_every_quote_is_an_exact_span(seed_quotes):
    for a, qs in seed_quotes.values():
        for q in qs:
            assert a.text[q.start:q.end] == q.text
            assert q.sentence[0] <= q.start and q.end <= q.sentence[1]


def test_quotation_marks_only_around_quoted_words(seed_quotes):
    """A quotation keeps the article's own marks; a reported clause gets none of its own
    (`qa quotes` prints the text as it is)."""
    kritenbrink = [q.text for q in _by(seed_quotes, "Daniel Kritenbrink")]
    assert any(t.startswith("Beijing could have played a role") for t in kritenbrink)  # reported
    assert any(t.startswith('"The meeting should have provided')  # quoted
               and t.endswith('responsible powers,"') for t in kritenbrink)


def test_said_after_quote_and_role_before_name(seed_quotes):
    texts = " ".join(q.text for q in _by(seed_quotes, "Daniel Kritenbrink"))
    assert "The meeting should have provided China the opportunity" in texts
    assert "Beijing could have played a role" in texts  # "… official Daniel Kritenbrink stated that"


def test_pronoun_and_short_name_resolve_to_the_full_name(seed_quotes):
    texts = " ".join(q.text for q in _by(seed_quotes, "Liu Xiaoming"))
    assert "China firmly believes" in texts  # "…," he wrote on Twitter
    assert "The current situation is not what we want to see" in texts  # "…," Xiaoming added
    zhao = " ".join(q.text for q in _by(seed_quotes, "Zhao Lijian"))
    assert "lord it over the world" in zhao  # "…," he told reporters (after "spokesman Zhao Lijian")
    assert "NATO should abandon" in zhao


def test_continued_quote_and_caption_attribution(seed_quotes):
    yu = " ".join(q.text for q in _by(seed_quotes, "Katrina Yu"))
    assert "neutral role" in yu and "refused to take sides" in yu
    xi = " ".join(q.text for q in _by(seed_quotes, "Xi Jinping"))
    assert "joint actions" in xi


def test_scare_quotes_are_not_quotes(seed_quotes):
    all_texts = [q.text for _, qs in seed_quotes.values() for q in qs]
    assert "fundamental points" not in all_texts


_ODD = [
    "", "\"", "“unclosed", "\"\"\"\"", "said said said", "[bold]x[/] <script>alert(1)</script>",
    "He said.", "“a” “b” ” “", "\n\n\"x,\" he said\n", "according to", "According to",
    '"x" said', "said \"a b c\" according to",
]


def test_odd_text_never_raises(caplog):
    for text, (_a, found) in zip(_ODD, _extract_all([_article(t) for t in _ODD])):
        for q in found:
            assert text[q.start:q.end] == q.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # no bug was swallowed


def test_random_text_never_raises(caplog):
    rng = random.Random(3)
    alphabet = "ab C D\"“”‘’,.;:!? \nsaid told he Ada Okafor wrote according to"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300))) for _ in range(200)]
    for text, (_a, found) in zip(texts, _extract_all([_article(t) for t in texts])):
        for q in found:
            assert text[q.start:q.end] == q.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_every_quotation_is_more_than_a_fragment(seed_quotes):
    """`qa quotes NAME` lists whole quotations: never one or two words ("costs", "dear friend")
    but for what a verb of naming governs ('called the plan "reckless"')."""
    for _, qs in seed_quotes.values():
        for q in qs:
            assert len(q.text.split()) >= 3 or q.cue in NAMING_VERBS, q


def test_a_short_quotation_inside_reported_speech_comes_with_its_clause(seed_quotes):
    blinken = [q.text for q in _by(seed_quotes, "Antony Blinken")]
    # '… Blinken said Biden would use the call to “make clear …”, and there would be “costs” …'
    assert any(t.startswith("Biden would use the call to “make clear") and "“costs”" in t for t in blinken)
    assert len([t for t in blinken if "“costs”" in t]) == 1  # each quotation once


@pytest.mark.parametrize("question, speaker", [
    ("What did Kritenbrink say about the meeting?", "Kritenbrink"),
    ("What did Zhao Lijian say about NATO?", "Zhao Lijian"),
    ("What has Wang Yi said?", "Wang Yi"),
    ("What did Mikel Arteta say about the referee?", "Mikel Arteta"),
    ("What did the White House say?", "White House"),  # bodies speak too
    ("Who is Katrina Yu?", None),
    ("What did he say?", None),
    ("What did the club say?", None),
])
def test_find_speaker(question, speaker):
    assert find_speaker(question) == speaker


@pytest.mark.parametrize("phrase, name", [
    ("Foreign Ministry spokesperson Zhao Lijian", "Zhao Lijian"),
    ("Secretary of State Antony Blinken", "Antony Blinken"),
    ("First Minister of Scotland Nicola Sturgeon", "Nicola Sturgeon"),
    ("Arsenal manager Mikel Arteta", "Mikel Arteta"),
    ("Acme Corp chief executive Jane Doe", "Jane Doe"),
    ("Manchester United manager Erik ten Hag", "Erik ten Hag"),
    ("Regarding Smith's phone call", None),
    ("Freedonia's foreign ministry", None),
    ("the Electoral Commission", None),
    ("Manchester United", None),
    ("John Major", "John Major"),
    ("Theresa May", "Theresa May"),
    ("Pope Francis", "Pope Francis"),
])
def test_person_in_takes_the_name_after_the_last_role(phrase, name):
    assert person_in(phrase) == name


_SPEAKERS = ["Daniel Kritenbrink", "Russia and China", "Mikel Arteta", "Arsenal", "Acme Corp",
             "Freedonia's foreign ministry", "Electoral Commission", "Jane Doe"]


@pytest.mark.parametrize("name, person", [
    ("Kritenbrink", True),  # a speaker's name holds it: "Daniel Kritenbrink"
    ("Arteta", True),
    ("Zhao Lijian", True),  # two name words are a person's, quoted or not
    ("Maria Lopez", True),
    ("China", False),  # only a body's name holds it: "Russia and China"
    ("Arsenal", False),
    ("Acme Corp", False),
    ("Freedonia", False),  # no speaker holds it at all
    ("Electoral Commission", False),
    ("Foreign Ministry", False),
    ("White House", False),
])
def test_is_person_asks_the_data_about_a_single_word(name, person):
    assert is_person(name, _SPEAKERS) is person


def test_a_person_named_but_never_quoted_is_a_person():
    text = ("United States President Joe Biden met Xi Jinping in South Korea on Monday. "
            "Freedonia said the talks in New York had failed.")
    names = person_names(text)
    assert names == ["Joe Biden", "Xi Jinping"]  # places are no people's names
    assert is_person("Biden", names)
    assert not is_person("Freedonia", names) and not is_person("Korea", names)


def _article(text: str) -> Article:
    return Article("x", "t", None, "", None, "x.txt", text, "h")


def _quotes_of(text: str) -> list[tuple[str, str]]:
    ((_, found),) = _extract_all([_article(text)])
    for q in found:
        assert text[q.start:q.end] == q.text
        assert q.sentence[0] <= q.start and q.end <= q.sentence[1]
    return [(q.speaker, q.text) for q in found]


def test_a_football_club_and_its_manager():
    text = ('"We were not good enough today," said Manchester United manager Erik ten Hag. '
            'Arsenal manager Mikel Arteta said his side would "fight until the last game". '
            "Liverpool FC said the striker would miss the match against Arsenal.")
    assert _quotes_of(text) == [
        ("Erik ten Hag", '"We were not good enough today,"'),
        ("Mikel Arteta", 'his side would "fight until the last game"'),
        ("Liverpool FC", "the striker would miss the match against Arsenal"),
    ]


def test_a_company_and_its_chief_executive():
    text = ("Acme Corp chief executive Jane Doe told analysts that margins held up in the quarter. "
            '"We expect growth to return next year," she said. '
            "The company announced his resignation on Friday. "
            "According to Acme Corp, the factory in Springfield will close in June.")
    assert _quotes_of(text) == [
        ("Jane Doe", "margins held up in the quarter"),
        ("Jane Doe", '"We expect growth to return next year,"'),
        ("Acme Corp", "the factory in Springfield will close in June"),
    ]


def test_an_election_with_candidates():
    text = ("Speaking in Springfield, candidate Maria Lopez told supporters the count was not over. "
            '"Every vote will be counted," said Tom Baker, her opponent. '
            "The Electoral Commission said turnout was 64 percent. "
            "President Ana Ruiz of Freedonia said the result would be respected.")
    assert _quotes_of(text) == [
        ("Maria Lopez", "the count was not over"),
        ("Tom Baker", '"Every vote will be counted,"'),
        ("Electoral Commission", "turnout was 64 percent"),
        ("Ana Ruiz", "the result would be respected"),
    ]


def test_a_place_or_an_owner_is_never_the_person_quoted():
    text = ("Dr. Ana Ruiz at Saint Mary's Hospital said the patient was stable. "
            "Freedonia's foreign ministry said the talks had failed. "
            "Steve Peers of the University of Essex said the ruling was new. "
            'Regarding John Smith\'s call, former prosecutor Ann Lee said: "It is a serious matter." '
            "Smith said that he had done nothing wrong.")
    speakers = [s for s, _ in _quotes_of(text)]
    assert speakers == ["Ana Ruiz", "Freedonia's foreign ministry", "Steve Peers", "Ann Lee", "John Smith"]


# Who said it, from the parse: short articles with invented people, places and companies.
@pytest.mark.parametrize("text, expected", [
    pytest.param(  # "she": the person the sentence before is about
        'Ada Okafor, the mayor of Port Elm, opened the bridge on Monday. '
        '"It will carry ten thousand cars a day," she said.',
        [("Ada Okafor", '"It will carry ten thousand cars a day,"', "said")], id="pronoun"),
    pytest.param(  # "the minister": the person the article names with that role
        "Interior Minister Ada Okafor visited the flooded district on Tuesday. "
        "The minister said the repairs would take a month.",
        [("Ada Okafor", "the repairs would take a month", "said")], id="role"),
    pytest.param(  # the role named after the name, the short name before it
        "Tom Baker, the chief executive of Acme Corp, met the unions. Later the chief "
        'executive said the plant would stay open. "We will hire again," Baker added.',
        [("Tom Baker", "the plant would stay open", "said"),
         ("Tom Baker", '"We will hire again,"', "added")], id="role-and-surname"),
    pytest.param(
        "According to Ada Okafor, the bridge will reopen in June.",
        [("Ada Okafor", "the bridge will reopen in June", "according to")], id="according-to"),
    pytest.param(  # (a person the article names, even where the recogniser reads a place)
        "Ada Okafor inspected the bridge on Monday. "
        "The bridge will reopen in June, according to Ada Okafor.",
        [("Ada Okafor", "The bridge will reopen in June", "according to")], id="according-to-after"),
    pytest.param(  # inverted: the verb before its subject
        '"The bridge is safe for every car and every truck," said Ada Okafor.',
        [("Ada Okafor", '"The bridge is safe for every car and every truck,"', "said")],
        id="inverted"),
    pytest.param(  # a country word alone is no speaker; a body of the country is
        "Freedonia said the talks had failed. "
        "Freedonia's foreign ministry said the talks would resume in May.",
        [("Freedonia's foreign ministry", "the talks would resume in May", "said")],
        id="country-alone"),
    pytest.param(  # a spokesperson speaks for the organisation when they have no name
        "An Acme Corp spokeswoman said the factory would close in June.",
        [("Acme Corp", "the factory would close in June", "said")], id="spokesperson"),
    pytest.param(
        'Acme Corp opened a plant in Port Elm. "We are proud of it," the company\'s '
        "spokeswoman said.",
        [("Acme Corp", '"We are proud of it,"', "said")], id="the-company-spokeswoman"),
    pytest.param(  # the agent of a passive
        "It was announced by Acme Corp that the factory would close in June.",
        [("Acme Corp", "the factory would close in June", "announced")], id="passive"),
    pytest.param(  # a stray straight mark does not turn the later quotations inside out
        'The new 12" pipe was laid on Monday. Ada Okafor said the pipe "will carry water to '
        'every house" and "will last fifty years".',
        [("Ada Okafor", 'the pipe "will carry water to every house" and "will last fifty '
          'years"', "said")], id="stray-mark"),
    pytest.param(  # a quotation a person's sentence introduces with a colon
        "Ada Okafor, the mayor of Port Elm, read the survey. She disagreed with its findings: "
        '"The bridge has never been safer than it is today."',
        [("Ada Okafor", '"The bridge has never been safer than it is today."', "disagreed")],
        id="colon"),
    pytest.param(  # the next quotation of the paragraph, after a full stop, is hers too
        '"The bridge is safe," said Ada Okafor. "We checked every bolt twice."',
        [("Ada Okafor", '"The bridge is safe,"', "said"),
         ("Ada Okafor", '"We checked every bolt twice."', "continued")], id="continued"),
    pytest.param(  # the police speak as an organisation; a text is nobody's words
        "Further charges may be laid in the future, police said. "
        'The 14th Amendment states: "all persons born here are citizens of the town."',
        [("police", "Further charges may be laid in the future", "said")], id="police-and-law"),
    pytest.param(  # unnamed speakers and groups give nothing, and "she" is the witness
        'Ada Okafor arrived later. An eyewitness said the bus hit the bridge. "It was '
        'terrible," she said. Officials said the road was closed. Ada Okafor and Tom Baker '
        "said the deal was fair.",
        [], id="unnamed-and-groups"),
    pytest.param(  # a verb of naming makes even one quoted word the speaker's
        'Ada Okafor, the mayor of Port Elm, called the plan "reckless" on Monday.',
        [("Ada Okafor", '"reckless"', "called")], id="naming-verb"),
    pytest.param(  # "no candidate", "every official": no one in particular
        "Ada Okafor, a candidate for mayor, visited the bridge. No candidate mentioned that "
        "the bridge would close in June.",
        [], id="no-one-in-particular"),
    pytest.param(  # "did not disclose" says nothing, so it governs no quotation
        "Acme's constitution prohibits \"any intervention or activities of a political, "
        'military, religious or racial character," an Acme spokesperson stated. The '
        "spokesperson added regarding Freedonia's request, they \"would not consider requests "
        "of this nature\"; Acme didn't disclose at the time whether it received any arrest "
        "warrants from Freedonia.",
        [("Acme", '"any intervention or activities of a political, military, religious or '
          'racial character,"', "stated"),
         ("Acme", '"would not consider requests of this nature"', "added")], id="silent-cue"),
    pytest.param(  # a short quotation joined to the one a verb of naming governs
        'Ada Okafor called the maritime border agreement "null and void" and "ridiculous" on '
        "Monday.",
        [("Ada Okafor", '"null and void"', "called"), ("Ada Okafor", '"ridiculous"', "called")],
        id="naming-verb-joined"),
    pytest.param(  # a quotation hanging from the words of another is the same speaker's
        "Search was suspended on Tuesday, with Okafor describing the \"real threat of another "
        'part of the building collapsing" as making it "impossible to continue working in such '
        'conditions", and work launched to stabilise the structure.',
        [("Okafor", '"real threat of another part of the building collapsing"', "describing"),
         ("Okafor", '"impossible to continue working in such conditions"', "describing")],
        id="quotation-from-quotation"),
    pytest.param(  # the parse took the spokesman into "according to X": no one is reported
        "According to the Daily Courier, a spokesman for Acme Corp expressed disappointment "
        "and that the company intends to appeal; \"The plant needs a strong domestic order "
        'book this year." According to the Daily Courier, Wednesday\'s earthquake, at 6.3, '
        "was the strongest recorded in the town.",  # (an appositive naming no one: X speaks)
        [("Daily Courier", "at 6.3, was the strongest recorded in the town", "according to")],
        id="according-to-misread"),
    pytest.param(  # a cue in the next paragraph is not the quotation's
        '"The only conclusion I can reach after reading that report is that the board wants '
        'him to resign," tweeted former executive Ken Okafor. "That\'s the only explanation I '
        'can come up with for this."\n\nAccording to a poll published by the Daily Courier '
        "last week, over 220 members of the council favored a recall.",
        [("Ken Okafor", '"The only conclusion I can reach after reading that report is that the '
          'board wants him to resign,"', "tweeted"),
         ("Ken Okafor", '"That\'s the only explanation I can come up with for this."',
          "continued"),
         ("Daily Courier", "over 220 members of the council favored a recall", "according to")],
        id="cue-in-the-next-paragraph"),
    pytest.param(  # "per X" at the head of a sentence; a text's issuer is its speaker
        "On Thursday, Pope Francis announced a new church law. Per the decree signed by the "
        "leader of the church, priests are expected to notify the higher authorities.",
        [("Francis", "priests are expected to notify the higher authorities", "per")],
        id="per-and-issuer"),
    pytest.param(
        "Per numbers reported by Acme Corp, 415 thousand workers are subject to the "
        "requirement. The bus costs ten dollars per person, the report said.",
        [("Acme Corp", "415 thousand workers are subject to the requirement", "per")],
        id="per-reported-by"),
    pytest.param(
        "On Thursday, Pope Francis announced a new church law. The decree signed by the Pope "
        'read "The crimes of abuse offend the faithful and harm the community of the church."',
        [("Francis", '"The crimes of abuse offend the faithful and harm the community of the '
          'church."', "read")], id="statement-signed-by"),
    pytest.param(  # a description past an owner's owner is the owner's own
        "According to the Acme Group's Widget Division's chief safety officer, the plant was "
        "completely safe.",
        [("Widget Division's chief safety officer", "the plant was completely safe",
          "according to")], id="long-description"),
    pytest.param(  # a surname written with one letter changed is the person named in full
        "Military spokesperson Yahya Sarea said it had carried out the attack using ten drones. "
        '"These attacks are our right, and we warn them that our targets will keep expanding", '
        "Saree said.",
        [("Yahya Sarea", "it had carried out the attack using ten drones", "said"),
         ("Yahya Sarea", '"These attacks are our right, and we warn them that our targets will '
          'keep expanding"', "said")], id="spelt-otherwise"),
    pytest.param(  # a clause a semicolon closes is nobody's words, though the parse hangs
        # it from the cue after it; "X said" after a comma still reports the clause before
        "That spring, the Greener Harbour campaign began; Okafor promised marches every week "
        "until Elmland signed the treaty. The harbour will close in June, Okafor said.",
        [("Okafor", "The harbour will close in June", "said")], id="semicolon-closes"),
])
def test_who_said_it_from_the_parse(text, expected):
    ((_, found),) = _extract_all([_article(text)])
    assert [(q.speaker, q.text, q.cue) for q in found] == expected
    for q in found:
        assert text[q.start:q.end] == q.text


@pytest.mark.parametrize("text", [
    'Trump was said to be suffering "minor symptoms", and was admitted to hospital.',
    'Time magazine named the activist its "Person of the Year".',
    "The governor declared a state of emergency on Thursday.",
    "The group subsequently claimed responsibility.",
    "Biden did not say in the debate whether he supports the change.",
    'The conflict between the two states centers on the region.',
])
def test_narration_is_not_a_quote(text):
    assert _quotes_of(text) == []


# The seed corpus's world must not be written into the code: no country, city or body names
# outside docstring examples (issue 11).
_SEED_WORLD = re.compile(r"russia|china|ukraine|beijing", re.I)


def _docstring_lines(source: str) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def test_no_knowledge_of_the_seed_corpus_in_the_code():
    hits = []
    for path in sorted((REPO / "qa").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        docstrings = _docstring_lines(source)
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.STRING and tok.start[0] in docstrings:
                continue
            if tok.type in (tokenize.COMMENT, tokenize.STRING, tokenize.NAME) and _SEED_WORLD.search(tok.string):
                hits.append(f"{path.relative_to(REPO)}:{tok.start[0]}: {tok.string.strip()[:80]}")
    assert not hits, "\n".join(hits)


def test_seed_quotes_are_unchanged():
    """Every quote the seed corpora give, by speaker, cue and span, as recorded in
    tests/fixtures/seed_quotes.json. When a change to the extractor is meant to alter these,
    check the differences by hand and rewrite the file."""
    expected = json.loads((Path(__file__).parents[1] / "fixtures" / "seed_quotes.json").read_text())
    found = []
    for folder in ("corpus", "tests/fixtures/seeds"):
        articles, _ = load_corpus(REPO / folder)
        for a, quotes in _extract_all(sorted(articles, key=lambda a: a.id)):
            for q in quotes:
                found.append([folder, a.id, q.speaker, q.cue, q.start, q.end, list(q.sentence)])
    assert found == expected


_NAMES = ["Jane Smith", "Liu Xiaoming", "Daniel Kritenbrink", "Zhao Lijian", "Maria Lopez"]
_ROLES = ["a spokeswoman", "the foreign minister", "a senior official", "an analyst"]
_SENTENCES = [
    '"We will not accept any interference in our internal affairs," said {n}, {r}.',
    "“The talks were constructive and we hope to meet again soon,” {n} told reporters.",
    "{n} said that the sanctions would hurt ordinary people more than the government.",
    "According to {n}, the negotiations could resume next month.",
    "The ministry issued a statement on Tuesday about the trade figures for the quarter.",
    '"It is too early to say," {p} added.',
    '{n}, {r}, warned that "the situation remains very fragile" after the clash.',
    "The minister said the talks would continue next week, according to the company.",
]


def _news_units(chars: int, *, paragraphs: bool) -> list[str]:
    """Quoted news sentences, each with the space after it, in paragraphs of three or (for
    `paragraphs=False`) one line."""
    rng = random.Random(chars)
    out, size = [], 0
    while size < chars:
        s = rng.choice(_SENTENCES).format(
            n=rng.choice(_NAMES), r=rng.choice(_ROLES), p=rng.choice(["he", "she"]))
        out.append(s + (" " if len(out) % 3 != 2 or not paragraphs else "\n\n"))
        size += len(out[-1])
    return out


def _parsed_news(chars: int, *, paragraphs: bool) -> tuple[str, ParsedArticle]:
    """A long article and its parse. Parsing megabytes would take minutes: each distinct
    sentence is parsed once, and the pieces of the article are made of those docs."""
    from spacy.tokens import Doc

    units = _news_units(chars, paragraphs=paragraphs)
    distinct = sorted(set(units))
    docs = {u: p.pieces[0][1] for u, p in zip(distinct, parse_texts(distinct))}
    limit = PIECE_CHARS  # the longest piece the pipeline is given
    pieces, piece, size, at = [], [], 0, 0
    for u in [*units, None]:
        if piece and (u is None or size + len(u) > limit):
            pieces.append((at, Doc.from_docs([docs[x] for x in piece], ensure_whitespace=False)))
            at += size
            piece, size = [], 0
        if u is not None:
            piece.append(u)
            size += len(u)
    text = "".join(units)
    assert "".join(doc.text for _, doc in pieces) == text
    return text, ParsedArticle(pieces)


def _extraction_seconds(text: str, parsed: ParsedArticle) -> tuple[float, int]:
    article = Article("big", "t", None, "", None, "big.txt", text, "h")
    sentences = split_sentences(text)
    best, found = float("inf"), 0
    for _ in range(2):  # best of two: the machine is shared
        t0 = time.perf_counter()
        found = len(extract_quotes(article, sentences, parsed))
        best = min(best, time.perf_counter() - t0)
    return best, found


@pytest.mark.parametrize("paragraphs", [True, False], ids=["paragraphs", "one-line"])
def test_extraction_time_grows_linearly_with_the_article(paragraphs):
    """A 50 MB article must index like 50 MB of articles: 4x the text, not 16x the time."""
    small, n_small = _extraction_seconds(*_parsed_news(500_000, paragraphs=paragraphs))
    large, n_large = _extraction_seconds(*_parsed_news(2_000_000, paragraphs=paragraphs))
    assert n_large > 3 * n_small > 0
    assert large < 8 * small, f"0.5 MB: {small:.2f}s, 2 MB: {large:.2f}s"


@pytest.mark.parametrize("asked, speaker, same", [
    ("Ada Okafor", "Ada B. Okafor", True),  # a middle name
    ("Ada B. Okafor", "Ada Okafor", True),
    ("Okafor", "Ada Okafor", True),
    ("Ada Okafor", "Ben Okafor", False),
    ("Ada Okafor", "Ada Baker", False),
])
def test_speaker_matches_past_a_middle_name(asked, speaker, same):
    from qa.corpus.quotes import speaker_matches

    assert speaker_matches(asked, speaker) is same


def test_an_acronym_speaker_is_the_organisation_it_abbreviates():
    text = ("The notice came from the Federation of Example Builders (FEB) on Monday. "
            "The FEB said the new rules would raise the cost of every home by a tenth.")
    assert _quotes_of(text) == [
        ("Federation of Example Builders", "the new rules would raise the cost of every home by a tenth")]


def test_an_acronym_two_organisations_share_is_left_as_written():
    text = ("The Federation of Example Builders met the Fair Employment Board on Monday. "
            "The FEB said the new rules would raise the cost of every home by a tenth.")
    assert [s for s, _ in _quotes_of(text)] == ["FEB"]


def test_quoted_as_saying_gives_the_words_to_the_one_quoted():
    text = ('The Daily Courier quoted Ada Okafor, a former deputy at the agency, as saying '
            '"the agency has an important role in the response to the flood".')
    assert [s for s, _ in _quotes_of(text)] == ["Ada Okafor"]


@pytest.mark.parametrize("text, expected", [
    pytest.param(  # the name closes a long role phrase; the parse hangs it from its last noun
        "The then-manager of Elmouth Publicity and Director of Mid Oakshire Tourism Partnership, "
        'Dana Whitcombe, called it "a retrograde step" and said "an area like this cannot afford '
        'to lose such a quality hotel."',
        [("Dana Whitcombe", '"a retrograde step"'),
         ("Dana Whitcombe", '"an area like this cannot afford to lose such a quality hotel."')],
        id="name-closing-a-role-phrase"),
    pytest.param(  # a surname alone is the one named in full before it, not the one after
        "Former agent Tony Mercer died on Saturday, aged 78. Mercer is known for organizing the "
        "safe return of six diplomats. Mercer once told a newspaper he considered himself an "
        'artist first. His wife Jonna Mercer said, "He could be anyone." A fourth book, '
        "co-written with Jonna Mercer, is due in May.",
        [("Tony Mercer", "he considered himself an artist first"),
         ("Jonna Mercer", '"He could be anyone."')],
        id="surname-named-before"),
    pytest.param(  # '"…," tweeted X': the parse reads the quotation as the subject
        '"The only conclusion I can reach after reading that devastating call summary is that '
        'the palace staff want him to resign or be impeached," tweeted former thinktank '
        "executive Ken Gade.",
        [("Ken Gade", '"The only conclusion I can reach after reading that devastating call '
          'summary is that the palace staff want him to resign or be impeached,"')],
        id="inverted-object"),
    pytest.param(  # a nationality word with the person named beside it
        "Since then, a Freedonian, Dana Whitcombe, has publicly voiced support for the inquiry, "
        'telling the Elm Courier: "I am a big fan of oversight, so let the committees get '
        'to work."',
        [("Dana Whitcombe", '"I am a big fan of oversight, so let the committees get to work."')],
        id="apposition-to-a-party-word"),
    pytest.param(  # "X reported on Monday, …": the parse made the report the sentence's head
        "The vaccination drive began on Monday. Elm Courier reported on Thursday, coverage "
        "had risen to 55 percent.",
        [("Elm Courier", "coverage had risen to 55 percent")], id="report-before-a-comma"),
    pytest.param(  # a public body named by its nationality
        "The first reports were of drone attacks, but the Freedonian government said the attack "
        "included missiles which could not have come from the coast.",
        [("Freedonian government", "the attack included missiles which could not have come from "
          "the coast")], id="nationality-and-body"),
    pytest.param(  # "according to" a place and a name: the parse took the place alone
        "According to Freedonia Senator Dana Whitcombe, the airplane is one of eighteen still "
        "flying in the country.",
        [("Dana Whitcombe", "the airplane is one of eighteen still flying in the country")],
        id="according-to-a-place-and-a-name"),
    pytest.param(  # "…, X said, to …": the purpose is the clause's, not a directive
        "Engineer Dana Whitcombe said the road will be examined. The guardrail would be "
        "examined, Whitcombe said, to determine if it had performed as designed.",
        [("Dana Whitcombe", "the road will be examined"),
         ("Dana Whitcombe", "The guardrail would be examined")], id="said-between-commas"),
    pytest.param(  # "led X to express …": the object speaks
        'Backlash from the statement led Dana Whitcombe to express "I should not have been so '
        'cavalier about it."',
        [("Dana Whitcombe", '"I should not have been so cavalier about it."')],
        id="object-speaks"),
    pytest.param(  # verbs of telling what one thinks: hinted, shared, pointed out
        "Dana Whitcombe hinted that the task force would be disbanded. Ken Gade shared that he "
        "was prone to meltdown in the suit. Tom Harlow pointed out it would have been much more "
        "costly to research the technology than to buy it.",
        [("Dana Whitcombe", "the task force would be disbanded"),
         ("Ken Gade", "he was prone to meltdown in the suit"),
         ("Tom Harlow", "it would have been much more costly to research the technology than "
          "to buy it")], id="hinted-shared-pointed-out"),
    pytest.param(  # "would later say": a future in the past, which happened
        "Dana Whitcombe married four times. She would later say her union with the author was "
        "her only happy marriage.",
        [("Dana Whitcombe", "her union with the author was her only happy marriage")],
        id="would-later-say"),
    pytest.param(  # "— which Y noted as …" names the remark; the words are still X's
        "Speaker Dana Whitcombe commented on the matter — which the Elm Courier noted as an "
        'unusual move by a Speaker — "However it is dressed up, the purpose of this is to stop '
        'the debate."',
        [("Dana Whitcombe", '"However it is dressed up, the purpose of this is to stop the '
          'debate."')], id="which-noted-as"),
    pytest.param(  # a text owned by a pronoun: "her memoirs", "its website"
        "Dana Whitcombe was married four times but, according to her memoirs, also had some "
        "romantic involvement with three actors. The Elm Safety Board is closed by the "
        "shutdown; however, its website notes that its operations center is still accepting "
        "notifications.",
        [("Dana Whitcombe", "also had some romantic involvement with three actors"),
         ("Elm Safety Board", "its operations center is still accepting notifications")],
        id="text-of-a-pronoun"),
    pytest.param(  # "said X required help": the parse reads a noun phrase, it is a clause
        "Minister Dana Whitcombe spoke on Monday. Whitcombe said Okonkwo required "
        'resuscitation, and was in a "serious" condition.',
        [("Dana Whitcombe", 'Okonkwo required resuscitation, and was in a "serious" '
          'condition')], id="clause-read-as-an-object"),
    pytest.param(  # words in the first person, quoted in a sentence about someone
        "Dana Whitcombe has been cosplaying for two years. She typically chooses \"to portray "
        'beloved characters from childhood. I also enjoy a good twist!"',
        [("Dana Whitcombe", '"to portray beloved characters from childhood. I also enjoy a '
          'good twist!"')], id="first-person-without-a-cue"),
    pytest.param(  # a title in the first person is no one's words
        'Dana Whitcombe starred in "I Love Lucy Again" in 1990, and in "Wait for Me" later.',
        [], id="first-person-title"),
    pytest.param(  # "according to <role>, <name>, …": the parse hangs the name from a comma
        "According to the town's fire chief, Dana Whitcombe, the fire began in the kitchen. "
        "According to the report, Ken Gade, the manager, left early.",
        [("Dana Whitcombe", "the fire began in the kitchen")], id="according-to-a-role-and-name"),
])
def test_who_said_it_past_a_misleading_parse(text, expected):
    assert _quotes_of(text) == expected


def test_a_name_the_recogniser_calls_an_organisation_is_a_person_with_a_title_beside_it():
    from qa.corpus.nlp import load_pipeline
    from qa.corpus.quotes.mentions import _titled_person

    doc = load_pipeline()("The paper spoke with Ada Okafor, the government commissioner for "
                          "roads. It also spoke with Elm Partners, the company behind the plan.")
    okafor = next(t for t in doc if t.text == "Okafor")
    partners = next(t for t in doc if t.text == "Partners")
    assert _titled_person("Ada Okafor", okafor)
    assert not _titled_person("Elm Partners", partners)  # a company, with no person's title


@pytest.mark.parametrize("text, expected", [
    pytest.param(  # a verb of naming with a long object before its short quotation
        "Ken Gade repeatedly called the council's inquiry into the harbour a \"witch hunt\".",
        [("Ken Gade", '"witch hunt"')], id="naming-past-a-long-object"),
    pytest.param(  # "referred to X as …", "labeled X as …", "hailed X as …"
        "Dana Whitcombe referred to the protests as acts of \"civic vandalism\". Ken Gade "
        "labeled the report as \"fake news\". Tom Harlow hailed the treaty as the \"dawn of "
        "a new era.\"",
        [("Dana Whitcombe", '"civic vandalism"'), ("Ken Gade", '"fake news"'),
         ("Tom Harlow", '"dawn of a new era."')], id="referred-labeled-hailed-as"),
    pytest.param(  # what the speaker named it, in capitals, is still their words
        "Dana Whitcombe opposed the vote, and on social media referred to it as \"The Harbour "
        "Hoax\".",
        [("Dana Whitcombe", '"The Harbour Hoax"')], id="naming-a-capitalised-name"),
    pytest.param(  # a clause between the verb and the quotation: the quotation is not named
        "Ken Gade called the plan that the board failed \"bold\".",
        [], id="naming-past-a-clause"),
    pytest.param(  # a passive verb of naming names a thing, not what someone said
        "The rebels were referred to as \"The Northern Band\" by historians.",
        [], id="naming-passive"),
])
def test_verbs_of_naming_and_their_short_quotations(text, expected):
    assert _quotes_of(text) == expected


@pytest.mark.parametrize("text, expected", [
    pytest.param(  # an organisation's sentence that says it issued a statement, then a colon
        "Elm Valley Rail issued a statement on Monday: \"We are working with the police to "
        "find out what happened.\"",
        [("Elm Valley Rail", '"We are working with the police to find out what happened."')],
        id="organisation-statement-colon"),
    pytest.param(  # "in a statement, X did …:" with an organisation as X
        "In a statement released after the vote, the Elmtown Harbour Board defended the "
        "decision: \"The harbour must be kept safe for every vessel that uses it.\"",
        [("Elmtown Harbour Board", '"The harbour must be kept safe for every vessel that '
          'uses it."')], id="in-a-statement-colon"),
    pytest.param(  # an organisation's sentence that says nothing was said: no speaker
        "The Elmtown Harbour Board closed the pier: \"No entry beyond this point for anyone.\"",
        [], id="organisation-colon-without-speech"),
    pytest.param(  # "the following statement from <role>": the role's person
        "King Tomas Varga spoke last week. The palace issued the following statement from "
        "the king: \"The royal family stands above politics, in whatever way.\"",
        [("Tomas Varga", '"The royal family stands above politics, in whatever way."')],
        id="statement-from-a-role"),
    pytest.param(  # "the government of X": a body named by what it governs
        "The government of Elm Island issued a statement: \"The matter should be decided by "
        "the assembly.\" Their statement also read \"the island's people have chosen their "
        "own way.\"",
        [("government of Elm Island", '"The matter should be decided by the assembly."'),
         ("government of Elm Island", '"the island\'s people have chosen their own way."')],
        id="government-of-a-place"),
    pytest.param(  # a short name in brackets is the full name's
        "The wrestler Dana Whitcombe has died, the promotion World Elm Ring Star (Star) "
        "announced yesterday. She was a one-time Goddess of Star champion. Star's official "
        "statement read \"We are very sorry to report that our Dana has passed away.\"",
        [("World Elm Ring Star", '"We are very sorry to report that our Dana has passed '
          'away."')],
        id="short-name-in-brackets"),
])
def test_organisations_and_their_statements(text, expected):
    assert _quotes_of(text) == expected


@pytest.mark.parametrize("text, expected", [
    pytest.param(  # a court's finding, with "the court" the one named before
        "On Monday, the Supreme Court of Freedonia issued a ruling on the law. The court found "
        "that the minister's advice was unlawful.",
        [("Supreme Court of Freedonia", "the minister's advice was unlawful")],
        id="court-found"),
    pytest.param(  # a judge's ruling
        "Judge Dana Whitcombe ruled that the ban was unlawful.",
        [("Dana Whitcombe", "the ban was unlawful")], id="judge-ruled"),
    pytest.param(  # what others find is no one's words; nor is a verdict with no clause
        "The researchers found that the ban was unlawful. The court found the ban to be "
        "unlawful.",
        [], id="not-a-court-or-no-clause"),
    pytest.param(  # "the court": the court last named as a subject, not one named in passing;
        # "the three-judge court" is no name of its own
        "On Wednesday, the Court of Session issued an opinion on the suspension. The only court "
        "with higher authority is the Supreme Court of Freedonia. The court had been petitioned "
        "by Dana Whitcombe. The three-judge court found the minister's advice \"was motivated "
        "by the improper purpose of stymying the assembly.\"",
        [("Court of Session", "the minister's advice \"was motivated by the improper purpose of "
          "stymying the assembly.\"")], id="the-court-named-before"),
    pytest.param(  # "and" inside one name is no group of speakers
        "The Ministry of Culture and Sport said the museum would reopen in May.",
        [("Ministry of Culture and Sport", "the museum would reopen in May")],
        id="and-inside-a-name"),
])
def test_courts_and_bodies_named_before(text, expected):
    assert _quotes_of(text) == expected


@pytest.mark.parametrize("text, expected", [
    pytest.param(  # a poll is a text: its issuer speaks
        "According to a 2019 Elm University poll, 57 percent of voters oppose the plan.",
        [("Elm University", "57 percent of voters oppose the plan")], id="poll-of-an-issuer"),
    pytest.param(  # excerpts from someone's book are that person's; the book's title is no one
        "Lastly, excerpts from Dana Whitcombe's book revealed the mayor had lied about the "
        "costs. Excerpts from the memoir Rage revealed the mayor had lied.",
        [("Dana Whitcombe", "the mayor had lied about the costs")], id="excerpts-of-a-book"),
    pytest.param(  # an unnamed official or reporter of a named organisation speaks for it; a
        # police official (a body of a kind) is no one in particular
        "An official from Elm Valley Rail stated: \"We are working with the police on the "
        "matter.\" A police official said the station would reopen. A reporter for the Elm "
        "Courier noted that the singer was ill.",
        [("Elm Valley Rail", '"We are working with the police on the matter."'),
         ("Elm Courier", "the singer was ill")], id="official-of-an-organisation"),
    pytest.param(  # someone and their supporters: a group
        "Dana Whitcombe and her supporters claimed the vote was stolen.", [],
        id="someone-and-their-supporters"),
    pytest.param(  # "countered", "concurred": speech verbs
        "Dana Whitcombe countered that the plan would cost more. Ken Gade concurred: \"We need "
        "to stop policing the world.\"",
        [("Dana Whitcombe", "the plan would cost more"),
         ("Ken Gade", '"We need to stop policing the world."')], id="countered-concurred"),
    pytest.param(  # a clause in the subjunctive is what someone asked for, not what they said
        "Dana Whitcombe suggested voters fill out their ballots early.", [],
        id="subjunctive-clause"),
    pytest.param(  # a place's name written as a title, "The …" inside a sentence, is a
        # publication's
        "Next, The Northern Sea claimed that the mayor had refused to visit the site.",
        [("The Northern Sea", "the mayor had refused to visit the site")],
        id="place-written-as-a-title"),
])
def test_issuers_owners_and_groups(text, expected):
    assert _quotes_of(text) == expected


def test_an_organisation_name_starts_with_a_capital():
    from qa.corpus.quotes.mentions import ORG, clean

    assert clean(["the", "official", "EHO"], ORG) == ["EHO"]  # "the official EHO report"
    assert clean(["ministry", "of", "internal", "affairs"], ORG) == [  # no capital to keep
        "ministry", "of", "internal", "affairs"]


@pytest.mark.parametrize("text, expected", [
    pytest.param(  # a bare role with no name names no one
        "A fire broke out on Monday. The father said the blaze began in the kitchen.", [],
        id="bare-role"),
    pytest.param(  # a relative clause is no part of the role ("the official who …")
        "According to the official who reported the fire, the blaze began in the kitchen.", [],
        id="role-and-relative-clause"),
    pytest.param(  # a role of two words with no owner or complement names no one either
        "The island was hit by the outbreak. At the time, the prime minister called for full "
        "immunization, and stated 92% had been reached.", [], id="bare-role-of-two-words"),
    pytest.param(  # a person's statement is theirs, by the full name the article gives
        "Dana Whitcombe spoke on Monday. Whitcombe's statement read \"We are very sorry to "
        "report that the tour is cancelled.\"",
        [("Dana Whitcombe", '"We are very sorry to report that the tour is cancelled."')],
        id="a-person's-statement"),
    pytest.param(  # a role that picks out one person is still its own description
        "The head of the police's internal investigators said the officer had been suspended.",
        [("head of the police's internal investigators", "the officer had been suspended")],
        id="description"),
])
def test_a_role_without_a_name(text, expected):
    assert _quotes_of(text) == expected


def test_a_name_in_apposition_to_a_spokesperson_is_a_person():
    from qa.corpus.nlp import load_pipeline
    from qa.corpus.quotes.mentions import _titled_person

    doc = load_pipeline()("A Department of State spokesperson, Morgan Okafor, said the talks had "
                          "failed. Its publisher, the newspaper Elm Herald, said nothing.")
    okafor = next(t for t in doc if t.text == "Okafor")
    herald = next(t for t in doc if t.text == "Herald")
    assert _titled_person("Morgan Okafor", okafor)  # "a spokesperson, Morgan Okafor,"
    assert not _titled_person("Elm Herald", herald)  # "newspaper" is no person's title


def test_a_body_named_in_capitals_is_what_its_common_noun_means():
    text = ("A fire broke out yesterday at the old mill. Elm Valley Fire and Rescue Service were "
            "called to the building at nine. The fire service indicated an investigation "
            "working alongside the police was underway.")
    assert _quotes_of(text) == [("Elm Valley Fire and Rescue Service", "an investigation "
                                 "working alongside the police was underway")]


@pytest.mark.parametrize("text, expected", [
    pytest.param(  # the speaker after the verb that closes the sentence, read as its object
        "It is not for the court to decide on the motives, argued the government's lawyer, "
        "Dana Whitcombe.",
        [("Dana Whitcombe", "It is not for the court to decide on the motives")],
        id="inverted-speaker"),
    pytest.param(  # two short quotations of one verb of naming, the second with an article
        'Dana Whitcombe has since called the inquiry "gamesmanship" and a "stunt".',
        [("Dana Whitcombe", '"gamesmanship"'), ("Dana Whitcombe", '"stunt"')],
        id="joined-with-an-article"),
    pytest.param(  # "the report" is the report named just before: its issuer's
        "According to a 1989 report from the Elm Safety Board, the same aircraft was involved "
        "in an incident in 1987. The report said one passenger was seriously injured.",
        [("Elm Safety Board", "the same aircraft was involved in an incident in 1987"),
         ("Elm Safety Board", "one passenger was seriously injured")], id="the-report-before"),
    pytest.param(  # an organisation's records are its own
        "The aircraft was built in 1944 according to Elm Aviation Authority records.",
        [("Elm Aviation Authority", "The aircraft was built in 1944")], id="records"),
])
def test_inverted_speakers_and_texts_named_before(text, expected):
    assert _quotes_of(text) == expected


@pytest.mark.parametrize("text, expected", [
    pytest.param(  # "they" after unnamed people as the subject means them, a group
        "Researchers from Elm University reported the invention on Monday. They said the "
        "coating lasts for 500 flushes.", [], id="they-after-unnamed-people"),
    pytest.param(  # "it" after an organisation as the subject is still the organisation
        "Elm University reported the invention on Monday. It said the coating lasts for 500 "
        "flushes.",
        [("Elm University", "the coating lasts for 500 flushes")], id="it-after-an-organisation"),
])
def test_a_pronoun_after_unnamed_people(text, expected):
    assert _quotes_of(text) == expected


def test_the_body_a_speaker_was_named_by_before():
    text = ("The Whitcombe administration said on Monday that the plan would go ahead. The mayor "
            "resigned on Tuesday. A few days later the administration said it would use an "
            "order to add the question.")
    assert _quotes_of(text) == [
        ("Whitcombe administration", "the plan would go ahead"),
        ("Whitcombe administration", "it would use an order to add the question")]


def test_a_past_tense_the_parse_hangs_from_a_name_is_the_sentence_verb():
    """'Biden called X an "idea."' read as a noun phrase ("Biden [who was] called …"): the
    parse is given here as the small model once made it."""
    from spacy.tokens import Doc

    from qa.corpus.nlp import load_pipeline

    words = ["Gade", "called", "Elmfa", "an", '"', "idea", ".", '"']
    spaces = [True, True, True, True, False, False, False, False]
    doc = Doc(load_pipeline().vocab, words=words, spaces=spaces,
              tags=["NNP", "VBD", "NNP", "DT", "``", "NN", ".", "''"],
              heads=[0, 0, 1, 5, 5, 1, 0, 0],
              deps=["ROOT", "acl", "oprd", "det", "punct", "oprd", "punct", "punct"],
              ents=["B-PERSON", "O", "B-PERSON", "O", "O", "O", "O", "O"],
              sent_starts=[True, False, False, False, False, False, False, False])
    text = doc.text
    found = extract_quotes(_article(text), [(0, len(text))], ParsedArticle([(0, doc)]))
    assert [(q.speaker, q.text) for q in found] == [("Gade", '"idea."')]
