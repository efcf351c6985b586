"""The dense part of an index: which FAISS index a generation gets, building it, loading it.

`vectors.npy` (float32, one L2-normalised row per chunk, in chunk order) is what a build
writes and reuses. Up to `ANN_THRESHOLD` chunks search is exact, and the FAISS index is a
flat inner-product index made from `vectors.npy` when a reader first needs it (a copy of
the rows: ~0.1 s at 100k chunks), so a build does not write the same 150 MB twice. Above the
threshold it is an inverted file with 8-bit scalar-quantised vectors (IVF-SQ8), trained at
build time and written as `dense.faiss`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

# Above this many chunks the dense part is approximate: an inverted file (IVF) with 8-bit
# scalar-quantised vectors, so 1M chunks fit in ~400 MB and a query scans ~8% of them.
# Below it, exact search.
ANN_THRESHOLD = int(os.environ.get("QA_ANN_THRESHOLD", "200000"))
# Lists scanned per query, as a share of all lists: 1/12 gives recall@10 0.951 against exact
# search on real SciFact embeddings (1/48: 0.824; bench/bench_ann_recall.py).
ANN_NPROBE_FRACTION = 1 / 12

FAISS_FILE = "dense.faiss"
VECTORS_FILE = "vectors.npy"


def set_faiss_threads(role: str) -> None:
    """FAISS's OpenMP threads for what this process does next: "search" uses one (qa asks
    one query at a time; a flat search of 100k chunks took 14.5 ms on 2 threads and 9.4 ms on
    1, the split and merge costing more than the scan), "build" uses every core (IVF training
    and adding). The setting is per process."""
    import faiss

    faiss.omp_set_num_threads(1 if role == "search" else max(1, os.cpu_count() or 1))


def dense_layout(n: int) -> dict[str, Any]:
    """Which FAISS index a generation of n chunks gets (recorded in the manifest)."""
    if n <= ANN_THRESHOLD:
        return {"type": "Flat", "metric": "inner_product"}
    nlist = int(4 * np.sqrt(n))
    return {
        "type": "IVF-SQ8", "metric": "inner_product", "nlist": nlist,
        "nprobe": max(8, int(nlist * ANN_NPROBE_FRACTION)),
    }


def needs_faiss_file(layout: Any) -> bool:
    """Whether a generation with this layout (the manifest's "dense") stores a trained
    `dense.faiss` (IVF) or makes its exact index from `vectors.npy` on load (Flat)."""
    return not (isinstance(layout, dict) and layout.get("type") == "Flat")


def make_dense_index(vectors: np.ndarray, ids: np.ndarray) -> Any:
    """A FAISS inner-product index with explicit int64 ids (vectors are L2-normalised,
    so inner product is cosine): exact up to ANN_THRESHOLD chunks, IVF-SQ8 above."""
    import faiss

    set_faiss_threads("build")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    layout = dense_layout(len(vectors))
    if layout["type"] == "Flat":
        return flat_index(vectors, ids)
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFScalarQuantizer(
        quantizer, dim, layout["nlist"], faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    # k-means on a sample: 40 points per list is plenty for stable centroids.
    rng = np.random.default_rng(0)
    sample = vectors[rng.choice(len(vectors), min(len(vectors), 40 * layout["nlist"]), replace=False)]
    ivf.train(sample)
    ivf.add_with_ids(vectors, ids.astype(np.int64))
    ivf.nprobe = layout["nprobe"]
    return ivf


def flat_index(vectors: np.ndarray, ids: np.ndarray) -> Any:
    """Exact inner-product search over `vectors` with chunk ids."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    # IndexIDMap, not IDMap2: qa never reconstructs vectors by id, and IDMap2's reverse
    # map cost ~0.3 s of every update at 100k chunks.
    index = faiss.IndexIDMap(faiss.IndexFlatIP(vectors.shape[1]))
    if len(vectors):
        index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
    return index


def load_dense_index(folder: Path, manifest: dict[str, Any], ids: np.ndarray) -> Any:
    """The FAISS index of a generation: `dense.faiss` when it has one, else exact search
    made from `vectors.npy`. Raises on unreadable or mismatched files (callers fall back
    to BM25 with the message)."""
    import faiss

    layout = manifest.get("dense")
    layout = layout if isinstance(layout, dict) else {}
    if (folder / FAISS_FILE).exists():
        index = faiss.read_index(str(folder / FAISS_FILE))
        if layout.get("nprobe") and hasattr(index, "nprobe"):
            index.nprobe = int(layout["nprobe"])
    else:
        vectors = np.load(folder / VECTORS_FILE, mmap_mode="r", allow_pickle=False)
        if vectors.ndim != 2 or vectors.dtype != np.float32:
            raise ValueError(f"{VECTORS_FILE} holds {vectors.dtype} {vectors.shape}, not float32 rows")
        index = flat_index(vectors, ids)
    if index.ntotal != len(ids):
        raise ValueError("the dense part has another number of chunks than the index")
    dim = (manifest.get("model") or {}).get("dim")
    if isinstance(dim, int) and dim > 0 and index.d != dim:
        raise ValueError(f"the dense part has vectors of width {index.d}, the model {dim}")
    set_faiss_threads("search")
    return index
