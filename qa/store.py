"""The on-disk index: a manifest written last, one complete data folder per build, a lock.

Layout of an index folder (default `index/`)::

    .qa-index          written when qa creates the folder: the index's id. qa builds only into
                       a folder that has it (or an empty one) and deletes only what carries it
    manifest.json      written last, replaced atomically; names the live data folder
    data-<stamp>/      one complete generation (never modified once the manifest names it);
      .qa-generation   the index's id: the proof that qa wrote this folder
      articles.jsonl   article metadata, one JSON object a line (no text)
      texts.bin        article texts, UTF-8, concatenated; text_offsets.npy gives byte ranges
      chunk_*.npy      chunk ids, article rows, ordinals, char offsets; sent_*.npy sentence spans
      vectors.npy      float32 embeddings, one row per chunk (absent in a BM25-only index)
      dense.faiss      above 200k chunks: the trained IVF-SQ8 FAISS index, ids = chunk ids
                       (below, the exact index is made from vectors.npy on load)
      bm25_tf.npz      term counts (CSR) for incremental refits
      bm25_*.npy       the fitted BM25Okapi weights, term by term (readers pread a query's terms)
      vocab.json       BM25 vocabulary, column order
      quote_*.npy      attributed quotations found at build time, columnar (article row, spans,
      quote_names.json speaker and cue indexes into the names in quote_names.json)
    .lock              held (flock) while a build runs
    .tmp-*             a build in progress, or the remains of a killed one (cleaned next build
                       when its .qa-generation names this index)

Nothing is pickled: arrays are `.npy`/`.npz` loaded with `allow_pickle=False`, the rest JSON.
Readers read the manifest, then only the data folder it names, so they never see a partial
build; the previous generation is kept one build longer for readers that opened it just before
a swap.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import (
    BuildLockedError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    IndexOwnershipError,
)

# A change of the layout below bumps this; an index of another version must be rebuilt.
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
LOCK = ".lock"
TMP_PREFIX = ".tmp-"
DATA_PREFIX = "data-"
OWNER_MARKER = ".qa-index"
GENERATION_MARKER = ".qa-generation"
_MANIFEST_TMP = re.compile(r"\.manifest\.json\.[0-9a-f]{8}\.tmp")

CHUNK_FILES = (
    "chunk_ids.npy",
    "chunk_article.npy",
    "chunk_ordinal.npy",
    "chunk_start.npy",
    "chunk_end.npy",
    "sent_spans.npy",
    "sent_ptr.npy",
)
# Files every generation has; `dense.faiss` and `vectors.npy` only when it has a dense part.
CORE_FILES = (
    "articles.jsonl",
    "texts.bin",
    "text_offsets.npy",
    *CHUNK_FILES,
    "bm25_tf.npz",
    "bm25_indptr.npy",
    "bm25_indices.npy",
    "bm25_data.npy",
    "vocab.json",
    "quote_article.npy",
    "quote_spans.npy",
    "quote_speaker.npy",
    "quote_cue.npy",
    "quote_names.json",
)
DENSE_FILES = ("vectors.npy", "dense.faiss")


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON beside `path`, fsync it, then rename over `path`."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    text = json.dumps(payload, ensure_ascii=False)  # the C encoder; indent=2 is pure Python
    if len(text) < 100_000:  # small manifests stay readable; 10k articles cost 0.25 s indented
        text = json.dumps(payload, ensure_ascii=False, indent=2)
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


# --- what qa owns -------------------------------------------------------------------------
def claim_index_dir(index_dir: Path, corpus_dir: Path | None = None) -> str:
    """Make `index_dir` an index folder of qa's, or prove that it already is one; return its id.

    qa writes `.qa-index` (the index's id) when it creates the folder, and builds only into a
    folder that has it, or into a new or empty one. Everything it later deletes carries that
    id, so a folder of the user's passed as `--index` never loses a file.

    Raises:
        IndexOwnershipError: the folder holds files and no marker, or it is the corpus
            folder, inside it, or holds it.
    """
    if corpus_dir is not None:
        _refuse_overlap(index_dir, corpus_dir)
    found = index_id(index_dir)
    if found is not None:
        return found
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexOwnershipError(
            f"{index_dir} is a file, not a folder. Pass an index folder: "
            f"`qa index --index DIR` (a new folder is made for it).")
    if index_dir.is_dir():
        others = sorted(p.name for p in index_dir.iterdir())
        if others:
            shown = ", ".join(others[:5]) + (", …" if len(others) > 5 else "")
            raise IndexOwnershipError(
                f"{index_dir}/ already holds files that qa did not create ({shown}), so qa "
                "will not build an index there: it never deletes or rewrites files it cannot "
                "prove are its own. Pass a new or empty folder: `qa index --index NEW_DIR`.")
    index_dir.mkdir(parents=True, exist_ok=True)
    new_id = uuid.uuid4().hex
    marker = index_dir / OWNER_MARKER
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:  # another build claimed it a moment ago
        claimed = index_id(index_dir)
        if claimed is None:
            raise IndexOwnershipError(
                f"{marker} is not qa's marker. Pass a new or empty folder: "
                "`qa index --index NEW_DIR`.") from None
        return claimed
    try:
        os.write(fd, (json.dumps({"qa_index": new_id}) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(index_dir)
    return new_id


def index_id(index_dir: Path) -> str | None:
    """The id in `index_dir/.qa-index`, or None when there is no valid marker."""
    marker = index_dir / OWNER_MARKER
    try:
        if not stat.S_ISREG(os.lstat(marker).st_mode):
            return None
        doc = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    value = doc.get("qa_index") if isinstance(doc, dict) else None
    return value if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{32}", value) else None


def mark_generation(folder: Path, owner: str) -> None:
    """Write the index's id into a folder qa just made inside it (a generation, a build in
    progress, a model copy): what `collect_garbage` checks before deleting it."""
    (folder / GENERATION_MARKER).write_text(owner + "\n", encoding="utf-8")


def is_marked(folder: Path, owner: str) -> bool:
    """Whether `folder` is a real folder (not a link) that qa made for index `owner`."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return False
        marker = folder / GENERATION_MARKER
        if not stat.S_ISREG(os.lstat(marker).st_mode):
            return False
        return marker.read_text(encoding="utf-8").strip() == owner
    except (OSError, UnicodeDecodeError):
        return False


