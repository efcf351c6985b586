"""Shared pieces of the benchmark scripts: the machine, the report file, synthetic corpora.

Benchmarks are not tests: each script prints its figures and rewrites its own `## Section` of
docs/benchmarks.md (other engineers own other sections, which are kept byte for byte).

Synthetic corpora: the real corpora here hold about 8k (SciFact) and 25k (Reuters-21578)
chunks, so the 100k and 1M sizes are made by recombining real sentences from Reuters-21578
and Wikinews into new articles. Their vectors come from `RandomEmbedder`: random but
L2-normalised, seeded by the text, so building a 1M-chunk index takes minutes rather than the
~14 hours the real model would need here. Retrieval *cost* does not depend on what the vectors
say, only on their number and dimension; retrieval *quality* is measured on SciFact instead.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import json
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = ROOT / "docs" / "benchmarks.md"
SHARED = ROOT.parent / "shared"
NEWS = SHARED / "news"
SCIFACT = SHARED / "eval" / "scifact"
#: Big generated corpora and indexes live outside the repo (they are rebuilt, never committed).
WORK = Path(os.environ.get("QA_BENCH_DIR", Path.home() / ".cache" / "qa" / "bench"))

if str(ROOT) not in sys.path and not os.environ.get("QA_BENCH_CODE"):
    # Run as `python bench/x.py` from a fresh clone. Not when measuring another checkout:
    # its `qa` comes first on PYTHONPATH (code_env).
    sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------------------------
# The machine and the report
# --------------------------------------------------------------------------------------------


def machine() -> str:
    """One line naming the machine a figure was measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        ram = f"{pages / 2**30:.0f} GiB RAM"
    except (ValueError, OSError):
        ram = "RAM unknown"
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    return (
        f"{cores} cores ({cpu}; {cpu_flags()}), {ram}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; load average {_load()} when written "
        "(the cores are shared: figures taken under load are slower than on an idle machine)"
    )


def _load() -> str:
    try:
        return "{:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg())
    except OSError:
        return "unknown"


def today() -> str:
    """UTC date and time, minute precision."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def command_line() -> str:
    """The command that produced the figures, as a reader would retype it."""
    script = Path(sys.argv[0])
    try:
        script = script.resolve().relative_to(ROOT)
    except ValueError:
        pass
    return " ".join([".venv/bin/python", str(script), *sys.argv[1:]])


# An AVX2-only CPU emulated on a bigger one (`--isa avx2` of the build benchmarks): oneDNN
# (torch's and OpenVINO's) and OpenVINO's own kernels, MKL (torch's fp32 matrix products),
# ATen's vector kernels and OpenBLAS (numpy's, which the NLP pass multiplies with) each honour
# their cap. Not capped: MLAS, which dispatches on CPUID alone, so onnxruntime entirely, and
# the fully connected layers OpenVINO hands to its copy of MLAS, keep AVX-512.
ISA_CAPS = {"ONEDNN_MAX_CPU_ISA": "AVX2", "OV_CPU_MAX_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
            "ATEN_CPU_CAPABILITY": "avx2", "OPENBLAS_CORETYPE": "Haswell"}


def section_header(command: str | None = None) -> str:
    """The `Command / Machine / Date` lines every section starts with."""
    return (
        f"- Command: `{command or command_line()}`\n"
        f"- Machine: {machine()}\n"
        f"- Date: {today()}\n"
    )


def replace_section(heading: str, body: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace `## heading` (up to the next `## `) in docs/benchmarks.md, or append it.

    Only the named section changes; every other section, including the ones other scripts
    own, is kept as it is. A `### ` inside the body stays inside the section.
    """
    heading_line = f"## {heading}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading_line), None)
    block = f"{heading_line}\n\n{body.strip()}\n\n"
    if start is None:
        if not text.endswith("\n"):
            text += "\n"
        if not text.endswith("\n\n"):
            text += "\n"
        new = text + block
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        new = "".join(lines[:start]) + block + "".join(lines[end:])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(new.rstrip("\n") + "\n", encoding="utf-8")
    os.replace(tmp, path)


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux's `VmHWM` is used when there is one: `ru_maxrss` survives fork and exec, so a child
    started by a big parent would report the parent's peak as its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def warm_page_cache(folder: Path) -> float:
    """Read every file under `folder` once, so that timed queries find it in the page cache
    whatever ran before (a build of another index evicts it); returns the GiB read."""
    total = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as fh:
                while block := fh.read(1 << 24):
                    total += len(block)
    return total / 2**30


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation, as numpy computes it."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def run_json(args: Sequence[str], *, timeout: float = 14400, code: str | None = None) -> dict:
    """Run a child Python script that prints one JSON object on its last stdout line.

    Each size is measured in its own process so peak RSS belongs to that size alone.
    `code`: a checkout of another version of qa (a git worktree) whose `qa` package the
    child imports instead of this one's (see `code_env`); the benchmark scripts stay these.
    """
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env=code_env(code),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# Two versions of qa side by side
# --------------------------------------------------------------------------------------------


