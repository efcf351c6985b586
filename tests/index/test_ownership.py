"""qa deletes and rewrites only what it can prove it wrote (issue 14, "Critical").

Each refused command must leave every file of the user's byte-for-byte as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from conftest import SEED_CORPUS, HashEmbedder

from qa import IndexOwnershipError, build_index
from qa.cli import main
from qa.index import (
    GENERATION_MARKER,
    GENERATION_PREFIX,
    MANIFEST,
    OWNER_MARKER,
    SEGMENT_PREFIX,
    TMP_PREFIX,
    claim_index_dir,
    collect_garbage,
    file_name,
    index_id,
)


def tree(folder: Path) -> dict[str, str]:
    """Every entry under `folder` (links as their target, files as a digest of their bytes)."""
    out: dict[str, str] = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(root, name)
            rel = str(path.relative_to(folder))
            if path.is_symlink():
                out[rel] = "-> " + os.readlink(path)
            elif path.is_file():
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                out[rel] = "dir"
    return out


def _user_folder(root: Path) -> Path:
    """A folder of the user's whose names look like qa's leftovers."""
    root.mkdir(parents=True)
    for name in ("data-2019", ".tmp-notes", "onnx-x.tmp-1", ".onnx-y.tmp-2"):
        (root / name).mkdir()
        (root / name / "keep.txt").write_text(f"the user's {name}\n")
    (root / f".{MANIFEST}.0123abcd.tmp").write_text("the user's file\n")
    (root / "notes.txt").write_text("mine\n")
    return root


def test_corpus_named_like_a_generation_under_index_dot_is_refused_and_untouched(
        tmp_path, monkeypatch, capsys):
    """`qa index --corpus data-news --index .` deleted the whole corpus folder."""
    shutil.copytree(SEED_CORPUS, tmp_path / "data-news")
    before = tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    code = main(["index", "--corpus", "data-news", "--index", "."])
    err = capsys.readouterr().err
    assert code == 2 and "holds the corpus folder" in err and "qa index" in err
    assert tree(tmp_path) == before


@pytest.mark.parametrize("where", ["same", "inside", "holds"])
def test_an_index_overlapping_the_corpus_is_refused(where, tmp_path, capsys):
    corpus = tmp_path / "news"
    shutil.copytree(SEED_CORPUS, corpus)
    (corpus / "data-archive").mkdir()
    (corpus / "data-archive" / "old.md").write_text("---\ntitle: Old\n---\nAn old story.\n")
    index = {"same": corpus, "inside": corpus / "ix", "holds": tmp_path}[where]
    before = tree(tmp_path)
    code = main(["index", "--corpus", str(corpus), "--index", str(index)])
    assert code == 2 and "corpus folder" in capsys.readouterr().err
    assert tree(tmp_path) == before


def test_a_folder_of_the_users_is_refused_as_an_index(tmp_path, capsys):
    folder = _user_folder(tmp_path / "mine")
    before = tree(folder)
    code = main(["index", "--corpus", str(SEED_CORPUS), "--index", str(folder)])
    err = capsys.readouterr().err
    assert code == 2 and "did not create" in err and "--index NEW_DIR" in err
    assert tree(folder) == before
    with pytest.raises(IndexOwnershipError):
        build_index(SEED_CORPUS, folder, embedder=HashEmbedder())
    assert tree(folder) == before


def test_a_file_as_the_index_is_refused(tmp_path, capsys):
    f = tmp_path / "index"
    f.write_text("not a folder\n")
    assert main(["index", "--corpus", str(SEED_CORPUS), "--index", str(f)]) == 2
    assert "is a file" in capsys.readouterr().err and f.read_text() == "not a folder\n"


def test_the_users_files_dropped_into_an_index_folder_survive_builds(seed_corpus, tmp_path):
    """qa's own folder, with look-alikes of its leftovers put there later by someone else:
    builds go on, and delete none of them."""
    index = tmp_path / "index"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    assert index_id(index) is not None
    for name in ("data-2019", ".tmp-notes", "onnx-x.tmp-1"):
        (index / name).mkdir()
        (index / name / "keep.txt").write_text("mine\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "precious.txt").write_text("mine\n")
    (index / "data-link").symlink_to(outside, target_is_directory=True)
    before = {k: v for k, v in tree(index).items() if k.startswith(("data-2019", ".tmp-notes",
                                                                    "onnx-x", "data-link"))}
    (seed_corpus / "new.md").write_text("---\ntitle: New\ndate: 2022-03-20\n---\nA new story.\n")
    build_index(seed_corpus, index, embedder=HashEmbedder())
    build_index(seed_corpus, index, embedder=HashEmbedder(), full=True)
    after = tree(index)
    assert all(after.get(k) == v for k, v in before.items())
    assert (outside / "precious.txt").read_text() == "mine\n"


def test_leftovers_of_qas_own_killed_builds_are_cleaned(seed_corpus, tmp_path):
    index = tmp_path / "index"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    owner = claim_index_dir(index)
    killed = index / f"{TMP_PREFIX}0123456789ab"
    killed.mkdir()
    (killed / GENERATION_MARKER).write_text(owner + "\n")
    (killed / file_name("texts.texts")).write_bytes(b"half")
    other = index / f"{TMP_PREFIX}ffffffffffff"  # marked by another index: not this one's to delete
    other.mkdir()
    (other / GENERATION_MARKER).write_text("0" * 32 + "\n")
    collect_garbage(index, owner)
    assert not killed.exists() and other.exists()


def test_a_new_index_folder_gets_the_marker_and_keeps_it(seed_corpus, tmp_path):
    index = tmp_path / "new" / "index"
    build_index(seed_corpus, index, embedder=HashEmbedder())
    first = index_id(index)
    assert first and (index / OWNER_MARKER).is_file()
    build_index(seed_corpus, index, embedder=HashEmbedder(), full=True)
    assert index_id(index) == first
    prefixes = (SEGMENT_PREFIX, GENERATION_PREFIX)
    folders = [p for p in index.iterdir() if p.name.startswith(prefixes)]
    assert {p.name[:4] for p in folders} == set(prefixes)
    assert all((g / GENERATION_MARKER).read_text().strip() == first for g in folders)


def test_an_empty_existing_folder_is_adopted(seed_corpus, tmp_path):
    index = tmp_path / "empty"
    index.mkdir()
    build_index(seed_corpus, index, embedder=HashEmbedder())
    assert index_id(index) is not None