def _refuse_overlap(index_dir: Path, corpus_dir: Path) -> None:
    index_abs, corpus_abs = index_dir.resolve(), corpus_dir.resolve()
    if index_abs == corpus_abs:
        where = "is the corpus folder"
    elif corpus_abs in index_abs.parents:
        where = "is inside the corpus folder"
    elif index_abs in corpus_abs.parents:
        where = "holds the corpus folder"
    else:
        return
    raise IndexOwnershipError(
        f"The index folder {index_dir}/ {where} {corpus_dir}/: the index would be read as "
        "articles, or its clean-up would touch your articles. Keep them apart, e.g. "
        f"`qa index --corpus {corpus_dir} --index index`.")


@contextlib.contextmanager
def build_lock(index_dir: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the index's build lock. The OS releases it if the process dies (even kill -9).

    Raises:
        BuildLockedError: another build holds it (after waiting `wait` seconds).
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir / LOCK
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    holder = _read_lock_holder(fd)
                    raise BuildLockedError(
                        f"Another build of {index_dir}/ is running{holder}. Wait for it to "
                        "finish, then run `qa index` again if you changed the corpus since."
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _read_lock_holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except OSError:
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


def new_tmp_dir(index_dir: Path, owner: str) -> Path:
    """A fresh folder for a build in progress, beside the live data, marked as qa's."""
    path = index_dir / f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}"
    path.mkdir(parents=True)
    try:
        mark_generation(path, owner)
    except BaseException:  # disk full: an unmarked folder could never be cleaned up later
        shutil.rmtree(path, ignore_errors=True)
        raise
    return path


def publish(index_dir: Path, tmp_dir: Path, manifest: dict[str, Any]) -> Path:
    """Make a complete build in `tmp_dir` the live index.

    Order matters for crash safety: data files are fsynced, the folder is renamed to its final
    name, and only then is the manifest (the single pointer readers follow) replaced atomically.
    A crash before the last step leaves the previous manifest and its data untouched.
    """
    for f in tmp_dir.iterdir():
        fsync_file(f)
    fsync_dir(tmp_dir)  # the folder's own entries, before the manifest can name it
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    final = index_dir / f"{DATA_PREFIX}{stamp}-{uuid.uuid4().hex[:6]}"
    os.rename(tmp_dir, final)
    fsync_dir(index_dir)
    manifest = dict(manifest, data=final.name)
    write_json_atomic(index_dir / MANIFEST, manifest)
    return final


def collect_garbage(index_dir: Path, owner: str, *, keep_previous: str | None = None) -> None:
    """Remove leftovers of killed builds and generations no manifest names any more.

    Call only while holding the build lock of an index folder qa owns (`claim_index_dir`).
    Only folders marked with this index's id are deleted (never one reached through a link),
    and only manifest temporaries with the exact name `write_json_atomic` gives them. The
    generation named by the manifest and the one it replaced (`keep_previous`, for readers
    that opened it just before the swap) stay.
    """
    live = None
    with contextlib.suppress(Exception):
        live = read_manifest(index_dir).get("data")
    for entry in index_dir.iterdir():
        name = entry.name
        leftover = name.startswith(TMP_PREFIX) or (
            name.startswith((".onnx-", "onnx-")) and ".tmp-" in name)
        stale = name.startswith(DATA_PREFIX) and name not in (live, keep_previous)
        if (leftover or stale) and is_marked(entry, owner):
            shutil.rmtree(entry, ignore_errors=True)
        elif _MANIFEST_TMP.fullmatch(name) and entry.is_file() and not entry.is_symlink():
            with contextlib.suppress(OSError):
                entry.unlink()


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """Read and check `manifest.json`.

    Raises:
        IndexMissingError: no index has been built in this folder.
        IndexCorruptError: the manifest is unreadable or names data that is not there.
        IndexMismatchError: the index was written by another format version.
    """
    path = index_dir / MANIFEST
    if not index_dir.is_dir() or not (path.exists() or path.is_symlink()):
        raise IndexMissingError(
            f"No index in {index_dir}/. Run `qa index --index {index_dir}` to build it "
            "from your corpus folder (default corpus/)."
        )
    try:
        _regular_file(path)  # a FIFO would block the read forever; a link may lead anywhere
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise IndexCorruptError(
            f"The index manifest {path} is damaged ({exc}). "
            f"Run `qa index --full --index {index_dir}` to rebuild the index."
        ) from exc
    if not isinstance(manifest, dict):
        raise IndexCorruptError(
            f"The index manifest {path} is not a manifest. "
            f"Run `qa index --full --index {index_dir}` to rebuild the index."
        )
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"The index in {index_dir}/ has format version {version!r}; this qa reads version "
            f"{FORMAT_VERSION}. Run `qa index --full --index {index_dir}` to rebuild it."
        )
    required = ("data", "model", "counts", "articles", "files", "tokenizer")
    missing = [k for k in required if k not in manifest]
    if missing:
        raise IndexCorruptError(
            f"The index manifest {path} lacks {', '.join(missing)}. "
            f"Run `qa index --full --index {index_dir}` to rebuild the index."
        )
    # An edited manifest must fail here, not as an AttributeError deep in a search.
    kinds = {"data": str, "model": dict, "counts": dict, "articles": dict, "files": dict,
             "tokenizer": dict}
    wrong = [k for k, kind in kinds.items() if not isinstance(manifest[k], kind)]
    if not wrong and not isinstance(manifest["model"].get("name"), str):
        wrong = ["model name"]
    if wrong:
        raise IndexCorruptError(
            f"The index manifest {path} has a malformed {', '.join(wrong)}. "
            f"Run `qa index --full --index {index_dir}` to rebuild the index."
        )
    return manifest


