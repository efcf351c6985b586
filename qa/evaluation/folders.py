"""Where an evaluation keeps its index and corpus: folders of its own, never the user's index.

By default both live in the eval cache (`eval_cache_root`), one folder per dataset or corpus;
the corpus an evaluation writes (a BEIR corpus file, a SQuAD set's paragraphs) goes in
`<index>.corpus` beside its index. An `--index` folder that holds anything else is refused,
never rebuilt (`check_eval_index`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qa import config
from qa.errors import QAError

if TYPE_CHECKING:
    from qa.evaluation.qasets import QuestionSet


#: The name of the single file the BEIR corpus is exposed as inside the eval corpus folder.
#: Its stem becomes the article-id prefix (`corpus/<_id>`), which `beir_doc_id` strips.
CORPUS_FILE = "corpus.jsonl"
#: The file the SQuAD paragraphs are written to inside the eval corpus folder; its stem is the
#: article-id prefix (`squad/Normans#1`).
SQUAD_CORPUS_FILE = "squad.jsonl"


def eval_cache_root() -> Path:
    """`$QA_EVAL_CACHE`, else `$XDG_CACHE_HOME/qa/eval`, else `~/.cache/qa/eval`
    (`qa.config.eval_cache_dir`: config is the one reader of the environment)."""
    return config.eval_cache_dir()


def default_eval_index(name: str) -> Path:
    """Where `qa eval --beir` keeps the index of the dataset called `name`:
    `<cache>/<name>/index`, the cache being `eval_cache_root()` (`~/.cache/qa/eval` by
    default)."""
    return eval_cache_root() / name / "index"


def default_qa_index(source: Path) -> Path:
    """Where `qa eval --qa` keeps the index of a corpus folder or a SQuAD file:
    `<cache>/<folder name or file stem>-<8 hex of its absolute path>/index`, so two `corpus/`
    folders get two indexes."""
    absolute = source.expanduser().resolve()
    digest = hashlib.sha256(str(absolute).encode("utf-8")).hexdigest()[:8]
    name = absolute.stem if absolute.is_file() else absolute.name
    return eval_cache_root() / f"{name}-{digest}" / "index"


def eval_folders(
    qset: QuestionSet, corpus: str | os.PathLike[str] | None,
    index: str | os.PathLike[str] | None,
) -> tuple[Path, Path]:
    """The corpus folder and the index folder of a question-set evaluation, checked (nothing
    is written): a SQuAD set's own corpus goes beside its index; a `.jsonl` set is about
    `corpus` (default `corpus/`, or $QA_CORPUS).

    Raises:
        QAError: `corpus` given with a SQuAD set, or a refused `index` (`check_eval_index`).
    """
    if qset.articles is not None:
        if corpus is not None:
            raise QAError(f"{qset.path} is SQuAD, which brings its own articles (one per "
                          "paragraph): leave out --corpus.")
        default = default_qa_index(qset.path)
        index_dir = Path(index).expanduser() if index else default
        corpus_dir = corpus_beside(index_dir)
        if index:
            check_eval_index(index_dir, corpus_dir, default)
            check_eval_corpus_dir(corpus_dir, index_dir, default)
        return corpus_dir, index_dir
    corpus_dir = config.corpus_path(corpus).expanduser()
    default = default_qa_index(corpus_dir)
    index_dir = Path(index).expanduser() if index else default
    if index:
        check_eval_index(index_dir, corpus_dir, default)
    return corpus_dir, index_dir


def corpus_beside(index_dir: Path) -> Path:
    """`<index>.corpus`, the folder an evaluation writes its own corpus to."""
    absolute = index_dir.resolve()
    return absolute.with_name(absolute.name + ".corpus")


def check_eval_index(index_dir: Path, corpus_dir: Path, default: Path) -> None:
    """Refuse an `--index` folder that is not this evaluation's own.

    An evaluation builds its index from its own corpus folder, so reusing a folder that holds
    anything else would rebuild (and lose) it. Accepted: a folder that does not exist, an empty
    one, or one holding an index whose manifest names `corpus_dir` as its corpus.

    Raises:
        QAError: naming the folder, what it holds, and `default`, the cache location to use.
    """
    if not index_dir.exists() and not index_dir.is_symlink():
        return
    if not index_dir.is_dir() or index_dir.is_symlink():
        why = "it is not a folder"
    else:
        entries = sorted(p.name for p in index_dir.iterdir())
        if not entries:
            return
        built_from = _manifest_corpus(index_dir)
        if built_from == str(corpus_dir.resolve()):
            return
        why = (f"it holds an index built from {built_from}/" if built_from
               else f"it holds other files ({', '.join(entries[:3])}"
                    f"{', ...' if len(entries) > 3 else ''})")
    raise QAError(
        f"--index {index_dir} is not an index of this evaluation's corpus {corpus_dir}/: {why}. "
        "`qa eval` keeps its index in a folder of its own and would rebuild this one, so it "
        f"leaves it alone. Leave out --index to use {default}, or pass a new or empty folder."
    )


def check_eval_corpus_dir(corpus_dir: Path, index_dir: Path, default: Path) -> None:
    """Refuse to write an evaluation's corpus into a folder that is not its own: one that
    exists with files in it, unless the index beside it was built from it.

    Raises:
        QAError: naming the folder and `default`, the cache location to use.
    """
    if not corpus_dir.exists() and not corpus_dir.is_symlink():
        return
    if corpus_dir.is_dir() and not corpus_dir.is_symlink():
        if not any(corpus_dir.iterdir()):
            return
        if _manifest_corpus(index_dir) == str(corpus_dir.resolve()):
            return
    raise QAError(
        f"{corpus_dir} is where `qa eval` would write the corpus of --index {index_dir}, but it "
        f"already holds files that are not its own. Leave out --index to use {default}, or "
        "pass a new or empty folder."
    )


def _manifest_corpus(index_dir: Path) -> str | None:
    """The corpus an index says it was built from; None when it holds no readable manifest."""
    from qa.index import recorded_corpus

    return recorded_corpus(index_dir)


def prepare_eval_corpus(corpus_file: Path, corpus_dir: Path) -> Path:
    """Expose a BEIR corpus file, alone, as a corpus folder `build_index` can read.

    The BEIR folder itself cannot be the corpus: `queries.jsonl` would be indexed as articles.
    The ingester never follows symbolic links, so the file is hard-linked where the file
    system allows (free, and it follows the dataset) and copied otherwise. An unchanged file
    is left alone, so a rebuild stays incremental.

    Returns:
        The corpus folder.
    """
    corpus_dir.mkdir(parents=True, exist_ok=True)
    target = corpus_dir / CORPUS_FILE
    source = corpus_file.resolve()
    if target.exists() and not target.is_symlink():
        if os.path.samefile(target, source) or _same_file_content(target, source):
            return corpus_dir
    if target.exists() or target.is_symlink():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return corpus_dir


def _same_file_content(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def write_squad_corpus(articles: Sequence[dict[str, str]], corpus_dir: Path) -> Path:
    """Write a set's own articles as one `.jsonl` corpus file in `corpus_dir`.

    An unchanged file is left alone (same bytes), so the index build stays incremental; a
    changed one is replaced atomically.

    Returns:
        The corpus folder.
    """
    corpus_dir.mkdir(parents=True, exist_ok=True)
    target = corpus_dir / SQUAD_CORPUS_FILE
    data = "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles).encode("utf-8")
    if target.is_file() and not target.is_symlink() and target.read_bytes() == data:
        return corpus_dir
    tmp = corpus_dir / f".{SQUAD_CORPUS_FILE}.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return corpus_dir
