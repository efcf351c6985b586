"""`qa index`: build or update the index from a corpus folder, or check it (`--check`)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from qa import config
from qa.text import terminal_safe

from .console import CORPUS_HELP, INDEX_HELP, BuildProgress, print_json

EXAMPLES = """\
examples:
  qa index                                  # corpus/ -> index/, only what changed
  qa index --corpus ~/news --index ~/news-index
  qa index --full                           # rebuild everything
  qa index --check                          # verify the files against their checksums
  qa index --runtime torch                  # embed with sentence-transformers
  qa index --store milvus --milvus-uri http://milvus.internal:19530   # search in Milvus
  qa index --executor ray --ray-address 10.0.0.5:6379   # embed on a Ray cluster"""

# The names `qa index` accepts; qa.embed.embedder.BACKENDS and qa.index.backend.BACKENDS are
# the registries (not imported here: the parser is built on every command, they load numpy).
RUNTIMES = ["torch", "onnx", "onnx-int8", "openvino", "openvino-int8"]
STORES = ["local", "milvus"]


class _RenamedFlag(argparse.Action):
    """`--backend`, which once named either the runtime or the store: an error naming both."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        parser.error("--backend is now two flags: --runtime for the embedding runtime "
                     f"({', '.join(RUNTIMES)}) and --store for the search store "
                     f"({', '.join(STORES)}), e.g. `qa index --runtime openvino --store milvus`.")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="build or update the index from a corpus folder",
                       epilog=EXAMPLES)
    p.add_argument("--corpus", help=CORPUS_HELP)
    p.add_argument("--index", help=INDEX_HELP)
    p.add_argument("--full", action="store_true", help="rebuild everything from scratch")
    p.add_argument("--optimize", action="store_true",
                   help="merge the index's segments into one after updating (searches read one "
                        "segment instead of several; updates merge small segments on their own)")
    p.add_argument("--check", action="store_true",
                   help="verify every file of the index against the checksums its manifest "
                        "records (finds damage that keeps a file's size); builds nothing")
    p.add_argument("--runtime", choices=RUNTIMES,
                   help="the embedding runtime for the build (default: the `runtime` setting, "
                        "$QA_RUNTIME, else the index's own, else the fastest measured on this "
                        "machine once, see `qa config`); torch, onnx and openvino give the same "
                        "vectors (openvino: bf16 where native); the int8 ones are faster, close "
                        "to fp32")
    p.add_argument("--store", choices=STORES,
                   help="the search store: local (the index folder, the default) or milvus "
                        "(with --milvus-uri; an existing index moves there without embedding "
                        "again); default: the `store` setting, $QA_STORE, else the index's own")
    # The one flag that named both: refused with the new names rather than guessed at.
    p.add_argument("--backend", action=_RenamedFlag, help=argparse.SUPPRESS)
    p.add_argument("--milvus-uri", metavar="URI",
                   help="the Milvus store: a server (http://milvus.internal:19530) or a "
                        "milvus-lite file (./qa.db, recorded as an absolute path); default "
                        "$QA_MILVUS_URI, the settings file, else the index's own")
    p.add_argument("--executor", choices=["local", "ray"],
                   help="where the new chunks are embedded: local (this machine, the default) "
                        "or ray (a running Ray cluster at --ray-address; needs "
                        "pip install 'qa[scale]' here and on its nodes); $QA_EXECUTOR or the "
                        "settings file otherwise")
    p.add_argument("--ray-address", metavar="HOST:PORT",
                   help="the Ray cluster's head node, as `ray start --head` printed it "
                        "(e.g. 10.0.0.5:6379); default $QA_RAY_ADDRESS or the settings file")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another running build instead of failing")
    p.add_argument("--json", action="store_true", help="print the build report as JSON")
    p.set_defaults(func=index)


def index(args: argparse.Namespace) -> int:
    if args.check:
        return check_index(config.index_path(args.index))
    from qa.build.builder import build_index
    from qa.build.executors import make_executor

    executor = make_executor(config.executor_name(args.executor),
                             config.ray_address(args.ray_address))
    report = build_index(
        corpus=config.corpus_path(args.corpus), index=config.index_path(args.index),
        full=args.full, optimize=args.optimize, progress=BuildProgress(), wait=args.wait,
        backend=config.embedding_runtime(args.runtime), store=config.search_store(args.store),
        milvus_uri=config.milvus_uri(args.milvus_uri), executor=executor,
    )
    if args.json:
        print_json(asdict(report))
        return 0
    for s in report.skipped:
        print(f"skipped {terminal_safe(s.path)}: {terminal_safe(s.reason)}", file=sys.stderr)
    for note in report.notes:
        print(f"note: {terminal_safe(note)}", file=sys.stderr)
    where = terminal_safe(report.index)
    if report.up_to_date:
        print(
            f"Index {where}/ is up to date: {report.articles} articles, "
            f"{report.chunks} chunks ({report.seconds:.1f}s)."
        )
        return 0
    kind = "Full build" if report.full else "Updated"
    print(
        f"{kind} {where}/ in {report.seconds:.1f}s: {len(report.added)} added, "
        f"{len(report.changed)} changed, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped; "
        f"{report.articles} articles, {report.chunks} chunks ({report.embedded_chunks} embedded)."
    )
    return 0


def check_index(index: Path) -> int:
    """`qa index --check`: 0 when every file matches its checksum and the model is sound,
    2 (with what is damaged and what to run) otherwise."""
    from qa.index import read_manifest, verify
    from qa.index.query_model import query_model_problems

    problems = verify(index)
    manifest = read_manifest(index)
    problems += query_model_problems(index, manifest.model.name,
                                     quantize=manifest.embedding_backend == "onnx-int8")
    if problems:
        for line in problems:
            print(f"damaged: {terminal_safe(line)}", file=sys.stderr)
        print(f"qa: the index in {terminal_safe(str(index))}/ is damaged. Run "
              f"`qa index --full --index {terminal_safe(str(index))}` to rebuild it.",
              file=sys.stderr)
        return 2
    print(f"Index {terminal_safe(str(index))}/ is intact: every file matches its checksum, "
          "the parts agree with the manifest, and the query model is sound.")
    return 0