def data_dir(index_dir: Path, manifest: dict[str, Any]) -> Path:
    """The live generation folder, checked file by file against the sizes the manifest records.

    Raises:
        IndexCorruptError: a file is missing or has another size (truncated, replaced).
    """
    name = str(manifest["data"])
    folder = index_dir / name
    if "/" in name or "\\" in name or not name.startswith(DATA_PREFIX) or folder.is_symlink() \
            or not folder.is_dir():
        raise IndexCorruptError(
            f"The index in {index_dir}/ names a data folder ({name!r}) that is missing. "
            f"Run `qa index --full --index {index_dir}` to rebuild the index."
        )
    files = manifest.get("files")
    if not isinstance(files, dict):
        files = {}
    for fname, size in files.items():
        path = folder / str(fname)
        if "/" in str(fname) or "\\" in str(fname) or str(fname) in ("", ".", ".."):
            actual: int | None = None
        else:
            try:
                actual = _regular_file(path)
            except OSError:
                actual = None
        if actual != size:
            what = "is missing or not a plain file" if actual is None \
                else f"has {actual} bytes, expected {size}"
            raise IndexCorruptError(
                f"The index file {path} {what} (truncated or modified). "
                f"Run `qa index --full --index {index_dir}` to rebuild the index."
            )
    return folder


