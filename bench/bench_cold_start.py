"""Cold start: a `qa ask` from process start to first byte, stage by stage, beside
`python -c "import sentence_transformers"` in the same run.

    .venv/bin/python bench/bench_cold_start.py [--runs 5] [--against /tmp/qa-before] [--no-write]

Each round runs, one after another in fresh processes: `import sentence_transformers`, then
for each checkout a cold `qa ask QUESTION` over the seed corpus (corpus/, indexed once per
checkout under the bench folder; each checkout's `qa` compiled to bytecode first, as an
installed copy is: `compile_bytecode`) timed from outside (first byte on its standard output,
whole process), and another timed stage by stage by bench/startup_stages.py. Medians over
the rounds. Then one `python -X importtime` run of the
command per checkout: the packages that cost most to import.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SECTION = "Cold start"
QUESTION = "What did China say about Ukraine's sovereignty?"
STAGES = Path(__file__).resolve().with_name("startup_stages.py")


def code_env(code: str | None) -> dict[str, str]:
    """`common.code_env`, with this checkout first on the path of its own children too: they
    run in the bench folder, where a relative PYTHONPATH (`PYTHONPATH=.`) would not find it
    and `qa` would be whichever one is installed."""
    env = common.code_env(code)
    if code is None:
        env["PYTHONPATH"] = os.pathsep.join([str(common.ROOT), env.get("PYTHONPATH", "")])
    return env


def seed_index(code: str | None) -> Path:
    """The seed corpus indexed by the checkout `code` (None: this one), built once."""
    index = common.WORK / f"seed-index-{common.code_label(code) or 'this'}"
    if not (index / "manifest.json").exists():
        subprocess.run([sys.executable, "-m", "qa.cli", "index", "--corpus",
                        str(common.ROOT / "corpus"), "--index", str(index)],
                       check=True, capture_output=True, env=code_env(code), timeout=1800,
                       cwd=common.WORK)  # not a checkout: `-m` puts the cwd first on sys.path
    return index


def compile_bytecode(code: str | None) -> None:
    """Compile the checkout's `qa` to bytecode, as `pip install` does for an installed package
    and Python itself on a first run: where PYTHONDONTWRITEBYTECODE is set (these machines set
    it) no run would write it, and every cold start would compile qa's sources again (~0.1 s),
    which no installed copy does. The site-packages qa imports were compiled by pip."""
    root = Path(code) if code else common.ROOT
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "qa")], check=True,
                   capture_output=True, timeout=600)


def sentence_transformers_import() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sentence_transformers"], check=True,
                   capture_output=True, timeout=600)
    return time.perf_counter() - started


def cold_ask(code: str | None, index: Path) -> dict:
    """One cold `qa ask`, stage by stage (startup_stages.py)."""
    env = dict(code_env(code), QA_BENCH_T0=repr(time.time()))
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(STAGES), str(index), QUESTION], env=env,
                          capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    out = json.loads(proc.stderr.strip().splitlines()[-1])
    out["wall"] = wall
    out["answered"] = bool(proc.stdout.strip())
    return out


def plain_ask(code: str | None, index: Path) -> tuple[float, float, str]:
    """One cold `qa ask` as a user runs it, nothing wrapped: (seconds from spawn to its
    first byte on standard output, to its exit, the answer)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "ask", QUESTION, "--index",
                             str(index)], env=code_env(code), cwd=common.WORK,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    assert proc.stdout is not None
    first = proc.stdout.read(1)
    first_byte = time.perf_counter() - started
    out, err = proc.communicate(timeout=600)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(err.decode()[-2000:])
    return first_byte, wall, (first + out).decode()


