"""The README's library example, run as a reader would: saved to a file in a folder of their
own (not the clone), with the venv's python, on a copy of the seed corpus."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def library_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### As a library", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert found, "the README's library section has no python example"
    return found.group(1)


@pytest.mark.integration
def test_the_readme_library_example_runs_from_another_folder(seed_corpus: Path) -> None:
    work = seed_corpus.parent  # holds corpus/ as the example expects, and nothing of the clone
    assert not (work / "qa").exists()
    (work / "example.py").write_text(library_example(), encoding="utf-8")
    # The package as installed (`make install`), this checkout's code.
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    run = subprocess.run([sys.executable, "example.py"], cwd=work, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    # The hits (rank, title, date, via, text), then the answer and its citations.
    assert lines[0].startswith("1 ") and any(v in lines[0] for v in ("dense", "bm25", "both"))
    assert any("Zhao Lijian" in line for line in lines), run.stdout
    assert (work / "index").is_dir()