def _regular_file(path: Path) -> int:
    """The size of `path`, a plain file inside its folder. Raises OSError for a link (it
    may lead out of the index), a FIFO or a device (reading one may block forever)."""
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, "not a plain file", str(path))
    return st.st_size


def file_checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of every file of a generation, for the manifest: `verify` compares them, so
    damage that keeps a file's size is found too."""
    out = {}
    for f in sorted(folder.iterdir()):
        digest = hashlib.sha256()
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
        out[f.name] = digest.hexdigest()
    return out


def verify(index_dir: Path) -> list[str]:
    """Check every file of the live generation against the manifest's sizes and checksums
    (`qa index --check`). Returns what is wrong, one line each; empty when all is well.

    Raises:
        IndexMissingError, IndexCorruptError, IndexMismatchError: as `read_manifest`.
    """
    manifest = read_manifest(index_dir)
    folder = data_dir(index_dir, manifest)
    sums = manifest.get("checksums")
    if not isinstance(sums, dict) or not sums:
        return [f"{index_dir}/{MANIFEST} records no checksums"]
    problems = []
    actual = file_checksums(folder)
    for name, expected in sorted(sums.items()):
        got = actual.get(str(name))
        if got is None:
            problems.append(f"{folder / str(name)} is missing")
        elif got != expected:
            problems.append(f"{folder / str(name)} has changed since it was written")
    return problems


def check_model(index_dir: Path, manifest: dict[str, Any], model: str | None) -> None:
    """Raise IndexMismatchError when the index was built with another embedding model."""
    built = (manifest.get("model") or {}).get("name")
    if model is not None and built is not None and built != model:
        raise IndexMismatchError(
            f"The index in {index_dir}/ was built with the model {built!r}, not {model!r}. "
            f"Run `qa index --full --index {index_dir}` to rebuild it with {model!r}, "
            f"or unset QA_MODEL to use {built!r}."
        )


# --- what a generation holds -------------------------------------------------------------

from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402

from .diskarray import NpyRanges, PreadFile  # noqa: E402
from .types import Quote  # noqa: E402

ARTICLE_FIELDS = ("id", "title", "date", "source", "url", "path", "hash", "file_key")