def importtime(code: str | None, index: Path, top: int = 8) -> list[tuple[str, float]]:
    """The top-level packages a cold `qa ask` imports, by cumulative import time (s)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "qa.cli", "ask", QUESTION,
                           "--index", str(index)], env=code_env(code),
                          capture_output=True, text=True, timeout=600, cwd=common.WORK)
    totals: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line[len("import time:"):].split("|")
        if name.startswith("  ") or not cumulative.strip().isdigit():
            continue  # nested: counted in its top-level package
        package = name.strip().split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(cumulative) / 1e6
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds (each: every measurement once)")
    parser.add_argument("--against", help="another checkout of qa to measure beside this one")
    parser.add_argument("--no-write", action="store_true", help="print; leave the doc alone")
    args = parser.parse_args(argv)

    codes = {"before": args.against, "after": None} if args.against else {"after": None}
    indexes = {c: seed_index(path) for c, path in codes.items()}
    for path in codes.values():
        compile_bytecode(path)
    st: list[float] = []
    asks: dict[str, list[dict]] = {c: [] for c in codes}
    plain: dict[str, list[tuple[float, float, str]]] = {c: [] for c in codes}
    for _ in range(args.runs):
        st.append(sentence_transformers_import())
        for c, path in codes.items():
            plain[c].append(plain_ask(path, indexes[c]))
            asks[c].append(cold_ask(path, indexes[c]))
        print(json.dumps({"st": st[-1], **{c: plain[c][-1][0] for c in codes}}), flush=True)
    answers = {answer for c in codes for *_, answer in plain[c]}
    if len(answers) > 1:
        print("The answers differ:", *sorted(answers), sep="\n---\n", flush=True)
    imports = {c: importtime(path, indexes[c]) for c, path in codes.items()}
    body = render(args, codes, st, asks, plain, imports, same=len(answers) == 1)
    print(body)
    if not args.no_write:
        common.replace_section(SECTION, body)
    return 0


def render(args: argparse.Namespace, codes: dict[str, str | None], st: list[float],
           asks: dict[str, list[dict]], plain: dict[str, list[tuple[float, float, str]]],
           imports: dict[str, list[tuple[str, float]]], *, same: bool) -> str:
    st_median = statistics.median(st)
    out = [common.section_header(), ""]
    if args.against:
        out += [f"Side by side in one run: *before* = `{common.code_commit(args.against)}`, "
                f"*after* = `{common.code_commit(None)}`.", ""]
    out += [f"Medians of {args.runs} rounds; each round ran `python -c \"import "
            f"sentence_transformers\"` and then each checkout's cold `qa ask \"{QUESTION}\"` "
            "over the seed corpus (5 articles), each in a new process.", "",
            "| figure | " + " | ".join(codes) + " |", "|---|" + "---:|" * len(codes)]

    def row(name: str, values: list[str]) -> None:
        out.append(f"| {name} | " + " | ".join(values) + " |")

    first = {c: statistics.median(f for f, _, _ in plain[c]) for c in codes}
    wall = {c: statistics.median(w for _, w, _ in plain[c]) for c in codes}
    staged = {c: statistics.median(a["first_byte"] for a in asks[c]) for c in codes}
    row("`import sentence_transformers`, s", [f"{st_median:.2f}"] * len(codes))
    row("cold `qa ask` to first byte, s", [f"**{first[c]:.2f}**" for c in codes])
    row("cold `qa ask`, whole process, s", [f"{wall[c]:.2f}" for c in codes])
    row("first byte / `import sentence_transformers`",
        [f"**{first[c] / st_median:.3f}×**" for c in codes])
    row("stage run (below) to first byte, s", [f"{staged[c]:.2f}" for c in codes])
    names = list(dict.fromkeys(n for c in codes for a in asks[c] for n, _ in a["stages"]))
    for name in names:
        row(f"&nbsp;&nbsp;{name}, ms", [
            f"{statistics.median(dict(a['stages']).get(name, 0.0) for a in asks[c]) * 1000:.0f}"
            for c in codes])
    on_thread = list(dict.fromkeys(n for c in codes for a in asks[c] for n in a["background"]))
    for name in on_thread:  # overlapped with the stages above; the command waited only in them
        row(f"&nbsp;&nbsp;(background thread) {name}, ms", [
            f"{statistics.median(a['background'].get(name, 0.0) for a in asks[c]) * 1000:.0f}"
            for c in codes])
    row("modules loaded", [str(asks[c][0]["modules"]) for c in codes])
    row("heavy packages loaded", [", ".join(asks[c][0]["loaded"]) for c in codes])
    out += ["", "Import time of a cold `qa ask` by top-level package (`python -X importtime`, "
            "one run, cumulative s):", ""]
    for c in codes:
        out.append(f"- {c}: " + ", ".join(f"{name} {s:.2f}" for name, s in imports[c]))
    out += ["", "The answers of every run were "
            + ("the same, before and after." if same else "**not all the same**.")]
    out += ["", "*First byte* and *whole process*: `python -m qa.cli ask` as a user runs it, "
            "timed by this script from spawning it to the first byte on its standard output "
            "and to its exit. Stages are wall time (bench/startup_stages.py, a second run "
            "each round): *interpreter start* until the script's first line; the imports "
            "`qa ask` makes, timed on their own before the command (so the stage run has no "
            "overlap of those imports with the loads, and its first byte is later); then the "
            "command, its expensive steps timed by wrapping the functions that do them (time "
            "in a nested step counts to that step only; a step done on a background thread "
            "counts only what the command waited for it, and is listed apart with its own "
            "time there, nested steps included); *the rest* is answering (reading "
            "candidates, scoring) and printing.", ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
