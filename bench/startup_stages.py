"""Where a cold `qa ask` spends its time, stage by stage, from process start to first byte.

    python bench/startup_stages.py INDEX QUESTION   (run by bench/bench_startup.py --stages)

Run as a fresh process whose parent puts its own wall clock at spawn in QA_BENCH_T0. The
script imports nothing of its own beyond the standard library, so that the stages are the
command's: the interpreter's start, `import qa.cli`, the imports `qa ask` makes when it runs,
then the command itself with its expensive steps timed by wrapping the functions that do
them (time inside a nested step counts to that step only; on another thread, it is
reported apart and the command's own thread counts what it waited). Every stage is wall time. The
first byte is the first write to standard output. Prints one JSON object on stderr's last
line (stdout is the answer).
"""

from __future__ import annotations

import time

MARKS = [("interpreter start", time.time())]

import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402

# (stage, module, class or None, function): wrapped while `qa ask` runs. A step missing in
# the code measured (another checkout) is left out.
STEPS = (
    ("open the index", "qa.search.retriever", "Retriever", "open"),
    ("load the dense part", "qa.index.index", "Index", "load_dense"),
    ("load the query model", "qa.embed.onnx", "OnnxEmbedder", "load"),
    ("check the pipeline's pinned files", "qa.corpus.nlp", None, "check_pipeline"),
    ("import spaCy", "qa.corpus.nlp", None, "_import_spacy"),
    ("load the spaCy pipeline", "qa.corpus.nlp", None, "load_pipeline"),
    ("parse the question (spaCy)", "qa.corpus.nlp", None, "parse_question"),
    ("search", "qa.search.retriever", "Retriever", "search"),
    ("save to history", "qa.cli.ask", None, "save_turn"),
)


def main() -> int:
    index, question = sys.argv[1], sys.argv[2]
    t0 = float(os.environ.get("QA_BENCH_T0", MARKS[0][1]))
    import qa.cli

    MARKS.append(("import qa.cli (the parser)", time.time()))
    # What `qa ask` imports when it runs, timed on its own.
    import qa.answer  # noqa: F401
    import qa.search.retriever  # noqa: F401

    MARKS.append(("import the answerer and retriever", time.time()))
    spent: dict[str, float] = {}
    stack: list[list[float]] = []  # per active step: [start, time spent in nested steps]

    main_thread = threading.main_thread()
    background: dict[str, float] = {}

    def wrap(stage: str, fn):  # type: ignore[no-untyped-def]
        def timed(*a, **kw):  # type: ignore[no-untyped-def]
            if threading.current_thread() is not main_thread:  # reported apart, not summed
                start = time.perf_counter()
                try:
                    return fn(*a, **kw)
                finally:
                    background[stage] = background.get(stage, 0.0) + time.perf_counter() - start
            stack.append([time.perf_counter(), 0.0])
            try:
                return fn(*a, **kw)
            finally:
                start, nested = stack.pop()
                total = time.perf_counter() - start
                spent[stage] = spent.get(stage, 0.0) + total - nested
                if stack:
                    stack[-1][1] += total
        return timed

    for stage, module, cls, name in STEPS:
        try:
            owner = importlib.import_module(module)
            if cls:
                owner = getattr(owner, cls)
            fn = getattr(owner, name)
        except (ImportError, AttributeError):
            continue
        wrapped = wrap(stage, fn)
        # A classmethod comes bound to its class: keep it callable on the class as it was.
        bound = getattr(fn, "__self__", None) is owner
        setattr(owner, name, staticmethod(wrapped) if bound else wrapped)
    first_byte: list[float] = []
    write = sys.stdout.write

    def first_write(text: str) -> int:
        if not first_byte and text:
            first_byte.append(time.time())
        return write(text)

    sys.stdout.write = first_write  # type: ignore[method-assign]
    started = time.time()
    code = qa.cli.main(["ask", question, "--index", index])
    sys.stdout.flush()
    ended = time.time()
    stages = [(name, at - (MARKS[i - 1][1] if i else t0)) for i, (name, at) in enumerate(MARKS)]
    steps = sum(spent.values())
    stages += [(stage, spent[stage]) for stage, *_ in STEPS if stage in spent]
    stages.append(("the rest of `qa ask` (answer scoring, printing)", ended - started - steps))
    print(json.dumps({"code": code, "stages": stages, "background": background,
                      "first_byte": (first_byte[0] if first_byte else ended) - t0,
                      "modules": len(sys.modules),
                      "loaded": sorted(m for m in ("torch", "sentence_transformers", "spacy",
                                                   "textual", "fastapi", "transformers",
                                                   "faiss", "onnxruntime", "scipy.sparse",
                                                   "pydantic", "requests", "typer")
                                       if m in sys.modules)}), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
