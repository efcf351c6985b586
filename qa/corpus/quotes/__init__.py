"""Who said what: attributed quotations found at index time, and the names of speakers.

`extract_quotes` (`qa.corpus.quotes.extract`) reads an article's spaCy parse (`qa.corpus.nlp`, made once at
index time): the cues and the quotations they govern (`qa.corpus.quotes.scan`), a speech verb's
subject, the object of "according to", the agent of a passive, and who those name
(`qa.corpus.quotes.speakers`, against what the article names: `qa.corpus.quotes.mentions`): PERSON and ORG
entities with the longest name the article gives them, pronouns, roles ("the minister"),
spokespeople and statements resolved to the people and organisations the article names. A
country word alone is no speaker. Quotations no cue governs (continuations, a colon after the
speaker's sentence, captions) are `qa.corpus.quotes.free`'s; the names of organisations the
entity recogniser splits or misses are found by `qa.corpus.quotes.orgnames`.

The parse replaced a hand-written grammar over the raw text (its attribution part: subjects
found past appositives, complements, relative clauses and participles by token walks; reported
clauses told from objects by word shapes; pronouns resolved by capitalised runs), which it
does better: docs/benchmarks.md, "Quote speakers", has the figures.

What still reads plain text with a grammar, and why:

- Names in questions (`find_speaker`, `person_in`, `qa.corpus.quotes.questions`): a question is a
  few words, read when it is asked; the grammar takes microseconds where loading spaCy takes
  a second, and it needs no parse to strip a title from a name.
- The people an article names, at question time (`person_names`, `is_person`,
  `qa.corpus.quotes.names`): the article's parse is not kept in the index, and parsing every
  retrieved article again for each question would cost far more than the grammar.
- Pairing quotation marks is a regular expression: the parse does not pair them.

The word lists (speech verbs in `qa.corpus.quotes.cues`; titles, roles and the nouns of bodies in
`qa.corpus.quotes.names`) are English, never a corpus's, and serve both.
"""

from .extract import extract_quotes
from .names import TITLES, is_person, person_in, person_names, speaker_matches
from .questions import find_speaker

__all__ = ["TITLES", "extract_quotes", "find_speaker", "is_person", "person_in", "person_names",
           "speaker_matches"]