class TextStore:
    """Article texts in one UTF-8 file, read by byte range on demand."""

    def __init__(self, blob: Any, offsets: np.ndarray) -> None:
        self._blob = blob
        self._offsets = offsets

    @classmethod
    def concat(cls, pieces: Sequence[str | tuple["TextStore", int, int]]) -> "TextStore":
        """Texts from new strings and from row ranges [lo, hi) of other stores, in order.
        Ranges are copied as bytes straight into one buffer: unchanged articles are not
        decoded and encoded again, nor held twice (800 MB of text at 1M chunks)."""
        encoded: list[bytes | tuple["TextStore", int, int]] = []
        lengths: list[np.ndarray] = []
        for piece in pieces:
            if isinstance(piece, str):
                b = piece.encode("utf-8")
                encoded.append(b)
                lengths.append(np.asarray([len(b)], dtype=np.int64))
            else:
                src, lo, hi = piece
                encoded.append(piece)
                lengths.append(np.diff(np.asarray(src._offsets[lo : hi + 1], dtype=np.int64)))
        all_lengths = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
        offsets = np.zeros(len(all_lengths) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(all_lengths)
        blob = bytearray(int(offsets[-1]))
        view = memoryview(blob)
        at = 0
        for piece in encoded:
            if isinstance(piece, bytes):
                view[at : at + len(piece)] = piece
                at += len(piece)
                continue
            src, lo, hi = piece
            a, z = int(src._offsets[lo]), int(src._offsets[hi])
            if isinstance(src._blob, PreadFile):
                src._blob.read_into(view[at : at + z - a], a)
            else:
                view[at : at + z - a] = src._blob[a:z]
            at += z - a
        return cls(blob, offsets)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, row: int) -> str:
        lo, hi = int(self._offsets[row]), int(self._offsets[row + 1])
        return bytes(self._blob[lo:hi]).decode("utf-8")

    def write(self, folder: Path) -> None:
        with open(folder / "texts.bin", "wb") as fh:
            fh.write(memoryview(self._blob)[: int(self._offsets[-1])])
        np.save(folder / "text_offsets.npy", self._offsets, allow_pickle=False)

    @classmethod
    def read(cls, folder: Path) -> "TextStore":
        """Open texts.bin, read by range with pread (see qa.diskarray)."""
        offsets = np.load(folder / "text_offsets.npy", allow_pickle=False)
        size = os.stat(folder / "texts.bin").st_size
        blob: Any = PreadFile(folder / "texts.bin") if size else b""
        if int(offsets[-1]) != size:
            raise IndexCorruptError(
                f"{folder}/texts.bin does not match its offsets. "
                "Run `qa index --full` to rebuild the index."
            )
        return cls(blob, offsets)


@dataclass
class Contents:
    """Everything one generation holds (arrays may be memory-mapped or read by range)."""

    articles: list[dict[str, Any]]
    texts: TextStore
    chunk_ids: np.ndarray  # int64, one per chunk
    chunk_article: np.ndarray  # int32 article row
    chunk_ordinal: np.ndarray  # int32
    chunk_start: np.ndarray  # int64 char offset into the article text
    chunk_end: np.ndarray  # int64
    sent_spans: np.ndarray  # int64 (m, 2): every chunk's sentences, chunk after chunk
    sent_ptr: np.ndarray  # int64 (n + 1): chunk i's sentences are sent_spans[ptr[i]:ptr[i+1]]
    tf: Any  # scipy CSR term counts, chunks x vocab
    vocab: list[str]
    vectors: Any = None  # float32 (n, dim): an ndarray, or the previous build's NpyRanges
    quotes: QuoteTable | None = None  # None: not read (readers load it on first use)

    @property
    def n_chunks(self) -> int:
        return int(len(self.chunk_ids))


