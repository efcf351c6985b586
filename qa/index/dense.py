"""The dense part of a segment: its chunk vectors, and the FAISS index searched over them.

`vectors.npy` (float32, one L2-normalised row per chunk, in chunk order) is in every segment
with a dense part. While the whole index holds up to `ANN_THRESHOLD` chunks, search is exact:
each segment's `ExactIndex` is made from `vectors.npy` when a reader first needs it (8-bit
codes scanned first, the candidates scored from the float vectors, with a bound that makes
the answer exact; see the class). Above the threshold a quantizer is trained once (k-means
over a sample: an inverted file with 8-bit scalar-quantised vectors, IVF-SQ8) and kept in its own
folder (`ivf-*/trained.faiss`); each segment written while it is current gets `dense.faiss`,
its vectors added to a copy of it. Segments that share a quantizer share the coarse step
of a search (which lists to scan), so ten segments cost about what one does.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import config
from ..types import JSONObject
from .files import create, save_npy

if TYPE_CHECKING:  # FAISS loads on first dense use; mypy reads it as untyped
    import faiss

    from .diskarray import NpyRanges

# Above this many chunks the dense part is approximate: an inverted file (IVF) with 8-bit
# scalar-quantised vectors, so 1M chunks fit in ~400 MB and a query scans ~8% of them.
# Below it, exact search.
# Read from the settings when asked (qa.config.ann_threshold); a test may set a number here.
ANN_THRESHOLD: int | None = None
# Lists scanned per query, as a share of all lists: 1/12 gives recall@10 0.951 against exact
# search on real SciFact embeddings (1/48: 0.824; bench/bench_ann_recall.py).
ANN_NPROBE_FRACTION = 1 / 12

FAISS_FILE = "dense.faiss"
VECTORS_FILE = "vectors.npy"
TRAINED_FILE = "trained.faiss"
FILES = (VECTORS_FILE, FAISS_FILE)
FLAT: JSONObject = {"type": "Flat", "metric": "inner_product"}


def set_faiss_threads(role: str) -> None:
    """FAISS's OpenMP threads for what this process does next: "search" uses one (qa asks
    one query at a time; a flat search of 100k chunks took 14.5 ms on 2 threads and 9.4 ms on
    1, the split and merge costing more than the scan), "build" uses every core (IVF training
    and adding). The setting is per process."""
    import faiss

    faiss.omp_set_num_threads(1 if role == "search" else max(1, os.cpu_count() or 1))


def ivf_layout(n: int) -> JSONObject:
    """The IVF-SQ8 layout trained for an index of n chunks."""
    nlist = max(1, int(4 * np.sqrt(n)))
    return {"type": "IVF-SQ8", "metric": "inner_product", "nlist": nlist,
            "nprobe": max(min(8, nlist), int(nlist * ANN_NPROBE_FRACTION)),
            "trained_chunks": int(n)}


def needs_ivf(n_chunks: int) -> bool:
    return n_chunks > (ANN_THRESHOLD if ANN_THRESHOLD is not None else config.ann_threshold())


def is_ivf(layout: object) -> bool:
    """Whether a segment with this layout (its manifest entry's "dense") stores a
    `dense.faiss` (IVF) or makes its exact index from `vectors.npy` on load (Flat)."""
    return isinstance(layout, dict) and layout.get("type") == "IVF-SQ8"


def train_ivf(vectors: np.ndarray, layout: JSONObject) -> faiss.Index:
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


def ivf_index(trained: faiss.Index, vectors: np.ndarray, ids: np.ndarray) -> faiss.Index:
    """A copy of the trained, empty `trained` index holding `vectors` with chunk ids."""
    import faiss

    set_faiss_threads("build")
    index = faiss.clone_index(trained)
    if len(vectors):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                           np.asarray(ids, dtype=np.int64))
    return index


class ExactIndex:
    """Exact top-k inner products over a segment's vectors, at a fraction of a flat scan's cost.

    A flat scan is memory-bound: 100k x 384 float32 is 150 MB read per query. This one scans
    8-bit codes instead (a quarter of the bytes; FAISS's QT_8bit_direct_signed kernel, which
    takes integer dot products of int8 codes with an int8 query), keeps the best candidates,
    and scores those exactly from the float vectors.

    Codes: dimension i of a vector is rounded to c_i = round(x_i / step_i), step_i being the
    segment's largest |x_i| / 127. The query is scaled the same way and rounded to integers
    too, so the scan's score of a vector, a = (Q . c) / lam, misses its exact score x . q by
    at most eps(q) = min(sum_i |q_i| err_i, |q| row_err) + min(|delta| code_norm,
    127 sum_i |delta_i|) (err_i, row_err, code_norm: the largest rounding error per dimension,
    error norm and code norm of the segment, measured when the codes are made; delta: the
    query's own rounding). The candidates' exact k-th best score `kth` certifies the answer
    when it is above the lowest candidate's scan score + eps, since nothing left out can then
    reach it; otherwise a range search at kth - eps finds everything that can, and that is
    scored exactly. So ids, order and scores are an exact search's in every segmentation of
    the same vectors (ties: lower chunk id first), which is what lets a segmented index
    answer as one built in one go.

    Exact scores are float32 inner products summed row by row, so a row's score does not
    depend on which other rows are scored with it.
    """

    def __init__(self, vectors: np.ndarray | NpyRanges, ids: np.ndarray) -> None:
        if len(vectors.shape) != 2:
            raise ValueError("the vectors are not rows")
        n, d = int(vectors.shape[0]), int(vectors.shape[1])
        self.ntotal, self.d = n, d
        self.ids = np.asarray(ids, dtype=np.int64)
        self.vectors = np.empty((n, d), np.float32)
        peak = np.zeros(d, np.float32)
        for lo in range(0, n, _BLOCK_ROWS):
            block = self.vectors[lo : lo + _BLOCK_ROWS]
            block[...] = vectors[lo : lo + _BLOCK_ROWS]
            np.maximum(peak, np.abs(block).max(axis=0), out=peak)
        if not np.isfinite(peak).all():
            raise ValueError("the vectors hold values that are not finite")
        # Stored rows are unit length (or zero): anything else was damaged on disk.
        for lo in range(0, n, _BLOCK_ROWS):
            block = self.vectors[lo : lo + _BLOCK_ROWS]
            norms = np.sqrt(np.einsum("ij,ij->i", block, block))
            if bool(np.any((np.abs(norms - 1) > 1e-3) & (norms > 0))):
                raise ValueError("the vectors are not unit length: the file is damaged")
        step = np.where(peak > 0, peak / np.float32(127), np.float32(1)).astype(np.float32)
        self.step = step.astype(np.float64)
        codes = np.empty((n, d), np.uint8)
        err = np.zeros(d, np.float32)
        row_err2 = code_norm2 = 0.0
        for lo in range(0, n, _BLOCK_ROWS):
            block = self.vectors[lo : lo + _BLOCK_ROWS]
            c = np.rint(block / step)
            np.clip(c, -127, 127, out=c)
            miss = np.abs(block - c * step)
            np.maximum(err, miss.max(axis=0, initial=0), out=err)
            row_err2 = max(row_err2, float(np.einsum("ij,ij->i", miss, miss).max(initial=0)))
            code_norm2 = max(code_norm2, float(np.einsum("ij,ij->i", c, c).max(initial=0)))
            c += 128
            codes[lo : lo + _BLOCK_ROWS] = c
        # Computed in float32: each figure is off by a few units in its 7th digit at most.
        self.err = err.astype(np.float64) * (1 + 1e-5) + 1e-7
        self.row_err = np.sqrt(row_err2) * (1 + 1e-5) + 1e-6
        self.code_norm = np.sqrt(code_norm2) * (1 + 1e-5)
        # A segment of at most SCAN_MIN_ROWS rows is always scored exactly: it needs no scan,
        # and a small index's questions then never import FAISS (~30 ms of a cold start).
        self.scan: faiss.IndexScalarQuantizer | None = None
        if n > SCAN_MIN_ROWS:
            import faiss

            self.scan = faiss.IndexScalarQuantizer(
                d, faiss.ScalarQuantizer.QT_8bit_direct_signed, faiss.METRIC_INNER_PRODUCT)
            faiss.copy_array_to_vector(codes.reshape(-1), self.scan.codes)
            self.scan.ntotal = n
        # What the last search did, for benchmarks (with several threads, one of theirs):
        # rows scored exactly, and whether the range search was needed.
        self.last_scored = 0
        self.last_widened = False

    def search(self, query: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The top-k (exact scores, rows) for one query (1 x d float32), best first (ties:
        lower chunk id first); `allowed`: a bool per row, only rows where it is True."""
        q64 = np.asarray(query, dtype=np.float32).reshape(-1).astype(np.float64)
        n_allowed = self.ntotal if allowed is None else int(np.count_nonzero(allowed))
        k = min(int(k), n_allowed)
        self.last_widened = False
        if k <= 0:
            self.last_scored = 0
            return np.zeros(0), np.zeros(0, np.int64)
        scan_query = self.scan_query(q64)
        if n_allowed <= max(SCAN_MIN_ROWS, CANDIDATES_PER_RESULT * k) or scan_query is None \
                or self.scan is None:
            rows = np.arange(self.ntotal) if allowed is None else np.flatnonzero(allowed)
            return self._best(rows, self._exact(rows, q64), k)
        import faiss

        q8, lam, eps = scan_query
        params = None
        if allowed is not None:
            bits = np.packbits(allowed, bitorder="little")
            sel = faiss.IDSelectorBitmap(self.ntotal, faiss.swig_ptr(bits))
            sel.referenced = bits  # the selector reads this buffer: keep it alive with it
            params = faiss.SearchParameters(sel=sel)
        approx, found = self.scan.search(q8, CANDIDATES_PER_RESULT * k, params=params)
        keep = found[0] >= 0
        rows, lowest = found[0][keep], float(approx[0][keep][-1]) / lam
        scores = self._exact(rows, q64)
        kth = float(np.partition(scores, len(scores) - k)[len(scores) - k])
        if len(rows) == n_allowed or kth > lowest + eps:
            return self._best(rows, scores, k)
        # Not certified: everything whose exact score can reach kth scans above kth - eps.
        self.last_widened = True
        _, _, rows = self.scan.range_search(q8, (kth - eps) * lam, params=params)
        return self._best(rows, self._exact(rows, q64), k)

    def scan_query(self, q64: np.ndarray) -> tuple[np.ndarray, float, float] | None:
        """The query as the scan takes it (1 x d float32 integers in [-127, 127]), the
        factor lam (scan score / lam ~ exact score) and the bound eps on |scan score / lam -
        exact score| for every row; None for a query of zeros."""
        scaled = q64 * self.step
        top = float(np.abs(scaled).max(initial=0.0))
        if top == 0.0:
            return None
        lam = 127.0 / top
        whole = np.clip(np.rint(scaled * lam), -127, 127)
        delta = whole / lam - scaled
        # The scan's integer sums are exact in float32 while every partial sum stays below
        # 2**24 (d <= 1040); above, each addition may round: n * 2**-24 * sum |terms|.
        d = len(whole)
        summed = 0.0 if d * 127 * 127 < 2**24 else d * 2.0**-24 * 127 * float(np.abs(whole).sum())
        eps = (min(float(np.abs(q64) @ self.err), float(np.linalg.norm(q64)) * self.row_err)
               + min(float(np.linalg.norm(delta)) * self.code_norm,
                     127.0 * float(np.abs(delta).sum()))
               + (summed + 2.0) / lam + SLACK)  # 2 / lam: the sum's last rounding, if any
        return whole.astype(np.float32).reshape(1, -1), lam, eps

    def _exact(self, rows: np.ndarray, q64: np.ndarray) -> np.ndarray:
        self.last_scored = len(rows)
        # einsum sums each row on its own, in the same order whichever rows come with it
        # (BLAS would not promise that), in float32 like a flat FAISS scan.
        scores = np.einsum("ij,j->i", self.vectors[rows], q64.astype(np.float32))
        return np.asarray(scores, dtype=np.float64)

    def _best(self, rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        order = np.lexsort((self.ids[rows], -scores))[:k]
        return scores[order], rows[order]


# Rows encoded at a time when codes are made (bounds the temporaries).
_BLOCK_ROWS = 16384
# Candidates the 8-bit scan keeps per result asked for (see bench/bench_ann_recall.py).
CANDIDATES_PER_RESULT = 4
# Up to this many rows (a small segment, or a narrow date range) are scored exactly at once.
SCAN_MIN_ROWS = 2048
# Added to the bound: float32 rounding of an exact score of unit vectors (at most
# d * 2**-24 * |x| |q| = 2.3e-5 at d = 384) and of the query's scaling.
SLACK = 5e-5


def flat_index(vectors: np.ndarray, ids: np.ndarray) -> faiss.Index:
    """Exact inner-product search over `vectors` with chunk ids."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    # IndexIDMap, not IDMap2: qa never reconstructs vectors by id.
    index = faiss.IndexIDMap(faiss.IndexFlatIP(vectors.shape[1]))
    if len(vectors):
        index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
    return index


def save_dense(folder: Path, vectors: np.ndarray, index: faiss.Index | None) -> None:
    """Write a segment's dense part: its vectors, and its IVF index when it has one."""
    save_npy(folder / VECTORS_FILE, np.ascontiguousarray(vectors, dtype=np.float32))
    if index is not None:
        write_faiss(index, folder / FAISS_FILE)


def save_trained(folder: Path, trained: faiss.Index) -> None:
    write_faiss(trained, folder / TRAINED_FILE)


def write_faiss(index: faiss.Index, path: Path) -> None:
    """A FAISS index into a new file (qa.index.files.create), streamed as FAISS writes it."""
    import faiss

    with create(path) as fh:
        faiss.write_index(index, faiss.PyCallbackIOWriter(fh.write))


def load_trained(folder: Path) -> faiss.Index:
    import faiss

    return faiss.read_index(str(folder / TRAINED_FILE))


def load_dense_index(folder: Path, layout: JSONObject, ids: np.ndarray, dim: object
                     ) -> faiss.Index | ExactIndex:
    """The FAISS index of a segment: `dense.faiss` when it has one, else exact search made
    from `vectors.npy`. Raises on unreadable or mismatched files (callers fall back to BM25
    with the message)."""
    index: faiss.Index | ExactIndex
    if is_ivf(layout):
        import faiss

        index = faiss.read_index(str(folder / FAISS_FILE))
        if not hasattr(index, "nprobe"):
            raise ValueError(f"{FAISS_FILE} is not an inverted-file index")
        if layout.get("nprobe"):
            index.nprobe = int(layout["nprobe"])
    else:
        vectors = read_vectors(folder)  # read by range: no file pages mapped
        if isinstance(dim, int) and dim > 0 and len(vectors.shape) == 2 \
                and vectors.shape[1] != dim:
            raise ValueError(f"the dense part has vectors of width {vectors.shape[1]}, the "
                             f"model {dim}")
        index = ExactIndex(vectors, ids)
    if index.ntotal != len(ids):
        raise ValueError("the dense part has another number of chunks than the index")
    if isinstance(dim, int) and dim > 0 and index.d != dim:
        raise ValueError(f"the dense part has vectors of width {index.d}, the model {dim}")
    if not isinstance(index, ExactIndex) or index.scan is not None:
        set_faiss_threads("search")
    return index


def read_vectors(folder: Path) -> NpyRanges:
    """A segment's vectors, read by range (qa.index.diskarray)."""
    from .diskarray import NpyRanges

    vectors = NpyRanges(folder / VECTORS_FILE)
    if len(vectors.shape) != 2 or vectors.dtype != np.float32:
        raise ValueError(f"{VECTORS_FILE} does not hold float32 rows")
    return vectors


def search(index: faiss.Index, query: np.ndarray, k: int,
           selector: faiss.IDSelector | None,
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


def coarse_lists(index: faiss.Index, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distances, list numbers) of the lists an IVF search of `query` scans."""
    import faiss

    quantizer = faiss.downcast_index(index.quantizer)
    dist, lists = quantizer.search(query, int(index.nprobe))
    return dist, lists


def selector_excluding(ids: np.ndarray) -> faiss.IDSelector:
    """A FAISS selector of every id but `ids` (deleted chunks)."""
    import faiss

    batch = faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
    sel = faiss.IDSelectorNot(batch)
    sel.referenced = batch  # keep the inner selector alive as long as this one
    return sel


def selector_of(ids: np.ndarray) -> faiss.IDSelector:
    """A FAISS selector of exactly `ids`."""
    import faiss

    return faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
