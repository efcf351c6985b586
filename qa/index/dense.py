"""The dense part of a segment: its chunk vectors, and the FAISS index searched over them.

`vectors.npy` (float32, one L2-normalised row per chunk, in chunk order) is in every segment
with a dense part. While the whole index holds up to `ANN_THRESHOLD` chunks, search is exact:
each segment's FAISS index is a flat inner-product index made from `vectors.npy` when a
reader first needs it. Above the threshold a quantizer is trained once (k-means over a
sample: an inverted file with 8-bit scalar-quantised vectors, IVF-SQ8) and kept in its own
folder (`ivf-*/trained.faiss`); each segment written while it is current gets `dense.faiss`,
its vectors added to a copy of it. Segments that share a quantizer share the coarse step
of a search (which lists to scan), so ten segments cost about what one does.
"""

from __future__ import annotations

import os
import uuid
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
TRAINED_FILE = "trained.faiss"
FILES = (VECTORS_FILE, FAISS_FILE)
FLAT: dict[str, Any] = {"type": "Flat", "metric": "inner_product"}


def set_faiss_threads(role: str) -> None:
    """FAISS's OpenMP threads for what this process does next: "search" uses one (qa asks
    one query at a time; a flat search of 100k chunks took 14.5 ms on 2 threads and 9.4 ms on
    1, the split and merge costing more than the scan), "build" uses every core (IVF training
    and adding). The setting is per process."""
    import faiss

    faiss.omp_set_num_threads(1 if role == "search" else max(1, os.cpu_count() or 1))


def ivf_layout(n: int) -> dict[str, Any]:
    """The IVF-SQ8 layout trained for an index of n chunks."""
    nlist = max(1, int(4 * np.sqrt(n)))
    return {"type": "IVF-SQ8", "metric": "inner_product", "nlist": nlist,
            "nprobe": max(min(8, nlist), int(nlist * ANN_NPROBE_FRACTION)),
            "trained_chunks": int(n)}


def needs_ivf(n_chunks: int) -> bool:
    return n_chunks > ANN_THRESHOLD


def is_ivf(layout: Any) -> bool:
    """Whether a segment with this layout (its manifest entry's "dense") stores a
    `dense.faiss` (IVF) or makes its exact index from `vectors.npy` on load (Flat)."""
    return isinstance(layout, dict) and layout.get("type") == "IVF-SQ8"


def train_ivf(vectors: np.ndarray, layout: dict[str, Any]) -> Any:
    """A trained, empty IVF-SQ8 index (k-means on a sample of `vectors`: 40 points per list
    is plenty for stable centroids)."""
    import faiss

    set_faiss_threads("build")
    n, dim = int(vectors.shape[0]), int(vectors.shape[1])
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFScalarQuantizer(
        quantizer, dim, layout["nlist"], faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    rng = np.random.default_rng(0)
    rows = rng.choice(n, min(n, 40 * layout["nlist"]), replace=False)
    ivf.train(np.ascontiguousarray(np.asarray(vectors)[rows], dtype=np.float32))
    ivf.nprobe = layout["nprobe"]
    return ivf


def new_trained_id() -> str:
    return uuid.uuid4().hex[:12]


def ivf_index(trained: Any, vectors: np.ndarray, ids: np.ndarray) -> Any:
    """A copy of the trained, empty `trained` index holding `vectors` with chunk ids."""
    import faiss

    set_faiss_threads("build")
    index = faiss.clone_index(trained)
    if len(vectors):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                           np.asarray(ids, dtype=np.int64))
    return index


def flat_index(vectors: np.ndarray, ids: np.ndarray) -> Any:
    """Exact inner-product search over `vectors` with chunk ids."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    # IndexIDMap, not IDMap2: qa never reconstructs vectors by id.
    index = faiss.IndexIDMap(faiss.IndexFlatIP(vectors.shape[1]))
    if len(vectors):
        index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
    return index


def save_dense(folder: Path, vectors: np.ndarray, index: Any | None) -> None:
    """Write a segment's dense part: its vectors, and its IVF index when it has one."""
    np.save(folder / VECTORS_FILE, np.ascontiguousarray(vectors, dtype=np.float32),
            allow_pickle=False)
    if index is not None:
        import faiss

        faiss.write_index(index, str(folder / FAISS_FILE))