def save_contents(folder: Path, c: Contents, weights: Any, dense_index: Any | None) -> dict[str, int]:
    """Write a generation's files into `folder`; returns {file name: size} for the manifest."""
    from scipy import sparse

    encode = json.JSONEncoder(ensure_ascii=False).encode  # one encoder, not one per dumps()
    with open(folder / "articles.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(encode({k: a.get(k) for k in ARTICLE_FIELDS}) + "\n" for a in c.articles)
    c.texts.write(folder)
    arrays = {
        "chunk_ids": c.chunk_ids.astype(np.int64),
        "chunk_article": c.chunk_article.astype(np.int32),
        "chunk_ordinal": c.chunk_ordinal.astype(np.int32),
        "chunk_start": c.chunk_start.astype(np.int64),
        "chunk_end": c.chunk_end.astype(np.int64),
        "sent_spans": c.sent_spans.astype(np.int64).reshape(-1, 2),
        "sent_ptr": c.sent_ptr.astype(np.int64),
    }
    for name, arr in arrays.items():
        np.save(folder / f"{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
    sparse.save_npz(folder / "bm25_tf.npz", c.tf.tocsr(), compressed=False)
    weights.save(folder)
    (folder / "vocab.json").write_text(json.dumps(c.vocab, ensure_ascii=False), encoding="utf-8")
    (c.quotes if c.quotes is not None else QuoteTable.empty()).write(folder)
    if c.vectors is not None:
        np.save(folder / "vectors.npy", np.ascontiguousarray(c.vectors, dtype=np.float32))
    if dense_index is not None:  # a trained (IVF) index; exact search is made from vectors.npy
        import faiss  # imported only when writing or searching vectors

        faiss.write_index(dense_index, str(folder / "dense.faiss"))
    return {f.name: f.stat().st_size for f in sorted(folder.iterdir())}


QUOTE_ARRAYS = ("quote_article.npy", "quote_spans.npy", "quote_speaker.npy", "quote_cue.npy")
QUOTE_NAMES = "quote_names.json"


class QuoteTable:
    """Attributed quotations, columnar and memory-mapped, like the chunk tables.

    One row per quote, rows grouped by article row in article order. Columns: the article
    row (int32), char spans (int64 n x 4: start, end, sentence start, sentence end), and the
    speaker and cue as int32 indexes into two name lists. The quoted words are not stored:
    they are `article_text[start:end]`. A reader materialises only the quotes it asks for
    (one article's, one speaker's), so a million-chunk index does not hold ~1M `Quote`
    objects (2 GB) to answer a question.
    """

    def __init__(self, article: np.ndarray, spans: np.ndarray, speaker: np.ndarray,
                 cue: np.ndarray, speakers: list[str], cues: list[str]) -> None:
        self.article = article
        self.spans = spans.reshape(-1, 4)
        self.speaker = speaker
        self.cue = cue
        self.speakers = speakers
        self.cues = cues

    @classmethod
    def empty(cls) -> "QuoteTable":
        return cls(np.zeros(0, np.int32), np.zeros((0, 4), np.int64), np.zeros(0, np.int32),
                   np.zeros(0, np.int32), [], [])

    @classmethod
    def from_quotes(cls, quotes: Sequence[Quote], row_of: Mapping[str, int]) -> "QuoteTable":
        """A table of `quotes` (their articles' rows from `row_of`; quotes of articles not
        in it are dropped), grouped by article row, in their order within an article."""
        builder = QuoteTableBuilder()
        by_row: dict[int, list[Quote]] = {}
        for q in quotes:
            if q.article_id in row_of:
                by_row.setdefault(row_of[q.article_id], []).append(q)
        for row in sorted(by_row):
            builder.add_quotes(row, by_row[row])
        return builder.table()

    def __len__(self) -> int:
        return int(len(self.article))

    def rows_of_article(self, row: int) -> tuple[int, int]:
        """The [lo, hi) rows holding article `row`'s quotes."""
        lo, hi = np.searchsorted(self.article, [row, row + 1])
        return int(lo), int(hi)

    def rows_of_speakers(self, names: Iterable[str]) -> np.ndarray:
        """Rows whose speaker is one of `names` (exact), in article order."""
        wanted = set(names)
        idx = [i for i, n in enumerate(self.speakers) if n in wanted]
        if not idx or not len(self):
            return np.zeros(0, np.int64)
        return np.flatnonzero(np.isin(self.speaker, np.asarray(idx, dtype=np.int32)))

    def quoted_speakers(self) -> list[str]:
        """The names that have at least one quote."""
        if not len(self):
            return []
        counts = np.bincount(np.asarray(self.speaker), minlength=len(self.speakers))
        return [n for n, c in zip(self.speakers, counts) if c]

    def quote(self, row: int, article_id: str, article_text: str) -> Quote:
        s, e, s0, s1 = (int(v) for v in self.spans[row])
        return Quote(article_id=article_id, speaker=self.speakers[int(self.speaker[row])],
                     text=article_text[s:e], start=s, end=e, sentence=(s0, s1),
                     cue=self.cues[int(self.cue[row])])

    def write(self, folder: Path) -> None:
        arrays = {
            "quote_article.npy": np.asarray(self.article, dtype=np.int32),
            "quote_spans.npy": np.asarray(self.spans, dtype=np.int64).reshape(-1, 4),
            "quote_speaker.npy": np.asarray(self.speaker, dtype=np.int32),
            "quote_cue.npy": np.asarray(self.cue, dtype=np.int32),
        }
        for name, arr in arrays.items():
            np.save(folder / name, np.ascontiguousarray(arr), allow_pickle=False)
        (folder / QUOTE_NAMES).write_text(
            json.dumps({"speakers": self.speakers, "cues": self.cues}, ensure_ascii=False),
            encoding="utf-8",
        )

    @classmethod
    def read(cls, folder: Path, article_ids: Sequence[str]) -> "QuoteTable":
        """Read a generation's quotes.

        Raises:
            IndexCorruptError: the files are not what `write` wrote, or disagree.
        """
        try:
            names = json.loads((folder / QUOTE_NAMES).read_text(encoding="utf-8"))
            speakers, cues = list(map(str, names["speakers"])), list(map(str, names["cues"]))
            # Read, not mapped (~40 MB at 1M chunks): a map keeps every page cache folio a
            # lookup touches (see qa.diskarray), and speaker lookups scan a whole column.
            cols = [np.load(folder / n, allow_pickle=False) for n in QUOTE_ARRAYS]
            table = cls(*cols, speakers, cues)
            n = len(table)
            ok = (
                all(len(c) == n for c in (table.spans, table.speaker, table.cue))
                and (n == 0 or (int(table.article[-1]) < len(article_ids)
                                and int(table.speaker.max()) < len(speakers)
                                and int(table.cue.max()) < len(cues)
                                and int(table.speaker.min()) >= 0 and int(table.cue.min()) >= 0))
            )
            if not ok:
                raise ValueError("the quote columns disagree")
            return table
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise _quotes_unreadable(folder, exc) from exc


class QuoteTableBuilder:
    """Assembles a generation's QuoteTable article by article: new articles' `Quote`s, and
    unchanged articles' rows copied from the previous table as array slices."""

    def __init__(self, base: QuoteTable | None = None) -> None:
        # Keeping the previous name lists (and appending) keeps its speaker/cue indexes valid.
        self._speakers = list(base.speakers) if base is not None else []
        self._cues = list(base.cues) if base is not None else []
        self._speaker_ix = {n: i for i, n in enumerate(self._speakers)}
        self._cue_ix = {n: i for i, n in enumerate(self._cues)}
        self._base = base
        self._pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add_quotes(self, row: int, quotes: Sequence[Quote]) -> None:
        if not quotes:
            return
        n = len(quotes)
        spans = np.asarray([(q.start, q.end, q.sentence[0], q.sentence[1]) for q in quotes],
                           dtype=np.int64).reshape(n, 4)
        speaker = np.asarray([self._index(self._speaker_ix, self._speakers, q.speaker)
                              for q in quotes], dtype=np.int32)
        cue = np.asarray([self._index(self._cue_ix, self._cues, q.cue) for q in quotes],
                         dtype=np.int32)
        self._pieces.append((np.full(n, row, np.int32), spans, speaker, cue))

    def add_rows(self, row: int, lo: int, hi: int) -> None:
        """Copy rows [lo, hi) of the base table as article `row`'s quotes."""
        if hi <= lo or self._base is None:
            return
        b = self._base
        self._pieces.append((np.full(hi - lo, row, np.int32), np.asarray(b.spans[lo:hi]),
                             np.asarray(b.speaker[lo:hi]), np.asarray(b.cue[lo:hi])))

    @staticmethod
    def _index(ix: dict[str, int], names: list[str], name: str) -> int:
        if name not in ix:
            ix[name] = len(names)
            names.append(name)
        return ix[name]

    def table(self) -> QuoteTable:
        if not self._pieces:
            return QuoteTable(np.zeros(0, np.int32), np.zeros((0, 4), np.int64),
                              np.zeros(0, np.int32), np.zeros(0, np.int32),
                              self._speakers, self._cues)
        cols = [np.concatenate([p[i] for p in self._pieces]) for i in range(4)]
        return QuoteTable(*cols, self._speakers, self._cues)


def _quotes_unreadable(folder: Path, exc: Exception) -> IndexCorruptError:
    return IndexCorruptError(
        f"The quotes of the index in {folder} cannot be read ({exc}). "
        "Run `qa index --full` to rebuild the index."
    )


def _check_articles(articles: Any) -> None:
    """Raise ValueError unless every article record has the fields and types a build wrote."""
    for i, a in enumerate(articles):
        if not isinstance(a, dict):
            raise ValueError(f"articles.jsonl line {i + 1} is not an object")
        if not (isinstance(a.get("id"), str) and a["id"] and isinstance(a.get("title"), str)
                and isinstance(a.get("hash"), str)):
            raise ValueError(f"articles.jsonl line {i + 1} lacks a text id, title or hash")
        for key in ("date", "source", "url", "path"):
            if a.get(key) is not None and not isinstance(a[key], str):
                raise ValueError(f"articles.jsonl line {i + 1}: {key} is not text")
        if a.get("date") and not re.fullmatch(r"\d{4}-\d\d-\d\d", a["date"]):
            raise ValueError(f"articles.jsonl line {i + 1}: date {a['date']!r} is not YYYY-MM-DD")


def load_contents(folder: Path, *, with_tf: bool = False, with_vectors: bool = False,
                  with_quotes: bool = True, for_queries: bool = False) -> Contents:
    """Read a generation. The term counts and vectors are only needed by builds; readers load
    the quotes when first asked for them.

    Texts (and a build's previous vectors) are always read by range with pread
    (qa.diskarray). `for_queries` opens the rest the way a reader that looks up a few rows per
    question wants: the chunk tables in memory (~40 MB at 1M chunks), sentence spans read by
    range. Builds, which slice every article's rows in order, memory-map them.

    Raises:
        IndexCorruptError: a file cannot be parsed or the parts disagree.
    """
    try:
        lines = [line for line in (folder / "articles.jsonl").read_text(encoding="utf-8").splitlines()
                 if line.strip()]
        articles = json.loads("[" + ",".join(lines) + "]")  # one parse, not one per line
        _check_articles(articles)
        texts = TextStore.read(folder)
        arrays: dict[str, Any] = {
            name[: -len(".npy")]: np.load(folder / name, mmap_mode=None if for_queries else "r",
                                          allow_pickle=False)
            for name in CHUNK_FILES if not (for_queries and name == "sent_spans.npy")
        }
        if for_queries:
            arrays["sent_spans"] = NpyRanges(folder / "sent_spans.npy")
            if arrays["sent_spans"].shape[1:] != (2,):
                raise ValueError("sent_spans.npy does not hold (start, end) pairs")
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        quotes = QuoteTable.read(folder, [a["id"] for a in articles]) if with_quotes else None
        tf = None
        if with_tf:
            from scipy import sparse

            tf = sparse.load_npz(folder / "bm25_tf.npz").tocsr()
        vectors = None
        if with_vectors and (folder / "vectors.npy").exists():
            # Read by range: a build copies the rows it keeps straight into the new table
            # (a map left all 1.5 GB of a 1M-chunk index's vectors in the process).
            vectors = NpyRanges(folder / "vectors.npy")
            if len(vectors.shape) != 2 or vectors.dtype != np.float32:
                raise ValueError("vectors.npy does not hold float32 rows")
    except IndexCorruptError:
        raise
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError, EOFError,
            RecursionError) as exc:
        raise IndexCorruptError(
            f"The index data in {folder} cannot be read ({type(exc).__name__}: {exc}). "
            "Run `qa index --full` to rebuild the index."
        ) from exc
    c = Contents(
        articles=articles,
        texts=texts,
        chunk_ids=arrays["chunk_ids"],
        chunk_article=arrays["chunk_article"],
        chunk_ordinal=arrays["chunk_ordinal"],
        chunk_start=arrays["chunk_start"],
        chunk_end=arrays["chunk_end"],
        sent_spans=(arrays["sent_spans"] if isinstance(arrays["sent_spans"], NpyRanges)
                    else arrays["sent_spans"].reshape(-1, 2)),
        sent_ptr=arrays["sent_ptr"],
        tf=tf,
        vocab=vocab,
        vectors=vectors,
        quotes=quotes,
    )
    n = c.n_chunks
    consistent = (
        len(texts) == len(articles)
        and all(len(arrays[k]) == n for k in ("chunk_article", "chunk_ordinal", "chunk_start", "chunk_end"))
        and len(c.sent_ptr) == n + 1
        and (n == 0 or int(c.chunk_article.max()) < len(articles))
        and (n == 0 or int(c.sent_ptr[-1]) == len(c.sent_spans))
        and (tf is None or tf.shape[0] == n)
        and (vectors is None or vectors.shape[0] == n)
    )
    if not consistent:
        raise IndexCorruptError(
            f"The index data in {folder} is inconsistent (parts disagree on the number of "
            "articles or chunks). Run `qa index --full` to rebuild the index."
        )
    return c