def code_env(code: str | None) -> dict[str, str]:
    """The environment of a child measuring the qa in checkout `code` (None: this one).

    The child imports `qa` from `code` (PYTHONPATH comes before the editable install), and
    its synthetic indexes get their own folders (`QA_BENCH_CODE`), since versions may write
    different formats. The corpora are shared.
    """
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(code).resolve()), env.get("PYTHONPATH", "")])
        env["QA_BENCH_CODE"] = code_label(code)
    else:
        env.pop("QA_BENCH_CODE", None)
    return env


def code_label(code: str | None) -> str:
    """"before" for another checkout, "" for this one (as index folder suffixes)."""
    return "before" if code else ""


def code_commit(code: str | None) -> str:
    """The commit a checkout is at (short hash), with "+changes" if its tree differs."""
    where = Path(code) if code else ROOT
    try:
        head = subprocess.run(["git", "-C", str(where), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--", "qa"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + (" + uncommitted changes" if dirty else "")


def index_folder(base: Path) -> Path:
    """The index folder of a synthetic corpus for the qa this process imports."""
    label = os.environ.get("QA_BENCH_CODE", "")
    return base / (f"index-{label}" if label else "index")


def cpu_flags() -> str:
    """The CPU's vector extensions that matter here (AVX-512 variants, bf16, AMX)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = line.split(":", 1)[1].split()
                wanted = [f for f in flags if f.startswith(("avx512", "amx")) or f in
                          ("avx2", "fma", "sha_ni")]
                bf16 = "with bf16" if any("bf16" in f for f in flags) else "no bf16"
                return f"{', '.join(wanted)} ({bf16})"
    except OSError:
        pass
    return "unknown"


# --------------------------------------------------------------------------------------------
# A fast stand-in embedder for the big synthetic sizes
# --------------------------------------------------------------------------------------------


class RandomEmbedder:
    """Random unit vectors, seeded by each text: the same text always gets the same vector.

    It carries the real model's name and dimension, so the index it builds opens with the real
    model and hybrid queries are encoded for real (query latency is then honest: real query
    encoding plus FAISS over N vectors); only the stored chunk vectors are meaningless.
    """

    def __init__(self, name: str | None = None, dim: int = 384) -> None:
        from qa import config

        self.name = config.model_name(name)
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            out[row] = np.random.default_rng(seed).standard_normal(self._dim, dtype=np.float32)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        if progress:
            progress(len(texts), len(texts))
        return out


# --------------------------------------------------------------------------------------------
# Real sentences and synthetic articles
# --------------------------------------------------------------------------------------------

_REUTERS_STORY = re.compile(r"<REUTERS.*?</REUTERS>", re.S)
_TAG = {name: re.compile(rf"<{name}>(.*?)</{name}>", re.S) for name in ("TITLE", "BODY", "DATE")}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def reuters_stories() -> Iterator[tuple[str, str, str | None]]:
    """(title, body, ISO date) of each Reuters-21578 story with a body."""
    for sgm in sorted((NEWS / "reuters21578").glob("reut2-*.sgm")):
        raw = sgm.read_bytes().decode("latin-1")
        for story in _REUTERS_STORY.findall(raw):
            body = _TAG["BODY"].search(story)
            if not body:
                continue
            title = _TAG["TITLE"].search(story)
            date = _TAG["DATE"].search(story)
            iso = None
            if date:
                try:
                    iso = dt.datetime.strptime(date.group(1).strip()[:11], "%d-%b-%Y").date()
                except ValueError:
                    iso = None
            text = html.unescape(body.group(1)).replace("\x03", "").replace(" Reuter", "")
            yield (
                html.unescape(title.group(1)).strip() if title else "",
                re.sub(r"\s+", " ", text).strip(),
                iso.isoformat() if iso else None,
            )


def wikinews_stories() -> Iterator[tuple[str, str, str | None]]:
    """(title, text, ISO date) of each Wikinews article."""
    csv.field_size_limit(1 << 26)
    for path in sorted((NEWS / "wikinews").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                yield row["title"], re.sub(r"\s+", " ", row["text"]).strip(), row["date"] or None


def real_sentences(limit: int | None = None) -> list[str]:
    """Sentences of 6 to 60 words from Reuters-21578 and Wikinews, in corpus order."""
    out: list[str] = []
    for _, text, _ in _chain(reuters_stories(), wikinews_stories()):
        for sentence in _SENTENCE_END.split(text):
            words = len(sentence.split())
            if 6 <= words <= 60:
                out.append(sentence.strip())
                if limit and len(out) >= limit:
                    return out
    return out


def _chain(*iterators: Iterator) -> Iterator:
    for it in iterators:
        yield from it


def synthetic_articles(
    n_chunks: int, *, seed: int = 0, words_per_chunk: int = 130
) -> Iterator[dict]:
    """Articles of recombined real sentences, about `n_chunks` chunks in all.

    Each article takes 3 to 12 chunks' worth of sentences drawn at random from the pool, so
    the vocabulary and sentence lengths are those of real newswire, while no article repeats
    a real one. Records are `{"_id", "title", "date", "text"}` (the `.jsonl` corpus shape).
    `words_per_chunk` is the new words per chunk (150-word chunks overlapping by a sentence).
    """
    rng = random.Random(seed)
    pool = real_sentences()
    made = 0
    number = 0
    start = dt.date(1987, 1, 1)
    while made < n_chunks:
        size = min(rng.randint(3, 12), n_chunks - made)
        words = 0
        sentences = []
        while words < size * words_per_chunk:
            sentence = pool[rng.randrange(len(pool))]
            sentences.append(sentence)
            words += len(sentence.split())
        title = " ".join(sentences[0].split()[:8])
        date = start + dt.timedelta(days=rng.randrange(365 * 35))
        yield {
            "_id": f"s{seed}-{number:07d}",
            "title": title,
            "date": date.isoformat(),
            "text": " ".join(sentences),
        }
        made += size
        number += 1


def write_synthetic_corpus(folder: Path, n_chunks: int, *, per_file: int = 2000) -> Path:
    """Write a synthetic `.jsonl` corpus of about `n_chunks` chunks (reused when present)."""
    marker = folder / ".complete"
    if marker.exists() and marker.read_text().strip() == str(n_chunks):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.jsonl"):
        old.unlink()
    handle = None
    for i, record in enumerate(synthetic_articles(n_chunks)):
        if i % per_file == 0:
            if handle:
                handle.close()
            handle = (folder / f"part-{i // per_file:04d}.jsonl").open("w", encoding="utf-8")
        handle.write(json.dumps(record) + "\n")
    if handle:
        handle.close()
    marker.write_text(str(n_chunks))
    return folder


def size_label(n: int) -> str:
    """1000 -> "1k", 1000000 -> "1M"."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def parse_sizes(text: str) -> list[int]:
    """"1k,10k,100k,1M" -> [1000, 10000, 100000, 1000000]."""
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        mult = 1_000_000 if part.endswith("m") else 1000 if part.endswith("k") else 1
        out.append(int(float(part.rstrip("mk")) * mult))
    return out


def synthetic_index(n_chunks: int) -> tuple[Path, Path, dict]:
    """A synthetic corpus of about `n_chunks` chunks and its index with random vectors.

    Built once under `WORK/synth-<size>/` and reused: `build_index` is incremental, so a
    second call with an unchanged corpus costs one corpus read.

    Returns:
        (corpus folder, index folder, {"seconds", "chunks", "articles", "peak_rss_mib"} of
        the build that ran here).
    """
    import time

    from qa import build_index

    base = WORK / f"synth-{size_label(n_chunks)}"
    corpus = write_synthetic_corpus(base / "corpus", n_chunks)
    for old in corpus.glob("added-*.txt"):  # left by an interrupted incremental benchmark
        old.unlink()
    index = index_folder(base)
    started = time.perf_counter()
    report = build_index(corpus=corpus, index=index, embedder=RandomEmbedder())
    # An index at rest: a second, no-op build removes the folders the first one kept for
    # readers of the generation before it (the next timed update would otherwise pay for it).
    build_index(corpus=corpus, index=index, embedder=RandomEmbedder())
    # A real `qa index` exports the torch-free ONNX query model beside the index and queries
    # use it; a build with a custom embedder does not, so do it here to measure that path.
    from qa.index.query_model import ensure_query_model

    ensure_query_model(index, RandomEmbedder().name)
    return corpus, index, {
        "seconds": time.perf_counter() - started,
        "chunks": report.chunks,
        "articles": report.articles,
        "embedded": report.embedded_chunks,
        "peak_rss_mib": peak_rss_mib(),
    }


def index_plus_one_article(n_chunks: int, name: str) -> tuple[Path, Path, dict]:
    """A synthetic index of `n_chunks` chunks brought back to its base corpus (untimed), with
    one real Wikinews article then written as `name`: the next build adds exactly that one.

    Returns (corpus, index, base-build info) as `synthetic_index` does.
    """

    corpus, index, base = synthetic_index(n_chunks)
    title, text, _ = next(wikinews_stories())
    (corpus / name).write_text(f"{title}\n\n{text}\n", encoding="utf-8")
    return corpus, index, base


def segmented_index(n_chunks: int, segments: int) -> tuple[Path, dict]:
    """The synthetic index of `n_chunks` chunks grown by `segments - 1` updates, each adding
    one part file of new articles (~15k chunks, recombined with other seeds): `segments`
    live segments, as updates leave an index (the size-tiered policy merges a tier only at
    ten). The base is a hard-linked copy of `synthetic_index(n_chunks)` (segments are never
    modified, so sharing their files is safe). Built once under
    `WORK/synth-<size>/segmented-<k>/`.

    Returns (index folder, {"segments", "chunks", "seconds"}).
    """
    import shutil
    import time

    from qa import build_index

    base = WORK / f"synth-{size_label(n_chunks)}"
    _, source, _ = synthetic_index(n_chunks)
    work = base / f"segmented-{segments}"
    index = work / "index"
    done = work / ".complete"
    if done.exists():
        return index, json.loads(done.read_text())
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copytree(source, index, copy_function=os.link)
    corpus = work / "corpus"
    corpus.mkdir()
    for part in (base / "corpus").glob("part-*.jsonl"):
        os.link(part, corpus / part.name)
    started = time.perf_counter()
    for k in range(1, segments):
        with (corpus / f"extra-{k:02d}.jsonl").open("w", encoding="utf-8") as out:
            for record in synthetic_articles(15_000, seed=k):
                out.write(json.dumps(record) + "\n")
        build_index(corpus=corpus, index=index, embedder=RandomEmbedder())
    from qa.index import read_manifest

    manifest = read_manifest(index)
    info = {"segments": len(manifest.segments), "chunks": manifest.counts.chunks,
            "seconds": time.perf_counter() - started}
    done.write_text(json.dumps(info))
    return index, info


def merged_copy(index: Path) -> Path:
    """A copy of `index` with its segments merged into one (`qa index --optimize`)."""
    import shutil

    from qa import build_index
    from qa.index import recorded_corpus

    merged = index.parent / "merged"
    done = index.parent / "merged.complete"
    if done.exists():
        return merged
    shutil.rmtree(merged, ignore_errors=True)
    shutil.copytree(index, merged, copy_function=os.link)  # segments are never modified
    corpus = recorded_corpus(index)
    assert corpus is not None
    build_index(corpus=corpus, index=merged, embedder=RandomEmbedder(), optimize=True)
    done.write_text("1")
    return merged


NETNS_MARK = "QA_BENCH_NETNS"


def netns_prefix() -> list[str]:
    """The prefix that runs a command in a new network namespace with only loopback up: the
    benchmarks of servers and clusters talk to nothing else (Ray would otherwise swap
    127.0.0.1 for the machine's routable address)."""
    flag = "-n" if os.geteuid() == 0 else "-rn"
    return ["unshare", flag, "sh", "-c", 'ip link set lo up && exec "$0" "$@"']


def in_network_namespace(name: str) -> None:
    """Run this script again inside a network namespace of its own, unless it already is."""
    if os.environ.get(NETNS_MARK) == "1":
        return
    if shutil.which("unshare") is None:
        sys.exit(f"{name}: needs `unshare` (util-linux) to run in a network namespace.")
    env = {**os.environ, NETNS_MARK: "1"}
    sys.exit(subprocess.run([*netns_prefix(), sys.executable, *sys.argv], env=env).returncode)