def save_trained(folder: Path, trained: Any) -> None:
    import faiss

    faiss.write_index(trained, str(folder / TRAINED_FILE))


def load_trained(folder: Path) -> Any:
    import faiss

    return faiss.read_index(str(folder / TRAINED_FILE))


def load_dense_index(folder: Path, layout: dict[str, Any], ids: np.ndarray, dim: Any) -> Any:
    """The FAISS index of a segment: `dense.faiss` when it has one, else exact search made
    from `vectors.npy`. Raises on unreadable or mismatched files (callers fall back to BM25
    with the message)."""
    import faiss

    if is_ivf(layout):
        index = faiss.read_index(str(folder / FAISS_FILE))
        if not hasattr(index, "nprobe"):
            raise ValueError(f"{FAISS_FILE} is not an inverted-file index")
        if layout.get("nprobe"):
            index.nprobe = int(layout["nprobe"])
    else:
        vectors = np.load(folder / VECTORS_FILE, mmap_mode="r", allow_pickle=False)
        if vectors.ndim != 2 or vectors.dtype != np.float32:
            raise ValueError(f"{VECTORS_FILE} holds {vectors.dtype} {vectors.shape}, not float32 rows")
        index = flat_index(vectors, ids)
    if index.ntotal != len(ids):
        raise ValueError("the dense part has another number of chunks than the index")
    if isinstance(dim, int) and dim > 0 and index.d != dim:
        raise ValueError(f"the dense part has vectors of width {index.d}, the model {dim}")
    set_faiss_threads("search")
    return index


def read_vectors(folder: Path) -> Any:
    """A segment's vectors, read by range (qa.index.diskarray)."""
    from .diskarray import NpyRanges

    vectors = NpyRanges(folder / VECTORS_FILE)
    if len(vectors.shape) != 2 or vectors.dtype != np.float32:
        raise ValueError(f"{VECTORS_FILE} does not hold float32 rows")
    return vectors


def search(index: Any, query: np.ndarray, k: int, selector: Any | None,
           coarse: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, chunk ids) of one segment's index for one query (1 x dim float32).
    `coarse`: the IVF lists to scan, already found with a shared quantizer."""
    import faiss

    k = min(k, int(index.ntotal))
    query = np.ascontiguousarray(query, dtype=np.float32)
    if k <= 0:
        return np.zeros(0), np.zeros(0, np.int64)
    if hasattr(index, "nprobe"):
        if coarse is not None:
            # The C++ call: faiss's Python wrapper of search_preassigned takes no selector.
            assign = np.ascontiguousarray(coarse[1], dtype=np.int64)
            centroid = np.ascontiguousarray(coarse[0], dtype=np.float32)
            params = faiss.SearchParametersIVF(nprobe=int(assign.shape[1]))
            if selector is not None:
                params.sel = selector
            dist = np.empty((1, k), np.float32)
            ids = np.empty((1, k), np.int64)
            index.search_preassigned_c(1, faiss.swig_ptr(query), k, faiss.swig_ptr(assign),
                                       faiss.swig_ptr(centroid), faiss.swig_ptr(dist),
                                       faiss.swig_ptr(ids), False, params)
        else:
            params = faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe) if selector \
                else None
            dist, ids = index.search(query, k, params=params)
    else:
        params = faiss.SearchParameters(sel=selector) if selector is not None else None
        dist, ids = index.search(query, k, params=params)
    keep = ids[0] >= 0
    return dist[0][keep].astype(np.float64), ids[0][keep]


def coarse_lists(index: Any, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distances, list numbers) of the lists an IVF search of `query` scans."""
    import faiss

    quantizer = faiss.downcast_index(index.quantizer)
    dist, lists = quantizer.search(query, int(index.nprobe))
    return dist, lists


def selector_excluding(ids: np.ndarray) -> Any:
    """A FAISS selector of every id but `ids` (deleted chunks)."""
    import faiss

    batch = faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
    sel = faiss.IDSelectorNot(batch)
    sel.referenced = batch  # keep the inner selector alive as long as this one
    return sel


def selector_of(ids: np.ndarray) -> Any:
    """A FAISS selector of exactly `ids`."""
    import faiss

    return faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
